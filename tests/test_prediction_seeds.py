"""benchmarks/prediction_seeds.py: its table carries each run's best validation loss beside the test."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from tests.benchmark_scripts import load_benchmark


def _load():
    return load_benchmark("prediction_seeds")


def _finished_run(
    run_dir: Path, seed: int, psnr: float | list[float], best: dict | None, flow_baseline: bool = True
) -> None:
    """A run folder as train + test leave it: timing, results npz for the model and both baselines (runs
    tested before the thirty-eighth session have no flow extrapolation), best.json.

    `psnr` is one value for every step or one per step (4 test windows each).
    """
    steps = np.asarray(psnr, dtype=float) if isinstance(psnr, list) else np.full(3, psnr)
    results = run_dir / "results" / "quantitative" / "Synth" / run_dir.name
    results.mkdir(parents=True)
    models = [("MCNET_rbm", 0.0), ("copy_last_frame", -2.0)]
    # Named so that it lists before the model's file: the model's row must not pick it up.
    models += [("flow_extrapolation", -1.0)] if flow_baseline else []
    for model, offset in models:
        np.savez(
            results / f"results_model={model}.npz",
            psnr=np.tile(steps + offset, (4, 1)),
            ssim=np.full((4, steps.size), 0.7),
        )
    timing = {"variant": "rbm3", "seed": seed, "train_s": 10.0, "test_s": 2.0}
    (run_dir / "timing.json").write_text(json.dumps(timing))
    if best is not None:
        (run_dir / "checkpoints").mkdir()
        (run_dir / "checkpoints" / "best.json").write_text(json.dumps(best))


def test_the_table_reports_the_best_validation_loss_per_seed_and_its_mean(tmp_path):
    seeds = _load()
    _finished_run(tmp_path / "rbm3_s0", 0, 24.0, {"epoch": 9, "monitor": "val_loss", "value": 0.30})
    _finished_run(tmp_path / "rbm3_s1", 1, 25.0, {"epoch": 10, "monitor": "val_loss", "value": 0.40})
    args = argparse.Namespace(out=str(tmp_path), seeds=[0, 1], split_at=0)
    rows = seeds.aggregate(args, ["rbm3"])
    assert rows["rbm3"]["val_best"]["mean"] == pytest.approx(0.35)
    assert [run["val_epoch"] for run in rows["rbm3"]["runs"]] == [9, 10]
    assert rows["rbm3"]["psnr"]["mean"] == pytest.approx(24.5)
    assert "val_best" not in rows["copy_last_frame"]  # the baseline is not trained
    assert rows["flow_extrapolation"]["psnr"]["mean"] == pytest.approx(23.5)
    text = seeds.table(rows, args)
    assert "0.3000 (9) / 0.4000 (10) | 0.3500 |" in text, text
    assert text.splitlines()[2].startswith("| copy_last_frame | 0,1 | — | — |"), text
    assert text.splitlines()[3].startswith("| flow_extrapolation | 0,1 | — | — |"), text


def test_runs_tested_before_the_flow_baseline_have_no_row_for_it(tmp_path):
    seeds = _load()
    _finished_run(tmp_path / "rbm3_s0", 0, 24.0, None, flow_baseline=False)
    rows = seeds.aggregate(argparse.Namespace(out=str(tmp_path), seeds=[0], split_at=0), ["rbm3"])
    assert sorted(rows) == ["copy_last_frame", "rbm3"] and rows["rbm3"]["psnr"]["mean"] == 24.0


def test_a_run_without_validation_leaves_the_column_empty(tmp_path):
    seeds = _load()
    _finished_run(tmp_path / "rbm3_s0", 0, 24.0, None)
    args = argparse.Namespace(out=str(tmp_path), seeds=[0], split_at=0)
    rows = seeds.aggregate(args, ["rbm3"])
    assert "val_best" not in rows["rbm3"] and "val_best" not in rows["rbm3"]["runs"][0]
    assert "| rbm3 | 0 | — | — | 24.00 ± 0.00 |" in seeds.table(rows, args)


def test_report_without_variants_takes_every_finished_variant_in_the_folder(tmp_path):
    """Two scripts (one per core) trained into one --out; the report names both, not the unfinished run."""
    seeds = _load()
    _finished_run(tmp_path / "rbm8_j4_s0", 0, 24.0, {"epoch": 9, "monitor": "val_loss", "value": 0.30})
    _finished_run(tmp_path / "convlstm_s0", 0, 23.0, {"epoch": 10, "monitor": "val_loss", "value": 0.40})
    (tmp_path / "rbm1_s0").mkdir()  # still training: no timing.json yet
    assert seeds.finished_variants(str(tmp_path)) == ["convlstm", "rbm8_j4"]
    status = seeds.main(["--data-dir", "unused", "--out", str(tmp_path), "--seeds", "0", "--report"])
    assert status == 0
    rows = json.loads((tmp_path / "table.json").read_text())
    assert sorted(rows) == ["convlstm", "copy_last_frame", "flow_extrapolation", "rbm8_j4"]
    assert rows["rbm8_j4"]["psnr"]["mean"] == pytest.approx(24.0)


def test_without_variants_and_without_finished_runs_the_error_says_what_to_give(tmp_path, capsys):
    seeds = _load()
    with pytest.raises(SystemExit):
        seeds.main(["--data-dir", "unused", "--out", str(tmp_path), "--report"])
    assert "--variant" in capsys.readouterr().err


def test_split_at_averages_the_trained_horizon_and_the_steps_beyond_it_apart(tmp_path):
    """Trained at T = 2, tested at 4: steps 1-2 and 3-4 are averaged apart, mean +- std over the seeds."""
    seeds = _load()
    _finished_run(tmp_path / "rbm3_s0", 0, [30.0, 28.0, 22.0, 20.0], None)
    _finished_run(tmp_path / "rbm3_s1", 1, [32.0, 30.0, 24.0, 22.0], None)
    args = argparse.Namespace(out=str(tmp_path), seeds=[0, 1], split_at=2)
    rows = seeds.aggregate(args, ["rbm3"])
    split = rows["rbm3"]["split"]
    assert split["psnr_near"] == {"mean": pytest.approx(30.0), "std": pytest.approx(1.0)}
    assert split["psnr_far"]["mean"] == pytest.approx(22.0)
    assert rows["copy_last_frame"]["split"]["psnr_far"]["mean"] == pytest.approx(20.0)
    assert rows["rbm3"]["psnr"]["mean"] == pytest.approx(26.0)  # the whole horizon, as before
    text = seeds.table(rows, args)
    assert "PSNR T1-2 | PSNR T3- | SSIM T1-2 | SSIM T3- |" in text.splitlines()[0], text
    assert "| 30.00 ± 1.00 | 22.00 ± 1.00 | 0.7000 ± 0.0000 | 0.7000 ± 0.0000 |" in text, text
