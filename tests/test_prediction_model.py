"""MCnet model pieces, a few training steps (plain and GAN), resume through the runner, and export."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from deep_rnn_tf.cli import main as cli
from deep_rnn_tf.tasks.prediction.config import PredictionConfig
from deep_rnn_tf.tasks.prediction.losses import gaussian_ssim, gradient_difference_loss
from deep_rnn_tf.tasks.prediction.model import (
    MCNet,
    copy_last_frame,
    flow_extrapolation,
    unpool_zero_filled,
)
from tests.presets import tiny_args


def test_unpool_puts_values_top_left():
    x = tf.reshape(tf.range(1.0, 5.0), (1, 2, 2, 1))
    out = unpool_zero_filled(x)[0, ..., 0].numpy()
    expected = np.zeros((4, 4))
    expected[::2, ::2] = [[1, 2], [3, 4]]
    np.testing.assert_array_equal(out, expected)


def test_gdl_hand_computed():
    # One row [0, 1] vs zeros: |dx| of the target with SAME padding (zero after the last column) is
    # [1, 1] on that row; |dy| is [0, 1] on row 0 (minus the zero padding row) ... computed by hand below.
    target = np.zeros((1, 2, 2, 1), np.float32)
    target[0, 0, 1, 0] = 1.0
    prediction = np.zeros_like(target)
    # dx (x[j+1] - x[j], zero pad right): row0 = [1, -1], row1 = [0, 0] -> |.| sum 2
    # dy (x[i+1] - x[i], zero pad bottom): col0 = [0, 0], col1 = [-1, 0]... row0 col1 = 0-1, row1 col1 = 0-0
    #   -> |.| sum 1; mean over 4 positions of (|dx| + |dy|) = (2 + 1) / 4
    got = float(gradient_difference_loss(tf.constant(prediction), tf.constant(target)))
    assert got == pytest.approx(3 / 4)
    assert float(gradient_difference_loss(tf.constant(target), tf.constant(target))) == 0.0


@pytest.mark.parametrize("shape", [(2, 3, 24, 20, 1), (3, 16, 16, 3)])
def test_gaussian_ssim_is_tf_image_ssim_in_value_and_gradient(shape):
    """The loss's separable SSIM computes tf.image.ssim's value and gradient (grey sequences, colour)."""
    rng = np.random.default_rng(0)
    target = tf.constant(rng.uniform(size=shape).astype(np.float32))
    prediction = tf.constant(np.clip(target.numpy() + rng.normal(0, 0.2, shape), 0, 1).astype(np.float32))

    def value_and_gradient(ssim):
        with tf.GradientTape() as tape:
            tape.watch(prediction)
            value = ssim(prediction, target)
            mean = tf.reduce_mean(value)
        return value, tape.gradient(mean, prediction)

    expected = value_and_gradient(lambda a, b: tf.image.ssim(a, b, 1.0, 11, 1.5, 0.01, 0.03))
    got = value_and_gradient(gaussian_ssim)
    assert got[0].shape == expected[0].shape == shape[:-3]
    np.testing.assert_allclose(got[0].numpy(), expected[0].numpy(), atol=1e-6)
    np.testing.assert_allclose(got[1].numpy(), expected[1].numpy(), rtol=1e-4, atol=1e-7)
    assert float(tf.reduce_min(gaussian_ssim(target, target))) == pytest.approx(1.0, abs=1e-6)


def test_gaussian_ssim_refuses_mismatched_or_unknown_sizes_and_shrinks_the_window_on_small_images():
    with pytest.raises(ValueError, match="one static shape"):
        gaussian_ssim(tf.zeros((1, 8, 8, 1)), tf.zeros((1, 8, 9, 1)))
    unknown_size = tf.function(gaussian_ssim, input_signature=[tf.TensorSpec((None, None, None, 1))] * 2)
    with pytest.raises(ValueError, match="static height, width and channels"):
        unknown_size.get_concrete_function()
    small = tf.random.uniform((2, 8, 8, 1), seed=0)
    assert gaussian_ssim(small, small).shape == (2,)


def test_copy_last_frame_and_argument_checks():
    past = tf.reshape(tf.range(2.0 * 3 * 4), (2, 3, 2, 2, 1))
    out = copy_last_frame(past, 4)
    assert out.shape == (2, 4, 2, 2, 1)
    np.testing.assert_array_equal(out[:, 2].numpy(), past[:, -1].numpy())
    with pytest.raises(ValueError, match="past"):
        MCNet(past=1)
    with pytest.raises(ValueError, match="image_size"):
        MCNet(image_size=30)
    with pytest.raises(ValueError, match="rnn"):
        MCNet(rnn="gru")


def _tiny(**kwargs) -> MCNet:
    config = dict(past=3, future=2, image_size=16, gf_dim=4, rnn_depth=2, rnn_filters=8, seed=0)
    return MCNet(**{**config, **kwargs})


@pytest.mark.parametrize(
    ("rnn", "content_frame", "predict_flow"),
    [("rbm", "previous", False), ("convlstm", "observed", False), ("rbm", "previous", True)],
)
def test_untrained_change_predictor_is_exactly_copy_last_frame(rnn, content_frame, predict_flow):
    model = _tiny(
        rnn=rnn, beta=0.0, predict_change=True, content_frame=content_frame, predict_flow=predict_flow
    )
    frames = tf.random.uniform((2, 3, 16, 16, 1), -1, 1, seed=1)
    out = model(frames, num_future=5).numpy()
    np.testing.assert_array_equal(out, copy_last_frame(frames, 5).numpy())
    # The change head is a live layer: once its weights move, the output departs from the copy.
    head = model.decoder.stages[-1][-1]
    head.bias.assign(tf.fill(head.bias.shape, 0.1))
    moved = model(frames, num_future=2).numpy()
    assert not np.array_equal(moved, copy_last_frame(frames, 2).numpy())
    assert np.abs(moved).max() <= 1.0  # clipped to the frame range
    assert MCNet.from_config(model.get_config()).predict_change


def test_the_flow_head_moves_the_last_frame_and_needs_the_change_head():
    model = _tiny(beta=0.0, predict_change=True, predict_flow=True)
    frames = tf.random.uniform((1, 3, 16, 16, 1), -1, 1, seed=2)
    model(frames)
    head = model.decoder.stages[-1][-1]
    head.bias.assign([0.0, 1.0, 0.0])  # no change, a flow of one pixel to the right, none down
    out = model(frames, num_future=1).numpy()[0, 0, :, :, 0]
    last = frames.numpy()[0, -1, :, :, 0]
    np.testing.assert_allclose(out[:, :-1], last[:, 1:], atol=1e-6)  # each pixel reads its right neighbour
    np.testing.assert_allclose(out[:, -1], last[:, -1], atol=1e-6)  # the border repeats
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(model(frames, num_future=1) - frames[:, -1:]))
    assert float(tf.reduce_max(tf.abs(tape.gradient(loss, head.bias)[1:]))) > 0  # the flow is trained
    assert MCNet.from_config(model.get_config()).predict_flow
    with pytest.raises(ValueError, match="predict_flow"):
        _tiny(predict_flow=True)


def _drifting_texture(seed: int, batch: int = 1, size: int = 16, steps: int = 3) -> tf.Tensor:
    """(batch, steps, size, size, 1): a smooth random texture drifting one pixel right per frame."""
    texture = tf.nn.avg_pool2d(tf.random.uniform((batch, size, size + 8, 1), -1, 1, seed=seed), 3, 1, "SAME")
    return tf.stack([texture[:, :, 4 - t : 4 - t + size] for t in range(steps)], axis=1)


@pytest.mark.parametrize(("rnn", "predict_flow"), [("rbm", False), ("convlstm", True)])
def test_with_the_flow_prior_the_untrained_model_is_exactly_flow_extrapolation(rnn, predict_flow):
    frames = _drifting_texture(seed=3, batch=2)  # the prior must see motion
    model = _tiny(
        rnn=rnn, beta=0.0, predict_change=True, predict_flow=predict_flow, flow_prior="lucas_kanade"
    )
    out = model(frames, num_future=4).numpy()
    np.testing.assert_array_equal(out, flow_extrapolation(frames, 4, gain=0.5).numpy())
    assert not np.allclose(out, copy_last_frame(frames, 4).numpy(), atol=1e-3)
    # Half the flow per step: the last frame moved on by about half a pixel.
    last = frames.numpy()[:, -1, 4:-4, 4:-4]
    half_step = (last + frames.numpy()[:, -1, 4:-4, 3:-5]) / 2
    assert np.abs(out[:, 0, 4:-4, 4:-4] - half_step).mean() < 0.3 * np.abs(last - half_step).mean() + 1e-3
    restored = MCNet.from_config(model.get_config())
    assert (restored.flow_prior, restored.flow_prior_gain) == ("lucas_kanade", 0.5)
    # The prior is a measurement of the input: the trainable weights get gradients, the frames none.
    with tf.GradientTape() as tape:
        tape.watch(frames)
        loss = tf.reduce_mean(model.prior_flow(frames))
    assert tape.gradient(loss, frames) is None


def test_with_the_observed_content_frame_the_prior_still_extrapolates_step_by_step():
    # "observed" warps the last observed frame at every step: by (t + 1) steps of flow, so a uniform drift
    # comes out as the repeated warps of "previous" do (equal up to interpolation away from the border).
    texture = tf.nn.avg_pool2d(tf.random.uniform((1, 32, 48, 1), -1, 1, seed=4), 5, 1, "SAME")
    frames = tf.stack([texture[:, :, 8 - t : 40 - t] for t in range(3)], axis=1)
    outputs = {
        frame: _tiny(image_size=32, beta=0.0, predict_change=True, flow_prior="lucas_kanade",
                     flow_prior_gain=1.0, content_frame=frame)(frames, num_future=3).numpy()
        for frame in ("previous", "observed")
    }  # fmt: skip
    inner = (slice(None), slice(None), slice(8, -8), slice(8, -8))
    drift = np.abs(outputs["observed"][inner] - frames.numpy()[:, -1:][inner]).mean()
    assert np.abs(outputs["observed"][inner] - outputs["previous"][inner]).mean() < 0.2 * drift


def test_a_damped_flow_prior_is_exactly_damped_flow_extrapolation():
    frames = _drifting_texture(seed=5)
    model = _tiny(beta=0.0, predict_change=True, flow_prior="lucas_kanade", flow_prior_gain=1.0,
                  flow_prior_damping=0.5)  # fmt: skip
    out = model(frames, num_future=4).numpy()
    np.testing.assert_array_equal(out, flow_extrapolation(frames, 4, gain=1.0, damping=0.5).numpy())
    steady = flow_extrapolation(frames, 4, gain=1.0).numpy()
    np.testing.assert_array_equal(out[:, 0], steady[:, 0])  # the first step moves by the whole flow
    # Later steps move less than at constant velocity: by 1.5 and 1.875 pixels at steps 2 and 3, not 2, 3.
    moved = np.abs(out[:, 3] - frames.numpy()[:, -1]).mean()
    assert moved < np.abs(steady[:, 3] - frames.numpy()[:, -1]).mean()
    restored = MCNet.from_config(model.get_config())
    assert (restored.flow_prior_damping, float(restored.prior_damping.numpy())) == (0.5, 0.5)
    # The damping of "observed" sums the powers (1, 1.5, 1.75 steps): as "previous", away from the border.
    damped_observed = _tiny(beta=0.0, predict_change=True, flow_prior="lucas_kanade", flow_prior_gain=1.0,
                            flow_prior_damping=0.5, content_frame="observed")  # fmt: skip
    observed = damped_observed(frames, num_future=4).numpy()
    inner = (slice(None), slice(None), slice(4, -4), slice(4, -4))
    assert np.abs(observed[inner] - out[inner]).mean() < 0.2 * np.abs(out[inner] - steady[inner]).mean()


def test_the_start_candidates_are_the_grid_of_gains_and_dampings():
    model = _tiny(beta=0.0, predict_change=True, flow_prior="lucas_kanade", flow_prior_gains=[0, 0.5, 1],
                  flow_prior_dampings=[1, 0.8])  # fmt: skip
    candidates = dict(model.start_candidates())
    assert list(candidates) == [
        "flow_prior_gain 0, damping 1",  # no flow: the damping is moot, one candidate
        "flow_prior_gain 0.5, damping 1",
        "flow_prior_gain 0.5, damping 0.8",
        "flow_prior_gain 1, damping 1",
        "flow_prior_gain 1, damping 0.8",
    ]
    candidates["flow_prior_gain 0.5, damping 0.8"]()
    assert (float(model.prior_gain.numpy()), float(model.prior_damping.numpy())) == (0.5, pytest.approx(0.8))
    # Without dampings a constant-velocity model has no damping weight (its checkpoints are as before).
    steady = _tiny(beta=0.0, predict_change=True, flow_prior="lucas_kanade", flow_prior_gains=[0, 1])
    assert steady.prior_damping is None
    assert [label for label, _ in steady.start_candidates()] == ["flow_prior_gain 0", "flow_prior_gain 1"]


def test_the_flow_prior_needs_the_change_head_and_a_gain_in_range():
    with pytest.raises(ValueError, match="predict_change"):
        _tiny(flow_prior="lucas_kanade")
    with pytest.raises(ValueError, match="flow_prior"):
        _tiny(predict_change=True, flow_prior="farneback")
    with pytest.raises(ValueError, match="flow_prior_gain"):
        _tiny(predict_change=True, flow_prior="lucas_kanade", flow_prior_gain=3.0)
    with pytest.raises(ValueError, match="flow_prior_damping.*0.0"):
        _tiny(predict_change=True, flow_prior="lucas_kanade", flow_prior_damping=0.0)
    with pytest.raises(ValueError, match=r"flow_prior_dampings.*1\.5"):
        _tiny(predict_change=True, flow_prior="lucas_kanade", flow_prior_dampings=[1.0, 1.5])
    with pytest.raises(ValueError, match="flow_prior_dampings.*needs a flow_prior"):
        _tiny(predict_change=True, flow_prior_dampings=[1.0])
    from deep_rnn_tf.tasks.prediction.config import PredictionConfig

    with pytest.raises(ValueError, match="flow_prior"):
        PredictionConfig(flow_prior="lucas_kanade").check()
    with pytest.raises(ValueError, match="flow_prior_dampings.*needs a flow_prior.*lucas_kanade"):
        PredictionConfig(flow_prior_dampings=[0.8]).check()
    with pytest.raises(ValueError, match=r"flow_prior_gains=\[0.5\] needs a flow_prior"):
        PredictionConfig(predict_change=True, flow_prior_gains=[0.5]).check()
    with pytest.raises(ValueError, match="flow_prior_damping"):
        PredictionConfig(predict_change=True, flow_prior="lucas_kanade", flow_prior_damping=2.0).check()


def test_the_blend_merge_core_starts_as_copy_last_and_round_trips():
    """The RBM core with the blend merge (two states per layer) under the small preset's per-step
    statistics and leaky-integrator gates: the untrained change predictor is copy-last exactly, and the
    option survives the model's config."""
    model = _tiny(
        rnn="rbm", beta=0.0, predict_change=True, rbm_merge="blend",
        rbm_normalization="batch_per_step", rbm_memory_gain=3.0,
    )  # fmt: skip
    frames = tf.random.uniform((2, 3, 16, 16, 1), -1, 1, seed=1)
    np.testing.assert_array_equal(model(frames, num_future=3).numpy(), copy_last_frame(frames, 3).numpy())
    assert len(model.core.get_initial_state(2)) == 2 * 2  # gate and previous output, per layer
    assert MCNet.from_config(model.get_config()).get_config()["rbm_merge"] == "blend"


