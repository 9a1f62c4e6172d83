"""`deep-rnn data synth-kth`: the command-line door of `deep_rnn_tf.data.synthetic.kth`."""

from __future__ import annotations

import argparse
import sys

from deep_rnn_tf.data.synthetic.kth import generate
from deep_rnn_tf.validation import seed_arg


def main(argv: list[str] | None = None) -> int:
    """`deep-rnn data synth-kth --out DIR [...]`: writes the synthetic KTH set; returns the exit code.

    Example:
        >>> main(["--out", "/tmp/kth_synth", "--train-persons", "1", "--test-persons", "1"])
        0
    """
    parser = argparse.ArgumentParser(
        prog="deep-rnn data synth-kth",
        description="Write a small synthetic data set in exactly the KTH layout.",
    )
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--train-persons", type=int, default=4, help="training persons (numbered from 01)")
    parser.add_argument("--test-persons", type=int, default=2, help="test persons (numbered from 17)")
    parser.add_argument("--scenarios", type=int, default=1, help="scenarios d1..dN per person and action")
    parser.add_argument("--frames", type=int, default=90, help="frames per video")
    parser.add_argument("--segments", type=int, default=2, help="segments per video in the lists")
    parser.add_argument("--noise", type=float, default=1.5, help="sensor noise std in grey levels")
    parser.add_argument("--seed", type=seed_arg, default=0)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    try:
        paths = generate(
            args.out,
            train_persons=args.train_persons,
            test_persons=args.test_persons,
            scenarios=args.scenarios,
            num_frames=args.frames,
            num_segments=args.segments,
            noise=args.noise,
            seed=args.seed,
            show_progress=not args.quiet,
        )
    except ValueError as error:
        parser.error(str(error))
    if not args.quiet:
        print(f"synthetic KTH set written to {args.out}: {paths['train']}, {paths['test']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
