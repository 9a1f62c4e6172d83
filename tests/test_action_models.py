"""Action models: a few training steps of every model (tiny, eager: no graph tracing), the anticipation
hinge, OCTS state carry of the standalone model, backbones, serving without the package."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from deep_rnn_tf.tasks.action import models as M
from deep_rnn_tf.tasks.action.config import RNNS, ActionConfig
from deep_rnn_tf.training.best import selection_mode

TINY = {
    "image_size": [16, 16],
    "backbone": "tiny",
    "backbone_weights": "none",
    "width": 4,
    "hidden": 8,
    "depth": 4,  # the "15-layer" stacks at depth 4, jump 2: two blocks, projections and pools
    "jump": 2,
    "p_td": 0.5,
    "seed": 0,
}


def _clips(batch=2, clips=2, length=3, size=16, seed=0):
    """uint8 clips (batch, clips, length, size, size, 3) and labels."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 255, (batch, clips, length, size, size, 3), dtype=np.uint8)
    return x, np.arange(batch) % 3


def _train_a_few_steps(config, anticipation=0.0, coherence=0.0, epochs=2, length=3, frame_loss=0.0):
    clip_model = M.build_clip_model(config, num_classes=3)
    model = M.ActionOCTSModel(
        clip_model,
        overlap=1,
        coherence_weight=coherence,
        carry_state=config.get("model") == "standalone",
        anticipation_weight=anticipation,
        frame_loss_weight=frame_loss,
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2, clipvalue=5.0),
        run_eagerly=True,  # tiny tensors: eager steps cost less than tracing a deep stack's gradient
    )
    x, y = _clips(length=length, size=config["image_size"][0])
    model(x[:1])  # build
    before = [w.numpy().copy() for w in model.trainable_weights]
    history = model.fit(x, y, batch_size=2, epochs=epochs, verbose=0)
    changed = sum(
        not np.array_equal(b, w.numpy()) for b, w in zip(before, model.trainable_weights, strict=True)
    )
    return model, history.history, changed / len(before)


@pytest.mark.parametrize("rnn", RNNS)
def test_backbone_models_train(rnn):
    model, history, changed = _train_a_few_steps({**TINY, "rnn": rnn})
    assert all(np.isfinite(history["loss"]))
    assert changed > 0.9, f"only {changed:.0%} of the weights moved"
    logits = model.frame_logits(tf.zeros((2, 5, 16, 16, 3), tf.uint8))
    assert logits.shape == (2, 5, 3)


def test_fifteen_layer_rbm_stack_has_the_paper_structure():
    config = {**TINY, "depth": None, "jump": None, "image_size": [56, 56], "width": 8, "rnn": "rbm15"}
    model = M.build_clip_model(config, num_classes=3)  # tiny CNN: 56 -> 7, then 7 -> 4 -> 2 -> 1
    stack = model.get_layer("rbm15")
    cell = stack.cell
    assert len(cell.cells) == 15 and cell.jump == 5 and cell.block_pool == 2
    assert len(cell.projection_layers) == 3  # the original's 1x1 ShortCut at every jump
    first = cell.cells[0]
    assert first.normalization == "batch" and first.activation.__name__ == "tanh"
    init = first.kernel_initializer
    assert (init.scale, init.mode, init.distribution) == (9.0, "fan_avg", "untruncated_normal")
    assert stack.compute_output_shape((None, 4, 7, 7, 8))[-3:-1] == (1, 1)


def test_standalone_model_trains_and_carries_detached_state():
    config = {**TINY, "model": "standalone", "image_size": [32, 32], "width": 2, "hidden": 8, "p_td": 0.0}
    # 17 cells run eagerly step by step: one training step of 2 clips x 2 frames keeps this quick.
    model, history, changed = _train_a_few_steps(config, anticipation=1.0, coherence=0.5, epochs=1, length=2)
    assert all(np.isfinite(history["loss"])) and changed > 0.9
    assert {"coherence", "anticipation_hinge"} <= set(history)
    names = [layer.name for layer in model.clip_model.layers]
    assert "stem_rnn" in names and "body_rnn" in names
    body = model.clip_model.get_layer("body_rnn").cell
    assert len(body.cells) == 16 and [c.strides for c in body.cells].count(2) == 3
    # §10.9 decided: standard ResNet shortcuts (each pair's own input), projections where the size halves.
    assert len(body.projection_layers) == 3
    # Carried state: the second clip's logits depend on the first clip.
    x, _ = _clips(batch=1, length=2, size=32)
    with_first = model.run_clips(tf.constant(x))[1]
    other = x.copy()
    other[:, 0] = 255 - other[:, 0]
    changed_first = model.run_clips(tf.constant(other))[1]
    assert not np.allclose(with_first.numpy(), changed_first.numpy())


