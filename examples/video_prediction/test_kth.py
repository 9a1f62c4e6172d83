"""Test a trained MCnet on KTH with the original's flags (MCnet protocol; a thin caller of `deep_rnn_tf`).

    python examples/video_prediction/test_kth.py --image_size 128 --K 10 --T 20 \
        --prefix KTH_MCNET_image_size=128_K=10_T=10_batch_size=8_alpha=1.0_beta=0.02_lr=0.0001

Writes `runs/<prefix>/results/quantitative/KTH/<prefix>/results_model=MCNET_rbm.npz` (psnr, ssim [windows, T])
and the copy-last-frame baseline beside it, the per-step table and plot, and GIFs under
`runs/<prefix>/results/images/KTH/<prefix>/`. Equivalent to `deep-rnn test prediction --preset paper ...`.
"""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prefix", required=True, help="the run's name (its directory is runs/<prefix>)")
    parser.add_argument("--run-dir", default=None, help="default: runs/<prefix>")
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--image_size", type=int, default=128)
    parser.add_argument("--K", type=int, default=10)
    parser.add_argument("--T", type=int, default=20)
    parser.add_argument("--gifs", type=int, default=None, help="test windows to write GIFs for")
    args = parser.parse_args(argv)

    from deep_rnn_tf.tasks import get_task
    from deep_rnn_tf.training import runs
    from deep_rnn_tf.training.strategy import select_strategy

    run_dir = args.run_dir or f"runs/{args.prefix}"
    task = get_task("prediction")
    config = runs.RunDirectory(run_dir).read_config()  # the trained model's sizes
    config.update(image_size=args.image_size, past=args.K, test_future=args.T, run_name=args.prefix)
    if args.data_dir:
        config["data_dir"] = args.data_dir
    if args.gifs is not None:
        config["gifs"] = args.gifs
    model = runs.load_trained(task, config, run_dir, select_strategy(config.get("devices")))
    summary = task.evaluate(config, model, run_dir)
    print(summary["table"])
    print(json.dumps({k: v for k, v in summary.items() if k != "table"}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
