"""`deep-rnn study NAME`: run a named grid of ordinary runs and write one report.

    deep-rnn study polygon-depth|action-table|prediction-cores [--budget tiny|small|paper] [--seeds N]
                   [--first-seed K] [--include-report STUDY_JSON] [--jobs N] [--out DIR] [--cells A,B]
                   [--data-seed N] [--dry-run] [--report-only] [TRAIN FLAGS...]

Every cell x seed of the grid (`deep_rnn_tf.tools.study_grids`) is an ordinary run directory,
``<out>/runs/<cell>/seed-<s>``, trained and tested through the public command line (`deep-rnn train`,
then `deep-rnn test`, each in a child process), so every run resumes, and a re-run of the study skips
the runs whose test result file exists. Unknown flags (e.g. ``--epochs 2``) go to every `deep-rnn train`.
A missing data set is generated first with the project's generators (`deep-rnn data ...`, seeded) into
``<out>/data``. After every finished run the report is rewritten (atomically): ``study.json``,
``study.csv``, ``study.md`` (mean +- std over seeds, the paper's numbers beside, the ordering checks) and
the plots (``study_*.png``).

Seeds K..K+N-1 (``--first-seed K --seeds N``) extend a grid whose seeds 0..K-1 ran elsewhere: with
``--include-report`` their earlier ``study.json`` joins the report (its per-seed results, not its run
folders), after a check that it is the same study, budget and flags.

Example:
    $ deep-rnn study polygon-depth --budget tiny --out runs/study/ci
    $ deep-rnn study action-table --budget small --jobs 2
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from deep_rnn_tf.atomic_io import atomic_path, write_json_atomic, write_text_atomic
from deep_rnn_tf.tools.study_grids import BUDGETS, GRIDS, StudyCell, StudyGrid
from deep_rnn_tf.validation import SEED_LIMIT

PROG = "deep-rnn study"
USAGE_ERROR = 2  # the exit status of `deep-rnn train` whose command line was refused (argparse's)
CELL_RECORD = "study_cell.json"  # what the study remembers of a finished run (wall time, metrics)
# An attempt in progress: when it started and the wall time of the earlier, interrupted attempts, so a run
# that resumes across sessions reports all its time, not only its last attempt's.
ATTEMPT_RECORD = "study_attempt.json"
# What `deep-rnn train` writes of the model's weight counts (`RunDirectory.parameters_path`; the study reads
# run directories by their file names and does not import the trainer, which would load TensorFlow).
PARAMETERS_FILE = "parameters.json"
# The best-checkpoint record that training keeps when it validates (`training.best`: epoch, monitor, value),
# read by path for the same reason.
BEST_VALIDATION_FILE = "checkpoints/best.json"

# The file each task's `deep-rnn test` writes last: its existence means the run is finished.
RESULT_PATTERNS: dict[str, str] = {
    "polygon": "results/polygon_metrics.json",
    "action": "results/action_results.json",
    "prediction": "results/quantitative/KTH/*/results_model=MCNET_*.npz",
}


class StudyError(ValueError):
    """A bad study command line or a missing input (one line, exit status 2)."""


# ------------------------------------------------------------------------------------- results


def result_file(task: str, run_dir: Path) -> Path | None:
    """The task's test result file in `run_dir`, or None while the run is unfinished.

    Example:
        >>> result_file("polygon", Path("runs/study/polygon-depth/runs/rbm-2/seed-0"))  # doctest: +SKIP
    """
    found = sorted(run_dir.glob(RESULT_PATTERNS[task]))
    return found[-1] if found else None


def _percent(value: Any) -> float | None:
    return None if value is None else 100.0 * float(value)


def extract_metrics(task: str, run_dir: Path, derived: bool = False) -> dict[str, Any]:
    """The study's metrics of one finished run, read from the task's result files.

    Args:
        task: "polygon", "action" or "prediction".
        run_dir: the run directory.
        derived: score the trivial baseline that the run's test also wrote (polygon: the bounding box;
            prediction: copy-last-frame).

    Returns:
        polygon: iou, instance_iou (%); action: top1, anticipation_top1, top5, mean_class_accuracy (%)
        and curve {fraction: top-1 %}; prediction: psnr, ssim (mean over steps) and psnr_per_step,
        ssim_per_step (mean over test windows, PSNR of identical frames capped as the task does).

    Raises:
        StudyError: the result file is missing or unreadable (names it).
    """
    path = result_file(task, run_dir)
    if path is None:
        raise StudyError(f"{run_dir}: no test result ({RESULT_PATTERNS[task]}); the run is not finished")
    try:
        if task == "polygon":
            data = json.loads(path.read_text())
            if derived:
                box = data["box_baseline"]
                return {"iou": _percent(box["class_mean"]), "instance_iou": _percent(box["instance_mean"])}
            return {
                "iou": _percent(data["class_mean_iou"]),
                "instance_iou": _percent(data["instance_mean_iou"]),
            }
        if task == "action":
            data = json.loads(path.read_text())
            return {
                "top1": _percent(data["top1"]),
                "anticipation_top1": _percent(data["anticipation_top1"]),
                "top5": _percent(data.get("top5")),
                "mean_class_accuracy": _percent(data.get("mean_class_accuracy")),
                "curve": {k: _percent(v) for k, v in sorted(data["anticipation_curve"].items())},
                **_per_class(data),
            }
        if derived:
            path = path.with_name("results_model=copy_last_frame.npz")
        return _video_metrics(path)
    except (OSError, KeyError, ValueError) as error:
        raise StudyError(f"{path}: cannot read the test result ({error})") from None


def _per_class(data: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    """Accuracy % per class name of both action protocols (absent from results written before it was kept)."""
    found = {}
    for protocol, key in (("recognition", "per_class"), ("anticipation", "anticipation_per_class")):
        rows = (data.get(protocol) or {}).get("per_class")
        if rows:
            found[key] = {row["class_name"]: _percent(row["accuracy"]) for row in rows}
    return found


def _video_metrics(path: Path) -> dict[str, Any]:
    from deep_rnn_tf.evaluation.video import finite_mean

    with np.load(path) as data:
        psnr, ssim = data["psnr"], data["ssim"]
    per_step_psnr = finite_mean(psnr, axis=0)
    per_step_ssim = np.mean(ssim, axis=0)
    return {
        "psnr": float(np.mean(per_step_psnr)),
        "ssim": float(np.mean(per_step_ssim)),
        "psnr_per_step": [round(float(v), 3) for v in per_step_psnr],
        "ssim_per_step": [round(float(v), 4) for v in per_step_ssim],
    }


def best_validation(run_dir: Path) -> dict[str, Any]:
    """The run's best validation score and its epoch, from the best-checkpoint record of its training.

    What `deep-rnn test` scores is that checkpoint, so the report can compare variants (a flag's values in
    separate studies) by the number they were selected on, not by the test. Empty for a run trained
    without validation.

    Returns:
        {"val_best": value, "val_epoch": epoch, "val_monitor": "val_loss"} or {}.

    Example:
        >>> best_validation(Path("runs/study/action-table/runs/rbm15/seed-0"))  # doctest: +SKIP
        {'val_best': 4.153, 'val_epoch': 97, 'val_monitor': 'val_loss'}
    """
    record = _read_json(run_dir / BEST_VALIDATION_FILE)
    if not isinstance(record.get("value"), int | float) or not math.isfinite(record["value"]):
        return {}
    return {
        "val_best": float(record["value"]),
        "val_epoch": record.get("epoch"),
        "val_monitor": record.get("monitor", "val_loss"),
    }


def count_parameters(run_dir: Path) -> dict[str, Any] | None:
    """Weights of the run's model: total, and those of the recurrent stack; None when it has neither.

    From ``parameters.json``, which `deep-rnn train` writes (`training.runs.parameter_counts`): the
    trainable weights, "recurrent" those of every `DeepCell` (cells, their normalisation, jump
    projections); ``counted`` is "trainable". Runs trained before that file existed are counted from the
    newest ``.weights.h5`` checkpoint (optimizer slots excluded), which also holds the batch-norm moving
    statistics (per time step under ``batch_per_step``); ``counted`` is then "stored".
    """
    recorded = _read_json(run_dir / PARAMETERS_FILE)
    if recorded:
        return {
            "total": recorded["trainable"],
            "recurrent": recorded["recurrent_trainable"],
            "counted": "trainable",
        }
    return _count_stored_weights(run_dir)


def _count_stored_weights(run_dir: Path) -> dict[str, Any] | None:
    import h5py

    checkpoints = sorted((run_dir / "checkpoints").glob("epoch-*.weights.h5"))
    if not checkpoints:
        return None
    counts: dict[str, Any] = {"total": 0, "recurrent": 0}

    def visit(name: str, item: Any) -> None:
        if not isinstance(item, h5py.Dataset) or name.startswith("optimizer/"):
            return
        size = int(np.prod(item.shape)) if item.shape else 1
        counts["total"] += size
        if {"cells", "projection_layers"} & set(name.split("/")):  # what a DeepCell owns
            counts["recurrent"] += size

    with h5py.File(checkpoints[-1], "r") as handle:
        handle.visititems(visit)
    return {**counts, "counted": "stored"}


# ------------------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class CellRun:
    """One cell x seed: its run directory and the two commands (train, test) that make it."""

    cell: StudyCell
    seed: int
    run_dir: Path
    train_argv: tuple[str, ...]
    test_argv: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.cell.name} seed {self.seed}"


def _fill(line: str, data_dir: Path, seed: int) -> list[str]:
    """Splits a command line of the grids and fills in "{data}" and "{seed}"."""
    return [arg.replace("{data}", str(data_dir)).replace("{seed}", str(seed)) for arg in line.split()]


def _given_flags(argv: Sequence[str]) -> set[str]:
    return {arg.split("=", 1)[0] for arg in argv if arg.startswith("--")}


def _without_overridden(flags: Sequence[str], overrides: Sequence[str]) -> list[str]:
    """`flags` less each flag (and its values) that `overrides` gives again.

    argparse keeps the last of a repeated flag, so the command runs the same either way; dropping the
    overridden one keeps the report from reading "--epochs 60 --epochs 120".
    """
    given, kept, skipping = _given_flags(overrides), [], False
    for arg in flags:
        if arg.startswith("--"):
            skipping = arg.split("=", 1)[0] in given
        if not skipping:
            kept.append(arg)
    return kept


class Study:
    """Plans, runs and reports one grid at one budget.

    Args:
        grid: the grid (`study_grids.GRIDS[name]`).
        budget: "tiny", "small" or "paper".
        out: the study folder (runs/, data/, the report).
        seeds: seeds per cell (default: the budget's).
        first_seed: the first seed (seeds first_seed .. first_seed + seeds - 1).
        include_reports: earlier `study.json` files of the same study, budget and flags (e.g. seeds 0-2
            run on another machine): their per-seed results join this report where this folder has no
            finished run of that cell and seed.
        jobs: runs at the same time (each a child process).
        train_flags: extra `deep-rnn train` flags for every run (they win over the budget's).
        cells: names of the cells to run (default: the budget's).
        data_seed: seed of the generated data set.
        log: where progress lines go.

    Example:
        >>> study = Study(GRIDS["polygon-depth"], "tiny", Path("runs/study/ci"))
        >>> [run.key for run in study.plan()]
        ['rbm-2 seed 0', 'convlstm-2 seed 0']
    """

    def __init__(
        self,
        grid: StudyGrid,
        budget: str,
        out: Path,
        seeds: int | None = None,
        first_seed: int = 0,
        include_reports: Sequence[Path] = (),
        jobs: int = 1,
        train_flags: Sequence[str] = (),
        cells: Sequence[str] | None = None,
        data_seed: int = 0,
        log: Callable[[str], None] = print,
    ):
        if budget not in BUDGETS:
            raise StudyError(f"--budget {budget!r}: expected one of {list(BUDGETS)}")
        self.grid, self.budget, self.out = grid, budget, Path(out)
        self.spec = grid.budgets[budget]
        self.seeds = self.spec.seeds if seeds is None else int(seeds)
        if self.seeds < 1:
            raise StudyError(f"--seeds must be >= 1; received {seeds}")
        self.first_seed = _checked_seed("--first-seed", first_seed)
        if jobs < 1:
            raise StudyError(f"--jobs must be >= 1; received {jobs}")
        _checked_seed("--data-seed", data_seed)  # the generators' NumPy seeds
        self.jobs, self.train_flags, self.data_seed, self.log = jobs, list(train_flags), data_seed, log
        self.cells = grid.cells_for(budget)
        if cells:
            known = {cell.name for cell in grid.cells}
            unknown = [name for name in cells if name not in known]
            if unknown:
                raise StudyError(f"--cells {','.join(unknown)}: {grid.name} has cells {sorted(known)}")
            wanted = set(cells) | {grid.cell(n).derived_from for n in cells if grid.cell(n).derived_from}
            self.cells = [cell for cell in grid.cells if cell.name in wanted]
        # (path, report) of every earlier study.json whose per-seed results join this report.
        self.included = [(Path(path), self._read_included(Path(path))) for path in include_reports]
        self._lock = threading.Lock()
        self._refused = threading.Event()
        self._started = time.monotonic()

    @property
    def seed_range(self) -> range:
        """The seeds this folder runs."""
        return range(self.first_seed, self.first_seed + self.seeds)

    @property
    def flags(self) -> list[str]:
        """The flags every run of the study gets on top of its preset and cell (recorded in the report)."""
        return [*_without_overridden(self.spec.flags.split(), self.train_flags), *self.train_flags]

    def _read_included(self, path: Path) -> dict[str, Any]:
        """An earlier report of this study, checked to be the same study, budget and flags."""
        report = _read_json(path)
        if not report or "cells" not in report:
            raise StudyError(f"--include-report {path}: not a study.json (missing, unreadable or no cells)")
        # A report written before the data seed was recorded used the default, 0.
        report.setdefault("data_seed", 0)
        same = (("study", self.grid.name), ("budget", self.budget), ("flags", self.flags),
                ("data_seed", self.data_seed))  # fmt: skip
        for key, ours in same:
            if report.get(key) != ours:
                raise StudyError(
                    f"--include-report {path}: its {key} is {report.get(key)!r}, this study's {ours!r}; "
                    "only runs made alike are pooled"
                )
        return report

    def included_runs(self, cell: StudyCell, done: set[int]) -> list[dict[str, Any]]:
        """Included per-seed results of `cell` for seeds not in `done` (the first report with a seed wins)."""
        runs = []
        for path, report in self.included:
            row = next((r for r in report["cells"] if r.get("cell") == cell.name), None)
            for run in row["runs"] if row else ():
                if run.get("seed") not in done:
                    done.add(run.get("seed"))
                    runs.append({**run, "from_report": run.get("from_report", str(path))})
        return runs

    # --- plan --------------------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self.out / "data"

    def data_flags(self) -> list[str]:
        """Flags pointing the runs at the data (none when the user passed the data flag or at paper scale)."""
        recipe = self.spec.data
        if recipe is None or recipe.flags.split()[0] in _given_flags(self.train_flags):
            return []
        return _fill(recipe.flags, self.data_dir, self.data_seed)

    def run_dir(self, cell: StudyCell, seed: int) -> Path:
        return self.out / "runs" / cell.name / f"seed-{seed}"

    def plan(self) -> list[CellRun]:
        """Every cell x seed that trains (derived cells are scored from their source's runs)."""
        runs = []
        # Seed-major: every cell's seed 0 before any seed 1, so a study cut short still compares all cells.
        for seed in self.seed_range:
            for cell in self.cells:
                if cell.derived_from:
                    continue
                run_dir = self.run_dir(cell, seed)
                train = (
                    "train", self.grid.task, "--preset", self.spec.preset, "--run-dir", str(run_dir),
                    "--seed", str(seed), "--quiet", *self.data_flags(),
                    *_without_overridden([*self.spec.flags.split(), *cell.train_flags(self.budget)],
                                         self.train_flags),
                    *self.train_flags,
                )  # fmt: skip
                test = ("test", self.grid.task, "--run-dir", str(run_dir), "--quiet")
                runs.append(CellRun(cell, seed, run_dir, train, test))
        return runs

    def is_finished(self, run: CellRun) -> bool:
        return result_file(self.grid.task, run.run_dir) is not None

    def check_same_flags(self, runs: list[CellRun]) -> None:
        """Refuses to add runs to a study folder whose runs were trained with other flags.

        A report mixes every finished run of its folder: a new run with other flags beside old ones (or an
        interrupted run resumed with other flags) would be averaged with them under one flags line. Each
        run records its train command when it starts and when it finishes; runs that predate the record
        are not checked.

        Raises:
            StudyError: names the first run that differs, the flags that differ, and what to do.
        """
        for run in runs:
            changed = flags_changed(run)
            if changed:
                raise StudyError(
                    f"{run.run_dir}: trained with other flags than this study gives it ({changed}); "
                    "use a new --out for these flags, or --report-only to rewrite the report of the "
                    "runs as they are"
                )

    # --- running -----------------------------------------------------------------------------------
    def _progress(self, text: str) -> None:
        elapsed = int(time.monotonic() - self._started)
        stamp = f"{elapsed // 3600}:{elapsed % 3600 // 60:02d}:{elapsed % 60:02d}"
        with self._lock:
            self.log(f"[study {self.grid.name} {stamp}] {text}")

    def ensure_data(self) -> None:
        """Generates the budget's data set into ``<out>/data`` unless it is there (or given by a flag)."""
        recipe = self.spec.data
        if recipe is None or not self.data_flags():
            return
        if (self.data_dir / recipe.ready).exists():
            return
        self._progress(f"generating the data set in {self.data_dir} (seed {self.data_seed})")
        commands = [["data", *_fill(c, self.data_dir, self.data_seed), "--quiet"] for c in recipe.commands]
        log = self.out / "data.log"
        if run_child(commands, log, threads=None) != 0:
            raise StudyError(f"{log}: generating the data set failed (see the log)")

    def _threads(self) -> int | None:
        return None if self.jobs == 1 else max(1, (os.cpu_count() or 1) // self.jobs)

    def _run_one(self, run: CellRun, counter: dict[str, int], total: int) -> bool | None:
        """True when the run finished, False when it failed, None when skipped after a refused command."""
        if self._refused.is_set():
            return None
        self._progress(f"running {run.key} ({counter['done']}/{total} done)")
        run.run_dir.mkdir(parents=True, exist_ok=True)
        earlier = start_attempt(run.run_dir, train_argv=run.train_argv)
        begin = time.monotonic()
        status = run_child(
            [list(run.train_argv), list(run.test_argv)], run.run_dir / "study.log", self._threads()
        )
        wall = time.monotonic() - begin
        if status != 0 or not self.is_finished(run):
            log = run.run_dir / "study.log"
            reason = last_error_line(log)
            because = f": {reason}" if reason else ""
            self._progress(f"FAILED {run.key} after {wall:.0f} s (exit {status}){because}; see {log}")
            if status == USAGE_ERROR:  # every run gets the same flags: the others would be refused alike
                self._refused.set()
                self._progress("stopping: the command line was refused; the runs not started are skipped")
            return False
        record = {
            "cell": run.cell.name,
            "seed": run.seed,
            "wall_s": round(earlier + wall, 1),  # every attempt's training and test time
            "train_argv": list(run.train_argv),
            "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        write_json_atomic(run.run_dir / CELL_RECORD, record)
        finish_attempt(run.run_dir)
        with self._lock:
            counter["done"] += 1
        summary = _headline(self.grid, extract_metrics(self.grid.task, run.run_dir))
        # The report counts every attempt; say so when this one resumed an interrupted run.
        took = f"{wall:.0f} s" if earlier == 0 else f"{earlier + wall:.0f} s ({wall:.0f} s in this attempt)"
        self._progress(f"done {run.key} in {took}: {summary} ({counter['done']}/{total} done)")
        with self._lock:
            self.write_report()
        return True

    def run(self) -> int:
        """Runs the unfinished runs (``jobs`` at a time), rewriting the report after each; 1 if any failed."""
        self.out.mkdir(parents=True, exist_ok=True)
        runs = self.plan()
        todo = [run for run in runs if not self.is_finished(run)]
        counter = {"done": len(runs) - len(todo)}
        self._progress(
            f"budget {self.budget}, {len(self.cells)} cells x {self.seeds} seed(s): {len(runs)} runs, "
            f"{counter['done']} already finished, {len(todo)} to run, {self.jobs} at a time"
        )
        # Even with nothing to run: the report written below states this command's flags.
        self.check_same_flags(runs)
        if todo:
            self.ensure_data()
        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            outcomes = list(pool.map(lambda run: self._run_one(run, counter, len(runs)), todo))
        paths = self.write_report()
        failed = outcomes.count(False) + outcomes.count(None)
        self._progress(
            f"report: {paths['md']} ({counter['done']}/{len(runs)} runs finished, {failed} failed)"
        )
        return 1 if failed else 0

    # --- report ------------------------------------------------------------------------------------
    def collect(self) -> list[dict[str, Any]]:
        """One row per cell: per-seed metrics of its finished runs, mean and std, wall time, parameters."""
        rows = []
        for cell in self.cells:
            source = self.grid.cell(cell.derived_from) if cell.derived_from else cell
            seeds = []
            for seed in self.seed_range:
                run_dir = self.run_dir(source, seed)
                if result_file(self.grid.task, run_dir) is None:
                    continue
                metrics = extract_metrics(self.grid.task, run_dir, derived=bool(cell.derived_from))
                record = _read_json(run_dir / CELL_RECORD)
                params = None if cell.derived_from else count_parameters(run_dir)
                wall = None if cell.derived_from else record.get("wall_s")
                # A derived cell (the box, copy-last) is not trained: no validation of its own.
                validation = {} if cell.derived_from else best_validation(run_dir)
                seeds.append(
                    {
                        "seed": seed,
                        "run_dir": str(run_dir),
                        "wall_s": wall,
                        "params": params,
                        **metrics,
                        **validation,
                    }
                )
            seeds += self.included_runs(cell, {run["seed"] for run in seeds})
            seeds.sort(key=lambda run: run["seed"])
            rows.append(_aggregate(cell, seeds, self.grid))
        return rows

    def write_report(self) -> dict[str, Path]:
        """Writes study.json, study.csv, study.md and the plots in the study folder; returns their paths."""
        rows = self.collect()
        checks = ordering_checks(self.grid, rows)
        plots = write_plots(self.grid, rows, self.out)
        report = {
            "study": self.grid.name,
            "task": self.grid.task,
            "description": self.grid.description,
            "budget": self.budget,
            "preset": self.spec.preset,
            "seeds": self.seeds,
            "first_seed": self.first_seed,
            "data_seed": self.data_seed,
            "included_reports": [str(path) for path, _ in self.included],
            "flags": self.flags,
            "cells": rows,
            "checks": checks,
            "differing_settings": differing_settings(rows),
            "plots": [p.name for p in plots],
            "written_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        paths = {"json": self.out / "study.json", "csv": self.out / "study.csv", "md": self.out / "study.md"}
        write_json_atomic(paths["json"], report)
        write_text_atomic(paths["csv"], study_csv(self.grid, rows))
        write_text_atomic(paths["md"], study_markdown(self.grid, report, rows, checks, plots))
        return paths


def interrupted_wall(run_dir: Path, log: Path | None = None) -> float:
    """Seconds spent by this run's earlier attempts that did not finish (0 when there were none).

    An attempt that was killed leaves its `ATTEMPT_RECORD`; it ran from its start until its log (default
    ``run_dir/study.log``) was last written (the training writes a line per epoch, so at most one epoch is
    not counted).
    """
    record = _read_json(run_dir / ATTEMPT_RECORD)
    if not record:
        return 0.0
    log = run_dir / "study.log" if log is None else log
    last = log.stat().st_mtime if log.exists() else record.get("started_unix", 0.0)
    return float(record.get("earlier_s", 0.0)) + max(0.0, last - float(record.get("started_unix", last)))


def start_attempt(run_dir: Path, log: Path | None = None, train_argv: Sequence[str] | None = None) -> float:
    """Records that an attempt at this run starts now; returns the earlier attempts' seconds.

    The record (`ATTEMPT_RECORD`) stays if the attempt is killed, so the next attempt counts this one's time
    (`interrupted_wall`); `finish_attempt` removes it.
    """
    earlier = interrupted_wall(run_dir, log)
    record = {"earlier_s": earlier, "started_unix": time.time()}
    if train_argv is not None:
        record["train_argv"] = list(train_argv)
    write_json_atomic(run_dir / ATTEMPT_RECORD, record)
    return earlier


def finish_attempt(run_dir: Path) -> None:
    """The run finished: no attempt of it is in progress any more."""
    (run_dir / ATTEMPT_RECORD).unlink(missing_ok=True)


# Always different from run to run (the seed) or by construction (where the run lives): not a setting.
_NOT_SETTINGS = frozenset({"seed", "val_seed", "run_dir"})
# A run written before a setting existed has no value for it (not the same as a value of None).
NOT_RECORDED = "(not recorded)"


def differing_settings(rows: list[dict[str, Any]]) -> dict[str, dict[str, list[Any]]]:
    """{setting: {cell label: [value per finished seed]}} for every setting of the runs' own `config.json`
    that is not the same in all trained runs of the report (the runs in the study folder: results included
    from an earlier report have no config to read).

    The report's flags line is the flags of the command that wrote it; a report rewritten with
    `--report-only` over runs trained with other flags (or assembled from several studies) would otherwise
    not say what its runs were trained with. A setting missing from a run's config is `NOT_RECORDED`.
    """
    # Results included from an earlier report (`from_report`) come without their run folders.
    configs = {
        row["label"]: [
            _read_json(Path(r["run_dir"]) / "config.json") for r in row["runs"] if "from_report" not in r
        ]
        for row in rows
        if not row.get("derived_from")
    }
    configs = {label: per_cell for label, per_cell in configs.items() if per_cell}
    every = [config for per_cell in configs.values() for config in per_cell]
    keys = sorted({key for config in every for key in config} - _NOT_SETTINGS)
    differing = {}
    for key in keys:
        values = [json.dumps(config.get(key, NOT_RECORDED), sort_keys=True) for config in every]
        if len(set(values)) > 1:
            differing[key] = {
                label: [config.get(key, NOT_RECORDED) for config in per_cell]
                for label, per_cell in configs.items()
            }
    return differing


# Flags whose value names where a run lives, not how it trains.
_PLACE_FLAGS = frozenset({"--run-dir"})


def flags_changed(run: CellRun) -> str | None:
    """ "--flag: recorded -> planned; ..." for the flags on which `run`'s recorded train command (finished
    or interrupted) differs from the planned one; None when they agree or nothing was recorded."""
    recorded = _recorded_train_argv(run.run_dir)
    if recorded is None:
        return None
    was, now = _flag_map(recorded), _flag_map(run.train_argv)
    changed = sorted(flag for flag in set(was) | set(now) if was.get(flag) != now.get(flag))
    if not changed:
        return None
    return "; ".join(f"{flag}: {_shown(was.get(flag))} -> {_shown(now.get(flag))}" for flag in changed)


def _recorded_train_argv(run_dir: Path) -> list[str] | None:
    """The train command a run finished with, else the one its interrupted attempt started with."""
    for record in (CELL_RECORD, ATTEMPT_RECORD):
        argv = _read_json(run_dir / record).get("train_argv")
        if argv:
            return list(argv)
    return None


def _flag_map(argv: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """{--flag: its values} of a train command; the order of flags does not matter, paths made absolute."""
    flags: dict[str, tuple[str, ...]] = {}
    current = None
    for arg in argv:
        if arg.startswith("--"):
            name, _, value = arg.partition("=")
            current = name
            flags[current] = (value,) if value else ()
        elif current is not None:
            value = os.path.abspath(arg) if os.sep in arg else arg
            flags[current] = (*flags[current], value)
    return {flag: values for flag, values in flags.items() if flag not in _PLACE_FLAGS}


def _shown(values: tuple[str, ...] | None) -> str:
    if values is None:
        return "(absent)"
    return " ".join(values) or "(set)"


def _checked_seed(flag: str, value: int) -> int:
    """`value` as an int, or StudyError unless it is a seed NumPy and TensorFlow take ([0, 2**32 - 1])."""
    if not 0 <= value < SEED_LIMIT:
        raise StudyError(f"{flag} must be in [0, 2**32 - 1]; received {value}")
    return int(value)


def last_error_line(log: Path, tail_bytes: int = 20000) -> str | None:
    """The last `error:` line of a child's log (its one-line reason for failing), or None."""
    try:
        with log.open("rb") as handle:
            handle.seek(max(0, log.stat().st_size - tail_bytes))
            lines = handle.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return None
    found = [line.strip() for line in lines if "error:" in line.lower()]
    return found[-1][:300] if found else None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _seeds_text(report: dict[str, Any]) -> str:
    """ "3 seed(s) per cell", or which seeds ran here and which reports the others come from."""
    first, count = report.get("first_seed", 0), report["seeds"]
    text = f"{count} seed(s) per cell" if first == 0 else f"seeds {first}-{first + count - 1} run here"
    included = report.get("included_reports") or []
    if included:
        text += ", with the per-seed results of " + ", ".join(f"`{path}`" for path in included)
    return text


def _headline(grid: StudyGrid, metrics: dict[str, Any]) -> str:
    return ", ".join(
        f"{key} {metrics[key]:.2f}" for key, _ in grid.metrics[:2] if metrics.get(key) is not None
    )


def _mean_std(values: list[float]) -> tuple[float | None, float | None]:
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return None, None
    return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def _aggregate(cell: StudyCell, seeds: list[dict[str, Any]], grid: StudyGrid) -> dict[str, Any]:
    row: dict[str, Any] = {
        "cell": cell.name,
        "label": cell.label,
        "series": cell.series,
        "x": cell.x,
        "derived_from": cell.derived_from,
        "seeds_done": len(seeds),
        "paper": cell.paper,
        "runs": seeds,
    }
    for key, _ in grid.metrics:
        row[f"{key}_mean"], row[f"{key}_std"] = _mean_std([s.get(key) for s in seeds])
    row["wall_s_mean"], _ = _mean_std([s.get("wall_s") for s in seeds])
    row["val_best_mean"], row["val_best_std"] = _mean_std([s.get("val_best") for s in seeds])
    row["val_epochs"] = [s["val_epoch"] for s in seeds if s.get("val_best") is not None]
    monitors = sorted({s["val_monitor"] for s in seeds if s.get("val_best") is not None})
    row["val_monitor"] = "/".join(monitors) or None  # two names: seeds selected on different logs
    # A seed whose run recorded its trainable counts first (an older seed's count includes statistics).
    params = sorted(
        (s["params"] for s in seeds if s.get("params")), key=lambda p: p.get("counted") != "trainable"
    )
    row["params_total"] = params[0]["total"] if params else None
    row["params_recurrent"] = params[0]["recurrent"] if params else None
    row["params_counted"] = params[0].get("counted", "stored") if params else None
    for curve in ("curve", "per_class", "anticipation_per_class", "psnr_per_step", "ssim_per_step"):
        series = [s[curve] for s in seeds if s.get(curve)]
        if series:
            row[f"{curve}_seeds"] = len(series)
            if isinstance(series[0], dict):
                keys = list(series[0])
                stacked = np.array([[s[k] for k in keys] for s in series], dtype=float)
                row[f"{curve}_mean"] = dict(
                    zip(keys, np.round(stacked.mean(axis=0), 3).tolist(), strict=True)
                )
            else:
                row[f"{curve}_mean"] = np.round(np.mean(np.array(series, dtype=float), axis=0), 4).tolist()
    return row


# ------------------------------------------------------------------------------------- checks


def _measured(row: dict[str, Any] | None, metric: str) -> bool:
    return row is not None and row[f"{metric}_mean"] is not None


def _better(rows: dict[str, dict], labels: dict[str, str], a: str, b: str, metric: str) -> dict[str, Any]:
    """a beats b on `metric` beyond one standard deviation: mean_a - mean_b > max(std_a, std_b).

    Undecided (holds None) until both cells have at least two seeds: one seed has no spread to beat.
    """
    text = f"{labels[a]} beats {labels[b]} on {metric}"
    if not (_measured(rows.get(a), metric) and _measured(rows.get(b), metric)):
        return {"check": text, "holds": None, "detail": "not measured yet"}
    ma, sa = rows[a][f"{metric}_mean"], rows[a][f"{metric}_std"]
    mb, sb = rows[b][f"{metric}_mean"], rows[b][f"{metric}_std"]
    detail = f"{ma:.2f} ± {sa:.2f} vs {mb:.2f} ± {sb:.2f} (margin {ma - mb:+.2f}, needs > {max(sa, sb):.2f})"
    detail += _seed_by_seed(rows[a], rows[b], metric)
    if min(rows[a]["seeds_done"], rows[b]["seeds_done"]) < 2:
        return {"check": text, "holds": None, "detail": detail + "; needs >= 2 seeds per cell"}
    return {"check": text, "holds": bool(ma - mb > max(sa, sb)), "detail": detail}


def _seed_by_seed(a: dict[str, Any], b: dict[str, Any], metric: str) -> str:
    """How many seeds that both cells finished have a above b: "; seed by seed 5 of 6 above (1 level)".

    Only a description beside the rule: the same seed draws the same validation split and batch order
    for every cell, so the pairs show whether a spread is one seed's (a run that never left the chance
    plateau makes a std larger than any margin) or the whole cell's. The check itself stays the rule.
    """
    values_b = {run["seed"]: run.get(metric) for run in b["runs"]}
    pairs = [
        (run[metric], values_b[run["seed"]])
        for run in a["runs"]
        if run.get(metric) is not None and values_b.get(run["seed"]) is not None
    ]
    if len(pairs) < 2:
        return ""
    above = sum(1 for x, y in pairs if x > y)
    level = sum(1 for x, y in pairs if x == y)
    return f"; seed by seed {above} of {len(pairs)} above" + (f" ({level} level)" if level else "")


def _rises(rows: list[dict], series: str, metric: str) -> dict[str, Any]:
    """The series' metric rises or holds with depth: no step, and not the deepest against the shallowest
    (a slow slide of small steps), drops by more than one standard deviation."""
    points = sorted((r for r in rows if r["series"] == series and r["x"] is not None), key=lambda r: r["x"])
    text = f"{series} {metric} rises (or holds) with depth"
    points = [p for p in points if p[f"{metric}_mean"] is not None]
    if len(points) < 2:
        return {"check": text, "holds": None, "detail": "fewer than two depths measured"}
    pairs = list(zip(points, points[1:], strict=False))
    if len(points) > 2:
        pairs.append((points[0], points[-1]))
    drops = [
        f"{p['x']:g}->{q['x']:g}: {p[f'{metric}_mean']:.2f} -> {q[f'{metric}_mean']:.2f}"
        for p, q in pairs
        if q[f"{metric}_mean"] < p[f"{metric}_mean"] - max(p[f"{metric}_std"], q[f"{metric}_std"])
    ]
    values = ", ".join(f"{p['x']:g}: {p[f'{metric}_mean']:.2f} ± {p[f'{metric}_std']:.2f}" for p in points)
    detail = values + (f"; drops {drops}" if drops else "")
    if min(p["seeds_done"] for p in points) < 2:
        return {"check": text, "holds": None, "detail": detail + "; needs >= 2 seeds per cell"}
    return {"check": text, "holds": not drops, "detail": detail}


def ordering_checks(grid: StudyGrid, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The paper's orderings (issue 12) evaluated on the measured means and standard deviations."""
    by_name = {row["cell"]: row for row in rows}
    labels = {cell.name: cell.label for cell in grid.cells}
    if grid.name == "polygon-depth":
        return [_rises(rows, "rbm", "iou"), _better(by_name, labels, "rbm-15", "convlstm-15", "iou")]
    if grid.name == "action-table":
        return [
            _better(by_name, labels, "rbm15", other, metric)
            for metric in ("top1", "anticipation_top1")
            for other in ("lstm1", "convlstm15")
        ] + [_rises(rows, "rbm", "top1")]
    if grid.name == "prediction-cores":
        return [_better(by_name, labels, "rbm-15", "convlstm", "psnr"), _rises(rows, "rbm", "psnr")]
    return []


# ------------------------------------------------------------------------------------- files


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def study_csv(grid: StudyGrid, rows: list[dict[str, Any]]) -> str:
    """One line per cell: seeds done, mean/std/paper of each metric, wall time, parameter counts."""
    header = ["cell", "label", "seeds_done"]
    for key, _ in grid.metrics:
        header += [f"{key}_mean", f"{key}_std", f"paper_{key}"]
    header += ["val_best_mean", "val_best_std", "val_epochs"]
    header += ["wall_s_mean", "params_total", "params_recurrent", "params_counted", "paper_params_m"]
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        line = [row["cell"], row["label"], row["seeds_done"]]
        for key, _ in grid.metrics:
            line += [_fmt(row[f"{key}_mean"], 4), _fmt(row[f"{key}_std"], 4), _fmt(row["paper"].get(key))]
        line += [
            _fmt(row["val_best_mean"], 4),
            _fmt(row["val_best_std"], 4),
            ";".join(str(epoch) for epoch in row["val_epochs"]),
            _fmt(row["wall_s_mean"], 1),
            _fmt(row["params_total"]),
            _fmt(row["params_recurrent"]),
            _fmt(row["params_counted"]),
            _fmt(row["paper"].get("decoder_params_m")),
        ]
        writer.writerow(["" if value == "-" else value for value in line])
    return buffer.getvalue()


def _pm(row: dict[str, Any], key: str, digits: int = 2) -> str:
    mean, std = row[f"{key}_mean"], row[f"{key}_std"]
    return "-" if mean is None else f"{mean:.{digits}f} ± {std:.{digits}f}"


def _validation(row: dict[str, Any]) -> str:
    """Best validation score, mean ± std, and the epoch of each seed's best checkpoint."""
    if row["val_best_mean"] is None:
        return "-"
    epochs = ", ".join(str(epoch) for epoch in row["val_epochs"])
    # The default monitor goes unnamed; a run trained with --select-on says what its number is.
    monitor = "" if row.get("val_monitor") in (None, "val_loss") else f" {row['val_monitor']}"
    return f"{_pm(row, 'val_best', 4)}{monitor} ({epochs})"


def _params(row: dict[str, Any]) -> str:
    if row["params_total"] is None:
        return "-"
    counts = f"{row['params_recurrent'] / 1e6:.3f} M / {row['params_total'] / 1e6:.3f} M"
    # An older run's count includes the moving statistics stored in its checkpoint (count_parameters).
    return counts if row.get("params_counted") == "trainable" else f"{counts} (stored)"


def study_markdown(
    grid: StudyGrid,
    report: dict[str, Any],
    rows: list[dict[str, Any]],
    checks: list[dict[str, Any]],
    plots: list[Path],
) -> str:
    """The report page: settings, the table (mean ± std, paper beside), the checks, curves, plots."""
    digits = 3 if grid.task == "prediction" else 1
    lines = [
        f"# Study `{grid.name}` ({grid.task})",
        "",
        grid.description + ".",
        "",
        f"Budget `{report['budget']}` (preset `{report['preset']}`), {_seeds_text(report)}; "
        f"extra train flags: `{' '.join(report['flags']) or '-'}`. Written {report['written_utc']}. "
        "Values are the mean ± sample standard deviation over the finished seeds; the paper's numbers "
        "(original.md §9) are on the real data sets at full scale: compare orderings, not values. "
        '"Best validation" is the lowest validation loss of each run (carved from the training data; '
        "or the best value of the log a run was selected on with `--select-on`, named beside it) and, in "
        "brackets, the epoch of each seed's best checkpoint, the one the test scores: compare variants of "
        "a cell on it, not on the test.",
        "",
    ]
    header = ["cell", "seeds"]
    for _, label in grid.metrics:
        header += [label, "paper"]
    header += ["best validation (epochs)", "wall / run (s)", "params recurrent / total", "paper params"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [row["label"], str(row["seeds_done"])]
        for key, _ in grid.metrics:
            cells += [_pm(row, key, digits), _fmt(row["paper"].get(key), digits)]
        paper_params = row["paper"].get("decoder_params_m")
        cells += [
            _validation(row),
            _fmt(row["wall_s_mean"], 0),
            _params(row),
            "-" if paper_params is None else f"{paper_params:.2f} M",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "## The paper's orderings, measured", ""]
    marks = {True: "holds", False: "does NOT hold", None: "not measured"}
    lines += [f"- {c['check']}: **{marks[c['holds']]}** ({c['detail']})" for c in checks] or ["- none"]
    lines += _per_seed_table(grid, rows, digits)
    lines += _settings_table(report.get("differing_settings") or {})
    lines += _curve_tables(grid, rows)
    if plots:
        lines += ["", "## Plots", ""] + [f"![{p.stem}]({p.name})" for p in plots]
    return "\n".join(lines) + "\n"


def _per_seed_table(grid: StudyGrid, rows: list[dict[str, Any]], digits: int) -> list[str]:
    """Each finished seed's first two metrics: a mean and a spread can hide one run that never trained."""
    trained = [row for row in rows if row["runs"]]
    if not trained:
        return []
    seeds = sorted({run["seed"] for row in trained for run in row["runs"]})
    shown = grid.metrics[:2]
    lines = ["", f"## Per seed ({' / '.join(label for _, label in shown)})", ""]
    lines += [
        "| cell | " + " | ".join(f"seed {seed}" for seed in seeds) + " |",
        "|" + "---|" * (len(seeds) + 1),
    ]
    for row in trained:
        by_seed = {run["seed"]: run for run in row["runs"]}
        cells = [
            " / ".join(_fmt(by_seed[seed].get(key), digits) for key, _ in shown) if seed in by_seed else "-"
            for seed in seeds
        ]
        lines.append(f"| {row['label']} | " + " | ".join(cells) + " |")
    return lines


def _settings_table(differing: dict[str, dict[str, list[Any]]]) -> list[str]:
    """The settings on which the runs differ, by cell: one value where a cell's seeds agree, else each."""
    if not differing:
        return []
    labels = list(next(iter(differing.values())))
    lines = [
        "",
        "## Settings that differ between the runs (each run's `config.json`)",
        "",
        "| setting | " + " | ".join(labels) + " |",
        "|" + "---|" * (len(labels) + 1),
    ]
    for key, by_cell in differing.items():
        cells = []
        for label in labels:
            shown = [value if value == NOT_RECORDED else json.dumps(value) for value in by_cell[label]]
            cells.append(shown[0] if len(set(shown)) == 1 else " / ".join(shown))
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return lines


def _curve_tables(grid: StudyGrid, rows: list[dict[str, Any]]) -> list[str]:
    if grid.task == "action":
        lines = _keyed_table(
            rows,
            "curve",
            "Accuracy (%) vs observed fraction of the test sequence",
            lambda k: f"{float(k):.0%}",
        )
        # Which classes hold the accuracy down (a set's ceiling shows as classes every cell confuses).
        lines += _keyed_table(rows, "per_class", "Recognition accuracy (%) per class", str)
        lines += _keyed_table(rows, "anticipation_per_class", "Anticipation accuracy (%) per class", str)
        return lines
    if grid.task == "prediction":
        lines = []
        for metric, digits in (("psnr", 2), ("ssim", 3)):
            title = f"Per-step {metric.upper()}"
            lines += _keyed_table(rows, f"{metric}_per_step", title, lambda i: f"T{i + 1}", digits)
        return lines
    return []


def _keyed_table(
    rows: list[dict[str, Any]], key: str, title: str, header: Callable[[Any], str], digits: int = 1
) -> list[str]:
    """A Markdown table of one per-seed series' means (cells as rows): a dict's keys as columns, or a list's
    positions (`header` gets the index)."""

    def means(row: dict[str, Any]) -> dict[Any, Any]:
        mean = row[f"{key}_mean"]
        return mean if isinstance(mean, dict) else dict(enumerate(mean))

    done = [r for r in rows if r.get(f"{key}_mean")]
    if not done:
        return []
    keys = list(means(done[0]))
    lines = ["", f"## {title} (mean over seeds)", ""]
    lines += [
        "| cell | seeds | " + " | ".join(header(k) for k in keys) + " |",
        "|" + "---|" * (len(keys) + 2),
    ]
    for r in done:
        values = " | ".join(_fmt(means(r).get(k), digits) for k in keys)
        lines.append(f"| {r['label']} | {r[f'{key}_seeds']} | {values} |")
    return lines


# ------------------------------------------------------------------------------------- plots


def _save_figure(figure: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    with atomic_path(path, suffix=".png") as tmp:
        figure.savefig(tmp, dpi=110, bbox_inches="tight")
    plt.close(figure)
    return path


def write_plots(grid: StudyGrid, rows: list[dict[str, Any]], out: Path) -> list[Path]:
    """The grid's figure(s) from the measured rows (nothing before the first finished run)."""
    if not any(row["seeds_done"] for row in rows):
        return []
    import matplotlib

    matplotlib.use("Agg")
    if grid.plot == "depth":
        return [_plot_depth(grid, rows, out / "study_depth.png")]
    if grid.plot == "bars":
        return [
            _plot_bars(grid, rows, out / "study_bars.png"),
            _plot_action_curves(rows, out / "study_curves.png"),
        ]
    return [_plot_per_step(rows, out / "study_per_step.png")]


def _plot_depth(grid: StudyGrid, rows: list[dict[str, Any]], path: Path) -> Path:
    import matplotlib.pyplot as plt

    metric = grid.metrics[0][0]
    figure, axis = plt.subplots(figsize=(6, 4))
    for index, series in enumerate(dict.fromkeys(r["series"] for r in rows)):
        color = f"C{index}"
        baseline = [r for r in rows if r["series"] == series and r["x"] is None]
        if baseline:  # a depth-free baseline (the box): a horizontal line
            if baseline[0][f"{metric}_mean"] is not None:
                axis.axhline(
                    baseline[0][f"{metric}_mean"], color=color, linestyle=":", label=baseline[0]["label"]
                )
            continue
        points = sorted((r for r in rows if r["series"] == series), key=lambda r: r["x"])
        measured = [p for p in points if p[f"{metric}_mean"] is not None]
        if measured:
            axis.errorbar(
                [p["x"] for p in measured],
                [p[f"{metric}_mean"] for p in measured],
                yerr=[p[f"{metric}_std"] for p in measured],
                marker="o",
                capsize=3,
                color=color,
                label=f"{series} (measured)",
            )
        paper = [p for p in points if p["paper"].get(metric) is not None]
        if paper:
            axis.plot(
                [p["x"] for p in paper],
                [p["paper"][metric] for p in paper],
                linestyle="--",
                marker="x",
                color=color,
                alpha=0.6,
                label=f"{series} (paper, Cityscapes)",
            )
    axis.set_xticks(sorted({r["x"] for r in rows if r["x"] is not None}))
    axis.set_xlabel("recurrent depth (layers)")
    axis.set_ylabel(grid.metrics[0][1])
    axis.set_title(f"{grid.name}: {grid.metrics[0][1]} vs depth (mean ± std over seeds)")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    return _save_figure(figure, path)


def _plot_bars(grid: StudyGrid, rows: list[dict[str, Any]], path: Path) -> Path:
    import matplotlib.pyplot as plt

    metrics = grid.metrics[:2]
    figure, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 4))
    positions = np.arange(len(rows))
    for axis, (metric, label) in zip(np.atleast_1d(axes), metrics, strict=True):
        means = [r[f"{metric}_mean"] or 0.0 for r in rows]
        stds = [r[f"{metric}_std"] or 0.0 for r in rows]
        papers = [r["paper"].get(metric) or 0.0 for r in rows]
        axis.bar(positions - 0.2, means, 0.4, yerr=stds, capsize=3, label="measured (synthetic)")
        axis.bar(positions + 0.2, papers, 0.4, alpha=0.5, hatch="//", label="paper (UCF-101)")
        axis.set_xticks(positions, [r["label"] for r in rows], rotation=20, ha="right", fontsize=8)
        axis.set_ylabel(label)
        axis.legend(fontsize=8)
        axis.grid(axis="y", alpha=0.3)
    figure.suptitle(f"{grid.name} (mean ± std over seeds)")
    return _save_figure(figure, path)


def _plot_action_curves(rows: list[dict[str, Any]], path: Path) -> Path:
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 4))
    for row in rows:
        curve = row.get("curve_mean")
        if curve:
            axis.plot([100 * float(k) for k in curve], list(curve.values()), marker="o", label=row["label"])
    axis.set_xlabel("observed part of the test sequence (%)")
    axis.set_ylabel("top-1 accuracy (%)")
    axis.set_title("accuracy vs observed fraction (mean over seeds)")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    return _save_figure(figure, path)


def _plot_per_step(rows: list[dict[str, Any]], path: Path) -> Path:
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    for axis, metric in zip(axes, ("psnr", "ssim"), strict=True):
        for row in rows:
            values = row.get(f"{metric}_per_step_mean")
            if not values:
                continue
            runs = np.array([r[f"{metric}_per_step"] for r in row["runs"]], dtype=float)
            steps = np.arange(1, len(values) + 1)
            line = axis.plot(steps, values, marker="o", markersize=3, label=row["label"])[0]
            if len(runs) > 1:
                std = runs.std(axis=0, ddof=1)
                axis.fill_between(steps, np.array(values) - std, np.array(values) + std, alpha=0.15,
                                  color=line.get_color())  # fmt: skip
        axis.set_xlabel("predicted step")
        axis.set_ylabel(metric.upper())
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    figure.suptitle("per-step quality (mean ± std over seeds)")
    return _save_figure(figure, path)


# ------------------------------------------------------------------------------------- child runs


def _package_root() -> str:
    return str(Path(__file__).resolve().parents[2])


def run_child(commands: list[list[str]], log_path: Path, threads: int | None) -> int:
    """Runs `deep-rnn` commands one after the other, each in a child process (`python -m
    deep_rnn_tf.cli`); output appended to `log_path`; stops at the first failure and returns its status.

    Child processes keep runs apart (runs can go side by side; ``threads`` caps each child's TensorFlow
    thread pools when they do), and the study drives the public command line without importing it (the
    one-way flow: `cli` imports `tools`, never the reverse).
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_package_root(), env.get("PYTHONPATH")) if p)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("MPLBACKEND", "Agg")
    if threads:
        # Both of TensorFlow's pools: with only the intra-op one capped, each child's inter-op pool still
        # runs independent ops on every core, and side-by-side runs oversubscribe the machine.
        for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
            env[name] = str(threads)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a") as log:
        for command in commands:
            log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} deep-rnn {' '.join(command)}\n")
            log.flush()
            child = [sys.executable, "-m", "deep_rnn_tf.cli", *command]
            status = subprocess.call(child, stdout=log, stderr=subprocess.STDOUT, env=env)
            if status != 0:
                return status
    return 0


# ------------------------------------------------------------------------------------- command line


def study_parser() -> argparse.ArgumentParser:
    """The `deep-rnn study` command line; flags it does not know are left for every `deep-rnn train`."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run a named grid of ordinary runs (train + test per cell and seed) and write one report "
        "(study.json, study.csv, study.md, plots). Unknown flags go to every `deep-rnn train`.",
        epilog="Grids: " + "; ".join(f"{g.name}: {g.description}" for g in GRIDS.values()),
        # No prefix matching: `--data DIR` (the action task's flag) must reach `deep-rnn train`, not be
        # read as an abbreviation of `--data-seed`; nor `--seed` as `--seeds`.
        allow_abbrev=False,
    )
    parser.add_argument("name", metavar="NAME", help=f"one of {', '.join(GRIDS)}")
    parser.add_argument("--budget", default="small", help="tiny (CI: 1 seed, 2 cells), small (CPU), paper")
    parser.add_argument("--seeds", type=int, help="seeds per cell (default: 3; tiny: 1)")
    parser.add_argument(
        "--first-seed", type=int, default=0, help="first seed K: runs seeds K..K+N-1 (default 0)"
    )
    parser.add_argument(
        "--include-report",
        action="append",
        default=[],
        metavar="STUDY_JSON",
        help="an earlier study.json of the same study, budget and flags whose per-seed results join the "
        "report (repeatable; e.g. seeds 0-2 run on another machine, with --first-seed 3 here)",
    )
    parser.add_argument("--jobs", type=int, default=1, help="runs at the same time (default 1)")
    parser.add_argument("--out", help="study folder (default runs/study/NAME, plus -BUDGET unless small)")
    parser.add_argument("--cells", help="comma-separated subset of the grid's cells")
    parser.add_argument("--data-seed", type=int, default=0, help="seed of the generated data set (default 0)")
    parser.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    parser.add_argument("--report-only", action="store_true", help="rewrite the report from finished runs")
    return parser


def default_out(name: str, budget: str) -> Path:
    """runs/study/NAME (small budget) or runs/study/NAME-BUDGET."""
    return Path("runs") / "study" / (name if budget == "small" else f"{name}-{budget}")


def study_main(argv: list[str] | None = None) -> int:
    """`deep-rnn study ...` (see the module docstring). Raises StudyError on a bad command line."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = study_parser()
    if not argv or argv[0] in ("-h", "--help"):
        parser.print_help()
        return 0
    if argv[0] not in GRIDS:
        raise StudyError(f"{PROG}: unknown study {argv[0]!r}; expected one of {list(GRIDS)}")
    args, train_flags = parser.parse_known_args(argv)
    stray = [flag for flag in train_flags if not flag.startswith("-")][:1]
    if stray and train_flags.index(stray[0]) == 0:
        raise StudyError(f"{PROG}: unexpected argument {stray[0]!r} (train flags start with --)")
    if args.budget not in BUDGETS:
        raise StudyError(f"--budget {args.budget!r}: expected one of {list(BUDGETS)}")
    study = Study(
        GRIDS[args.name],
        args.budget,
        Path(args.out) if args.out else default_out(args.name, args.budget),
        seeds=args.seeds,
        first_seed=args.first_seed,
        include_reports=[Path(path) for path in args.include_report],
        jobs=args.jobs,
        train_flags=train_flags,
        cells=args.cells.split(",") if args.cells else None,
        data_seed=args.data_seed,
        log=lambda line: print(line, flush=True),
    )
    if args.dry_run:
        for command in study.plan():
            state = "finished" if study.is_finished(command) else "to run"
            changed = flags_changed(command)
            if changed:  # the study itself would refuse it
                state += f", trained with other flags: {changed}"
            print(f"# {command.key} ({state})")
            print("deep-rnn " + " ".join(command.train_argv))
            print("deep-rnn " + " ".join(command.test_argv))
        return 0
    if args.report_only:
        print(f"Wrote {study.write_report()['md']}")
        if not any(study.is_finished(run) for run in study.plan()) and not study.included:
            print(f"note: no finished run under {study.out / 'runs'}; the report is empty (wrong --out?)")
        return 0
    return study.run()


if __name__ == "__main__":
    sys.exit(study_main())