def test_independent_clips_do_not_share_state():
    model, _, _ = _train_a_few_steps({**TINY, "rnn": "rbm1"})
    x, _ = _clips()
    other = x.copy()
    other[:, 0] = 0
    a, b = model.run_clips(tf.constant(x))[1], model.run_clips(tf.constant(other))[1]
    np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)


def test_anticipation_hinge_by_hand():
    # True-class logits over time: 1, 3, 2, 0 -> hinges at j=1..3: 0, 1, 3 -> 2 * mean = 8/3.
    logits = np.zeros((1, 4, 2), np.float32)
    logits[0, :, 1] = [1, 3, 2, 0]
    value = M.anticipation_hinge(tf.constant(logits), tf.constant([1]))
    assert float(value) == pytest.approx(8 / 3)
    rising = np.zeros((1, 3, 2), np.float32)
    rising[0, :, 0] = [0, 1, 2]
    assert float(M.anticipation_hinge(tf.constant(rising), tf.constant([0]))) == 0.0


def test_anticipation_training_reports_the_hinge():
    model, history, _ = _train_a_few_steps({**TINY, "rnn": "lstm1"}, anticipation=1.0)
    assert "anticipation_hinge" in history and np.isfinite(history["anticipation_hinge"]).all()


def test_hinge_warmup_ramps_the_weight_in_training_only():
    # No dropout of any kind, so two training-mode passes over one batch give the same logits; Glorot
    # head weights, so the logits are large enough to drop over time (the hinge is then well above 0).
    quiet = {**TINY, "rnn": "rbm15", "p_td": 0.0, "dropout": 0.0, "head_dropout": 0.0, "head_init": "glorot"}
    clip_model = M.build_clip_model(quiet, 3)
    model = M.ActionOCTSModel(clip_model, overlap=1, anticipation_weight=2.0, anticipation_warmup_steps=4)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.optimizer.build(model.trainable_variables)
    weights = []
    for step in (0, 1, 4, 9):
        model.optimizer.iterations.assign(step)
        weights.append(float(model.hinge_weight(training=True)))
    assert weights == pytest.approx([0.0, 0.5, 2.0, 2.0])
    assert float(model.hinge_weight(training=False)) == 2.0  # validation: the criterion stays fixed
    x, y = _clips(length=6)
    batch = (tf.constant(x), tf.constant(y))
    losses = {}
    for step in (0, 2, 4):
        model.optimizer.iterations.assign(step)
        losses[step] = model.compute_losses(batch, training=True)
    hinge = float(losses[0].logs["anticipation_hinge"])
    assert hinge > 0.1
    assert float(losses[2].loss) - float(losses[0].loss) == pytest.approx(1.0 * hinge, rel=1e-4)
    assert float(losses[4].loss) - float(losses[0].loss) == pytest.approx(2.0 * hinge, rel=1e-4)
    restored = M.ActionOCTSModel.from_config(model.get_config())
    assert restored.anticipation_warmup_steps == 4
    with pytest.raises(ValueError, match="anticipation_warmup_steps.*-1"):
        M.ActionOCTSModel(clip_model, overlap=1, anticipation_warmup_steps=-1)
    with pytest.raises(ValueError, match=r"`overlap` must be a non-negative integer. Received: overlap=-1"):
        M.ActionOCTSModel(clip_model, overlap=-1)


def test_classification_log_leaves_out_the_hinge_whatever_its_weight():
    # The hinge-free loss is what runs trained with different hinge weights compare on (issue 12).
    quiet = {**TINY, "rnn": "rbm1", "p_td": 0.0, "dropout": 0.0, "head_dropout": 0.0, "head_init": "glorot"}
    clip_model = M.build_clip_model(quiet, 3)
    x, y = _clips(length=6)
    batch = (tf.constant(x), tf.constant(y))
    results = {}
    for weight in (0.0, 0.5, 3.0):
        model = M.ActionOCTSModel(clip_model, overlap=1, anticipation_weight=weight, frame_loss_weight=0.5)
        assert "classification" in model.logged_names()
        results[weight] = model.compute_losses(batch, training=False)
    classification = float(results[0.0].logs["classification"])
    assert classification == pytest.approx(float(results[0.0].loss), rel=1e-6)  # no hinge, no coherence
    frame = float(results[0.0].logs["frame_loss"])
    assert frame > 0.1 and classification > 0.5 * frame  # the weighted frame loss is inside it
    for weight in (0.5, 3.0):
        logs = results[weight].logs
        assert float(logs["classification"]) == pytest.approx(classification, rel=1e-6)
        hinge = float(logs["anticipation_hinge"])
        assert hinge > 0.01
        assert float(results[weight].loss) == pytest.approx(classification + weight * hinge, rel=1e-5)
    assert selection_mode("val_classification") == "min"  # --select-on val_classification: lowest wins


