"""`.keras` round trips of every public cell and layer combination the README API table documents.

Each model is tiny (batch 2, 3 steps, 6x6 frames) so the whole file runs in seconds. A round trip must
reload without error and give the same outputs with the same weights.
"""

import keras
import numpy as np
import pytest

from deep_rnn_tf import ConvRNN, DeepCell, DeepRNN
from deep_rnn_tf.cells import ConvLSTMCell, DenseRBMCell, LSTMCell, RBMCell, build_deep_cell


def conv_rnn(cell):
    return ConvRNN(cell, return_sequences=True)


def keras_rnn(cell):
    return keras.layers.RNN(cell, return_sequences=True)


# name -> (input shape without batch, factory of the recurrent layer)
CASES = {
    "rbm_convrnn": ((3, 6, 6, 2), lambda: conv_rnn(RBMCell(3))),
    "rbm_strided_td_batchnorm": (
        (3, 6, 6, 2),
        lambda: conv_rnn(RBMCell(3, strides=2, normalization="batch", p_td=0.5, seed=1)),
    ),
    "convlstm_convrnn": ((3, 6, 6, 2), lambda: conv_rnn(ConvLSTMCell(3))),
    "dense_rbm_keras_rnn": ((3, 5), lambda: keras_rnn(DenseRBMCell(4))),
    "lstm_keras_rnn": ((3, 5), lambda: keras_rnn(LSTMCell(4))),
    "deepcell_rbm_identity_jump": (
        (3, 6, 6, 3),
        lambda: conv_rnn(DeepCell([RBMCell(3), RBMCell(3)], jump=2)),
    ),
    "deepcell_rbm_projection_issue_repro": (
        (3, 6, 6, 1),
        lambda: conv_rnn(DeepCell([RBMCell(4), RBMCell(4), RBMCell(4)], jump=3)),
    ),
    "deepcell_mixed_projection_always": (
        (3, 6, 6, 2),
        lambda: conv_rnn(
            DeepCell([RBMCell(3), ConvLSTMCell(3), RBMCell(4), ConvLSTMCell(4)], jump=2, projection="always")
        ),
    ),
    "deepcell_mixed_block_pool": (
        (3, 6, 6, 2),
        lambda: conv_rnn(DeepCell([ConvLSTMCell(3), RBMCell(3)], jump=1, block_pool=2)),
    ),
    "deepcell_dense_mixed": (
        (3, 5),
        lambda: conv_rnn(DeepCell([DenseRBMCell(4), LSTMCell(4)], jump=2)),
    ),
    "deepcell_no_jump": ((3, 6, 6, 2), lambda: conv_rnn(DeepCell([RBMCell(3), ConvLSTMCell(3)], jump=None))),
    "build_deep_cell_convlstm": (
        (3, 6, 6, 2),
        lambda: conv_rnn(build_deep_cell("convlstm", depth=2, filters=3, jump=2)),
    ),
    "deeprnn_rbm_fast": (
        (3, 6, 6, 2),
        lambda: DeepRNN("rbm", depth=2, filters=3, jump=2, return_sequences=True),
    ),
    "deeprnn_rbm_block_pool": (
        (3, 6, 6, 2),
        lambda: DeepRNN("rbm", depth=2, filters=3, jump=1, block_pool=2, return_sequences=True),
    ),
    "deeprnn_convlstm_projection_always_slow": (
        (3, 6, 6, 2),
        lambda: DeepRNN("convlstm", depth=2, filters=3, jump=2, projection="always", fast=False),
    ),
    "deeprnn_dense_rbm": ((3, 5), lambda: DeepRNN("dense_rbm", depth=2, filters=4, jump=2)),
    "deeprnn_lstm": ((3, 5), lambda: DeepRNN("lstm", depth=2, filters=4, jump=None)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_keras_round_trip(case, tmp_path):
    shape, make_layer = CASES[case]
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape)
    model = keras.Model(inputs, make_layer()(inputs))
    x = np.random.default_rng(0).random((2, *shape)).astype("float32")
    expected = model(x, training=False)
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.models.load_model(path)
    np.testing.assert_allclose(reloaded(x, training=False), expected, atol=1e-6)
