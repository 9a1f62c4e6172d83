"""Gradient flow through deep recurrent stacks at initialisation: RBM against ConvLSTM, jumps on and off.

    .venv/bin/python benchmarks/gradient_flow.py [--cells rbm convlstm] [--depth 15] [--filters 16]
        [--jumps 5 0] [--normalization none batch] [--time 10] [--size 16] [--seeds 3]

The framework's claim (original.md §9) is that RBM stacks keep training as they get deeper where
ConvLSTM stacks do not. This measures the mechanism on the untrained `DeepRNN` layer, where nothing has
been learnt yet to hide it. For each stack it draws `--seeds` initialisations and a random input
(N(0, 1) frames), sends a fixed random upstream gradient g into the stack's outputs (the loss is
sum(h * g) / size(h), so every stack receives the same gradient and only its own backward gain differs),
and prints:

- **depth**: the RMS gradient of each layer's weights, layer 1 (the bottom) over layer D (the top); 1 is
  even, 1e-3 means the bottom layer learns a thousand times slower than the top at the start;
- **time**: with g on the last time step's output only, the RMS gradient reaching the input frame at t = 1
  over the one at t = T (how far back in time one step's loss reaches);
- **forward**: the RMS of the stack's output (a product merge of k layers scales its signal down).

Median over the seeds, min-max beside. One CPU thread is enough (a few forward/backward passes).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np


def _input_shape(args: argparse.Namespace) -> tuple[int, ...]:
    return (args.batch, args.time, args.size, args.size, args.channels)


def _stack_gradients(
    cell: str,
    normalization: str,
    memory_gain: float,
    gate_bias: float,
    jump: int,
    args: argparse.Namespace,
    seed: int,
) -> dict[str, float]:
    """One initialisation of a `DeepRNN`: weight-gradient RMS per layer, input-gradient RMS per time step,
    output RMS."""
    import keras
    import tensorflow as tf

    from deep_rnn_tf.cells.initializers import memory_gate_kwargs, xavier_normal
    from deep_rnn_tf.layers import DeepRNN

    keras.utils.set_random_seed(seed)
    shape = _input_shape(args)
    # Both cells take gate_bias: the RBM's temporal gate, the ConvLSTM's input and output gates.
    kwargs = {"gate_bias": gate_bias}
    if cell == "rbm":  # the ConvLSTM cell has no normalization option (nor do the tasks' ConvLSTM stacks)
        normalization = None if normalization == "none" else normalization
        kwargs.update(activation="tanh", p_td=args.p_td, seed=seed, normalization=normalization)
        if args.kernel_gain:  # the action task's RBM stacks: xavier-normal gain 3 for both kernels
            kwargs.update(kernel_initializer=xavier_normal(args.kernel_gain))
            kwargs.update(recurrent_initializer=xavier_normal(args.kernel_gain))
        kwargs.update(memory_gate_kwargs(memory_gain, gate_bias))
    layer = DeepRNN(
        cell, depth=args.depth, filters=args.filters, jump=jump or None, block_pool=args.block_pool,
        return_sequences=True, **kwargs,
    )  # fmt: skip
    rng = np.random.default_rng(seed)
    x = tf.constant(rng.standard_normal(shape), tf.float32)
    layer(x[:1])  # builds the weights

    def rms(tensor) -> float:
        return float(tf.sqrt(tf.reduce_mean(tf.square(tensor))))

    # Every layer's weights: the gradient of a random upstream gradient on all outputs.
    with tf.GradientTape() as tape:
        h = layer(x, training=True)
        upstream = tf.constant(rng.standard_normal(h.shape), tf.float32)
        loss = tf.reduce_sum(h * upstream) / tf.cast(tf.size(h), tf.float32)
    cells = layer.cell.cells
    weights = [c.trainable_weights for c in cells]
    grads = tape.gradient(loss, [w for group in weights for w in group])
    per_layer, i = [], 0
    for group in weights:
        chunk = [g for g in grads[i : i + len(group)] if g is not None]
        i += len(group)
        squares = sum(float(tf.reduce_sum(tf.square(g))) for g in chunk)
        count = sum(int(tf.size(g)) for g in chunk)
        per_layer.append(np.sqrt(squares / max(count, 1)))

    # The input frames: the same upstream gradient, on the last time step only.
    with tf.GradientTape() as tape:
        tape.watch(x)
        h = layer(x, training=True)
        loss = tf.reduce_sum(h[:, -1] * upstream[:, -1]) / tf.cast(tf.size(h[:, -1]), tf.float32)
    dx = tape.gradient(loss, x)
    per_step = [rms(dx[:, t]) for t in range(shape[1])]
    return {
        "depth": per_layer[0] / per_layer[-1] if per_layer[-1] > 0 else float("nan"),
        "time": per_step[0] / per_step[-1] if per_step[-1] > 0 else float("nan"),
        "forward": rms(h),
    }


def _summary(values: Sequence[float]) -> str:
    values = np.asarray(values, float)
    return f"{np.median(values):.3g} ({values.min():.2g}-{values.max():.2g})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", nargs="+", default=["rbm", "convlstm"], choices=["rbm", "convlstm"])
    parser.add_argument("--depth", type=int, default=15)
    parser.add_argument("--filters", type=int, default=16)
    parser.add_argument("--jumps", type=int, nargs="+", default=[5, 0], help="jump every N layers; 0: none")
    parser.add_argument(
        "--normalization", nargs="+", default=["none", "batch"], choices=["none", "batch", "layer"]
    )
    parser.add_argument(
        "--memory-gains", type=float, nargs="+", default=[0.0],
        help="RBM recurrent kernels start at g x identity (`CenterIdentity`; 0: the cell's default)",
    )  # fmt: skip
    parser.add_argument(
        "--gate-biases", type=float, nargs="+", default=[0.0],
        help="initial gate bias: the RBM's temporal gate, the ConvLSTM's input and output gates (0: default)",
    )  # fmt: skip
    parser.add_argument(
        "--kernel-gain", type=float, default=0.0, help="RBM xavier-normal gain (0: Glorot uniform)"
    )
    parser.add_argument(
        "--block-pool", type=int, default=None, help="max-pool after each block (the action stacks: 2)"
    )
    parser.add_argument("--p-td", type=float, default=0.0, help="RBM temporal dropout during the measurement")
    parser.add_argument("--time", type=int, default=10)
    parser.add_argument("--size", type=int, default=16, help="frame height and width")
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args(argv)
    for name in ("depth", "filters", "time", "size", "channels", "batch", "seeds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1; received {getattr(args, name)}")

    shape = _input_shape(args)
    print(
        f"{args.depth}-layer stacks, {args.filters} filters, input {shape}, p_TD {args.p_td}, "
        f"{args.seeds} seed(s); median (min-max) over seeds\n"
    )
    print(
        "| cell | jump | normalization | memory gain | gate bias | depth: grad layer 1 / layer D "
        "| time: grad t=1 / t=T | output RMS |"
    )
    print("|---|---|---|---|---|---|---|---|")
    # The normalization and memory gain are RBM options: the ConvLSTM gets one row per jump.
    stacks = [("convlstm", "-", 0.0)] if "convlstm" in args.cells else []
    if "rbm" in args.cells:
        stacks = [("rbm", n, g) for n in args.normalization for g in args.memory_gains] + stacks
    for jump in args.jumps:
        for cell, normalization, gain in stacks:
            for bias in args.gate_biases:
                runs = [
                    _stack_gradients(cell, normalization, gain, bias, jump, args, seed)
                    for seed in range(args.seeds)
                ]
                cols = [_summary([r[key] for r in runs]) for key in ("depth", "time", "forward")]
                row = [cell, str(jump or "none"), normalization, f"{gain:g}", f"{bias:g}", *cols]
                print("| " + " | ".join(row) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