def test_per_frame_cross_entropy_by_hand_and_in_training():
    # Two clips of one sample, label 1: frame CEs log(1 + e^-2), log 2, log 2, log(1 + e^2) -> their mean.
    first = tf.constant([[[0.0, 2.0], [0.0, 0.0]]])
    second = tf.constant([[[0.0, 0.0], [2.0, 0.0]]])
    expected = (np.log1p(np.exp(-2.0)) + 2 * np.log(2.0) + np.log1p(np.exp(2.0))) / 4
    value = M.per_frame_cross_entropy([first, second], tf.constant([1]))
    assert float(value) == pytest.approx(expected, rel=1e-6)
    model, history, _ = _train_a_few_steps({**TINY, "rnn": "rbm1"}, frame_loss=0.5)
    assert np.isfinite(history["frame_loss"]).all()
    # The loss is the clip loss plus 0.5 x the frame loss: recompute both on the trained weights.
    x, y = _clips()
    with_frames = model.compute_losses((tf.constant(x), tf.constant(y)), training=False)
    assert type(model).from_config(model.get_config()).frame_loss_weight == 0.5
    model.frame_loss_weight = 0.0
    without = model.compute_losses((tf.constant(x), tf.constant(y)), training=False)
    frame = float(with_frames.logs["frame_loss"])
    assert float(with_frames.loss) == pytest.approx(float(without.loss) + 0.5 * frame, rel=1e-5)
    with pytest.raises(ValueError, match="frame_loss_weight"):
        M.ActionOCTSModel(model.clip_model, overlap=1, frame_loss_weight=float("nan"))


@pytest.mark.parametrize("name,channels", [("vgg19", 512), ("resnet50", 2048)])
def test_keras_application_backbones_without_download(name, channels):
    backbone = M.build_backbone(name, "none", (32, 32), 8)
    assert backbone.output_shape == (None, 1, 1, channels)


@pytest.mark.parametrize("stride,size", [(8, 4), (4, 8)])
def test_tiny_backbone_output_stride(stride, size):
    backbone = M.build_backbone("tiny", "none", (32, 32), 8, stride=stride)
    assert backbone.output_shape == (None, size, size, 8)
    model = M.build_clip_model({**TINY, "image_size": [32, 32], "backbone_stride": stride}, 3)
    assert model.get_layer("backbone").layer.output_shape == (None, size, size, TINY["width"])
    with pytest.raises(ValueError, match="backbone_stride must be one of .*received 2"):
        M.build_backbone("tiny", "none", (32, 32), 8, stride=2)
    with pytest.raises(ValueError, match="backbone_stride: .*received 16"):
        ActionConfig(backbone_stride=16).check()


def test_sequence_dropout_mask_is_shared_by_every_frame():
    frames = tf.ones((4, 6, 3, 3, 8))
    shared = M._frame_dropout(0.5, "shared", "sequence")(frames, training=True).numpy()
    assert (shared == shared[:, :1]).all() and (shared == shared[:, :, :1, :1]).all()
    assert 0 < (shared == 0).mean() < 1
    per_frame = M._frame_dropout(0.5, "per_frame", "frame")(frames, training=True).numpy()
    assert not (per_frame == per_frame[:, :1]).all()
    pooled = M._sequence_dropout(0.5, "pooled", "sequence")(tf.ones((4, 6, 8)), training=True).numpy()
    assert (pooled == pooled[:, :1]).all() and 0 < (pooled == 0).mean() < 1
    model = M.build_clip_model({**TINY, "dropout_mask": "sequence"}, 3)
    assert model.get_layer("feature_dropout").noise_shape == (None, 1, 1, 1, None)
    assert model.get_layer("rnn_dropout").noise_shape == (None, 1, None)
    standalone = M.build_clip_model({**TINY, "model": "standalone", "dropout_mask": "sequence"}, 3)
    assert standalone.get_layer("rnn_dropout").noise_shape == (None, 1, 1, 1, None)


