"""Runs with their best checkpoint re-chosen by another validation log, from their kept epoch checkpoints.

    .venv/bin/python benchmarks/reselect_checkpoint.py --runs runs/study/X/runs \
        --out runs/study/X-antacc/runs --select-on val_anticipation_accuracy --test action
    .venv/bin/deep-rnn study action-table --report-only --out runs/study/X-antacc

    .venv/bin/python benchmarks/reselect_checkpoint.py --runs runs/study/X/runs --out runs/study/X-both/runs \
        --select-on val_loss --set anticipation_select_on=val_anticipation_loss --test action

One training, several selection criteria: what each criterion would have made `deep-rnn test` score,
without training again. `--set KEY=VALUE` (repeatable; VALUE read as JSON when it parses, else a string)
changes the copied config too, and every further selection log the task then asks for
(`Task.selection_logs`, e.g. the action task's `anticipation_select_on`) gets its own best checkpoint
(`best-<log>.weights.h5` + `.json`) from the same kept epochs.

For every run directory under `--runs` (a folder with config.json and metrics.csv), writes the same relative
path under `--out`: the run's top-level files copied (config.json with `select_on` set to the new log), the
epoch with the best value of that log in metrics.csv (the lowest, or the highest for accuracies, IoU, PSNR,
SSIM: `training.best.selection_mode`) as checkpoints/best.weights.h5 with its best.json, and the run's newest
checkpoint (both hard links where the file system allows). The epoch's checkpoint must have been kept: train
with `--keep-checkpoints` of at least the run's epochs (a run that did not keep it is named in one line and
skipped, exit status 1). `--test TASK` then runs `deep-rnn test TASK` on each new run whose results are
missing.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

from deep_rnn_tf.tasks import get_task
from deep_rnn_tf.training.best import best_files, selection_mode, write_best_record
from deep_rnn_tf.training.runs import RunDirectory


class ReselectError(ValueError):
    """A run that cannot be re-selected (its message names the run and the reason)."""


def run_directories(root: Path) -> list[Path]:
    """Every folder under `root` (itself included) that holds a trained run's config.json and metrics.csv."""
    found = [
        Path(folder) for folder, _, files in os.walk(root) if {"config.json", "metrics.csv"} <= set(files)
    ]
    return sorted(found)


def best_epoch(metrics_csv: Path, log: str) -> tuple[int, float]:
    """(epoch counted from 1, value) of the best finite value of `log` in a Keras CSVLogger file."""
    with metrics_csv.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or log not in rows[0]:
        known = ", ".join(sorted(k for k in (rows[0] if rows else {}) if k.startswith("val_")))
        raise ReselectError(f"{metrics_csv}: no column {log!r} (validation logs: {known or 'none'})")
    scored = [(int(row["epoch"]) + 1, float(row[log])) for row in rows if row[log] != ""]
    scored = [(epoch, value) for epoch, value in scored if math.isfinite(value)]
    if not scored:
        raise ReselectError(f"{metrics_csv}: no finite value of {log!r}")
    sign = -1.0 if selection_mode(log) == "max" else 1.0
    # The first epoch of a tie, as BestCheckpoint (which replaces only on a strict improvement).
    return min(scored, key=lambda pair: (sign * pair[1], pair[0]))


def _link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target.unlink()
    try:
        os.link(source, target)
    except OSError:  # another file system, or links not allowed
        shutil.copy2(source, target)


def _kept_best(run: RunDirectory, log: str) -> tuple[int, float, Path]:
    """(epoch, value, its kept checkpoint) of the best `log` of `run`; ReselectError when not kept."""
    epoch, value = best_epoch(run.metrics_path, log)
    kept = dict(run.checkpoints())
    if epoch not in kept:
        raise ReselectError(
            f"{run.path}: epoch {epoch} (best {log} {value:.6g}) has no kept checkpoint (kept: "
            f"{sorted(kept) or 'none'}); train with --keep-checkpoints of at least the run's epochs"
        )
    return epoch, value, kept[epoch]


def _selection_logs(config: dict) -> tuple[str, ...]:
    """The further selection logs the run's task asks for with this config (none without a task name)."""
    if "task" not in config:
        return ()
    task = get_task(str(config["task"]))
    return task.selection_logs(task.config(config))


def reselect(source: Path, target: Path, log: str, settings: dict | None = None) -> dict:
    """Writes `source` re-selected by `log` (and its config changed by `settings`) to `target`; returns
    the new best record."""
    run = RunDirectory(source)
    config = {**run.read_config(), **(settings or {}), "select_on": log}
    further = [extra for extra in _selection_logs(config) if extra != log]
    chosen = {name: _kept_best(run, name) for name in [log, *further]}  # all checked before writing
    target.mkdir(parents=True, exist_ok=True)
    for path in source.iterdir():
        if path.is_file():
            shutil.copy2(path, target / path.name)
    out = RunDirectory(target)
    out.write_config(config)
    newest_epoch, newest = run.latest_checkpoint()
    _link_or_copy(newest, out.checkpoint_path(newest_epoch))
    for name in further:
        epoch, value, checkpoint = chosen[name]
        _link_or_copy(checkpoint, best_files(out, name)[0])
        write_best_record(out, epoch, name, value, separate=True)
    epoch, value, checkpoint = chosen[log]
    _link_or_copy(checkpoint, best_files(out)[0])
    return write_best_record(out, epoch, log, value)


def _setting(text: str) -> tuple[str, object]:
    """KEY=VALUE with VALUE as JSON when it parses (numbers, true, null), else the string itself."""
    key, separator, value = text.partition("=")
    if not separator or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE; received {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def _test(task: str, run_dir: Path) -> None:
    if (run_dir / "results").is_dir() and any((run_dir / "results").iterdir()):
        return
    command = [sys.executable, "-m", "deep_rnn_tf.cli", "test", task, "--run-dir", str(run_dir), "--quiet"]
    subprocess.run(command, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", required=True, type=Path, help="folder of trained runs (searched below)")
    parser.add_argument("--out", required=True, type=Path, help="where the re-selected runs go")
    parser.add_argument("--select-on", required=True, help="validation log, e.g. val_anticipation_accuracy")
    parser.add_argument(
        "--set",
        dest="settings",
        type=_setting,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="also change the copied config (e.g. anticipation_select_on=val_anticipation_loss)",
    )
    parser.add_argument("--test", metavar="TASK", help="then run `deep-rnn test TASK` on each new run")
    args = parser.parse_args(argv)
    if not args.select_on.startswith("val_"):
        parser.error(f"--select-on must name a validation log such as val_loss; received {args.select_on!r}")
    sources = run_directories(args.runs)
    if not sources:
        print(f"{args.runs}: no run directories (config.json + metrics.csv) below it", file=sys.stderr)
        return 1
    failed = 0
    for source in sources:
        target = args.out / source.relative_to(args.runs)
        try:
            record = reselect(source, target, args.select_on, dict(args.settings))
        except (ReselectError, ValueError) as error:
            print(error, file=sys.stderr)
            failed += 1
            continue
        print(f"{target}: epoch {record['epoch']} ({args.select_on} {record['value']:.6g})")
        if args.test:
            _test(args.test, target)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
