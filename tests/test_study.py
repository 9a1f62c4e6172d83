"""`deep-rnn study NAME`: grids, the report from result files, errors, a tiny end-to-end study."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from deep_rnn_tf import cli
from deep_rnn_tf.atomic_io import write_json_atomic
from deep_rnn_tf.tools.study import (
    BEST_VALIDATION_FILE,
    CELL_RECORD,
    NOT_RECORDED,
    Study,
    StudyError,
    count_parameters,
    extract_metrics,
    ordering_checks,
    study_main,
    study_parser,
)
from deep_rnn_tf.tools.study_grids import BUDGETS, GRIDS, small_polygon_filters

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------- the grids


@pytest.mark.parametrize("name", sorted(GRIDS))
@pytest.mark.parametrize("budget", BUDGETS)
def test_every_planned_command_parses_with_the_tasks_own_flags(name, budget, tmp_path):
    """Every train command of the study is accepted by `deep-rnn train TASK` (flags exist, values fit)."""
    from deep_rnn_tf.tasks import get_task

    grid = GRIDS[name]
    study = Study(grid, budget, tmp_path)
    runs = study.plan()
    assert runs, "a budget with nothing to run"
    assert [run.seed for run in runs] == sorted(run.seed for run in runs)  # seed-major: all cells per seed
    task = get_task(grid.task)
    for run in runs:
        args = cli._task_command_parser("train", task).parse_args(list(run.train_argv[1:]))
        assert args.preset == grid.budgets[budget].preset and args.seed == run.seed
        assert Path(args.run_dir) == tmp_path / "runs" / run.cell.name / f"seed-{run.seed}"
        config = cli.resolve_config(task, args)
        if grid.task == "polygon":
            from deep_rnn_tf.tasks.polygon.task import resolve_filters

            assert len(resolve_filters(config)) == run.cell.x
        cli._task_command_parser("test", task).parse_args(list(run.test_argv[1:]))


# Keys of the tests' tiny configs that no `deep-rnn train` flag sets (they stay at the `small` preset's).
_TINY_WITHOUT_FLAG = {
    "polygon": {"feature_channels", "overlays"},
    "prediction": {"val_batches", "test_batch_size"},
}


@pytest.mark.parametrize("name", ["polygon-depth", "prediction-cores"])
def test_tiny_budget_is_the_tests_tiny_config(name, tmp_path):
    """No `tiny` preset exists (tests/presets.py holds it): the tiny budget's flags give the same config."""
    from deep_rnn_tf.tasks import get_task
    from tests.presets import TINY

    grid = GRIDS[name]
    task = get_task(grid.task)
    run = Study(grid, "tiny", tmp_path).plan()[-1]
    config = cli.resolve_config(
        task, cli._task_command_parser("train", task).parse_args(list(run.train_argv[1:]))
    )
    for key, value in TINY[grid.task].items():
        if key in _TINY_WITHOUT_FLAG[grid.task] or (grid.task == "prediction" and key == "rnn_depth"):
            continue  # rnn_depth: the cell's own --rnn-depth wins
        expected = tuple(value) if isinstance(value, list) else value
        assert getattr(config, key) == expected, key


def test_tiny_budgets_are_one_seed_and_two_trained_cells(tmp_path):
    for grid in GRIDS.values():
        study = Study(grid, "tiny", tmp_path)
        assert study.seeds == 1
        assert len({run.cell.name for run in study.plan()}) == 2, grid.name
        assert grid.budgets["tiny"].data is not None and grid.budgets["small"].data is not None


def test_grid_cells_match_the_paper_tables():
    polygon = GRIDS["polygon-depth"]
    assert [c.name for c in polygon.cells] == ["box"] + [
        f"{r}-{d}" for r in ("rbm", "convlstm") for d in (2, 5, 10, 15)
    ]
    assert polygon.cell("box").derived_from == "rbm-2" and not polygon.cell("box").paper
    assert polygon.cell("rbm-15").paper == {"iou": 70.4, "decoder_params_m": 5.85}
    assert polygon.cell("convlstm-15").paper["iou"] == 46.7
    assert small_polygon_filters(2) == [16, 8] and len(small_polygon_filters(15)) == 15
    # The small budget opens the RBM gates at the start (gate bias 2); the ConvLSTM keeps Keras' start.
    assert polygon.cell("rbm-5").budget_flags["small"][-2:] == ("--gate-bias", "2")
    assert "--gate-bias" not in polygon.cell("convlstm-5").budget_flags["small"]
    action = GRIDS["action-table"]
    assert [c.name for c in action.cells] == ["lstm1", "convlstm15", "rbm1", "rbm5", "rbm10", "rbm15"]
    # The paper's four rows run by default; the RBM depth sweep between them only when asked for.
    assert [c.name for c in action.cells_for("small")] == ["lstm1", "convlstm15", "rbm1", "rbm15"]
    assert action.cell("rbm5").train_flags("small") == ["--rnn", "rbm15", "--depth", "5"]
    assert [action.cell(n).x for n in ("rbm1", "rbm5", "rbm10", "rbm15")] == [1, 5, 10, 15]
    assert action.cell("rbm15").paper == {"top1": 79.8, "anticipation_top1": 57.7}
    prediction = GRIDS["prediction-cores"]
    assert [c.name for c in prediction.cells] == [
        "copy-last",
        "convlstm",
        "rbm-1",
        "rbm-3",
        "rbm-8",
        "rbm-15",
    ]
    assert len(prediction.cell("rbm-15").paper["psnr_per_step"]) == 20


