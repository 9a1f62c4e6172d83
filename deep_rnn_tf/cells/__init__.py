"""Recurrent cells: RBM (conv and dense), ConvLSTM, LSTM, and the deep stack `DeepCell`."""

from deep_rnn_tf.cells.base import RecurrentCell
from deep_rnn_tf.cells.deep import DeepCell, build_deep_cell
from deep_rnn_tf.cells.lstm import ConvLSTMCell, LSTMCell
from deep_rnn_tf.cells.rbm import DenseRBMCell, RBMCell

__all__ = [
    "RecurrentCell",
    "RBMCell",
    "DenseRBMCell",
    "ConvLSTMCell",
    "LSTMCell",
    "DeepCell",
    "build_deep_cell",
]
