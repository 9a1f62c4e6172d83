"""`projection="conv_bn_relu"`: the original's ShortCut (1x1 conv + BN + ReLU) on every residual jump."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from deep_rnn_tf import ConvRNN, DeepCell, DeepRNN, RBMCell
from deep_rnn_tf.cells.deep import build_deep_cell


def test_every_jump_gets_conv_bn_relu_even_when_shapes_match():
    cell = build_deep_cell("rbm", depth=4, filters=6, jump=2, projection="conv_bn_relu")
    ConvRNN(cell)(tf.zeros((2, 3, 8, 8, 6)))
    assert len(cell.projection_layers) == 2  # "auto" would build none: every block keeps 6 channels
    for block in cell.projection_layers:
        kinds = [type(layer).__name__ for layer in block.layers]
        assert kinds == ["Conv2D", "BatchNormalization", "ReLU"]
    auto = build_deep_cell("rbm", depth=4, filters=6, jump=2, projection="auto")
    ConvRNN(auto)(tf.zeros((2, 3, 8, 8, 6)))
    assert auto.projection_layers == []


def test_config_round_trip_keeps_the_projection():
    cell = DeepCell([RBMCell(4), RBMCell(4)], jump=2, projection="conv_bn_relu")
    clone = DeepCell.from_config(cell.get_config())
    assert clone.projection == "conv_bn_relu"


def test_fast_path_matches_step_path_and_batch_norm_learns_statistics():
    keras.utils.set_random_seed(0)
    layer = DeepRNN("rbm", depth=4, filters=5, jump=2, projection="conv_bn_relu", return_sequences=True)
    x = tf.random.normal((3, 4, 6, 6, 5))
    fast = layer(x, training=False)
    step = ConvRNN(layer.cell, return_sequences=True)(x, training=False)  # same weights, per-step loop
    np.testing.assert_allclose(fast.numpy(), step.numpy(), atol=1e-5)
    bn = layer.cell.projection_layers[0].layers[1]
    before = bn.moving_mean.numpy().copy()
    layer(x, training=True)
    assert not np.allclose(before, bn.moving_mean.numpy())  # training mode updates the BN statistics


def test_gradients_flow_through_the_projection():
    layer = DeepRNN("rbm", depth=4, filters=4, jump=2, projection="conv_bn_relu")
    x = tf.random.uniform((2, 3, 6, 6, 4))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x, training=True))
    kernel = layer.cell.projection_layers[0].layers[0].kernel
    assert float(tf.reduce_max(tf.abs(tape.gradient(loss, kernel)))) > 0


def test_unknown_projection_names_the_choices():
    with pytest.raises(ValueError, match="conv_bn_relu"):
        DeepCell([RBMCell(4)], projection="bn")


@pytest.mark.parametrize("rnn", ["rbm15", "convlstm15"])
def test_action_stacks_take_the_option(rnn):
    from deep_rnn_tf.tasks.action import models

    config = {
        "image_size": [16, 16],
        "backbone": "tiny",
        "backbone_weights": "none",
        "width": 4,
        "hidden": 8,
        "depth": 4,
        "jump": 2,
        "rnn": rnn,
        "jump_projection": "conv_bn_relu",
    }
    model = models.build_clip_model(config, num_classes=3)
    cell = model.get_layer(rnn).cell
    assert cell.projection == "conv_bn_relu" and len(cell.projection_layers) == 2
    frames = np.random.default_rng(0).uniform(0, 255, (2, 3, 16, 16, 3)).astype("float32")
    assert model(frames, training=True).shape == (2, 3, 3)


def test_action_config_field_and_flag():
    """`jump_projection` is a typed ActionConfig field (default "always"), set by `--jump-projection`."""
    from deep_rnn_tf import cli
    from deep_rnn_tf.tasks import get_task, resolve_config
    from deep_rnn_tf.tasks.action.config import ActionConfig

    assert ActionConfig().jump_projection == "always"
    task = get_task("action")
    args = cli._task_command_parser("train", task).parse_args(["action", "--jump-projection", "conv_bn_relu"])
    assert cli.resolve_config(task, args).jump_projection == "conv_bn_relu"
    with pytest.raises(ValueError, match="jump_projection"):
        resolve_config("action", "small", [("--config run.json", {"jump_projection": "bn"})])
