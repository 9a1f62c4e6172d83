"""deep_rnn_tf: deep recurrent networks for vision (Deep RNN Framework, CVPR 2019) on TF 2 / Keras 3.

Public API (imported on first use, so `import deep_rnn_tf` and `deep-rnn --help` cost no TensorFlow):
    RBMCell, DenseRBMCell      the Representation Bridge Module (conv / dense)
    ConvLSTMCell, LSTMCell     LSTM baselines in Keras' weight layout
    DeepCell, build_deep_cell  deep stacks with residual jumps, as one RNN cell
    ConvRNN, DeepRNN           sequence layers (DeepRNN: whole stack, time-batched fast path)
    Preprocessing              raw uint8 pixels -> a model's input range (caffe, torch, [-1, 1] ...)
    models                     the paper's models in one call: models.mcnet(), polygon_rnn(), action_model()

Example:
    >>> from deep_rnn_tf import DeepRNN
    >>> layer = DeepRNN("rbm", depth=4, filters=16)
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

from deep_rnn_tf._version import __version__

# TensorFlow's C++ start-up chatter (absl, cpu_feature_guard) would print before any command can speak;
# a user's own setting wins.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# public name -> the module defining it; resolved by `__getattr__` on first access.
_LAZY: dict[str, str] = {
    "RBMCell": "deep_rnn_tf.cells",
    "DenseRBMCell": "deep_rnn_tf.cells",
    "ConvLSTMCell": "deep_rnn_tf.cells",
    "LSTMCell": "deep_rnn_tf.cells",
    "DeepCell": "deep_rnn_tf.cells",
    "build_deep_cell": "deep_rnn_tf.cells",
    "ConvRNN": "deep_rnn_tf.layers",
    "DeepRNN": "deep_rnn_tf.layers",
    "Preprocessing": "deep_rnn_tf.layers",
}
_LAZY_MODULES = ("models",)

if TYPE_CHECKING:  # static tools see the real names
    from deep_rnn_tf import models
    from deep_rnn_tf.cells import ConvLSTMCell, DeepCell, DenseRBMCell, LSTMCell, RBMCell, build_deep_cell
    from deep_rnn_tf.layers import ConvRNN, DeepRNN, Preprocessing


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name in _LAZY_MODULES:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY, *_LAZY_MODULES])


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
    "Preprocessing",
    "models",
]
