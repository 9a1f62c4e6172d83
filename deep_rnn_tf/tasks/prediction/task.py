"""Video future prediction on KTH (MCnet + deep RBM): `deep-rnn train|test|export prediction`.

Composes the core: `deep_rnn_tf.data.kth` (reader, tf.data), `deep_rnn_tf.tasks.prediction.model` (MCnet
with a deep RBM or ConvLSTM core) and `deep_rnn_tf.evaluation.video` (MCnet-protocol PSNR/SSIM, OpenSTL
convention, tables, plots, GIFs).
"""

from __future__ import annotations

import argparse
import logging
import os
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from tqdm import tqdm

from deep_rnn_tf.atomic_io import write_text_atomic
from deep_rnn_tf.data.kth import KTHDataset
from deep_rnn_tf.evaluation import video
from deep_rnn_tf.tasks.prediction.model import MCNet, copy_last_frame
from deep_rnn_tf.training.task import Task

logger = logging.getLogger(__name__)

_PAPER = {
    # §7: 128x128 grey, K=10, T=10 train / 20 test, batch 8 per replica, Adam 1e-4 beta1 0.5,
    # 30000 iterations.
    "data_dir": "data/KTH",
    "train_list": "train_data_list_trimmed.txt",
    "test_list": "test_data_list.txt",
    "image_size": 128,
    "past": 10,
    "future": 10,
    "test_future": 20,
    "gf_dim": 64,
    "df_dim": 64,
    "rnn": "rbm",
    "rnn_depth": 15,
    "rnn_filters": 256,
    "rnn_kernel": 3,
    "jump": 5,
    "p_td": 0.5,
    "alpha": 1.0,
    "beta": 0.02,
    "margin": 0.3,
    "lr": 1e-4,
    "beta1": 0.5,
    "batch_size": 8,
    "epochs": 120,
    "steps_per_epoch": 250,
    "val_batches": 10,
    "test_batch_size": 8,
    "max_test_windows": None,
    "gifs": 10,
    "export_future": None,
    "strict_data": False,
    # Decoded videos kept in RAM: all 384 KTH training videos (~3 GB at 128x128), so the pipeline decodes
    # each video once instead of once per sample (benchmarks/kth_pipeline.py: ~40x faster when cached).
    "cache_videos": 400,
    "run_name": None,
}
_SMALL = {
    **_PAPER,
    # CPU preset: the synthetic KTH set (`deep-rnn data synth-kth --out data/kth_synth`), 32x32 frames,
    # K=5 -> T=10 (trained on the tested horizon: with T=5 in training the model drifted past step 5),
    # a 3-layer x 16-channel RBM core, no GAN.
    "data_dir": "data/kth_synth",
    "train_list": "train_data_list.txt",
    "image_size": 32,
    "past": 5,
    "future": 10,
    "test_future": 10,
    "gf_dim": 8,
    "df_dim": 8,
    "rnn_depth": 3,
    "rnn_filters": 16,
    "beta": 0.0,
    "lr": 1e-3,
    "epochs": 8,
    "steps_per_epoch": 100,
    "val_batches": 4,
    "test_batch_size": 16,
    "gifs": 4,
    "cache_videos": 64,
}


