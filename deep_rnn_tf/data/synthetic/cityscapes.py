"""A small synthetic Cityscapes: textured street scenes with polygonal objects of the 8 instance classes.

Written in the official layout and json schema, so the real reader and crop tool run on it unchanged:
``<out>/leftImg8bit/<split>/<city>/<city>_<seq>_<frame>_leftImg8bit.png`` and
``<out>/gtFine/<split>/<city>/<city>_<seq>_<frame>_gtFine_polygons.json`` with ``imgHeight``, ``imgWidth``
and ``objects`` (``label``, ``polygon``, ``id``, ``deleted``, ``verified``, ``date``, ``user``).

Each scene has sky, buildings and road as stuff polygons (classes the crop tool must skip), then 3-7
objects listed back to front (sorted by their foot point, like Cityscapes' depth order), each drawn over the
previous ones, so nearer objects occlude farther ones; each object's polygon is its full outline. Class
shapes come from per-class templates with random jitter, size, flip, vertex order and start vertex; a few
objects are tiny (under 100 px) to exercise the size filter.

Example:
    $ deep-rnn data synth-cityscapes --out data/synth_cityscapes --train 40 --val 12
"""

from __future__ import annotations

import json
import os

import cv2
import numpy as np
from tqdm import tqdm

from deep_rnn_tf.atomic_io import write_text_atomic
from deep_rnn_tf.data.cityscapes import IMAGE_SUFFIX, INSTANCE_CLASSES, POLYGONS_SUFFIX
from deep_rnn_tf.data.video_io import write_image
from deep_rnn_tf.validation import check_in_range

SHAPE_JITTER = 0.04  # default largest vertex move of a template, as a fraction of the object's box

# Outlines in a unit box (x right, y down); (height / width) aspect range; colour (RGB).
TEMPLATES: dict[str, tuple[list[tuple[float, float]], tuple[float, float], tuple[int, int, int]]] = {
    "person": (
        [(0.38, 0.0), (0.62, 0.0), (0.68, 0.2), (1.0, 0.55), (0.78, 0.5), (0.78, 1.0), (0.5, 0.62),
         (0.22, 1.0), (0.22, 0.5), (0.0, 0.55), (0.32, 0.2)],
        (2.2, 2.8), (200, 60, 60),
    ),
    "rider": (
        [(0.4, 0.0), (0.62, 0.0), (0.66, 0.2), (0.8, 0.45), (1.0, 0.62), (1.0, 1.0), (0.7, 0.85),
         (0.3, 0.85), (0.0, 1.0), (0.0, 0.62), (0.3, 0.5), (0.36, 0.2)],
        (1.4, 1.9), (230, 120, 40),
    ),
    "car": (
        [(0.22, 0.0), (0.7, 0.0), (0.86, 0.42), (1.0, 0.5), (1.0, 0.92), (0.84, 1.0), (0.16, 1.0),
         (0.0, 0.9), (0.0, 0.52), (0.1, 0.42)],
        (0.45, 0.65), (40, 70, 190),
    ),
    "truck": (
        [(0.0, 0.0), (0.66, 0.0), (0.66, 0.32), (0.86, 0.34), (1.0, 0.62), (1.0, 1.0), (0.0, 1.0)],
        (0.6, 0.85), (60, 150, 70),
    ),
    "bus": (
        [(0.06, 0.0), (0.94, 0.08), (1.0, 0.3), (0.96, 1.0), (0.55, 0.9), (0.04, 1.0), (0.0, 0.2)],
        (0.5, 0.7), (220, 200, 40),
    ),
    "train": (
        [(0.0, 0.3), (0.7, 0.0), (1.0, 0.05), (1.0, 0.75), (0.35, 1.0), (0.0, 0.95)],
        (0.3, 0.45), (120, 40, 160),
    ),
    "motorcycle": (
        [(0.08, 0.45), (0.42, 0.3), (0.58, 0.0), (0.74, 0.08), (0.7, 0.34), (1.0, 0.5), (0.96, 1.0),
         (0.62, 0.76), (0.38, 0.76), (0.04, 1.0), (0.0, 0.72)],
        (0.6, 0.8), (30, 160, 170),
    ),
    "bicycle": (
        [(0.0, 0.55), (0.3, 0.25), (0.35, 0.0), (0.55, 0.0), (0.7, 0.3), (1.0, 0.55), (0.9, 1.0),
         (0.5, 0.65), (0.1, 1.0)],
        (0.6, 0.8), (230, 90, 170),
    ),
}  # fmt: skip
# Relative frequency of the classes (Cityscapes-like: many cars and people, few trains).
CLASS_WEIGHTS = {"person": 4, "rider": 1.5, "car": 5, "truck": 1, "bus": 1, "train": 0.6,
                 "motorcycle": 1, "bicycle": 1.5}  # fmt: skip
