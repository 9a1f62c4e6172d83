"""Differentiable image losses of the prediction task: MCnet's gradient difference loss and a Gaussian SSIM.

`gaussian_ssim` computes what `tf.image.ssim` computes (Gaussian window, VALID borders, the mean of the
SSIM map per image) with the window applied as two banded matrix products instead of a depthwise 2-D
convolution. The result is the same to float32 rounding; the gradient is much cheaper on CPU, where the
backward pass of an 11x11 depthwise convolution dominated the `small` preset's training step
(`benchmarks/ssim_loss.py`).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from deep_rnn_tf.layers.windows import gaussian_kernel
from deep_rnn_tf.validation import check_positive_int


def gradient_difference_loss(prediction: tf.Tensor, target: tf.Tensor, alpha: float = 1.0) -> tf.Tensor:
    """MCnet's GDL: mean of | |dx gt| - |dx pred| |^alpha + | |dy gt| - |dy pred| |^alpha.

    Two-tap differences with TF's SAME padding for an even kernel (one zero row/column after the last), as
    the original's `ops.gdl`; any leading axes are flattened into the batch.

    Args:
        prediction: (..., H, W, C) frames (the original uses [0, 1]).
        target: same shape.
        alpha: exponent.

    Example:
        >>> gradient_difference_loss(tf.zeros((2, 8, 8, 1)), tf.zeros((2, 8, 8, 1)))  # 0.0
    """

    def grads(x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        rank = len(x.shape)
        pad_x = [[0, 0]] * (rank - 2) + [[0, 1], [0, 0]]
        pad_y = [[0, 0]] * (rank - 3) + [[0, 1], [0, 0], [0, 0]]
        px, py = tf.pad(x, pad_x), tf.pad(x, pad_y)
        return tf.abs(px[..., 1:, :] - px[..., :-1, :]), tf.abs(py[..., 1:, :, :] - py[..., :-1, :, :])

    pdx, pdy = grads(prediction)
    tdx, tdy = grads(target)
    return tf.reduce_mean(tf.abs(tdx - pdx) ** alpha + tf.abs(tdy - pdy) ** alpha)


def gaussian_window_matrix(size: int, filter_size: int = 11, sigma: float = 1.5) -> np.ndarray:
    """(size - filter_size + 1, size) matrix whose row i is the normalised 1-D Gaussian at offset i.

    Multiplying an axis of length `size` by it is a VALID correlation with the Gaussian; the 2-D window of
    `tf.image.ssim` is the outer product of this 1-D one (its softmax of -(x^2 + y^2) / 2 sigma^2 factorises).

    Example:
        >>> gaussian_window_matrix(16).shape
        (6, 16)
    """
    check_positive_int("size", size)
    if filter_size > size:
        raise ValueError(f"filter_size must be <= size; received filter_size={filter_size}, size={size}")
    taps = gaussian_kernel(filter_size, sigma)
    rows = size - filter_size + 1
    matrix = np.zeros((rows, size), dtype=np.float32)
    for i in range(rows):
        matrix[i, i : i + filter_size] = taps
    return matrix


def gaussian_ssim(
    x: tf.Tensor,
    y: tf.Tensor,
    max_val: float = 1.0,
    filter_size: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
) -> tf.Tensor:
    """Mean SSIM per image of (..., H, W, C) tensors, as `tf.image.ssim` (same window, borders, constants).

    Args:
        x, y: images of the same shape (..., H, W, C), values in [0, max_val]; H, W and C must be static
            (the window is a constant matrix), the leading axes may be unknown.
        max_val: the dynamic range (1.0 for [0, 1] frames).
        filter_size: side of the Gaussian window; shrunk to the image's smaller side when the image is
            smaller (tf.image.ssim refuses such images).
        sigma: the Gaussian's standard deviation.
        k1, k2: SSIM's stabilising constants.

    Returns:
        (...) mean SSIM of each image (averaged over its SSIM map and channels).

    Example:
        >>> a = tf.random.uniform((2, 32, 32, 1))
        >>> float(tf.reduce_mean(gaussian_ssim(a, a)))  # 1.0
    """
    x = tf.convert_to_tensor(x, tf.float32)
    y = tf.convert_to_tensor(y, tf.float32)
    if x.shape != y.shape or x.shape.rank is None or x.shape.rank < 3:
        raise ValueError(f"x and y must have one static shape (..., H, W, C); received {x.shape}, {y.shape}")
    height, width, channels = x.shape[-3:]
    if None in (height, width, channels):
        raise ValueError(f"gaussian_ssim needs static height, width and channels; received shape {x.shape}")
    leading_shape = tf.shape(x)[:-3]
    size = min(filter_size, height, width)
    rows = tf.constant(gaussian_window_matrix(height, size, sigma))
    cols = tf.constant(gaussian_window_matrix(width, size, sigma))

    def as_planes(images: tf.Tensor) -> tf.Tensor:
        """(..., H, W, C) -> (N * C, H, W): one plane per image channel, each image's channels adjacent."""
        per_image = tf.reshape(images, (-1, height, width, channels))
        return tf.reshape(tf.transpose(per_image, (0, 3, 1, 2)), (-1, height, width))

    def local_mean(planes: tf.Tensor) -> tf.Tensor:
        # rows @ plane @ cols^T: the separable Gaussian, VALID borders.
        return tf.matmul(tf.matmul(rows, planes), cols, transpose_b=True)

    x, y = as_planes(x), as_planes(y)
    c1 = (k1 * max_val) ** 2
    c2 = (k2 * max_val) ** 2
    mean_x, mean_y = local_mean(x), local_mean(y)
    num0 = 2.0 * mean_x * mean_y
    den0 = tf.square(mean_x) + tf.square(mean_y)
    luminance = (num0 + c1) / (den0 + c1)
    num1 = 2.0 * local_mean(x * y)
    den1 = local_mean(tf.square(x) + tf.square(y))
    contrast_structure = (num1 - num0 + c2) / (den1 - den0 + c2)
    per_plane = tf.reduce_mean(luminance * contrast_structure, axis=(1, 2))  # (N * C,)
    per_image = tf.reduce_mean(tf.reshape(per_plane, (-1, channels)), axis=-1)
    return tf.reshape(per_image, leading_shape)
