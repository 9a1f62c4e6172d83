"""The annotation tool's files: the image list, the Cityscapes polygon json of each image, and saving.

No web framework here, so the rules are testable on their own:

- **Images.** Every file under the images folder (recursively, hidden files and ``*_gtFine_polygons.json``
  skipped) is listed by its path relative to that folder; one OpenCV has no reader for is listed as
  unreadable. The Cityscapes layout ``leftImg8bit/<split>/<city>/<name>_leftImg8bit.png`` gives the ids
  ``<split>/<city>/<name>_leftImg8bit.png``.
- **Labels.** The json of image ``<dir>/<name>_leftImg8bit.<ext>`` (or ``<dir>/<name>.<ext>``) is
  ``<labels>/<dir>/<name>_gtFine_polygons.json``: for the Cityscapes layout exactly
  ``gtFine/<split>/<city>/<name>_gtFine_polygons.json``, the file `deep_rnn_tf.data.cityscapes` reads.
- **Paths.** An id that leaves the images folder (``..``, an absolute path, a symlink pointing out) is
  refused with `PathRefusedError`; the server answers 403.
- **Saving.** The client sends the full object list; an object it did not touch (``source_index`` set,
  ``modified`` false) is copied verbatim from the file (every field kept), a touched one keeps the
  file's other fields with its new label and polygon, a new one gets Cityscapes' fields. The file is
  written atomically under a per-file lock, and only if it still is the version the client opened
  (``base_sha``): two saves at once leave one complete json and a conflict for the other.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from deep_rnn_tf.atomic_io import write_text_atomic
from deep_rnn_tf.data.cityscapes import (
    IMAGE_SUFFIX,
    INSTANCE_CLASSES,
    POLYGONS_SUFFIX,
    CityscapesFormatError,
    read_polygons_json,
)
from deep_rnn_tf.data.video_io import VideoReadError, read_image

USER = "deep-rnn annotate"


class PathRefusedError(ValueError):
    """An image id that points outside the images folder."""


class SaveConflictError(ValueError):
    """The json changed on disk since the client opened it."""


@dataclasses.dataclass(frozen=True)
class ImageEntry:
    """One listed file: its id (path relative to the images folder) and whether OpenCV can read it."""

    id: str
    readable: bool


def default_labels_dir(images_dir: str | os.PathLike) -> Path:
    """``<root>/gtFine`` for ``<root>/leftImg8bit`` (Cityscapes), else the images folder itself.

    Example:
        >>> default_labels_dir("data/synth_cityscapes/leftImg8bit")
        PosixPath('data/synth_cityscapes/gtFine')
    """
    images_dir = Path(images_dir)
    if images_dir.name == "leftImg8bit":
        return images_dir.parent / "gtFine"
    return images_dir


def file_sha(path: Path) -> str:
    """The sha256 of a file's bytes, '' when it does not exist (the version a client opened)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return ""


