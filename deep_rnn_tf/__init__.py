"""deep_rnn_tf: deep recurrent networks for vision (Deep RNN Framework, CVPR 2019) on TF 2 / Keras 3.

Public API:
    RBMCell, DenseRBMCell      the Representation Bridge Module (conv / dense)
    ConvLSTMCell, LSTMCell     LSTM baselines in Keras' weight layout
    DeepCell, build_deep_cell  deep stacks with residual jumps, as one RNN cell
    ConvRNN, DeepRNN           sequence layers (DeepRNN: whole stack, time-batched fast path)
"""

from deep_rnn_tf._version import __version__
from deep_rnn_tf.cells import (
    ConvLSTMCell,
    DeepCell,
    DenseRBMCell,
    LSTMCell,
    RBMCell,
    build_deep_cell,
)
from deep_rnn_tf.layers import ConvRNN, DeepRNN

__all__ = [
    "__version__",
    "RBMCell",
    "DenseRBMCell",
    "ConvLSTMCell",
    "LSTMCell",
    "DeepCell",
    "build_deep_cell",
    "ConvRNN",
    "DeepRNN",
]
