"""Train MCnet + deep RBM on KTH with the original's flags (a thin caller of `deep_rnn_tf`).

    python examples/video_prediction/train_kth.py --data-dir data/KTH --lr 0.0001 --batch_size 8 \
        --alpha 1.0 --beta 0.02 --image_size 128 --K 10 --T 10 --num_iter 30000

Equivalent to `deep-rnn train prediction --preset paper ...`; the run directory defaults to the original's
checkpoint prefix (`runs/KTH_MCNET_image_size=128_K=10_T=10_batch_size=8_alpha=1.0_beta=0.02_lr=0.0001`),
and training resumes from it when restarted.
"""

from __future__ import annotations

import argparse
import math
import sys


def run_prefix(args: argparse.Namespace) -> str:
    """The original's checkpoint prefix built from the flags."""
    return (
        f"KTH_MCNET_image_size={args.image_size}_K={args.K}_T={args.T}_batch_size={args.batch_size}"
        f"_alpha={args.alpha}_beta={args.beta}_lr={args.lr}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="paper", help="paper (original sizes) or small (CPU)")
    parser.add_argument("--data-dir", default=None, help="KTH videos + segment lists (preset default)")
    parser.add_argument("--lr", type=float, default=0.0001)
    parser.add_argument("--batch_size", type=int, default=8, help="per replica")
    parser.add_argument("--alpha", type=float, default=1.0)
    parser.add_argument("--beta", type=float, default=0.02)
    parser.add_argument("--image_size", type=int, default=128)
    parser.add_argument("--K", type=int, default=10)
    parser.add_argument("--T", type=int, default=10)
    parser.add_argument("--num_iter", type=int, default=30000)
    parser.add_argument("--rnn", default="rbm", choices=("rbm", "convlstm"))
    parser.add_argument("--run-dir", default=None, help="default: runs/<the original's prefix>")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from deep_rnn_tf.tasks import get_task
    from deep_rnn_tf.training import runs

    task = get_task("prediction")
    config = task.config(task.presets[args.preset])
    # num_iter iterations = epochs x steps_per_epoch (a checkpoint per epoch).
    steps = min(int(config.steps_per_epoch), args.num_iter)
    config = config.replace(
        lr=args.lr,
        batch_size=args.batch_size,
        alpha=args.alpha,
        beta=args.beta,
        image_size=args.image_size,
        past=args.K,
        future=args.T,
        rnn=args.rnn,
        seed=args.seed,
        steps_per_epoch=steps,
        epochs=max(1, math.ceil(args.num_iter / steps)),
    )
    if args.data_dir:
        config = config.replace(data_dir=args.data_dir)
    run_dir = args.run_dir or f"runs/{run_prefix(args)}"
    result = runs.train(task, config, run_dir)
    print(f"trained {result.epochs_done} epochs x {steps} iterations in {run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