@pytest.mark.parametrize("memory_merge", ["blend", "accumulate"])
def test_an_output_memory_on_one_layer_of_the_core_starts_as_copy_last_and_round_trips(memory_merge):
    """`rbm_merge` with one merge per layer (the blend or the accumulation on the bottom layer only):
    copy-last before training, one extra state, the list kept by the config and the typed config; a list
    of another length than the core's depth is refused."""
    merges = [memory_merge, "product"]
    model = _tiny(rnn="rbm", beta=0.0, predict_change=True, rbm_merge=merges)
    frames = tf.random.uniform((2, 3, 16, 16, 1), -1, 1, seed=1)
    np.testing.assert_array_equal(model(frames, num_future=3).numpy(), copy_last_frame(frames, 3).numpy())
    assert [cell.merge for cell in model.core.cells] == merges
    assert len(model.core.get_initial_state(2)) == 2 + 1
    assert MCNet.from_config(model.get_config()).get_config()["rbm_merge"] == merges
    from deep_rnn_tf.tasks.prediction.config import PredictionConfig

    assert PredictionConfig.from_dict({"rbm_merge": merges}).rbm_merge == merges
    with pytest.raises(ValueError, match=r"one per layer \(2\)"):
        _tiny(rnn="rbm", rbm_merge=["blend", "product", "product"])