def test_rnn_normalization_reaches_every_rbm_cell():
    from deep_rnn_tf.cells.step_normalization import StepwiseBatchNormalization

    for choice, kind in (
        ("batch", keras.layers.BatchNormalization),
        ("layer", keras.layers.GroupNormalization),
        ("batch_per_step", StepwiseBatchNormalization),
    ):
        model = M.build_clip_model({**TINY, "rnn": "rbm15", "rnn_normalization": choice}, 3)
        cells = [cell for cell in model.get_layer("rbm15").cell.cells]
        assert len(cells) == TINY["depth"]
        assert all(cell.normalization == choice for cell in cells)
        assert all(isinstance(cell.temporal_norm, kind) for cell in cells)
    with pytest.raises(ValueError, match="rnn_normalization: expected one of 'batch', 'layer'"):
        ActionConfig.from_dict({"rnn_normalization": "group"})


def test_convlstm_normalization_reaches_every_convlstm_cell_and_trains():
    from deep_rnn_tf.cells.step_normalization import StepwiseBatchNormalization

    plain = M.build_clip_model({**TINY, "rnn": "convlstm15"}, 3)
    assert all(cell.normalization is None for cell in plain.get_layer("convlstm15").cell.cells)
    config = {**TINY, "rnn": "convlstm15", "convlstm_normalization": "batch_per_step"}
    model, history, changed = _train_a_few_steps(config)
    cells = model.clip_model.get_layer("convlstm15").cell.cells
    assert len(cells) == TINY["depth"]
    assert all(isinstance(cell.cell_norm, StepwiseBatchNormalization) for cell in cells)
    assert all(np.isfinite(history["loss"])) and changed > 0.9
    # "none" (the flag's spelling, and what runs saved before the field took null) is Keras' cell.
    assert ActionConfig.from_dict({"convlstm_normalization": "none"}).convlstm_normalization is None
    with pytest.raises(ValueError, match="convlstm_normalization: expected one of 'batch', .* or null"):
        ActionConfig.from_dict({"convlstm_normalization": "group"})


def test_rbm_merge_reaches_every_rbm_cell():
    for rnn in ("rbm15", "rbm1"):
        model = M.build_clip_model({**TINY, "rnn": rnn, "rbm_merge": "sum"}, 3)
        assert {cell.merge for cell in model.get_layer(rnn).cell.cells} == {"sum"}
    default = M.build_clip_model({**TINY, "rnn": "rbm1"}, 3)
    assert {cell.merge for cell in default.get_layer("rbm1").cell.cells} == {"product"}
    with pytest.raises(ValueError, match="rbm_merge: expected one of 'product', 'sum'"):
        ActionConfig.from_dict({"rbm_merge": "max"})


def test_gate_bias_opens_every_rbm_gate_and_is_checked():
    model = M.build_clip_model({**TINY, "rnn": "rbm15", "gate_bias": 2.0}, 3)
    cells = model.get_layer("rbm15").cell.cells
    assert {cell.gate_bias for cell in cells} == {2.0}
    assert all(np.allclose(cell.temporal_norm.beta.numpy(), 2.0) for cell in cells)  # the preset's BN
    default = M.build_clip_model({**TINY, "rnn": "rbm1"}, 3)
    assert {cell.gate_bias for cell in default.get_layer("rbm1").cell.cells} == {0.0}
    with pytest.raises(
        ValueError, match=r"`gate_bias` must be in \[-10\.0, 10\.0\]\. Received: gate_bias=20"
    ):
        ActionConfig.from_dict({"gate_bias": 20.0})


