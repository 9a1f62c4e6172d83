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
from deep_rnn_tf.data.holdout import split_segments_by_count, split_segments_by_time
from deep_rnn_tf.data.kth import KTHDataset
from deep_rnn_tf.data.videos import DATASET_KINDS, open_video_data
from deep_rnn_tf.evaluation import video
from deep_rnn_tf.tasks.prediction.model import CONTENT_FRAMES, MCNet, copy_last_frame
from deep_rnn_tf.training.task import Task

logger = logging.getLogger(__name__)

_PAPER = {
    # §7: 128x128 grey, K=10, T=10 train / 20 test, batch 8 per replica, Adam 1e-4 beta1 0.5,
    # 30000 iterations.
    "data_dir": "data/KTH",
    "train_list": "train_data_list_trimmed.txt",
    "test_list": "test_data_list.txt",
    # Data-set layout: kth, folder (any videos / frame folders) or moving_mnist; auto detects it from
    # data_dir. train_fraction: time split of a folder (None: its dataset.json's or 0.7). dataset_name: the
    # name in results folders and tables (None: "KTH", "MovingMNIST" or the folder's name).
    "dataset": "auto",
    "train_fraction": None,
    "dataset_name": None,
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
    # Departures from the original, all off here (named options; the small preset turns them on):
    "predict_change": False,  # output = last frame + a change whose last layer starts at zero
    "content_frame": "previous",  # or "observed": content (and change base) = the last observed frame
    "straight_through_clip": False,  # change head: gradient through the output clip (see model.py)
    "gdl_weight": 1.0,  # L_img = L_p + gdl_weight * GDL + ssim_weight * (1 - SSIM) (the original: 1, 0)
    "ssim_weight": 0.0,
    "lr_schedule": "constant",  # or "cosine": linear warm-up over warmup_steps, then cosine decay to 0
    "warmup_steps": 0,
    "clip_norm": None,  # global gradient-norm clipping
    # Validation: the last val_fraction of every training segment (0: none, the original had none); the
    # test list is never scored while training. test/export load the best epoch by val_loss.
    "val_fraction": 0.0,
    "val_seed": 12345,
}
_SMALL = {
    **_PAPER,
    # Learn the change from copy-last-frame (the untrained model IS copy-last), warm-up + cosine decay,
    # clipping, validation carved from the training videos (see docs/prediction.md, "Recipe").
    "predict_change": True,
    "ssim_weight": 1.0,
    "lr_schedule": "cosine",
    "warmup_steps": 50,
    "clip_norm": 1.0,
    "val_fraction": 0.1,
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
    "epochs": 5,
    "steps_per_epoch": 100,
    "val_batches": 8,
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
            "warmup_steps": 1,
            "test_batch_size": 8,
            "max_test_windows": 8,
            "gifs": 1,
        },
    }
    default_preset = "small"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--data-dir",
            help="data set: KTH layout (*_uncomp.avi + segment lists), a folder of videos or frame folders, "
            "or a Moving MNIST folder (mnist_test_seq.npy)",
        )
        parser.add_argument("--dataset", choices=DATASET_KINDS, help="data-set layout (default: auto-detect)")
        parser.add_argument(
            "--train-fraction", type=float, help="folder layout, time split: leading share of each video"
        )
        parser.add_argument("--dataset-name", help="data-set name in results folders and tables")
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
        parser.add_argument(
            "--predict-change",
            action=argparse.BooleanOptionalAction,
            help="output = last frame + a zero-initialised change (untrained: copies the last frame)",
        )
        parser.add_argument(
            "--content-frame",
            choices=CONTENT_FRAMES,
            help="content encoder input at each future step: previous prediction or last observed frame",
        )
        parser.add_argument(
            "--straight-through-clip",
            action=argparse.BooleanOptionalAction,
            help="change head: pass the gradient through the output clip",
        )
        parser.add_argument("--gdl-weight", type=float, help="weight of the GDL inside L_img")
        parser.add_argument("--ssim-weight", type=float, help="weight of 1 - SSIM inside L_img")
        parser.add_argument("--beta1", type=float, help="Adam beta_1 (0.5 in the original)")
        parser.add_argument(
            "--lr-schedule", choices=LR_SCHEDULES, help="constant, or warm-up then cosine decay to 0"
        )
        parser.add_argument("--warmup-steps", type=int, help="linear learning-rate warm-up steps")
        parser.add_argument("--clip-norm", type=float, help="clip gradients to this global norm")
        parser.add_argument(
            "--val-fraction", type=float, help="share of each training segment held out for validation"
        )
        parser.add_argument("--max-test-windows", type=int, help="score only the first N test windows")
        parser.add_argument("--gifs", type=int, help="test windows to write GIFs for")
        parser.add_argument("--export-future", type=int, help="T of the exported model (default: test T)")
        parser.add_argument("--run-name", help="name of the results folder (default: the run directory's)")

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
            gdl_weight=float(config.get("gdl_weight", 1.0)),
            ssim_weight=float(config.get("ssim_weight") or 0.0),
            predict_change=bool(config.get("predict_change", False)),
            content_frame=config.get("content_frame") or "previous",
            straight_through_clip=bool(config.get("straight_through_clip", False)),
            name=f"mcnet_{config['rnn']}",
        )
        model.compile(optimizer=adam_optimizer(config), d_optimizer=adam_optimizer(config))
        size, past = int(config["image_size"]), int(config["past"])
        model.build((None, past, size, size, 1))
        return model

    # --- data ----------------------------------------------------------------------------------------
    def _data(self, config: dict[str, Any], split: str, future: int) -> KTHDataset:
        return open_video_data(
            config["data_dir"],
            split,
            kind=config.get("dataset") or "auto",
            image_size=int(config["image_size"]),
            past=int(config["past"]),
            future=future,
            list_file=config.get(f"{split}_list"),
            train_fraction=config.get("train_fraction"),
            strict=bool(config["strict_data"]),
            cache_size=int(config["cache_videos"]),
            name=config.get("dataset_name"),
        )

    def datasets(
        self, config: dict[str, Any], global_batch_size: int
    ) -> tuple[tf.data.Dataset, tf.data.Dataset | None]:
        """Training samples from the head of every training segment, validation from its tail (the last
        `val_fraction`, a fixed set of `val_batches` batches); the test list is not read."""
        future = int(config["future"])
        train_data = self._data(config, "train", future)
        val_data = self._data(config, "train", future)
        fraction = float(config.get("val_fraction") or 0.0)
        segments = train_data.segments
        train_data.segments, val_data.segments = split_segments_by_time(
            segments, train_data._num_frames, train_data.length, fraction
        )
        if fraction and not val_data.segments:  # short sequences (Moving MNIST): hold out whole ones
            train_data.segments, val_data.segments = split_segments_by_count(segments, fraction)
        if fraction and not val_data.segments:
            logger.warning("val_fraction %g: too few training segments to hold out; no validation", fraction)
        val_data.reader = train_data.reader  # one cache of decoded videos
        train = train_data.train_dataset(global_batch_size, seed=int(config.get("seed") or 0))
        if not val_data.segments:
            return train, None
        # Dataset.random with a fixed seed repeats its stream on every iteration: the same windows each epoch.
        val = val_data.train_dataset(global_batch_size, seed=int(config.get("val_seed", 12345)))
        return train, val.take(int(config.get("val_batches") or 4))

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
        quantitative = os.path.join(results_dir, "quantitative", data.name, run_name)
        images = os.path.join(results_dir, "images", data.name, run_name)
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
                for metric, array in video.openstl_errors(prediction, future).items():
                    scores[key].setdefault(f"{metric}_openstl", []).append(array)
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
                mse_openstl=a["mse_openstl"],
                mae_openstl=a["mae_openstl"],
            )
        mcnet = {names[k]: {"psnr": a["psnr_mcnet"], "ssim": a["ssim_mcnet"]} for k, a in arrays.items()}
        openstl = {
            names[k]: {"psnr": a["psnr_openstl"], "ssim": a["ssim_openstl"]} for k, a in arrays.items()
        }
        header = (
            f"{data.name} {data.past}->{steps}, {len(windows)} test windows of {data.list_file}, "
            f"{config['image_size']}x{config['image_size']} grey"
        )
        errors = "\n".join(
            f"- {names[k]}: MSE {a['mse_openstl'].mean():.2f}, MAE {a['mae_openstl'].mean():.2f}"
            for k, a in arrays.items()
        )
        table = (
            f"{header}\n\nMCnet protocol (uint8, PSNR skimage, SSIM Gaussian 11 / 1.5):\n\n"
            f"{video.per_step_table(mcnet)}\n\nOpenSTL convention ([0, 1] floats):\n\n"
            f"{video.per_step_table(openstl)}\n\nOpenSTL per-frame errors (squared / absolute error summed "
            f"over a frame's pixels, mean over windows and steps):\n\n{errors}\n"
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
        for key, a in arrays.items():
            summary[f"{names[key]}/mse_openstl"] = float(a["mse_openstl"].mean())
            summary[f"{names[key]}/mae_openstl"] = float(a["mae_openstl"].mean())
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


LR_SCHEDULES = ("constant", "cosine")


def learning_rate(config: dict[str, Any]) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """The config's learning rate: `lr` constant (the original), or `lr_schedule: cosine`: a linear warm-up
    from 0 over `warmup_steps`, then a cosine decay to 0 at the end of training (epochs x steps_per_epoch).

    Example:
        >>> learning_rate({"lr": 1e-3, "lr_schedule": "constant"})
        0.001
    """
    lr, kind = float(config["lr"]), config.get("lr_schedule") or "constant"
    if kind not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}; received lr_schedule={kind!r}")
    warmup = int(config.get("warmup_steps") or 0)
    if kind == "constant":
        if warmup:
            raise ValueError("warmup_steps needs lr_schedule 'cosine'; received lr_schedule='constant'")
        return lr
    total = int(config["epochs"]) * int(config.get("steps_per_epoch") or 0)
    if total <= warmup:
        raise ValueError(
            f"lr_schedule 'cosine' needs epochs x steps_per_epoch > warmup_steps; received "
            f"epochs={config['epochs']!r}, steps_per_epoch={config.get('steps_per_epoch')!r}, "
            f"warmup_steps={warmup}"
        )
    return keras.optimizers.schedules.CosineDecay(
        0.0 if warmup else lr,
        decay_steps=total - warmup,
        warmup_target=lr if warmup else None,
        warmup_steps=warmup,
    )


def adam_optimizer(config: dict[str, Any]) -> keras.optimizers.Adam:
    """Adam with the config's learning rate (see `learning_rate`), `beta1` and optional `clip_norm`."""
    clip = config.get("clip_norm")
    return keras.optimizers.Adam(
        learning_rate(config), beta_1=float(config["beta1"]), global_clipnorm=float(clip) if clip else None
    )


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
