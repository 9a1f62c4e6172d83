"""Which paths a trained video predictor uses: its recurrent core's memory, the core's output, MCnet's motion
residuals, each switched off at test time in turn.

    .venv/bin/python benchmarks/prediction_ablation.py --run-dir RUN [--windows N]

Prints, per ablation, the per-step MSE of the prediction divided by copy-last-frame's (< 1: better than
copying), its mean, and the mean |x̂_t − x̂_{t−1}| per step. A row equal to "none" means the trained model
does not use that path (see `deep_rnn_tf.tasks.prediction.ablation`). The last rows feed the model the true
frame difference at every fed-back step instead of its own predicted one: the gap to "none" is what
rolling out on its own motion costs. Last, how much the core's output at the last observed step owes to
its states (`memory_use`) and how much each state tensor changes over the observed steps.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--windows", type=int, default=None, help="first N test windows (default: all)")
    args = parser.parse_args(argv)

    from deep_rnn_tf.tasks import get_task
    from deep_rnn_tf.tasks.prediction.ablation import (
        ABLATIONS,
        ablated,
        load_test_windows,
        memory_use,
        mse_ratio_to_copy_last,
        predict_in_batches,
        step_changes,
    )
    from deep_rnn_tf.training.runs import RunDirectory, load_trained
    from deep_rnn_tf.training.strategy import select_strategy

    task = get_task("prediction")
    config = task.config(RunDirectory(args.run_dir).read_config(), f"{args.run_dir}/config.json")
    model = load_trained(task, config, args.run_dir, select_strategy(None))
    observed, future = load_test_windows(task, config, config.past, args.windows)
    steps = config.test_future
    print(f"{args.run_dir}: {len(observed)} test windows, K={config.past}, T={steps}")
    header = " | ".join(f"T{t + 1}" for t in range(steps))
    print(f"| switched off | row | {header} | mean |")
    print("|---|---|" + "---|" * (steps + 1))

    def row(name: str, label: str, values: np.ndarray, digits: int) -> None:
        cells = " | ".join(f"{v:.{digits}f}" for v in values)
        print(f"| {name} | {label} | {cells} | {values.mean():.4f} |")

    def changes_from_last_observed(frames: np.ndarray) -> np.ndarray:
        return step_changes(np.concatenate([observed[:, -1:], frames], axis=1))

    for what in ABLATIONS:
        with ablated(model, what):
            prediction = predict_in_batches(model, observed, steps)
        row(what, "MSE / copy-last", mse_ratio_to_copy_last(prediction, observed, future), 3)
        row(what, "mean abs change", changes_from_last_observed(prediction), 4)
    # The same model fed the true frame difference at every fed-back step: what rolling out on its own
    # predicted motion costs (`true_motion`).
    prediction = predict_in_batches(model, observed, steps, future=future)
    row(
        "none, true motion fed back",
        "MSE / copy-last",
        mse_ratio_to_copy_last(prediction, observed, future),
        3,
    )
    row("none, true motion fed back", "mean abs change", changes_from_last_observed(prediction), 4)
    row("(truth)", "mean abs change", changes_from_last_observed(future), 4)
    used = memory_use(model, observed)
    print(
        f"\nMemory at the last observed step: the core's output with its states against the same step "
        f"run as its first: correlation {used['output_correlation']:.3f}, mean |difference| / mean |output| "
        f"{used['relative_change']:.3f}"
    )
    print(
        "| core state | temporal std (second half of the observed steps) | spread at the last step | ratio |"
    )
    print("|---|---|---|---|")
    for index, state in enumerate(used["states"]):
        ratio = state["temporal_std"] / max(state["spread"], 1e-12)
        print(f"| {index} | {state['temporal_std']:.4f} | {state['spread']:.4f} | {ratio:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
