"""`lucas_kanade_flow`: known shifts of a photograph recovered (integer, sub-pixel, both axes, larger than
the window through the pyramid), still frames give no flow, bad arguments name themselves."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
import skimage.transform
import tensorflow as tf

from deep_rnn_tf.layers.flow import lucas_kanade_flow
from deep_rnn_tf.layers.warp import backward_warp


def _photograph(side: int = 96) -> np.ndarray:
    image = skimage.transform.resize(skimage.data.camera(), (side, side), anti_aliasing=True)
    return (image * 2.0 - 1.0).astype(np.float32)


def _shifted_pair(dx: float, dy: float, size: int = 64):
    """(source, target), (1, size, size, 1): target[p] = source[p - (dx, dy)], i.e. the scene moved by
    (dx, dy); cut from one photograph with bilinear sampling, so sub-pixel shifts are exact."""
    image = tf.constant(_photograph()[None, :, :, None])
    flow = tf.constant([[[[-dx, -dy]]]], tf.float32) * tf.ones((1, 96, 96, 2))
    moved = backward_warp(image, flow)
    return image[:, 16 : 16 + size, 16 : 16 + size], moved[:, 16 : 16 + size, 16 : 16 + size]


@pytest.mark.parametrize(("dx", "dy"), [(1.0, 0.0), (0.0, -1.0), (0.5, 0.75), (-3.0, 2.0)])
def test_a_known_shift_is_recovered_as_the_backward_flow(dx, dy):
    source, target = _shifted_pair(dx, dy)
    flow = lucas_kanade_flow(source, target)[0, 12:-12, 12:-12]  # away from the border
    np.testing.assert_allclose(np.median(flow.numpy(), axis=(0, 1)), [-dx, -dy], atol=0.1)
    # Warping the source by it reproduces the target better than the source itself does.
    warped = backward_warp(source, lucas_kanade_flow(source, target))
    inner = (slice(None), slice(12, -12), slice(12, -12))
    assert float(tf.reduce_mean(tf.abs(warped - target)[inner])) < 0.3 * float(
        tf.reduce_mean(tf.abs(source - target)[inner])
    )


def test_still_frames_have_no_flow_and_the_shape_follows_the_batch():
    source, _ = _shifted_pair(0.0, 0.0)
    frames = tf.concat([source, source], axis=0)
    flow = lucas_kanade_flow(frames, frames)
    assert flow.shape == (2, 64, 64, 2) and flow.dtype == tf.float32
    np.testing.assert_allclose(flow.numpy(), 0.0, atol=1e-6)


def test_traces_with_an_unknown_batch():
    traced = tf.function(lucas_kanade_flow, input_signature=[tf.TensorSpec((None, 32, 32, 1))] * 2)
    source, target = _shifted_pair(1.0, 0.0, size=32)
    np.testing.assert_allclose(traced(source, target).numpy(), lucas_kanade_flow(source, target).numpy())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"levels": 0}, "levels=0"),
        ({"iterations": 1.5}, "iterations=1.5"),
        ({"window_radius": 0}, "window_radius=0"),
        ({"window_sigma": 0.0}, "window_sigma=0.0"),
        ({"damping": -1.0}, "damping=-1.0"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, message):
    frames = tf.zeros((1, 16, 16, 1))
    with pytest.raises(ValueError, match=message):
        lucas_kanade_flow(frames, frames, **kwargs)
