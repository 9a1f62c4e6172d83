"""Sequence layers: `ConvRNN` (any deep_rnn_tf cell over time), `DeepRNN` (a whole stack, fast path), and
`Preprocessing` (raw uint8 pixels -> a model's input range, the first layer of every model)."""

from deep_rnn_tf.layers.conv_rnn import ConvRNN
from deep_rnn_tf.layers.deep_rnn import DeepRNN
from deep_rnn_tf.layers.preprocessing import Preprocessing

__all__ = ["ConvRNN", "DeepRNN", "Preprocessing"]
