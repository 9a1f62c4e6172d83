"""Importing TensorFlow without its C++ start-up lines (for the `deep-rnn` command and `deep_rnn_tf.models`).

TF 2.21 prints absl/oneDNN lines at `import tensorflow` whatever TF_CPP_MIN_LOG_LEVEL says (twice: two shared
libraries log once each; docs/reference/platform.md, "Learned in use"). They are written from C++ straight
to file descriptor 2, so the only way to keep them out of a command's output is to point that descriptor at
/dev/null while the libraries load. Imports nothing of TensorFlow itself until asked.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def stderr_silenced(enabled: bool) -> Iterator[None]:
    """Sends file descriptor 2 to /dev/null inside the block when `enabled` (and TF is not loaded yet).

    TF 2.21's shared libraries log absl/oneDNN lines at import from C++, past Python's `sys.stderr` and
    past TF_CPP_MIN_LOG_LEVEL; only the descriptor itself can be closed to them. Errors raised inside the
    block are printed after it, with the descriptor restored.
    """
    if not enabled or "tensorflow" in sys.modules:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow(debug: bool = False):
    """Imports TensorFlow (and Keras) quietly unless `debug`; returns the `tensorflow` module."""
    with stderr_silenced(not debug):
        import keras  # noqa: F401  (Keras' own import pulls in TF's libraries as well)
        import tensorflow as tf
    return tf


__all__ = ["stderr_silenced", "import_tensorflow"]
