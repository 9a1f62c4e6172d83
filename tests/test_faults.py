"""Faults a new user runs into: every bad input named in one line, every run guarded (issue 10).

Runs use a dense toy task (milliseconds per epoch); CLI cases stop before any training starts.
"""

from __future__ import annotations

import csv
import json
import logging
import socket
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from deep_rnn_tf import cli
from deep_rnn_tf.export.serving import coerce_inputs, export_for_serving, resolve_export
from deep_rnn_tf.training.lock import LOCK_NAME, RunLock, RunLockedError
from deep_rnn_tf.training.runs import COMMON_DEFAULTS, RunDirectory, TrainingDivergedError, train
from deep_rnn_tf.training.strategy import select_strategy
from deep_rnn_tf.training.task import Task


@pytest.fixture(autouse=True)
def _restore_process_wide_tf_state():
    yield
    from tensorflow.python.framework import config as tf_framework_config

    tf_framework_config.disable_op_determinism()
    keras.mixed_precision.set_global_policy("float32")


class _ToyTask(Task):
    """Dense regression; `width` shapes the model, `poison` puts a NaN in the 3rd batch."""

    name = "toy"
    presets = {"small": {"width": 4, "poison": False}}

    def build_model(self, config):
        model = keras.Sequential(
            [keras.Input((4,), name="x"), keras.layers.Dense(config["width"]), keras.layers.Dense(1)]
        )
        model.compile(keras.optimizers.SGD(float(config["lr"])), "mse")
        return model

    def datasets(self, config, global_batch_size):
        x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
        if config["poison"]:
            x[20, 0] = np.nan
        return tf.data.Dataset.from_tensor_slices((x, x[:, :1])).batch(8), None

    def evaluate(self, config, model, run_dir):
        return {}

    def serving_model(self, config, model):
        return model


def _toy(**overrides):
    return _ToyTask(), {**COMMON_DEFAULTS, **_ToyTask.presets["small"], "lr": 0.01, **overrides}


@pytest.fixture(scope="module")
def info():
    return select_strategy(environ={})


def _snapshot(run_dir):
    """Bytes of every file in the run directory (what a refused resume must leave alone)."""
    return {p.relative_to(run_dir): p.read_bytes() for p in sorted(run_dir.rglob("*")) if p.is_file()}


# ----------------------------------------------------------------------------------------- runs


def test_lr_changed_on_resume_reaches_the_optimizer_and_is_logged(tmp_path, info, caplog):
    task, config = _toy(epochs=1, lr=0.02)
    train(task, config, tmp_path, info=info, verbose=0)
    with caplog.at_level(logging.INFO, logger="deep_rnn_tf"):
        result = train(task, {**config, "epochs": 2, "lr": 0.005}, tmp_path, info=info, verbose=0)
    assert (result.initial_epoch, result.epochs_done) == (1, 2)
    assert float(result.model.optimizer.learning_rate.numpy()) == pytest.approx(0.005)
    assert RunDirectory(tmp_path).read_config()["lr"] == 0.005
    assert "lr 0.02 -> 0.005" in caplog.text


def test_resume_with_other_model_settings_changes_nothing_in_the_run(tmp_path, info):
    task, config = _toy(epochs=1)
    train(task, config, tmp_path, info=info, verbose=0)
    before = _snapshot(tmp_path)
    with pytest.raises(ValueError, match=r"other settings \(.*width 4 -> 8.*config\.json is unchanged"):
        train(task, {**config, "width": 8, "epochs": 2}, tmp_path, info=info, verbose=0)
    assert _snapshot(tmp_path) == before


