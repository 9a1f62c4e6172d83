"""The docstring examples of the public building blocks run as written (a user copies them first).

Held to it: the foundation (cells, layers, the `models` door, argument checks), the evaluation metrics
(video, classification, polygon), the polygon geometry, grid and crops, the graph twins, frame sampling and
the training pieces (best checkpoint, OCTS, the task model) and the prediction config; an example line
that needs files, run directories or a data set a test machine does not have is marked
``# doctest: +SKIP``. The other data and task modules' examples name such files throughout and are not
held to it.
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
    "deep_rnn_tf.data.polygon_graph",
    "deep_rnn_tf.data.polygons.crops",
    "deep_rnn_tf.data.polygons.geometry",
    "deep_rnn_tf.data.polygons.grid",
    "deep_rnn_tf.data.sampling",
    "deep_rnn_tf.evaluation.classification",
    "deep_rnn_tf.evaluation.polygon",
    "deep_rnn_tf.evaluation.video",
    "deep_rnn_tf.layers.conv_rnn",
    "deep_rnn_tf.layers.deep_rnn",
    "deep_rnn_tf.layers.preprocessing",
    "deep_rnn_tf.layers.warp",
    "deep_rnn_tf.layers.flow",
    "deep_rnn_tf.models",
    "deep_rnn_tf.tasks.prediction.config",
    "deep_rnn_tf.training.best",
    "deep_rnn_tf.training.octs",
    "deep_rnn_tf.training.trainer",
    "deep_rnn_tf.validation",
]


@pytest.mark.parametrize("module_name", RUNNABLE_EXAMPLE_MODULES)
def test_the_docstring_examples_of_the_foundation_run(module_name):
    module = importlib.import_module(module_name)
    results = doctest.testmod(module, optionflags=doctest.ELLIPSIS, report=True, verbose=False)
    assert results.attempted > 0, f"{module_name} has no example"
    assert results.failed == 0, f"{results.failed} of {results.attempted} examples of {module_name} failed"