@pytest.mark.parametrize("depth", [1, 3, 8])
def test_the_bottom_merge_is_one_setting_for_any_depth(depth):
    """`rbm_bottom_merge` (the small preset's accumulation) sets the bottom layer's merge at any depth,
    where a per-layer `rbm_merge` list fixes the depth; a list whose bottom disagrees is refused by name."""
    from deep_rnn_tf.tasks import resolve_config

    config = resolve_config("prediction", "small", [("command line", {"rnn_depth": depth})])
    merges = config.core_merges()
    assert merges == ["accumulate"] + ["product"] * (depth - 1)
    model = _tiny(rnn="rbm", rnn_depth=depth, jump=None, beta=0.0, predict_change=True, rbm_merge=merges)
    assert [cell.merge for cell in model.core.cells] == merges
    upper_sum = PredictionConfig(rnn_depth=depth, rbm_merge="sum", rbm_bottom_merge="blend").core_merges()
    assert upper_sum == ["blend"] + ["sum"] * (depth - 1)
    agreeing = PredictionConfig(rnn_depth=2, rbm_merge=["accumulate", "sum"], rbm_bottom_merge="accumulate")
    assert agreeing.core_merges() == ["accumulate", "sum"]
    with pytest.raises(ValueError, match=r"its bottom layer's merge 'blend' disagrees with rbm_bo"):
        PredictionConfig.from_dict({"rbm_merge": ["blend", "product", "product"], "rbm_bottom_merge": "sum"})


