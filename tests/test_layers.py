"""ConvRNN / DeepRNN inside Keras: fast path vs step-wise, Functional features, saving, export, XLA, fp16."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from deep_rnn_tf import ConvRNN, DeepCell, DeepRNN, RBMCell


def twin_layers(**kwargs):
    """A fast-path DeepRNN and a step-wise one with identical weights."""
    x = kwargs.pop("x")
    fast = DeepRNN(fast=True, **kwargs)
    slow = DeepRNN(fast=False, **kwargs)
    fast(x)
    slow(x)
    slow.set_weights(fast.get_weights())
    return fast, slow


@pytest.mark.parametrize(
    "spec",
    [
        dict(
            cell="rbm", depth=6, filters=[4, 4, 6, 6, 6, 5], jump=3, normalization="batch", activation="tanh"
        ),
        dict(cell="rbm", depth=4, filters=4, jump=2, normalization="layer", p_td=0.5),
        dict(cell="convlstm", depth=3, filters=5, jump=2, projection="always"),
        dict(cell="convlstm", depth=3, filters=5, jump=2, normalization="batch"),
        dict(cell="convlstm", depth=2, filters=4, jump=None, normalization="layer"),
        dict(cell="rbm", depth=4, filters=6, jump=2, block_pool=2),
    ],
)
@pytest.mark.parametrize("training", [False, True])
def test_fast_path_equals_step_by_step(spec, training):
    x = tf.random.uniform((2, 5, 8, 8, 3))
    fast, slow = twin_layers(x=x, return_sequences=True, return_state=True, **spec)
    fast_out = fast(x, training=training)
    slow_out = slow(x, training=training)
    for a, b in zip(fast_out, slow_out, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)


@pytest.mark.parametrize("go_backwards", [False, True])
def test_fast_path_masking_and_direction_equal_step_by_step(go_backwards):
    x = tf.random.uniform((3, 6, 6, 6, 2))
    mask = tf.constant([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0], [1, 0, 1, 1, 0, 1]]) > 0
    fast, slow = twin_layers(
        x=x, cell="rbm", depth=4, filters=4, jump=2, return_sequences=True, go_backwards=go_backwards
    )
    np.testing.assert_allclose(fast(x, mask=mask).numpy(), slow(x, mask=mask).numpy(), atol=1e-5)


@pytest.mark.parametrize("fast", [True, False])
def test_mask_on_the_time_axis_skips_steps(fast):
    x = tf.random.uniform((2, 6, 6, 6, 2))
    layer = DeepRNN("rbm", depth=3, filters=4, jump=None, fast=fast)
    mask = tf.constant([[True] * 4 + [False] * 2] * 2)
    np.testing.assert_allclose(layer(x, mask=mask).numpy(), layer(x[:, :4]).numpy(), atol=1e-6)


def small_model(**rnn_kwargs):
    frames = keras.Input((4, 8, 8, 2), name="frames")
    h = keras.layers.TimeDistributed(keras.layers.Conv2D(4, 3, padding="same"))(frames)
    h = DeepRNN("rbm", depth=3, filters=4, jump=2, return_sequences=True, **rnn_kwargs)(h)
    h = ConvRNN(RBMCell(4))(h)
    out = keras.layers.Dense(1)(keras.layers.GlobalAveragePooling2D()(h))
    return keras.Model(frames, {"score": out})


def test_functional_return_state_and_initial_state():
    frames = keras.Input((4, 8, 8, 2))
    outputs, *states = DeepRNN("rbm", depth=2, filters=3, jump=None, return_state=True)(frames)
    assert outputs.shape == (None, 8, 8, 3) and len(states) == 2 and states[0].shape == (None, 8, 8, 3)
    follow = DeepRNN("rbm", depth=2, filters=3, jump=None)
    model = keras.Model(frames, follow(frames, initial_state=states))
    assert model(np.random.rand(2, 4, 8, 8, 2)).shape == (2, 8, 8, 3)


def test_stateful_carries_state_between_batches():
    x = tf.random.uniform((2, 6, 5, 5, 2))
    whole = DeepRNN("rbm", depth=2, filters=3, jump=None)
    stateful = DeepRNN("rbm", depth=2, filters=3, jump=None, stateful=True)
    whole(x)
    stateful(x[:, :3])
    stateful.set_weights(whole.get_weights())
    stateful.reset_state()
    stateful(x[:, :3])
    np.testing.assert_allclose(stateful(x[:, 3:]).numpy(), whole(x).numpy(), atol=1e-5)


def test_bidirectional_composition():
    frames = keras.Input((4, 8, 8, 2))
    out = keras.layers.Bidirectional(DeepRNN("rbm", depth=2, filters=3, jump=None, return_sequences=True))(
        frames
    )
    model = keras.Model(frames, out)
    assert model(np.random.rand(2, 4, 8, 8, 2)).shape == (2, 4, 8, 8, 6)


def test_fit_reduces_loss():
    model = small_model()
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss={"score": "mse"})
    x = np.random.rand(16, 4, 8, 8, 2).astype("float32")
    y = x.mean(axis=(1, 2, 3, 4))[:, None] * 4
    history = model.fit(x, {"score": y}, epochs=6, batch_size=8, verbose=0).history["loss"]
    assert history[-1] < history[0], history


def test_keras_round_trip_gives_identical_outputs(tmp_path):
    model = small_model(p_td=0.5, normalization="batch")
    x = np.random.rand(2, 4, 8, 8, 2).astype("float32")
    expected = model(x)["score"].numpy()
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.models.load_model(path)
    np.testing.assert_allclose(reloaded(x)["score"].numpy(), expected, atol=1e-6)
    assert reloaded.get_layer(index=2).get_config() == model.get_layer(index=2).get_config()


def test_export_reloads_without_deep_rnn_tf(tmp_path):
    model = small_model()
    x = np.random.rand(2, 4, 8, 8, 2).astype("float32")
    expected = model(x)["score"].numpy()
    model.export(str(tmp_path / "export"), verbose=False)
    np.save(tmp_path / "x.npy", x)
    script = f"""
