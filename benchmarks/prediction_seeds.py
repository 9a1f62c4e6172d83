"""Seeds x cores table of the prediction task: train + test every (variant, seed), then mean +- std.

    .venv/bin/python benchmarks/prediction_seeds.py --data-dir data/video_synth --out runs/seeds \
        --seeds 0 1 2 --variant convlstm="--rnn convlstm" --variant rbm3="--rnn-depth 3" \
        --variant rbm8="--rnn-depth 8 --jump 4" -- --image-size 64 --past 10 --future 10 --test-future 10

Each run is the user's own two commands (`deep-rnn train prediction --preset small ... --seed S`, then
`deep-rnn test prediction --run-dir ...`) in a subprocess, timed; a run whose test results exist is not
redone, so the script resumes after a kill (and a half-trained run resumes from its checkpoint; its
`train_s` then counts the killed attempts too). A run whose train or test fails is named in one line
with its log and the others go on (exit status 1; the table holds what finished). `--report` only
aggregates. Writes `<out>/table.md`, `<out>/table.json` (per run: best validation loss and its epoch,
averages, per-step values, wall times) and `<out>/per_step.png` (mean over seeds per step,
copy-last-frame included). `--report` without `--variant` reports every variant with a finished run in
`--out` (several scripts, one per core, may train into the same folder). `--split-at K` adds the averages
over steps 1..K and K+1..T (a model trained at T = K and tested further: its trained horizon and beyond).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from deep_rnn_tf.atomic_io import atomic_path, write_json_atomic, write_text_atomic
from deep_rnn_tf.tools.study import best_validation, finish_attempt, start_attempt

COPY = "copy_last_frame"
# The test's untrained baselines, scored in every run (flow extrapolation since the thirty-eighth session).
BASELINES = (COPY, "flow_extrapolation")
_DIGITS = {"psnr": 2, "ssim": 4}  # decimals in the table; other metrics (OpenSTL's MSE / MAE) get 2


def run_name(name: str, seed: int) -> str:
    """`<variant>_s<seed>`: the run's folder and log under --out, and its name in the results."""
    return f"{name}_s{seed}"


def log_path(args: argparse.Namespace, name: str, seed: int) -> str:
    return os.path.join(args.out, f"{run_name(name, seed)}.log")


def run_once(name: str, seed: int, args: argparse.Namespace, extra: list[str]) -> dict:
    """Trains and tests one (variant, seed) unless its results exist; returns its timing record."""
    run_dir = os.path.join(args.out, run_name(name, seed))
    timing_path = os.path.join(run_dir, "timing.json")
    if os.path.isfile(timing_path):
        with open(timing_path, encoding="utf-8") as handle:
            return json.load(handle)
    cli = [sys.executable, "-m", "deep_rnn_tf.cli"]
    train = [*cli, "train", "prediction", "--preset", args.preset, "--data-dir", args.data_dir]
    train += ["--run-dir", run_dir, "--seed", str(seed), "--quiet", *extra, *args.common]
    test = [*cli, "test", "prediction", "--run-dir", run_dir, "--quiet", "--run-name", run_name(name, seed)]
    record = {"variant": name, "seed": seed, "train_command": shlex.join(train[2:])}
    record["test_command"] = shlex.join(test[2:])
    os.makedirs(run_dir, exist_ok=True)
    log_file = log_path(args, name, seed)
    # A run killed mid-training resumes from its checkpoint: count the killed attempts' time too.
    earlier = start_attempt(Path(run_dir), Path(log_file))
    with open(log_file, "a", encoding="utf-8") as log:
        for key, command in (("train_s", train), ("test_s", test)):
            print(f"$ {shlex.join(command[2:])}", flush=True)
            start = time.time()
            subprocess.run(command, check=True, stdout=log, stderr=subprocess.STDOUT)
            record[key] = round(time.time() - start, 1)
    record["train_s"] = round(record["train_s"] + earlier, 1)
    write_json_atomic(timing_path, record)
    finish_attempt(Path(run_dir))
    return record


