"""Test a trained action run (the original's `test.py`; `--anticipation` as its anticipation test).

A thin caller of `deep-rnn test action`: the paper's protocol (one 30-frame uniformly sampled sequence per
video), top-1/top-5/mean class accuracy, confusion PNG, per-class CSV, and the anticipation results (the
first `--observe` frames, default 2, and the accuracy-vs-observed-fraction curve) in RUN_DIR/results/.
`--anticipation` prints the anticipation numbers first.

Example:
    $ python examples/action_recognition/test.py --run-dir runs/action_small
    $ python examples/action_recognition/test.py --run-dir runs/action_small --anticipation --observe 2
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from deep_rnn_tf.cli import main as cli_main


def main(argv: list[str] | None = None) -> int:
    """Runs `deep-rnn test action`; with `--anticipation` summarises the anticipation results."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--anticipation", action="store_true", help="summarise the anticipation test")
    parser.add_argument("--run-dir", required=True)
    args, rest = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    code = cli_main(["test", "action", "--run-dir", args.run_dir, *rest])
    if code == 0 and args.anticipation:
        with open(os.path.join(args.run_dir, "results", "action_results.json"), encoding="utf-8") as handle:
            results = json.load(handle)
        observe, top1 = results["anticipation_observe"], results["anticipation_top1"]
        print(f"anticipation (first {observe} frames): top-1 {top1:.3f}")
        curve = ", ".join(f"{float(k):.0%}: {v:.3f}" for k, v in results["anticipation_curve"].items())
        print(f"accuracy vs observed fraction: {curve}")
    return code


if __name__ == "__main__":
    sys.exit(main())