def test_rbm_memory_gain_makes_every_rbm_gate_a_leaky_integrator_and_is_checked():
    from deep_rnn_tf.cells.initializers import CenterIdentity

    model = M.build_clip_model({**TINY, "rnn": "rbm15", "rbm_memory_gain": 3.0}, 3)
    cells = model.get_layer("rbm15").cell.cells
    assert all(isinstance(cell.recurrent_initializer, CenterIdentity) for cell in cells)
    centre = cells[0].recurrent_kernel.numpy()[1, 1]
    assert np.allclose(centre, 3.0 * np.eye(centre.shape[0]))
    # The gate's starting shift is gate_bias - g/2; with the preset's batch norm it is the BN offset.
    assert {cell.gate_bias for cell in cells} == {-1.5}
    assert all(np.allclose(cell.temporal_norm.beta.numpy(), -1.5) for cell in cells)
    default = M.build_clip_model({**TINY, "rnn": "rbm1"}, 3).get_layer("rbm1").cell.cells[0]
    assert not isinstance(default.recurrent_initializer, CenterIdentity) and default.gate_bias == 0.0
    with pytest.raises(
        ValueError, match=r"`rbm_memory_gain` must be in \[0\.0, 20\.0\]\. Received: rbm_memory_gain=-1"
    ):
        ActionConfig.from_dict({"rbm_memory_gain": -1.0})
    with pytest.raises(ValueError, match="received gate_bias=-9.0, rbm_memory_gain=4.0"):
        ActionConfig.from_dict({"rbm_memory_gain": 4.0, "gate_bias": -9.0})


def test_backbone_weights_from_a_local_file(tmp_path):
    source = M.build_backbone("tiny", "none", (16, 16), 4)
    path = str(tmp_path / "tiny.weights.h5")
    source.save_weights(path)
    with pytest.raises(ValueError, match="tiny"):
        M.build_backbone("tiny", path, (16, 16), 4)
    with pytest.raises(ValueError, match="backbone must be one of"):
        M.build_backbone("alexnet", "none", (16, 16), 4)
    with pytest.raises(ValueError, match="cannot build backbone 'vgg19'"):
        M.build_backbone("vgg19", str(tmp_path / "missing.h5"), (32, 32), 4)


def test_frozen_backbone_is_not_trained():
    model = M.build_clip_model({**TINY, "rnn": "lstm1", "freeze_backbone": True}, 3)
    backbone = model.get_layer("backbone").layer
    trainable = {id(w) for w in model.trainable_weights}
    assert not backbone.trainable and not any(id(w) in trainable for w in backbone.weights)


def test_bad_config_values_are_named():
    with pytest.raises(ValueError, match="rnn: expected one of 'rbm15'.*received 'gru'"):
        M.build_clip_model({**TINY, "rnn": "gru"}, 3)
    with pytest.raises(ValueError, match="model: expected one of 'backbone'"):
        M.build_clip_model({**TINY, "model": "transformer"}, 3)
    with pytest.raises(ValueError, match="anticipation_weight"):
        M.ActionOCTSModel(M.build_clip_model({**TINY, "rnn": "lstm1"}, 3), overlap=1, anticipation_weight=-1)


@pytest.mark.slow
def test_full_depth_fifteen_layer_models_train():
    for rnn in ("rbm15", "convlstm15"):
        _, history, changed = _train_a_few_steps({**TINY, "rnn": rnn, "depth": None, "jump": None}, epochs=1)
        assert np.isfinite(history["loss"]).all() and changed > 0.9


def test_observed_prefix_scores_the_first_frames_alone_and_leaves_the_sequence_as_it_was():
    # Validation with --val-anticipation: the sequence leads with its first p raw frames (issue 12).
    quiet = {**TINY, "rnn": "rbm1", "p_td": 0.0, "dropout": 0.0, "head_dropout": 0.0, "head_init": "glorot"}
    clip_model = M.build_clip_model(quiet, 3)
    rng = np.random.default_rng(1)
    first = rng.integers(0, 255, (3, 2, 16, 16, 3), dtype=np.uint8)
    sequence = rng.integers(0, 255, (3, 5, 16, 16, 3), dtype=np.uint8)
    labels = tf.constant([0, 1, 2])
    plain = M.ActionOCTSModel(clip_model, overlap=1, frame_loss_weight=0.5)
    led = M.ActionOCTSModel(clip_model, overlap=1, frame_loss_weight=0.5, observed_prefix=2)
    assert "anticipation_accuracy" in led.logged_names() and "anticipation_loss" not in plain.logged_names()
    without = plain.compute_losses((tf.constant(sequence), labels), training=False)
    with_prefix = led.compute_losses((tf.constant(np.concatenate([first, sequence], 1)), labels), False)
    assert float(with_prefix.loss) == pytest.approx(float(without.loss), rel=1e-6)
    # By hand: the mean logits of the 2 frames alone, from a zero state.
    logits = clip_model(tf.constant(first), training=False).numpy().mean(axis=1)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(
        with_prefix.logs["anticipation_loss"], -log_probs[[0, 1, 2], [0, 1, 2]], rtol=1e-5
    )
    hits = (logits.argmax(axis=1) == np.array([0, 1, 2])).astype(np.float32)
    np.testing.assert_array_equal(with_prefix.logs["anticipation_accuracy"], hits)
    # Training clips (batch, N, L, ...) carry no prefix: nothing is split off.
    x, y = _clips()
    assert "anticipation_loss" not in led.compute_losses((tf.constant(x), tf.constant(y)), True).logs
    assert type(led).from_config(led.get_config()).observed_prefix == 2
    assert selection_mode("val_anticipation_accuracy") == "max"
    with pytest.raises(ValueError, match="observed_prefix"):
        M.ActionOCTSModel(clip_model, overlap=1, observed_prefix=-1)


