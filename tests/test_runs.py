"""Run directory, atomic checkpoints, resume after SIGKILL, NaN guard, --seed repeatability."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from deep_rnn_tf.atomic_io import atomic_path
from deep_rnn_tf.tasks import get_task
from deep_rnn_tf.training.runs import (
    COMMON_DEFAULTS,
    RunDirectory,
    TrainingDivergedError,
    load_checkpoint,
    train,
    trim_metrics_csv,
)
from deep_rnn_tf.training.strategy import select_strategy
from deep_rnn_tf.training.task import Task
from tests.presets import tiny_args, tiny_config


@pytest.fixture(autouse=True)
def _restore_process_wide_tf_state():
    """`--seed` turns on op determinism for the whole process; other test files share this process."""
    yield
    from tensorflow.python.framework import config as tf_framework_config

    tf_framework_config.disable_op_determinism()
    keras.mixed_precision.set_global_policy("float32")


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.json"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed while writing")
    assert not target.exists() and list(tmp_path.iterdir()) == []
    with atomic_path(target) as tmp:
        tmp.write_text("whole")
    assert target.read_text() == "whole" and list(tmp_path.iterdir()) == [target]


def test_run_directory_ignores_temporary_checkpoints(tmp_path):
    run = RunDirectory(tmp_path)
    run.checkpoint_dir.mkdir()
    for name in ("epoch-0001.weights.h5", "epoch-0010.weights.h5", ".tmp-epoch-0011.weights.h5.x.weights.h5"):
        (run.checkpoint_dir / name).write_bytes(b"")
    assert [epoch for epoch, _ in run.checkpoints()] == [1, 10]
    assert run.latest_checkpoint()[0] == 10
    run.remove_stale_temporaries()
    assert sorted(p.name for p in run.checkpoint_dir.iterdir()) == [
        "epoch-0001.weights.h5",
        "epoch-0010.weights.h5",
    ]
    with pytest.raises(ValueError, match="config.json"):
        run.read_config()
    run.config_path.write_text("{oops")
    with pytest.raises(ValueError, match=r"config\.json: malformed JSON"):
        run.read_config()


def test_trim_metrics_csv_drops_epochs_to_redo(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text("epoch,loss\n0,1.0\n1,0.9\n2,0.8\n")
    trim_metrics_csv(path, epochs_done=2)
    assert path.read_text().splitlines() == ["epoch,loss", "0,1.0", "1,0.9"]


def _tiny_config(**overrides):
    task = get_task("demo")
    return task, tiny_config("demo", **overrides)


def test_seed_makes_a_cpu_run_repeatable(tmp_path):
    task, config = _tiny_config(seed=7, epochs=2)
    info = select_strategy(environ={})
    first = train(task, config, tmp_path / "a", info=info, verbose=0)
    second = train(task, config, tmp_path / "b", info=info, verbose=0)
    print("losses:", first.history["loss"], second.history["loss"])
    assert first.history["loss"] == second.history["loss"]
    for a, b in zip(first.model.weights, second.model.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    run = first.run
    assert (run.path / "config.json").is_file() and run.read_config()["global_batch_size"] == 16
    counts = json.loads(run.parameters_path.read_text())  # what the study's parameter column reads
    assert counts["trainable"] == sum(int(np.prod(w.shape)) for w in first.model.trainable_weights) > 0
    assert [epoch for epoch, _ in run.checkpoints()] == [1, 2]
    assert any(run.log_dir.rglob("events.out.tfevents.*")), "TensorBoard logs missing"
    rows = list(csv.DictReader(run.metrics_path.open()))
    assert [row["epoch"] for row in rows] == ["0", "1"] and "val_loss" in rows[0]
    # Same command again: nothing left to train, same checkpoint.
    again = train(task, config, tmp_path / "a", info=info, verbose=0)
    assert (again.initial_epoch, again.epochs_done) == (2, 2)


class _PoisonTask(Task):
    """A dense toy task whose data can contain a NaN (to make the loss NaN on purpose)."""

    name = "poison"
    presets = {"small": {"poison": False}}

    def example_batch(self, config, batch_size=1):
        return np.zeros((batch_size, 4), np.float32), np.zeros((batch_size, 1), np.float32)

    def build_model(self, config):
        model = keras.Sequential([keras.Input((4,), name="x"), keras.layers.Dense(1)])
        model.compile(keras.optimizers.SGD(0.1), "mse")
        return model

    def datasets(self, config, global_batch_size):
        x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
        if config["poison"]:
            x[20, 0] = np.nan  # in the 3rd batch of 8
        return tf.data.Dataset.from_tensor_slices((x, x[:, :1])).batch(8), None

    def evaluate(self, config, model, run_dir):
        return {}

    def serving_model(self, config, model):
        return model


class _FilteredTask(_PoisonTask):
    """The toy task's 4 batches behind a filter: a finite dataset of unknown length, as the polygon crops."""

    def datasets(self, config, global_batch_size):
        data, _ = super().datasets(config, global_batch_size)
        return data.filter(lambda x, y: True), None


