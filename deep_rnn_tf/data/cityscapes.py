"""Cityscapes polygon annotations as distributed, read without `cityscapesscripts` (not installable here).

Two folder layouts are understood (``<split>`` is train / val / test, ``<city>`` any folder name):

- the official one: ``leftImg8bit/<split>/<city>/<name>_leftImg8bit.png`` with
  ``gtFine/<split>/<city>/<name>_gtFine_polygons.json``;
- the original code's flattened copy: ``img/<split>/<city>/<name>_leftImg8bit.png`` with
  ``label/<split>/<city>/<name>_gtFine_polygons.json``.

The json schema is Cityscapes' own: ``{"imgHeight": int, "imgWidth": int, "objects": [{"label": str,
"polygon": [[x, y], ...], ...}, ...]}``, objects listed back to front (a later object may occlude an
earlier one). Coordinates are pixel positions, x to the right, y down.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
from collections.abc import Iterator

import numpy as np

# The eight Cityscapes classes with instances, in Cityscapes' label-id order (Polygon-RNN's classes).
INSTANCE_CLASSES: tuple[str, ...] = (
    "person",
    "rider",
    "car",
    "truck",
    "bus",
    "train",
    "motorcycle",
    "bicycle",
)

# (image folder, annotation folder) of each supported layout, tried in this order.
LAYOUTS: tuple[tuple[str, str], ...] = (("leftImg8bit", "gtFine"), ("img", "label"))
IMAGE_SUFFIX = "_leftImg8bit.png"
POLYGONS_SUFFIX = "_gtFine_polygons.json"


class CityscapesFormatError(ValueError):
    """An annotation file that is not valid Cityscapes polygon json; the message names the file."""


@dataclasses.dataclass(frozen=True)
class CityscapesObject:
    """One annotated object of a polygons json.

    Args:
        label: the Cityscapes label name ("car", "person", "cargroup", ...).
        polygon: float64 array (N, 2) of (x, y) pixel coordinates, as annotated.
        index: the object's position in the file's `objects` list (its depth order).
    """

    label: str
    polygon: np.ndarray
    index: int


@dataclasses.dataclass(frozen=True)
class CityscapesAnnotation:
    """The content of one ``*_gtFine_polygons.json``.

    Args:
        path: the json file.
        height: ``imgHeight``.
        width: ``imgWidth``.
        objects: the objects in file order.
    """

    path: str
    height: int
    width: int
    objects: tuple[CityscapesObject, ...]


@dataclasses.dataclass(frozen=True)
class CityscapesSample:
    """One image of a split with its polygon annotation file (either may turn out missing or broken).

    Args:
        image_path: the ``*_leftImg8bit.png`` file.
        json_path: the ``*_gtFine_polygons.json`` file.
        city: the city folder name.
        name: the frame name shared by both files (``<city>_<seq>_<frame>``).
    """

    image_path: str
    json_path: str
    city: str
    name: str


def read_polygons_json(path: str | os.PathLike) -> CityscapesAnnotation:
    """Reads one Cityscapes ``*_gtFine_polygons.json``.

    Objects whose polygon is not a list of (x, y) pairs make the whole file invalid (the file is then
    suspect); polygons with fewer than 3 points are kept as they are (filtering is the caller's choice).

    Args:
        path: the json file.

    Returns:
        The parsed annotation.

    Raises:
        CityscapesFormatError: the file is missing, is not json, or does not follow the schema; the
            message names the file and the offending field.

    Example:
        >>> ann = read_polygons_json("gtFine/val/frankfurt/frankfurt_000000_000294_gtFine_polygons.json")
        >>> [obj.label for obj in ann.objects][:3]
    """
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as handle:
            content = json.load(handle)
    except FileNotFoundError as error:
        raise CityscapesFormatError(f"{path}: no such annotation file") from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CityscapesFormatError(f"{path}: not valid json ({error})") from error
    if not isinstance(content, dict):
        raise CityscapesFormatError(f"{path}: expected a json object, found {type(content).__name__}")
    height = _positive_int(content, "imgHeight", path)
    width = _positive_int(content, "imgWidth", path)
    raw_objects = content.get("objects")
    if not isinstance(raw_objects, list):
        raise CityscapesFormatError(f"{path}: field 'objects' must be a list, found {raw_objects!r:.60}")
    objects = tuple(_parse_object(raw, index, path) for index, raw in enumerate(raw_objects))
    return CityscapesAnnotation(path=path, height=height, width=width, objects=objects)


def _positive_int(content: dict, key: str, path: str) -> int:
    value = content.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise CityscapesFormatError(f"{path}: field {key!r} must be a positive integer, found {value!r}")
    return value


def _parse_object(raw: object, index: int, path: str) -> CityscapesObject:
    where = f"{path}: objects[{index}]"
    if not isinstance(raw, dict):
        raise CityscapesFormatError(f"{where} must be a json object, found {type(raw).__name__}")
    label = raw.get("label")
    if not isinstance(label, str):
        raise CityscapesFormatError(f"{where}: field 'label' must be a string, found {label!r}")
    try:
        polygon = np.asarray(raw.get("polygon"), dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise CityscapesFormatError(f"{where}: 'polygon' is not a list of [x, y] pairs") from error
    if polygon.size == 0:
        polygon = polygon.reshape(0, 2)
    if polygon.ndim != 2 or polygon.shape[1] != 2 or not np.all(np.isfinite(polygon)):
        raise CityscapesFormatError(
            f"{where}: 'polygon' must be a list of finite [x, y] pairs, found shape {polygon.shape}"
        )
    return CityscapesObject(label=label, polygon=polygon, index=index)


def detect_layout(root: str | os.PathLike) -> tuple[str, str]:
    """Returns the (image folder, annotation folder) names used under `root`.

    Args:
        root: the dataset root holding ``leftImg8bit/`` + ``gtFine/`` or ``img/`` + ``label/``.

    Raises:
        FileNotFoundError: neither layout is present; the message names `root`.

    Example:
        >>> detect_layout("/data/cityscapes")
        ('leftImg8bit', 'gtFine')
    """
    root = os.fspath(root)
    for image_dir, label_dir in LAYOUTS:
        if os.path.isdir(os.path.join(root, label_dir)):
            return image_dir, label_dir
    expected = " or ".join(f"{label}/" for _, label in LAYOUTS)
    raise FileNotFoundError(f"{root}: no Cityscapes annotation folder ({expected}) found")


def list_samples(root: str | os.PathLike, split: str) -> list[CityscapesSample]:
    """Lists the annotated images of a split, sorted by city and name, from the annotation files.

    The image of each annotation is not checked here: reading it later reports a missing one.

    Args:
        root: the dataset root (either layout, see the module docstring).
        split: "train", "val" or "test" (any folder name under the annotation folder).

    Raises:
        FileNotFoundError: the split folder does not exist.

    Example:
        >>> samples = list_samples("/data/cityscapes", "val")
        >>> samples[0].image_path
    """
    root = os.fspath(root)
    image_dir, label_dir = detect_layout(root)
    split_dir = os.path.join(root, label_dir, split)
    if not os.path.isdir(split_dir):
        raise FileNotFoundError(f"{split_dir}: no such split folder")
    samples = []
    for json_path in sorted(glob.glob(os.path.join(split_dir, "*", "*" + POLYGONS_SUFFIX))):
        city = os.path.basename(os.path.dirname(json_path))
        name = os.path.basename(json_path)[: -len(POLYGONS_SUFFIX)]
        image_path = os.path.join(root, image_dir, split, city, name + IMAGE_SUFFIX)
        samples.append(CityscapesSample(image_path=image_path, json_path=json_path, city=city, name=name))
    return samples


def iter_annotations(
    samples: list[CityscapesSample], errors: list[str] | None = None
) -> Iterator[tuple[CityscapesSample, CityscapesAnnotation]]:
    """Yields (sample, annotation) pairs, skipping (and recording) unreadable annotation files.

    Args:
        samples: from :func:`list_samples`.
        errors: if given, one message per skipped file is appended (the message names the file).

    Example:
        >>> errors = []
        >>> for sample, ann in iter_annotations(list_samples(root, "val"), errors): ...
    """
    for sample in samples:
        try:
            annotation = read_polygons_json(sample.json_path)
        except CityscapesFormatError as error:
            if errors is not None:
                errors.append(str(error))
            continue
        yield sample, annotation
