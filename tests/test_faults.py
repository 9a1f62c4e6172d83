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
from pathlib import Path

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
from tests.presets import tiny_args


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

    def example_batch(self, config, batch_size=1):
        return np.zeros((batch_size, 4), np.float32), np.zeros((batch_size, 1), np.float32)

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


def _one_error_line(capsys, argv: list[str]) -> str:
    """Runs `deep-rnn ARGV`, which must fail with status 1 and one line on stderr; returns that line."""
    status = cli.main(argv)
    lines = capsys.readouterr().err.strip().splitlines()
    assert status == 1 and len(lines) == 1, (argv, status, lines)
    return lines[0]


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


def test_resuming_a_run_saved_before_a_setting_existed_is_no_change_at_its_default(tmp_path, info, caplog):
    task, config = _toy(epochs=1)
    train(task, config, tmp_path, info=info, verbose=0)
    saved = RunDirectory(tmp_path).read_config()
    del saved["select_on"]  # as a run trained before `--select-on` was added
    (tmp_path / "config.json").write_text(json.dumps(saved))
    with caplog.at_level(logging.INFO, logger="deep_rnn_tf"):
        train(task, {**config, "epochs": 2}, tmp_path, info=info, verbose=0)
    assert "epochs 1 -> 2" in caplog.text and "select_on" not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="deep_rnn_tf"):  # a value other than the default is a change
        train(task, {**config, "epochs": 3, "select_on": "val_mse"}, tmp_path, info=info, verbose=0)
    assert "select_on 'val_loss' -> 'val_mse'" in caplog.text


def test_resume_with_other_model_settings_changes_nothing_in_the_run(tmp_path, info):
    task, config = _toy(epochs=1)
    train(task, config, tmp_path, info=info, verbose=0)
    before = _snapshot(tmp_path)
    with pytest.raises(ValueError, match=r"other settings \(.*width 4 -> 8.*config\.json is unchanged"):
        train(task, {**config, "width": 8, "epochs": 2}, tmp_path, info=info, verbose=0)
    assert _snapshot(tmp_path) == before


class _ValidatedToyTask(_ToyTask):
    """The toy task with a validation set that `shift` moves (a data setting, not the model's)."""

    presets = {"small": {"width": 4, "poison": False, "shift": 0.0}}

    def datasets(self, config, global_batch_size):
        train_data, _ = super().datasets(config, global_batch_size)
        x = np.random.default_rng(1).normal(size=(16, 4)).astype("float32")
        return train_data, tf.data.Dataset.from_tensor_slices((x, x[:, :1] + config["shift"])).batch(8)


def test_resume_on_other_data_chooses_the_best_checkpoint_again(tmp_path, info, caplog):
    """Another validation set (here shifted far off) never beats the old set's best value: without retiring
    that best, `test` / `export` would keep loading a checkpoint chosen on data the run no longer uses."""
    from deep_rnn_tf.training.best import best_record, inference_checkpoint

    task = _ValidatedToyTask()
    config = {**COMMON_DEFAULTS, **task.presets["small"], "lr": 0.01, "epochs": 2}
    train(task, config, tmp_path, info=info, verbose=0)
    run = RunDirectory(tmp_path)
    assert best_record(run)["epoch"] in (1, 2)
    # The loop's own settings keep the best.
    train(task, {**config, "epochs": 3, "lr": 0.02}, tmp_path, info=info, verbose=0)
    kept = best_record(run)
    assert kept is not None and not list(run.checkpoint_dir.glob("retired-*"))
    with caplog.at_level(logging.WARNING, logger="deep_rnn_tf"):
        train(task, {**config, "epochs": 4, "lr": 0.02, "shift": 100.0}, tmp_path, info=info, verbose=0)
    assert best_record(run)["epoch"] == 4 and best_record(run)["value"] > 1000
    assert inference_checkpoint(run)[0].startswith("best (epoch 4")
    retired = run.checkpoint_dir / "retired-epoch-3-best.json"
    assert json.loads(retired.read_text()) == kept
    assert (run.checkpoint_dir / "retired-epoch-3-best.weights.h5").is_file()
    assert "shift changed" in caplog.text and "retired-epoch-3-best.json" in caplog.text


class _RefusedDataTask(_ToyTask):
    """The toy task whose data set is refused, as a missing `--data-dir` is."""

    def datasets(self, config, global_batch_size):
        raise ValueError("/nonexistent: data directory does not exist")


