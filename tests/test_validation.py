"""Bad arguments raise ValueError naming the argument and the expected value."""

import keras
import numpy as np
import pytest

from deep_rnn_tf import ConvLSTMCell, ConvRNN, DeepCell, DeepRNN, DenseRBMCell, RBMCell, build_deep_cell


@pytest.mark.parametrize(
    "make, pattern",
    [
        (lambda: RBMCell(0), "filters"),
        (lambda: RBMCell(-3), "filters"),
        (lambda: RBMCell(8, kernel_size=0), "kernel_size"),
        (lambda: RBMCell(8, p_td=1.5), "p_td"),
        (lambda: RBMCell(8, p_td=-0.1), "p_td"),
        (lambda: RBMCell(8, normalization="group"), "normalization"),
        (lambda: RBMCell(8, td_mode="pixel"), "td_mode"),
        (lambda: DenseRBMCell(0), "units"),
        (lambda: ConvLSTMCell(0), "filters"),
        (lambda: DeepCell([RBMCell(4)], jump=0), "jump"),
        (lambda: DeepCell([RBMCell(4)], jump=-2), "jump"),
        (lambda: DeepCell([]), "cells"),
        (lambda: DeepCell([RBMCell(4)], projection="dense"), "projection"),
        (lambda: DeepRNN(depth=0), "depth"),
        (lambda: DeepRNN(filters=[4, 4], depth=3), "filters"),
        (lambda: DeepRNN(cell="gru"), "cell"),
        (
            lambda: build_deep_cell("rbm", depth=4, filters=[4, 8, 8, 16], jump=2, projection=None),
            "projection",
        ),
        (lambda: ConvRNN(keras.layers.LSTMCell(3)), "cell"),
    ],
)
def test_bad_arguments_raise_value_error(make, pattern):
    with pytest.raises(ValueError, match=pattern):
        make()


def test_message_quotes_the_received_value():
    with pytest.raises(ValueError, match=r"p_td=1\.5"):
        RBMCell(8, p_td=1.5)


def test_wrong_input_rank_is_named():
    layer = DeepRNN("rbm", depth=2, filters=4)
    with pytest.raises(ValueError, match=r"rank 5 \(batch, time, H, W, C\)"):
        layer(np.zeros((2, 5, 8, 3), "float32"))


def test_projection_free_jump_with_mismatched_channels_fails_at_build():
    layer = DeepRNN("rbm", depth=2, filters=8, jump=2, projection=None)
    with pytest.raises(ValueError, match="projection"):
        layer(np.zeros((1, 2, 4, 4, 3), "float32"))


def test_state_before_build_is_a_clear_error():
    with pytest.raises(ValueError, match="build the cell"):
        RBMCell(4).get_initial_state(2)
