"""Dense optical flow by pyramidal Lucas-Kanade, in core TensorFlow, with no weights.

A classical motion estimate that a video predictor can start from: the flow between the last two observed
frames, applied again to the last frame, is "constant-velocity" extrapolation, which a camera pan or a
steadily moving object follows where copying the last frame does not. Everything here is plain TF ops
(convolutions, pooling, `backward_warp`), so it traces, runs in a SavedModel and needs no extra package.
"""

from __future__ import annotations

import tensorflow as tf

from deep_rnn_tf.layers.warp import backward_warp
from deep_rnn_tf.layers.windows import gaussian_kernel

__all__ = ["lucas_kanade_flow"]


def _window_sum(images: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
    """Gaussian-weighted local mean of every channel, as two 1-D passes (2 (2r + 1) taps, not (2r + 1)^2).
    Near the border only the pixels inside count (the blur of the image over that of ones), so a window may
    be larger than a coarse pyramid level."""

    def blur(x: tf.Tensor) -> tf.Tensor:
        channels = x.shape[-1]
        column = tf.tile(kernel[:, None, None, None], [1, 1, channels, 1])
        row = tf.tile(kernel[None, :, None, None], [1, 1, channels, 1])
        x = tf.nn.depthwise_conv2d(x, column, [1, 1, 1, 1], "SAME")
        return tf.nn.depthwise_conv2d(x, row, [1, 1, 1, 1], "SAME")

    return blur(images) / blur(tf.ones_like(images[..., :1]))


def _gradients(image: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Central differences in x and y, borders mirrored."""
    padded = tf.pad(image, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="SYMMETRIC")
    grad_x = (padded[:, 1:-1, 2:] - padded[:, 1:-1, :-2]) / 2.0
    grad_y = (padded[:, 2:, 1:-1] - padded[:, :-2, 1:-1]) / 2.0
    return grad_x, grad_y


def _refine(source: tf.Tensor, target: tf.Tensor, flow: tf.Tensor, kernel: tf.Tensor, damping: float):
    """One Gauss-Newton step of the windowed least squares grad(warped) . step = target - warped."""
    warped = backward_warp(source, flow)
    # The mean of both frames' gradients: symmetric, so a flow and its reverse agree better.
    grad_x, grad_y = _gradients((warped + target) / 2.0)
    residual = target - warped
    sums = _window_sum(
        tf.concat(
            [grad_x * grad_x, grad_x * grad_y, grad_y * grad_y, grad_x * residual, grad_y * residual], -1
        ),
        kernel,
    )
    sxx, sxy, syy, sxt, syt = tf.unstack(sums, axis=-1)
    # Damping regularises textureless windows (a singular system) towards no update.
    sxx, syy = sxx + damping, syy + damping
    det = sxx * syy - sxy * sxy
    step_x = (syy * sxt - sxy * syt) / det
    step_y = (sxx * syt - sxy * sxt) / det
    return flow + tf.stack([step_x, step_y], axis=-1)


def lucas_kanade_flow(
    source: tf.Tensor,
    target: tf.Tensor,
    levels: int = 3,
    iterations: int = 3,
    window_radius: int = 8,
    window_sigma: float = 4.0,
    damping: float = 1e-3,
) -> tf.Tensor:
    """Backward flow u with target[p] ~ source[p + u]: where each target pixel was in `source`, in pixels.

    So `backward_warp(source, u)` approximates `target`, and for consecutive frames (source = frame t-1,
    target = frame t) `backward_warp(frame_t, u)` is the constant-velocity guess of frame t+1.

    Coarse to fine over `levels` average-pooled scales (each halves the side; the coarsest sees
    2^(levels-1) times larger motions), `iterations` warped Gauss-Newton steps per scale, Gaussian windows.

    Args:
        source: (B, H, W, 1) float frames (any range; [-1, 1] in the prediction task).
        target: same shape.
        levels: pyramid levels, >= 1 (the frames' sides must stay >= 4 at the coarsest).
        iterations: refinement steps per level, >= 1.
        window_radius: radius of the least-squares window, >= 1 pixel.
        window_sigma: its Gaussian's standard deviation, > 0.
        damping: added to the system's diagonal (in squared intensity units), >= 0.

    Returns:
        (B, H, W, 2) float32 flow (dx, dy).

    Example:
        >>> image = tf.random.stateless_uniform((1, 32, 40, 1), seed=(1, 2))
        >>> image = tf.nn.avg_pool2d(image, 5, 1, "SAME")  # a smooth texture
        >>> moved = tf.roll(image, shift=1, axis=2)  # everything one pixel to the right
        >>> flow = lucas_kanade_flow(image, moved)
        >>> round(float(tf.reduce_mean(flow[0, 8:-8, 8:-8, 0])), 1)  # each pixel came from one to its left
        -1.0
    """
    for name, value, lowest in (
        ("levels", levels, 1),
        ("iterations", iterations, 1),
        ("window_radius", window_radius, 1),
    ):
        if int(value) != value or value < lowest:
            raise ValueError(f"{name} must be an integer >= {lowest}; received {name}={value!r}")
    if not window_sigma > 0:
        raise ValueError(f"window_sigma must be > 0; received window_sigma={window_sigma!r}")
    if not damping >= 0:
        raise ValueError(f"damping must be >= 0; received damping={damping!r}")
    source = tf.cast(source, tf.float32)
    target = tf.cast(target, tf.float32)
    # Separable, rows then columns.
    kernel = tf.constant(gaussian_kernel(2 * int(window_radius) + 1, float(window_sigma)), tf.float32)
    sources, targets = [source], [target]
    for _ in range(int(levels) - 1):
        sources.append(tf.nn.avg_pool2d(sources[-1], 2, 2, "VALID"))
        targets.append(tf.nn.avg_pool2d(targets[-1], 2, 2, "VALID"))
    coarsest = tf.shape(sources[-1])
    flow = tf.zeros(tf.concat([coarsest[:3], [2]], axis=0), tf.float32)
    for level in reversed(range(int(levels))):
        size = tf.shape(sources[level])[1:3]
        if level < int(levels) - 1:
            # Up one scale: twice the side, so twice the displacement in pixels.
            scale = tf.cast(size, tf.float32) / tf.cast(tf.shape(flow)[1:3], tf.float32)
            flow = tf.image.resize(flow, size, "bilinear") * tf.stack([scale[1], scale[0]])
        for _ in range(int(iterations)):
            flow = _refine(sources[level], targets[level], flow, kernel, damping)
    return flow
