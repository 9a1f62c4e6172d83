"""Backward warping of images by a dense flow field, bilinear, in core TensorFlow.

`tensorflow-addons`' `dense_image_warp` is end-of-life; this is the same operation written with
`tf.gather_nd`, so it traces, differentiates (in the image and the flow) and exports as plain ops.
"""

from __future__ import annotations

import tensorflow as tf


def backward_warp(image: tf.Tensor, flow: tf.Tensor) -> tf.Tensor:
    """out[b, y, x] = image[b, y + flow_y, x + flow_x], bilinear, sample points clamped to the image.

    A zero flow returns `image` exactly (every sample point is a pixel centre with weight 1), so a flow
    head whose last layer starts at zero starts as the identity.

    Args:
        image: (B, H, W, C) float.
        flow: (B, H, W, 2) displacements in pixels, (dx, dy): where each output pixel reads from.

    Returns:
        (B, H, W, C) warped image, `image`'s dtype.

    Example:
        >>> image = tf.reshape(tf.range(16.0), (1, 4, 4, 1))
        >>> shifted = backward_warp(image, tf.concat([tf.ones((1, 4, 4, 1)), tf.zeros((1, 4, 4, 1))], -1))
        >>> shifted[0, 0, :, 0].numpy().tolist()  # each pixel reads its right neighbour (the border repeats)
        [1.0, 2.0, 3.0, 3.0]
    """
    image = tf.convert_to_tensor(image)
    source = tf.cast(image, tf.float32)  # once, not once per corner
    flow = tf.cast(flow, tf.float32)
    shape = tf.shape(image)
    height, width = shape[1], shape[2]
    grid_y, grid_x = tf.meshgrid(
        tf.range(height, dtype=tf.float32), tf.range(width, dtype=tf.float32), indexing="ij"
    )
    max_x, max_y = tf.cast(width - 1, tf.float32), tf.cast(height - 1, tf.float32)
    x = tf.clip_by_value(grid_x + flow[..., 0], 0.0, max_x)
    y = tf.clip_by_value(grid_y + flow[..., 1], 0.0, max_y)
    x0, y0 = tf.floor(x), tf.floor(y)
    weight_x, weight_y = (x - x0)[..., None], (y - y0)[..., None]
    x0i, y0i = tf.cast(x0, tf.int32), tf.cast(y0, tf.int32)
    x1i, y1i = tf.minimum(x0i + 1, width - 1), tf.minimum(y0i + 1, height - 1)

    def at(rows: tf.Tensor, cols: tf.Tensor) -> tf.Tensor:
        return tf.gather_nd(source, tf.stack([rows, cols], axis=-1), batch_dims=1)

    top = at(y0i, x0i) * (1.0 - weight_x) + at(y0i, x1i) * weight_x
    bottom = at(y1i, x0i) * (1.0 - weight_x) + at(y1i, x1i) * weight_x
    return tf.cast(top * (1.0 - weight_y) + bottom * weight_y, image.dtype)
