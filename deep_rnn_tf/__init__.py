"""deep_rnn_tf: deep recurrent networks for vision (Deep RNN Framework, CVPR 2019) on TF 2 / Keras 3.

Public API:
    RBMCell, DenseRBMCell      the Representation Bridge Module (conv / dense)
    ConvLSTMCell, LSTMCell     LSTM baselines in Keras' weight layout
    DeepCell, build_deep_cell  deep stacks with residual jumps, as one RNN cell
    ConvRNN, DeepRNN           sequence layers (DeepRNN: whole stack, time-batched fast path)
"""

import os

# TensorFlow's C++ start-up chatter (absl, cpu_feature_guard) would print before any command can speak;
# a user's own setting wins.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from deep_rnn_tf._version import __version__  # noqa: E402
from deep_rnn_tf.cells import (  # noqa: E402
    ConvLSTMCell,
    DeepCell,
    DenseRBMCell,
    LSTMCell,
    RBMCell,
    build_deep_cell,
)
from deep_rnn_tf.layers import ConvRNN, DeepRNN  # noqa: E402

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