def scores_of(run_dir: str) -> dict[str, dict[str, np.ndarray]]:
    """model name -> {"psnr", "ssim", ...} (windows, T) arrays from the run's results npz files."""
    from deep_rnn_tf.evaluation.video import finite_mean

    found = {}
    for path in glob.glob(os.path.join(run_dir, "results", "quantitative", "*", "*", "results_model=*.npz")):
        model = os.path.basename(path)[len("results_model=") : -len(".npz")]
        with np.load(path) as data:
            arrays = {key: data[key] for key in data.files}
        # PSNR of identical frames is inf: finite_mean caps it (only PSNR; MSE/MAE may exceed the cap).
        found[model] = {
            key: finite_mean(value, axis=0) if key.startswith("psnr") else np.mean(value, axis=0)
            for key, value in arrays.items()
        }
    return found


def finished_variants(out: str) -> list[str]:
    """Variant names of the finished runs (`<variant>_s<seed>/timing.json`) under `out`, sorted."""
    names = set()
    for timing_path in glob.glob(os.path.join(glob.escape(out), "*_s*", "timing.json")):
        folder = os.path.basename(os.path.dirname(timing_path))
        name, _, seed = folder.rpartition("_s")
        if name and seed.isdigit():
            names.add(name)
    return sorted(names)


def aggregate(args: argparse.Namespace, names: list[str]) -> dict:
    rows: dict[str, dict] = {}
    for name in [*BASELINES, *names]:
        baseline = name in BASELINES
        runs = []
        for seed in args.seeds:
            run_dir = os.path.join(args.out, run_name(names[0] if baseline else name, seed))
            timing_path = os.path.join(run_dir, "timing.json")
            if not os.path.isfile(timing_path):
                continue
            with open(timing_path, encoding="utf-8") as handle:
                timing = json.load(handle)
            scores = scores_of(run_dir)
            if baseline and name not in scores:  # tested before that baseline existed
                continue
            key = name if baseline else next(k for k in scores if k not in BASELINES)
            # The best validation loss is what the preset is chosen on (the test is only reported).
            validation = {} if baseline else best_validation(Path(run_dir))
            per_step = {metric: values.tolist() for metric, values in scores[key].items()}
            runs.append({"seed": seed, **timing, **validation, **per_step})
        if runs:
            rows[name] = {"runs": runs}
            validated = [run["val_best"] for run in runs if "val_best" in run]
            if validated:
                rows[name]["val_best"] = _mean_std(validated)
            for metric in runs[0]:
                if isinstance(runs[0][metric], list):
                    rows[name][metric] = _mean_std([float(np.mean(run[metric])) for run in runs])
                    rows[name][f"{metric}_per_step"] = np.mean([run[metric] for run in runs], axis=0).tolist()
            if args.split_at:
                rows[name]["split"] = _split_averages(runs, args.split_at)
    return rows


def _mean_std(values: list[float]) -> dict[str, float]:
    return {"mean": float(np.mean(values)), "std": float(np.std(values))}


def _split_averages(runs: list[dict], split_at: int) -> dict[str, dict[str, float]]:
    """PSNR / SSIM averaged over steps 1..split_at ("near") and split_at+1..T ("far"), mean +- std over seeds.

    A model tested beyond its training horizon (`--test-future 20` after `--future 10`) is read on both
    halves: the first is the trained horizon (the same rollout's first steps), the second the extrapolation.
    """
    split = {}
    for metric in ("psnr", "ssim"):
        for part, steps in (("near", slice(0, split_at)), ("far", slice(split_at, None))):
            values = [float(np.mean(run[metric][steps])) for run in runs if len(run[metric]) > split_at]
            if values:
                split[f"{metric}_{part}"] = _mean_std(values)
    return split