def test_paper_preset_keeps_the_original_and_small_names_its_departures():
    from deep_rnn_tf.tasks import resolve_config

    paper = resolve_config("prediction", "paper", []).to_dict()
    small = resolve_config("prediction", "small", []).to_dict()
    original = {"image_size": 128, "past": 10, "future": 10, "test_future": 20, "gf_dim": 64, "rnn": "rbm",
                "rnn_depth": 15, "rnn_filters": 256, "jump": 5, "p_td": 0.5, "alpha": 1.0, "beta": 0.02,
                "margin": 0.3, "lr": 1e-4, "beta1": 0.5, "batch_size": 8, "gdl_weight": 1.0}  # fmt: skip
    assert {key: paper[key] for key in original} == original
    departures_off = {"predict_change": False, "ssim_weight": 0.0, "lr_schedule": "constant",
                      "warmup_steps": 0, "clip_norm": None, "val_fraction": 0.0,
                      "content_frame": "previous", "pixel_loss": "mse", "rbm_normalization": None,
                      "convlstm_normalization": None, "rbm_activation": "relu", "rbm_merge": "product",
                      "rbm_bottom_merge": None, "rbm_memory_gain": 0.0, "rbm_leak": 0.0,
                      "rbm_kernel_gain": None,
                      "motion_residuals": True, "motion_residual_dropout": 0.0,
                      "core_to_skips": False, "select_from_start": False, "predict_flow": False,
                      "reverse_time": False, "flow_prior": None, "flow_prior_gains": None,
                      "flow_prior_dampings": None, "flow_prior_damping": 1.0,
                      "max_zoom": 1.0}  # fmt: skip
    assert {key: paper[key] for key in departures_off} == departures_off
    assert small["predict_change"] and small["val_fraction"] > 0 and small["lr_schedule"] == "cosine"
    assert small["core_to_skips"] and small["select_from_start"]
    assert small["rbm_bottom_merge"] == "accumulate" and small["rbm_normalization"] is None
    assert small["flow_prior"] == "lucas_kanade" and small["flow_prior_gains"] == [0.0, 0.5, 0.75, 1.0]
    assert small["flow_prior_dampings"] == [1.0, 0.9, 0.8, 0.7]
    with pytest.raises(ValueError, match="content_frame"):
        MCNet(content_frame="last")
    with pytest.raises(ValueError, match="ssim_weight"):
        MCNet(ssim_weight=-1.0)


@pytest.mark.parametrize("straight_through", [False, True])
def test_output_clip_gradient(straight_through):
    model = _tiny(beta=0.0, predict_change=True, straight_through_clip=straight_through)
    frames = tf.fill((1, 3, 16, 16, 1), -1.0)  # black: any negative change saturates the clip
    head = model.decoder.stages[-1][-1]
    model(frames)
    head.bias.assign(tf.fill(head.bias.shape, -0.5))
    with tf.GradientTape() as tape:
        out = model(frames, num_future=1)
        loss = tf.reduce_mean(tf.square(out - 1.0))  # the target is bright: the change should rise
    np.testing.assert_array_equal(out.numpy(), -np.ones_like(out.numpy()))  # forward is clipped either way
    grad = tape.gradient(loss, head.bias)
    assert (float(tf.reduce_max(tf.abs(grad))) > 0) == straight_through


def test_rbm_core_options_reach_every_cell_and_round_trip():
    model = _tiny(rbm_normalization="layer", rbm_activation="tanh", rbm_merge="sum", rbm_leak=0.5, beta=0.0)
    cells = model.core.cells
    assert [c.normalization for c in cells] == ["layer", "layer"]
    assert [c.leak for c in cells] == [0.5, 0.5]
    assert {c.get_config()["activation"] for c in cells} == {"tanh"}
    assert [c.merge for c in cells] == ["sum", "sum"]
    config = MCNet.from_config(model.get_config()).get_config()
    assert (config["rbm_normalization"], config["rbm_activation"]) == ("layer", "tanh")
    assert config["rbm_merge"] == "sum" and config["rbm_leak"] == 0.5
    assert _tiny().core.cells[0].merge == "product"  # the original's zeta
    assert _tiny().core.cells[0].leak == 0.0  # the original's gate keeps nothing additively
    with pytest.raises(ValueError, match="rbm_leak.*1.5"):
        _tiny(rbm_leak=1.5)
    assert _tiny().core.cells[0].normalization is None  # the original MCnet core has none
    with pytest.raises(ValueError, match="normalization"):
        _tiny(rbm_normalization="group")
    # The memory gain lowers the cells' gate bias by g/2: a sum out of the cell's range is refused under
    # both names the user typed, not as the cell's `gate_bias`.
    with pytest.raises(
        ValueError, match=r"gate_bias - rbm_memory_gain / 2 .* gate_bias=-6.0, rbm_memory_gain=10"
    ):
        _tiny(gate_bias=-6.0, rbm_memory_gain=10)
    assert _tiny(gate_bias=-6.0, rbm_memory_gain=8).core.cells[0].gate_bias == -10.0


def _with_random_change_head(model: MCNet, frames) -> MCNet:
    """Gives the zero-initialised change head random weights, so every path can move the output."""
    model(frames)
    head = model.decoder.stages[-1][-1]
    head.kernel.assign(tf.random.stateless_normal(head.kernel.shape, seed=(1, 2), stddev=0.5))
    return model


def _randomise(weights, seed: int) -> None:
    """Gives `weights` N(0, 0.5) values (stateless, weight i from seed (seed, i)): an untrained RBM stack's
    output and the 1/8 content code are too small for an ablation to show."""
    for i, weight in enumerate(weights):
        weight.assign(tf.random.stateless_normal(weight.shape, seed=(seed, i), stddev=0.5))


@pytest.mark.parametrize("rnn", ["rbm", "convlstm"])
def test_each_ablation_changes_the_prediction_and_is_undone(rnn):
    from deep_rnn_tf.tasks.prediction.ablation import ABLATIONS, ablated

    frames = tf.random.stateless_uniform((2, 3, 16, 16, 1), seed=(3, 4), minval=-1.0, maxval=1.0)
    model = _with_random_change_head(_tiny(rnn=rnn, beta=0.0, predict_change=True), frames)
    _randomise(model.core.weights, seed=7)
    _randomise(model.content_encoder.weights, seed=8)
    normal = model(frames, num_future=2).numpy()
    for what in ABLATIONS[1:]:
        with ablated(model, what):
            switched_off = model(frames, num_future=2).numpy()
        assert np.abs(switched_off - normal).max() > 1e-4, what
    np.testing.assert_array_equal(model(frames, num_future=2).numpy(), normal)  # restored after the block
    with pytest.raises(ValueError, match="what: expected one of"), ablated(model, "decoder"):
        pass


