"""Clips per second of the action tf.data training pipeline (decode, OCTS clips, augmentation), no model.

    .venv/bin/python benchmarks/action_pipeline.py [--data DIR] [--image-size 112] [--batches 30]

Without --data a synthetic motion set (64x64 JPEG frames) is generated in a temporary directory first.
A "clip" is one OCTS clip of --clip-len frames; every batch holds batch-size videos x num-clips clips.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time


def measure(dataset, batches: int) -> tuple[float, float]:
    """(clips per second, frames per second) over `batches` batches, after one warm-up batch."""
    iterator = iter(dataset)
    next(iterator)
    clips = frames = 0
    start = time.perf_counter()
    for _ in range(batches):
        x, _ = next(iterator)
        clips += int(x.shape[0]) * int(x.shape[1])
        frames += int(x.shape[0]) * int(x.shape[1]) * int(x.shape[2])
    seconds = time.perf_counter() - start
    return clips / seconds, frames / seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=None, help="frame root with train/ (default: a synthetic set)")
    parser.add_argument("--image-size", type=int, default=112)
    parser.add_argument("--num-clips", type=int, default=7)
    parser.add_argument("--clip-len", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--batches", type=int, default=30)
    args = parser.parse_args(argv)

    from deep_rnn_tf.data import frames as F
    from deep_rnn_tf.tools.synth_actions import main as synth_actions_main

    with tempfile.TemporaryDirectory() as tmp:
        root = args.data
        if root is None:
            root = os.path.join(tmp, "synth")
            sizes = ["--size", "64", "--videos-per-class", "8", "--min-frames", "60", "--max-frames", "90"]
            synth_actions_main(["--out", root, *sizes, "--quiet"])
        split = F.load_split(root, "train")
        sampler = F.octs_frame_indices(args.num_clips, args.clip_len, 0.25)
        size = (args.image_size, args.image_size)
        for name, augmentation in (("no augmentation", None), ("flip+jitter+crop", F.ClipAugmentation())):
            config = F.PipelineConfig(size, args.batch_size, augmentation, shuffle=True, seed=0)
            dataset = F.make_dataset(split, sampler, config).repeat()
            clips, frames = measure(dataset, args.batches)
            print(f"{name:>18}: {clips:7.1f} clips/s ({frames:7.0f} frames/s) at {size[0]}x{size[1]}, "
                  f"{args.num_clips} x {args.clip_len}-frame clips, batch {args.batch_size}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
