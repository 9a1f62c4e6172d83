"""`backward_warp`: identity at zero flow, integer and half-pixel shifts, border clamping, gradients."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from deep_rnn_tf.layers.warp import backward_warp


def _flow(dx: float, dy: float, shape=(2, 5, 6)) -> tf.Tensor:
    return tf.stack([tf.fill(shape, dx), tf.fill(shape, dy)], axis=-1)


def test_zero_flow_is_the_identity_bit_for_bit():
    image = tf.random.uniform((2, 5, 6, 3), seed=0)
    np.testing.assert_array_equal(backward_warp(image, _flow(0.0, 0.0)).numpy(), image.numpy())


def test_integer_and_half_pixel_shifts_with_the_border_clamped():
    image = tf.random.uniform((2, 5, 6, 1), seed=1)
    down = backward_warp(image, _flow(0.0, 2.0)).numpy()
    np.testing.assert_allclose(down[:, :3], image.numpy()[:, 2:], atol=1e-6)
    np.testing.assert_allclose(down[:, 3:], np.repeat(image.numpy()[:, -1:], 2, axis=1), atol=1e-6)
    half = backward_warp(image, _flow(-0.5, 0.0)).numpy()
    np.testing.assert_allclose(
        half[:, :, 1:], (image.numpy()[:, :, 1:] + image.numpy()[:, :, :-1]) / 2, atol=1e-6
    )


def test_gradients_reach_the_image_and_the_flow():
    image = tf.Variable(tf.random.uniform((1, 5, 6, 1), seed=2))
    flow = tf.Variable(_flow(0.3, -0.4, (1, 5, 6)))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(backward_warp(image, flow)))
    grad_image, grad_flow = tape.gradient(loss, [image, flow])
    assert float(tf.reduce_max(tf.abs(grad_image))) > 0 and float(tf.reduce_max(tf.abs(grad_flow))) > 0
