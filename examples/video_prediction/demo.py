"""End-to-end CPU demo of video future prediction: synthetic KTH -> train -> test -> export -> table.

Runs the same `deep-rnn` commands a user would type (in one process, through `deep_rnn_tf.cli.main`):

    deep-rnn data synth-kth --out WORK/kth_synth
    deep-rnn train prediction --preset small --data-dir WORK/kth_synth --run-dir WORK/run_rbm --rnn rbm
    deep-rnn test prediction --run-dir WORK/run_rbm --run-name demo_rbm
    (the same two for --rnn convlstm, MCnet's own 1-layer ConvLSTM core)
    deep-rnn export prediction --run-dir WORK/run_rbm --export-dir saved_models --version 1 --overwrite

then runs the export once with plain TensorFlow and prints the per-step tables (MCnet protocol and OpenSTL
convention) and a summary: MCnet + 3-layer deep RBM core, MCnet + ConvLSTM core and copy-last-frame on the
same test windows, each scored from the best checkpoint by validation loss.

    .venv/bin/python examples/video_prediction/demo.py [--work-dir runs/prediction_demo] [--rnn rbm convlstm]
"""

from __future__ import annotations

import argparse
import glob
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
    parser.add_argument(
        "--rnn",
        nargs="+",
        default=["rbm", "convlstm"],
        choices=("rbm", "convlstm"),
        help="recurrent cores to train and compare (the first is exported)",
    )
    parser.add_argument("--epochs", type=int, help="override the small preset's epochs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import numpy as np
    import tensorflow as tf

    from deep_rnn_tf.cli import main as deep_rnn
    from deep_rnn_tf.evaluation.video import finite_mean
    from deep_rnn_tf.tasks import resolve_config

    start = time.time()

    def step(*command: str) -> None:
        print(f"\n[{time.time() - start:5.0f}s] $ deep-rnn {' '.join(command)}", flush=True)
        code = deep_rnn(list(command))
        if code:
            raise SystemExit(f"deep-rnn {command[0]} failed with exit code {code}")

    data_dir = os.path.join(args.work_dir, "kth_synth")
    if not os.path.isfile(os.path.join(data_dir, "test_data_list.txt")):
        step("data", "synth-kth", "--out", data_dir, "--seed", str(args.seed), "--quiet")
    averages: dict[str, tuple[float, float]] = {}
    for rnn in args.rnn:
        run_dir = os.path.join(args.work_dir, f"run_{rnn}")
        train = ["train", "prediction", "--preset", "small", "--data-dir", data_dir, "--run-dir", run_dir]
        train += ["--rnn", rnn, "--seed", str(args.seed), "--quiet"]
        # Always explicit: a run left by an older demo resumes to this preset's total instead of being
        # scored as it was (a resumed run keeps its saved epochs unless --epochs says otherwise).
        train += ["--epochs", str(args.epochs or resolve_config("prediction", "small").epochs)]
        step(*train)
        run_name = f"demo_{rnn}"
        step("test", "prediction", "--run-dir", run_dir, "--run-name", run_name, "--quiet")
        # results/quantitative/<data-set name>/<run name>/
        (results,) = glob.glob(os.path.join(run_dir, "results", "quantitative", "*", run_name))
        with open(os.path.join(results, "per_step.md"), encoding="utf-8") as handle:
            print("\n" + handle.read())
        for name in (f"MCNET_{rnn}", "copy_last_frame", "flow_extrapolation"):
            scores = np.load(os.path.join(results, f"results_model={name}.npz"))
            averages[name] = (float(finite_mean(scores["psnr"])), float(np.mean(scores["ssim"])))

    exported = os.path.join(args.work_dir, f"run_{args.rnn[0]}")
    step("export", "prediction", "--run-dir", exported, "--export-dir", args.export_dir, "--overwrite",
         "--version", "1")  # fmt: skip
    # The export runs with plain TensorFlow (no deep_rnn_tf code is needed to load it).
    loaded = tf.saved_model.load(os.path.join(args.export_dir, "prediction", "1"))
    with open(os.path.join(exported, "config.json"), encoding="utf-8") as handle:
        config = json.load(handle)
    size = config["image_size"]
    frames = np.zeros((1, config["past"], size, size, 1), np.uint8)  # served models take uint8 pixels
    future = loaded.signatures["serving_default"](frames=tf.constant(frames))["future"]
    print(f"\nexported model: frames {frames.shape} uint8 -> future {tuple(future.shape)} {future.dtype}")

    copy_psnr, copy_ssim = averages.pop("copy_last_frame")
    flow_psnr, flow_ssim = averages.pop("flow_extrapolation")  # the same windows in every run
    print("\n| model (MCnet protocol, avg over T) | PSNR | SSIM |\n|---|---|---|")
    print(f"| copy_last_frame | {copy_psnr:.2f} | {copy_ssim:.3f} |")
    print(f"| flow_extrapolation | {flow_psnr:.2f} | {flow_ssim:.3f} |")
    for name, (psnr, ssim) in averages.items():
        print(f"| {name} | {psnr:.2f} | {ssim:.3f} |")
    for name, (psnr, ssim) in averages.items():
        beats = psnr > copy_psnr and ssim > copy_ssim
        print(f"{name} {'beats' if beats else 'does NOT beat'} copy-last-frame on both PSNR and SSIM")
    if {"MCNET_rbm", "MCNET_convlstm"} <= set(averages):
        (rbm_psnr, rbm_ssim), (lstm_psnr, lstm_ssim) = averages["MCNET_rbm"], averages["MCNET_convlstm"]
        above = rbm_psnr > lstm_psnr and rbm_ssim > lstm_ssim
        print(f"deep RBM core is {'above' if above else 'NOT above'} the ConvLSTM core on both PSNR and SSIM")
    print(f"total {time.time() - start:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
