"""PolygonRNN: teacher-forced inputs, training steps, greedy decoding, saving, the SavedModel export."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from deep_rnn_tf.data.polygons import EOS_TOKEN
from deep_rnn_tf.tasks.polygon.config import PolygonConfig
from deep_rnn_tf.tasks.polygon.model import (
    PolygonRNN,
    build_polygon_encoder,
    decoder_filters,
    sequences_from_tokens,
    tokens_to_outputs,
)
from deep_rnn_tf.tasks.polygon.task import PolygonTask, resolve_filters

TINY = dict(
    filters=[8, 4], encoder_width=0.0625, skip_channels=8, feature_channels=8, max_vertices=8, num_windows=2
)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).integers(0, 256, (2, 224, 224, 3)).astype(np.uint8)


@pytest.fixture(scope="module")
def sequences():
    return np.stack(
        [
            sequences_from_tokens(np.array([33, 45, 400, 390]), 8),
            sequences_from_tokens(np.array([2, 700, 20]), 8),
        ]
    )


@pytest.fixture(scope="module")
def trained(images, sequences):
    """A tiny model after a few training steps on one batch, with its per-epoch losses."""
    keras.utils.set_random_seed(0)
    model = PolygonRNN(**TINY, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    history = model.fit(images, sequences, batch_size=2, epochs=6, verbose=0)
    return model, history.history


def test_windows_follow_octs_arithmetic():
    model = PolygonRNN(**{**TINY, "max_vertices": 57, "num_windows": 8})
    assert model.num_steps == 58
    assert model.window_starts == [0, 6, 13, 20, 27, 34, 41, 48] and model.window_len == 10


def test_teacher_forced_inputs_hold_first_and_previous_vertices(sequences):
    model = PolygonRNN(**TINY)
    features = tf.zeros((2, 28, 28, 8))
    steps = model.teacher_forced_inputs(features, tf.constant(sequences)).numpy()
    assert steps.shape == (2, 9, 28, 28, 11)
    maps = steps[0, ..., 8:]  # first, t-2, t-1
    assert maps[0].sum() == 0  # step 0: all zero (start tokens simplified)
    assert maps[1, 1, 5, 0] == 1 and maps[1, 1, 5, 2] == 1 and maps[1, ..., 1].sum() == 0  # 33 = (1, 5)
    assert maps[2, 1, 5, 1] == 1 and maps[2, 1, 17, 2] == 1  # t-2 = 33, t-1 = 45 = (1, 17)
    assert maps[5, ..., 2].sum() == 0  # the step after end-of-polygon sees a zero previous map
    assert maps[8, 1, 5, 0] == 1  # the first vertex stays


def test_training_steps_lower_the_loss(trained):
    _, history = trained
    losses = history["loss"]
    assert all(np.isfinite(losses))
    assert losses[-1] < losses[0] - 0.5
    assert set(history) >= {"cross_entropy", "coherence", "accuracy"}


def test_wrong_sequence_length_is_a_clear_error(images):
    model = PolygonRNN(**TINY)
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match="max_vertices"):
        model.train_step((tf.constant(images), tf.zeros((2, 5), tf.int32)))


def test_greedy_decoding_shapes(trained, images):
    model, _ = trained
    out = {k: v.numpy() for k, v in model(images).items()}
    assert out["tokens"].shape == (2, 9) and out["vertices"].shape == (2, 9, 2)
    for row in range(2):
        length = out["length"][row]
        assert 3 <= length <= 8  # end-of-polygon masked before 3 vertices, forced after max_vertices
        assert np.all(out["tokens"][row, :length] < EOS_TOKEN) and np.all(
            out["tokens"][row, length:] == EOS_TOKEN
        )
        assert np.all(out["vertices"][row, length:] == -1)
        assert np.all((out["vertices"][row, :length] > 0) & (out["vertices"][row, :length] < 224))


def test_greedy_decoding_matches_teacher_forcing(trained, images):
    """Feeding the decoded sequence back with teacher forcing reproduces it (window 0 starts at step 0)."""
    model, _ = trained
    out = model(images)
    sequence = np.array(
        [
            sequences_from_tokens(t[:n], 8)
            for t, n in zip(out["tokens"].numpy(), out["length"].numpy(), strict=True)
        ]
    )
    logits = model.window_logits(tf.constant(images), tf.constant(sequence))[:, 0].numpy()  # (B, L, 785)
    logits[:, : model.min_vertices, EOS_TOKEN] = -np.inf
    for row in range(2):
        steps = min(model.window_len, int(out["length"][row]) + 1)
        np.testing.assert_array_equal(logits[row, :steps].argmax(-1), sequence[row, :steps])


def test_tokens_to_outputs_hand_case():
    out = tokens_to_outputs(tf.constant([[0, 29, EOS_TOKEN, 5], [783, EOS_TOKEN, EOS_TOKEN, EOS_TOKEN]]))
    np.testing.assert_array_equal(out["length"].numpy(), [2, 1])
    np.testing.assert_allclose(out["vertices"].numpy()[0, :3], [[3.5, 3.5], [11.5, 11.5], [-1, -1]])
    np.testing.assert_allclose(out["vertices"].numpy()[1, 0], [219.5, 219.5])
    assert out["tokens"].numpy()[0, 3] == EOS_TOKEN  # nothing after the first end-of-polygon


def test_config_round_trip_and_weights(trained, images):
    model, _ = trained
    clone = PolygonRNN.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    np.testing.assert_array_equal(clone(images)["tokens"].numpy(), model(images)["tokens"].numpy())


def test_variants_and_validation():
    encoder = build_polygon_encoder(width=0.0625, skip_channels=4, feature_channels=6)
    assert encoder.output_shape == (None, 28, 28, 6)
    assert encoder.get_layer("block5_conv3").kernel.shape == (3, 3, 32, 32)
    lstm = PolygonRNN(**{**TINY, "rnn": "convlstm", "head": "conv"})
    logits = lstm.window_logits(
        tf.zeros((1, 224, 224, 3), tf.uint8), tf.constant([[1, 2, 3, EOS_TOKEN] + [-1] * 5])
    )
    assert logits.shape == (1, 2, 6, 785)
    assert lstm(tf.zeros((1, 224, 224, 3), tf.uint8))["vertices"].shape == (1, 9, 2)  # two states per layer
    assert decoder_filters(15) == [256, 256, 128, 128, 128, 128, 64, 64, 64, 64, 64, 64, 32, 32, 8]
    assert resolve_filters({"depth": 5, "filters": [32, 8]}) == [128, 128, 64, 32, 8]
    assert resolve_filters({"depth": 2, "filters": [32, 8]}) == [32, 8]
    for bad, match in [
        ({"rnn": "gru"}, "rnn"),
        ({"head": "fc"}, "head"),
        ({"max_vertices": 2}, "max_vertices"),
        ({"jump": 0}, "jump"),
    ]:
        with pytest.raises(ValueError, match=match):
            PolygonRNN(**{**TINY, **bad})
    with pytest.raises(ValueError, match="depth 7"):
        resolve_filters({"depth": 7, "filters": None})


def test_gate_bias_starts_every_rbm_gate_open_and_round_trips(images):
    """gate_bias sets b_T of every RBM decoder cell (the gates start at sigmoid(b), not 1/2) and the input
    and output gates of ConvLSTM cells; the config keeps it."""
    model = PolygonRNN(**{**TINY, "filters": [8, 8, 4]}, gate_bias=2.0, seed=0)
    cells = model.rnn.cell.cells
    assert len(cells) == 3
    for cell in cells:
        np.testing.assert_array_equal(cell.temporal_bias.numpy(), np.full(cell.filters, 2.0, np.float32))
        assert not np.any(cell.representation_bias.numpy())
    plain = PolygonRNN(**{**TINY, "filters": [8, 8, 4]}, seed=0)
    assert not np.any(plain.rnn.cell.cells[0].temporal_bias.numpy())
    clone = PolygonRNN.from_config(model.get_config())
    assert clone.gate_bias == 2.0 and clone.rnn.cell.cells[1].gate_bias == 2.0
    lstm = PolygonRNN(**{**TINY, "rnn": "convlstm"}, gate_bias=2.0)
    assert lstm(tf.zeros((1, 224, 224, 3), tf.uint8))["tokens"].shape == (1, 9)
    i, f, c, o = np.split(lstm.rnn.cell.cells[0].bias.numpy(), 4)
    assert (i == 2).all() and (f == 1).all() and (c == 0).all() and (o == 2).all()


def test_jump_decoder_shortcuts_and_decodes_as_it_trains(images):
    """--jump adds residual shortcuts (a projection where the width changes); greedy decoding (step by
    step through the cell) and teacher forcing (the time-batched fast path) agree, and the config keeps it."""
    keras.utils.set_random_seed(1)
    model = PolygonRNN(**{**TINY, "filters": [8, 8, 8, 4]}, jump=2, seed=0)
    plain = PolygonRNN(**{**TINY, "filters": [8, 8, 8, 4]}, seed=0)
    assert len(model.rnn.weights) > len(plain.rnn.weights)  # the 4-channel block's 1x1 projection
    out = model(images)
    sequence = np.array(
        [
            sequences_from_tokens(t[:n], 8)
            for t, n in zip(out["tokens"].numpy(), out["length"].numpy(), strict=True)
        ]
    )
    logits = model.window_logits(tf.constant(images), tf.constant(sequence))[:, 0].numpy()
    logits[:, : model.min_vertices, EOS_TOKEN] = -np.inf
    for row in range(2):
        steps = min(model.window_len, int(out["length"][row]) + 1)
        np.testing.assert_array_equal(logits[row, :steps].argmax(-1), sequence[row, :steps])
    clone = PolygonRNN.from_config(model.get_config())
    assert clone.jump == 2
    clone.set_weights(model.get_weights())
    np.testing.assert_array_equal(clone(images)["tokens"].numpy(), out["tokens"].numpy())


def test_export_decodes_without_python_package(trained, images, tmp_path):
    """The SavedModel holds the greedy loop: a process that never imports deep_rnn_tf decodes with it."""
    model, _ = trained
    serving = PolygonTask().serving_model({}, model)
    path = str(tmp_path / "polygon_export")
    serving.export(path, verbose=False)
    np.save(tmp_path / "images.npy", images)
    expected = model(images)
    script = textwrap.dedent(
        f"""
        import json, sys
        import numpy as np, tensorflow as tf
        loaded = tf.saved_model.load({path!r})
        image = tf.constant(np.load({str(tmp_path / "images.npy")!r}))
        out = loaded.signatures["serving_default"](image=image)
        print(json.dumps({{
            "modules": any(m.startswith("deep_rnn_tf") for m in sys.modules),
            "vertices": out["vertices"].numpy().tolist(),
            "length": out["length"].numpy().tolist(),
            "dtypes": [out["vertices"].dtype.name, out["length"].dtype.name],
        }}))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    served = json.loads(result.stdout.strip().splitlines()[-1])
    assert served["modules"] is False
    assert served["dtypes"] == ["float32", "int32"]
    np.testing.assert_array_equal(served["length"], expected["length"].numpy())
    np.testing.assert_allclose(served["vertices"], expected["vertices"].numpy())


@pytest.mark.parametrize(
    "kind, counts",
    [("rbm", {2: 0.20, 15: 5.85}), ("convlstm", {5: 2.94})],
)
def test_decoder_parameter_counts_match_the_readme(kind, counts):
    """The original's depth table: decoder parameters (in millions) for a 131-channel 28x28 input."""
    from deep_rnn_tf import DeepRNN

    for depth, millions in counts.items():
        layer = DeepRNN(kind, depth=depth, filters=decoder_filters(depth), jump=None)
        layer.build((None, 10, 28, 28, 131))
        assert round(layer.count_params() / 1e6, 2) == millions


def test_jump_zero_in_the_config_switches_the_jumps_off():
    """`--jump 0` overrides a study budget's `--jump 5`: the config accepts 0, the model gets no jumps (the
    original stack), and a negative value is refused with the value in the message."""
    config = PolygonConfig(
        depth=4,
        filters=(8, 8, 8, 4),
        jump=0,
        encoder_width=0.0625,
        skip_channels=8,
        feature_channels=8,
        max_vertices=8,
        num_windows=2,
    )
    config.check()
    assert PolygonTask().build_model(config).jump is None
    with pytest.raises(ValueError, match="jump=-1"):
        dataclasses.replace(config, jump=-1).check()
