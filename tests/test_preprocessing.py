"""The Preprocessing layer: each mode's maths, uint8 in, dtype out, serialization, clear errors."""

import keras
import numpy as np
import pytest

from deep_rnn_tf.layers import Preprocessing
from deep_rnn_tf.layers.preprocessing import (
    CAFFE_BGR_MEAN,
    IMAGENET_MEAN,
    IMAGENET_STD,
    pixels_from_minus_one_one,
    preprocess_pixels,
)

PIXELS = np.random.default_rng(0).integers(0, 256, (2, 3, 5, 4, 3)).astype("uint8")


@pytest.mark.parametrize(
    "mode, expected",
    [
        ("caffe", PIXELS[..., ::-1].astype("float64") - np.array(CAFFE_BGR_MEAN)),
        ("torch", (PIXELS / 255.0 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)),
        ("minus_one_one", PIXELS / 127.5 - 1.0),
        ("unit", PIXELS / 255.0),
        ("identity", PIXELS.astype("float64")),
    ],
)
def test_each_mode_matches_its_formula(mode, expected):
    out = Preprocessing(mode)(PIXELS)
    assert out.dtype == "float32" and tuple(out.shape) == PIXELS.shape
    np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-5, atol=1e-4)


def test_uint8_and_float_pixels_give_the_same_result():
    layer = Preprocessing("caffe")
    np.testing.assert_array_equal(np.asarray(layer(PIXELS)), np.asarray(layer(PIXELS.astype("float32"))))


def test_minus_one_one_round_trips_to_pixels():
    values = np.asarray(preprocess_pixels(PIXELS, "minus_one_one"))
    np.testing.assert_allclose(pixels_from_minus_one_one(values), PIXELS, atol=1e-4)


def test_bad_mode_names_the_value():
    with pytest.raises(ValueError, match=r"mode=.bgr."):
        Preprocessing("bgr")


def test_rgb_modes_need_three_channels():
    with pytest.raises(ValueError, match="RGB"):
        preprocess_pixels(np.zeros((1, 4, 4, 1), "uint8"), "torch")


def test_mixed_precision_policy_sets_the_output_dtype():
    out = Preprocessing("minus_one_one", dtype="mixed_float16")(PIXELS)
    assert out.dtype == "float16"


def test_a_uint8_model_saves_and_reloads(tmp_path):
    inputs = keras.Input((None, 5, 4, 3), dtype="uint8")
    model = keras.Model(inputs, Preprocessing("torch", name="pre")(inputs))
    assert Preprocessing.from_config(model.get_layer("pre").get_config()).mode == "torch"
    path = str(tmp_path / "m.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)
    np.testing.assert_array_equal(np.asarray(reloaded(PIXELS)), np.asarray(model(PIXELS)))