def test_cli_resume_with_another_preset_is_refused_before_anything_runs(tmp_path, capsys, monkeypatch):
    (tmp_path / "config.json").write_text(json.dumps({"preset": "tiny", "epochs": 2}))
    before = _snapshot(tmp_path)
    monkeypatch.setattr("deep_rnn_tf.training.strategy.select_strategy", _must_not_run)
    status = cli.main(["train", "demo", "--preset", "small", "--run-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 1 and "--preset small" in err and "trained with preset 'tiny'" in err, err
    assert _snapshot(tmp_path) == before


def test_cli_resume_keeps_the_saved_settings_unless_a_flag_changes_them(tmp_path):
    from deep_rnn_tf.tasks import get_task

    task = get_task("demo")
    (tmp_path / "config.json").write_text(json.dumps({"preset": "tiny", "lr": 0.02, "global_batch_size": 4}))
    args = cli._task_command_parser("train", task).parse_args(["demo", "--epochs", "5"])
    config = cli.resolve_config(task, args, base=cli._resume_base(task, args, str(tmp_path)))
    assert (config["lr"], config["epochs"], config["preset"]) == (0.02, 5, "tiny")
    assert "global_batch_size" not in config  # derived again by the run


def test_second_train_into_a_held_run_dir_refuses_naming_the_holder(tmp_path, info):
    task, config = _toy(epochs=1)
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / LOCK_NAME).write_text(json.dumps({"host": socket.gethostname(), "pid": holder.pid}))
        started = time.monotonic()
        with pytest.raises(RunLockedError, match=rf"in use by process {holder.pid} \(lock .*{LOCK_NAME}\)"):
            train(task, config, tmp_path, info=info, verbose=0)
        assert time.monotonic() - started < 5, "must refuse at once"
        assert not (tmp_path / "checkpoints").exists() and not (tmp_path / "config.json").exists()
    finally:
        holder.kill()
        holder.wait()
    # The holder is dead now: its lock is stale and is taken over; the lock goes when the run ends.
    result = train(task, config, tmp_path, info=info, verbose=0)
    assert result.epochs_done == 1 and not (tmp_path / LOCK_NAME).exists()


def test_run_lock_is_exclusive_within_one_host(tmp_path):
    with RunLock(tmp_path) as lock:
        assert json.loads(lock.path.read_text())["host"] == socket.gethostname()
        with pytest.raises(RunLockedError, match="in use by process"):
            RunLock(tmp_path).acquire()
        other_host = {"host": "elsewhere.example", "pid": 1}
    (tmp_path / LOCK_NAME).write_text(json.dumps(other_host))
    with pytest.raises(RunLockedError, match="on host elsewhere.example"):
        RunLock(tmp_path).acquire()  # cannot tell whether it runs: refuse, naming the host


def test_diverged_run_leaves_no_nan_row_and_keeps_the_last_good_checkpoint(tmp_path, info):
    task, config = _toy(epochs=1)
    train(task, config, tmp_path, info=info, verbose=0)
    good = RunDirectory(tmp_path).latest_checkpoint()
    with pytest.raises(TrainingDivergedError, match="last good checkpoint"):
        train(task, {**config, "poison": True, "epochs": 3}, tmp_path, info=info, verbose=0)
    rows = list(csv.DictReader(RunDirectory(tmp_path).metrics_path.open()))
    assert [row["epoch"] for row in rows] == ["0"]
    assert all(np.isfinite(float(row["loss"])) for row in rows)
    assert RunDirectory(tmp_path).latest_checkpoint() == good


def _must_not_run(*args, **kwargs):
    raise AssertionError("the strategy was set up before the bad flag was rejected")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["demo", "--steps-per-epoch", "0"], "--steps-per-epoch must be a positive integer (or unset)"),
        (["demo", "--epochs", "-1"], "--epochs must be a positive integer; received: -1"),
        (["demo", "--lr", "-1"], "--lr must be a finite number > 0; received: -1.0"),
        (["demo", "--lr", "nan"], "--lr must be a finite number > 0; received: nan"),
        (["prediction", "--image-size", "60"], "--image-size must be a positive multiple of 8 (MCnet)"),
    ],
)  # fmt: skip
def test_bad_flags_are_rejected_before_the_strategy_is_set_up(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("deep_rnn_tf.training.strategy.select_strategy", _must_not_run)
    status = cli.main(["train", *argv, "--run-dir", str(tmp_path / "run")])
    lines = capsys.readouterr().err.strip().splitlines()
    assert status == 1 and len(lines) == 1 and message in lines[0], lines
    assert not (tmp_path / "run").exists()


def test_devices_naming_a_missing_gpu_is_rejected(tmp_path, capsys):
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("this machine has a GPU")
    status = cli.main(["train", "demo", "--devices", "GPU:0", "--run-dir", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip()
    assert (
        status == 1 and err == "deep-rnn: error: --devices: GPU:0 is not available; this machine has no GPU"
    )


def test_config_value_of_the_wrong_kind_names_key_and_file(tmp_path, capsys):
    config = tmp_path / "big.json"
    config.write_text('{"image_size": "big"}')
    status = cli.main(["train", "prediction", "--config", str(config), "--run-dir", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip()
    assert status == 1 and err.count("\n") == 0, err
    assert f"--config {config}: 'image_size' must be a number like 32; received: 'big'" in err


# -------------------------------------------------------------------------------------- serving


def _tiny_serving_model():
    x = keras.Input((3,), name="x")
    return keras.Model(x, {"y": keras.layers.Dense(2)(x)})


def test_staging_folders_of_killed_exports_are_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    model_dir = tmp_path / "toy"
    stale = model_dir / f".tmp-export-{dead.pid}-abc123"
    (stale / "model").mkdir(parents=True)
    live = model_dir / f".tmp-export-{__import__('os').getpid()}-def456"  # an export running right now
    live.mkdir()
    result = export_for_serving(_tiny_serving_model(), tmp_path, "toy", example_inputs=np.ones((1, 3), "f"))
    assert result.version == 1 and not stale.exists() and live.exists()


def test_empty_version_folder_next_to_a_good_one_uses_the_good_one(tmp_path, caplog):
    result = export_for_serving(_tiny_serving_model(), tmp_path, "toy", example_inputs=np.ones((1, 3), "f"))
    (tmp_path / "toy" / "99").mkdir()
    with caplog.at_level(logging.WARNING, logger="deep_rnn_tf"):
        assert resolve_export(tmp_path / "toy") == result.path
    assert "99" in caplog.text and "without saved_model.pb" in caplog.text
    empty_only = tmp_path / "empty"
    (empty_only / "3").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"no usable version: .*empty/3 hold\(s\) no saved_model.pb"):
        resolve_export(empty_only)


SPEC = {"frames": ("float32", [None, 2, 2])}


def test_integer_inputs_to_a_float_model_are_rejected_unless_from_json():
    pixels = np.full((1, 2, 2), 255, np.uint8)
    for dtype in ("int32", "uint8"):
        with pytest.raises(
            ValueError, match=rf"has dtype {dtype}; the export expects float32 \(integer data"
        ):
            coerce_inputs({"frames": pixels.astype(dtype)}, SPEC)
    from_json = coerce_inputs({"frames": pixels.astype("int64")}, SPEC, untyped={"frames"})["frames"]
    assert from_json.dtype == np.float32  # JSON numbers carry no dtype (TF Serving casts them too)
    as_uint8 = coerce_inputs({"f": np.array([[0, 255]])}, {"f": ("uint8", [None, 2])}, untyped={"f"})
    assert as_uint8["f"].dtype == np.uint8
    with pytest.raises(ValueError, match="has dtype int64; the export expects uint8"):
        coerce_inputs({"f": np.array([[0, 256]])}, {"f": ("uint8", [None, 2])}, untyped={"f"})


def test_empty_batch_is_a_clear_error():
    with pytest.raises(ValueError, match=r"input 'frames' is an empty batch \(shape \[0, 2, 2\]\)"):
        coerce_inputs({"frames": np.zeros((0, 2, 2), np.float32)}, SPEC)


def test_predict_with_ragged_json_names_the_file(tmp_path, capsys):
    export_for_serving(_tiny_serving_model(), tmp_path, "toy", example_inputs=np.ones((1, 3), "f"))
    ragged = tmp_path / "ragged.json"
    ragged.write_text(json.dumps({"instances": [[1, 2, 3], [1, 2]]}))
    status = cli.main(["predict", "--model", str(tmp_path / "toy"), "--input", str(ragged)])
    err = capsys.readouterr().err.strip()
    assert status == 1 and err.count("\n") == 0, err
    assert f"--input {ragged}: the arrays are ragged" in err
    empty = tmp_path / "empty.npy"
    np.save(empty, np.zeros((0, 3), np.float32))
    status = cli.main(["predict", "--model", str(tmp_path / "toy"), "--input", str(empty)])
    err = capsys.readouterr().err.strip()
    assert status == 1 and "input 'x' is an empty batch" in err, err
