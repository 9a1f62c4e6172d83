"""`deep-rnn train|test|export action` end to end on a tiny synthetic set, both layouts, anticipation,
and the export loaded in a process that never imports deep_rnn_tf."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from deep_rnn_tf import cli
from deep_rnn_tf.data.frames import FrameDataError
from deep_rnn_tf.data.synthetic import actions
from deep_rnn_tf.tasks import get_task, resolve_config
from deep_rnn_tf.tools.synth_actions import main as synth_actions_main

# The cheapest stack to trace (1-layer LSTM); the deep stacks are trained in test_action_models.py.
TINY_FLAGS = ["--rnn", "lstm1", "--image-size", "16", "16", "--width", "4", "--hidden", "8",
              "--num-clips", "2", "--clip-len", "3", "--test-frames", "4", "--epochs", "1",
              "--batch-size", "4", "--seed", "0", "--quiet"]  # fmt: skip


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth_actions")
    sizes = ["--size", "16", "--videos-per-class", "2", "--test-videos-per-class", "1"]
    synth_actions_main(["--out", str(out), *sizes, "--min-frames", "5", "--max-frames", "7", "--quiet"])
    return str(out)


@pytest.fixture(scope="module")
def trained(synth, tmp_path_factory):
    run_dir = str(tmp_path_factory.mktemp("runs") / "action")
    assert (
        cli.main(
            [
                "train",
                "action",
                "--data",
                synth,
                "--run-dir",
                run_dir,
                "--anticipation",
                "--val-fraction",
                "0.5",
                *TINY_FLAGS,
            ]
        )  # fmt: skip
        == 0
    )
    return run_dir


def _read(*parts: str) -> str:
    with open(os.path.join(*parts), encoding="utf-8") as handle:
        return handle.read()


def test_train_writes_a_run_with_anticipation(trained):
    config = json.loads(_read(trained, "config.json"))
    assert config["anticipation"] is True and config["rnn"] == "lstm1"
    assert os.listdir(os.path.join(trained, "checkpoints"))
    header = _read(trained, "metrics.csv").splitlines()[0]
    assert "anticipation_hinge" in header and "val_accuracy" in header


def test_validation_is_carved_from_the_training_videos(synth):
    """Half of each class's training videos validate; none of them trains, no test video is read."""
    task = get_task("action")
    config = resolve_config("action", "small", [("test", {"data": synth, "val_fraction": 0.5})])
    train, validation = task.train_and_validation(config)
    everything = task._split(config, "train")
    kept = {item.frame_dir for item in train.items}
    held = {item.frame_dir for item in validation.items}
    assert kept.isdisjoint(held) and kept | held == {item.frame_dir for item in everything.items}
    assert sorted(item.label for item in validation.items) == list(range(len(everything.class_names)))
    assert all(os.sep + "train" + os.sep in path for path in held)
    assert task.train_and_validation(config.replace(val_fraction=0.0))[1] is None
    assert task.train_and_validation(config.replace(val_fraction=0.1))[1] is None  # 2 per class: none spare


def test_test_protocol_writes_results(trained, capsys):
    assert cli.main(["test", "action", "--run-dir", trained, "--observe", "2", "--quiet"]) == 0
    results = os.path.join(trained, "results")
    for name in ("action_results.json", "confusion.png", "confusion_anticipation.png", "per_class.csv",
                 "anticipation_curve.png"):  # fmt: skip
        assert os.path.getsize(os.path.join(results, name)) > 0, name
    data = json.loads(_read(results, "action_results.json"))
    assert data["num_videos"] == 10 and data["anticipation_observe"] == 2
    assert sorted(data["anticipation_curve"]) == [f"{0.1 * i:.1f}" for i in range(1, 11)]
    assert 0 <= data["top1"] <= data["top5"] <= 1
    # The full-sequence curve point is the recognition accuracy (same logits, all frames).
    assert data["anticipation_curve"]["1.0"] == pytest.approx(data["top1"])
    assert len(_read(results, "per_class.csv").splitlines()) == 11


