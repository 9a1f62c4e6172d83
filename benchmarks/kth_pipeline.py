"""Frames per second of the KTH tf.data training pipeline (decode, resize, sample, batch), no model.

    .venv/bin/python benchmarks/kth_pipeline.py [--data-dir DIR] [--image-size 64] [--batches 50]

Without --data-dir a small synthetic KTH set is generated in a temporary directory first. Measured twice:
without the reader's video cache (every sample decodes its whole video: the worst case, e.g. the real KTH
set with more videos than the cache holds) and with it (the synthetic set fits in the cache).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time


def measure(dataset, batches: int) -> float:
    """Frames per second over `batches` batches of (past, future)."""
    frames, start = 0, time.perf_counter()
    for past, future in dataset.take(batches):
        frames += int(past.shape[0]) * (int(past.shape[1]) + int(future.shape[1]))
    return frames / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=None, help="KTH directory (default: generate a synthetic one)")
    parser.add_argument("--list", default="train_data_list.txt", help="segment list inside --data-dir")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--K", type=int, default=10)
    parser.add_argument("--T", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--batches", type=int, default=50)
    parser.add_argument("--parallel", type=int, default=None, help="decode workers (default AUTOTUNE)")
    args = parser.parse_args(argv)

    from deep_rnn_tf.data.kth import KTHDataset
    from deep_rnn_tf.tools.synth_kth import main as synth_kth_main

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir
        if data_dir is None:
            data_dir = os.path.join(tmp, "kth")
            synth_kth_main(["--out", data_dir, "--quiet"])
        for cache in (0, 64):
            data = KTHDataset(
                data_dir, args.list, image_size=args.image_size, past=args.K, future=args.T, cache_size=cache
            )
            dataset = data.train_dataset(args.batch_size, seed=0, num_parallel_calls=args.parallel)
            rate = measure(dataset, args.batches)
            how = (
                "no cache: every sample decodes its whole video" if cache == 0 else f"cache of {cache} videos"
            )
            print(
                f"KTH pipeline, {args.image_size}x{args.image_size}, K+T={args.K + args.T}, "
                f"batch {args.batch_size}, {how}: {rate:,.0f} frames/s"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