CITIES = {"train": ("aachen", "bremen"), "val": ("frankfurt",), "test": ("berlin",)}


def _texture(
    rng: np.random.Generator, height: int, width: int, base: np.ndarray, strength: float
) -> np.ndarray:
    """A colour field: `base` plus smooth blotches and fine grain, uint8 (H, W, 3)."""
    coarse = rng.normal(0, 1, (max(2, height // 16), max(2, width // 16), 3)).astype(np.float32)
    coarse = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    grain = rng.normal(0, 1, (height, width, 3)).astype(np.float32)
    field = base[None, None, :] + strength * (18 * coarse + 8 * grain)
    return np.clip(field, 0, 255).astype(np.uint8)


def _stuff(rng: np.random.Generator, height: int, width: int) -> tuple[np.ndarray, list[dict], int]:
    """Sky, a building skyline and the road: the background image and its stuff polygons."""
    image = _texture(rng, height, width, np.array([150, 180, 215], np.float32), 0.6)
    horizon = int(height * rng.uniform(0.42, 0.55))
    objects = [{"label": "sky", "polygon": [[0, 0], [width - 1, 0], [width - 1, horizon], [0, horizon]]}]
    x = 0
    while x < width:
        block_w = int(rng.uniform(0.08, 0.2) * width)
        top = int(horizon * rng.uniform(0.1, 0.6))
        poly = [
            [x, top],
            [min(x + block_w, width - 1), top],
            [min(x + block_w, width - 1), horizon],
            [x, horizon],
        ]
        colour = rng.uniform(70, 170, 3).astype(np.float32)
        _fill_polygon(image, np.array(poly, np.float64), colour, 0.8, rng)
        objects.append({"label": "building", "polygon": poly})
        x += block_w
    road = [[0, horizon], [width - 1, horizon], [width - 1, height - 1], [0, height - 1]]
    fill = _texture(rng, height, width, np.array([95, 95, 100], np.float32), 1.0)
    image[horizon:] = fill[horizon:]
    objects.append({"label": "road", "polygon": road})
    return image, objects, horizon


def _object_polygon(
    rng: np.random.Generator,
    label: str,
    width: int,
    height: int,
    horizon: int,
    tiny: bool,
    shape_jitter: float = SHAPE_JITTER,
) -> np.ndarray:
    """A jittered, scaled, placed (and possibly flipped) outline of class `label` in image pixels."""
    template, aspect_range, _ = TEMPLATES[label]
    unit = np.array(template, np.float64)
    unit = np.clip(unit + rng.uniform(-shape_jitter, shape_jitter, unit.shape), 0.0, 1.0)
    if rng.random() < 0.5:
        unit[:, 0] = 1.0 - unit[:, 0]
    foot = rng.uniform(horizon + 0.1 * (height - horizon), height - 2)
    # Objects grow towards the bottom of the frame (perspective).
    depth = (foot - horizon) / max(1.0, height - horizon)
    obj_h = (4 + 8 * rng.random()) if tiny else height * (0.12 + 0.35 * depth) * rng.uniform(0.8, 1.2)
    aspect = rng.uniform(*aspect_range)
    obj_w = obj_h / aspect
    if obj_w > 0.6 * width:
        obj_w, obj_h = 0.6 * width, 0.6 * width * aspect
    left = rng.uniform(0, width - obj_w - 1)
    polygon = np.stack([left + unit[:, 0] * obj_w, foot - obj_h + unit[:, 1] * obj_h], axis=1)
    polygon = np.round(np.clip(polygon, 0, [width - 1, height - 1]))
    # Annotations come in either orientation and from any start vertex.
    if rng.random() < 0.5:
        polygon = polygon[::-1]
    return np.roll(polygon, int(rng.integers(len(polygon))), axis=0)


def _fill_polygon(
    image: np.ndarray, polygon: np.ndarray, colour: np.ndarray, strength: float, rng: np.random.Generator
) -> None:
    """Paints a textured polygon in place; the texture is made only for the polygon's box (speed)."""
    x0, y0 = np.floor(polygon.min(axis=0)).astype(int)
    x1, y1 = np.ceil(polygon.max(axis=0)).astype(int) + 1
    fill = _texture(rng, y1 - y0, x1 - x0, colour, strength)
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(mask, [(polygon - [x0, y0]).astype(np.int32)], 1)
    region = image[y0:y1, x0:x1]
    region[mask > 0] = fill[mask > 0]


def _draw_object(image: np.ndarray, polygon: np.ndarray, label: str, rng: np.random.Generator) -> None:
    base = np.array(TEMPLATES[label][2], np.float32) * rng.uniform(0.75, 1.15)
    _fill_polygon(image, polygon, np.clip(base, 0, 255), 0.7, rng)
    points = polygon.astype(np.int32)
    cv2.polylines(image, [points], True, tuple(int(c) for c in np.clip(base * 0.45, 0, 255)), 2)


def make_scene(
    rng: np.random.Generator, width: int, height: int, shape_jitter: float = SHAPE_JITTER
) -> tuple[np.ndarray, dict]:
    """One synthetic scene: the RGB image and its Cityscapes polygons json content.

    Args:
        rng: the random generator.
        width: image width.
        height: image height.
        shape_jitter: largest move of a template vertex, as a fraction of the object's box (0.04: the
            eight class templates stay recognisable; larger values give irregular outlines that a decoder
            must trace from the image rather than recall).

    Example:
        >>> image, annotation = make_scene(np.random.default_rng(0), 1024, 512)
    """
    image, stuff, horizon = _stuff(rng, height, width)
    classes = list(CLASS_WEIGHTS)
    weights = np.array([CLASS_WEIGHTS[name] for name in classes], np.float64)
    instances = []
    for _ in range(int(rng.integers(3, 8))):
        label = classes[int(rng.choice(len(classes), p=weights / weights.sum()))]
        tiny = rng.random() < 0.08
        polygon = _object_polygon(rng, label, width, height, horizon, tiny, shape_jitter)
        instances.append((label, polygon))
    # Back to front: the higher the foot point, the farther the object.
    instances.sort(key=lambda item: item[1][:, 1].max())
    for label, polygon in instances:
        _draw_object(image, polygon, label, rng)
    objects = [dict(obj) for obj in stuff]
    objects += [{"label": label, "polygon": polygon.astype(int).tolist()} for label, polygon in instances]
    for index, obj in enumerate(objects):
        obj.update(
            {"id": index, "deleted": 0, "verified": 0, "date": "01-Jan-2026 00:00:00", "user": "synth"}
        )
    return image, {"imgHeight": height, "imgWidth": width, "objects": objects}


def write_split(
    out: str,
    split: str,
    count: int,
    width: int,
    height: int,
    seed: int,
    quiet: bool = False,
    shape_jitter: float = SHAPE_JITTER,
) -> int:
    """Writes `count` scenes of `split` (cities round-robin); returns the number of instance objects.

    Example:
        >>> write_split("data/synth_cityscapes", "val", 12, 1024, 512, seed=1)
    """
    check_in_range("shape_jitter", shape_jitter, 0.0, 0.5)
    rng = np.random.default_rng(seed)
    cities = CITIES.get(split, (split,))
    total = 0
    for index in tqdm(range(count), desc=f"synth {split}", disable=quiet):
        city = cities[index % len(cities)]
        name = f"{city}_{index // len(cities):06d}_000019"
        image, annotation = make_scene(rng, width, height, shape_jitter)
        image_dir = os.path.join(out, "leftImg8bit", split, city)
        label_dir = os.path.join(out, "gtFine", split, city)
        os.makedirs(image_dir, exist_ok=True)
        os.makedirs(label_dir, exist_ok=True)
        write_image(os.path.join(image_dir, name + IMAGE_SUFFIX), image)
        json_path = os.path.join(label_dir, name + POLYGONS_SUFFIX)
        write_text_atomic(json_path, json.dumps(annotation, indent=1))
        total += sum(obj["label"] in INSTANCE_CLASSES for obj in annotation["objects"])
    return total
