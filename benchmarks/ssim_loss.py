"""Time of the SSIM training term (value and gradient): `gaussian_ssim` against `tf.image.ssim`.

    .venv/bin/python benchmarks/ssim_loss.py [--batch 8] [--steps 10] [--size 64] [--repeats 20] [--threads 1]

Both are measured in the same run on the `small` preset's loss shape ((batch, T, size, size, 1) frames,
11x11 Gaussian window, sigma 1.5), each as one `tf.function` computing the mean SSIM and its gradient with
respect to the prediction; prints the median time of each, their ratio and the largest difference of
values and gradients (the two compute the same SSIM).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=10, help="predicted frames per sequence (T)")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads (0: TensorFlow's default)")
    args = parser.parse_args(argv)
    if args.threads:
        os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(args.threads))
        os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")

    import tensorflow as tf

    from deep_rnn_tf.tasks.prediction.losses import gaussian_ssim

    def reference(a, b):
        return tf.image.ssim(a, b, 1.0, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03)

    def value_and_gradient(ssim):
        @tf.function
        def run(target, prediction):
            with tf.GradientTape() as tape:
                tape.watch(prediction)
                value = tf.reduce_mean(ssim(prediction, target))
            return value, tape.gradient(value, prediction)

        return run

    shape = (args.batch, args.steps, args.size, args.size, 1)
    target = tf.random.uniform(shape, seed=1)
    prediction = tf.clip_by_value(target + tf.random.normal(shape, stddev=0.1, seed=2), 0.0, 1.0)
    timings, outputs = {}, {}
    for name, ssim in (("tf.image.ssim", reference), ("gaussian_ssim", gaussian_ssim)):
        run = value_and_gradient(ssim)
        outputs[name] = run(target, prediction)  # trace and warm up
        times = []
        for _ in range(args.repeats):
            begin = time.perf_counter()
            value, gradient = run(target, prediction)
            _ = gradient.numpy()
            times.append(time.perf_counter() - begin)
        timings[name] = statistics.median(times)
    value_diff = abs(float(outputs["tf.image.ssim"][0]) - float(outputs["gaussian_ssim"][0]))
    grad_diff = float(tf.reduce_max(tf.abs(outputs["tf.image.ssim"][1] - outputs["gaussian_ssim"][1])))
    print(f"shape {shape}, {args.repeats} repeats, threads {args.threads or 'default'}")
    for name, seconds in timings.items():
        print(f"{name:14s} value+gradient: {seconds * 1000:8.1f} ms (median)")
    print(f"speed-up of gaussian_ssim: {timings['tf.image.ssim'] / timings['gaussian_ssim']:.1f}x")
    print(f"largest difference: value {value_diff:.2e}, gradient {grad_diff:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