def test_refused_data_leaves_no_new_run_dir_and_an_existing_one_untouched(tmp_path, info):
    _, config = _toy(epochs=1)
    new_run = tmp_path / "runs" / "new"
    with pytest.raises(ValueError, match="data directory does not exist"):
        train(_RefusedDataTask(), config, new_run, info=info, verbose=0)
    assert not new_run.exists(), sorted(new_run.rglob("*"))
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "notes.txt").write_text("the user's own file")
    with pytest.raises(ValueError, match="data directory does not exist"):
        train(_RefusedDataTask(), config, kept, info=info, verbose=0)
    assert _snapshot(kept) == {Path("notes.txt"): b"the user's own file"}


def test_cli_resume_with_another_preset_is_refused_before_anything_runs(tmp_path, capsys, monkeypatch):
    (tmp_path / "config.json").write_text(json.dumps({"preset": "deep", "epochs": 2}))
    before = _snapshot(tmp_path)
    monkeypatch.setattr("deep_rnn_tf.training.strategy.select_strategy", _must_not_run)
    status = cli.main(["train", "demo", "--preset", "small", "--run-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 1 and "--preset small" in err and "trained with preset 'deep'" in err, err
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("command", ["train", "test", "export"])
def test_a_run_of_another_task_is_named_as_such(tmp_path, capsys, monkeypatch, command):
    # Before: "run config: unknown key 'alpha'" (prediction's keys read as polygon's) for test / export.
    (tmp_path / "config.json").write_text(json.dumps({"task": "prediction", "preset": "small", "alpha": 1.0}))
    before = _snapshot(tmp_path)
    monkeypatch.setattr("deep_rnn_tf.training.strategy.select_strategy", _must_not_run)
    line = _one_error_line(capsys, [command, "polygon", "--run-dir", str(tmp_path), "--quiet"])
    assert "a run of the 'prediction' task, not 'polygon'" in line, line
    assert _snapshot(tmp_path) == before


def test_train_export_to_an_existing_version_is_refused_before_training(tmp_path, capsys, monkeypatch):
    (tmp_path / "saved" / "demo" / "1").mkdir(parents=True)
    monkeypatch.setattr("deep_rnn_tf.training.strategy.select_strategy", _must_not_run)
    argv = ["train", "demo", *tiny_args("demo", tmp_path), "--run-dir", str(tmp_path / "run"), "--export",
            "--export-dir", str(tmp_path / "saved"), "--version", "1"]  # fmt: skip
    line = _one_error_line(capsys, argv)
    assert "demo/1 exists; choose another --version" in line, line
    assert not (tmp_path / "run").exists()


def test_paths_of_the_wrong_kind_are_one_plain_line(tmp_path, capsys, monkeypatch):
    """A file where a folder goes, a folder where a file goes: named, before anything runs, and a raw
    OSError reads "<path>: <reason>" rather than "[Errno 20] ...: '<path>'"."""
    afile = tmp_path / "notes.txt"
    afile.write_text("x")
    monkeypatch.setattr("deep_rnn_tf.training.strategy.select_strategy", _must_not_run)
    for argv, says in (
        (["train", "demo", "--run-dir", str(afile)], f"--run-dir {afile}: a file, not a folder"),
        (["test", "demo", "--run-dir", str(afile)], f"--run-dir {afile}: a file, not a folder"),
        (["predict", "--model", str(tmp_path), "--input", "x.npy", "--output", str(tmp_path)],
         f"--output {tmp_path}: a folder; name the .npz file to write"),
    ):  # fmt: skip
        line = _one_error_line(capsys, argv)
        assert says in line, (argv, line)
    assert cli._one_line(NotADirectoryError(20, "Not a directory", f"{afile}/train")) == (
        f"{afile}/train: not a directory"
    )
    renamed = IsADirectoryError(21, "Is a directory", ".tmp-out.npz", None, str(tmp_path))  # as os.replace
    assert cli._one_line(renamed) == f"{tmp_path}: is a directory"


@pytest.mark.parametrize("command", ["train", "test"])
def test_a_bad_value_in_a_runs_config_names_its_file(tmp_path, capsys, monkeypatch, command):
    (tmp_path / "config.json").write_text(json.dumps({"task": "demo", "preset": "small", "batch_size": 0}))
    monkeypatch.setattr("deep_rnn_tf.training.strategy.select_strategy", _must_not_run)
    line = _one_error_line(capsys, [command, "demo", "--run-dir", str(tmp_path), "--quiet"])
    assert f"{tmp_path / 'config.json'}: batch_size" in line, line


def test_testing_another_protocol_keeps_the_runs_own_results(tmp_path):
    # Before: `deep-rnn test --past 9` on a K=3 run wrote into the K=3 results folder and replaced them.
    from deep_rnn_tf.tasks.prediction.task import default_results_name
    from tests.presets import tiny_config

    run = tmp_path / "run"
    config = tiny_config("prediction")  # K 3, test T 3
    assert default_results_name(config, str(run)) == "run"  # no config.json (yet)
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"past": 3, "test_future": 3}))
    assert default_results_name(config, str(run)) == "run"
    assert default_results_name(tiny_config("prediction", past=9), str(run)) == "run-K9-T3"
    assert default_results_name(tiny_config("prediction", test_future=5), str(run)) == "run-K3-T5"


