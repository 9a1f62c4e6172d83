"""Action video data on disk: the frame-folder and list-file layouts, read into one `ActionSplit`.

Layouts read (all give the same `ActionSplit`: a list of videos with sorted frame files and a label):

- frame folders ``<root>/{train,test}/<class>/<video>/<frames>`` (the original's UCF-101/HMDB-51 layout),
  also Kinetics' ``train_frames`` / ``val_frames`` / ``test_frames`` split folders;
- MMAction2 rawframe list files, one ``<frame_dir> <total_frames> <label>`` line per video, so the official
  UCF-101 / HMDB-51 splits 1-3 can be used as given (``frame_dir`` relative to `data_root`).

Class names come from a class-index file (``1 ApplyEyeMakeup`` per line as UCF's classInd.txt, or one name per
line) or from the sorted class folder names of the train split.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
VIDEO_EXTENSIONS = (".avi", ".mp4", ".mkv", ".webm", ".mov", ".mpg", ".mpeg", ".m4v")
# Split name -> folder names tried in order (the original's UCF layout, then Kinetics' names).
SPLIT_FOLDERS: dict[str, tuple[str, ...]] = {
    "train": ("train", "train_frames"),
    "test": ("test", "test_frames", "val_frames", "val"),
    "val": ("val", "val_frames", "test", "test_frames"),
}


class FrameDataError(ValueError):
    """A problem with the action data on disk; the message names the path and the problem."""


def _natural_key(name: str) -> list:
    """Sort key that puts img_2 before img_10 (frame files are not always zero-padded)."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def list_frames(frame_dir: str) -> list[str]:
    """Returns the image files of one video's frame folder in temporal (natural name) order.

    Args:
        frame_dir: folder holding the frames of one video.

    Raises:
        FrameDataError: the folder is missing or holds no image file.

    Example:
        >>> list_frames("ucf101/train/ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01")[:2]
    """
    if not os.path.isdir(frame_dir):
        raise FrameDataError(f"{frame_dir}: frame folder does not exist")
    names = [
        name
        for name in os.listdir(frame_dir)
        if name.lower().endswith(IMAGE_EXTENSIONS) and not name.startswith(".")
    ]
    if not names:
        raise FrameDataError(
            f"{frame_dir}: frame folder has no readable frame (no {'/'.join(IMAGE_EXTENSIONS)})"
        )
    return [os.path.join(frame_dir, name) for name in sorted(names, key=_natural_key)]


def read_class_index(path: str) -> list[str]:
    """Reads class names from a class-index file.

    Accepted lines: ``<index> <name>`` (UCF-101 classInd.txt, 1- or 0-based, ordered by index) or just
    ``<name>`` (in file order). Blank lines are ignored.

    Args:
        path: the class-index file.

    Raises:
        FrameDataError: missing file, no class, duplicate names or non-contiguous indices.

    Example:
        >>> read_class_index("ucfTrainTestlist/classInd.txt")[:2]
        ['ApplyEyeMakeup', 'ApplyLipstick']
    """
    if not os.path.isfile(path):
        raise FrameDataError(f"{path}: class-index file does not exist")
    with open(path, encoding="utf-8") as handle:
        rows = [line.split() for line in handle if line.strip()]
    if not rows:
        raise FrameDataError(f"{path}: class-index file lists no class")
    if all(len(row) == 2 and row[0].isdigit() for row in rows):
        indexed = sorted((int(row[0]), row[1]) for row in rows)
        first = indexed[0][0]
        if [index for index, _ in indexed] != list(range(first, first + len(indexed))) or first not in (0, 1):
            raise FrameDataError(f"{path}: class indices must be contiguous from 0 or 1")
        names = [name for _, name in indexed]
    elif all(len(row) == 1 for row in rows):
        names = [row[0] for row in rows]
    else:
        raise FrameDataError(f"{path}: expected '<index> <name>' or '<name>' on every line")
    if len(set(names)) != len(names):
        raise FrameDataError(f"{path}: duplicate class names")
    return names


