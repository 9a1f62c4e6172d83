"""The shared task pieces: typed configs and presets, example batches, the evaluation driver, ResultsWriter,
and the trainer's second-optimizer hook."""

from __future__ import annotations

import json
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from deep_rnn_tf.evaluation.driver import gather
from deep_rnn_tf.evaluation.results import ResultsWriter, markdown_table
from deep_rnn_tf.tasks import TASKS, get_task, presets_of, resolve_config
from deep_rnn_tf.training.trainer import StepLosses, TaskModel
from tests.presets import tiny_config


def test_presets_are_data_and_listed_without_tensorflow():
    code = (
        "import sys, json; from deep_rnn_tf.tasks import presets_of, TASKS; "
        "print(json.dumps({t: {p: v.description for p, v in presets_of(t).items()} for t in TASKS})); "
        "print('tf' if any(m == 'tensorflow' or m == 'keras' for m in sys.modules) else 'no-tf')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    listed, imported = done.stdout.strip().splitlines()[-2:]
    presets = json.loads(listed)
    assert set(presets["prediction"]) == {"paper", "small"} and "tiny" not in presets["demo"]
    assert set(presets["action"]) == {"paper", "paper_standalone", "small"}
    assert all(description for task in presets.values() for description in task.values())
    if imported == "tf":  # deep_rnn_tf/__init__ may still import TF eagerly (the package's lazy import)
        pytest.skip("the package root imports TensorFlow; presets_of itself imports no TF module")


def test_preset_values_match_the_original_and_the_cpu_presets():
    paper = resolve_config("prediction", "paper")
    assert (paper.image_size, paper.past, paper.future, paper.test_future) == (128, 10, 10, 20)
    assert (paper.rnn_depth, paper.rnn_filters, paper.beta, paper.lr, paper.beta1) == (
        15,
        256,
        0.02,
        1e-4,
        0.5,
    )
    small = resolve_config("prediction", "small")
    assert (small.image_size, small.past, small.future, small.rnn_depth, small.beta) == (32, 5, 10, 3, 0.0)
    assert (small.lr, small.epochs, small.steps_per_epoch, small.batch_size) == (1e-3, 10, 100, 8)
    polygon = resolve_config("polygon", "paper")
    assert polygon.resolved_filters() == [256, 256, 128, 128, 128, 128, 64, 64, 64, 64, 64, 64, 32, 32, 8]
    assert resolve_config("polygon", "small", [("flag", {"depth": 5})]).resolved_filters() == [
        128,
        128,
        64,
        32,
        8,
    ]
    action = resolve_config("action", "small")
    assert (action.image_size, action.backbone, action.p_td, action.lr) == ((32, 32), "tiny", 0.5, 3e-3)
    assert resolve_config("demo").filters == 16


def test_bad_config_values_name_the_key_and_the_source():
    with pytest.raises(ValueError, match=r"^--config run\.json: image_size: expected int, received 'big'$"):
        resolve_config("prediction", "small", [("--config run.json", {"image_size": "big"})])
    with pytest.raises(ValueError, match=r"^--config x\.json: unknown key 'colour'"):
        resolve_config("demo", None, [("--config x.json", {"colour": 1})])
    with pytest.raises(ValueError, match="rnn: expected one of 'rbm', 'convlstm'"):
        resolve_config("prediction", None, [("command line", {"rnn": "gru"})])
    with pytest.raises(ValueError, match="image_size: must be a positive multiple of 8"):
        resolve_config("prediction", None, [("command line", {"image_size": 30})])
    with pytest.raises(ValueError, match=r"`head_dropout` must be in \[0, 1\)\. Received: head_dropout=1\.0"):
        resolve_config("action", "small", [("command line", {"head_dropout": 1.0})])
    negative_hinge = r"`anticipation_weight` must be a number >= 0\. Received: anticipation_weight=-0\.5"
    with pytest.raises(ValueError, match=negative_hinge):
        resolve_config("action", "small", [("command line", {"anticipation_weight": -0.5})])
    with pytest.raises(
        ValueError, match=r"`anticipation_warmup` must be a non-negative integer\. Received: "
    ):
        resolve_config("action", "small", [("command line", {"anticipation_warmup": -2})])
    with pytest.raises(ValueError, match=r"`frame_loss` must be a number >= 0\. Received: frame_loss=-1\.0"):
        resolve_config("action", "small", [("command line", {"frame_loss": -1.0})])
    with pytest.raises(ValueError, match=r"`rbm_leak` must be in \[0\.0, 0\.99\]\. Received: rbm_leak=1\.5"):
        resolve_config("prediction", "small", [("command line", {"rbm_leak": 1.5})])
    with pytest.raises(ValueError, match="--preset 'huge'"):
        resolve_config("demo", "huge")
    # "none" from a command line switches off what a preset switched on; a typo is still named.
    small = resolve_config("prediction", "small")
    assert small.rbm_bottom_merge == "accumulate"
    off = resolve_config("prediction", "small", [("command line", {"rbm_bottom_merge": "none"})])
    assert off.rbm_bottom_merge is None and off.to_dict()["rbm_bottom_merge"] is None
    typo = "rbm_normalization: expected one of 'batch'.* or null, received 'nne'"
    with pytest.raises(ValueError, match=typo):
        resolve_config("prediction", "small", [("command line", {"rbm_normalization": "nne"})])
    # int widens to float, lists become tuples, a saved config.json round-trips.
    config = resolve_config("action", "small", [("flag", {"lr": 1, "image_size": [16, 16]})])
    assert config.lr == 1.0 and config.image_size == (16, 16)
    assert type(config).from_dict(json.loads(json.dumps(config.to_dict()))) == config


@pytest.mark.parametrize("name", ["demo", "prediction", "polygon"])
def test_example_batch_needs_no_data(name):
    task = get_task(name)
    config = tiny_config(name, **({"crops": "/nonexistent"} if name == "polygon" else {}))
    x, y = task.example_batch(config, 2)
    assert x.shape[0] == y.shape[0] == 2
    assert name in TASKS and presets_of(name)


def test_gather_concatenates_arrays_and_lists_with_targets():
    batches = [(np.full((2, 3), i, np.float32), np.array([i, i])) for i in range(3)]
    out = gather(batches, lambda x: tf.reduce_sum(x, axis=1))
    np.testing.assert_array_equal(out["outputs"], [0, 0, 3, 3, 6, 6])
    np.testing.assert_array_equal(out["targets"], [0, 0, 1, 1, 2, 2])
    kept = gather(batches, lambda x: x, keep=lambda batch, outputs: {"ids": [int(v) for v in batch[1]]})
    assert kept["ids"] == [0, 0, 1, 1, 2, 2]
    with pytest.raises(ValueError, match="no batch"):
        gather([], lambda x: x)


def test_results_writer_writes_every_format_atomically(tmp_path):
    writer = ResultsWriter.for_run(tmp_path)
    assert writer.root == tmp_path / "results"
    assert json.loads(writer.json("a/m.json", {"x": np.float32(0.5)}).read_text()) == {"x": 0.5}
    assert writer.csv("t.csv", ["a", "b"], [[1, 2]]).read_text().splitlines() == ["a,b", "1,2"]
    assert "| 1 | 0.5000 |" in writer.markdown_table("t.md", ["a", "b"], [[1, 0.5]], title="T").read_text()
    with np.load(writer.npz("r.npz", psnr=np.ones((2, 3)))) as data:
        assert data["psnr"].shape == (2, 3)
    assert writer.image("i.png", np.zeros((4, 5, 3), np.uint8)).stat().st_size > 0
    assert writer.gif("g.gif", np.zeros((3, 4, 4), np.uint8)).stat().st_size > 0
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    assert writer.figure("f.png", plt.figure()).stat().st_size > 0
    assert not [p for p in writer.root.rglob("*") if ".tmp" in p.name]
    with pytest.raises(ValueError, match="relative"):
        writer.json("../escape.json", {})
    assert markdown_table(["a"], [[None]]).splitlines()[-1] == "| - |"


class TwoPlayers(TaskModel):
    """A toy GAN-shaped model: the second optimizer trains `critic` on its own loss, gated by a flag."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.generator = keras.layers.Dense(1)
        self.critic = keras.layers.Dense(1)
        self.generator.build((None, 2))
        self.critic.build((None, 1))
        self.allow_critic = True

    def call(self, x, training=False):
        return self.generator(x)

    def logged_names(self):
        return ["critic_loss"]

    def second_variables(self):
        return list(self.critic.trainable_variables)

    def compute_losses(self, data, training):
        x, y = data
        fake = self(x)
        critic_loss = tf.reduce_mean(tf.square(self.critic(tf.stop_gradient(fake)) - 1.0))
        loss = tf.reduce_mean(tf.square(fake - y))
        return StepLosses(loss, {"critic_loss": critic_loss}, second_loss=critic_loss)

    def apply_updates(self, gradients, variables, second_gradients, second_variables, losses):
        self.optimizer.apply(gradients, variables)
        if self.allow_critic:
            self.second_optimizer.apply(second_gradients, second_variables)


@pytest.mark.parametrize("allow_critic", [True, False])
def test_second_optimizer_trains_only_its_variables_through_the_hook(allow_critic):
    model = TwoPlayers()
    model.allow_critic = allow_critic
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    assert model.second_optimizer is not None and model.second_optimizer is not model.optimizer
    critic_before = [v.numpy().copy() for v in model.critic.trainable_variables]
    generator_before = model.generator.kernel.numpy().copy()
    history = model.fit(np.ones((4, 2), np.float32), np.ones((4, 1), np.float32), epochs=1, verbose=0).history
    assert set(history) == {"loss", "critic_loss"}
    assert not np.allclose(generator_before, model.generator.kernel.numpy())
    changed = any(
        not np.allclose(a, v.numpy())
        for a, v in zip(critic_before, model.critic.trainable_variables, strict=True)
    )
    assert changed == allow_critic
