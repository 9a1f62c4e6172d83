"""How much a trained predictor changes its output from one future step to the next, against the truth.

    .venv/bin/python benchmarks/prediction_step_changes.py --run-dir runs/prediction-small [--windows 48]
        [--past 10 9 8 11]

For the first `--windows` test windows of the run's test list it prints, per future step t, the MCnet-
protocol PSNR, the mean |x̂_t − x̂_{t−1}| of the prediction (x̂_0 = the last observed frame) and the mean
|x_t − x_{t−1}| of the ground truth, for each number of observed frames in `--past`. This is the measurement
behind docs/prediction.md's "paired steps" section: an output that alternates between large and small
changes while the truth changes evenly is a two-step oscillation of the autoregressive loop; if the
alternation keeps its phase when K changes, it is tied to the first predicted step, not to the absolute
step count of the recurrent core.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--windows", type=int, default=48, help="test windows to use")
    parser.add_argument("--past", type=int, nargs="+", default=None, help="observed frames to try")
    args = parser.parse_args(argv)

    import tensorflow as tf

    from deep_rnn_tf.evaluation import video
    from deep_rnn_tf.tasks import get_task
    from deep_rnn_tf.tasks.prediction.ablation import load_test_windows, step_changes
    from deep_rnn_tf.training.runs import RunDirectory, load_trained
    from deep_rnn_tf.training.strategy import select_strategy

    task = get_task("prediction")
    config = task.config(RunDirectory(args.run_dir).read_config(), f"{args.run_dir}/config.json")
    model = load_trained(task, config, args.run_dir, select_strategy(None))
    steps = config.test_future
    for past in args.past or [config.past]:
        observed, future = load_test_windows(task, config, past, args.windows)
        prediction = model(tf.constant(observed), training=False, num_future=steps).numpy()
        psnr = video.finite_mean(video.sequence_metrics(prediction, future, "mcnet")["psnr"], axis=0)
        last = observed[:, -1:]
        rows = {
            "PSNR": psnr,
            "mean abs change, prediction": step_changes(np.concatenate([last, prediction], axis=1)),
            "mean abs change, truth": step_changes(np.concatenate([last, future], axis=1)),
        }
        print(f"\nK={past}, {len(observed)} test windows")
        print("| K | row | " + " | ".join(f"T{t + 1}" for t in range(steps)) + " |")
        print("|---|---|" + "---|" * steps)
        for name, values in rows.items():
            digits = 2 if name == "PSNR" else 4
            print(f"| {past} | {name} | " + " | ".join(f"{v:.{digits}f}" for v in values) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
