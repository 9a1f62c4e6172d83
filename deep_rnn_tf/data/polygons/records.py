"""The crop-shard format: one `tf.train.Example` per crop, TFRecord shards, a manifest, and readers.

A split is ``<out>/<split>/shard-XXXXX-of-YYYYY.tfrecord`` plus ``<out>/<split>/manifest.json``. Shards are
written under temporary names and renamed when complete (`ShardWriter`), so a crashed run never leaves a
shard that looks finished.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator

import cv2
import numpy as np
import tensorflow as tf

from deep_rnn_tf.data.polygons.geometry import CROP_SIZE, GRID_SIZE, CropMeta
from deep_rnn_tf.data.tfrecord_check import TFRecordError, count_tfrecords
from deep_rnn_tf.validation import check_positive_int

MANIFEST_NAME = "manifest.json"


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
            manifest = json.load(handle)
    except FileNotFoundError as error:
        raise FileNotFoundError(
            f"{path}: no crop manifest; create it with `deep-rnn data polygon-crops`"
        ) from error
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid json ({error})") from error
    _check_manifest(path, manifest)
    return manifest


def _check_manifest(path: str, manifest: object) -> None:
    """The manifest lists its shards, and its crops are on the grid and at the size this package reads."""
    if not isinstance(manifest, dict) or not isinstance(manifest.get("shards"), list):
        raise ValueError(f"{path}: not a crop manifest (no 'shards' list); re-run polygon-crops")
    made = {key: manifest.get(key) for key in ("grid_size", "crop_size")}
    expected = {"grid_size": GRID_SIZE, "crop_size": CROP_SIZE}
    mismatched = {key: value for key, value in made.items() if value is not None and value != expected[key]}
    if mismatched:
        raise ValueError(
            f"{path}: crops made with {mismatched}; this package reads {expected}; re-run polygon-crops"
        )


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


def _record_source(serialized: tf.Tensor) -> tf.Tensor:
    """The `source` feature of a serialized record, parsed alone (no image decode)."""
    return tf.io.parse_single_example(serialized, {"source": FEATURE_SPEC["source"]})["source"]


def crop_dataset(
    directory: str | os.PathLike,
    split: str,
    where: Callable[[tf.Tensor], tf.Tensor] | None = None,
) -> tf.data.Dataset:
    """A dataset of parsed records (see :func:`parse_crop_example`) of one split, in manifest order.

    Args:
        directory, split: the crop shards' folder and split.
        where: keeps only the records whose `source` (a string tensor) it maps to true; applied to the
            serialized record, before the crop is decoded (a validation carve-out decodes only its crops).

    Example:
        >>> for record in crop_dataset("crops", "val").take(1): print(record["label"])
    """
    records = tf.data.TFRecordDataset(shard_files(directory, split))
    if where is not None:
        records = records.filter(lambda serialized: where(_record_source(serialized)))
    return records.map(parse_crop_example, num_parallel_calls=tf.data.AUTOTUNE)


def crop_sources(directory: str | os.PathLike, split: str) -> list[str]:
    """The source image of every record of a split, in manifest order (only that feature is parsed).

    Example:
        >>> len(set(crop_sources("crops", "train")))  # images the training crops come from
    """
    records = tf.data.TFRecordDataset(shard_files(directory, split))
    sources = records.map(_record_source, num_parallel_calls=tf.data.AUTOTUNE)
    return [source.decode() for source in sources.as_numpy_iterator()]


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


class ShardWriter:
    """Writes records round the shards of one split, each shard to a temporary name first."""

    def __init__(self, directory: str, shard_size: int):
        check_positive_int("shard_size", shard_size)
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