def test_prediction_test_flags_are_checked(tmp_path):
    from tests.presets import tiny_config

    with pytest.raises(ValueError, match=r"max_test_windows: must be >= 0 \(0: all\); received -3"):
        tiny_config("prediction", max_test_windows=-3)
    with pytest.raises(ValueError, match="gifs: must be >= 0; received -1"):
        tiny_config("prediction", gifs=-1)


def test_cli_resume_keeps_the_saved_settings_unless_a_flag_changes_them(tmp_path):
    from deep_rnn_tf.tasks import get_task

    task = get_task("demo")
    (tmp_path / "config.json").write_text(json.dumps({"preset": "deep", "lr": 0.02, "global_batch_size": 4}))
    args = cli._task_command_parser("train", task).parse_args(["demo", "--epochs", "5"])
    config = cli.resolve_config(task, args, base=cli._resume_base(task, args, str(tmp_path)))
    assert (config.lr, config.epochs, config.preset) == (0.02, 5, "deep")
    assert config.global_batch_size is None  # derived again by the run


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


def test_run_lock_without_hard_links(tmp_path, monkeypatch):
    def no_links(*args):
        raise PermissionError("hard links not supported")

    monkeypatch.setattr("os.link", no_links)
    with RunLock(tmp_path) as lock:
        assert json.loads(lock.path.read_text())["pid"] == __import__("os").getpid()
        with pytest.raises(RunLockedError, match="in use by process"):
            RunLock(tmp_path).acquire()
    assert not (tmp_path / LOCK_NAME).exists()


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
        (["demo", "--steps-per-epoch", "0"], "steps_per_epoch: must be >= 1 (or null: the whole"),
        (["demo", "--epochs", "-1"], "epochs: must be >= 1; received -1"),
        (["demo", "--lr", "-1"], "lr: must be a finite number > 0; received -1.0"),
        (["demo", "--lr", "nan"], "lr: must be a finite number > 0; received nan"),
        (["prediction", "--image-size", "60"], "image_size: must be a positive multiple of 8; received 60"),
        (["demo", "--seed", "-1"], "seed: must be in [0, 2**32 - 1]; received -1"),
    ],
)  # fmt: skip
def test_bad_flags_are_rejected_before_the_strategy_is_set_up(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("deep_rnn_tf.training.strategy.select_strategy", _must_not_run)
    line = _one_error_line(capsys, ["train", *argv, "--run-dir", str(tmp_path / "run")])
    assert message in line, line
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
    assert f"--config {config}: image_size: expected int, received 'big'" in err


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
    with pytest.raises(ValueError, match=r"input 'f' has values outside uint8 \[0, 255\]"):
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
    no_instances = tmp_path / "none.json"
    no_instances.write_text('{"instances": []}')
    status = cli.main(["predict", "--model", str(tmp_path / "toy"), "--input", str(no_instances)])
    err = capsys.readouterr().err.strip()
    assert status == 1 and f'--input {no_instances}: "instances" is empty (a batch of 0)' in err, err
    empty = tmp_path / "empty.npy"
    np.save(empty, np.zeros((0, 3), np.float32))
    status = cli.main(["predict", "--model", str(tmp_path / "toy"), "--input", str(empty)])
    err = capsys.readouterr().err.strip()
    assert status == 1 and f"input 'x' from {empty} is an empty batch" in err, err


def test_predict_names_the_file_of_an_input_that_does_not_fit(tmp_path, capsys):
    export_for_serving(_tiny_serving_model(), tmp_path, "toy", example_inputs=np.ones((1, 3), "f"))
    model = str(tmp_path / "toy")
    cases = {
        "wide.npy": (np.ones((1, 4), "f"), "input 'x' from {path} has shape [1, 4]; the export expects"),
        "ints.npy": (np.ones((1, 3), "i4"), "input 'x' from {path} has dtype int32"),
        "named.npz": ({"y": np.ones((1, 3), "f")}, "inputs ['y'] (from {path}) do not match"),
    }
    for name, (array, says) in cases.items():
        path = tmp_path / name
        np.savez(path, **array) if isinstance(array, dict) else np.save(path, array)
        assert cli.main(["predict", "--model", model, "--input", str(path)]) == 1
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and says.format(path=path) in err, err
    for name, says in (("text.npy", "not a .npy file (no NumPy header"), ("text.npz", "not a .npz file")):
        path = tmp_path / name
        path.write_text("1 2 3")
        assert cli.main(["predict", "--model", model, "--input", str(path)]) == 1
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and f"--input {path}: {says}" in err and "pickle" not in err, err
    good = tmp_path / "good.npy"
    np.save(good, np.ones((1, 3), "f"))
    assert cli.main(["predict", "--model", model, "--input", str(good), "--input", f"x={good}"]) == 1
    assert f"--input {good}: input 'x' is also given by {good}" in capsys.readouterr().err


# ----------------------------------------------------------------------------------------- data


def _truncate(path, keep=0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def test_truncated_video_warns_with_both_counts_or_is_refused_when_strict(tmp_path, caplog):
    from deep_rnn_tf.data.kth import KTHReader
    from deep_rnn_tf.data.video_io import VideoReadError, read_video, write_video

    video = tmp_path / "person01_boxing_d1_uncomp.avi"
    write_video(video, (np.random.default_rng(0).random((20, 24, 32)) * 255).astype(np.uint8))
    assert len(read_video(video, strict=True)) == 20
    _truncate(video)
    with pytest.raises(VideoReadError, match=r"uncomp\.avi: decoded \d+ of the 20 frames its container"):
        read_video(video, strict=True)
    with caplog.at_level(logging.WARNING, logger="deep_rnn_tf"):
        frames = read_video(video, grayscale=True)
    assert 0 < len(frames) < 20 and f"decoded {len(frames)} of the 20 frames" in caplog.text
    with pytest.raises(VideoReadError, match="of the 20 frames"):
        KTHReader(str(tmp_path), image_size=16, strict=True).frames("person01_boxing_d1")
    assert len(KTHReader(str(tmp_path), image_size=16).frames("person01_boxing_d1")) == len(frames)
    # The plain-folder reader (any video folder) alike: it used to take the decoded frames without a word.
    from deep_rnn_tf.data.videos import FolderReader, find_videos

    videos, name = find_videos(str(tmp_path)), "person01_boxing_d1_uncomp"
    with pytest.raises(VideoReadError, match="of the 20 frames"):
        FolderReader(videos, image_size=16, strict=True).frames(name)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="deep_rnn_tf"):
        folder = FolderReader(videos, image_size=16).frames(name)
    assert len(folder) == len(frames) and f"decoded {len(frames)} of the 20 frames" in caplog.text


def test_frames_that_change_size_within_a_video_are_named_or_refused_when_strict(tmp_path, caplog):
    from deep_rnn_tf.data.video_io import VideoReadError, write_image
    from deep_rnn_tf.data.videos import FolderReader, find_videos

    clip = tmp_path / "clip"
    clip.mkdir()
    for index in range(4):  # 32x32, then 40x32 from the third frame: two videos in one folder, say
        write_image(clip / f"{index:03d}.png", np.zeros((32, 32 if index < 2 else 40), np.uint8))
    videos = find_videos(str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="deep_rnn_tf"):
        frames = FolderReader(videos, image_size=16).frames("clip")
    assert frames.shape == (4, 16, 16)
    assert f"{clip / '002.png'}: frame size changes from 32x32 to 40x32 within the video" in caplog.text
    assert caplog.text.count("frame size changes") == 1, caplog.text
    with pytest.raises(VideoReadError, match=r"002\.png: frame size changes from 32x32 to 40x32"):
        FolderReader(videos, image_size=16, strict=True).frames("clip")


def test_a_missing_image_is_named_without_opencvs_own_warning(tmp_path, capfd):
    from deep_rnn_tf.data.video_io import VideoReadError, read_image

    with pytest.raises(VideoReadError, match=r"absent\.png: no such file"):
        read_image(tmp_path / "absent.png")
    (tmp_path / "junk.png").write_text("junk")
    with pytest.raises(VideoReadError, match=r"junk\.png: not a readable image"):
        read_image(tmp_path / "junk.png")
    assert "imread_" not in capfd.readouterr().err  # OpenCV's "[ WARN ] ... findDecoder imread_(...)"


def test_an_observation_as_long_as_the_test_videos_is_named(caplog):
    from deep_rnn_tf.data.frames import ActionSplit
    from deep_rnn_tf.data.frames.layouts import VideoItem
    from deep_rnn_tf.tasks.action.task import _warn_of_whole_videos_observed

    items = [VideoItem(f"v{n}", tuple(f"{i}.jpg" for i in range(n)), 0) for n in (4, 6, 9)]
    test = ActionSplit(items, ["a"], "d/test_list.txt")
    with caplog.at_level(logging.WARNING, logger="deep_rnn_tf"):
        _warn_of_whole_videos_observed(test, 2)
        assert not caplog.text  # the paper's 2 frames of longer videos: anticipation
        _warn_of_whole_videos_observed(test, 6)
    assert "observe 6: 2 of the 3 test videos (d/test_list.txt: 4-9 frames)" in caplog.text, caplog.text


def _frame_folder(root, split, label, video, frames=3):
    from deep_rnn_tf.data.video_io import write_image

    folder = root / split / label / video
    folder.mkdir(parents=True)
    for index in range(frames):
        write_image(folder / f"img_{index + 1:05d}.jpg", np.full((8, 8, 3), 40 * index, np.uint8))
    return folder


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_corrupt_jpeg_in_a_frame_folder_is_named(tmp_path, damage):
    from deep_rnn_tf.data.frames import ActionSplit, PipelineConfig, make_dataset, uniform_frame_indices

    _frame_folder(tmp_path, "train", "a", "v1")
    bad = _frame_folder(tmp_path, "train", "b", "v2") / "img_00002.jpg"
    if damage == "truncated":
        _truncate(bad)
    else:
        bad.write_bytes(b"this is not an image at all")
    split = ActionSplit.from_folders(str(tmp_path), "train")
    dataset = make_dataset(split, lambda n: uniform_frame_indices(n, 3), PipelineConfig((8, 8), 2))
    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        list(dataset)
    line = cli._one_line(caught.value)
    assert line == f"{bad}: corrupt, truncated or not an image file", line  # no TF node or class names


def test_intact_frames_pass_the_image_check(tmp_path):
    from deep_rnn_tf.data.frames import ActionSplit, PipelineConfig, make_dataset, uniform_frame_indices

    _frame_folder(tmp_path, "train", "a", "v1")
    png = _frame_folder(tmp_path, "train", "b", "v2")
    from deep_rnn_tf.data.video_io import write_image

    for path in png.iterdir():
        path.unlink()
        write_image(path.with_suffix(".png"), np.zeros((8, 8, 3), np.uint8))
    split = ActionSplit.from_folders(str(tmp_path), "train")
    frames, labels = next(
        iter(make_dataset(split, lambda n: uniform_frame_indices(n, 3), PipelineConfig((8, 8), 2)))
    )
    assert frames.shape == (2, 3, 8, 8, 3) and labels.numpy().tolist() == [0, 1]


def test_empty_class_folder_is_named_and_not_a_class(tmp_path, caplog):
    from deep_rnn_tf.data.frames import ActionSplit

    _frame_folder(tmp_path, "train", "a", "v1")
    _frame_folder(tmp_path, "train", "b", "v2")
    (tmp_path / "train" / "empty_class").mkdir()
    _frame_folder(tmp_path, "test", "b", "v3")
    (tmp_path / "test" / "empty_class").mkdir()
    with caplog.at_level(logging.WARNING, logger="deep_rnn_tf"):
        train_split = ActionSplit.from_folders(str(tmp_path), "train")
        test_split = ActionSplit.from_folders(str(tmp_path), "test")
    assert train_split.class_names == ["a", "b"] and test_split.class_names == ["a", "b"]
    assert "empty_class" in caplog.text and "not classes" in caplog.text


def test_a_test_split_that_does_not_read_is_named_not_taken_for_absent(tmp_path):
    from deep_rnn_tf.data.frames import FrameDataError
    from deep_rnn_tf.tasks.action.task import ActionTask

    _frame_folder(tmp_path, "train", "a", "v1")
    _frame_folder(tmp_path, "train", "b", "v2")
    config = {"data": str(tmp_path), "test_data": None, "class_index": None, "data_root": None}
    assert ActionTask()._test_split(config) is None  # no test folder: nothing to evaluate, said by the caller
    _frame_folder(tmp_path, "test", "new_class", "v3")
    with pytest.raises(FrameDataError, match=r"test[/\\]new_class: class folder 'new_class' is not in"):
        ActionTask()._test_split(config)


def test_truncated_tfrecord_shard_is_named(tmp_path):
    from deep_rnn_tf.data import polygons as P
    from deep_rnn_tf.data.tfrecord_check import TFRecordError

    split = tmp_path / "val"
    split.mkdir()
    shard = split / "shard-00000-of-00001.tfrecord"
    with tf.io.TFRecordWriter(str(shard)) as writer:
        for index in range(3):
            writer.write(bytes(100 + index))
    (split / P.MANIFEST_NAME).write_text(json.dumps({"shards": [shard.name], "num_instances": 3}))
    assert P.shard_files(tmp_path, "val") == [str(shard)]
    _truncate(shard, keep=0.8)
    with pytest.raises(TFRecordError, match=rf"{shard}: truncated TFRecord shard \(record 3 at byte"):
        P.shard_files(tmp_path, "val")
    with tf.io.TFRecordWriter(str(shard)) as writer:  # cut exactly between records: the count tells
        writer.write(b"only one")
    with pytest.raises(TFRecordError, match=r"val: the shards hold 1 records but manifest.json counts 3"):
        P.shard_files(tmp_path, "val")


def test_polygons_are_clipped_tiny_boxes_dropped_and_every_drop_counted():
    from collections import Counter

    from deep_rnn_tf.data import polygons as P
    from deep_rnn_tf.data.cityscapes import CityscapesObject

    def obj(label, points, index=0):
        return CityscapesObject(label, np.asarray(points, np.float64), index)

    height, width = 100, 200
    objects = [
        obj("car", [[20, 20], [60, 20], [60, 60], [20, 60]]),  # kept
        obj("car", [[-190, -50], [-100, -50], [-100, 80], [-190, 80]]),  # left of the image
        obj("car", [[20, 20], [1e9, -5e8], [60, 60]]),  # a broken vertex: clipping made a corner spike
        obj("bus", [[20, 20], [np.nan, 30], [60, 60]]),
        obj("person", [[150, -40], [260, -40], [260, 30], [150, 30]]),  # partly outside: clipped, kept
        obj("person", [[10, 70], [15, 70], [15, 99], [10, 99]], 3),  # 5 x 29 px = 145 px, box < 8 px wide
        obj("cargroup", [[0, 0], [90, 0], [90, 90]]),
        obj("road", [[0, 0], [199, 0], [199, 99]]),  # stuff: not an instance, not counted
    ]
    drops = Counter()
    image = np.zeros((height, width, 3), np.uint8)
    kept = list(P.instance_crops(image, objects, height, width, "img.png", 0.0, None, drops))
    assert [meta.label for _, meta in kept] == ["car", "person"]
    partly_outside = kept[1][1]
    assert partly_outside.polygon.min() >= 0 and partly_outside.polygon[:, 0].max() == width - 1
    assert partly_outside.box == (150, 0, 200, 31)
    broken, groups = {"vertex_far_outside": 2}, {"group_label": 1, "label:cargroup": 1}
    assert drops == Counter({"outside_image": 1, "box_under_8_px": 1, **broken, **groups})


@pytest.mark.slow
def test_two_real_train_commands_into_one_run_dir(tmp_path):
    """The issue's scenario with two real `deep-rnn train` processes (slow: the first one trains)."""
    import os

    run_dir = tmp_path / "run"
    command = [
        sys.executable, "-m", "deep_rnn_tf.cli", "train", "demo", *tiny_args("demo", tmp_path),
        "--train-clips", "480", "--epochs", "1000", "--run-dir", str(run_dir), "--quiet",
    ]  # fmt: skip
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        while not (run_dir / LOCK_NAME).exists() and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode == 1, second.stderr
        assert f"in use by process {first.pid}" in second.stderr, second.stderr
        assert first.poll() is None, "the first run must still be training"
    finally:
        first.kill()  # (1000 epochs: it would not end by itself)
        first.wait()
    metrics = run_dir / "metrics.csv"
    epochs = (
        [row.split(",")[0] for row in metrics.read_text().splitlines()] if metrics.exists() else ["epoch"]
    )
    assert epochs[0] == "epoch" and epochs[1:] == [str(i) for i in range(len(epochs) - 1)]  # no doubles