def test_multi_clip_test_and_list_file_layout(trained, synth):
    # The same test videos through the MMAction2 list file; 2 clips per video.
    list_file = os.path.join(synth, "test_list.txt")
    args = ["test", "action", "--run-dir", trained, "--test-data", list_file, "--test-clips", "2", "--quiet"]
    assert cli.main(args) == 0
    data = json.loads(_read(trained, "results", "action_results.json"))
    assert data["protocol"] == "2 x 4 frames" and data["num_videos"] == 10


def test_a_test_list_naming_training_videos_is_warned_of(synth, caplog):
    import logging

    from deep_rnn_tf.tasks.action.task import ActionTask

    task = ActionTask()
    config = resolve_config("action", "small", [("test", {"data": synth})])
    with caplog.at_level(logging.WARNING, logger="deep_rnn_tf"):
        task._warn_of_shared_videos(config, task._split(config, "test"))
    assert "also training data" not in caplog.text  # train/ and test/ folders: other videos
    train_list = os.path.join(synth, "train_list.txt")  # the same videos as train/, listed
    leaky = resolve_config("action", "small", [("test", {"data": synth, "test_data": train_list})])
    with caplog.at_level(logging.WARNING, logger="deep_rnn_tf"):
        task._warn_of_shared_videos(leaky, task._split(leaky, "test"))
    assert f"{train_list}: 20 test item(s) are also training data" in caplog.text


def test_export_serves_class_names_without_the_package(trained, tmp_path):
    export_dir = str(tmp_path / "saved_models")
    assert cli.main(["export", "action", "--run-dir", trained, "--export-dir", export_dir, "--quiet"]) == 0
    path = os.path.join(export_dir, "action", "1")
    script = f"""
import sys, numpy as np, tensorflow as tf
loaded = tf.saved_model.load({path!r})
serve = loaded.signatures["serving_default"]
frames = np.random.default_rng(0).integers(0, 255, (2, 5, 16, 16, 3), dtype=np.uint8)
out = serve(frames=tf.constant(frames))
assert out["probabilities"].shape == (2, 10), out["probabilities"].shape
np.testing.assert_allclose(out["probabilities"].numpy().sum(-1), 1.0, rtol=1e-5)
names = [n.decode() for n in out["class_name"].numpy()]
print(",".join(names), out["class_id"].numpy().tolist())
assert "deep_rnn_tf" not in sys.modules
"""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-2000:]
    names, ids = done.stdout.strip().splitlines()[-1].split(" ", 1)
    for name, class_id in zip(names.split(","), json.loads(ids), strict=True):
        assert actions.CLASS_NAMES[class_id] == name


def test_bad_data_gives_a_one_line_error(tmp_path, capsys):
    missing = str(tmp_path / "nowhere")
    assert (
        cli.main(["train", "action", "--data", missing, "--run-dir", str(tmp_path / "r"), *TINY_FLAGS]) != 0
    )
    assert "nowhere: data root does not exist" in capsys.readouterr().err
    task = get_task("action")
    config = {**task.presets["small"], "data": str(tmp_path / "list.txt")}
    (tmp_path / "list.txt").write_text("x 3 0\n")
    with pytest.raises(FrameDataError, match="x: frame folder does not exist"):
        task.class_names(config)


def test_presets_resolve_the_paper_structure():
    task = get_task("action")
    paper = task.presets["paper"]
    assert (paper["backbone"], paper["rnn"], paper["width"], paper["num_clips"], paper["clip_len"]) == (
        "vgg19",
        "rbm15",
        512,
        7,
        10,
    )
    assert paper["coherence"] == 0.0 and paper["test_frames"] == 30 and paper["observe"] == 2
    standalone = task.presets["paper_standalone"]
    assert standalone["model"] == "standalone" and (standalone["num_clips"], standalone["clip_len"]) == (6, 5)
    assert np.isclose(task.presets["small"]["image_size"][0], 32)