class AnnotationStore:
    """Images under `images_dir`, their Cityscapes polygon json under `labels_dir` (module docstring).

    Args:
        images_dir: the folder of images (e.g. ``data/synth_cityscapes/leftImg8bit``).
        labels_dir: where the json files live (default: :func:`default_labels_dir`).

    Raises:
        FileNotFoundError: `images_dir` is not a folder (names it).

    Example:
        >>> store = AnnotationStore("data/synth_cityscapes/leftImg8bit")
        >>> [entry.id for entry in store.list_images()][:1]
        ['train/aachen/aachen_000000_000019_leftImg8bit.png']
    """

    def __init__(self, images_dir: str | os.PathLike, labels_dir: str | os.PathLike | None = None):
        self.images_dir = Path(images_dir).resolve()
        if not self.images_dir.is_dir():
            what = "a file, not a folder" if self.images_dir.exists() else "no such folder"
            raise FileNotFoundError(f"--images {images_dir}: {what}")
        self.labels_dir = Path(labels_dir if labels_dir is not None else default_labels_dir(images_dir))
        self.labels_dir = self.labels_dir.resolve()
        if self.labels_dir.exists() and not self.labels_dir.is_dir():
            # Caught here: otherwise every load and save of the session fails (NotADirectoryError).
            raise NotADirectoryError(f"--labels {labels_dir}: a file, not a folder (the json go into it)")
        self._locks: dict[Path, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    # ------------------------------------------------------------------------------------------ images
    def list_images(self) -> list[ImageEntry]:
        """Every listed file, sorted by id; unreadable ones flagged (module docstring)."""
        entries = []
        for directory, folders, files in os.walk(self.images_dir):
            folders[:] = sorted(f for f in folders if not f.startswith("."))
            for name in sorted(files):
                if name.startswith(".") or name.endswith(POLYGONS_SUFFIX):
                    continue
                path = Path(directory) / name
                relative = path.relative_to(self.images_dir).as_posix()
                entries.append(ImageEntry(relative, bool(cv2.haveImageReader(str(path)))))
        return sorted(entries, key=lambda entry: entry.id)

    def image_path(self, image_id: str) -> Path:
        """The file of an id; PathRefusedError outside the images folder, FileNotFoundError if absent."""
        if not image_id or image_id.startswith(("/", "\\")) or "\\" in image_id or "\x00" in image_id:
            raise PathRefusedError(f"{image_id!r}: not a path inside the images folder")
        path = (self.images_dir / image_id).resolve()
        if path != self.images_dir and self.images_dir not in path.parents:
            raise PathRefusedError(f"{image_id!r}: not a path inside the images folder")
        if not path.is_file():
            raise FileNotFoundError(f"{image_id}: no such image")
        return path

    def read_image(self, image_id: str) -> np.ndarray:
        """The image as uint8 RGB (H, W, 3); ValueError naming the file when it cannot be decoded."""
        path = self.image_path(image_id)
        try:
            return read_image(path)
        except VideoReadError as error:
            raise ValueError(str(error)) from None

    def image_size(self, image_id: str) -> tuple[int, int]:
        """(height, width) of an image (decodes it)."""
        height, width = self.read_image(image_id).shape[:2]
        return int(height), int(width)

    # ------------------------------------------------------------------------------------------ labels
    def json_path(self, image_id: str) -> Path:
        """``<labels>/<dir>/<name>_gtFine_polygons.json`` of an image id (module docstring).

        Example:
            >>> store.json_path("val/frankfurt/frankfurt_000000_000019_leftImg8bit.png")
            PosixPath('.../gtFine/val/frankfurt/frankfurt_000000_000019_gtFine_polygons.json')
        """
        self.image_path(image_id)  # refuses ids outside the folder
        relative = Path(image_id)
        name = relative.name
        if name.endswith(IMAGE_SUFFIX):
            stem = name[: -len(IMAGE_SUFFIX)]
        else:
            stem = os.path.splitext(name)[0].removesuffix("_leftImg8bit")
        return self.labels_dir / relative.parent / f"{stem}{POLYGONS_SUFFIX}"

    def load_annotation(self, image_id: str) -> dict[str, Any]:
        """The image's json for the page: size, objects (label, polygon, source_index), path and sha.

        A json that does not parse is an error naming it (never overwritten silently).
        """
        path = self.json_path(image_id)
        height, width = self.image_size(image_id)
        objects = []
        if path.is_file():
            annotation = read_polygons_json(path)
            if (annotation.height, annotation.width) != (height, width):
                raise CityscapesFormatError(
                    f"{path}: says {annotation.width}x{annotation.height}, the image is {width}x{height}"
                )
            objects = [
                {"label": obj.label, "polygon": obj.polygon.tolist(), "source_index": obj.index}
                for obj in annotation.objects
            ]
        labels = list(INSTANCE_CLASSES) + sorted({o["label"] for o in objects} - set(INSTANCE_CLASSES))
        return {
            "image": image_id,
            "imgHeight": height,
            "imgWidth": width,
            "objects": objects,
            "labels": labels,
            "json_path": str(path),
            "exists": path.is_file(),
            "sha": file_sha(path),
        }

    def _lock(self, path: Path) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(path, threading.Lock())

    def save(self, image_id: str, objects: list[dict[str, Any]], base_sha: str | None) -> dict[str, Any]:
        """Writes the image's json (module docstring); returns {"json_path", "sha", "objects"}.

        Raises:
            ValueError: a malformed object (names its position), or the image cannot be read.
            SaveConflictError: the json is no longer the version `base_sha` names.
        """
        path = self.json_path(image_id)
        height, width = self.image_size(image_id)
        cleaned = [_clean_object(obj, position) for position, obj in enumerate(objects)]
        with self._lock(path):
            current_sha = file_sha(path)
            if base_sha is not None and base_sha != current_sha:
                raise SaveConflictError(f"{path}: changed on disk since it was opened; reload the image")
            original = _raw_json(path) if current_sha else {}
            originals = original.get("objects", [])
            next_id = 1 + max(
                (o.get("id", -1) for o in originals if isinstance(o.get("id"), int)), default=-1
            )
            written = []
            for obj in cleaned:
                source = obj["source_index"]
                if source is not None and not 0 <= source < len(originals):
                    raise ValueError(f"object source_index {source} is not in {path}")
                if source is not None and not obj["modified"]:
                    written.append(originals[source])
                    continue
                base = dict(originals[source]) if source is not None else {"id": next_id, "deleted": 0}
                if source is None:
                    next_id += 1
                base.update(label=obj["label"], polygon=obj["polygon"], user=USER, verified=0)
                base["date"] = datetime.now().strftime("%d-%b-%Y %H:%M:%S")
                written.append(base)
            content = {**original, "imgHeight": height, "imgWidth": width, "objects": written}
            write_text_atomic(path, json.dumps(content, indent=4) + "\n")
            return {"json_path": str(path), "sha": file_sha(path), "objects": len(written)}


def _raw_json(path: Path) -> dict[str, Any]:
    read_polygons_json(path)  # refuses a malformed file with its name
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _clean_object(obj: Any, position: int) -> dict[str, Any]:
    where = f"objects[{position}]"
    if not isinstance(obj, dict):
        raise ValueError(f"{where}: expected an object with label and polygon")
    label = obj.get("label")
    if not isinstance(label, str) or not label.strip():
        raise ValueError(f"{where}: label must be a non-empty string, found {label!r}")
    try:
        polygon = np.asarray(obj.get("polygon"), dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: polygon must be a list of [x, y] pairs") from None
    if polygon.ndim != 2 or polygon.shape[1:] != (2,) or len(polygon) < 3 or not np.isfinite(polygon).all():
        raise ValueError(f"{where} ({label}): polygon must have at least 3 finite [x, y] vertices")
    source = obj.get("source_index")
    if source is not None and (not isinstance(source, int) or isinstance(source, bool)):
        raise ValueError(f"{where}: source_index must be an integer or null, found {source!r}")
    return {
        "label": label.strip(),
        # Cityscapes stores whole pixel positions.
        "polygon": [[int(round(x)), int(round(y))] for x, y in polygon],
        "source_index": source,
        "modified": bool(obj.get("modified", source is None)),
    }
