"""Instance crops and 28x28 grid vertex sequences for Polygon-RNN, written as TFRecord shards.

Conventions (decided here, used by training, decoding and evaluation alike):

- **Coordinates.** Pixel centres sit at integer coordinates (Cityscapes' polygons are integer pixel
  positions). A crop box is ``(x0, y0, x1, y1)`` in whole pixels, ``x1``/``y1`` exclusive. Resizing the box to
  ``size x size`` (bilinear, aspect not kept) maps image x to crop u by ``u = (x - x0 + 0.5) * sx - 0.5`` with
  ``sx = size / (x1 - x0)`` (the half-pixel mapping OpenCV's resize uses), and likewise for y.
- **Context.** The polygon's tight box is widened by ``context * width`` on the left and right and by
  ``context * height`` on top and bottom (the original widened the right edge by the height's share, §10.6),
  then clipped to the image. 15 % at evaluation; a random 10-20 % per crop in training.
- **Grid.** A crop point (u, v) falls in cell ``(row, col) = (floor((v + 0.5) / 8), floor((u + 0.5) / 8))`` of
  the 28x28 grid; token = ``row * 28 + col`` (0..783); token 784 is end-of-polygon. A cell decodes to its
  centre ``(8 col + 3.5, 8 row + 3.5)`` in crop pixels.
- **Vertex sequence.** Consecutive vertices in the same cell are merged (cyclically, so the last never equals
  the first). The orientation is made clockwise on screen (positive shoelace area with y pointing down) and
  the sequence starts at the top-most cell, the left-most of those. Sequences longer than ``max_vertices``
  (57 by default: 57 vertices + end-of-polygon = the original's 58 decoder steps) are subsampled uniformly at
  indices ``floor(k * n / max_vertices)`` as the original did.
- **Filtering.** Polygons are clipped to the image first. Instances whose polygon has fewer than 3 vertices,
  lies outside the image, has an area under 100 px (inside the image) or whose crop box is under 8 px on a
  side are dropped; so are crowds of an instance class (``cargroup``, ``persongroup``, ...). Every drop is
  counted per reason in the manifest (``dropped``), group labels also by name (``dropped_labels``). Stuff
  labels (road, sky, ...) are not instances and not counted.

Each split is written to ``<out>/<split>/shard-XXXXX-of-YYYYY.tfrecord`` plus ``<out>/<split>/manifest.json``.
Every record keeps the metadata needed to score IoU at full resolution: the source image and its size, the
crop box, the scale, the class and the original polygon.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections import Counter
from collections.abc import Iterator, Sequence

import cv2
import numpy as np
import tensorflow as tf
from tqdm import tqdm

from deep_rnn_tf.atomic_io import write_text_atomic
from deep_rnn_tf.data.cityscapes import INSTANCE_CLASSES, iter_annotations, list_samples
from deep_rnn_tf.data.tfrecord_check import TFRecordError, count_tfrecords
from deep_rnn_tf.data.video_io import VideoReadError, read_image

CROP_SIZE = 224
GRID_SIZE = 28
CELL_SIZE = CROP_SIZE // GRID_SIZE
EOS_TOKEN = GRID_SIZE * GRID_SIZE
VOCAB_SIZE = EOS_TOKEN + 1
DEFAULT_MAX_VERTICES = 57
EVAL_CONTEXT = 0.15
TRAIN_CONTEXT_RANGE = (0.10, 0.20)
MIN_AREA = 100.0
MIN_VERTICES = 3
MIN_BOX_SIDE = 8  # px of the context-widened box; smaller crops are blown up >28x into 224x224
DROP_REASONS = ("group_label", "under_3_vertices", "outside_image", "under_100_px", "box_under_8_px")
MANIFEST_NAME = "manifest.json"


@dataclasses.dataclass(frozen=True)
class CropMeta:
    """Where a 224x224 instance crop came from: everything needed to go back to full resolution.

    Args:
        label: the class name (one of `INSTANCE_CLASSES`).
        image_height: the full image's height in pixels.
        image_width: the full image's width in pixels.
        box: the crop box (x0, y0, x1, y1) in image pixels, x1/y1 exclusive.
        polygon: the annotated polygon (N, 2) of (x, y) in image pixels.
        source: the image file the crop was cut from.
        object_index: the object's position in its json file.
        context: the context fraction used for this crop.
        crop_size: the crop's side in pixels.

    Example:
        >>> meta = CropMeta("car", 1024, 2048, (100, 200, 300, 330), polygon, "a.png", 3, 0.15)
        >>> meta.scale
        (1.12, 1.723...)
    """

    label: str
    image_height: int
    image_width: int
    box: tuple[int, int, int, int]
    polygon: np.ndarray
    source: str = ""
    object_index: int = -1
    context: float = EVAL_CONTEXT
    crop_size: int = CROP_SIZE

    @property
    def scale(self) -> tuple[float, float]:
        """(sx, sy): crop pixels per image pixel along x and y."""
        x0, y0, x1, y1 = self.box
        return self.crop_size / (x1 - x0), self.crop_size / (y1 - y0)

    @property
    def class_id(self) -> int:
        """The index of `label` in `INSTANCE_CLASSES`."""
        return INSTANCE_CLASSES.index(self.label)


# ----------------------------------------------------------------------------------------------- geometry
def polygon_area(points: np.ndarray) -> float:
    """The absolute shoelace area of a polygon (N, 2) of (x, y); 0 for fewer than 3 points.

    Example:
        >>> polygon_area(np.array([[0, 0], [10, 0], [10, 10], [0, 10]]))
        100.0
    """
    points = np.asarray(points, dtype=np.float64)
    if len(points) < 3:
        return 0.0
    return abs(_signed_area(points))


def _signed_area(points: np.ndarray) -> float:
    # Positive = clockwise on screen (image y points down).
    x, y = points[:, 0], points[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def clip_polygon_to_image(polygon: np.ndarray, height: int, width: int) -> np.ndarray:
    """Clips (x, y) vertices to the image's pixel centres [0, width - 1] x [0, height - 1].

    Example:
        >>> clip_polygon_to_image(np.array([[-50.0, 10.0], [300.0, 20.0]]), 100, 200)
        array([[  0.,  10.],
               [199.,  20.]])
    """
    polygon = np.asarray(polygon, dtype=np.float64)
    return np.clip(polygon, [0.0, 0.0], [width - 1.0, height - 1.0])


def instance_drop_reason(
    label: str, polygon: np.ndarray, height: int, width: int, classes: Sequence[str] = INSTANCE_CLASSES
) -> str | None:
    """Why an annotated object yields no crop (one of `DROP_REASONS`, or "not_instance" for stuff labels
    such as road or sky, which are not counted), or None when it is kept.

    `polygon` is the annotated one; the area is measured after clipping it to the image, so a polygon far
    outside the image no longer becomes a one-pixel crop.

    Example:
        >>> instance_drop_reason("car", np.array([[-90, 0], [-10, 0], [-10, 80]]), 100, 100)
        'outside_image'
    """
    if label not in classes:
        return "group_label" if label.endswith("group") else "not_instance"
    if len(polygon) < MIN_VERTICES:
        return "under_3_vertices"
    clipped = clip_polygon_to_image(polygon, height, width)
    if polygon_area(clipped) < MIN_AREA:
        return "outside_image" if polygon_area(polygon) >= MIN_AREA else "under_100_px"
    return None


def expand_box(polygon: np.ndarray, height: int, width: int, context: float) -> tuple[int, int, int, int]:
    """The polygon's tight box widened by `context` of its width / height per side, clipped to the image.

    Args:
        polygon: (N, 2) of (x, y) image pixels.
        height: image height.
        width: image width.
        context: fraction of the box's width (left and right) and height (top and bottom) to add.

    Returns:
        (x0, y0, x1, y1) whole pixels, x1/y1 exclusive, at least one pixel wide and high.

    Example:
        >>> expand_box(np.array([[10, 10], [30, 10], [30, 50]]), 100, 100, 0.1)
        (8, 6, 34, 55)
    """
    if context < 0:
        raise ValueError(f"context must be >= 0; received context={context!r}")
    polygon = np.asarray(polygon, dtype=np.float64)
    (xmin, ymin), (xmax, ymax) = polygon.min(axis=0), polygon.max(axis=0)
    pad_x, pad_y = context * (xmax - xmin), context * (ymax - ymin)
    x0 = int(np.clip(np.floor(xmin - pad_x), 0, width - 1))
    y0 = int(np.clip(np.floor(ymin - pad_y), 0, height - 1))
    # +1: the pixel at xmax belongs to the object, and x1 is exclusive.
    x1 = int(np.clip(np.ceil(xmax + pad_x) + 1, x0 + 1, width))
    y1 = int(np.clip(np.ceil(ymax + pad_y) + 1, y0 + 1, height))
    return x0, y0, x1, y1


def crop_and_resize(image: np.ndarray, box: tuple[int, int, int, int], size: int = CROP_SIZE) -> np.ndarray:
    """Cuts `box` out of `image` and resizes it to size x size (bilinear, aspect not kept).

    Example:
        >>> crop_and_resize(np.zeros((1024, 2048, 3), np.uint8), (10, 20, 110, 70)).shape
        (224, 224, 3)
    """
    x0, y0, x1, y1 = box
    return cv2.resize(image[y0:y1, x0:x1], (size, size), interpolation=cv2.INTER_LINEAR)


def image_to_crop(points: np.ndarray, meta: CropMeta) -> np.ndarray:
    """Maps (x, y) image pixels to crop pixels with the half-pixel resize mapping (no clipping).

    Example:
        >>> image_to_crop(meta.polygon, meta)
    """
    sx, sy = meta.scale
    origin = np.array(meta.box[:2], dtype=np.float64)
    return (np.asarray(points, dtype=np.float64) - origin + 0.5) * np.array([sx, sy]) - 0.5


def crop_to_image(points: np.ndarray, meta: CropMeta) -> np.ndarray:
    """Inverse of :func:`image_to_crop`: (u, v) crop pixels to (x, y) image pixels.

    Example:
        >>> crop_to_image(np.array([[111.5, 111.5]]), meta)
    """
    sx, sy = meta.scale
    origin = np.array(meta.box[:2], dtype=np.float64)
    return (np.asarray(points, dtype=np.float64) + 0.5) / np.array([sx, sy]) - 0.5 + origin


# ------------------------------------------------------------------------------------------ grid sequences
def crop_points_to_cells(points: np.ndarray, grid: int = GRID_SIZE, crop: int = CROP_SIZE) -> np.ndarray:
    """(u, v) crop pixels -> int (N, 2) grid cells (row, col), clipped to the grid.

    Example:
        >>> crop_points_to_cells(np.array([[0.0, 223.0]]))
        array([[27,  0]])
    """
    cell = crop / grid
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    cols = np.clip(np.floor((points[:, 0] + 0.5) / cell), 0, grid - 1)
    rows = np.clip(np.floor((points[:, 1] + 0.5) / cell), 0, grid - 1)
    return np.stack([rows, cols], axis=1).astype(np.int64)


def cells_to_crop_points(cells: np.ndarray, grid: int = GRID_SIZE, crop: int = CROP_SIZE) -> np.ndarray:
    """Grid cells (row, col) -> their centres (u, v) in crop pixels.

    Example:
        >>> cells_to_crop_points(np.array([[0, 0]]))
        array([[3.5, 3.5]])
    """
    cell = crop / grid
    cells = np.asarray(cells, dtype=np.float64).reshape(-1, 2)
    return np.stack([cells[:, 1] * cell + (cell - 1) / 2, cells[:, 0] * cell + (cell - 1) / 2], axis=1)


def canonicalize_cells(cells: np.ndarray) -> np.ndarray:
    """Merges repeated cells, orients clockwise on screen and starts at the top-most, left-most cell.

    Args:
        cells: int (N, 2) of (row, col), in polygon order.

    Returns:
        int (M, 2), M <= N; a degenerate (zero-area) sequence keeps its orientation.

    Example:
        >>> canonicalize_cells(np.array([[5, 5], [5, 5], [9, 2], [1, 3]]))
        array([[1, 3], [5, 5], [9, 2]])
    """
    cells = np.asarray(cells, dtype=np.int64).reshape(-1, 2)
    if len(cells) == 0:
        return cells
    keep = np.any(cells != np.roll(cells, 1, axis=0), axis=1)
    if not keep.any():  # every vertex in one cell
        return cells[:1]
    cells = cells[keep]
    # (x, y) = (col, row): negative area means counter-clockwise on screen.
    if len(cells) >= 3 and _signed_area(cells[:, ::-1].astype(np.float64)) < 0:
        cells = cells[::-1]
    start = np.lexsort((cells[:, 1], cells[:, 0]))[0]
    return np.roll(cells, -start, axis=0)


def subsample_cells(cells: np.ndarray, max_vertices: int) -> np.ndarray:
    """Keeps `max_vertices` of a longer sequence at indices floor(k * n / max_vertices) (the original's rule).

    Example:
        >>> len(subsample_cells(np.zeros((100, 2), np.int64), 57))
        57
    """
    if max_vertices < 1:
        raise ValueError(f"max_vertices must be >= 1; received max_vertices={max_vertices!r}")
    n = len(cells)
    if n <= max_vertices:
        return cells
    return cells[(np.arange(max_vertices) * n) // max_vertices]


def cells_to_tokens(cells: np.ndarray, grid: int = GRID_SIZE) -> np.ndarray:
    """(row, col) cells -> int tokens row * grid + col."""
    cells = np.asarray(cells, dtype=np.int64).reshape(-1, 2)
    return cells[:, 0] * grid + cells[:, 1]


def tokens_to_cells(tokens: np.ndarray, grid: int = GRID_SIZE) -> np.ndarray:
    """Grid tokens (< grid * grid) -> (row, col) cells; end-of-polygon and larger tokens are not allowed."""
    tokens = np.asarray(tokens, dtype=np.int64).reshape(-1)
    if np.any((tokens < 0) | (tokens >= grid * grid)):
        raise ValueError(f"tokens must be grid cells in [0, {grid * grid}); received {tokens.tolist()}")
    return np.stack([tokens // grid, tokens % grid], axis=1)


def encode_polygon(
    meta: CropMeta, max_vertices: int = DEFAULT_MAX_VERTICES, grid: int = GRID_SIZE
) -> np.ndarray:
    """The canonical grid token sequence (without end-of-polygon) of `meta.polygon`.

    Example:
        >>> tokens = encode_polygon(meta)  # e.g. array([61, 70, 492, 483])
    """
    cells = crop_points_to_cells(image_to_crop(meta.polygon, meta), grid, meta.crop_size)
    return cells_to_tokens(subsample_cells(canonicalize_cells(cells), max_vertices), grid)


def decode_tokens(
    tokens: np.ndarray, meta: CropMeta | None = None, grid: int = GRID_SIZE, crop: int = CROP_SIZE
) -> np.ndarray:
    """Grid tokens -> polygon (N, 2): in image pixels when `meta` is given, else in crop pixels.

    Everything from the first end-of-polygon (or any non-grid token) on is ignored.

    Example:
        >>> decode_tokens(np.array([61, 70, 492, EOS_TOKEN]), meta)
    """
    tokens = np.asarray(tokens, dtype=np.int64).reshape(-1)
    invalid = np.flatnonzero((tokens < 0) | (tokens >= grid * grid))
    if len(invalid):
        tokens = tokens[: invalid[0]]
    points = cells_to_crop_points(tokens_to_cells(tokens, grid), grid, crop)
    return points if meta is None else crop_to_image(points, meta)


# ---------------------------------------------------------------------------------------- shard records
def crop_example(crop: np.ndarray, tokens: np.ndarray, meta: CropMeta) -> tf.train.Example:
    """One crop with its token sequence and metadata as a `tf.train.Example` (image PNG-encoded)."""
    ok, png = cv2.imencode(".png", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError(f"{meta.source}: cannot PNG-encode the crop of object {meta.object_index}")

    def ints(values):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(v) for v in values]))

    def floats(values):
        return tf.train.Feature(float_list=tf.train.FloatList(value=[float(v) for v in values]))

    def raw(value: bytes):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))

    features = {
        "image": raw(png.tobytes()),
        "tokens": ints(tokens),
        "class_id": ints([meta.class_id]),
        "label": raw(meta.label.encode()),
        "image_size": ints([meta.image_height, meta.image_width]),
        "box": ints(meta.box),
        "scale": floats(meta.scale),
        "polygon": floats(np.asarray(meta.polygon).reshape(-1)),
        "source": raw(meta.source.encode()),
        "object_index": ints([meta.object_index]),
        "context": floats([meta.context]),
    }
    return tf.train.Example(features=tf.train.Features(feature=features))


FEATURE_SPEC = {
    "image": tf.io.FixedLenFeature([], tf.string),
    "tokens": tf.io.VarLenFeature(tf.int64),
    "class_id": tf.io.FixedLenFeature([], tf.int64),
    "label": tf.io.FixedLenFeature([], tf.string),
    "image_size": tf.io.FixedLenFeature([2], tf.int64),
    "box": tf.io.FixedLenFeature([4], tf.int64),
    "scale": tf.io.FixedLenFeature([2], tf.float32),
    "polygon": tf.io.VarLenFeature(tf.float32),
    "source": tf.io.FixedLenFeature([], tf.string),
    "object_index": tf.io.FixedLenFeature([], tf.int64),
    "context": tf.io.FixedLenFeature([], tf.float32),
}


def parse_crop_example(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
    """Parses one record (graph-friendly): `image` uint8 (224, 224, 3), `tokens` int64 (n,), metadata.

    Example:
        >>> ds = tf.data.TFRecordDataset(files).map(parse_crop_example)
    """
    parsed = tf.io.parse_single_example(serialized, FEATURE_SPEC)
    parsed["tokens"] = tf.sparse.to_dense(parsed["tokens"])
    parsed["polygon"] = tf.reshape(tf.sparse.to_dense(parsed["polygon"]), [-1, 2])
    image = tf.io.decode_png(parsed["image"], channels=3)
    parsed["image"] = tf.ensure_shape(image, [CROP_SIZE, CROP_SIZE, 3])
    return parsed


def read_manifest(directory: str | os.PathLike, split: str) -> dict:
    """Loads ``<directory>/<split>/manifest.json``; the error names the file when it is missing or broken.

    Example:
        >>> read_manifest("crops", "val")["num_instances"]
    """
    path = os.path.join(os.fspath(directory), split, MANIFEST_NAME)
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError as error:
        raise FileNotFoundError(
            f"{path}: no crop manifest; create it with `deep-rnn data polygon-crops`"
        ) from error
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid json ({error})") from error


def shard_files(directory: str | os.PathLike, split: str) -> list[str]:
    """The shard paths of a split, as listed by its manifest, each checked to be complete.

    Raises:
        TFRecordError: a missing or truncated shard (named), or fewer records than the manifest counts.
    """
    manifest = read_manifest(directory, split)
    files = [os.path.join(os.fspath(directory), split, name) for name in manifest["shards"]]
    found = sum(count_tfrecords(path) for path in files)  # names a cut-off shard before tf.data meets it
    expected = manifest.get("num_instances")
    if expected is not None and found != expected:
        raise TFRecordError(
            f"{os.path.join(os.fspath(directory), split)}: the shards hold {found} records but "
            f"{MANIFEST_NAME} counts {expected} (a shard was cut or replaced); re-run polygon-crops"
        )
    return files


def crop_dataset(directory: str | os.PathLike, split: str) -> tf.data.Dataset:
    """A dataset of parsed records (see :func:`parse_crop_example`) of one split, in manifest order.

    Example:
        >>> for record in crop_dataset("crops", "val").take(1): print(record["label"])
    """
    files = shard_files(directory, split)
    return tf.data.TFRecordDataset(files).map(parse_crop_example, num_parallel_calls=tf.data.AUTOTUNE)


def iter_crop_records(
    directory: str | os.PathLike, split: str
) -> Iterator[tuple[np.ndarray, np.ndarray, CropMeta]]:
    """Yields (crop uint8 (224, 224, 3), tokens int64 (n,), CropMeta) of every record of a split.

    Example:
        >>> crop, tokens, meta = next(iter_crop_records("crops", "val"))
    """
    for record in crop_dataset(directory, split).as_numpy_iterator():
        height, width = (int(v) for v in record["image_size"])
        meta = CropMeta(
            label=record["label"].decode(),
            image_height=height,
            image_width=width,
            box=tuple(int(v) for v in record["box"]),
            polygon=record["polygon"].astype(np.float64),
            source=record["source"].decode(),
            object_index=int(record["object_index"]),
            context=float(record["context"]),
        )
        yield record["image"], record["tokens"], meta


class _ShardWriter:
    """Writes records round the shards of one split, each shard to a temporary name first."""

    def __init__(self, directory: str, shard_size: int):
        if shard_size < 1:
            raise ValueError(f"shard_size must be >= 1; received shard_size={shard_size!r}")
        self.directory = directory
        self.shard_size = shard_size
        self.temporary: list[str] = []
        self.count = 0
        self._writer: tf.io.TFRecordWriter | None = None

    def write(self, example: tf.train.Example) -> None:
        if self.count % self.shard_size == 0:
            self._close_current()
            path = os.path.join(self.directory, f".shard-{len(self.temporary):05d}.tmp")
            self.temporary.append(path)
            self._writer = tf.io.TFRecordWriter(path)
        self._writer.write(example.SerializeToString())
        self.count += 1

    def _close_current(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def finish(self) -> list[str]:
        """Closes the last shard and renames all to ``shard-XXXXX-of-YYYYY.tfrecord``; returns the names."""
        self._close_current()
        names = []
        for index, path in enumerate(self.temporary):
            name = f"shard-{index:05d}-of-{len(self.temporary):05d}.tfrecord"
            os.replace(path, os.path.join(self.directory, name))
            names.append(name)
        return names


def instance_crops(
    image: np.ndarray,
    annotation_objects: Sequence,
    height: int,
    width: int,
    source: str,
    context: float | tuple[float, float],
    rng: np.random.Generator,
    drops: Counter,
    classes: Sequence[str] = INSTANCE_CLASSES,
) -> Iterator[tuple[np.ndarray, CropMeta]]:
    """Yields (crop, meta) for every kept instance of one image; counts dropped ones in `drops`.

    Args:
        image: the full image, uint8 (H, W, 3).
        annotation_objects: `CityscapesObject`s of the image.
        height: the annotation's image height (checked against the image).
        width: the annotation's image width.
        source: the image path (kept in the metadata).
        context: a fixed fraction, or a (low, high) range drawn per crop from `rng`.
        rng: the random generator for training context.
        drops: counter of dropped objects by reason (`DROP_REASONS`) and, for group labels, by
            ``"label:<name>"``.
        classes: the classes to keep.

    Example:
        >>> drops = Counter()
        >>> crops = list(instance_crops(img, ann.objects, ann.height, ann.width, path, 0.15, rng, drops))
    """
    for obj in annotation_objects:
        reason = instance_drop_reason(obj.label, obj.polygon, height, width, classes)
        if reason == "not_instance":
            continue
        if reason is not None:
            drops[reason] += 1
            if reason == "group_label":
                drops[f"label:{obj.label}"] += 1
            continue
        polygon = clip_polygon_to_image(obj.polygon, height, width)
        fraction = float(rng.uniform(*context)) if isinstance(context, tuple) else float(context)
        box = expand_box(polygon, height, width, fraction)
        if min(box[2] - box[0], box[3] - box[1]) < MIN_BOX_SIDE:
            drops["box_under_8_px"] += 1
            continue
        meta = CropMeta(
            label=obj.label,
            image_height=height,
            image_width=width,
            box=box,
            polygon=polygon,
            source=source,
            object_index=obj.index,
            context=fraction,
        )
        yield crop_and_resize(image, box), meta


def write_crop_shards(
    root: str,
    split: str,
    out_dir: str,
    context: float | tuple[float, float],
    copies: int = 1,
    max_vertices: int = DEFAULT_MAX_VERTICES,
    shard_size: int = 1000,
    seed: int = 0,
    quiet: bool = False,
) -> dict:
    """Writes the instance crops of one split as TFRecord shards plus a manifest; returns the manifest.

    A malformed json or an unreadable/missing image is reported (named in the manifest's `errors` and on
    stderr) and skipped; the rest goes on.

    Args:
        root: the Cityscapes root (either layout).
        split: the split folder name.
        out_dir: the output root; this split goes to ``out_dir/split``.
        context: fixed fraction (evaluation) or (low, high) range drawn per crop (training).
        copies: crops per instance (each with its own random context in training).
        max_vertices: the longest vertex sequence kept (longer ones are subsampled).
        shard_size: records per shard.
        seed: seed of the context draws.
        quiet: no progress bar.

    Example:
        >>> write_crop_shards("synth_cityscapes", "val", "crops", 0.15)["num_instances"]
    """
    if copies < 1:
        raise ValueError(f"copies must be >= 1; received copies={copies!r}")
    split_dir = os.path.join(out_dir, split)
    os.makedirs(split_dir, exist_ok=True)
    samples = list_samples(root, split)
    errors: list[str] = []
    drops: Counter = Counter()
    per_class: Counter = Counter()
    rng = np.random.default_rng(seed)
    writer = _ShardWriter(split_dir, shard_size)
    for sample, annotation in iter_annotations(tqdm(samples, desc=f"crops {split}", disable=quiet), errors):
        if not any(obj.label in INSTANCE_CLASSES for obj in annotation.objects):
            _count_group_labels(annotation.objects, drops, copies)  # still counted: no image read needed
            continue
        try:
            image = read_image(sample.image_path)
        except VideoReadError as error:
            errors.append(str(error))
            continue
        if image.shape[:2] != (annotation.height, annotation.width):
            errors.append(
                f"{sample.image_path}: image is {image.shape[1]}x{image.shape[0]} but "
                f"{sample.json_path} says {annotation.width}x{annotation.height}"
            )
            continue
        for _ in range(copies):
            for crop, meta in instance_crops(
                image,
                annotation.objects,
                annotation.height,
                annotation.width,
                sample.image_path,
                context,
                rng,
                drops,
            ):
                writer.write(crop_example(crop, encode_polygon(meta, max_vertices), meta))
                per_class[meta.label] += 1
    for message in errors:
        print(f"skipped: {message}", file=sys.stderr)
    manifest = {
        "split": split,
        "root": os.path.abspath(root),
        "shards": writer.finish(),
        "num_instances": writer.count,
        "per_class": {name: per_class[name] for name in INSTANCE_CLASSES},
        # Each instance is seen `copies` times; drops are counted once per copy as well.
        "dropped": {reason: drops[reason] for reason in DROP_REASONS},
        "dropped_labels": {
            key.split(":", 1)[1]: count for key, count in sorted(drops.items()) if key.startswith("label:")
        },
        "errors": errors,
        "num_images": len(samples),
        "context": list(context) if isinstance(context, tuple) else context,
        "copies": copies,
        "max_vertices": max_vertices,
        "grid_size": GRID_SIZE,
        "crop_size": CROP_SIZE,
        "seed": seed,
    }
    _write_json_atomic(os.path.join(split_dir, MANIFEST_NAME), manifest)
    return manifest


def _count_group_labels(objects: Sequence, drops: Counter, copies: int) -> None:
    for obj in objects:
        if obj.label.endswith("group"):
            drops["group_label"] += copies
            drops[f"label:{obj.label}"] += copies


def _write_json_atomic(path: str, content: dict) -> None:
    write_text_atomic(path, json.dumps(content, indent=2))


def crops_main(argv: list[str] | None = None) -> int:
    """`deep-rnn data polygon-crops`: Cityscapes (or the synthetic set) -> crop shards + manifests.

    Example:
        $ deep-rnn data polygon-crops --root data/synth_cityscapes --out data/polygon_crops
    """
    parser = argparse.ArgumentParser(
        prog="deep-rnn data polygon-crops",
        description="Cut the 8 instance classes out of Cityscapes into 224x224 crops with 28x28 grid "
        "vertex sequences (TFRecord shards + manifest per split).",
    )
    parser.add_argument("--root", required=True, help="Cityscapes root (leftImg8bit/+gtFine/ or img/+label/)")
    parser.add_argument("--out", required=True, help="output folder; each split goes to OUT/<split>/")
    parser.add_argument("--splits", nargs="+", default=["train", "val"])
    parser.add_argument(
        "--train-splits", nargs="*", default=["train"], help="splits cropped with random context"
    )
    parser.add_argument("--train-context", nargs=2, type=float, default=list(TRAIN_CONTEXT_RANGE))
    parser.add_argument("--eval-context", type=float, default=EVAL_CONTEXT)
    parser.add_argument("--copies", type=int, default=1, help="random-context crops per training instance")
    parser.add_argument("--max-vertices", type=int, default=DEFAULT_MAX_VERTICES)
    parser.add_argument("--shard-size", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    status = 0
    for split in args.splits:
        training = split in args.train_splits
        context = tuple(args.train_context) if training else args.eval_context
        try:
            manifest = write_crop_shards(
                args.root,
                split,
                args.out,
                context,
                copies=args.copies if training else 1,
                max_vertices=args.max_vertices,
                shard_size=args.shard_size,
                seed=args.seed,
                quiet=args.quiet,
            )
        except (FileNotFoundError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            status = 1
            continue
        print(
            f"{split}: {manifest['num_instances']} crops in {len(manifest['shards'])} shard(s) -> "
            f"{os.path.join(args.out, split)}; dropped {manifest['dropped']}; "
            f"{len(manifest['errors'])} file(s) skipped"
        )
    return status


if __name__ == "__main__":
    sys.exit(crops_main())
