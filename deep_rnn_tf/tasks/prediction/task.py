"""Video future prediction on KTH (MCnet + deep RBM): `deep-rnn train|test|export prediction`.

Composes the core: `deep_rnn_tf.data.kth` (reader, tf.data), `deep_rnn_tf.tasks.prediction.model` (MCnet
with a deep RBM or ConvLSTM core) and `deep_rnn_tf.evaluation.video` (MCnet-protocol PSNR/SSIM, OpenSTL
convention, tables, plots, GIFs); configuration and presets in `deep_rnn_tf.tasks.prediction.config`.
"""

from __future__ import annotations

import argparse
import logging
import os
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from deep_rnn_tf.cells.rbm import MERGE_HELP as RBM_MERGE_HELP
from deep_rnn_tf.cells.rbm import MERGES as RBM_MERGES
from deep_rnn_tf.cells.rbm import parse_merges
from deep_rnn_tf.data.holdout import (
    shared_frames,
    split_segments_by_count,
    split_segments_by_time,
    warn_of_shared_test_data,
)
from deep_rnn_tf.data.kth import KTHDataset, to_unit_range
from deep_rnn_tf.data.videos import DATASET_KINDS, open_video_data
from deep_rnn_tf.evaluation import video
from deep_rnn_tf.evaluation.driver import gather
from deep_rnn_tf.evaluation.results import ResultsWriter
from deep_rnn_tf.layers.preprocessing import Preprocessing
from deep_rnn_tf.tasks.prediction.config import PredictionConfig
from deep_rnn_tf.tasks.prediction.model import CONTENT_FRAMES, MCNet, copy_last_frame, flow_extrapolation
from deep_rnn_tf.training.runs import RunDirectory
from deep_rnn_tf.training.schedules import learning_rate
from deep_rnn_tf.training.task import Task
from deep_rnn_tf.validation import NORMALIZATION_CHOICES

logger = logging.getLogger(__name__)
CONVENTIONS = ("mcnet", "openstl")


# On/off switches of `deep-rnn train prediction` (--x / --no-x).
SWITCHES = (
    (
        "--predict-change",
        "output = last frame + a zero-initialised change (untrained: copies the last frame)",
    ),
    ("--straight-through-clip", "change head: pass the gradient through the output clip"),
    ("--predict-flow", "change head: also predict a flow (dx, dy) and warp the last frame by it"),
    (
        "--motion-residuals",
        "MCnet's motion residuals into the decoder (off: motion reaches it through the core only)",
    ),
    (
        "--core-to-skips",
        "also add the core's output (upsampled, 1x1 conv) to the decoder's skip at every scale",
    ),
    (
        "--core-state-out",
        "the decoder also reads the top core layer's state (RBM gate s_t, ConvLSTM c_t) beside its output",
    ),
    ("--reverse-time", "training samples play backwards with p=1/2 (validation and test never do)"),
)


