"""End-to-end CPU demo of video future prediction: synthetic KTH -> train -> test -> export -> table.

Runs the same `deep-rnn` commands a user would type (in one process, through `deep_rnn_tf.cli.main`):

    deep-rnn data synth-kth --out WORK/kth_synth
    deep-rnn train prediction --preset small --data-dir WORK/kth_synth --run-dir WORK/run_rbm
    deep-rnn test prediction --run-dir WORK/run_rbm --run-name demo_rbm
    deep-rnn export prediction --run-dir WORK/run_rbm --export-dir saved_models --version 1 --overwrite

then runs the export once with plain TensorFlow and prints the per-step table (MCnet protocol and OpenSTL
convention) of MCnet + 3-layer deep RBM against copy-last-frame on the same test windows.

    .venv/bin/python examples/video_prediction/demo.py [--work-dir runs/prediction_demo] [--rnn rbm]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work-dir", default="runs/prediction_demo", help="data and run go here")
    parser.add_argument(
        "--export-dir", default="saved_models", help="TF Serving base path (writes prediction/1)"
    )
    parser.add_argument("--rnn", default="rbm", choices=("rbm", "convlstm"), help="recurrent core")
    parser.add_argument("--epochs", type=int, help="override the small preset's epochs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import numpy as np
    import tensorflow as tf

    from deep_rnn_tf.cli import main as deep_rnn
    from deep_rnn_tf.evaluation.video import finite_mean

    start = time.time()

    def step(*command: str) -> None:
        print(f"\n[{time.time() - start:5.0f}s] $ deep-rnn {' '.join(command)}", flush=True)
        code = deep_rnn(list(command))
        if code:
            raise SystemExit(f"deep-rnn {command[0]} failed with exit code {code}")

    data_dir = os.path.join(args.work_dir, "kth_synth")
    run_dir = os.path.join(args.work_dir, f"run_{args.rnn}")
    export_dir = args.export_dir
    if not os.path.isfile(os.path.join(data_dir, "test_data_list.txt")):
        step("data", "synth-kth", "--out", data_dir, "--seed", str(args.seed), "--quiet")
    train = ["train", "prediction", "--preset", "small", "--data-dir", data_dir, "--run-dir", run_dir]
    train += ["--rnn", args.rnn, "--seed", str(args.seed), "--quiet"]
    if args.epochs:
        train += ["--epochs", str(args.epochs)]
    step(*train)
    run_name = f"demo_{args.rnn}"
    step("test", "prediction", "--run-dir", run_dir, "--run-name", run_name, "--quiet")
    step(
        "export",
        "prediction",
        "--run-dir",
        run_dir,
        "--export-dir",
        export_dir,
        "--overwrite",
        "--version",
        "1",
    )

    # The export runs with plain TensorFlow (no deep_rnn_tf code is needed to load it).
    loaded = tf.saved_model.load(os.path.join(export_dir, "prediction", "1"))
    with open(os.path.join(run_dir, "config.json"), encoding="utf-8") as handle:
        config = json.load(handle)
    size = config["image_size"]
    frames = np.zeros((1, config["past"], size, size, 1), np.uint8)  # served models take uint8 pixels
    future = loaded.signatures["serving_default"](frames=tf.constant(frames))["future"]
    print(f"\nexported model: frames {frames.shape} uint8 -> future {tuple(future.shape)} {future.dtype}")

    results = os.path.join(run_dir, "results", "quantitative", "KTH", run_name)
    with open(os.path.join(results, "per_step.md"), encoding="utf-8") as handle:
        table = handle.read()
    print("\n" + table)
    model = np.load(os.path.join(results, f"results_model=MCNET_{args.rnn}.npz"))
    copy = np.load(os.path.join(results, "results_model=copy_last_frame.npz"))
    model_psnr, copy_psnr = float(finite_mean(model["psnr"])), float(finite_mean(copy["psnr"]))
    verdict = "beats" if model_psnr > copy_psnr else "does NOT beat"
    print(
        f"MCnet + {args.rnn}: average PSNR {model_psnr:.2f} dB {verdict} copy-last-frame {copy_psnr:.2f} dB"
    )
    print(f"results: {results}\ntotal {time.time() - start:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