def test_standalone_serving_model_matches_the_trained_weights():
    task = get_task("action")
    config = {**task.presets["small"], "model": "standalone", "image_size": [32, 32], "width": 2, "hidden": 8,
              "class_names": ["a", "b", "c"], "lr": 1e-3}  # fmt: skip
    model = task.build_model(config)
    frames = np.random.default_rng(0).integers(0, 255, (1, 2, 32, 32, 3), dtype=np.uint8)
    expected = keras.ops.softmax(keras.ops.mean(model.frame_logits(frames), axis=1)).numpy()
    serving = task.serving_model(config, model)
    out = serving(frames)
    np.testing.assert_allclose(out["probabilities"].numpy(), expected, atol=1e-5)
    assert out["class_name"].numpy()[0].decode() == "abc"[int(np.argmax(expected))]


def test_hinge_warmup_counts_epochs_of_the_training_videos_listed_once(synth, monkeypatch):
    task = get_task("action")
    config = resolve_config(
        "action",
        "small",
        [("test", {"data": synth, "rnn": "lstm1", "image_size": [16, 16], "width": 4, "hidden": 8,
                   "batch_size": 2, "val_fraction": 0.5, "anticipation": True, "anticipation_warmup": 3,
                   "lr_schedule": "cosine", "warmup_steps": 0})],
    )  # fmt: skip
    listings = []
    listed = type(task).train_and_validation

    def counting(self, cfg):
        listings.append(1)
        return listed(self, cfg)

    monkeypatch.setattr(type(task), "train_and_validation", counting)
    model = task.build_model(config)
    train, _ = listed(task, task.config(config))
    assert model.anticipation_warmup_steps == 3 * (len(train.items) // 2) > 0
    assert len(listings) == 1


def test_val_anticipation_logs_the_first_frames_and_selects_on_them(synth, tmp_path):
    """--val-anticipation: each validation video's first --observe frames are scored as the test does, the
    running means weigh every video once, and --select-on may name them (issue 12)."""
    run_dir = str(tmp_path / "run")
    flags = ["--data", synth, "--run-dir", run_dir, "--val-fraction", "0.5", *TINY_FLAGS]
    assert cli.main(["train", "action", *flags, "--val-anticipation", "--select-on",
                     "val_anticipation_accuracy", "--epochs", "2"]) == 0  # fmt: skip
    header = _read(run_dir, "metrics.csv").splitlines()[0].split(",")
    assert {"val_anticipation_loss", "val_anticipation_accuracy"} <= set(header)
    assert "anticipation_accuracy" not in header  # training clips carry no prefix
    rows = [
        dict(zip(header, line.split(","), strict=True))
        for line in _read(run_dir, "metrics.csv").splitlines()[1:]
    ]
    # 10 validation videos in batches of 4, 4, 2: the accuracy is hits over 10, not a mean of per-batch means.
    for row in rows:
        assert float(row["val_anticipation_accuracy"]) * 10 == pytest.approx(
            round(float(row["val_anticipation_accuracy"]) * 10), abs=1e-5
        )
    best = json.loads(_read(run_dir, "checkpoints", "best.json"))
    assert best["monitor"] == "val_anticipation_accuracy" and best["mode"] == "max"
    assert best["value"] == pytest.approx(max(float(row["val_anticipation_accuracy"]) for row in rows))
    with pytest.raises(ValueError, match="--val-anticipation"):
        values = {"data": synth, "select_on": "val_anticipation_loss", "val_anticipation": False}
        resolve_config("action", "small", [("test", values)])


def _epoch_of_best(rows: list[dict], log: str) -> int:
    """Epoch (from 1) of the lowest `log`, the first of a tie (as BestCheckpoint keeps it)."""
    values = [float(row[log]) for row in rows]
    return values.index(min(values)) + 1


def test_anticipation_select_on_keeps_its_own_checkpoint_and_scores_anticipation_on_it(
    synth, tmp_path, monkeypatch
):
    """--anticipation-select-on: the run keeps the best epoch by that log apart from the --select-on one;
    `test` scores recognition on the main checkpoint and anticipation on the other (issue 12)."""
    run_dir = tmp_path / "run"
    flags = ["--data", synth, "--run-dir", str(run_dir), "--val-fraction", "0.5", *TINY_FLAGS]
    assert cli.main(["train", "action", *flags, "--val-anticipation", "--anticipation-select-on",
                     "val_anticipation_loss", "--epochs", "3", "--keep-checkpoints", "3"]) == 0  # fmt: skip
    lines = _read(str(run_dir), "metrics.csv").splitlines()
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","), strict=True)) for line in lines[1:]]
    checkpoints = run_dir / "checkpoints"
    main = json.loads((checkpoints / "best.json").read_text())
    apart = json.loads((checkpoints / "best-val_anticipation_loss.json").read_text())
    assert main["monitor"] == "val_loss" and main["epoch"] == _epoch_of_best(rows, "val_loss")
    assert apart["monitor"] == "val_anticipation_loss"
    assert apart["epoch"] == _epoch_of_best(rows, "val_anticipation_loss")
    assert (checkpoints / "best-val_anticipation_loss.weights.h5").is_file()
    # Which weights each protocol predicts with: every checkpoint load and every prediction, in order.
    events = []
    action_task = sys.modules["deep_rnn_tf.tasks.action.task"]
    runs = sys.modules["deep_rnn_tf.training.runs"]
    for module in (action_task, runs):

        def logged_load(model, path, _load=module.load_checkpoint):
            events.append(Path(path).name)
            return _load(model, path)

        monkeypatch.setattr(module, "load_checkpoint", logged_load)
    predict = action_task._predict_frame_logits

    def spy(model, split, sampler, config, description):
        events.append(description)
        return predict(model, split, sampler, config, description)

    monkeypatch.setattr(action_task, "_predict_frame_logits", spy)
    assert cli.main(["test", "action", "--run-dir", str(run_dir), "--quiet"]) == 0
    assert events == [
        "best.weights.h5", "test", "best-val_anticipation_loss.weights.h5", "first 2 frames"
    ]  # fmt: skip
    results = json.loads(_read(str(run_dir), "results", "action_results.json"))
    assert results["anticipation_checkpoint"].startswith(
        f"best (epoch {apart['epoch']}, val_anticipation_loss"
    )
    # A run trained without the flag scores both protocols on its one best checkpoint.
    events.clear()
    config = json.loads((run_dir / "config.json").read_text())
    (run_dir / "config.json").write_text(json.dumps({**config, "anticipation_select_on": None}))
    assert cli.main(["test", "action", "--run-dir", str(run_dir), "--quiet"]) == 0
    assert events == ["best.weights.h5", "test", "first 2 frames"]
    assert json.loads(_read(str(run_dir), "results", "action_results.json"))["anticipation_checkpoint"] == (
        "as recognition"
    )


def test_anticipation_select_on_names_a_validation_log_it_can_have(synth):
    def resolve(values):
        return resolve_config("action", "small", [("test", {"data": synth, **values})])

    with pytest.raises(ValueError, match="--val-anticipation"):
        resolve({"anticipation_select_on": "val_anticipation_loss", "val_anticipation": False})
    # The small preset selects anticipation on its own log; "none" (as on the command line) turns it off.
    assert resolve({})["anticipation_select_on"] == "val_anticipation_loss"
    turned_off = resolve({"val_anticipation": False, "anticipation_select_on": "none"})
    assert turned_off["anticipation_select_on"] is None
    with pytest.raises(ValueError, match="anticipation_select_on.*'accuracy'"):
        resolve({"anticipation_select_on": "accuracy", "val_anticipation": True})
    assert (
        resolve({"anticipation_select_on": "val_anticipation_loss", "val_anticipation": True})[
            "anticipation_select_on"
        ]
        == "val_anticipation_loss"
    )
