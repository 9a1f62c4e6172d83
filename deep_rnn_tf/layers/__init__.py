"""Sequence layers: `ConvRNN` (any deep_rnn_tf cell over time) and `DeepRNN` (a whole stack, fast path)."""

from deep_rnn_tf.layers.conv_rnn import ConvRNN
from deep_rnn_tf.layers.deep_rnn import DeepRNN

__all__ = ["ConvRNN", "DeepRNN"]
