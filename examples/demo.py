"""`make demo-sequence`: train, test and export a small deep RBM on generated clips, then serve the export.

It runs exactly what these commands run (the same code path as every task):

    deep-rnn train demo --run-dir runs/demo-small --seed 0
    deep-rnn test demo --run-dir runs/demo-small
    deep-rnn export demo --run-dir runs/demo-small --export-dir saved_models
    deep-rnn predict --model saved_models/demo --input saved_models/demo/<version>/example_request.json

The task: short 8-frame 16x16 clips of a blob moving right, left, down or up (generated, no download);
a 2-layer DeepRNN of RBM cells classifies the direction. ~1-2 minutes on 2 CPU cores. Running it again
resumes the run (nothing left to train) and exports the next version.

Usage:
    python examples/demo.py [--run-dir runs/demo-small] [--export-dir saved_models] [--preset small]
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from deep_rnn_tf import cli  # noqa: E402  (after the TF log level is set)
from deep_rnn_tf.export.serving import resolve_export  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Runs train, test, export and predict for the demo task; returns the first non-zero status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", default="runs/demo-small")
    parser.add_argument("--export-dir", default="saved_models")
    parser.add_argument("--preset", default="small", help="small (default) or deep")
    parser.add_argument("--quiet", action="store_true", help="one line per epoch instead of progress bars")
    args = parser.parse_args(argv)
    common = ["demo", "--preset", args.preset, "--run-dir", args.run_dir] + (
        ["--quiet"] if args.quiet else []
    )
    steps = [
        ("train", ["train", *common, "--seed", "0"]),
        ("test", ["test", *common]),
        ("export", ["export", *common, "--export-dir", args.export_dir]),
    ]
    for title, command in steps:
        print(f"\n=== deep-rnn {' '.join(command)}", flush=True)
        status = cli.main(command)
        if status != 0:
            print(f"demo: `deep-rnn {title}` failed with status {status}", file=sys.stderr)
            return status
    version = resolve_export(os.path.join(args.export_dir, "demo"))
    request = version / "example_request.json"
    predict = ["predict", "--model", str(version), "--input", str(request)]
    print(f"\n=== deep-rnn {' '.join(predict)}", flush=True)
    status = cli.main(predict)
    print(f"\nDone. Run directory: {args.run_dir}")
    print("  config.json, checkpoints/, logs/ (TensorBoard), metrics.csv, results/demo_metrics.json")
    print(f"Export: {version} (its README.txt has the input spec and serving commands)")
    return status


if __name__ == "__main__":
    sys.exit(main())
