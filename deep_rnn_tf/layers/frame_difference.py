"""`FrameDifference`: each frame beside its difference from the frame before (TSN's "RGB difference").

A per-frame CNN in front of a recurrent stack sees one frame at a time, so every motion cue has to survive
its strides before the first recurrent layer can compare two frames. At 32x32 the tiny stem's three
stride-2 convolutions lose which way a one-pixel hand turns (docs/log/study.md, "The turn between the
frames a model sees"); given the difference of consecutive frames beside each frame, the stem sees the
motion at full resolution (an early fusion of time, as TSN's RGB-difference stream). Measured there, it
lets a model without recurrence learn the hand's turning, and does not stop the action task's recurrent
stacks from memorising the training videos instead.
"""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="deep_rnn_tf")
class FrameDifference(keras.layers.Layer):
    """(batch, time, H, W, C) -> (batch, time, H, W, 2C): each frame, then itself minus the frame before.

    The first frame's difference is zero (it has no frame before it), so a clip's first step sees a still
    scene; a single frame gives a zero difference.

    Args:
        **kwargs: Keras layer arguments (name, dtype ...).

    Example:
        >>> clip = keras.ops.reshape(keras.ops.arange(3.0), (1, 3, 1, 1, 1))
        >>> keras.ops.reshape(FrameDifference()(clip), (3, 2))   # [frame, frame - previous frame]
        <tf.Tensor: shape=(3, 2), dtype=float32, numpy=
        array([[0., 0.],
               [1., 1.],
               [2., 1.]], dtype=float32)>
    """

    def call(self, inputs):
        previous = keras.ops.concatenate([inputs[:, :1], inputs[:, :-1]], axis=1)
        return keras.ops.concatenate([inputs, inputs - previous], axis=-1)

    def compute_output_shape(self, input_shape):
        *leading, channels = tuple(input_shape)
        return (*leading, None if channels is None else 2 * channels)


__all__ = ["FrameDifference"]
