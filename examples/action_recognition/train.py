"""Train an action model (the original's `Backbone Supported model/train.py` and `Standalone model/main.py`).

A thin caller of `deep-rnn train action`: every flag of that command works here (`--anticipation`,
`--rnn rbm15|rbm1|convlstm15|lstm1`, `--model standalone`, `--preset paper|paper_standalone|small`, ...).
With `--synthetic DIR` the motion-defined synthetic set is written to DIR first (if missing) and used.

Example:
    $ python examples/action_recognition/train.py --synthetic data/synth_actions --run-dir runs/action_small
    $ python examples/action_recognition/train.py --preset paper --data data/ucf101_frames --anticipation
"""

from __future__ import annotations

import argparse
import os
import sys

from deep_rnn_tf.cli import main as cli_main
from deep_rnn_tf.tools.synth_actions import main as synth_main


def main(argv: list[str] | None = None) -> int:
    """Parses `--synthetic`, passes everything else to `deep-rnn train action`."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--synthetic", help="write/use the synthetic motion set here (32x32)")
    args, rest = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    if args.synthetic:
        if not os.path.isfile(os.path.join(args.synthetic, "test_list.txt")):
            synth_main(["--out", args.synthetic, "--size", "32", "--videos-per-class", "32", "--quiet"])
        rest = [*rest, "--data", args.synthetic]
    return cli_main(["train", "action", *rest])


if __name__ == "__main__":
    sys.exit(main())
