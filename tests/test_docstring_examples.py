"""The docstring examples of the public building blocks run as written (a user copies them first).

Only the foundation (cells, layers, the `models` door, argument checks) is held to it: the data and task
modules' examples name files and run directories that a test machine does not have.
"""

import doctest
import importlib

import pytest

RUNNABLE_EXAMPLE_MODULES = [
    "deep_rnn_tf.cells.base",
    "deep_rnn_tf.cells.deep",
    "deep_rnn_tf.cells.initializers",
    "deep_rnn_tf.cells.lstm",
    "deep_rnn_tf.cells.rbm",
    "deep_rnn_tf.cells.step_normalization",
    "deep_rnn_tf.layers.conv_rnn",
    "deep_rnn_tf.layers.deep_rnn",
    "deep_rnn_tf.layers.preprocessing",
    "deep_rnn_tf.models",
    "deep_rnn_tf.validation",
]


@pytest.mark.parametrize("module_name", RUNNABLE_EXAMPLE_MODULES)
def test_the_docstring_examples_of_the_foundation_run(module_name):
    module = importlib.import_module(module_name)
    results = doctest.testmod(module, optionflags=doctest.ELLIPSIS, report=True, verbose=False)
    assert results.attempted > 0, f"{module_name} has no example"
    assert results.failed == 0, f"{results.failed} of {results.attempted} examples of {module_name} failed"