@pytest.mark.parametrize("rnn", ["rbm", "convlstm"])
def test_true_motion_feeds_the_true_frame_differences_back_and_is_undone(rnn):
    """Given its own rollout as the "truth", the model on true motion reproduces that rollout (so it feeds
    back exactly the difference the model computes, one step aligned); given another future, the first
    predicted frame (observed differences only) is unchanged and the later ones move."""
    from deep_rnn_tf.tasks.prediction.ablation import predict_in_batches, true_motion

    frames = tf.random.stateless_uniform((3, 3, 16, 16, 1), seed=(3, 4), minval=-1.0, maxval=1.0)
    model = _with_random_change_head(_tiny(rnn=rnn, beta=0.0, predict_change=True), frames)
    _randomise(model.core.trainable_weights, seed=7)
    observed = frames.numpy()
    own = model(frames, num_future=3).numpy()
    np.testing.assert_allclose(
        predict_in_batches(model, observed, 3, batch_size=2, future=own), own, atol=1e-6
    )
    other = tf.random.stateless_uniform(own.shape, seed=(5, 6), minval=-1.0, maxval=1.0).numpy()
    with true_motion(model, observed, other):
        on_other = model(frames, num_future=3).numpy()
    np.testing.assert_allclose(on_other[:, 0], own[:, 0], atol=1e-6)
    assert np.abs(on_other[:, 1:] - own[:, 1:]).max() > 1e-4
    np.testing.assert_array_equal(model(frames, num_future=3).numpy(), own)  # restored after the block


@pytest.mark.parametrize("rnn", ["rbm", "convlstm"])
def test_memory_use_measures_what_the_last_output_owes_to_the_states(rnn):
    """With random recurrent weights the last observed output moves when the states are reset; an RBM core
    whose recurrent kernels are zero (its only path through time without a leak) computes the same output
    with or without them (correlation 1, no change). The states' statistics come one per state tensor."""
    from deep_rnn_tf.tasks.prediction.ablation import memory_use

    frames = tf.random.stateless_uniform((5, 5, 16, 16, 1), seed=(3, 4), minval=-1.0, maxval=1.0)
    model = _tiny(rnn=rnn, beta=0.0, predict_change=True, rbm_normalization=None)
    model(frames[:, :3])
    _randomise(model.core.trainable_weights, seed=7)
    used = memory_use(model, frames.numpy(), batch_size=2)
    assert used["relative_change"] > 0.01 and used["output_correlation"] < 0.999
    assert len(used["states"]) == len(model.core.get_initial_state(1))
    assert all(s["temporal_std"] > 0 and s["spread"] > 0 for s in used["states"])
    with pytest.raises(ValueError, match="K >= 4"):
        memory_use(model, frames.numpy()[:, :3])
    if rnn == "convlstm":  # its cell state is carried additively even without recurrent kernels
        return
    for weight in model.core.weights:
        if "recurrent_kernel" in weight.path:
            weight.assign(tf.zeros_like(weight))
    memoryless = memory_use(model, frames.numpy(), batch_size=2)
    assert memoryless["relative_change"] < 1e-6 and memoryless["output_correlation"] > 0.999999


def test_memory_off_runs_every_step_with_the_first_steps_statistics():
    """With per-step batch statistics the memory-off ablation is every step run as the first one: the
    moving statistics of the later steps are never read, so it does not shift the gates of zero states."""
    from deep_rnn_tf.cells.step_normalization import StepwiseBatchNormalization
    from deep_rnn_tf.tasks.prediction.ablation import ablated

    frames = tf.random.stateless_uniform((2, 3, 16, 16, 1), seed=(3, 4), minval=-1.0, maxval=1.0)
    model = _with_random_change_head(
        _tiny(beta=0.0, predict_change=True, rbm_normalization="batch_per_step"), frames
    )
    _randomise(model.core.trainable_weights, seed=7)  # not the moving statistics: variances stay positive
    norms = [layer for layer in model._flatten_layers() if isinstance(layer, StepwiseBatchNormalization)]
    assert norms
    for norm in norms:  # as after training on 8 core steps, every later row with its own statistics
        norm.trained_steps.assign(8.0)
    with ablated(model, "core_memory"):
        before = model(frames, num_future=2).numpy()
    for norm in norms:  # later rows only: the first row (the one memory-off reads) is untouched
        shifted = np.array(norm.moving_mean.numpy())
        shifted[1:] += 5.0
        norm.moving_mean.assign(shifted)
    with ablated(model, "core_memory"):
        np.testing.assert_array_equal(model(frames, num_future=2).numpy(), before)
    assert np.abs(model(frames, num_future=2).numpy() - before).max() > 1e-4  # the normal run reads them


def test_without_motion_residuals_motion_reaches_the_decoder_through_the_core_only():
    from deep_rnn_tf.tasks.prediction.ablation import ablated

    frames = tf.random.stateless_uniform((2, 3, 16, 16, 1), seed=(5, 6), minval=-1.0, maxval=1.0)
    model = _with_random_change_head(_tiny(beta=0.0, predict_change=True, motion_residuals=False), frames)
    assert model.decoder.residual[0][0].kernel.shape[2] == 4  # the content's gf_dim channels only
    normal = model(frames, num_future=2).numpy()
    with ablated(model, "motion_residuals"):  # nothing reads them: the same output
        np.testing.assert_array_equal(model(frames, num_future=2).numpy(), normal)
    assert MCNet.from_config(model.get_config()).get_config()["motion_residuals"] is False


def test_motion_residual_dropout_drops_them_in_training_only():
    from deep_rnn_tf.tasks.prediction.ablation import ablated

    frames = tf.random.stateless_uniform((4, 3, 16, 16, 1), seed=(8, 9), minval=-1.0, maxval=1.0)
    model = _with_random_change_head(_tiny(beta=0.0, predict_change=True, p_td=0.0), frames)
    with ablated(model, "motion_residuals"):
        without = model(frames, training=True, num_future=2).numpy()
    normal = model(frames, num_future=2).numpy()
    model.motion_residual_dropout = 0.999  # every sequence loses its residuals (each keeps them w.p. 1e-3)
    np.testing.assert_allclose(model(frames, training=True, num_future=2).numpy(), without, atol=1e-6)
    np.testing.assert_array_equal(model(frames, num_future=2).numpy(), normal)  # inference keeps them
    assert MCNet.from_config(model.get_config()).motion_residual_dropout == 0.999
    with pytest.raises(ValueError, match="motion_residual_dropout"):
        _tiny(motion_residual_dropout=1.0)


def test_motion_residual_dropout_under_mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:  # the residuals are float16 there: the keep mask must follow their dtype
        model = _tiny(beta=0.0, predict_change=True, motion_residual_dropout=0.5)
        out = model(tf.zeros((2, 3, 16, 16, 1)), training=True, num_future=2)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert out.shape == (2, 2, 16, 16, 1)


def test_convlstm_core_and_longer_test_horizon():
    model = _tiny(rnn="convlstm", beta=0.0)
    frames = tf.random.uniform((2, 3, 16, 16, 1), -1, 1)
    assert model(frames).shape == (2, 2, 16, 16, 1)
    out = model(frames, num_future=4)
    assert out.shape == (2, 4, 16, 16, 1)
    assert float(tf.reduce_max(tf.abs(out))) <= 1.0  # tanh output
    assert len(model.core.cells) == 1


