"""How much of a trained action model's test accuracy its normalisation statistics cost, by observed fraction.

    .venv/bin/python benchmarks/action_norm_statistics.py --run-dir RUN [--run-dir RUN ...]

Runs the run's test protocol (best checkpoint by validation, one sequence per test video) twice: with the
normalisation layers in inference mode (their moving statistics: what `deep-rnn test` reports) and in
training mode (every step normalised with the moments of its own test batch). Prints the accuracy from the
first 10 %, 20 %, ... 100 % of each video for both. A diagnostic, not a method: training mode reads the
statistics of the test batch. Where the two rows differ, the moving statistics do not describe the steps
the test reads (docs/cells.md, "batch_per_step"). Dropout is 0 in the action `small` preset, so training
mode changes nothing else there.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def accuracy_by_fraction(run_dir: str, batch_statistics: bool) -> dict[str, float]:
    """{"0.1": top-1, ...} of the run's test split, the normalisation in training mode if asked."""
    from deep_rnn_tf.tasks import get_task
    from deep_rnn_tf.tasks.action import task as action_task
    from deep_rnn_tf.training.runs import load_trained
    from deep_rnn_tf.training.strategy import select_strategy

    task = get_task("action")
    with open(os.path.join(run_dir, "config.json"), encoding="utf-8") as handle:
        raw = json.load(handle)
    model = load_trained(task, raw, run_dir, select_strategy(None))
    config = task.config(raw)
    frame_logits = model.frame_logits
    model.frame_logits = lambda frames, training=None: frame_logits(frames, training=batch_statistics)
    logits, labels = action_task._predict_frame_logits(
        model, task._test_split(config), action_task.test_sampler(config), config, "test"
    )
    return action_task._anticipation_curve(logits, labels)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run-dir", action="append", required=True, help="a trained action run (repeatable)")
    args = parser.parse_args(argv)
    for run_dir in args.run_dir:
        for batch_statistics in (False, True):
            curve = accuracy_by_fraction(run_dir, batch_statistics)
            what = "batch moments per step" if batch_statistics else "moving statistics"
            row = "  ".join(f"{fraction} {100 * value:5.1f}" for fraction, value in curve.items())
            print(f"{run_dir}  {what:>22}:  {row}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