def test_train_flags_that_share_a_prefix_with_study_flags_reach_the_runs():
    # `--data` is the action task's data flag and `--seed` train's: neither is an abbreviation here.
    args, train_flags = study_parser().parse_known_args(
        ["action-table", "--data", "/my/set", "--seed", "4", "--data-seed", "2"]
    )
    assert train_flags == ["--data", "/my/set", "--seed", "4"]
    assert args.data_seed == 2 and args.seeds is None


def test_user_data_flag_replaces_the_generated_set(tmp_path):
    study = Study(
        GRIDS["polygon-depth"], "small", tmp_path, train_flags=["--crops", "/my/crops", "--epochs", "2"]
    )
    assert study.data_flags() == []
    argv = study.plan()[0].train_argv
    assert argv[-4:] == ("--crops", "/my/crops", "--epochs", "2")  # the user's flags come last and win


def test_a_budget_flag_given_again_appears_once():
    study = Study(GRIDS["action-table"], "small", Path("/tmp/unused"), train_flags=["--epochs", "200"])
    budget_epochs = study.spec.flags.split()
    assert "--epochs" in budget_epochs and "200" not in budget_epochs  # the budget sets its own epochs
    for run in study.plan():
        argv = list(run.train_argv)
        assert argv.count("--epochs") == 1 and argv[argv.index("--epochs") + 1] == "200"
        assert "--preset" in argv and "--rnn" in argv  # the other budget and cell flags stay


# ------------------------------------------------------------------------------------- errors


def test_bad_name_is_a_one_line_error_listing_the_names(capsys):
    assert cli.main(["study", "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "unknown study 'nope'" in err
    for name in GRIDS:
        assert name in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["polygon-depth", "--budget", "huge"], "--budget 'huge'"),
        (["polygon-depth", "--seeds", "0"], "--seeds must be >= 1"),
        (["polygon-depth", "--cells", "rbm-3"], "--cells rbm-3: polygon-depth has cells"),
        (["polygon-depth", "--data-seed", "-1"], "--data-seed must be in [0, 2**32 - 1]; received -1"),
    ],
)
def test_bad_options(argv, message):
    with pytest.raises(StudyError, match=re.escape(message)):
        study_main(argv)


