"""Polygon geometry of instance crops: the crop box with context, and image <-> crop coordinates.

The coordinate conventions are set out in `deep_rnn_tf.data.polygons` (the package docstring).
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from deep_rnn_tf.data.cityscapes import INSTANCE_CLASSES
from deep_rnn_tf.validation import check_non_negative

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
        >>> polygon = np.array([[120.0, 210.0], [280.0, 210.0], [200.0, 320.0]])
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


def polygon_area(points: np.ndarray) -> float:
    """The absolute shoelace area of a polygon (N, 2) of (x, y); 0 for fewer than 3 points.

    Example:
        >>> polygon_area(np.array([[0, 0], [10, 0], [10, 10], [0, 10]]))
        100.0
    """
    points = np.asarray(points, dtype=np.float64)
    if len(points) < 3:
        return 0.0
    return abs(signed_area(points))


def signed_area(points: np.ndarray) -> float:
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
        (8, 6, 33, 55)
    """
    check_non_negative("context", context)
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
        >>> meta = CropMeta("car", 1024, 2048, (10, 20, 122, 132), np.array([[10.0, 20.0], [121.0, 131.0]]))
        >>> image_to_crop(meta.polygon, meta)  # the box's first and last pixels
        array([[  0.5,   0.5],
               [222.5, 222.5]])
    """
    sx, sy = meta.scale
    origin = np.array(meta.box[:2], dtype=np.float64)
    return (np.asarray(points, dtype=np.float64) - origin + 0.5) * np.array([sx, sy]) - 0.5


def crop_to_image(points: np.ndarray, meta: CropMeta) -> np.ndarray:
    """Inverse of :func:`image_to_crop`: (u, v) crop pixels to (x, y) image pixels.

    Example:
        >>> meta = CropMeta("car", 1024, 2048, (10, 20, 122, 132), np.array([[10.0, 20.0], [121.0, 131.0]]))
        >>> crop_to_image(np.array([[111.5, 111.5]]), meta)  # the crop's centre
        array([[65.5, 75.5]])
    """
    sx, sy = meta.scale
    origin = np.array(meta.box[:2], dtype=np.float64)
    return (np.asarray(points, dtype=np.float64) + 0.5) / np.array([sx, sy]) - 0.5 + origin
