"""The action task: `deep-rnn train|test|export action` (recognition and anticipation, original.md §4).

Data: frame folders ``<root>/{train,test}/<class>/<video>/<frames>`` (also Kinetics' train_frames /
val_frames) or MMAction2 list files (`data` / `test_data` = list files, `data_root` their frame root), see
`deep_rnn_tf.data.frames`. Training uses OCTS clips (`num_clips` x `clip_len`, `overlap_rate`; coherence
weight `coherence`, default 0 as the original) and, with `anticipation`, the monotonicity hinge.

Test protocol (`evaluate`): the paper's one sequence of `test_frames` (30) uniformly sampled frames per
video, prediction = mean of per-frame logits (or `test_clips` > 1 segments, softmax averaged); top-1,
top-5, mean class accuracy, confusion PNG, per-class CSV. Anticipation: the first `observe` (2) raw frames
of each video, and the accuracy-vs-observed-fraction curve (10%..100% of the test sequence; the stack is
causal, so the prediction from the first k frames is the mean of the first k per-frame logits).

Example:
    $ deep-rnn data synth-actions --out data/synth_actions
    $ deep-rnn train action --preset small --run-dir runs/action_small
    $ deep-rnn test action --run-dir runs/action_small
    $ deep-rnn export action --run-dir runs/action_small
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
from deep_rnn_tf.cells.rbm import parse_merges
from deep_rnn_tf.data.frames import (
    ActionSplit,
    ClipAugmentation,
    FrameDataError,
    PipelineConfig,
    existing_split_dir,
    first_frame_indices,
    load_split,
    make_dataset,
    octs_frame_indices,
    segment_frame_indices,
    uniform_frame_indices,
)
from deep_rnn_tf.data.holdout import split_groups, video_group, warn_of_shared_test_data
from deep_rnn_tf.evaluation.classification import (
    PER_CLASS_FIELDS,
    classification_report,
    confusion_figure,
    curve_figure,
    per_class_rows,
    top_k_accuracy,
)
from deep_rnn_tf.evaluation.driver import gather
from deep_rnn_tf.evaluation.results import ResultsWriter
from deep_rnn_tf.tasks.action.config import (
    DROPOUT_MASKS,
    JUMP_PROJECTIONS,
    LSTM_INPUTS,
    MODELS,
    RNNS,
    TINY_STRIDES,
    ActionConfig,
)
from deep_rnn_tf.tasks.action.models import (
    ActionOCTSModel,
    build_clip_model,
    build_standalone_clip_model,
)
from deep_rnn_tf.training.best import checkpoint_selected_on
from deep_rnn_tf.training.octs import clip_frame_indices
from deep_rnn_tf.training.runs import RunDirectory, load_checkpoint
from deep_rnn_tf.training.schedules import learning_rate
from deep_rnn_tf.training.task import Task
from deep_rnn_tf.validation import NORMALIZATION_CHOICES, NORMALIZATION_NAMES

logger = logging.getLogger(__name__)

CURVE_FRACTIONS = tuple(round(0.1 * i, 1) for i in range(1, 11))


class ActionTask(Task):
    """Action recognition / anticipation (backbone + deep RBM, baselines, standalone deep RBM).

    Presets in `deep_rnn_tf.tasks.action.config`: `paper`, `paper_standalone`, `small`.

    Example:
        >>> task = ActionTask()
        >>> config = task.config({**task.presets["small"], "seed": 0})
        >>> model = task.build_model(config)  # doctest: +SKIP
    """

    name = "action"
    config_module = "deep_rnn_tf.tasks.action.config"

    def __init__(self) -> None:
        self._split_cache: dict[tuple, ActionSplit] = {}

    # ------------------------------------------------------------------------------------ options
    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add = parser.add_argument
        add(
            "--data", help="frame root with train/ and test/ (or train_frames/, val_frames/), or a train list"
        )
        add("--test-data", help="test list file or frame root (default: the test split of --data)")
        add("--class-index", help="class-index file (classInd.txt: '<index> <name>' or one name per line)")
        add("--data-root", help="root of the relative frame folders of list files")
        add("--model", choices=MODELS, help="backbone (CNN + recurrent stack) or standalone (17-cell RBM)")
        add("--backbone", choices=("vgg19", "resnet50", "tiny", "none"), help="per-frame CNN")
        add("--backbone-weights", help="imagenet (needs network), none, or a local weights file")
        add(
            "--backbone-stride",
            type=int,
            choices=TINY_STRIDES,
            help="output stride of the tiny CNN (8: three stride-2 convs; 4: a finer feature map)",
        )
        add(
            "--frame-difference",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="the backbone also sees each frame minus the one before (TSN's RGB difference; tiny/none)",
        )
        add("--freeze-backbone", action="store_true", default=None, help="do not fine-tune the backbone")
        add("--rnn", choices=RNNS, help="recurrent stack (the paper's comparison table)")
        add("--depth", type=int, help="override the stack depth (15 for rbm15/convlstm15)")
        add(
            "--lstm-input",
            choices=LSTM_INPUTS,
            help="what the 1-layer LSTM reads of each frame's map: its spatial mean (pooled) or all of it",
        )
        add(
            "--jump-projection",
            choices=JUMP_PROJECTIONS,
            help="shortcut of the 15-layer stacks: 1x1 conv, or 1x1 conv + BN + ReLU as the original",
        )
        add(
            "--rnn-normalization",
            choices=NORMALIZATION_NAMES,  # the action task's RBM cells are always normalised
            help="normalisation in the RBM cells: batch (the original's), layer (no moving statistics) or "
            "batch_per_step (moving statistics per time step)",
        )
        add(
            "--convlstm-normalization",
            choices=NORMALIZATION_CHOICES,
            help="recurrent batch normalisation in the convlstm15 cells (none: Keras' ConvLSTM, the paper's "
            "baseline; batch_per_step: the RBM preset's normalisation, for a like-for-like peer)",
        )
        add(
            "--gate-bias",
            type=float,
            help="initial shift of the RBM cells' temporal gate (0: the original, gates near 1/2)",
        )
        add(
            "--rbm-memory-gain",
            type=float,
            help="RBM gates start as leaky integrators: recurrent kernel g x identity, gate shift -g/2",
        )
        add(
            "--rbm-merge",
            type=parse_merges,
            help=RBM_MERGE_HELP,
        )
        add("--width", type=int, help="channels of the recurrent stack (base width of the standalone model)")
        add("--hidden", type=int, help="hidden units of the per-frame classifier")
        add("--p-td", type=float, help="temporal-dropout probability of the RBM cells")
        add("--dropout", type=float, help="Dropout2d rate before and after the recurrent stack (0.2)")
        add(
            "--dropout-mask",
            choices=DROPOUT_MASKS,
            help="Dropout2d mask per frame (the original's) or one per sequence (no fake motion)",
        )
        add("--head-dropout", type=float, help="dropout rate of the per-frame classifier (0.5)")
        add("--image-size", type=int, nargs=2, metavar=("H", "W"), help="frame size fed to the model")
        add("--num-clips", type=int, help="OCTS clips per training video (N)")
        add("--clip-len", type=int, help="frames per OCTS clip (L)")
        add("--overlap-rate", type=float, help="OCTS overlap rate")
        add("--coherence", type=float, help="OCTS coherence weight lambda (0 as the original)")
        add("--anticipation", action="store_true", default=None, help="train with the monotonicity hinge")
        add(
            "--anticipation-weight",
            type=float,
            help="weight of the hinge with --anticipation (1 as the original)",
        )
        add(
            "--anticipation-warmup",
            type=int,
            metavar="EPOCHS",
            help="epochs over which the hinge's weight ramps from 0 (0 as the original)",
        )
        add("--frame-loss", type=float, help="weight of a per-frame cross-entropy (every prefix classifies)")
        add("--observe", type=int, help="frames observed by the anticipation test (default 2)")
        add("--test-frames", type=int, help="frames of the test sequence (30 as the paper)")
        add("--test-clips", type=int, help="test clips per video (1 = the paper's protocol)")
        add(
            "--val-fraction", type=float, help="share of each class's training videos held out for validation"
        )
        add(
            "--val-anticipation",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="also validate on each video's first --observe frames (logs val_anticipation_loss and "
            "val_anticipation_accuracy, e.g. for --select-on; on in the small preset)",
        )
        add(
            "--anticipation-select-on",
            metavar="LOG",
            help="validation log whose best epoch the anticipation test loads (the small preset: "
            "val_anticipation_loss; none: the --select-on checkpoint)",
        )

    def selection_logs(self, config: ActionConfig) -> tuple[str, ...]:
        """The anticipation test's own selection log, when `anticipation_select_on` names one."""
        log = self.config(config).anticipation_select_on
        return (log,) if log else ()

    # ------------------------------------------------------------------------------------ data
    def _split(self, config: ActionConfig, split: str) -> ActionSplit:
        source = config["data"]
        if split == "test" and config.get("test_data"):
            source = config["test_data"]
        elif split == "test" and os.path.isfile(source):
            raise FrameDataError(f"{source}: a train list file needs --test-data (the test list file)")
        key = (source, split, config.get("class_index"), config.get("data_root"))
        if key not in self._split_cache:
            self._split_cache[key] = load_split(
                source, split, config.get("class_index"), config.get("data_root")
            )
        return self._split_cache[key]

    def class_names(self, config: ActionConfig) -> list[str]:
        """The class list: config["class_names"] if set, else from the training data."""
        config = self.config(config)
        if config.get("class_names"):
            return list(config["class_names"])
        return self._split(config, "train").class_names

    def _test_split(self, config: ActionConfig) -> ActionSplit | None:
        """The test videos; None only when there are none to find (a test split that exists but does
        not read raises, naming its file, rather than reading as absent)."""
        source = config["data"]
        if not config.get("test_data") and (
            os.path.isfile(source) or existing_split_dir(source, "test") is None
        ):
            return None
        split = self._split(config, "test")
        names = self.class_names(config)
        if split.class_names != names and len(split.class_names) > len(names):
            raise FrameDataError(f"{split.source}: its classes differ from the training classes")
        return split

    def _warn_of_shared_videos(self, config: ActionConfig, test: ActionSplit) -> None:
        """Warns when a test video's frame folder is also a training video's (two list files that name the
        same folders): its score is not held out."""
        trained = {os.path.realpath(item.frame_dir) for item in self._split(config, "train").items}
        shared = [item.frame_dir for item in test.items if os.path.realpath(item.frame_dir) in trained]
        warn_of_shared_test_data(test.source, shared)

    def train_and_validation(self, config: ActionConfig) -> tuple[ActionSplit, ActionSplit | None]:
        """The training videos and the validation videos carved from them (never the test split).

        `val_fraction` of every class's video groups (UCF-101's `gNN` groups share actor and scene, so
        they are held out together), chosen by a seeded stable hash; None when `validate` is off or the
        data set is too small to spare a group of any class.
        """
        config = self.config(config)
        train = self._split(config, "train")
        if not config.get("validate", True) or not config["val_fraction"]:
            return train, None
        groups = [video_group(os.path.basename(os.path.normpath(item.frame_dir))) for item in train.items]
        held = split_groups(
            zip(groups, (item.label for item in train.items), strict=True),
            float(config["val_fraction"]),
            int(config["val_seed"]),
        )
        if not held:
            logger.warning(
                "%s: too few videos per class to carve a validation split; training without one", train.source
            )
            return train, None
        kept = [item for item, group in zip(train.items, groups, strict=True) if group not in held]
        validation = [item for item, group in zip(train.items, groups, strict=True) if group in held]
        logger.info(
            "Validation: %d of %d training videos (%d groups), never the test split",
            len(validation),
            len(train.items),
            len(held),
        )
        return (
            ActionSplit(kept, train.class_names, train.source),
            ActionSplit(validation, train.class_names, f"{train.source} (validation)"),
        )

    def datasets(self, config: ActionConfig, global_batch_size: int):
        config = self.config(config)
        train, validation = self.train_and_validation(config)
        image_size = tuple(config["image_size"])
        augmentation = (
            ClipAugmentation(flip=bool(config.get("flip", True))) if config.get("augment", True) else None
        )
        seed = int(config.get("seed") or 0)
        train_ds = make_dataset(
            train,
            octs_frame_indices(
                int(config["num_clips"]), int(config["clip_len"]), float(config["overlap_rate"])
            ),
            PipelineConfig(
                image_size, global_batch_size, augmentation, shuffle=True, drop_remainder=True, seed=seed
            ),
        )
        if validation is None:
            return train_ds, None
        val_ds = make_dataset(
            validation, validation_sampler(config), PipelineConfig(image_size, global_batch_size)
        )
        return train_ds, val_ds

    # ------------------------------------------------------------------------------------ model
    def build_model(self, config: ActionConfig) -> keras.Model:
        config = self.config(config)
        names = self.class_names(config)
        clip_model = build_clip_model(config, len(names))
        _, overlap = clip_frame_indices(
            10_000, int(config["num_clips"]), int(config["clip_len"]), float(config["overlap_rate"])
        )
        # Listed once: the hinge's warm-up and the rate schedule both count in epochs of this length.
        batches_per_epoch = self._batches_per_epoch(config)
        model = ActionOCTSModel(
            clip_model,
            overlap=int(overlap),
            coherence_weight=float(config.get("coherence", 0.0)),
            carry_state=config.get("model", "backbone") == "standalone",
            anticipation_weight=float(config["anticipation_weight"]) if config.get("anticipation") else 0.0,
            frame_loss_weight=float(config.get("frame_loss", 0.0)),
            anticipation_warmup_steps=self._hinge_warmup_steps(config, batches_per_epoch),
            observed_prefix=int(config["observe"]) if config.get("val_anticipation") else 0,
        )
        model.compile(optimizer=_optimizer(config, self._schedule_steps_per_epoch(config, batches_per_epoch)))
        return model

    @staticmethod
    def _hinge_warmup_steps(config: ActionConfig, batches_per_epoch: int | None) -> int:
        """`anticipation_warmup` epochs in optimizer steps (0 without the hinge, or when the epoch length
        is unknown: test and export build the model without data and never train it)."""
        epochs = int(config.get("anticipation_warmup", 0))
        if not config.get("anticipation") or epochs == 0:
            return 0
        return epochs * (batches_per_epoch or 0)

    @staticmethod
    def _schedule_steps_per_epoch(config: ActionConfig, batches_per_epoch: int | None) -> int | None:
        """The epoch length the learning-rate schedule needs (None for a constant rate without the flag)."""
        if config.lr_schedule == "constant":
            return config.steps_per_epoch
        return batches_per_epoch

    def _batches_per_epoch(self, config: ActionConfig) -> int | None:
        """Batches per epoch: the flag, or one pass over the training videos left after the validation
        carve-out; None when the data cannot be read (test and export build the model without training
        it)."""
        if config.steps_per_epoch:
            return config.steps_per_epoch
        try:
            train, _ = self.train_and_validation(config)
        except FrameDataError:
            return None
        return max(1, len(train.items) // int(config.global_batch_size or config.batch_size))

    # ------------------------------------------------------------------------------------ evaluation
    def example_batch(self, config, batch_size: int = 1):
        """(uint8 OCTS clips (batch, N, L, H, W, 3), labels) as the training pipeline yields them."""
        config = self.config(config)
        clips = np.zeros((batch_size, config.num_clips, config.clip_len, *config.image_size, 3), np.uint8)
        return clips, np.zeros((batch_size,), np.int32)

    def evaluate(self, config, model: keras.Model, run_dir: str) -> dict[str, Any]:
        """The paper's test protocol plus anticipation; writes results under ``run_dir/results``.

        With `anticipation_select_on`, anticipation is scored on the run's checkpoint kept for that log,
        which is loaded into `model` after recognition (so `model` leaves with those weights)."""
        config = self.config(config)
        test = self._test_split(config)
        if test is None:
            raise FrameDataError(f"{config.data}: no test split to evaluate (set --test-data)")
        self._warn_of_shared_videos(config, test)
        names = self.class_names(config)
        frames, clips, observe = config.test_frames, config.test_clips, config.observe
        _warn_of_whole_videos_observed(test, observe)
        frame_logits, labels = _predict_frame_logits(model, test, test_sampler(config), config, "test")
        anticipation_checkpoint = _load_anticipation_checkpoint(config, model, run_dir)
        observed_logits, _ = _predict_frame_logits(
            model, test, lambda n: first_frame_indices(n, observe), config, f"first {observe} frames"
        )
        recognition = classification_report(_video_scores(frame_logits), labels, names)
        anticipation = classification_report(_video_scores(observed_logits), labels, names)
        curve = _anticipation_curve(frame_logits, labels)
        protocol = (
            f"{clips} x {frames} frames" if clips > 1 else f"one {frames}-frame uniformly sampled sequence"
        )
        metrics = {
            "num_videos": len(labels),
            "protocol": protocol,
            "top1": recognition["top1"],
            "top5": recognition["top5"],
            "mean_class_accuracy": recognition["mean_class_accuracy"],
            "anticipation_observe": observe,
            "anticipation_top1": anticipation["top1"],
            "anticipation_checkpoint": anticipation_checkpoint,
            "anticipation_curve": curve,
        }
        results = ResultsWriter.for_run(run_dir)
        results.csv("per_class.csv", PER_CLASS_FIELDS, per_class_rows(recognition))
        results.figure(
            "confusion.png",
            confusion_figure(
                np.array(recognition["confusion_matrix"]),
                names,
                f"recognition ({protocol}): top-1 {recognition['top1']:.3f}",
            ),
        )
        results.figure(
            "confusion_anticipation.png",
            confusion_figure(
                np.array(anticipation["confusion_matrix"]),
                names,
                f"anticipation (first {observe} frames): top-1 {anticipation['top1']:.3f}",
            ),
        )
        results.figure(
            "anticipation_curve.png",
            curve_figure(
                [100 * f for f in CURVE_FRACTIONS],
                [curve[f"{f:.1f}"] for f in CURVE_FRACTIONS],
                "observed part of the test sequence (%)",
                "top-1 accuracy",
                f"{config.model} / {config.rnn}: accuracy vs observed fraction",
            ),
        )
        results.json(
            "action_results.json",
            {**metrics, "recognition": recognition, "anticipation": anticipation, "classes": names},
        )
        return metrics

    # ------------------------------------------------------------------------------------ serving
    def serving_model(self, config: ActionConfig, model: keras.Model) -> keras.Model:
        """`frames` (batch, time, H, W, 3) uint8 -> probabilities, class_id, class_name (names inside)."""
        config = self.config(config)
        names = self.class_names(config)
        frames = keras.Input((None, *config.image_size, 3), dtype="uint8", name="frames")
        clip_model = model.clip_model
        if model.carry_state:  # serve from a zero state: the same weights without state inputs
            clip_model = build_standalone_clip_model(config, len(names), with_states=False)
            clip_model.set_weights(model.clip_model.get_weights())
        logits = clip_model(keras.ops.cast(frames, "float32"))
        probabilities = keras.layers.Softmax(name="probabilities")(keras.ops.mean(logits, axis=1))
        class_id = keras.ops.cast(keras.ops.argmax(probabilities, axis=-1), "int32")
        class_name = ClassNameLookup(names, name="class_name")(class_id)
        outputs = {"probabilities": probabilities, "class_id": class_id, "class_name": class_name}
        return keras.Model(frames, outputs, name="action_serving")


@keras.saving.register_keras_serializable(package="deep_rnn_tf")
class ClassNameLookup(keras.layers.Layer):
    """Maps class ids to their names (a string tensor), so the names travel inside the SavedModel.

    Args:
        class_names: name of each class id.

    Example:
        >>> ClassNameLookup(["walk", "run"])(keras.ops.convert_to_tensor([1, 0]))
    """

    def __init__(self, class_names: list[str], **kwargs):
        super().__init__(**kwargs)
        if not class_names:
            raise ValueError("class_names must be a non-empty list of strings; received []")
        self.class_names = [str(name) for name in class_names]

    def call(self, class_ids):
        return tf.gather(tf.constant(self.class_names), class_ids)

    def compute_output_spec(self, class_ids):
        return keras.KerasTensor(class_ids.shape, dtype="string")

    def get_config(self):
        return {**super().get_config(), "class_names": self.class_names}


def _optimizer(config: ActionConfig, steps_per_epoch: int | None) -> keras.optimizers.Optimizer:
    """Adam (backbone model) or SGD momentum 0.9 (standalone), weight decay, gradient clamp +-5 (§4), at the
    config's learning rate or schedule (`training.schedules`; constant when the epoch length is unknown)."""
    kind = config.get("optimizer", "adam")
    rate = learning_rate(config, steps_per_epoch) if steps_per_epoch else config.lr
    common = {
        "learning_rate": rate,
        "weight_decay": float(config.get("weight_decay") or 0.0) or None,
        "clipvalue": float(config["clipvalue"]) if config.get("clipvalue") else None,
    }
    if kind == "adam":
        return keras.optimizers.Adam(**common)
    if kind == "sgd":
        return keras.optimizers.SGD(momentum=0.9, **common)
    raise ValueError(f"optimizer must be 'adam' or 'sgd'; received optimizer={kind!r}")


def test_sampler(config: ActionConfig):
    """The test protocol's frame sampler: n frames -> indices of `test_clips` segments (or one uniformly
    sampled sequence) of `test_frames` frames each."""
    frames, clips = config.test_frames, config.test_clips
    if clips > 1:
        return lambda n: segment_frame_indices(n, clips, frames)
    return lambda n: uniform_frame_indices(n, frames)


def validation_sampler(config: ActionConfig):
    """The validation sequence's frame sampler: `test_frames` uniformly sampled frames (recognition), led
    with `val_anticipation` by the first `observe` raw frames, which `ActionOCTSModel` splits off again
    (`observed_prefix`) and scores as the anticipation test does."""
    frames, observe = config.test_frames, config.observe
    if not config.val_anticipation:
        return lambda n: uniform_frame_indices(n, frames)
    return lambda n: np.concatenate([first_frame_indices(n, observe), uniform_frame_indices(n, frames)])


def _load_anticipation_checkpoint(config: ActionConfig, model: keras.Model, run_dir: str) -> str:
    """Loads the run's best checkpoint by `anticipation_select_on` into `model` when the run kept one apart
    (`training.best`); returns which checkpoint the anticipation test scores ("as recognition" otherwise).

    Why: the two protocols read different frames, and their validation criteria pick different epochs
    (docs/log/study.md, "Selecting on anticipation"); a run can keep one best epoch for each.
    """
    log = config.anticipation_select_on
    if not log or log == config.select_on:
        return "as recognition"
    chosen = checkpoint_selected_on(RunDirectory(run_dir), log)
    if chosen is None:
        logger.warning(
            "%s: no checkpoint selected on %s (trained without it?); anticipation uses recognition's",
            run_dir,
            log,
        )
        return "as recognition"
    logger.info("Anticipation: loading the %s checkpoint %s", *chosen)
    load_checkpoint(model, chosen[1])
    return chosen[0]


def _predict_frame_logits(
    model: ActionOCTSModel, split: ActionSplit, sampler, config: ActionConfig, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame logits (videos, [clips,] time, classes) of every video of `split`, and the labels."""
    dataset = make_dataset(split, sampler, PipelineConfig(tuple(config.image_size), config.batch_size))

    @tf.function(reduce_retracing=True)
    def run(frames):
        shape = tf.shape(frames)
        merged = tf.reshape(frames, tf.concat([[-1], shape[-4:]], axis=0))  # clips folded into the batch
        logits = model.frame_logits(merged, training=False)
        return tf.reshape(logits, tf.concat([shape[:-3], tf.shape(logits)[-1:]], axis=0))

    steps = -(-len(split.items) // config.batch_size)
    gathered = gather(dataset, run, total=steps, desc=f"evaluate ({what})")
    return gathered["outputs"], gathered["targets"]


def _video_scores(frame_logits: np.ndarray) -> np.ndarray:
    """Mean per-frame logits (one clip) or mean softmax over clips (multi-clip): (videos, classes)."""
    if frame_logits.ndim == 3:
        return frame_logits.mean(axis=1)
    clip_logits = frame_logits.mean(axis=2)
    exp = np.exp(clip_logits - clip_logits.max(axis=-1, keepdims=True))
    return (exp / exp.sum(axis=-1, keepdims=True)).mean(axis=1)


def _anticipation_curve(frame_logits: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Top-1 accuracy from the first ceil(f * T) frames of the test sequence, f = 10%..100%."""
    if frame_logits.ndim == 4:  # multi-clip: the first clip covers the start of the video
        frame_logits = frame_logits[:, 0]
    steps = frame_logits.shape[1]
    curve = {}
    for fraction in CURVE_FRACTIONS:
        seen = max(1, int(np.ceil(fraction * steps - 1e-9)))
        curve[f"{fraction:.1f}"] = top_k_accuracy(frame_logits[:, :seen].mean(axis=1), labels, 1)
    return curve


def _warn_of_whole_videos_observed(test: ActionSplit, observe: int) -> None:
    """Anticipation reads the first `observe` raw frames: on a video no longer than that it is recognition
    (its last frame repeated), so a large --observe scores the whole of those videos; named."""
    lengths = sorted(item.num_frames for item in test.items)
    whole = sum(length <= observe for length in lengths)
    if lengths and whole:
        logger.warning(
            "observe %d: %d of the %d test videos (%s: %d-%d frames) have no more frames than that; "
            "anticipation sees them whole",
            observe, whole, len(lengths), test.source, lengths[0], lengths[-1],
        )  # fmt: skip