def test_help_lists_the_grids(capsys):
    assert cli.main(["study", "--help"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in GRIDS)


def test_report_only_on_a_folder_without_runs_says_so(capsys, tmp_path):
    assert study_main(["polygon-depth", "--report-only", "--out", str(tmp_path / "empty")]) == 0
    assert "note: no finished run under" in capsys.readouterr().out
    _finish_polygon_run(tmp_path / "some" / "runs" / "rbm-2" / "seed-0", 0.5, 1.0)
    assert study_main(["polygon-depth", "--report-only", "--out", str(tmp_path / "some")]) == 0
    assert "note:" not in capsys.readouterr().out


def test_dry_run_prints_train_and_test_commands(capsys, tmp_path):
    assert study_main(["action-table", "--dry-run", "--out", str(tmp_path), "--seeds", "2"]) == 0
    out = capsys.readouterr().out
    assert out.count("deep-rnn train action --preset small") == 8  # 4 cells x 2 seeds
    assert "--rnn rbm15" in out and "(to run)" in out


# ------------------------------------------------------------------------------------- the report


def _finish_polygon_run(run_dir: Path, iou: float, wall: float) -> None:
    (run_dir / "results").mkdir(parents=True)
    metrics = {
        "class_mean_iou": iou,
        "instance_mean_iou": iou - 0.01,
        "box_baseline": {"class_mean": 0.30, "instance_mean": 0.32},
    }
    # Atomically, as the task's results writer does: with --jobs 2 the other worker's report reads this
    # run's files while they are written (a plain write_text let it read an empty file: a flaky failure).
    write_json_atomic(run_dir / "results" / "polygon_metrics.json", metrics)
    write_json_atomic(run_dir / CELL_RECORD, {"wall_s": wall})


def test_report_from_result_files(tmp_path):
    """Mean ± std over seeds, the paper beside, the checks, CSV columns, the plot; no training involved."""
    grid = GRIDS["polygon-depth"]
    study = Study(grid, "small", tmp_path, seeds=2)
    ious = {"rbm-2": (0.40, 0.42), "rbm-5": (0.45, 0.47), "convlstm-2": (0.41, 0.41)}
    for cell, values in ious.items():
        for seed, iou in enumerate(values):
            _finish_polygon_run(study.run_dir(grid.cell(cell), seed), iou, 10.0 + seed)
    paths = study.write_report()
    with paths["csv"].open() as handle:
        rows = {row["cell"]: row for row in csv.DictReader(handle)}
    assert list(next(iter(rows.values())))[:6] == [
        "cell",
        "label",
        "seeds_done",
        "iou_mean",
        "iou_std",
        "paper_iou",
    ]
    assert {"instance_iou_mean", "wall_s_mean", "params_total", "paper_params_m"} <= set(rows["rbm-2"])
    assert float(rows["rbm-2"]["iou_mean"]) == pytest.approx(41.0)
    assert float(rows["rbm-2"]["iou_std"]) == pytest.approx(np.std([40.0, 42.0], ddof=1), abs=1e-4)
    assert rows["rbm-2"]["paper_iou"] == "59.90" and rows["rbm-2"]["wall_s_mean"] == "10.5"
    assert rows["rbm-15"]["seeds_done"] == "0" and rows["rbm-15"]["iou_mean"] == ""
    # The box baseline is scored from the rbm-2 runs' test files: no training, no parameters.
    assert float(rows["box"]["iou_mean"]) == pytest.approx(30.0) and rows["box"]["params_total"] == ""
    assert float(rows["box"]["instance_iou_mean"]) == pytest.approx(32.0) and rows["box"]["seeds_done"] == "2"
    report = json.loads(paths["json"].read_text())
    assert report["study"] == "polygon-depth" and report["seeds"] == 2
    checks = {c["check"]: c for c in report["checks"]}
    assert checks["rbm iou rises (or holds) with depth"]["holds"] is True
    assert checks["15-layer RBM beats 15-layer ConvLSTM on iou"]["holds"] is None  # not measured
    markdown = paths["md"].read_text()
    assert "| 2-layer RBM | 2 | 41.0 ± 1.4 | 59.9 |" in markdown
    # Per seed, the first two metrics (class-mean / instance-mean IoU); cells without a finished run left out.
    per_seed = markdown.split("## Per seed")[1]
    assert "| 2-layer RBM | 40.0 / 39.0 | 42.0 / 41.0 |" in per_seed and "| 15-layer RBM |" not in per_seed
    assert (tmp_path / "study_depth.png").stat().st_size > 1000


def test_a_beats_check_counts_the_seeds_on_which_it_is_above_beside_the_rule(tmp_path):
    """One run at chance makes the other cell's spread larger than the margin: the rule says "does not
    hold", and the detail says seed by seed where the cell is above, level and below."""
    grid = GRIDS["polygon-depth"]
    study = Study(grid, "small", tmp_path, seeds=3)
    for cell, values in {"rbm-15": (0.80, 0.81, 0.79), "convlstm-15": (0.78, 0.10, 0.79)}.items():
        for seed, iou in enumerate(values):
            _finish_polygon_run(study.run_dir(grid.cell(cell), seed), iou, 10.0)
    checks = {c["check"]: c for c in json.loads(study.write_report()["json"].read_text())["checks"]}
    deep_pair = checks["15-layer RBM beats 15-layer ConvLSTM on iou"]
    assert deep_pair["holds"] is False  # +24.33 against the ConvLSTM's std of 39.55: the rule is unchanged
    assert deep_pair["detail"].endswith("; seed by seed 2 of 3 above (1 level)")


def test_seeds_run_elsewhere_join_the_report_through_their_study_json(tmp_path):
    """Seeds 0-1 ran in one folder (another machine), seeds 2-3 in this one (`--first-seed 2`): the report
    pools all four by seed; a local run of a seed wins over the included one; another budget or other
    flags are refused, naming the file."""
    grid = GRIDS["polygon-depth"]
    first = Study(grid, "small", tmp_path / "a", seeds=2, train_flags=["--epochs", "2"])
    for seed, iou in enumerate((0.40, 0.42)):
        _finish_polygon_run(first.run_dir(grid.cell("rbm-2"), seed), iou, 10.0)
    earlier = first.write_report()["json"]
    here = Study(grid, "small", tmp_path / "b", seeds=2, first_seed=2, train_flags=["--epochs", "2"],
                 include_reports=[earlier])  # fmt: skip
    assert [run.seed for run in here.plan()][:1] == [2] and {run.seed for run in here.plan()} == {2, 3}
    for seed, iou in ((2, 0.44), (3, 0.46)):
        _finish_polygon_run(here.run_dir(grid.cell("rbm-2"), seed), iou, 10.0)
    report = json.loads(here.write_report()["json"].read_text())
    row = next(r for r in report["cells"] if r["cell"] == "rbm-2")
    assert [run["seed"] for run in row["runs"]] == [0, 1, 2, 3] and row["seeds_done"] == 4
    assert row["iou_mean"] == pytest.approx(43.0)
    assert [run.get("from_report") for run in row["runs"]] == [str(earlier)] * 2 + [None] * 2
    assert report["first_seed"] == 2 and report["included_reports"] == [str(earlier)]
    markdown = (tmp_path / "b" / "study.md").read_text()
    assert f"seeds 2-3 run here, with the per-seed results of `{earlier}`" in markdown
    assert "| 2-layer RBM | 40.0 / 39.0 | 42.0 / 41.0 | 44.0 / 43.0 | 46.0 / 45.0 |" in markdown
    # A seed finished here too: this folder's run counts, not the included one.
    _finish_polygon_run(here.run_dir(grid.cell("rbm-2"), 1), 0.50, 10.0)
    again = Study(grid, "small", tmp_path / "b", seeds=3, first_seed=1, train_flags=["--epochs", "2"],
                  include_reports=[earlier])  # fmt: skip
    row = next(r for r in again.collect() if r["cell"] == "rbm-2")
    assert [run["iou"] for run in row["runs"]] == pytest.approx([40.0, 50.0, 44.0, 46.0])
    with pytest.raises(StudyError, match=r"--include-report .*study.json: its flags .*'--epochs', '3'"):
        Study(grid, "small", tmp_path / "c", train_flags=["--epochs", "3"], include_reports=[earlier])
    with pytest.raises(StudyError, match="its budget is 'small', this study's 'tiny'"):
        Study(grid, "tiny", tmp_path / "c", train_flags=["--epochs", "2"], include_reports=[earlier])
    with pytest.raises(StudyError, match="its data_seed is 0, this study's 1"):
        Study(grid, "small", tmp_path / "c", train_flags=["--epochs", "2"], data_seed=1,
              include_reports=[earlier])  # fmt: skip
    with pytest.raises(StudyError, match="missing.json: not a study.json"):
        Study(grid, "small", tmp_path / "c", include_reports=[tmp_path / "missing.json"])
    with pytest.raises(StudyError, match="--first-seed must be in .*received -1"):
        Study(grid, "small", tmp_path / "c", first_seed=-1)


def test_report_shows_the_best_validation_loss_each_run_was_selected_on(tmp_path):
    """The validation loss (from training's best-checkpoint record) beside the test metrics, so variants
    of a cell in separate studies are compared on what selected them; none for the untrained box."""
    from deep_rnn_tf.training.best import BEST_RECORD
    from deep_rnn_tf.training.runs import RunDirectory

    grid = GRIDS["polygon-depth"]
    study = Study(grid, "small", tmp_path, seeds=3)
    cell = grid.cell("rbm-2")
    assert RunDirectory(str(study.run_dir(cell, 0))).checkpoint_dir / BEST_RECORD == (
        study.run_dir(cell, 0) / BEST_VALIDATION_FILE
    )  # the file training writes
    for seed, (value, epoch) in enumerate([(4.2, 14), (4.0, 16), (None, None)]):
        run_dir = study.run_dir(cell, seed)
        _finish_polygon_run(run_dir, 0.4, 10.0)
        if value is not None:  # seed 2 trained without validation: no record
            (run_dir / "checkpoints").mkdir()
            record = {"epoch": epoch, "monitor": "val_loss", "value": value}
            (run_dir / BEST_VALIDATION_FILE).write_text(json.dumps(record))
    selected_on_iou = study.run_dir(grid.cell("rbm-5"), 0)  # trained with --select-on val_iou
    _finish_polygon_run(selected_on_iou, 0.5, 10.0)
    (selected_on_iou / "checkpoints").mkdir()
    record = {"epoch": 9, "monitor": "val_iou", "mode": "max", "value": 0.61}
    (selected_on_iou / BEST_VALIDATION_FILE).write_text(json.dumps(record))
    paths = study.write_report()
    with paths["csv"].open() as handle:
        rows = {row["cell"]: row for row in csv.DictReader(handle)}
    assert float(rows["rbm-2"]["val_best_mean"]) == pytest.approx(4.1)
    assert float(rows["rbm-2"]["val_best_std"]) == pytest.approx(np.std([4.2, 4.0], ddof=1), abs=1e-4)
    assert rows["rbm-2"]["val_epochs"] == "14;16"
    assert rows["box"]["val_best_mean"] == "" and rows["box"]["seeds_done"] == "3"
    markdown = paths["md"].read_text()
    assert "| best validation (epochs) |" in markdown and "4.1000 ± 0.1414 (14, 16) |" in markdown
    assert "0.6100 ± 0.0000 val_iou (9) |" in markdown  # a run selected on another log names it
    report_rows = {r["cell"]: r for r in json.loads(paths["json"].read_text())["cells"]}
    assert [run.get("val_epoch") for run in report_rows["rbm-2"]["runs"]] == [14, 16, None]


def test_report_action_and_prediction_results(tmp_path):
    action = Study(GRIDS["action-table"], "small", tmp_path / "action", seeds=1)
    for cell, top1 in (("rbm15", 0.8), ("lstm1", 0.5), ("rbm1", 0.7)):
        run_dir = action.run_dir(GRIDS["action-table"].cell(cell), 0)
        (run_dir / "results").mkdir(parents=True)
        curve = {f"{0.1 * i:.1f}": top1 * i / 10 for i in range(1, 11)}
        result = {"top1": top1, "top5": 1.0, "mean_class_accuracy": top1, "anticipation_top1": top1 / 2}
        (run_dir / "results" / "action_results.json").write_text(
            json.dumps({**result, "anticipation_curve": curve})
        )
    paths = action.write_report()
    markdown = paths["md"].read_text()
    assert (
        "Accuracy (%) vs observed fraction" in markdown
        and "| 15-layer RBM | 1 | 80.0 ± 0.0 | 79.8 |" in markdown
    )
    assert {"study_bars.png", "study_curves.png"} <= {p.name for p in (tmp_path / "action").iterdir()}
    checks = {c["check"]: c for c in json.loads(paths["json"].read_text())["checks"]}
    one_seed = checks["15-layer RBM beats 1-layer LSTM on top1"]
    assert one_seed["holds"] is None and "needs >= 2 seeds" in one_seed["detail"]  # no spread to beat
    assert checks["15-layer RBM beats 15-layer ConvLSTM on top1"]["detail"] == "not measured yet"
    by_depth = checks["rbm top1 rises (or holds) with depth"]  # the RBM rows in depth order
    assert by_depth["holds"] is None and by_depth["detail"].startswith("1: 70.00 ± 0.00, 15: 80.00 ± 0.00")
    # Per-class accuracy where the results keep it (a class every cell confuses is the set's ceiling);
    # results written before it are read as before, and the table counts the seeds that have it.
    assert "per class" not in markdown
    run_dir = action.run_dir(GRIDS["action-table"].cell("rbm15"), 0)
    result = json.loads((run_dir / "results" / "action_results.json").read_text())
    per_class = [{"class_name": "spin", "accuracy": 0.25}, {"class_name": "slide", "accuracy": 1.0}]
    result["recognition"] = {"per_class": per_class}
    (run_dir / "results" / "action_results.json").write_text(json.dumps(result))
    markdown = action.write_report()["md"].read_text()
    assert "| cell | seeds | spin | slide |" in markdown and "| 15-layer RBM | 1 | 25.0 | 100.0 |" in markdown
    assert "Anticipation accuracy (%) per class" not in markdown  # not in these results

    prediction = Study(GRIDS["prediction-cores"], "small", tmp_path / "prediction", seeds=1)
    run_dir = prediction.run_dir(GRIDS["prediction-cores"].cell("convlstm"), 0)
    folder = run_dir / "results" / "quantitative" / "KTH" / "seed-0"
    folder.mkdir(parents=True)
    psnr = np.array([[30.0, 25.0, np.inf], [32.0, 27.0, 20.0]])
    np.savez(folder / "results_model=MCNET_convlstm.npz", psnr=psnr, ssim=np.full((2, 3), 0.8))
    np.savez(folder / "results_model=copy_last_frame.npz", psnr=psnr - 5, ssim=np.full((2, 3), 0.5))
    metrics = extract_metrics("prediction", run_dir)
    assert metrics["psnr_per_step"] == [31.0, 26.0, 60.0]  # inf capped at 100, as the task's tables do
    assert extract_metrics("prediction", run_dir, derived=True)["ssim"] == pytest.approx(0.5)
    rows = {row["cell"]: row for row in prediction.collect()}
    assert rows["copy-last"]["seeds_done"] == 1 and rows["copy-last"]["psnr_per_step_mean"][0] == 26.0
    markdown = prediction.write_report()["md"].read_text()
    assert "Per-step PSNR" in markdown and "| copy last frame |" in markdown


def _finish_action_run(run_dir: Path) -> None:
    (run_dir / "results").mkdir(parents=True)
    result = {"top1": 0.5, "top5": 1.0, "mean_class_accuracy": 0.5, "anticipation_top1": 0.3}
    result["anticipation_curve"] = {"0.5": 0.4, "1.0": 0.5}
    (run_dir / "results" / "action_results.json").write_text(json.dumps(result))


def test_report_lists_the_settings_on_which_its_runs_differ(tmp_path):
    """A report rewritten over runs trained with other flags says what each run was trained with (from its
    config.json), not only the flags of the command that wrote it; settings shared by all runs and the seed
    are left out, and a setting an older run did not record is named so."""
    grid = GRIDS["action-table"]
    action = Study(grid, "small", tmp_path, seeds=2)
    warmups = {"lstm1": (20, 20), "rbm15": (40, 40), "rbm1": (40, None)}
    for cell, per_seed in warmups.items():
        for seed, warmup in enumerate(per_seed):
            run_dir = action.run_dir(grid.cell(cell), seed)
            _finish_action_run(run_dir)
            config = {"rnn": cell, "seed": seed, "val_seed": seed, "epochs": 120}
            if warmup is not None:  # rbm1's seed 1 predates the setting
                config["anticipation_warmup"] = warmup
            (run_dir / "config.json").write_text(json.dumps(config))
    paths = action.write_report()
    differing = json.loads(paths["json"].read_text())["differing_settings"]
    assert set(differing) == {"anticipation_warmup", "rnn"}  # not epochs (shared), not the seeds
    assert differing["anticipation_warmup"]["1-layer RBM"] == [40, NOT_RECORDED]
    markdown = paths["md"].read_text()
    assert "## Settings that differ between the runs" in markdown
    assert "| anticipation_warmup | 20 | 40 / (not recorded) | 40 |" in markdown
    assert '| rnn | "lstm1" | "rbm1" | "rbm15" |' in markdown


def test_a_report_whose_runs_share_every_setting_has_no_settings_section(tmp_path):
    grid = GRIDS["action-table"]
    action = Study(grid, "small", tmp_path, seeds=1)
    run_dir = action.run_dir(grid.cell("rbm15"), 0)
    _finish_action_run(run_dir)
    (run_dir / "config.json").write_text(json.dumps({"rnn": "rbm15", "seed": 0}))
    paths = action.write_report()
    assert json.loads(paths["json"].read_text())["differing_settings"] == {}
    assert "Settings that differ" not in paths["md"].read_text()


def test_a_slow_slide_with_depth_is_not_rising_or_holding():
    def row(depth, mean, std=2.5):
        return {
            "cell": f"rbm{depth}",
            "series": "rbm",
            "x": depth,
            "seeds_done": 3,
            "top1_mean": mean,
            "top1_std": std,
            "anticipation_top1_mean": None,  # not measured: its checks stay undecided
        }

    def rises(rows):
        checks = ordering_checks(GRIDS["action-table"], rows)
        return next(c for c in checks if c["check"] == "rbm top1 rises (or holds) with depth")

    # Every step drops less than one std (2 < 2.5), the 15-layer stack 6 points under the 1-layer one.
    slide = rises([row(1, 80.0), row(5, 78.0), row(10, 76.0), row(15, 74.0)])
    assert slide["holds"] is False and "1->15: 80.00 -> 74.00" in slide["detail"]
    assert rises([row(1, 80.0), row(5, 78.0), row(10, 79.0), row(15, 81.0)])["holds"] is True


def test_runner_runs_concurrently_skips_finished_runs_and_reports_failures(tmp_path, monkeypatch):
    """The runner's bookkeeping with a fake child process (no TensorFlow run): data, jobs, skip, failure."""
    from deep_rnn_tf.tools import study as study_module

    calls = []

    def fake_child(commands, log_path, threads):
        calls.append((commands, threads))
        if commands[0][0] == "data":  # the generators: make the recipe's "ready" file
            ready = tmp_path / "data" / "crops" / "val" / "manifest.json"
            ready.parent.mkdir(parents=True, exist_ok=True)
            ready.write_text("{}")
            return 0
        run_dir = Path(commands[0][commands[0].index("--run-dir") + 1])
        if "convlstm" in run_dir.parts[-2]:
            return 1  # a failing run
        _finish_polygon_run(run_dir, 0.5, 0.0)
        return 0

    monkeypatch.setattr(study_module, "run_child", fake_child)
    lines = []
    study = Study(GRIDS["polygon-depth"], "tiny", tmp_path, seeds=2, jobs=2, log=lines.append)
    assert study.run() == 1  # one cell failed
    assert calls[0][0][0][:2] == ["data", "synth-cityscapes"] and calls[0][0][0][-1] == "--quiet"
    assert sorted(c[1] for c in calls[1:]) == [max(1, (os.cpu_count() or 1) // 2)] * 4  # threads per job
    assert sum("FAILED convlstm-2 seed" in line for line in lines) == 2
    assert json.loads((tmp_path / "runs" / "rbm-2" / "seed-1" / CELL_RECORD).read_text())["seed"] == 1
    rows = {row["cell"]: row for row in json.loads((tmp_path / "study.json").read_text())["cells"]}
    assert rows["rbm-2"]["seeds_done"] == 2 and rows["convlstm-2"]["seeds_done"] == 0
    calls.clear()
    assert study.run() == 1  # only the failed runs are tried again; the data is not regenerated
    assert len(calls) == 2 and all("convlstm-2" in " ".join(c[0][0]) for c in calls)


def test_a_refused_command_line_stops_the_study_and_says_why(tmp_path, monkeypatch):
    """`deep-rnn study ... --bogus 3`: every run gets the flag, so after the first refusal (exit 2) the
    others are skipped, and the progress line quotes the child's error instead of only naming its log."""
    from deep_rnn_tf.tools import study as study_module

    calls = []

    def refusing_child(commands, log_path, threads):
        calls.append(commands)
        if commands[0][0] == "data":
            ready = tmp_path / "data" / "crops" / "val" / "manifest.json"
            ready.parent.mkdir(parents=True, exist_ok=True)
            ready.write_text("{}")
            return 0
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text("deep-rnn: error: deep-rnn train: unrecognized arguments: --bogus 3\n")
        return 2

    monkeypatch.setattr(study_module, "run_child", refusing_child)
    lines = []
    study = Study(GRIDS["polygon-depth"], "tiny", tmp_path, seeds=2, train_flags=["--bogus", "3"],
                  log=lines.append)  # fmt: skip
    assert study.run() == 1
    assert len(calls) == 2  # the data, then one run: the other three are not started
    failed = next(line for line in lines if "FAILED" in line)
    assert "(exit 2): deep-rnn: error: deep-rnn train: unrecognized arguments: --bogus 3; see" in failed
    assert any("stopping: the command line was refused" in line for line in lines)
    assert study_module.last_error_line(tmp_path / "missing.log") is None


def _fake_polygon_child(out: Path, calls: list | None = None):
    """A stand-in for `run_child` (no TensorFlow run): the data recipe makes its "ready" file, a run
    writes a finished polygon result; every command list is appended to `calls`."""

    def fake_child(commands, log_path, threads):
        if calls is not None:
            calls.append(commands)
        if commands[0][0] == "data":
            ready = out / "data" / "crops" / "val" / "manifest.json"
            ready.parent.mkdir(parents=True, exist_ok=True)
            ready.write_text("{}")
        else:
            _finish_polygon_run(Path(commands[0][commands[0].index("--run-dir") + 1]), 0.5, 0.0)
        return 0

    return fake_child


def test_a_study_folder_refuses_runs_with_other_flags_than_its_runs_were_trained_with(
    tmp_path, monkeypatch, capsys
):
    """A report averages every finished run of its folder under one flags line: adding runs with other
    flags (or resuming an interrupted run with them) is refused before anything runs, naming the run and the
    flags; the same flags in another order or with the folder given another way go on."""
    from deep_rnn_tf.tools import study as study_module

    calls = []
    monkeypatch.setattr(study_module, "run_child", _fake_polygon_child(tmp_path, calls))
    grid = GRIDS["polygon-depth"]
    first = Study(grid, "tiny", tmp_path, seeds=1, train_flags=["--epochs", "2", "--lr", "1e-3"], log=print)
    assert first.run() == 0
    assert json.loads((tmp_path / "runs" / "rbm-2" / "seed-0" / CELL_RECORD).read_text())["train_argv"]
    calls.clear()
    other = Study(grid, "tiny", tmp_path, seeds=2, train_flags=["--epochs", "3", "--lr", "1e-3"], log=print)
    with pytest.raises(StudyError, match=r"rbm-2/seed-0: trained with other flags .*--epochs: 2 -> 3"):
        other.run()
    assert calls == []  # refused before any run or data
    dry = ["polygon-depth", "--budget", "tiny", "--out", str(tmp_path), "--dry-run", "--epochs", "3"]
    assert study_main([*dry, "--lr", "1e-3"]) == 0
    printed = capsys.readouterr().out
    assert "# rbm-2 seed 0 (finished, trained with other flags: --epochs: 2 -> 3)" in printed
    added = Study(grid, "tiny", tmp_path, seeds=1, train_flags=["--epochs", "2", "--jit"], log=print)
    with pytest.raises(StudyError, match=r"--jit: \(absent\) -> \(set\); --lr: 1e-3 -> \(absent\)"):
        added.run()
    # An interrupted run (its attempt record) counts too.
    interrupted = tmp_path / "runs" / "rbm-2" / "seed-1"
    interrupted.mkdir(parents=True)
    argv = ["train", "polygon", "--run-dir", str(interrupted), "--epochs", "9"]
    (interrupted / study_module.ATTEMPT_RECORD).write_text(json.dumps({"train_argv": argv}))
    with pytest.raises(StudyError, match=r"rbm-2/seed-1: .*--epochs: 9 -> 2"):
        Study(grid, "tiny", tmp_path, seeds=2, train_flags=["--lr", "1e-3", "--epochs", "2"]).run()
    (interrupted / study_module.ATTEMPT_RECORD).unlink()
    # Same flags in another order, the folder given relative to the working directory: seed 1 runs.
    monkeypatch.chdir(tmp_path.parent)
    again = Study(
        grid, "tiny", Path(tmp_path.name), seeds=2, train_flags=["--lr", "1e-3", "--epochs", "2"], log=print
    )
    assert again.run() == 0
    assert len(calls) == 2 and all("seed-1" in " ".join(c[0]) for c in calls)
    started = json.loads((tmp_path / "runs" / "rbm-2" / "seed-1" / CELL_RECORD).read_text())
    assert started["train_argv"][-4:] == ["--lr", "1e-3", "--epochs", "2"]


def test_side_by_side_runs_cap_both_tensorflow_thread_pools(tmp_path, monkeypatch):
    from deep_rnn_tf.tools import study as study_module

    seen = []
    monkeypatch.setattr(study_module.subprocess, "call", lambda argv, env, **kwargs: seen.append(env) or 0)
    monkeypatch.delenv("TF_NUM_INTEROP_THREADS", raising=False)
    assert study_module.run_child([["--help"]], tmp_path / "log", threads=1) == 0
    assert [seen[0].get(name) for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")] == ["1", "1"]
    assert study_module.run_child([["--help"]], tmp_path / "log", threads=None) == 0
    assert "TF_NUM_INTEROP_THREADS" not in seen[1]  # one run at a time: TensorFlow's defaults


def test_a_resumed_run_reports_the_wall_time_of_every_attempt(tmp_path, monkeypatch):
    """A run killed mid-way and finished by a later study keeps the killed attempt's time in its record."""
    from deep_rnn_tf.tools import study as study_module

    monkeypatch.setattr(study_module, "run_child", _fake_polygon_child(tmp_path))
    run_dir = tmp_path / "runs" / "rbm-2" / "seed-0"
    run_dir.mkdir(parents=True)
    # The killed attempt: started 1000 s ago after 50 s of earlier attempts, its log last written 300 s later.
    started = time.time() - 1000
    (run_dir / study_module.ATTEMPT_RECORD).write_text(
        json.dumps({"earlier_s": 50.0, "started_unix": started})
    )
    (run_dir / "study.log").write_text("epoch lines\n")
    os.utime(run_dir / "study.log", (started + 300, started + 300))
    assert study_module.interrupted_wall(run_dir) == pytest.approx(350.0)
    assert study_module.interrupted_wall(tmp_path) == 0.0  # no attempt record: nothing earlier
    elsewhere = tmp_path / "attempt.log"  # a log kept outside the run (benchmarks/prediction_seeds.py)
    elsewhere.write_text("epoch lines\n")
    os.utime(elsewhere, (started + 100, started + 100))
    assert study_module.interrupted_wall(run_dir, elsewhere) == pytest.approx(150.0)
    lines: list[str] = []
    study = Study(GRIDS["polygon-depth"], "tiny", tmp_path, seeds=1, jobs=1, log=lines.append)
    assert study.run() == 0
    record = json.loads((run_dir / CELL_RECORD).read_text())
    assert 350.0 <= record["wall_s"] < 360.0, record
    done = [line for line in lines if "done rbm-2 seed 0" in line]
    assert done and "in this attempt" in done[0] and " in 35" in done[0], lines  # the progress line agrees
    assert not (run_dir / study_module.ATTEMPT_RECORD).exists()
    fresh = json.loads((tmp_path / "runs" / "convlstm-2" / "seed-0" / CELL_RECORD).read_text())
    assert fresh["wall_s"] < 10.0  # a run with no earlier attempt counts only its own


def test_parameter_count_from_a_checkpoint(tmp_path):
    import keras

    from deep_rnn_tf import DeepRNN

    frames = keras.Input((3, 6, 6, 4))
    stack = DeepRNN("rbm", depth=2, filters=4, jump=2, projection="always", name="stack")
    model = keras.Model(frames, keras.layers.Dense(2)(stack(frames)))
    (tmp_path / "checkpoints").mkdir()
    model.save_weights(tmp_path / "checkpoints" / "epoch-0001.weights.h5")
    counts = count_parameters(tmp_path)
    assert counts == {"total": model.count_params(), "recurrent": stack.count_params(), "counted": "stored"}
    assert count_parameters(tmp_path / "nothing") is None


def test_parameter_counts_are_the_trainable_weights_not_the_per_step_statistics(tmp_path):
    import keras

    from deep_rnn_tf import DeepRNN
    from deep_rnn_tf.training.runs import parameter_counts

    # Per-step batch norm stores 32 rows of moving statistics per channel: a checkpoint count includes them.
    frames = keras.Input((3, 6, 6, 4))
    stack = DeepRNN("rbm", depth=2, filters=4, jump=2, normalization="batch_per_step", name="stack")
    inner = keras.Model(frames, stack(frames), name="inner")  # nested, as the action task's clip model
    outer_input = keras.Input((3, 6, 6, 4))
    pooled = keras.layers.TimeDistributed(keras.layers.GlobalAveragePooling2D())(inner(outer_input))
    model = keras.Model(outer_input, keras.layers.Dense(2)(pooled))
    counts = parameter_counts(model)
    trainable_in_stack = sum(int(np.prod(w.shape)) for w in stack.trainable_weights)
    assert counts["recurrent_trainable"] == trainable_in_stack > 0
    assert counts["trainable"] == trainable_in_stack + 4 * 2 + 2  # + the Dense head
    assert counts["non_trainable"] == sum(int(np.prod(w.shape)) for w in model.non_trainable_weights) > 0
    (tmp_path / "parameters.json").write_text(json.dumps(counts))
    recorded = count_parameters(tmp_path)
    assert recorded == {"total": counts["trainable"], "recurrent": trainable_in_stack, "counted": "trainable"}


# ------------------------------------------------------------------------------------- end to end


def _study(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess:
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    )
    command = [sys.executable, "-m", "deep_rnn_tf.cli", "study", *argv, "--out", str(tmp_path / "study")]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)


def _check_tiny_study(tmp_path: Path, name: str, columns: list[str]) -> None:
    # --jobs 2: the two runs side by side, one thread each (75 -> 43 s for prediction-cores on 2 idle cores:
    # most of a tiny run is single-threaded TensorFlow start-up and tracing).
    done = _study(tmp_path, name, "--budget", "tiny", "--jobs", "2")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    out = tmp_path / "study"
    assert {"study.json", "study.csv", "study.md"} <= {p.name for p in out.iterdir()}
    assert any(p.suffix == ".png" for p in out.iterdir())
    with (out / "study.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert set(columns) <= set(rows[0])
    trained = [row for row in rows if row["params_total"]]
    assert len(trained) == 2 and all(row["seeds_done"] == "1" for row in trained)
    assert all(row[columns[0]] != "" for row in trained)
    assert "running " in done.stdout and "(2/2 done)" in done.stdout and "2 at a time" in done.stdout
    # A re-run skips the finished cells: nothing trains, the report is rewritten.
    begin = time.monotonic()
    again = _study(tmp_path, name, "--budget", "tiny")
    assert again.returncode == 0, again.stderr[-2000:]
    assert "2 already finished, 0 to run" in again.stdout and "running " not in again.stdout
    assert time.monotonic() - begin < 120


# In the default suite (issue 12: the tiny studies run in CI in under 3 minutes): 42-50 s each on an idle
# 2-core machine one run at a time (TensorFlow start-up of 5 child processes), about 30 s less with
# --jobs 2. polygon-depth's was marked slow until the forty-third session (5.5 min measured at load
# average ~10 in the ninth; 42 s idle now).
def test_tiny_polygon_depth_study_end_to_end(tmp_path):
    _check_tiny_study(tmp_path, "polygon-depth", ["iou_mean", "iou_std", "paper_iou", "params_recurrent"])


def test_tiny_action_table_study_end_to_end(tmp_path):
    _check_tiny_study(tmp_path, "action-table", ["top1_mean", "anticipation_top1_mean", "paper_top1"])


def test_tiny_prediction_cores_study_end_to_end(tmp_path):
    _check_tiny_study(tmp_path, "prediction-cores", ["psnr_mean", "ssim_mean", "paper_psnr"])