import json, sys, numpy as np, tensorflow as tf
loaded = tf.saved_model.load({str(tmp_path / "export")!r})
out = loaded.signatures["serving_default"](frames=tf.constant(np.load({str(tmp_path / "x.npy")!r})))
print(json.dumps({{"score": out["score"].numpy().tolist(), "imported": "deep_rnn_tf" in sys.modules}}))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert payload["imported"] is False
    np.testing.assert_allclose(np.array(payload["score"]), expected, atol=1e-5)


def test_jit_compile_trains():
    model = small_model()
    model.compile(optimizer="adam", loss={"score": "mse"}, jit_compile=True)
    x = np.random.rand(4, 4, 8, 8, 2).astype("float32")
    loss = model.fit(x, {"score": np.ones((4, 1))}, epochs=1, verbose=0).history["loss"][0]
    assert np.isfinite(loss)


def test_mixed_float16_policy():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = small_model(normalization="batch")
        rnn = model.get_layer(index=2)
        assert rnn.cell.cells[0].compute_dtype == "float16"
        assert rnn.cell.cells[0].representation_kernel.dtype == "float32"
        model.compile(optimizer="adam", loss={"score": "mse"})
        x = np.random.rand(4, 4, 8, 8, 2).astype("float32")
        loss = model.fit(x, {"score": np.ones((4, 1))}, epochs=2, verbose=0).history["loss"]
        assert np.all(np.isfinite(loss))
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_deep_cell_steps_with_the_fast_layers_weights():
    x = tf.random.uniform((2, 5, 6, 6, 3))
    layer = DeepRNN("rbm", depth=4, filters=4, jump=2, return_sequences=True)
    expected = layer(x)
    cell: DeepCell = layer.cell
    states = cell.get_initial_state(2)
    outputs = []
    for t in range(5):
        out, states = cell(x[:, t], states)
        outputs.append(out)
    np.testing.assert_allclose(tf.stack(outputs, 1).numpy(), expected.numpy(), atol=1e-5)