def test_gan_training_steps_update_both_networks():
    model = _tiny(beta=0.02, df_dim=4)
    model.compile(optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5))
    model.build((None, 3, 16, 16, 1))
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (4, 3, 16, 16, 1)).astype("float32")
    y = rng.uniform(-1, 1, (4, 2, 16, 16, 1)).astype("float32")
    d_before = [v.numpy().copy() for v in model.discriminator.trainable_variables]
    g_before = model.decoder.trainable_variables[0].numpy().copy()
    history = model.fit(x, y, batch_size=2, epochs=1, verbose=0, shuffle=False)
    logs = {k: v[-1] for k, v in history.history.items()}
    assert {"loss", "l_p", "gdl", "d_real", "d_fake", "g_gan"} <= set(logs)
    assert all(np.isfinite(v) for v in logs.values())
    assert not np.allclose(g_before, model.decoder.trainable_variables[0].numpy())
    assert any(
        not np.allclose(a, v.numpy())
        for a, v in zip(d_before, model.discriminator.trainable_variables, strict=True)
    )
    assert float(model.update_d.numpy()) in (0.0, 1.0) and float(model.update_g.numpy()) in (0.0, 1.0)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """The tiny preset trained for 1 epoch through `deep-rnn train`, then resumed to 2 epochs."""
    root = tmp_path_factory.mktemp("prediction")
    data_dir = str(root / "kth")
    run_dir = str(root / "run")
    assert cli(["data", "synth-kth", "--out", data_dir, "--train-persons", "1", "--test-persons", "1",
                "--frames", "30", "--quiet"]) == 0  # fmt: skip
    train = [
        "train",
        "prediction",
        *tiny_args("prediction", root),
        "--data-dir",
        data_dir,
        "--run-dir",
        run_dir,
        "--quiet",
    ]
    assert cli([*train, "--seed", "3"]) == 0
    first = sorted(n for n in os.listdir(os.path.join(run_dir, "checkpoints")) if n.startswith("epoch"))
    assert cli([*train, "--seed", "3", "--epochs", "2"]) == 0
    return root, data_dir, run_dir, first


def test_training_runs_and_resumes(trained_run):
    _, _, run_dir, first = trained_run
    assert first == ["epoch-0001.weights.h5"]
    assert "epoch-0002.weights.h5" in os.listdir(os.path.join(run_dir, "checkpoints"))
    with open(os.path.join(run_dir, "metrics.csv")) as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["epoch"]) for r in rows] == [0, 1]  # epoch 1 was resumed, not retrained
    assert all(np.isfinite(float(r["loss"])) for r in rows)
    # Validation comes from the training videos; the best epoch by val_loss is kept for test/export.
    with open(os.path.join(run_dir, "checkpoints", "best.json")) as handle:
        best = json.load(handle)
    val_losses = [float(r["val_loss"]) for r in rows]
    # The small preset offers the untrained start (copy-last-frame) too, as epoch 0 (select_from_start).
    if best["epoch"] == 0:
        assert best["value"] < min(val_losses)
    else:
        assert best["epoch"] == 1 + int(np.argmin(val_losses))
        assert best["value"] == pytest.approx(min(val_losses), rel=1e-5)
    with open(os.path.join(run_dir, "config.json")) as handle:
        assert json.load(handle)["rnn"] == "rbm"


def test_test_command_writes_the_protocol_outputs(trained_run):
    _, _, run_dir, _ = trained_run
    assert cli(["test", "prediction", "--run-dir", run_dir, "--run-name", "t", "--quiet"]) == 0
    folder = os.path.join(run_dir, "results", "quantitative", "KTH", "t")
    model_npz = np.load(os.path.join(folder, "results_model=MCNET_rbm.npz"))
    copy_npz = np.load(os.path.join(folder, "results_model=copy_last_frame.npz"))
    windows = model_npz["psnr"].shape[0]
    assert windows == 8 and model_npz["psnr"].shape == (windows, 3) == copy_npz["ssim"].shape
    assert "psnr_openstl" in model_npz and np.isfinite(model_npz["ssim"]).all()
    # The copy-last-frame baseline is clearly worse than perfect on the synthetic set.
    assert 15 < float(np.mean(copy_npz["psnr"])) < 60
    assert os.path.isfile(os.path.join(folder, "per_step.png"))
    with open(os.path.join(folder, "per_step.md")) as handle:
        table = handle.read()
    assert "| copy_last_frame | PSNR |" in table and "| flow_extrapolation | PSNR |" in table
    flow_npz = np.load(os.path.join(folder, "results_model=flow_extrapolation.npz"))
    assert flow_npz["psnr"].shape == (windows, 3) and not np.array_equal(flow_npz["psnr"], copy_npz["psnr"])
    # One row per test video, its windows counted: together every window of the test.
    by_video = table.split("By test video")[1].splitlines()
    assert "| video | windows | MCNET_rbm PSNR | MCNET_rbm SSIM | copy_last_frame PSNR |" in by_video[2]
    assert sum(int(row.split("|")[2]) for row in by_video[4:] if row.startswith("| ")) == windows
    gifs = os.path.join(run_dir, "results", "images", "KTH", "t")
    assert any(name == "gt_pred.gif" for _, _, files in os.walk(gifs) for name in files)