class PredictionTask(Task):
    """KTH video future prediction: MCnet with a deep RBM (or ConvLSTM) core, MCnet test protocol.

    Presets: `paper` (the original's sizes, real KTH under data/KTH) and `small` (CPU, synthetic KTH);
    `tiny` is for tests.

    Example:
        >>> task = PredictionTask()
        >>> config = {**task.presets["small"], "data_dir": "/tmp/kth_synth"}
        >>> model = task.build_model(config)  # doctest: +SKIP
    """

    name = "prediction"
    presets = {
        "paper": dict(_PAPER),
        "small": dict(_SMALL),
        "tiny": {
            **_SMALL,
            "image_size": 16,
            "past": 3,
            "future": 2,
            "test_future": 3,
            "gf_dim": 4,
            "rnn_depth": 2,
            "rnn_filters": 8,
            "epochs": 1,
            "steps_per_epoch": 2,
            "batch_size": 2,
            "val_batches": 1,
            "test_batch_size": 8,
            "max_test_windows": 8,
            "gifs": 1,
        },
    }
    default_preset = "small"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--data-dir", help="directory of the KTH *_uncomp.avi files and segment lists")
        parser.add_argument("--train-list", help="training segment list (MCnet format or 00sequences.txt)")
        parser.add_argument("--test-list", help="test segment list")
        parser.add_argument("--image-size", type=int, help="frame side after resizing (multiple of 8)")
        parser.add_argument("--past", "--K", dest="past", type=int, help="K, observed frames")
        parser.add_argument(
            "--future", "--T", dest="future", type=int, help="T, predicted frames in training"
        )
        parser.add_argument("--test-future", type=int, help="T at test (20 in the paper)")
        parser.add_argument("--rnn", choices=("rbm", "convlstm"), help="recurrent core")
        parser.add_argument("--rnn-depth", type=int, help="RBM layers")
        parser.add_argument("--rnn-filters", type=int, help="channels per core layer")
        parser.add_argument("--jump", type=int, help="residual jump every N core layers")
        parser.add_argument("--gf-dim", type=int, help="MCnet base width")
        parser.add_argument("--p-td", type=float, help="temporal-dropout probability of the RBM cells")
        parser.add_argument("--alpha", type=float, help="weight of L_p + GDL")
        parser.add_argument("--beta", type=float, help="weight of the GAN loss (0: no discriminator)")
        parser.add_argument("--max-test-windows", type=int, help="score only the first N test windows")
        parser.add_argument("--gifs", type=int, help="test windows to write GIFs for")
        parser.add_argument("--export-future", type=int, help="T of the exported model (default: test T)")
        parser.add_argument("--run-name", help="name of the results folder (default: the run directory's)")

    def check_config(self, config: dict[str, Any]) -> None:
        # MCNet checks this too, but only once the strategy is set up and the model is being built.
        size = config.get("image_size")
        if isinstance(size, bool) or not isinstance(size, int) or size < 8 or size % 8:
            raise ValueError(f"--image-size must be a positive multiple of 8 (MCnet); received: {size!r}")

    # --- model ---------------------------------------------------------------------------------------
    def build_model(self, config: dict[str, Any]) -> keras.Model:
        model = MCNet(
            past=int(config["past"]),
            future=int(config["future"]),
            image_size=int(config["image_size"]),
            gf_dim=int(config["gf_dim"]),
            rnn=config["rnn"],
            rnn_depth=int(config["rnn_depth"]),
            rnn_filters=int(config["rnn_filters"]),
            rnn_kernel=int(config["rnn_kernel"]),
            jump=config["jump"],
            p_td=float(config["p_td"]),
            alpha=float(config["alpha"]),
            beta=float(config["beta"]),
            df_dim=int(config["df_dim"]),
            margin=float(config["margin"]),
            seed=config.get("seed"),
            name=f"mcnet_{config['rnn']}",
        )
        beta1 = float(config["beta1"])
        model.compile(
            optimizer=keras.optimizers.Adam(float(config["lr"]), beta_1=beta1),
            d_optimizer=keras.optimizers.Adam(float(config["lr"]), beta_1=beta1),
        )
        size, past = int(config["image_size"]), int(config["past"])
        model.build((None, past, size, size, 1))
        return model

    # --- data ----------------------------------------------------------------------------------------
    def _data(self, config: dict[str, Any], split: str, future: int) -> KTHDataset:
        return KTHDataset(
            config["data_dir"],
            config[f"{split}_list"],
            image_size=int(config["image_size"]),
            past=int(config["past"]),
            future=future,
            strict=bool(config["strict_data"]),
            cache_size=int(config["cache_videos"]),
        )

    def datasets(
        self, config: dict[str, Any], global_batch_size: int
    ) -> tuple[tf.data.Dataset, tf.data.Dataset | None]:
        future = int(config["future"])
        train = self._data(config, "train", future).train_dataset(
            global_batch_size, seed=int(config.get("seed") or 0)
        )
        val = self._data(config, "test", future).test_dataset(global_batch_size)
        batches = config.get("val_batches")
        return train, (val.take(int(batches)) if batches else val)

    # --- test protocol -------------------------------------------------------------------------------
    def evaluate(self, config: dict[str, Any], model: keras.Model, run_dir: str) -> dict[str, Any]:
        """MCnet protocol on the test list: per-step PSNR/SSIM of the model and of copy-last-frame.

        Writes under `<run_dir>/results/`: `quantitative/KTH/<run>/results_model=<name>.npz` (psnr, ssim
        [windows, T], plus the OpenSTL-convention arrays), `per_step.md`, `per_step.png`, and GIFs in
        `images/KTH/<run>/<video>.<j>-<j+T>/`.
        """
        steps = int(config["test_future"])
        data = self._data(config, "test", steps)
        windows = data.test_windows()
        limit = config.get("max_test_windows")
        if limit:
            windows = windows[: int(limit)]
        if not windows:
            raise ValueError(f"{data.list_file}: no test window of K+T={data.length} frames")
        run_name = config.get("run_name") or os.path.basename(os.path.normpath(run_dir))
        results_dir = os.path.join(run_dir, "results")
        quantitative = os.path.join(results_dir, "quantitative", "KTH", run_name)
        images = os.path.join(results_dir, "images", "KTH", run_name)
        names = {"model": f"MCNET_{config['rnn']}", "copy": "copy_last_frame"}

        predict = tf.function(
            lambda past: model(past, training=False, num_future=steps), reduce_retracing=True
        )
        scores: dict[str, dict[str, list]] = {key: {} for key in names}
        batch_size = int(config["test_batch_size"])
        gifs_left = int(config.get("gifs") or 0)
        for begin in tqdm(range(0, len(windows), batch_size), desc="test windows", unit="batch"):
            chunk = windows[begin : begin + batch_size]
            clips = np.stack([data.window(segment.video, start) for segment, start in chunk])
            frames = clips.astype(np.float32)[..., None] / 127.5 - 1.0
            past, future = frames[:, : data.past], frames[:, data.past :]
            outputs = {
                "model": predict(tf.constant(past)).numpy(),
                "copy": copy_last_frame(past, steps).numpy(),
            }
            for key, prediction in outputs.items():
                for convention in ("mcnet", "openstl"):
                    values = video.sequence_metrics(prediction, future, convention)
                    for metric, array in values.items():
                        scores[key].setdefault(f"{metric}_{convention}", []).append(array)
            for i in range(min(gifs_left, len(chunk))):
                segment, start = chunk[i]
                folder = os.path.join(images, f"{segment.video}.{start}-{start + steps}")
                video.write_prediction_gifs(
                    folder, clips[i, : data.past], clips[i, data.past :], video.to_uint8(outputs["model"][i])
                )
            gifs_left = max(0, gifs_left - len(chunk))

        arrays = {key: {k: np.concatenate(v) for k, v in s.items()} for key, s in scores.items()}
        for key, name in names.items():
            a = arrays[key]
            video.save_metrics_npz(
                os.path.join(quantitative, f"results_model={name}.npz"),
                a["psnr_mcnet"],
                a["ssim_mcnet"],
                psnr_openstl=a["psnr_openstl"],
                ssim_openstl=a["ssim_openstl"],
            )
        mcnet = {names[k]: {"psnr": a["psnr_mcnet"], "ssim": a["ssim_mcnet"]} for k, a in arrays.items()}
        openstl = {
            names[k]: {"psnr": a["psnr_openstl"], "ssim": a["ssim_openstl"]} for k, a in arrays.items()
        }
        header = (
            f"KTH {data.past}->{steps}, {len(windows)} test windows of {data.list_file}, "
            f"{config['image_size']}x{config['image_size']} grey"
        )
        table = (
            f"{header}\n\nMCnet protocol (uint8, PSNR skimage, SSIM Gaussian 11 / 1.5):\n\n"
            f"{video.per_step_table(mcnet)}\n\nOpenSTL convention ([0, 1] floats):\n\n"
            f"{video.per_step_table(openstl)}\n"
        )
        _write_text(os.path.join(quantitative, "per_step.md"), table)
        video.plot_per_step(
            os.path.join(quantitative, "per_step.png"), mcnet, title=f"{header} (MCnet protocol)"
        )
        summary = {
            "windows": len(windows),
            "table": table,
            "results_dir": quantitative,
            "images_dir": images,
        }
        for name, values in mcnet.items():
            summary[f"{name}/psnr"] = float(video.finite_mean(values["psnr"]))
            summary[f"{name}/ssim"] = float(np.mean(values["ssim"]))
            summary[f"{name}/psnr_per_step"] = video.finite_mean(values["psnr"], axis=0).round(3).tolist()
            summary[f"{name}/ssim_per_step"] = np.mean(values["ssim"], axis=0).round(4).tolist()
        if data.skipped:
            summary["skipped"] = data.skipped
        return summary

    # --- serving -------------------------------------------------------------------------------------
    def serving_model(self, config: dict[str, Any], model: keras.Model) -> keras.Model:
        """`frames` (batch, K, H, W, 1) in [-1, 1] -> {"future": (batch, T, H, W, 1)}, T fixed here."""
        steps = int(config.get("export_future") or config["test_future"])
        size, past = int(config["image_size"]), int(config["past"])
        frames = keras.Input((past, size, size, 1), name="frames")
        future = _Predict(model, steps, name="future")(frames)
        return keras.Model(frames, {"future": future}, name="mcnet_serving")


class _Predict(keras.layers.Layer):
    """Wraps a trained MCNet with a fixed number of predicted frames (the exported signature's T)."""

    def __init__(self, model: keras.Model, steps: int, **kwargs):
        super().__init__(**kwargs)
        self.model, self.steps = model, steps

    def call(self, frames):
        return self.model(frames, training=False, num_future=self.steps)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.steps, *input_shape[2:])


_write_text = write_text_atomic
