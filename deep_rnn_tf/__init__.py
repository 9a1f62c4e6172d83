"""deep_rnn_tf: deep recurrent networks for vision (Deep RNN Framework, CVPR 2019) on TF 2 / Keras 3."""

from deep_rnn_tf._version import __version__

__all__ = ["__version__"]
