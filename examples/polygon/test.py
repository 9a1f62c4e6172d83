"""Evaluate a trained polygon run (the original's `Auxiliary Annotation/test.py`), via the CLI.

Writes the IoU table (model, bounding box, grid upper bound), per-instance IoUs and overlays under
`<run-dir>/results/`. Every flag of `deep-rnn test polygon` works here.

Example:
    $ python examples/polygon/test.py --run-dir runs/polygon-small
"""

from __future__ import annotations

import sys

from deep_rnn_tf.cli import main as cli_main

if __name__ == "__main__":
    sys.exit(cli_main(["test", "polygon", *sys.argv[1:]]))