def test_frame_difference_puts_each_frame_beside_its_change(tmp_path):
    from deep_rnn_tf.layers import FrameDifference

    clip = np.random.default_rng(0).uniform(size=(2, 4, 3, 3, 3)).astype("float32")
    out = np.asarray(FrameDifference()(clip))
    assert out.shape == (2, 4, 3, 3, 6)
    np.testing.assert_array_equal(out[..., :3], clip)
    np.testing.assert_array_equal(out[:, 0, ..., 3:], 0)  # nothing before the first frame
    np.testing.assert_allclose(out[:, 1:, ..., 3:], clip[:, 1:] - clip[:, :-1])
    # In the clip model: the tiny CNN takes the 6 channels, and the model saves and reloads with it.
    model = M.build_clip_model({**TINY, "image_size": [32, 32], "frame_difference": True}, 3)
    assert model.get_layer("backbone").layer.input_shape == (None, 32, 32, 6)
    frames = np.random.default_rng(1).integers(0, 256, (1, 3, 32, 32, 3)).astype("uint8")
    model.save(tmp_path / "model.keras")
    again = keras.saving.load_model(tmp_path / "model.keras")
    # Without a CNN the stack reads the 6 channels itself (the config allows "none" as well as "tiny").
    bare = {**TINY, "backbone": "none", "rnn": "rbm1", "frame_difference": True}
    assert M.build_clip_model(bare, 3).get_layer("rbm1").input.shape[-1] == 6
    np.testing.assert_allclose(again.predict(frames, verbose=0), model.predict(frames, verbose=0), atol=1e-5)


@pytest.mark.parametrize(
    "settings,message",
    [
        ({"backbone": "vgg19"}, "only the 'tiny' and 'none' backbones .* received backbone='vgg19'"),
        (
            {"model": "standalone", "backbone": "none"},
            "only the backbone model .* received model='standalone'",
        ),
    ],
)
def test_frame_difference_is_refused_where_it_cannot_go(settings, message):
    with pytest.raises(ValueError, match=f"frame_difference: {message}"):
        ActionConfig(frame_difference=True, **settings).check()
    with pytest.raises(ValueError, match="backbone 'vgg19' takes 3 channels; received channels=6"):
        M.build_backbone("vgg19", "none", (32, 32), 8, channels=6)


def test_the_lstm_reads_the_pooled_map_or_all_of_it():
    # Pooled (the default): the spatial mean of the 4x4 map, where things are is lost; flatten keeps it.
    pooled = M.build_clip_model({**TINY, "image_size": [32, 32], "rnn": "lstm1"}, 3)
    whole = M.build_clip_model({**TINY, "image_size": [32, 32], "rnn": "lstm1", "lstm_input": "flatten"}, 3)
    assert pooled.get_layer("spatial_pool").output.shape[-1] == TINY["width"]
    assert whole.get_layer("spatial_pool").output.shape[-1] == 4 * 4 * TINY["width"]
    # A frame and its copy with the left and right halves swapped: the same content elsewhere. The pooled
    # LSTM reads (nearly) the same per-frame features, the flattened one sees them move.
    frame = np.random.default_rng(0).integers(0, 256, (1, 1, 32, 32, 3)).astype("uint8")
    swapped = np.concatenate([frame[..., 16:, :], frame[..., :16, :]], axis=3)
    gaps = []
    for model in (pooled, whole):
        features = keras.Model(model.inputs, model.get_layer("spatial_pool").output)
        a, b = (features.predict(x, verbose=0) for x in (frame, swapped))
        gaps.append(np.abs(a - b).mean() / np.abs(a).mean())
    assert gaps[0] < 0.2 < gaps[1], gaps
    with pytest.raises(ValueError, match="lstm_input: expected one of 'pooled', 'flatten', received 'mean'"):
        ActionConfig.from_dict({"lstm_input": "mean"})
