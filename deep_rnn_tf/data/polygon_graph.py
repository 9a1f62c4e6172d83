"""The crop geometry and grid of `deep_rnn_tf.data.polygons` as TensorFlow ops, for decoding in a SavedModel.

The exported annotation signatures take a full image and a box, so the context box, the crop, the resize
and the coordinate mappings must run in the graph. Each function here is the graph twin of the numpy /
OpenCV function of the same name in `polygons/geometry.py` (box, crop, point mappings) or
`polygons/grid.py` (cells and tokens) and follows the same conventions (module docstring
there): the same floor/ceil/clip arithmetic for the context box (in float64, so the integers agree), the
half-pixel bilinear resize without antialiasing that ``cv2.resize(..., INTER_LINEAR)`` does, and the same
half-pixel point mappings and 8-pixel grid cells. The tests check each twin against its original
(tests/test_annotation_signatures.py); OpenCV's fixed-point interpolation can differ by one grey level.
"""

from __future__ import annotations

import tensorflow as tf

from deep_rnn_tf.data.polygons.geometry import CROP_SIZE, GRID_SIZE


def expand_box_tf(points: tf.Tensor, height: tf.Tensor, width: tf.Tensor, context: float) -> tf.Tensor:
    """Graph twin of :func:`polygons.geometry.expand_box`: int32 (x0, y0, x1, y1), x1/y1 exclusive.

    Args:
        points: (N, 2) float (x, y) image pixels (a polygon, or the two corners of a box).
        height: image height (scalar int).
        width: image width (scalar int).
        context: fraction of the box's width / height added on each side.

    Example:
        >>> expand_box_tf(tf.constant([[10.0, 10.0], [30.0, 50.0]]), 100, 100, 0.1).numpy()
        array([ 8,  6, 33, 55], dtype=int32)
    """
    points = tf.cast(points, tf.float64)
    height, width = tf.cast(height, tf.float64), tf.cast(width, tf.float64)
    low, high = tf.reduce_min(points, axis=0), tf.reduce_max(points, axis=0)
    pad = context * (high - low)
    x0 = tf.clip_by_value(tf.floor(low[0] - pad[0]), 0.0, width - 1)
    y0 = tf.clip_by_value(tf.floor(low[1] - pad[1]), 0.0, height - 1)
    x1 = tf.clip_by_value(tf.math.ceil(high[0] + pad[0]) + 1, x0 + 1, width)
    y1 = tf.clip_by_value(tf.math.ceil(high[1] + pad[1]) + 1, y0 + 1, height)
    return tf.cast(tf.stack([x0, y0, x1, y1]), tf.int32)


def crop_and_resize_tf(image: tf.Tensor, box: tf.Tensor, size: int = CROP_SIZE) -> tf.Tensor:
    """Graph twin of :func:`polygons.geometry.crop_and_resize`: uint8 (size, size, 3).

    Example:
        >>> crop_and_resize_tf(tf.zeros([1024, 2048, 3], tf.uint8), tf.constant([10, 20, 110, 70])).shape
        TensorShape([224, 224, 3])
    """
    crop = image[box[1] : box[3], box[0] : box[2]]
    # TF2's resize uses half-pixel centres, as OpenCV does; no antialiasing, as INTER_LINEAR.
    resized = tf.image.resize(tf.cast(crop, tf.float32), [size, size], method="bilinear", antialias=False)
    return tf.cast(tf.round(tf.clip_by_value(resized, 0.0, 255.0)), tf.uint8)


def _scale(box: tf.Tensor, size: int) -> tf.Tensor:
    box = tf.cast(box, tf.float64)
    return tf.stack([size / (box[2] - box[0]), size / (box[3] - box[1])])


def image_to_crop_tf(points: tf.Tensor, box: tf.Tensor, size: int = CROP_SIZE) -> tf.Tensor:
    """Graph twin of :func:`polygons.geometry.image_to_crop`: (x, y) image -> (u, v) crop pixels.

    Example:
        >>> image_to_crop_tf(tf.constant([[10.0, 20.0]]), tf.constant([10, 20, 122, 132]), 224).numpy()
        array([[0.5, 0.5]])
    """
    origin = tf.cast(box[:2], tf.float64)
    return (tf.cast(points, tf.float64) - origin + 0.5) * _scale(box, size) - 0.5


def crop_to_image_tf(points: tf.Tensor, box: tf.Tensor, size: int = CROP_SIZE) -> tf.Tensor:
    """Graph twin of :func:`polygons.geometry.crop_to_image`: (u, v) crop -> (x, y) image pixels.

    Example:
        >>> crop_to_image_tf(tf.constant([[3.5, 3.5]]), tf.constant([10, 20, 122, 132]), 224).numpy()
        array([[11.5, 21.5]])
    """
    origin = tf.cast(box[:2], tf.float64)
    return (tf.cast(points, tf.float64) + 0.5) / _scale(box, size) - 0.5 + origin


def crop_points_to_tokens_tf(points: tf.Tensor, grid: int = GRID_SIZE, crop: int = CROP_SIZE) -> tf.Tensor:
    """Graph twin of grid.py's ``cells_to_tokens(crop_points_to_cells(points))``: crop pixels -> int32 tokens.

    Example:
        >>> crop_points_to_tokens_tf(tf.constant([[0.0, 223.0]])).numpy()
        array([756], dtype=int32)
    """
    cell = crop / grid
    points = tf.cast(points, tf.float64)
    cols = tf.clip_by_value(tf.floor((points[:, 0] + 0.5) / cell), 0, grid - 1)
    rows = tf.clip_by_value(tf.floor((points[:, 1] + 0.5) / cell), 0, grid - 1)
    return tf.cast(rows * grid + cols, tf.int32)


def tokens_to_crop_points_tf(tokens: tf.Tensor, grid: int = GRID_SIZE, crop: int = CROP_SIZE) -> tf.Tensor:
    """Graph twin of grid.py's ``cells_to_crop_points(tokens_to_cells(tokens))``: tokens -> cell centres.

    Example:
        >>> tokens_to_crop_points_tf(tf.constant([0])).numpy()
        array([[3.5, 3.5]])
    """
    cell = crop / grid
    tokens = tf.cast(tokens, tf.float64)
    rows, cols = tf.math.floordiv(tokens, grid), tf.math.floormod(tokens, grid)
    return tf.stack([cols * cell + (cell - 1) / 2, rows * cell + (cell - 1) / 2], axis=-1)