@dataclass(frozen=True)
class VideoItem:
    """One video: its frame folder, its frame files in temporal order and its class label."""

    frame_dir: str
    frames: tuple[str, ...]
    label: int

    @property
    def num_frames(self) -> int:
        return len(self.frames)


@dataclass
class ActionSplit:
    """The videos of one split with the class names they index.

    Args:
        items: the videos.
        class_names: label i is `class_names[i]`.
        source: the folder or list file it was read from (named in errors).

    Example:
        >>> split = ActionSplit.from_folders("data/ucf101", "train")
        >>> len(split.items), split.class_names[:2]
    """

    items: list[VideoItem]
    class_names: list[str]
    source: str = ""

    def __post_init__(self) -> None:
        if not self.items:
            raise FrameDataError(f"{self.source}: empty split (no video found)")
        for item in self.items:
            if not 0 <= item.label < len(self.class_names):
                raise FrameDataError(
                    f"{item.frame_dir}: label {item.label} is outside the class list "
                    f"(0..{len(self.class_names) - 1}, from {self.source})"
                )

    @property
    def labels(self) -> np.ndarray:
        return np.array([item.label for item in self.items], np.int32)

    @classmethod
    def from_folders(cls, root: str, split: str = "train", class_names: Sequence[str] | None = None):
        """Reads ``<root>/<split folder>/<class>/<video>/<frames>``.

        Args:
            root: data root holding the split folders.
            split: "train", "test" or "val"; the folder is the first of `SPLIT_FOLDERS[split]` that
                exists (e.g. test -> test/, test_frames/, val_frames/).
            class_names: the class list; default: sorted class folders of the train split (or of this
                split when there is no train folder).

        Raises:
            FrameDataError: no split folder, an empty split, a class folder not in `class_names`, or a
                video folder without a frame.
        """
        split_dir = find_split_dir(root, split)
        if class_names is None:
            try:
                reference = find_split_dir(root, "train")
            except FrameDataError:
                reference = split_dir
            class_names = _class_folders(reference)
        class_names = list(class_names)
        positions = {name: index for index, name in enumerate(class_names)}
        items = []
        for class_name in _subfolders(split_dir):
            class_dir = os.path.join(split_dir, class_name)
            if not _subfolders(class_dir):
                continue  # an empty class folder holds no video (named by `_class_folders`)
            if class_name not in positions:
                raise FrameDataError(f"{class_dir}: class folder {class_name!r} is not in the class list")
            for video in _subfolders(class_dir):
                frame_dir = os.path.join(class_dir, video)
                items.append(VideoItem(frame_dir, tuple(list_frames(frame_dir)), positions[class_name]))
        return cls(items, class_names, split_dir)

    @classmethod
    def from_list_file(
        cls, list_file: str, data_root: str | None = None, class_names: Sequence[str] | None = None
    ):
        """Reads an MMAction2 rawframe list: ``<frame_dir> <total_frames> <label>`` per line.

        Args:
            list_file: the list file (e.g. ucf101_train_split_1_rawframes.txt).
            data_root: folder the relative `frame_dir`s start from; default the list file's folder.
            class_names: the class list; default: a classInd.txt / classes.txt beside the list file, else
                ``class_<i>`` names up to the largest label.

        Raises:
            FrameDataError: malformed line, label outside the class list, empty list or frame folder
                without a frame.
        """
        if not os.path.isfile(list_file):
            raise FrameDataError(f"{list_file}: list file does not exist")
        data_root = data_root if data_root is not None else os.path.dirname(os.path.abspath(list_file))
        rows = []
        with open(list_file, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                parts = line.split()
                if not parts:
                    continue
                if len(parts) < 3 or not parts[-1].lstrip("-").isdigit() or not parts[-2].isdigit():
                    raise FrameDataError(
                        f"{list_file}:{number}: expected '<frame_dir> <total_frames> <label>', got {line!r}"
                    )
                rows.append((" ".join(parts[:-2]), int(parts[-1]), number))
        if class_names is None:
            class_names = _class_names_beside(list_file, rows)
        class_names = list(class_names)
        items = []
        for frame_dir, label, number in rows:
            path = frame_dir if os.path.isabs(frame_dir) else os.path.join(data_root, frame_dir)
            if not 0 <= label < len(class_names):
                raise FrameDataError(
                    f"{list_file}:{number}: label {label} of {path} is outside the class list "
                    f"(0..{len(class_names) - 1})"
                )
            items.append(VideoItem(path, tuple(list_frames(path)), label))
        _name_classes_without_videos(list_file, class_names, items)
        return cls(items, class_names, list_file)


def _subfolders(path: str) -> list[str]:
    return sorted(
        name
        for name in os.listdir(path)
        if os.path.isdir(os.path.join(path, name)) and not name.startswith(".")
    )


def _class_folders(split_dir: str) -> list[str]:
    """Sorted class folders that hold at least one video folder; empty ones are named in a warning.

    An empty class folder would otherwise become a class without videos (an extra classifier output).
    """
    names, empty = [], []
    for name in _subfolders(split_dir):
        (names if _subfolders(os.path.join(split_dir, name)) else empty).append(name)
    if empty:
        logger.warning(
            "%s: class folder(s) %s hold no video folder and are not classes", split_dir, ", ".join(empty)
        )
    return names


def _name_classes_without_videos(
    list_file: str, class_names: Sequence[str], items: Sequence[VideoItem]
) -> None:
    """A warning naming the classes of the class list that no line of `list_file` labels (the folder
    layout names its empty class folders alike): in a training list, a class the model can never learn."""
    labelled = {item.label for item in items}
    missing = [name for index, name in enumerate(class_names) if index not in labelled]
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        logger.warning(
            "%s: no video of %d of the %d classes of its class list (%s)",
            list_file, len(missing), len(class_names), shown,
        )  # fmt: skip


def _class_names_beside(list_file: str, rows: list[tuple[str, int, int]]) -> list[str]:
    folder = os.path.dirname(os.path.abspath(list_file))
    for name in ("classInd.txt", "classes.txt", "class_index.txt"):
        if os.path.isfile(os.path.join(folder, name)):
            return read_class_index(os.path.join(folder, name))
    largest = max((label for _, label, _ in rows), default=-1)
    return [f"class_{index}" for index in range(largest + 1)]


def existing_split_dir(root: str, split: str) -> str | None:
    """The folder of `split` under `root` (the first of `SPLIT_FOLDERS[split]` that exists), else None."""
    if split not in SPLIT_FOLDERS:
        raise ValueError(f"split must be one of {sorted(SPLIT_FOLDERS)}; received split={split!r}")
    for name in SPLIT_FOLDERS[split]:
        if os.path.isdir(os.path.join(root, name)):
            return os.path.join(root, name)
    return None


def find_split_dir(root: str, split: str) -> str:
    """Returns the folder of `split` under `root` (see `SPLIT_FOLDERS`); the error lists what was tried."""
    found = existing_split_dir(root, split)  # an unknown split raises here, before the root is looked at
    if found is not None:
        return found
    if not os.path.isdir(root):
        raise FrameDataError(f"{root}: data root does not exist")
    raise FrameDataError(f"{root}: no {split} split folder (looked for {', '.join(SPLIT_FOLDERS[split])})")


def load_split(
    source: str, split: str = "train", class_index: str | None = None, data_root: str | None = None
) -> ActionSplit:
    """Reads a split from a frame-folder root (a directory) or an MMAction2 list file (a file).

    Args:
        source: data root with split folders, or a list file.
        split: split name for a data root ("train", "test", "val"); ignored for a list file.
        class_index: optional class-index file; default see `ActionSplit.from_folders` / `from_list_file`.
        data_root: root of the relative frame folders of a list file.

    Example:
        >>> train = load_split("data/synth_actions", "train")
        >>> test = load_split("splits/ucf101_val_split_1_rawframes.txt", data_root="data/ucf101_frames",
        ...                   class_index="splits/classInd.txt")
    """
    class_names = read_class_index(class_index) if class_index else None
    if os.path.isfile(source):
        return ActionSplit.from_list_file(source, data_root, class_names)
    return ActionSplit.from_folders(source, split, class_names)
