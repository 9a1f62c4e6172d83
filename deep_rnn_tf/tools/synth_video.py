"""`deep-rnn data synth-video`: the command-line door of `deep_rnn_tf.data.synthetic.photo_video`."""

from __future__ import annotations

import argparse
import sys

from deep_rnn_tf.data.synthetic import photo_video as _library
from deep_rnn_tf.data.synthetic.photo_video import LAYOUTS, VideoStyle, generate
from deep_rnn_tf.validation import seed_arg


def main(argv: list[str] | None = None) -> int:
    """`deep-rnn data synth-video --out DIR [--layout kth|folder] [...]`; returns the exit code.

    Example:
        >>> main(["--out", "/tmp/video_synth", "--clips", "2", "--frames", "60", "--quiet"])
        0
    """
    parser = argparse.ArgumentParser(
        prog="deep-rnn data synth-video", description=_library.__doc__.split("\n")[0]
    )
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--layout", choices=LAYOUTS, default="kth", help="kth (avi + lists) or folder")
    parser.add_argument("--clips", type=int, default=8, help="number of clips")
    parser.add_argument("--frames", type=int, default=300, help="frames per clip")
    parser.add_argument("--width", type=int, default=160, help="frame width")
    parser.add_argument("--height", type=int, default=120, help="frame height")
    parser.add_argument(
        "--train-fraction", type=float, default=0.7, help="leading part of each clip that trains"
    )
    parser.add_argument(
        "--noise", type=float, default=VideoStyle.noise, help="sensor noise std (grey levels)"
    )
    parser.add_argument("--jpeg-quality", type=int, default=VideoStyle.jpeg_quality, help="0 disables JPEG")
    parser.add_argument(
        "--cut-every", type=int, default=VideoStyle.cut_every, help="mean frames between cuts (0: none)"
    )
    parser.add_argument(
        "--max-objects", type=int, default=VideoStyle.max_objects, help="moving objects per scene"
    )
    parser.add_argument(
        "--object-speed", type=float, default=VideoStyle.object_speed, help="fraction of width/frame"
    )
    parser.add_argument(
        "--pan-speed", type=float, default=VideoStyle.pan_speed, help="fraction of width/frame"
    )
    parser.add_argument(
        "--format", dest="video_format", choices=("mp4", "avi"), default="mp4", help="folder layout"
    )
    parser.add_argument("--seed", type=seed_arg, default=0)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    try:
        style = VideoStyle(
            noise=args.noise,
            jpeg_quality=args.jpeg_quality,
            cut_every=args.cut_every,
            max_objects=args.max_objects,
            object_speed=args.object_speed,
            pan_speed=args.pan_speed,
        )
        summary = generate(
            args.out,
            layout=args.layout,
            clips=args.clips,
            num_frames=args.frames,
            width=args.width,
            height=args.height,
            train_fraction=args.train_fraction,
            style=style,
            seed=args.seed,
            video_format=args.video_format,
            show_progress=not args.quiet,
        )
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error))
    if not args.quiet:
        cuts = sum(len(c) for c in summary["cuts"].values())
        print(f"{args.clips} clips ({args.layout} layout, {cuts} scene cuts) written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
