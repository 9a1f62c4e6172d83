"""`deep-rnn data synth-cityscapes`: the command-line door of `deep_rnn_tf.data.synthetic.cityscapes`."""

from __future__ import annotations

import argparse
import sys

from deep_rnn_tf.data.synthetic.cityscapes import SHAPE_JITTER, write_split
from deep_rnn_tf.validation import seed_arg


def main(argv: list[str] | None = None) -> int:
    """`deep-rnn data synth-cityscapes --out DIR`: writes the synthetic set; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="deep-rnn data synth-cityscapes",
        description="Write a small synthetic Cityscapes (official layout and polygon json schema).",
    )
    parser.add_argument("--out", required=True, help="output root (gets leftImg8bit/ and gtFine/)")
    parser.add_argument("--train", type=int, default=40, help="training scenes")
    parser.add_argument("--val", type=int, default=12, help="validation scenes")
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--height", type=int, default=512)
    parser.add_argument("--seed", type=seed_arg, default=0)
    parser.add_argument(
        "--shape-jitter",
        type=float,
        default=SHAPE_JITTER,
        help="largest move of a template vertex, a fraction of the object's box (default 0.04; up to 0.5: "
        "irregular outlines)",
    )
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    for name in ("train", "val", "width", "height"):
        if getattr(args, name) < (64 if name in ("width", "height") else 0):
            parser.error(f"--{name} is too small: {getattr(args, name)}")
    if args.train + args.val == 0:
        parser.error("--train and --val are both 0: nothing to write")
    if not 0.0 <= args.shape_jitter <= 0.5:
        parser.error(f"--shape-jitter must be in [0, 0.5]; received {args.shape_jitter}")
    for offset, (split, count) in enumerate((("train", args.train), ("val", args.val))):
        if count:
            objects = write_split(
                args.out,
                split,
                count,
                args.width,
                args.height,
                args.seed + 1000 * offset,
                args.quiet,
                args.shape_jitter,
            )
            print(f"{split}: {count} scenes, {objects} instance objects -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
