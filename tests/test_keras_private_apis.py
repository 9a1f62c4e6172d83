"""The two private Keras APIs the package relies on, checked so a Keras that changed them fails loudly here.

Neither has a public equivalent in Keras 3.15 (setup.py bounds Keras at <3.16 because of them):

- `keras.src.backend.rnn`: the time loop `keras.layers.RNN` runs; `DeepRNN`'s fast path calls it with a
  step function over pre-computed input projections (deep_rnn_tf/layers/deep_rnn.py).
- `keras.Model._symbolic_build(data_batch=...)`: builds layers, compiled metrics and the optimizer from a
  local batch, the call `fit` makes; the multi-worker loop needs it (deep_rnn_tf/training/multiworker.py).

When a test here fails, the message names the API: adapt the code that uses it, then raise the bound.
"""

from __future__ import annotations

import inspect

import keras
import numpy as np
import tensorflow as tf

RNN_ARGS = ("step_function", "inputs", "initial_states", "mask", "unroll", "input_length")
RNN_KWARGS = ("zero_output_for_mask", "return_all_outputs")


def test_keras_src_backend_rnn_keeps_its_signature_and_semantics():
    try:
        from keras.src import backend as keras_backend

        rnn = keras_backend.rnn
    except (ImportError, AttributeError) as error:
        raise AssertionError(
            f"private Keras API keras.src.backend.rnn is gone in Keras {keras.__version__}"
        ) from error
    params = inspect.signature(rnn).parameters
    missing = [name for name in (*RNN_ARGS, *RNN_KWARGS) if name not in params]
    assert not missing, f"keras.src.backend.rnn (Keras {keras.__version__}) lost arguments {missing}"
    # A running sum: last output, all outputs and the final state as DeepRNN reads them.
    inputs = tf.ones((2, 4, 3))
    last, outputs, states = rnn(
        lambda x, s: (s[0] + x, [s[0] + x]),
        inputs,
        [tf.zeros((2, 3))],
        input_length=4,
        return_all_outputs=True,
    )
    assert outputs.shape == (2, 4, 3), f"keras.src.backend.rnn returned outputs of shape {outputs.shape}"
    np.testing.assert_allclose(np.asarray(last), 4.0, err_msg="keras.src.backend.rnn changed its results")
    np.testing.assert_allclose(np.asarray(states[0]), 4.0, err_msg="keras.src.backend.rnn changed its states")


def test_model_symbolic_build_still_builds_metrics_and_layers():
    build = getattr(keras.Model, "_symbolic_build", None)
    assert build is not None, f"private Keras API Model._symbolic_build is gone in Keras {keras.__version__}"
    assert "data_batch" in inspect.signature(build).parameters, (
        f"Model._symbolic_build (Keras {keras.__version__}) no longer takes data_batch="
    )
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    model._symbolic_build(data_batch=(np.zeros((4, 3), "float32"), np.zeros((4, 2), "float32")))
    assert model.built and model.metrics_variables, (
        "Model._symbolic_build no longer builds the compiled metrics"
    )
