"""Training-step speed of our cells against Keras' ConvLSTM2D and a feed-forward limit, in one process.

Prints ms per training step (median of `--repeats` timed steps after warm-up, the models timed in
turns) and speed ratios against peers measured in the same run:
- ConvLSTMCell step-wise (ConvRNN) and fast path (DeepRNN), RBMCell step-wise and fast path, each
  against `keras.layers.ConvLSTM2D` with the same filters, kernel and shapes (ratio = ConvLSTM2D time /
  our time; >= 1.0 means at least as fast);
- a 15-layer RBM stack (fast path, jump 5) against an equal-FLOP feed-forward stack of
  TimeDistributed(Conv2D) layers (each RBM layer holds three k x k convolutions of F -> F channels, so the
  peer has 45 such layers): the no-recurrence limit (ratio = feed-forward time / RBM time).

Usage: python benchmarks/cells.py [--batch 8 --time 10 --size 32 --filters 16 --repeats 7 --jit]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from deep_rnn_tf import ConvLSTMCell, ConvRNN, DeepRNN, RBMCell  # noqa: E402


def compiled(model: keras.Model, x: np.ndarray, y: np.ndarray, jit: bool) -> keras.Model:
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="mse", jit_compile=jit)
    for _ in range(2):  # trace and warm up
        model.train_on_batch(x, y)
    return model


def round_robin_ms(entries: dict[str, tuple], repeats: int) -> dict[str, float]:
    """Median ms per training step of each (model, x, y), timed in turns so load drifts hit all alike."""
    times: dict[str, list[float]] = {name: [] for name in entries}
    for _ in range(repeats):
        for name, (model, x, y) in entries.items():
            start = time.perf_counter()
            model.train_on_batch(x, y)
            times[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


def sequence_model(layer: keras.layers.Layer, shape: tuple) -> keras.Model:
    frames = keras.Input(shape)
    return keras.Model(frames, layer(frames))


def feed_forward_stack(shape: tuple, filters: int, kernel: int, layers: int) -> keras.Model:
    frames = keras.Input(shape)
    h = frames
    for _ in range(layers):
        h = keras.layers.TimeDistributed(
            keras.layers.Conv2D(filters, kernel, padding="same", activation="relu")
        )(h)
    return keras.Model(frames, h)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--time", type=int, default=10)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--filters", type=int, default=16)
    parser.add_argument("--kernel", type=int, default=3)
    parser.add_argument("--depth", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--jit", action="store_true", help="compile the training steps with XLA")
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    b, t, s, c, f, k = args.batch, args.time, args.size, args.channels, args.filters, args.kernel
    shape = (t, s, s, c)
    x = np.random.rand(b, *shape).astype("float32")
    y_last = np.random.rand(b, s, s, f).astype("float32")
    devices = ", ".join(d.device_type for d in tf.config.list_logical_devices())
    print(f"batch {b}, time {t}, {s}x{s}x{c}, {f} filters, kernel {k}, jit={args.jit}, devices: {devices}")

    reference_name = "keras ConvLSTM2D (reference)"
    single = {
        reference_name: keras.layers.ConvLSTM2D(f, k, padding="same"),
        "ConvLSTMCell, step-wise (ConvRNN)": ConvRNN(ConvLSTMCell(f, k)),
        "ConvLSTMCell, fast path (DeepRNN)": DeepRNN(
            "convlstm", depth=1, filters=f, kernel_size=k, jump=None
        ),
        "RBMCell, step-wise (ConvRNN)": ConvRNN(RBMCell(f, k)),
        "RBMCell, fast path (DeepRNN)": DeepRNN("rbm", depth=1, filters=f, kernel_size=k, jump=None),
    }
    entries = {
        name: (compiled(sequence_model(layer, shape), x, y_last, args.jit), x, y_last)
        for name, layer in single.items()
    }

    # Deep stack vs its no-recurrence limit; the input is lifted to F channels so every layer is F -> F.
    xf = np.random.rand(b, t, s, s, f).astype("float32")
    deep_shape = (t, s, s, f)
    y_seq = np.random.rand(b, t, s, s, f).astype("float32")
    ff_name = f"feed-forward TimeDistributed(Conv2D) x{3 * args.depth} (limit)"
    deep_name = f"{args.depth}-layer RBM stack, fast path, jump 5"
    feed_forward = feed_forward_stack(deep_shape, f, k, 3 * args.depth)
    deep = DeepRNN("rbm", depth=args.depth, filters=f, kernel_size=k, jump=5, return_sequences=True)
    entries[ff_name] = (compiled(feed_forward, xf, y_seq, args.jit), xf, y_seq)
    entries[deep_name] = (compiled(sequence_model(deep, deep_shape), xf, y_seq, args.jit), xf, y_seq)

    ms = round_robin_ms(entries, args.repeats)
    rows = [(name, ms[name], ms[reference_name] / ms[name]) for name in single]
    rows.append((ff_name, ms[ff_name], 1.0))
    rows.append((deep_name, ms[deep_name], ms[ff_name] / ms[deep_name]))

    print(f"\n| {'model':<58} | ms/step | speed ratio vs peer |")
    print(f"|{'-' * 60}|---------|---------------------|")
    for name, ms, ratio in rows:
        print(f"| {name:<58} | {ms:7.1f} | {ratio:19.2f} |")
    print("\nTargets: ConvLSTM (ours) >= 1.0x ConvLSTM2D; 15-layer RBM >= 0.7x the feed-forward limit.")


if __name__ == "__main__":
    main()
