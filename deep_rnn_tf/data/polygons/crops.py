"""Cityscapes (or the synthetic set) -> instance crops with grid vertex sequences, as crop shards.

`write_crop_shards` is the pipeline behind `deep-rnn data polygon-crops` (`deep_rnn_tf.tools.polygon_crops`).
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Iterator, Sequence

import numpy as np
from tqdm import tqdm

from deep_rnn_tf.atomic_io import write_json_atomic
from deep_rnn_tf.data.cityscapes import INSTANCE_CLASSES, iter_annotations, list_samples
from deep_rnn_tf.data.polygons.geometry import (
    CROP_SIZE,
    DEFAULT_MAX_VERTICES,
    GRID_SIZE,
    MIN_AREA,
    MIN_BOX_SIDE,
    MIN_VERTICES,
    CropMeta,
    clip_polygon_to_image,
    crop_and_resize,
    expand_box,
    polygon_area,
)
from deep_rnn_tf.data.polygons.grid import encode_polygon
from deep_rnn_tf.data.polygons.records import MANIFEST_NAME, ShardWriter, crop_example
from deep_rnn_tf.data.video_io import VideoReadError, read_image
from deep_rnn_tf.validation import check_positive_int

DROP_REASONS = (
    "group_label",
    "under_3_vertices",
    "vertex_far_outside",
    "outside_image",
    "under_100_px",
    "box_under_8_px",
)


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
    if _has_vertex_far_outside(polygon, height, width):
        return "vertex_far_outside"
    clipped = clip_polygon_to_image(polygon, height, width)
    if polygon_area(clipped) < MIN_AREA:
        return "outside_image" if polygon_area(polygon) >= MIN_AREA else "under_100_px"
    return None


def _has_vertex_far_outside(polygon: np.ndarray, height: int, width: int) -> bool:
    """A vertex more than the image's own size outside it, or not a number: a broken annotation. Clipping
    it would pull the outline to the image corner (real annotations overshoot the border by a few pixels,
    which clipping handles)."""
    points = np.asarray(polygon, np.float64)
    if not np.all(np.isfinite(points)):
        return True
    x, y = points[:, 0], points[:, 1]
    return bool(np.any((x < -width) | (x > 2 * width) | (y < -height) | (y > 2 * height)))


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
        >>> from deep_rnn_tf.data.cityscapes import CityscapesObject
        >>> car = CityscapesObject("car", np.array([[10.0, 10.0], [60.0, 10.0], [60.0, 50.0]]), index=0)
        >>> img, rng = np.zeros((100, 100, 3), np.uint8), np.random.default_rng(0)
        >>> drops = Counter()
        >>> crops = list(instance_crops(img, [car], 100, 100, "a.png", 0.15, rng, drops))
        >>> [(crop.shape, meta.box) for crop, meta in crops]
        [((224, 224, 3), (2, 4, 69, 57))]
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
        >>> write_crop_shards("synth_cityscapes", "val", "crops", 0.15)["num_instances"]  # doctest: +SKIP
    """
    check_positive_int("copies", copies)
    split_dir = os.path.join(out_dir, split)
    os.makedirs(split_dir, exist_ok=True)
    samples = list_samples(root, split)
    errors: list[str] = []
    drops: Counter = Counter()
    per_class: Counter = Counter()
    rng = np.random.default_rng(seed)
    writer = ShardWriter(split_dir, shard_size)
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
    write_json_atomic(os.path.join(split_dir, MANIFEST_NAME), manifest)
    return manifest


def _count_group_labels(objects: Sequence, drops: Counter, copies: int) -> None:
    for obj in objects:
        if obj.label.endswith("group"):
            drops["group_label"] += copies
            drops[f"label:{obj.label}"] += copies
