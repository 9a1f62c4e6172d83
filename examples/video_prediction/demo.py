"""End-to-end CPU demo of video future prediction: synthetic KTH -> train -> test -> export -> table.

Generates the synthetic KTH set (exactly KTH's file layout), trains the `small` preset of MCnet with a
3-layer deep RBM core, runs the MCnet test protocol (per-step PSNR/SSIM against copy-last-frame on the same
windows), exports a SavedModel and runs it once from the exported artifact.

    .venv/bin/python examples/video_prediction/demo.py [--work-dir runs/prediction_demo] [--epochs 6]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work-dir", default="runs/prediction_demo", help="data, run and export go here")
    parser.add_argument("--epochs", type=int, help="override the small preset's epochs")
    parser.add_argument("--steps-per-epoch", type=int, help="override the small preset's steps per epoch")
    parser.add_argument("--rnn", default="rbm", choices=("rbm", "convlstm"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import tensorflow as tf

    from deep_rnn_tf.data.synthetic import kth as synth
    from deep_rnn_tf.tasks import get_task
    from deep_rnn_tf.training import runs

    start = time.time()
    data_dir = os.path.join(args.work_dir, "kth_synth")
    if not os.path.isfile(os.path.join(data_dir, "test_data_list.txt")):
        synth.main(["--out", data_dir, "--seed", str(args.seed), "--quiet"])
    print(f"[{time.time() - start:6.0f}s] synthetic KTH set in {data_dir}")

    task = get_task("prediction")
    config = {**task.presets["small"], "data_dir": data_dir, "rnn": args.rnn, "seed": args.seed}
    if args.epochs:
        config["epochs"] = args.epochs
    if args.steps_per_epoch:
        config["steps_per_epoch"] = args.steps_per_epoch
    run_dir = os.path.join(args.work_dir, f"run_{args.rnn}")
    result = runs.train(task, config, run_dir, verbose=2)
    print(f"[{time.time() - start:6.0f}s] trained {result.epochs_done} epochs in {run_dir}")

    summary = task.evaluate({**config, "run_name": f"demo_{args.rnn}"}, result.model, run_dir)
    print(
        f"[{time.time() - start:6.0f}s] tested: {summary['windows']} windows, "
        f"results in {summary['results_dir']}"
    )

    export_dir = os.path.join(args.work_dir, "export", "prediction", "1")
    task.serving_model(config, result.model).export(export_dir, verbose=False)
    loaded = tf.saved_model.load(export_dir)
    past = np.zeros((1, config["past"], config["image_size"], config["image_size"], 1), np.float32)
    future = loaded.signatures["serving_default"](frames=tf.constant(past))["future"]
    print(f"[{time.time() - start:6.0f}s] exported to {export_dir}; serving output {tuple(future.shape)}")

    print()
    print(summary["table"])
    model_psnr = summary[f"MCNET_{args.rnn}/psnr"]
    copy_psnr = summary["copy_last_frame/psnr"]
    verdict = "beats" if model_psnr > copy_psnr else "does NOT beat"
    print(f"MCnet+{args.rnn} average PSNR {model_psnr:.2f} dB {verdict} copy-last-frame {copy_psnr:.2f} dB")
    print(f"total {time.time() - start:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