def table(rows: dict, args: argparse.Namespace) -> str:
    extra = [m for m in ("mse_openstl", "mae_openstl") if any(m in row for row in rows.values())]
    header = "| model | seeds | best validation loss per seed | mean | PSNR | SSIM | "
    header += "".join(f"{m[:3].upper()} (OpenSTL) | " for m in extra)
    splits = [(m, p) for m in ("psnr", "ssim") for p in ("near", "far")] if args.split_at else []
    header += "".join(f"{_split_label(metric, part, args.split_at)} | " for metric, part in splits)
    header += "train wall (s) | test wall (s) |"
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for name, row in rows.items():
        runs = row["runs"]
        cells = [name, ",".join(str(r["seed"]) for r in runs)]
        validated = [f"{r['val_best']:.4f} ({r['val_epoch']})" for r in runs if "val_best" in r]
        cells.append(" / ".join(validated) or "—")
        cells.append(f"{row['val_best']['mean']:.4f}" if "val_best" in row else "—")
        for metric in ("psnr", "ssim", *extra):
            cells.append(_mean_std_cell(row.get(metric), _DIGITS.get(metric, 2)))
        for metric, part in splits:
            cells.append(_mean_std_cell(row.get("split", {}).get(f"{metric}_{part}"), _DIGITS[metric]))
        if name in BASELINES:
            cells += ["—", "—"]
        else:
            cells += [
                f"{np.mean([r['train_s'] for r in runs]):.0f}",
                f"{np.mean([r['test_s'] for r in runs]):.0f}",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _mean_std_cell(value: dict[str, float] | None, digits: int) -> str:
    return f"{value['mean']:.{digits}f} ± {value['std']:.{digits}f}" if value else ""


def _split_label(metric: str, part: str, split_at: int) -> str:
    return f"{metric.upper()} T1-{split_at}" if part == "near" else f"{metric.upper()} T{split_at + 1}-"


def plot(rows: dict, path: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for name, row in rows.items():
        for axis, metric in zip(axes, ("psnr", "ssim"), strict=True):
            values = row[f"{metric}_per_step"]
            axis.plot(range(1, len(values) + 1), values, marker="o", markersize=3, label=name)
            axis.set_xlabel("future step")
            axis.set_ylabel(metric.upper())
    axes[0].legend(fontsize=8)
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        figure.savefig(tmp, dpi=80)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    common = argv[argv.index("--") + 1 :] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--out", required=True, help="runs and the table go here")
    parser.add_argument("--preset", default="small")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variant", action="append", default=[], help='NAME="extra train flags"')
    parser.add_argument("--title", default="", help="title of the plot")
    parser.add_argument("--report", action="store_true", help="only aggregate what has been run")
    parser.add_argument(
        "--split-at",
        type=int,
        default=0,
        help="also average PSNR/SSIM over steps 1..K and K+1..T (e.g. 10 with --test-future 20)",
    )
    args = parser.parse_args(argv)
    args.common = common
    variants = {}
    for item in args.variant:
        name, _, flags = item.partition("=")
        variants[name] = shlex.split(flags)
    if not variants and args.report:
        # Several scripts may have trained into one --out (one per lane); the report takes them all.
        variants = {name: [] for name in finished_variants(args.out)}
    if not variants:
        parser.error("give at least one --variant NAME='flags' (or --report over an --out with runs)")
    os.makedirs(args.out, exist_ok=True)
    failed = 0
    if not args.report:
        for seed in args.seeds:
            for name, extra in variants.items():
                try:
                    run_once(name, seed, args, extra)
                except subprocess.CalledProcessError as error:  # the CLI's one-line reason is in the log
                    failure = f"failed (exit {error.returncode}), see {log_path(args, name, seed)}"
                    print(f"{name} seed {seed}: {failure}", file=sys.stderr)
                    failed += 1
    rows = aggregate(args, list(variants))
    text = table(rows, args)
    print(text)
    write_text_atomic(os.path.join(args.out, "table.md"), text + "\n")
    write_json_atomic(os.path.join(args.out, "table.json"), rows)
    if rows:
        plot(rows, os.path.join(args.out, "per_step.png"), args.title)
    return 1 if failed else 0  # the table holds the runs that finished


if __name__ == "__main__":
    sys.exit(main())
