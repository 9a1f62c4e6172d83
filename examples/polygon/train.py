"""Train Polygon-RNN with a deep RBM decoder (the original's `Auxiliary Annotation/train.py`), via the CLI.

Every flag of `deep-rnn train polygon` works here. With `--synthetic DIR` the synthetic Cityscapes and its
crop shards are created first under DIR (if missing) and used as `--crops`.

Example:
    $ python examples/polygon/train.py --synthetic data/polygon_synth --preset small --epochs 2
    $ python examples/polygon/train.py --crops data/cityscapes_crops --preset paper --depth 15
"""

from __future__ import annotations

import argparse
import os
import sys

from deep_rnn_tf.cli import main as cli_main
from deep_rnn_tf.tools.polygon_crops import crops_main
from deep_rnn_tf.tools.synth_cityscapes import main as synth_main


def prepare_synthetic(directory: str, max_vertices: int = 12) -> str:
    """Creates DIR/cityscapes (synthetic) and DIR/crops (shards) unless present; returns the crops folder."""
    scenes, crops = os.path.join(directory, "cityscapes"), os.path.join(directory, "crops")
    if not os.path.isdir(os.path.join(scenes, "gtFine")):
        synth_main(["--out", scenes, "--train", "150", "--val", "24"])
    if not os.path.isfile(os.path.join(crops, "val", "manifest.json")):
        crops_main(["--root", scenes, "--out", crops, "--copies", "2", "--max-vertices", str(max_vertices)])
    return crops


def main(argv: list[str] | None = None) -> int:
    """Parses `--synthetic`, passes everything else to `deep-rnn train polygon`."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--synthetic", help="create/use a synthetic Cityscapes under this folder")
    args, rest = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    if args.synthetic:
        rest = [*rest, "--crops", prepare_synthetic(args.synthetic)]
    return cli_main(["train", "polygon", *rest])


if __name__ == "__main__":
    sys.exit(main())
