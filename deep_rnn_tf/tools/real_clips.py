"""`deep-rnn data real-clips`: the command-line door of `deep_rnn_tf.data.real_clips`."""

from __future__ import annotations

import argparse
import sys

from deep_rnn_tf.data import real_clips as _library


def main(argv: list[str] | None = None) -> int:
    """`deep-rnn data real-clips --out DIR [--clips a,b] [--train-fraction F]`; returns the exit code.

    Example:
        >>> main(["--out", "/tmp/real_clips", "--quiet"])  # doctest: +SKIP
        0
    """
    parser = argparse.ArgumentParser(
        prog="deep-rnn data real-clips", description=_library.__doc__.split("\n")[0]
    )
    parser.add_argument("--out", required=True, help="output video folder")
    parser.add_argument(
        "--clips", default=",".join(_library.DEFAULT_CLIPS), help="comma-separated clip names (no .mp4)"
    )
    parser.add_argument(
        "--train-fraction", type=float, default=0.7, help="leading share of each clip that trains"
    )
    parser.add_argument("--name", default=_library.DATASET_NAME, help="the data set's name in results")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    clips = [clip.strip() for clip in args.clips.split(",") if clip.strip()]
    try:
        written = _library.write_clip_folder(args.out, clips, args.train_fraction, args.name)
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error))
    if not args.quiet:
        split = f"time split {args.train_fraction}"
        print(f"{len(written)} real clips written to {args.out} ({', '.join(written)}; {split})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
