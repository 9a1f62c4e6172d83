"""Sequence layers: `ConvRNN` (any deep_rnn_tf cell over time), `DeepRNN` (a whole stack, fast path),
`Preprocessing` (raw uint8 pixels -> a model's input range, the first layer of every model), and
`FrameDifference` (each frame beside its difference from the frame before)."""

from deep_rnn_tf.layers.conv_rnn import ConvRNN
from deep_rnn_tf.layers.deep_rnn import DeepRNN
from deep_rnn_tf.layers.frame_difference import FrameDifference
from deep_rnn_tf.layers.preprocessing import Preprocessing

__all__ = ["ConvRNN", "DeepRNN", "FrameDifference", "Preprocessing"]
