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


# --- deep_rnn_tf.validation, the shared checks ----------------------------------------------------------
from pathlib import Path  # noqa: E402

from deep_rnn_tf import validation as V  # noqa: E402


@pytest.mark.parametrize(
    "check, args, pattern",
    [
        (V.check_positive_int, ("depth", 0), r"`depth` must be a positive integer. Received: depth=0"),
        (V.check_positive_int, ("depth", True), r"depth=True"),
        (V.check_positive_int, ("depth", 2.0), r"depth=2\.0"),
        (V.check_non_negative_int, ("context", -1), r"context=-1"),
        (V.check_int_at_least, ("past", 1, 2), r"`past` must be an integer >= 2. Received: past=1"),
        (V.check_choice, ("cell", "gru", ("rbm",)), r"one of \('rbm',\). Received: cell='gru'"),
        (V.check_probability, ("p", 1.5), r"p=1\.5"),
        (V.check_non_negative, ("w", float("nan")), r"w=nan"),
        (V.check_positive, ("lr", 0), r"lr=0"),
        (V.check_in_range, ("width", 2.0, 0.0, 1.0), r"\[0\.0, 1\.0\]. Received: width=2\.0"),
        (
            V.check_fraction,
            ("train_fraction", 1.0),
            r"`train_fraction` must be in \(0, 1\)\. Received: train_fraction=1",
        ),
        (V.check_fraction, ("share", 0), r"\(0, 1\)\. Received: share=0"),
        (V.check_fraction, ("share", float("nan")), r"share=nan"),
        (V.check_fraction, ("share", "0.5"), r"share='0\.5'"),
    ],
)
def test_validation_helpers_name_the_argument_and_value(check, args, pattern):
    with pytest.raises(ValueError, match=pattern):
        check(*args)


def test_validation_helpers_return_the_value():
    assert V.check_positive_int("n", np.int64(3)) == 3 and type(V.check_positive_int("n", np.int64(3))) is int
    assert V.check_choice("c", None, (None, "batch")) is None
    assert V.check_non_negative("w", 0) == 0.0
    assert V.check_probability("p", 1) == 1.0
    assert V.check_fraction("val_fraction", 0, include_zero=True) == 0.0
    with pytest.raises(ValueError, match=r"\[0, 1\)\. Received: val_fraction=1"):
        V.check_fraction("val_fraction", 1, include_zero=True)


def test_validation_imports_nothing_of_the_package():
    lines = Path(V.__file__).read_text().splitlines()
    imports = [line for line in lines if line.startswith(("import", "from"))]
    assert not [line for line in imports if "deep_rnn_tf" in line or "tensorflow" in line or "keras" in line]