class PredictionTask(Task):
    """KTH video future prediction: MCnet with a deep RBM (or ConvLSTM) core, MCnet test protocol.

    Presets: `paper` (the original's sizes, real KTH under data/KTH) and `small` (CPU, synthetic KTH).

    Example:
        >>> task = PredictionTask()
        >>> config = PredictionConfig(image_size=32, data_dir="/tmp/kth_synth")
        >>> model = task.build_model(config)  # doctest: +SKIP
    """

    name = "prediction"
    config_module = "deep_rnn_tf.tasks.prediction.config"

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
        parser.add_argument(
            "--jump", type=int, help="residual jump every N core layers (a core shallower than N has none)"
        )
        parser.add_argument("--gf-dim", type=int, help="MCnet base width")
        parser.add_argument("--p-td", type=float, help="temporal-dropout probability of the RBM cells")
        parser.add_argument("--alpha", type=float, help="weight of L_p + GDL")
        parser.add_argument("--beta", type=float, help="weight of the GAN loss (0: no discriminator)")
        for flag, text in SWITCHES:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, help=text)
        parser.add_argument(
            "--content-frame",
            choices=CONTENT_FRAMES,
            help="content encoder input at each future step: previous prediction or last observed frame",
        )
        parser.add_argument(
            "--motion-residual-dropout",
            type=float,
            help="share of training sequences without motion residuals (the core must carry their motion)",
        )
        parser.add_argument(
            "--flow-prior",
            choices=("none", "lucas_kanade"),
            help="start from constant-velocity extrapolation: the Lucas-Kanade flow of the last two observed "
            "frames moves every predicted frame, under the head's flow and change (needs the change head)",
        )
        parser.add_argument(
            "--flow-prior-gain", type=float, help="share of the measured flow applied per step (default 0.5)"
        )
        parser.add_argument(
            "--flow-prior-gains",
            type=parse_floats,
            help="comma-separated candidate shares (e.g. 0,0.5,1) validated before training, the best kept "
            "(0: copy-last-frame); none: just --flow-prior-gain",
        )
        parser.add_argument(
            "--flow-prior-damping",
            type=float,
            help="the prior's flow shrinks by this factor each future step, in [0.05, 1] (default 1: "
            "constant velocity)",
        )
        parser.add_argument(
            "--flow-prior-dampings",
            type=parse_floats,
            help="comma-separated candidate dampings (e.g. 1,0.8) validated with every candidate gain before "
            "training; none: just --flow-prior-damping",
        )
        parser.add_argument(
            "--max-zoom",
            type=float,
            help="training samples zoom in by a random factor in [1, Z] around a random centre, Z in [1, 2] "
            "(default 1: off; validation and test never do)",
        )
        parser.add_argument(
            "--mix-data",
            help="a second data set (any --data-dir layout) whose training samples join every training batch "
            "(never validated or tested; 'none' drops a config's)",
        )
        parser.add_argument(
            "--mix-fraction", type=float, help="expected share of each training batch from --mix-data (0.5)"
        )
        parser.add_argument("--gate-bias", type=float, help="initial temporal-gate bias of the RBM cells")
        parser.add_argument(
            "--rbm-normalization",
            choices=NORMALIZATION_CHOICES,
            help="normalisation inside the RBM cells (batch_per_step: moving statistics per time step, the "
            "small preset's; none: the original's MCnet core)",
        )
        parser.add_argument(
            "--convlstm-normalization",
            choices=NORMALIZATION_CHOICES,
            help="recurrent batch norm in the --rnn convlstm core (default none: MCnet's own ConvLSTM)",
        )
        parser.add_argument(
            "--rbm-memory-gain",
            type=float,
            help="RBM gates start as leaky integrators: recurrent kernel g x identity, gate bias -g/2",
        )
        parser.add_argument(
            "--rbm-leak",
            type=float,
            help="RBM gates keep this starting share of their past additively (learnt per channel; 0: off)",
        )
        parser.add_argument(
            "--rbm-kernel-gain",
            type=float,
            help="RBM input kernels start Xavier-normal with this gain (the original's action models: 3)",
        )
        parser.add_argument(
            "--rbm-activation", choices=("relu", "tanh"), help="representation activation of the RBM cells"
        )
        parser.add_argument(
            "--rbm-merge",
            type=parse_merges,
            help=RBM_MERGE_HELP,
        )
        parser.add_argument(
            "--rbm-bottom-merge",
            choices=("none", *RBM_MERGES),
            help="merge of the RBM core's bottom layer alone, the layers above keeping --rbm-merge (the "
            "small preset: accumulate; none: every layer as --rbm-merge)",
        )
        parser.add_argument(
            "--pixel-loss",
            choices=("mse", "l1", "bce"),
            help="L_p: MSE (original), L1 (mean absolute error) or BCE from the frame's logits",
        )
        parser.add_argument("--gdl-weight", type=float, help="weight of the GDL inside L_img")
        parser.add_argument("--ssim-weight", type=float, help="weight of 1 - SSIM inside L_img")
        parser.add_argument("--beta1", type=float, help="Adam beta_1 (0.5 in the original)")
        parser.add_argument("--clip-norm", type=float, help="clip gradients to this global norm")
        parser.add_argument(
            "--val-fraction", type=float, help="share of each training segment held out for validation"
        )
        parser.add_argument(
            "--max-test-windows", type=int, help="score only the first N test windows (0: all)"
        )
        parser.add_argument("--gifs", type=int, help="test windows to write GIFs for")
        parser.add_argument("--export-future", type=int, help="T of the exported model (default: test T)")
        parser.add_argument("--run-name", help="name of the results folder (default: the run directory's)")

    # --- model ---------------------------------------------------------------------------------------
    def build_model(self, config) -> keras.Model:
        config: PredictionConfig = self.config(config)
        model = MCNet(
            past=config.past,
            future=config.future,
            image_size=config.image_size,
            gf_dim=config.gf_dim,
            rnn=config.rnn,
            rnn_depth=config.rnn_depth,
            rnn_filters=config.rnn_filters,
            rnn_kernel=config.rnn_kernel,
            jump=config.jump,
            p_td=config.p_td,
            alpha=config.alpha,
            beta=config.beta,
            df_dim=config.df_dim,
            margin=config.margin,
            seed=config.seed,
            gdl_weight=config.gdl_weight,
            ssim_weight=config.ssim_weight,
            predict_change=config.predict_change,
            content_frame=config.content_frame,
            straight_through_clip=config.straight_through_clip,
            predict_flow=config.predict_flow,
            flow_prior=config.flow_prior,
            flow_prior_gain=config.flow_prior_gain,
            flow_prior_gains=config.flow_prior_gains,
            flow_prior_damping=config.flow_prior_damping,
            flow_prior_dampings=config.flow_prior_dampings,
            gate_bias=config.gate_bias,
            rbm_normalization=config.rbm_normalization,
            convlstm_normalization=config.convlstm_normalization,
            rbm_activation=config.rbm_activation,
            rbm_merge=config.core_merges(),
            rbm_leak=config.rbm_leak,
            rbm_memory_gain=config.rbm_memory_gain,
            rbm_kernel_gain=config.rbm_kernel_gain,
            pixel_loss=config.pixel_loss,
            motion_residuals=config.motion_residuals,
            core_to_skips=config.core_to_skips,
            core_state_out=config.core_state_out,
            motion_residual_dropout=config.motion_residual_dropout,
            name=f"mcnet_{config.rnn}",
        )
        model.compile(optimizer=adam_optimizer(config), d_optimizer=adam_optimizer(config))
        model.build((None, config.past, config.image_size, config.image_size, 1))
        return model

    # --- data ----------------------------------------------------------------------------------------
    def _data(self, config: PredictionConfig, split: str, future: int) -> KTHDataset:
        return open_video_data(
            config.data_dir,
            split,
            kind=config.dataset,
            future=future,
            list_file=getattr(config, f"{split}_list"),
            train_fraction=config.train_fraction,
            name=config.dataset_name,
            **reader_settings(config),
        )

    def datasets(self, config, global_batch_size: int) -> tuple[tf.data.Dataset, tf.data.Dataset | None]:
        """Training samples from the head of every training segment, validation from its tail (the last
        `val_fraction`, a fixed set of `val_batches` batches); the test list is not read."""
        config = self.config(config)
        data = self._data(config, "train", config.future)
        fraction = config.val_fraction
        train_segments, val_segments = split_segments_by_time(
            data.segments, data._num_frames, data.length, fraction
        )
        if fraction and not val_segments:  # short sequences (Moving MNIST): hold out whole ones
            train_segments, val_segments = split_segments_by_count(data.segments, fraction)
        if fraction and not val_segments:
            logger.warning("val_fraction %g: too few training segments to hold out; no validation", fraction)
        # One reader, so one cache of decoded videos, for both.
        train_data, val_data = data.with_segments(train_segments), data.with_segments(val_segments)
        # Augmentations: never on the validation windows.
        train_data.reverse_time, train_data.max_zoom = config.reverse_time, config.max_zoom
        train = self._training_batches(config, train_data, global_batch_size)
        if not val_data.segments:
            return train, None
        # The stream is a function of val_seed alone: the same windows every epoch and for every run seed.
        val = val_data.train_dataset(global_batch_size, seed=config.val_seed)
        return train, val.take(config.val_batches or 4)

    def _training_batches(
        self, config: PredictionConfig, data: KTHDataset, batch_size: int
    ) -> tf.data.Dataset:
        """`data`'s training batches, or with `mix_data` batches whose samples come from `mix_data` with
        probability `mix_fraction` (each sample's source drawn on its own, from the run's seed)."""
        seed = config.seed or 0
        if not config.mix_data:
            return data.train_dataset(batch_size, seed=seed)
        try:
            mix = open_video_data(config.mix_data, "train", future=config.future, **reader_settings(config))
        except (FileNotFoundError, ValueError) as error:  # name the flag: the message speaks of --data-dir
            raise type(error)(f"--mix-data: {error}") from None
        mix.reverse_time, mix.max_zoom = data.reverse_time, data.max_zoom
        logger.info(
            "Mixing %s training samples of %s (%d segments) into %s's", f"{config.mix_fraction:.0%}",
            mix.name, len(mix.segments), data.name,
        )  # fmt: skip
        # A stream of its own per source (seed + 1 for the mix), so data_dir's samples stay those of seed.
        sources = [data.train_samples(seed), mix.train_samples(seed + 1)]
        weights = [1.0 - config.mix_fraction, config.mix_fraction]
        samples = tf.data.Dataset.sample_from_datasets(sources, weights, seed=seed)
        return data.batches(samples, batch_size)

    def example_batch(self, config, batch_size: int = 1):
        """(past, future) zeros in [-1, 1] as the KTH pipeline yields them."""
        config = self.config(config)
        size = config.image_size
        past = np.zeros((batch_size, config.past, size, size, 1), np.float32)
        return past, np.zeros((batch_size, config.future, size, size, 1), np.float32)

    # --- test protocol -------------------------------------------------------------------------------
    def evaluate(self, config, model: keras.Model, run_dir: str) -> dict[str, Any]:
        """MCnet protocol on the test list: per-step PSNR/SSIM of the model and of two baselines,
        copy-last-frame and flow extrapolation (`flow_extrapolation`, with the model's flow-prior gain and
        damping when it has a prior and uses it, else the config's: `baseline_flow_prior`).

        Writes under `<run_dir>/results/`: `quantitative/<dataset>/<run>/results_model=<name>.npz` (psnr,
        ssim [windows, T], plus the OpenSTL-convention arrays and OpenSTL MSE/MAE), `per_step.md`,
        `per_step.png`, and GIFs in `images/<dataset>/<run>/<video>.<j>-<j+T>/` (`<dataset>`: the data
        set's name, e.g. KTH).
        """
        config = self.config(config)
        steps = config.test_future
        data = self._data(config, "test", steps)
        self._warn_of_shared_frames(config, data)
        windows = data.test_windows()[: config.max_test_windows or None]
        if not windows:
            raise ValueError(f"{data.list_file}: no test window of K+T={data.length} frames")
        run_name = config.run_name or default_results_name(config, run_dir)
        results = ResultsWriter.for_run(run_dir)
        quantitative = results.sub(os.path.join("quantitative", data.name, run_name))
        images = results.sub(os.path.join("images", data.name, run_name))
        # Two trivial baselines: copying the last frame, and moving it on by the flow it last moved with.
        names = {"model": f"MCNET_{config.rnn}", "copy": "copy_last_frame", "flow": "flow_extrapolation"}
        predict = tf.function(
            lambda past: model(past, training=False, num_future=steps), reduce_retracing=True
        )
        size = config.test_batch_size
        gifs_left = [config.gifs]

        def batches():
            """(past in [-1, 1], uint8 clips, windows) per test batch: each window is read once."""
            for begin in range(0, len(windows), size):
                chunk = windows[begin : begin + size]
                clips = np.stack([data.window(segment.video, start) for segment, start in chunk])
                yield to_unit_range(clips[:, : data.past, ..., None]), clips, chunk

        gain, damping = baseline_flow_prior(config, model)
        extrapolate = tf.function(
            lambda past: flow_extrapolation(past, steps, gain, damping), reduce_retracing=True
        )

        def predict_chunk(past):
            past = tf.constant(past)
            return {"model": predict(past), "copy": copy_last_frame(past, steps), "flow": extrapolate(past)}

        def keep(batch, outputs):
            _, clips, chunk = batch
            future = to_unit_range(clips[:, data.past :, ..., None])
            kept = {}
            for key, prediction in outputs.items():
                for convention in CONVENTIONS:
                    for metric, array in video.sequence_metrics(prediction, future, convention).items():
                        kept[f"{key}/{metric}_{convention}"] = array
                for metric, array in video.openstl_errors(prediction, future).items():
                    kept[f"{key}/{metric}_openstl"] = array
            for i in range(min(gifs_left[0], len(chunk))):
                segment, start = chunk[i]
                video.write_prediction_gifs(
                    images.sub(f"{segment.video}.{start}-{start + steps}"),
                    clips[i, : data.past],
                    clips[i, data.past :],
                    video.to_uint8(outputs["model"][i]),
                )
            gifs_left[0] = max(0, gifs_left[0] - len(chunk))
            return kept

        total = -(-len(windows) // size)
        scores = gather(batches(), predict_chunk, keep, total=total, desc="test windows")
        arrays = {
            key: {
                name.split("/", 1)[1]: value for name, value in scores.items() if name.startswith(f"{key}/")
            }
            for key in names
        }
        summary = self._write_tables(
            config, data, windows, arrays, names, quantitative, images, f"gain {gain:g}, damping {damping:g}"
        )
        return {**summary, "flow_extrapolation/gain": gain, "flow_extrapolation/damping": damping}

    def _warn_of_shared_frames(self, config: PredictionConfig, test: KTHDataset) -> None:
        """Warns when the test list scores frames the training list trains on (lists written by hand).

        Only lists can share: a time split is disjoint by construction, and Moving MNIST's splits are two
        files whose sequence names say nothing of sharing. Without a readable training list there is
        nothing to compare (a folder may hold a test list alone)."""
        if test.kind == "moving_mnist" or getattr(test, "split_mode", "list") == "time":
            return
        try:
            train = self._data(config, "train", config.future)
        except (FileNotFoundError, ValueError):
            return
        warn_of_shared_test_data(test.list_file, shared_frames(train.segments, test.segments))

    def _write_tables(
        self, config, data, windows, arrays, names, quantitative, images, flow_setting: str
    ) -> dict[str, Any]:
        """The npz files, Markdown tables and per-step plot of the test protocol; the summary dict."""
        for key, name in names.items():
            a = arrays[key]
            quantitative.npz(
                f"results_model={name}.npz",
                **video.metrics_arrays(
                    a["psnr_mcnet"],
                    a["ssim_mcnet"],
                    psnr_openstl=a["psnr_openstl"],
                    ssim_openstl=a["ssim_openstl"],
                    mse_openstl=a["mse_openstl"],
                    mae_openstl=a["mae_openstl"],
                ),
            )
        by_convention = {
            convention: {
                names[k]: {"psnr": a[f"psnr_{convention}"], "ssim": a[f"ssim_{convention}"]}
                for k, a in arrays.items()
            }
            for convention in CONVENTIONS
        }
        mcnet = by_convention["mcnet"]
        header = (
            f"{data.name} {data.past}->{config.test_future}, {len(windows)} test windows of "
            f"{data.list_file}, {config.image_size}x{config.image_size} grey; flow_extrapolation: "
            f"{flow_setting}"
        )
        errors = "\n".join(
            f"- {names[k]}: MSE {a['mse_openstl'].mean():.2f}, MAE {a['mae_openstl'].mean():.2f}"
            for k, a in arrays.items()
        )
        table = (
            f"{header}\n\nMCnet protocol (uint8, PSNR skimage, SSIM Gaussian 11 / 1.5):\n\n"
            f"{video.per_step_table(mcnet)}\n\nOpenSTL convention ([0, 1] floats):\n\n"
            f"{video.per_step_table(by_convention['openstl'])}\n\nOpenSTL per-frame errors (squared / "
            f"absolute error summed over a frame's pixels, mean over windows and steps):\n\n{errors}\n\n"
            f"By test video (MCnet protocol, mean over the video's windows and T):\n\n"
            f"{video.per_video_table([segment.video for segment, _ in windows], mcnet)}\n"
        )
        quantitative.text("per_step.md", table)
        quantitative.figure("per_step.png", video.per_step_figure(mcnet, title=f"{header} (MCnet protocol)"))
        summary = {
            "windows": len(windows),
            "table": table,
            "results_dir": str(quantitative.root),
            "images_dir": str(images.root),
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
    def serving_model(self, config, model: keras.Model) -> keras.Model:
        """`frames` (batch, K, H, W, 1) uint8 -> {"future": (batch, T, H, W, 1) uint8}, T fixed here.

        The [-1, 1] mapping is inside (`Preprocessing("minus_one_one")`), and the predicted frames come
        back as pixels with the MCnet protocol's quantisation ((x + 1) / 2 * 255, clipped, truncated).
        """
        config = self.config(config)
        steps = config.export_future or config.test_future
        size = config.image_size
        frames = keras.Input((config.past, size, size, 1), dtype="uint8", name="frames")
        scaled = Preprocessing("minus_one_one", name="preprocess")(frames)
        future = _Predict(model, steps, name="predict")(scaled)
        return keras.Model(frames, {"future": _ToPixels(name="future")(future)}, name="mcnet_serving")


def default_results_name(config: PredictionConfig, run_dir: str) -> str:
    """The run directory's name; with `-K<past>-T<test_future>` added when the test protocol differs from
    the one the run was trained for (its config.json), so that testing another protocol (`test --past 9`)
    does not replace the results of the run's own."""
    name = os.path.basename(os.path.normpath(run_dir))
    try:
        saved = RunDirectory(run_dir).read_config()
    except (OSError, ValueError):  # no config.json (a run tested before it was trained), or a bad one
        return name
    if (saved.get("past"), saved.get("test_future")) in ((None, None), (config.past, config.test_future)):
        return name
    return f"{name}-K{config.past}-T{config.test_future}"


def reader_settings(config: PredictionConfig) -> dict[str, Any]:
    """The `open_video_data` settings every data set of a run shares (frame size, K, decoding)."""
    return {
        "image_size": config.image_size,
        "past": config.past,
        "strict": config.strict_data,
        "cache_size": config.cache_videos,
    }


def baseline_flow_prior(config: PredictionConfig, model: keras.Model) -> tuple[float, float]:
    """The flow-extrapolation baseline's (gain, damping): the model's own prior (chosen at its start, in
    its weights) when it has a flow prior and uses it, else the config's `flow_prior_gain` and
    `flow_prior_damping`, so the baseline is the model's start whenever the start extrapolates."""
    prior_gain = getattr(model, "prior_gain", None)
    chosen = 0.0 if prior_gain is None else float(prior_gain.numpy())
    if chosen <= 0:
        return float(config.flow_prior_gain), float(config.flow_prior_damping)
    prior_damping = getattr(model, "prior_damping", None)
    return chosen, 1.0 if prior_damping is None else float(prior_damping.numpy())


def parse_floats(text: str) -> list[float] | str:
    """A command-line list of numbers: `0,0.5,1` -> [0.0, 0.5, 1.0]; `none` stays "none" (the config's null).

    Example:
        >>> parse_floats("0,0.5,1"), parse_floats("none")
        ([0.0, 0.5, 1.0], 'none')
    """
    if text.strip().lower() == "none":
        return "none"
    try:
        return [float(item) for item in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers (e.g. 0,0.5,1) or none; received {text!r}"
        ) from None


def adam_optimizer(config: PredictionConfig) -> keras.optimizers.Adam:
    """Adam with the config's learning rate (see `learning_rate`), `beta1` and optional `clip_norm`."""
    clip = config.clip_norm
    return keras.optimizers.Adam(
        learning_rate(config), beta_1=config.beta1, global_clipnorm=float(clip) if clip else None
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


class _ToPixels(keras.layers.Layer):
    """[-1, 1] frames -> uint8 pixels as the MCnet protocol quantises them (`video.to_uint8`)."""

    def call(self, frames):
        pixels = tf.clip_by_value((tf.cast(frames, tf.float32) + 1.0) / 2.0 * 255.0, 0.0, 255.0)
        return tf.cast(pixels, tf.uint8)

    def compute_output_spec(self, frames):
        return keras.KerasTensor(frames.shape, dtype="uint8")
