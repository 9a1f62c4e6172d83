"""Copy-last-frame baseline of any prediction data set (KTH layout, video folder, Moving MNIST), no model.

    .venv/bin/python benchmarks/copy_last.py --data-dir data/video_synth [--image-size 64] [--K 10] [--T 10]

Scores every test window (or the first --max-windows) by repeating the last observed frame, with the MCnet
protocol (PSNR / SSIM on uint8, the paper's) and OpenSTL's convention (PSNR / SSIM / MSE / MAE on [0, 1]
floats), per step and averaged. The strength of this baseline says how hard a data set is: on real camera
video (64x64 grey, 10 -> 10) it scores about 24 dB.
"""

from __future__ import annotations

import argparse

import numpy as np


def copy_last_scores(data, max_windows: int | None = None, batch: int = 64) -> dict[str, np.ndarray]:
    """Per-window, per-step metrics of copy-last-frame on `data`'s test windows: {name: (N, T)}."""
    from deep_rnn_tf.evaluation import video

    windows = data.test_windows()[:max_windows] if max_windows else data.test_windows()
    if not windows:
        raise ValueError(f"{data.list_file}: no test window of K+T={data.length} frames")
    scores: dict[str, list[np.ndarray]] = {}
    for begin in range(0, len(windows), batch):
        chunk = windows[begin : begin + batch]
        clips = np.stack([data.window(segment.video, start) for segment, start in chunk])
        frames = clips.astype(np.float32)[..., None] / 127.5 - 1.0
        past, future = frames[:, : data.past], frames[:, data.past :]
        prediction = np.repeat(past[:, -1:], future.shape[1], axis=1)
        results = {
            **{f"{k}_mcnet": v for k, v in video.sequence_metrics(prediction, future, "mcnet").items()},
            **{f"{k}_openstl": v for k, v in video.sequence_metrics(prediction, future, "openstl").items()},
            **{f"{k}_openstl": v for k, v in video.openstl_errors(prediction, future).items()},
        }
        for key, value in results.items():
            scores.setdefault(key, []).append(value)
    return {key: np.concatenate(value) for key, value in scores.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data-dir", required=True, help="KTH layout, folder of videos or Moving MNIST folder"
    )
    parser.add_argument("--dataset", default="auto", help="auto, kth, folder or moving_mnist")
    parser.add_argument("--test-list", default=None, help="KTH test list (default test_data_list.txt)")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--K", type=int, default=10)
    parser.add_argument("--T", type=int, default=10)
    parser.add_argument("--max-windows", type=int, default=None)
    args = parser.parse_args(argv)

    from deep_rnn_tf.data.videos import open_video_data
    from deep_rnn_tf.evaluation.video import finite_mean

    data = open_video_data(
        args.data_dir,
        "test",
        kind=args.dataset,
        image_size=args.image_size,
        past=args.K,
        future=args.T,
        list_file=args.test_list,
    )
    scores = copy_last_scores(data, args.max_windows)
    windows = len(next(iter(scores.values())))
    print(f"{data.name}: copy-last-frame, {args.K} -> {args.T}, {windows} test windows of {data.list_file}, "
          f"{args.image_size}x{args.image_size} grey")  # fmt: skip
    print("| metric | avg | " + " | ".join(f"T{t + 1}" for t in range(args.T)) + " |")
    print("|---" * (args.T + 2) + "|")
    for key, values in scores.items():
        per_step = finite_mean(values, axis=0) if key.startswith("psnr") else values.mean(axis=0)
        average = finite_mean(values) if key.startswith("psnr") else values.mean()
        digits = 3 if key.startswith("ssim") else 2
        cells = " | ".join(f"{v:.{digits}f}" for v in per_step)
        print(f"| {key} | {average:.{digits}f} | {cells} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
