"""The `deep-rnn` command: every subcommand, the demo pipeline end to end, one-line errors."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from deep_rnn_tf import __version__, cli
from tests.presets import tiny_args


@pytest.fixture(autouse=True)
def _restore_process_wide_tf_state():
    """`--seed` turns on op determinism for the whole process; other test files share this process."""
    yield
    from tensorflow.python.framework import config as tf_framework_config

    tf_framework_config.disable_op_determinism()
    keras.mixed_precision.set_global_policy("float32")


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_version_and_info(capsys):
    status, out, _ = _run(capsys, "--version")
    assert status == 0 and out.strip() == f"deep-rnn {__version__}"
    status, out, _ = _run(capsys, "info")
    assert status == 0
    for word in ("deep_rnn_tf", "tensorflow", "keras", "numpy", "devices:", "CPU", "paper_standalone"):
        assert word in out, word


_NO_TF_PROBE = """
import sys
from deep_rnn_tf import cli
status = cli.main(sys.argv[1:])
heavy = sorted(m for m in ("tensorflow", "keras", "numpy", "flask") if m in sys.modules)
print("HEAVY", heavy)
sys.exit(status)
"""


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_import_no_tensorflow(flag):
    done = subprocess.run(
        [sys.executable, "-c", _NO_TF_PROBE, flag], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "HEAVY []" in done.stdout, done.stdout
    assert done.stderr == ""
    if flag == "--help":
        from deep_rnn_tf.tasks import TASKS, presets_of

        for task in TASKS:
            line = next(line for line in done.stdout.splitlines() if line.strip().startswith(task + " "))
            for preset in presets_of(task):
                assert preset in line, (task, preset, line)
        assert any(line.strip().startswith("annotate ") for line in done.stdout.splitlines())


def test_annotate_help_imports_no_tensorflow():
    """`deep-rnn annotate --help` loads Flask (the app's module) but TensorFlow only once a model loads."""
    pytest.importorskip("flask")
    done = subprocess.run(
        [sys.executable, "-c", _NO_TF_PROBE, "annotate", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "--images" in done.stdout and "--debug" in done.stdout
    assert "'tensorflow'" not in done.stdout and "'keras'" not in done.stdout, done.stdout


def test_tensorflow_start_up_lines_are_hidden_unless_debug():
    quiet = subprocess.run(
        [sys.executable, "-m", "deep_rnn_tf.cli", "info"], capture_output=True, text=True, timeout=300
    )
    assert quiet.returncode == 0 and "tensorflow" in quiet.stdout
    assert "absl" not in quiet.stderr and "oneDNN" not in quiet.stderr, quiet.stderr


@pytest.mark.parametrize(
    "argv, status, message",
    [
        (["train", "nope"], 2, "unknown task 'nope'"),
        (["train"], 2, "the following arguments are required: task"),
        (["train", "demo", "--epochs", "x"], 2, "argument --epochs: invalid int value: 'x'"),
        (["train", "demo", "--preset", "huge"], 1, "--preset 'huge': task 'demo' has presets"),
        (["train", "demo", "--config", "/no/such.json"], 1, "--config /no/such.json: file not found"),
        (
            ["train", "demo", "--devices", "TPU:0"],
            1,
            "--devices: expected names like GPU:0 or CPU:1; received: 'TPU:0'",
        ),
        (["test", "demo", "--run-dir", "/no/such/run"], 1, "/no/such/run/config.json: no config.json"),
        (["data", "nope"], 2, "unknown tool 'nope'"),
        (["predict", "--model", "/no/such/model", "--input", "x.npy"], 1, "/no/such/model: not a SavedModel"),
    ],
)
def test_errors_are_one_line_naming_the_culprit(capsys, argv, status, message):
    got, out, err = _run(capsys, *argv)
    assert got == status, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("deep-rnn: error: "), err
    assert message in lines[0], lines[0]
    assert "Traceback" not in err


def test_config_file_errors_name_file_and_key(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"epochs": 2,}')
    status, _, err = _run(capsys, "train", "demo", "--config", str(bad))
    assert status == 1 and f"--config {bad}: malformed JSON" in err
    unknown = tmp_path / "unknown.json"
    unknown.write_text('{"epochz": 2}')
    status, _, err = _run(capsys, "train", "demo", "--config", str(unknown))
    assert status == 1 and f"--config {unknown}: unknown key 'epochz'" in err


def test_batch_size_flag_is_validated(tmp_path, capsys):
    tiny = tiny_args("demo", tmp_path)
    status, _, err = _run(capsys, "train", "demo", *tiny, "--batch-size", "0", "--run-dir", str(tmp_path))
    assert status == 1 and "batch_size" in err and "received 0" in err and len(err.strip().splitlines()) == 1


def test_data_dispatch_table_and_lazy_import(tmp_path, monkeypatch, capsys):
    assert cli.DATA_TOOLS == {
        "synth-kth": "deep_rnn_tf.tools.synth_kth:main",
        "synth-video": "deep_rnn_tf.tools.synth_video:main",
        "synth-mmnist": "deep_rnn_tf.tools.synth_mmnist:main",
        "real-clips": "deep_rnn_tf.tools.real_clips:main",
        "synth-actions": "deep_rnn_tf.tools.synth_actions:main",
        "extract-frames": "deep_rnn_tf.tools.extract_frames:extract_frames_main",
        "synth-cityscapes": "deep_rnn_tf.tools.synth_cityscapes:main",
        "polygon-crops": "deep_rnn_tf.tools.polygon_crops:crops_main",
    }
    (tmp_path / "fake_tool.py").write_text(
        "calls = []\ndef main(argv=None):\n    calls.append(argv)\n    return 3\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(cli.DATA_TOOLS, "fake", "fake_tool:main")
    monkeypatch.setitem(cli.DATA_TOOLS, "missing", "deep_rnn_tf.data.not_written_yet:main")
    assert cli.main(["data", "fake", "--out", "x", "--n", "2"]) == 3
    import fake_tool

    assert fake_tool.calls == [["--out", "x", "--n", "2"]]
    status, _, err = _run(capsys, "data", "missing")
    assert status == 1 and "deep_rnn_tf.data.not_written_yet is not available" in err
    status, out, _ = _run(capsys, "data", "--help")
    assert status == 0 and "synth-kth" in out and "polygon-crops" in out


@pytest.mark.parametrize("tool", ["synth-kth", "synth-video", "synth-mmnist", "synth-actions",
                                  "synth-cityscapes", "polygon-crops"])  # fmt: skip
@pytest.mark.parametrize("seed", ["-3", "4294967296", "x"])
def test_every_generator_refuses_a_seed_outside_numpys_range_in_one_line(tool, seed, tmp_path, capsys):
    # Before: --seed -3 reached NumPy, which failed with "expected non-negative integer" (no value, no flag).
    argv = ["data", tool, "--out", str(tmp_path / "out"), "--seed", seed]
    if tool == "polygon-crops":
        argv += ["--root", str(tmp_path)]
    status = cli.main(argv)
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert status == 2 and "--seed" in err and "integer in [0, 2**32 - 1]" in err and seed in err
    assert not (tmp_path / "out").exists()


def test_select_on_validation_accuracy_from_the_command_line(tmp_path, capsys):
    run_dir = tmp_path / "run"
    common = [*tiny_args("demo", tmp_path), "--run-dir", str(run_dir), "--quiet", "--seed", "0"]
    status, _, err = _run(capsys, "train", "demo", *common, "--select-on", "val_accuracy")
    assert status == 0, err
    with open(run_dir / "metrics.csv", newline="") as handle:
        accuracies = [float(row["val_accuracy"]) for row in csv.DictReader(handle)]
    best = json.loads((run_dir / "checkpoints" / "best.json").read_text())
    assert (best["monitor"], best["mode"]) == ("val_accuracy", "max")
    assert best["value"] == pytest.approx(max(accuracies)) and best["epoch"] == 1 + accuracies.index(
        max(accuracies)
    )
    # A log the model does not have is refused before any training (it stopped after epoch 1), in one line.
    typo_dir = tmp_path / "typo"
    typo = [*tiny_args("demo", tmp_path), "--run-dir", str(typo_dir), "--quiet", "--select-on", "val_acc"]
    status, _, err = _run(capsys, "train", "demo", *typo)
    assert status == 1 and "select_on 'val_acc': not among this model's validation logs" in err, err
    assert "val_accuracy" in err and "nothing was trained" in err and len(err.strip().splitlines()) == 1, err
    assert not list((typo_dir / "checkpoints").glob("epoch-*"))


def test_demo_train_test_export_predict(tmp_path, capsys):
    run_dir, export_dir = tmp_path / "run", tmp_path / "saved_models"
    common = [*tiny_args("demo", tmp_path), "--run-dir", str(run_dir), "--quiet"]
    status, out, err = _run(capsys, "train", "demo", *common, "--epochs", "1", "--seed", "0", "--lr", "0.02")
    assert status == 0, err
    assert "Epochs done: 1" in out and (run_dir / "checkpoints" / "epoch-0001.weights.h5").is_file()
    config = json.loads((run_dir / "config.json").read_text())
    assert (config["lr"], config["epochs"], config["seed"], config["preset"]) == (0.02, 1, 0, "small")
    assert (config["batch_size"], config["global_batch_size"], config["num_replicas"]) == (16, 16, 1)

    status, out, err = _run(capsys, "test", "demo", *common)
    assert status == 0, err
    metrics = json.loads((run_dir / "results" / "demo_metrics.json").read_text())
    assert 0.0 <= metrics["accuracy"] <= 1.0 and metrics["test_clips"] == 32
    assert f'"accuracy": {metrics["accuracy"]}' in out

    status, out, err = _run(capsys, "export", "demo", *common, "--export-dir", str(export_dir))
    assert status == 0, err
    version = export_dir / "demo" / "1"
    assert f"Exported {version} (version 1)" in out

    for given in (f"frames={version / 'example_frames.npy'}", str(version / "example_request.json")):
        output = tmp_path / "predictions.npz"
        status, out, err = _run(
            capsys, "predict", "--model", str(export_dir / "demo"), "--input", given, "--output", str(output)
        )
        assert status == 0, err
        with np.load(output) as got, np.load(version / "example_outputs.npz") as want:
            np.testing.assert_allclose(got["probabilities"], want["probabilities"], atol=1e-6)
            np.testing.assert_array_equal(got["label"], want["label"])
        assert json.loads(out[: out.rindex("}") + 1])["outputs"]["label"] == want_labels(version)

    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros((1, 8, 12, 16, 1), np.float32))
    status, _, err = _run(capsys, "predict", "--model", str(version), "--input", str(wrong))
    assert (
        status == 1
        and f"'frames' from {wrong} has shape [1, 8, 12, 16, 1]; the export expects [None, 8, 16, 16, 1]"
        in err
    )


def want_labels(version: Path) -> list[int]:
    with np.load(version / "example_outputs.npz") as outputs:
        return outputs["label"].tolist()


def test_console_script_errors_without_traceback_unless_debug(tmp_path):
    script = Path(sys.executable).with_name("deep-rnn")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "deep_rnn_tf.cli"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    args = ["train", "demo", "--config", str(tmp_path / "missing.json")]
    done = subprocess.run(command + args, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("deep-rnn")]
    assert errors == [f"deep-rnn: error: --config {tmp_path / 'missing.json'}: file not found"], done.stderr


def test_debug_shows_the_traceback(tmp_path, capsys):
    status, _, err = _run(capsys, "train", "demo", "--config", str(tmp_path / "missing.json"), "--debug")
    assert status == 1 and "Traceback (most recent call last)" in err and "file not found" in err


def test_task_command_help_lists_the_task_presets(capsys):
    status, out, _ = _run(capsys, "train", "action", "--help")
    assert status == 0 and "presets of action" in out
    assert "paper_standalone" in out and "small*" in out
