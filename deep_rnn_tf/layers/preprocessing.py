"""Pixel preprocessing as a Keras layer, so that every model (and every served model) takes raw uint8 frames.

One layer, one place for the maths the package used to write in three places:

- ``caffe``: RGB -> BGR, minus the ImageNet BGR mean (103.939, 116.779, 123.68), no scaling:
  keras.applications' VGG16/VGG19/ResNet50 "caffe" mode, the original polygon and action backbones.
- ``torch``: (x / 255 - ImageNet mean) / ImageNet std, the original's normalisation of small backbones.
- ``minus_one_one``: x / 127.5 - 1, MCnet's mapping of KTH frames to [-1, 1].
- ``unit``: x / 255, to [0, 1].
- ``identity``: only the cast to a float dtype.

Inputs are channels-last pixels in [0, 255] of any rank (images (B, H, W, C) or clips (B, T, H, W, C)),
uint8 or float; ``caffe`` and ``torch`` need three (RGB) channels.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from deep_rnn_tf.validation import check_choice

PREPROCESSING_MODES = ("caffe", "torch", "minus_one_one", "unit", "identity")
CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_RGB_MODES = ("caffe", "torch")


def preprocess_pixels(frames: Any, mode: str, dtype: str = "float32") -> Any:
    """Maps pixels in [0, 255] to a model's input range (keras ops: numpy arrays or tensors).

    Args:
        frames: (..., C) pixels in [0, 255], uint8 or float; C == 3 (RGB) for "caffe" and "torch".
        mode: one of `PREPROCESSING_MODES`.
        dtype: float dtype of the result.

    Returns:
        A tensor of `dtype` with the shape of `frames`.

    Example:
        >>> preprocess_pixels(np.array([[0, 255]], "uint8"), "minus_one_one")
        <tf.Tensor: shape=(1, 2), dtype=float32, numpy=array([[-1.,  1.]], dtype=float32)>
    """
    check_choice("mode", mode, PREPROCESSING_MODES)
    frames = keras.ops.cast(frames, dtype)
    if mode in _RGB_MODES and frames.shape[-1] != 3:
        raise ValueError(f"Preprocessing mode {mode!r} needs RGB frames (..., 3); received {frames.shape}")
    if mode == "caffe":
        return keras.ops.flip(frames, axis=-1) - keras.ops.convert_to_tensor(CAFFE_BGR_MEAN, dtype)
    if mode == "torch":
        mean = keras.ops.convert_to_tensor(IMAGENET_MEAN, dtype)
        std = keras.ops.convert_to_tensor(IMAGENET_STD, dtype)
        return (frames / 255.0 - mean) / std
    if mode == "minus_one_one":
        return frames / 127.5 - 1.0
    if mode == "unit":
        return frames / 255.0
    return frames


def pixels_from_minus_one_one(values: np.ndarray) -> np.ndarray:
    """Inverse of the "minus_one_one" mode for display and metrics: [-1, 1] -> float64 pixels in [0, 255].

    Example:
        >>> pixels_from_minus_one_one(np.array([-1.0, 1.0]))
        array([  0., 255.])
    """
    return (np.asarray(values, np.float64) + 1.0) * 127.5


@keras.saving.register_keras_serializable(package="deep_rnn_tf")
class Preprocessing(keras.layers.Layer):
    """A model's first layer: raw pixels in [0, 255] (uint8 or float) -> the network's input range.

    Putting it inside the model means training data, `model.predict` and an exported SavedModel all take
    the same uint8 frames; nothing outside the model needs to know the backbone's convention.

    Args:
        mode: "caffe" (BGR minus the ImageNet mean), "torch" (ImageNet mean/std on [0, 1]),
            "minus_one_one" (x / 127.5 - 1), "unit" (x / 255) or "identity" (cast only).
        **kwargs: Keras layer arguments (name, dtype ...).

    Example:
        >>> inputs = keras.Input((None, 64, 64, 3), dtype="uint8")
        >>> x = Preprocessing("caffe")(inputs)   # float32 BGR, mean subtracted
        >>> Preprocessing("minus_one_one")(np.array([0, 255], "uint8"))
        <tf.Tensor: shape=(2,), dtype=float32, numpy=array([-1.,  1.], dtype=float32)>
    """

    def __init__(self, mode: str = "identity", **kwargs):
        super().__init__(**kwargs)
        self.mode = check_choice("mode", mode, PREPROCESSING_MODES)

    def call(self, inputs):
        return preprocess_pixels(inputs, self.mode, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(inputs.shape, dtype=self.compute_dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "mode": self.mode}


__all__ = [
    "PREPROCESSING_MODES",
    "CAFFE_BGR_MEAN",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "Preprocessing",
    "preprocess_pixels",
    "pixels_from_minus_one_one",
]