@pytest.mark.parametrize(("gain", "baseline"), [("0", "copy_last_frame"), ("0.5", "flow_extrapolation")])
def test_a_run_whose_training_only_hurts_tests_as_its_start(trained_run, tmp_path, gain, baseline):
    # A learning rate of 5 wrecks the model in its first steps; validation keeps the start (epoch 0), which
    # the change head makes copy-last-frame exactly (flow prior gain 0) or flow extrapolation (gain 0.5), so
    # the test scores the model and that baseline alike to the last digit.
    root, data_dir, _, _ = trained_run
    run_dir = str(tmp_path / "wrecked")
    train = ["train", "prediction", *tiny_args("prediction", root), "--data-dir", data_dir, "--run-dir",
             run_dir, "--quiet", "--seed", "0", "--lr", "5", "--lr-schedule", "constant",
             "--warmup-steps", "0", "--flow-prior-gains", gain]  # fmt: skip
    assert cli(train) == 0
    with open(os.path.join(run_dir, "checkpoints", "best.json")) as handle:
        best = json.load(handle)
    with open(os.path.join(run_dir, "metrics.csv")) as handle:
        val_losses = [float(r["val_loss"]) for r in csv.DictReader(handle)]
    assert best["epoch"] == 0 and best["value"] < min(val_losses), (best, val_losses)
    assert cli(["test", "prediction", "--run-dir", run_dir, "--run-name", "t", "--quiet"]) == 0
    folder = os.path.join(run_dir, "results", "quantitative", "KTH", "t")
    model_npz = np.load(os.path.join(folder, "results_model=MCNET_rbm.npz"))
    start_npz = np.load(os.path.join(folder, f"results_model={baseline}.npz"))
    np.testing.assert_array_equal(model_npz["psnr"], start_npz["psnr"])
    # Without the option the same run keeps its best trained epoch.
    assert cli([*train, "--run-dir", str(tmp_path / "plain"), "--no-select-from-start"]) == 0
    with open(tmp_path / "plain" / "checkpoints" / "best.json") as handle:
        assert json.load(handle)["epoch"] == 1


def test_export_command_runs_without_the_package(trained_run):
    root, _, run_dir, _ = trained_run
    export_dir = str(root / "saved_models")
    assert cli(["export", "prediction", "--run-dir", run_dir, "--export-dir", export_dir,
                "--export-future", "4", "--quiet"]) == 0  # fmt: skip
    path = os.path.join(export_dir, "prediction", "1")
    frames = np.random.default_rng(0).integers(0, 256, (2, 3, 16, 16, 1), dtype=np.uint8)
    np.save(root / "frames.npy", frames)
    script = textwrap.dedent(
        f"""
        import json, sys
        import numpy as np, tensorflow as tf
        loaded = tf.saved_model.load({path!r})
        frames = tf.constant(np.load({str(root / "frames.npy")!r}))
        out = loaded.signatures["serving_default"](frames=frames)
        np.save({str(root / "future.npy")!r}, out["future"].numpy())
        print(json.dumps({{"leaked": [m for m in sys.modules if m.startswith("deep_rnn_tf")]}}))
        """
    )
    env = {**os.environ, "PYTHONPATH": ""}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=str(root), env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1])["leaked"] == []
    future = np.load(root / "future.npy")
    assert future.shape == (2, 4, 16, 16, 1)  # T fixed at export by --export-future
    assert future.dtype == np.uint8 and not np.array_equal(future[0], future[1])  # uint8 in, uint8 out


def test_a_flow_prior_run_trains_tests_and_exports(trained_run, tmp_path):
    """The Lucas-Kanade prior inside a whole run: trained through `deep-rnn train`, and the exported
    SavedModel (the flow measured by plain TF ops inside it) predicts what the model does."""
    root, data_dir, _, _ = trained_run
    run_dir = str(tmp_path / "flow")
    train = ["train", "prediction", *tiny_args("prediction", root), "--data-dir", data_dir, "--run-dir",
             run_dir, "--quiet", "--seed", "0", "--flow-prior", "lucas_kanade", "--predict-flow",
             "--flow-prior-gains", "0,0.5", "--flow-prior-dampings", "1,0.8",
             "--max-zoom", "1.25"]  # fmt: skip
    assert cli(train) == 0
    with open(os.path.join(run_dir, "config.json")) as handle:
        saved = json.load(handle)
    assert saved["max_zoom"] == 1.25  # trains through the zoomed pipeline
    assert saved["flow_prior"] == "lucas_kanade" and saved["flow_prior_gains"] == [0.0, 0.5]
    assert saved["flow_prior_dampings"] == [1.0, 0.8]
    export_dir = str(tmp_path / "saved")
    assert cli(["export", "prediction", "--run-dir", run_dir, "--export-dir", export_dir, "--quiet"]) == 0
    loaded = tf.saved_model.load(os.path.join(export_dir, "prediction", "1"))
    frames = np.random.default_rng(1).integers(0, 256, (2, 3, 16, 16, 1), dtype=np.uint8)
    served = loaded.signatures["serving_default"](frames=tf.constant(frames))["future"].numpy()
    from deep_rnn_tf.cli import _trained_model

    model = _trained_model("test", ["prediction", "--run-dir", run_dir, "--quiet"])[-1]
    # The candidate chosen at the start, in the weights.
    assert float(model.prior_gain.numpy()) in (0.0, 0.5)
    assert round(float(model.prior_damping.numpy()), 4) in (1.0, 0.8)
    expected = model(tf.constant(frames, tf.float32) / 127.5 - 1.0, num_future=3).numpy()
    expected_pixels = np.clip((expected + 1.0) / 2.0 * 255.0, 0, 255).astype(np.uint8)
    assert served.shape == (2, 3, 16, 16, 1)
    assert np.abs(served.astype(int) - expected_pixels.astype(int)).max() <= 1


def test_keras_file_roundtrip(tmp_path):
    model = _tiny(beta=0.02, df_dim=4)
    model.build((None, 3, 16, 16, 1))
    frames = tf.random.uniform((2, 3, 16, 16, 1), -1, 1, seed=1)
    expected = model(frames).numpy()
    model.save(tmp_path / "mcnet.keras")
    loaded = keras.saving.load_model(tmp_path / "mcnet.keras")
    assert loaded.get_config()["rnn_depth"] == 2 and loaded.discriminator is not None
    np.testing.assert_allclose(loaded(frames).numpy(), expected, atol=1e-6)


def test_l1_pixel_loss_is_the_mean_absolute_error_and_the_mse_stays_the_default():
    prediction = tf.constant([[[[[0.5]], [[-0.5]]]]])  # (1, 1, 2, 1, 1) on [-1, 1]
    future = tf.constant([[[[[0.0]], [[0.5]]]]])
    l1, _ = _tiny(beta=0.0, pixel_loss="l1").image_losses(future, prediction)
    mse, _ = _tiny(beta=0.0).image_losses(future, prediction)
    np.testing.assert_allclose(float(l1), (0.5 + 1.0) / 2)
    np.testing.assert_allclose(float(mse), (0.25 + 1.0) / 2)
    assert MCNet.from_config(_tiny(pixel_loss="l1").get_config()).pixel_loss == "l1"


