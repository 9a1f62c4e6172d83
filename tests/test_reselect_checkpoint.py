"""benchmarks/reselect_checkpoint.py: one training, its best checkpoint re-chosen by another log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.benchmark_scripts import load_benchmark

HEADER = "epoch,loss,val_anticipation_accuracy,val_loss\n"
ROWS = ["0,2.0,0.1,1.5\n", "1,1.5,0.4,1.2\n", "2,1.2,0.4,1.1\n", "3,1.0,0.3,1.3\n"]


def _run(folder: Path, kept: list[int]) -> Path:
    """A trained run as `deep-rnn train` leaves it: config, metrics, kept checkpoints, best by val_loss."""
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"select_on": "val_loss", "epochs": 4}))
    (folder / "metrics.csv").write_text(HEADER + "".join(ROWS))
    (folder / "parameters.json").write_text("{}")
    for epoch in kept:
        (folder / "checkpoints" / f"epoch-{epoch:04d}.weights.h5").write_text(f"weights of epoch {epoch}")
    (folder / "checkpoints" / "best.weights.h5").write_text("weights of epoch 3")
    (folder / "checkpoints" / "best.json").write_text(json.dumps({"epoch": 3, "monitor": "val_loss"}))
    return folder


def test_the_best_epoch_of_the_new_log_becomes_the_best_checkpoint(tmp_path, capsys):
    script = load_benchmark("reselect_checkpoint")
    _run(tmp_path / "runs" / "rbm15" / "seed-0", kept=[1, 2, 3, 4])
    out = tmp_path / "antacc"
    assert script.main(["--runs", str(tmp_path / "runs"), "--out", str(out),
                        "--select-on", "val_anticipation_accuracy"]) == 0  # fmt: skip
    run = out / "rbm15" / "seed-0"
    # The highest accuracy, 0.4, first reached after epoch 2 (row 1): the first of a tie, as in training.
    assert (run / "checkpoints" / "best.weights.h5").read_text() == "weights of epoch 2"
    record = json.loads((run / "checkpoints" / "best.json").read_text())
    assert record == {"epoch": 2, "monitor": "val_anticipation_accuracy", "mode": "max", "value": 0.4}
    assert json.loads((run / "config.json").read_text())["select_on"] == "val_anticipation_accuracy"
    assert (run / "checkpoints" / "epoch-0004.weights.h5").is_file()  # the run counts as trained
    assert (run / "metrics.csv").read_text() == HEADER + "".join(ROWS)
    # The source run is untouched; a loss is minimised: val_loss picks epoch 3.
    assert (
        (tmp_path / "runs" / "rbm15" / "seed-0" / "checkpoints" / "best.weights.h5").read_text().endswith("3")
    )
    assert script.best_epoch(run / "metrics.csv", "val_loss") == (3, 1.1)
    assert "epoch 2" in capsys.readouterr().out


def test_a_checkpoint_that_was_not_kept_and_an_unknown_log_are_named(tmp_path, capsys):
    script = load_benchmark("reselect_checkpoint")
    source = _run(tmp_path / "runs" / "seed-0", kept=[3, 4])
    assert script.main(["--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "out"),
                        "--select-on", "val_anticipation_accuracy"]) == 1  # fmt: skip
    error = capsys.readouterr().err
    assert str(source) in error and "epoch 2" in error and "--keep-checkpoints" in error
    with pytest.raises(script.ReselectError, match="val_psnr.*val_anticipation_accuracy, val_loss"):
        script.best_epoch(source / "metrics.csv", "val_psnr")
    with pytest.raises(SystemExit):
        script.main(["--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "out"), "--select-on", "loss"])


def test_set_changes_the_config_and_a_further_selection_log_gets_its_own_checkpoint(tmp_path, capsys):
    """--set anticipation_select_on=...: the action task asks for a second best checkpoint (its anticipation
    test loads it); the main one stays on --select-on."""
    script = load_benchmark("reselect_checkpoint")
    source = _run(tmp_path / "runs" / "seed-0", kept=[1, 2, 3, 4])
    config = {"task": "action", "select_on": "val_loss", "epochs": 4, "val_anticipation": True}
    (source / "config.json").write_text(json.dumps(config))
    (source / "metrics.csv").write_text(
        "epoch,loss,val_anticipation_loss,val_loss\n0,2.0,1.9,1.5\n1,1.5,1.7,1.2\n2,1.2,1.8,1.1\n3,1.0,1.6,1.3\n"
    )
    out = tmp_path / "both"
    settings = ["--set", "anticipation_select_on=val_anticipation_loss", "--set", "observe=3"]
    assert script.main(["--runs", str(tmp_path / "runs"), "--out", str(out), "--select-on", "val_loss",
                        *settings]) == 0  # fmt: skip
    checkpoints = out / "seed-0" / "checkpoints"
    assert (checkpoints / "best.weights.h5").read_text() == "weights of epoch 3"
    assert (checkpoints / "best-val_anticipation_loss.weights.h5").read_text() == "weights of epoch 4"
    assert json.loads((checkpoints / "best-val_anticipation_loss.json").read_text()) == {
        "epoch": 4, "monitor": "val_anticipation_loss", "mode": "min", "value": 1.6
    }  # fmt: skip
    written = json.loads((out / "seed-0" / "config.json").read_text())
    assert written["anticipation_select_on"] == "val_anticipation_loss" and written["observe"] == 3
    # A log the run never wrote is named, and nothing is written for that run.
    assert script.main(["--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "bad"), "--select-on",
                        "val_loss", "--set", "anticipation_select_on=val_nothing"]) == 1  # fmt: skip
    assert "val_nothing" in capsys.readouterr().err and not (tmp_path / "bad").exists()