@pytest.mark.parametrize("task", [_PoisonTask(), _FilteredTask()], ids=["known length", "unknown length"])
def test_epochs_of_steps_train_every_step_on_a_finite_dataset(tmp_path, task):
    # 4 epochs x 3 steps on 4 batches: Keras alone cut the epochs that cross the end of the data (8 or 10
    # steps); the trainer repeats the set, so the optimizer takes all 12.
    config = {**COMMON_DEFAULTS, "poison": False, "epochs": 4, "steps_per_epoch": 3}
    result = train(task, config, tmp_path, info=select_strategy(environ={}), verbose=0)
    assert int(result.model.optimizer.iterations) == 12


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    task = _PoisonTask()
    info = select_strategy(environ={})
    config = {**COMMON_DEFAULTS, "poison": False, "epochs": 1}
    train(task, config, tmp_path, info=info, verbose=0)
    good = RunDirectory(tmp_path).latest_checkpoint()
    assert good[0] == 1
    with pytest.raises(TrainingDivergedError) as caught:
        train(task, {**config, "poison": True, "epochs": 3}, tmp_path, info=info, verbose=0)
    message = str(caught.value)
    print(message)
    assert "loss became nan at epoch 2, batch 3" in message
    assert str(good[1]) in message
    assert RunDirectory(tmp_path).latest_checkpoint() == good, "a NaN epoch must not be checkpointed"
    model = task.build_model(config)
    model.optimizer.build(model.trainable_variables)
    load_checkpoint(model, good[1])
    assert all(np.isfinite(w.numpy()).all() for w in model.weights)


def test_sigkill_mid_epoch_then_same_command_resumes(tmp_path):
    run_dir = tmp_path / "run"
    # 30 steps per epoch (~1.5-5 s on 2 cores): long enough to be killed in the middle of epoch 2.
    command = [
        sys.executable, "-m", "deep_rnn_tf.cli", "train", "demo", *tiny_args("demo", tmp_path),
        "--train-clips", "480",
        "--epochs", "2", "--seed", "1", "--run-dir", str(run_dir), "--quiet",
    ]  # fmt: skip
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    first_checkpoint = run_dir / "checkpoints" / "epoch-0001.weights.h5"
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 180
        while not first_checkpoint.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert first_checkpoint.exists(), "no checkpoint after epoch 1"
        time.sleep(0.2)  # into epoch 2 (it starts right after the checkpoint of epoch 1)
        killed_during_epoch_2 = (
            process.poll() is None and not (run_dir / "checkpoints" / "epoch-0002.weights.h5").exists()
        )
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert killed_during_epoch_2, "the run finished epoch 2 before the kill; the test did not test a resume"
    assert process.returncode == -signal.SIGKILL
    assert RunDirectory(run_dir).latest_checkpoint()[0] == 1

    resumed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-3000:]
    assert "this invocation started at 1" in resumed.stdout
    assert "Epoch 2/2" in resumed.stdout and "Epoch 1/2" not in resumed.stdout
    run = RunDirectory(run_dir)
    assert [epoch for epoch, _ in run.checkpoints()] == [1, 2]
    assert not list(run.checkpoint_dir.glob(".tmp-*"))
    assert [row["epoch"] for row in csv.DictReader(run.metrics_path.open())] == ["0", "1"]
    task, config = _tiny_config()
    model = task.build_model(config)
    model.optimizer.build(model.trainable_variables)
    load_checkpoint(model, run.latest_checkpoint()[1])  # loads: not corrupted
    assert int(model.optimizer.iterations.numpy()) == 60, "optimizer state must survive the resume"