def test_bce_pixel_loss_keeps_a_gradient_where_the_frame_saturates():
    model = _tiny(beta=0.0, pixel_loss="bce")
    frames = tf.fill((1, 3, 16, 16, 1), -1.0)
    head = model.decoder.stages[-1][-1]
    model(frames)
    head.bias.assign(tf.fill(head.bias.shape, -30.0))  # tanh(-30) == -1 in float32: a saturated black frame
    future = tf.ones((1, 2, 16, 16, 1))  # the truth is white
    with tf.GradientTape(persistent=True) as tape:
        out, logits = model(frames, return_logits=True)
        bce, _ = model.image_loss(future, out, logits)
        mse, _ = model.image_loss(future, out)
    np.testing.assert_array_equal(out.numpy(), -np.ones_like(out.numpy()))
    np.testing.assert_allclose(np.tanh(logits.numpy() / 2), out.numpy())  # logits are the [0, 1] frame's
    assert float(tf.reduce_max(tf.abs(tape.gradient(bce, head.bias)))) > 0.1
    assert float(tf.reduce_max(tf.abs(tape.gradient(mse, head.bias)))) == 0.0  # the trap the option avoids
    assert MCNet.from_config(model.get_config()).pixel_loss == "bce"
    with pytest.raises(ValueError, match="pixel_loss"):
        _tiny(pixel_loss="bce", predict_change=True)
    with pytest.raises(ValueError, match="pixel_loss"):
        _tiny(pixel_loss="huber")
    with pytest.raises(ValueError, match="return_logits"):
        _tiny(beta=0.0)(frames, return_logits=True)  # the MSE model's head has no logits


def test_rbm_kernel_gain_scales_the_input_kernels_and_round_trips():
    def kernel_std(model):
        return np.std(np.concatenate([c.representation_kernel.numpy().ravel() for c in model.core.cells]))

    gained, default = _tiny(rbm_kernel_gain=3.0, beta=0.0), _tiny(beta=0.0)
    # Xavier normal with gain 3 against Glorot uniform: 3x the standard deviation (same fans).
    assert 2.5 < kernel_std(gained) / kernel_std(default) < 3.5
    assert MCNet.from_config(gained.get_config()).rbm_kernel_gain == 3.0
    with pytest.raises(ValueError, match="rbm_kernel_gain"):
        _tiny(rbm_kernel_gain=0.0)
    with pytest.raises(ValueError, match="rbm_kernel_gain"):
        PredictionConfig(rbm_kernel_gain=-1.0).check()


@pytest.mark.parametrize("core_to_skips", [False, True])
def test_core_to_skips_lets_the_core_reach_the_decoder_beside_the_bottleneck(core_to_skips):
    from deep_rnn_tf.tasks.prediction.ablation import ablated

    frames = tf.random.stateless_uniform((2, 3, 16, 16, 1), seed=(3, 4), minval=-1.0, maxval=1.0)
    model = _tiny(beta=0.0, predict_change=True, core_to_skips=core_to_skips)
    model = _with_random_change_head(model, frames)
    _randomise(model.core.weights, seed=7)
    for conv in model.decoder.combination:  # cut the 1/8 bottleneck: the skips are the only way left
        conv.kernel.assign(tf.zeros_like(conv.kernel))
    normal = model(frames, num_future=2).numpy()
    with ablated(model, "core_output"):
        without_core = model(frames, num_future=2).numpy()
    assert (np.abs(without_core - normal).max() > 1e-4) == core_to_skips
    assert MCNet.from_config(model.get_config()).core_to_skips == core_to_skips


@pytest.mark.parametrize("core_state_out", [False, True])
def test_core_state_out_lets_the_decoder_read_the_rbm_gates_where_the_output_is_silent(core_state_out):
    frames = tf.random.stateless_uniform((2, 3, 16, 16, 1), seed=(3, 4), minval=-1.0, maxval=1.0)
    model = _tiny(beta=0.0, predict_change=True, core_to_skips=True, core_state_out=core_state_out)
    model = _with_random_change_head(model, frames)
    top = model.core.cells[-1]
    top.representation_kernel.assign(tf.zeros_like(top.representation_kernel))  # r = relu(0) = 0: h = r s = 0
    top.representation_bias.assign(tf.zeros_like(top.representation_bias))
    before = model(frames, num_future=2).numpy()
    top.temporal_bias.assign(tf.fill(top.temporal_bias.shape, 3.0))  # changes the gates s, not h
    after = model(frames, num_future=2).numpy()
    assert (np.abs(after - before).max() > 1e-4) == core_state_out
    restored = MCNet.from_config(model.get_config())
    assert restored.core_state_out == core_state_out
    if core_state_out:  # the decoder's first layer reads the output and the state: twice the core's width
        assert model.decoder.combination[0].kernel.shape[2] == 2 * 8 + model.gf_dim * 4


def test_batch_per_step_core_keeps_one_row_per_core_step():
    # The core is driven one step per call: its step index must still reach the cells, so each of the
    # K - 1 encoder steps and T - 1 fed-back steps fills its own row of moving statistics.
    model = _tiny(rbm_normalization="batch_per_step", beta=0.0)
    frames = tf.random.uniform((4, 3, 16, 16, 1), -1.0, 1.0, seed=1)
    model(frames, training=True, num_future=4)  # 2 encoder + 3 fed-back steps
    for cell in model.core.cells:
        norm = cell.temporal_norm
        assert float(norm.trained_steps) == 5.0
        filled = np.asarray(norm.moving_mean)
        assert np.all(np.abs(filled[:5]).sum(axis=1) > 0) and np.all(filled[5:] == 0)
        assert len({tuple(np.round(row, 6)) for row in filled[:5]}) == 5  # distinct statistics per step
    # Inference uses the rows: the output depends on which row a step reads (row 0 for all would differ).
    predicted = model(frames, training=False, num_future=4)
    first = model.core.cells[0].temporal_norm
    first.moving_mean.assign(tf.tile(first.moving_mean[:1], [first.steps, 1]))
    assert not np.allclose(predicted, model(frames, training=False, num_future=4))
    assert MCNet.from_config(model.get_config()).get_config()["rbm_normalization"] == "batch_per_step"


def test_convlstm_core_takes_the_same_per_step_normalisation():
    model = _tiny(rnn="convlstm", convlstm_normalization="batch_per_step", beta=0.0)
    frames = tf.random.uniform((4, 3, 16, 16, 1), -1.0, 1.0, seed=1)
    model(frames, training=True, num_future=4)  # 2 encoder + 3 fed-back core steps
    (cell,) = model.core.cells
    assert float(cell.cell_norm.trained_steps) == 5.0
    assert MCNet.from_config(model.get_config()).get_config()["convlstm_normalization"] == "batch_per_step"
    assert _tiny(rnn="convlstm").core.cells[0].normalization is None  # MCnet's own core by default
