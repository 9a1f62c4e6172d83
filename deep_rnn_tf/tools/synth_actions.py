"""`deep-rnn data synth-actions`: the command-line door of `deep_rnn_tf.data.synthetic.actions`."""

from __future__ import annotations

import argparse
import sys

from deep_rnn_tf.data.synthetic.actions import SynthActionsConfig, write_synthetic_actions
from deep_rnn_tf.validation import seed_arg


def main(argv: list[str] | None = None) -> int:
    """`deep-rnn data synth-actions`: writes the motion-defined synthetic action set.

    Example:
        >>> main(["--out", "/tmp/synth_actions", "--size", "32", "--videos-per-class", "4"])
    """
    parser = argparse.ArgumentParser(
        prog="deep-rnn data synth-actions",
        description="Write a synthetic action set whose classes are defined by motion (frame-folder layout).",
    )
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--size", type=int, default=64, help="frame size in pixels (default 64)")
    parser.add_argument("--videos-per-class", type=int, default=24, help="training videos per class")
    parser.add_argument("--test-videos-per-class", type=int, default=8, help="test videos per class")
    parser.add_argument("--min-frames", type=int, default=24)
    parser.add_argument("--max-frames", type=int, default=40)
    parser.add_argument("--seed", type=seed_arg, default=0)
    parser.add_argument(
        "--scene-cue",
        type=float,
        default=0.0,
        help="probability that a video shows its class's own background (default 0: only motion tells)",
    )
    parser.add_argument(
        "--hand-scale",
        type=float,
        default=1.0,
        help="width of the hand and size of its tip relative to the default (default 1)",
    )
    parser.add_argument(
        "--turn-speed",
        type=float,
        default=1.0,
        help="angular speed of the hand (rotations, pendulum) relative to the default (default 1)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        config = SynthActionsConfig(
            size=args.size,
            videos_per_class=args.videos_per_class,
            test_videos_per_class=args.test_videos_per_class,
            min_frames=args.min_frames,
            max_frames=args.max_frames,
            seed=args.seed,
            scene_cue=args.scene_cue,
            hand_scale=args.hand_scale,
            turn_speed=args.turn_speed,
        )
        summary = write_synthetic_actions(args.out, config, show_progress=not args.quiet)
    except ValueError as error:  # a bad setting, or a folder made with other settings
        print(f"{parser.prog}: error: {error}", file=sys.stderr)  # the other data tools' form
        return 2
    print(
        f"wrote {summary['train']} train and {summary['test']} test videos of "
        f"{len(summary['classes'])} motion classes to {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
