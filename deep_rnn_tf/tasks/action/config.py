"""Typed configuration and presets of the action task (no TensorFlow import).

`paper` is original.md §4.1 (VGG19 + 15-layer RBM on UCF-101 frames, 7 OCTS clips of 10 frames, 30 test
frames); `paper_standalone` §4.2 (the 17-cell ResNet-18-shaped RBM on Kinetics, state carried across
clips); `small` the CPU preset on the synthetic motion set.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Literal

from deep_rnn_tf.training.config import Preset, TaskConfig
from deep_rnn_tf.validation import (
    Normalization,
    RBMMerges,
    check_fraction,
    check_in_range,
    check_memory_gate,
    check_non_negative,
    check_non_negative_int,
    check_positive_int,
)

BACKBONES = ("vgg19", "resnet50", "tiny", "none")
RNNS = ("rbm15", "rbm1", "convlstm15", "lstm1")
MODELS = ("backbone", "standalone")
JUMP_PROJECTIONS = ("always", "conv_bn_relu")
DROPOUT_MASKS = ("frame", "sequence")
LSTM_INPUTS = ("pooled", "flatten")
TINY_STRIDES = (4, 8)  # output strides of the tiny CPU stem
# Pixel preprocessing each backbone was trained with (`deep_rnn_tf.layers.preprocessing` modes): keras'
# VGG19/ResNet50 expect caffe; the from-scratch stems use the original's torch normalisation.
BACKBONE_PREPROCESSING = {"vgg19": "caffe", "resnet50": "caffe", "tiny": "torch", "none": "torch"}


@dataclasses.dataclass
class ActionConfig(TaskConfig):
    """Action recognition / anticipation. Field defaults are the `paper` preset.

    Args:
        data: frame root with train/ and test/ (or train_frames/, val_frames/), or a train list file.
        test_data: test list file or frame root (None: the test split of `data`).
        class_index: class-index file; data_root: root of the relative frame folders of list files.
        model: "backbone" (CNN + recurrent stack) or "standalone" (17-cell RBM).
        backbone, backbone_weights, freeze_backbone: per-frame CNN, its weights, frozen or fine-tuned.
        backbone_stride: output stride of the "tiny" CNN, 8 or 4 (the others have their own, 32).
        frame_difference: the backbone also sees each frame minus the frame before it (6 channels; TSN's
            RGB difference, `deep_rnn_tf.layers.FrameDifference`): the motion at full resolution, before the
            CNN's strides. The "tiny" and "none" backbones only (the ImageNet CNNs take 3 channels); not the
            standalone model, whose first cell is recurrent already.
        rnn: recurrent stack ("rbm15", "rbm1", "convlstm15", "lstm1"); depth: override of its 15 layers.
        lstm_input: what the 1-layer LSTM reads of each frame's feature map: "pooled" (its spatial mean: where
            things are is lost) or "flatten" (the whole map, as an LSTM on a CNN's fc features sees
            positions); the other stacks are convolutional and read the map itself.
        jump: residual jump; jump_projection: its shortcut, "always" (1x1 conv) or "conv_bn_relu" (1x1
            conv + BN + ReLU, the original's ShortCut).
        width: channels of the stack (standalone: base width); hidden: head units.
        rnn_normalization: normalisation of the RBM cells' two pre-activations, "batch" (the original's),
            "layer" (per sample: no moving statistics, the same at training and test time) or
            "batch_per_step" (batch normalisation with moving statistics per time step: the test's first
            frames are normalised as they were in training, not with the late frames' averages).
        convlstm_normalization: None (Keras' ConvLSTM, the paper's baseline; "none" on the command line) or
            the recurrent batch normalisation of the 15-layer ConvLSTM's cells (`ConvLSTMCell(normalization=
            ...)`: input and recurrent pre-activations and the cell state): the RBM stack's normalisation
            given to its peer.
        gate_bias: initial shift of the RBM cells' temporal gate (0: the original, every gate starts near
            1/2; 2 starts it near 0.88, so a 15-layer stack does not scale its signal by 2^-15 at the start).
        rbm_memory_gain: 0 (the original's recurrent kernels) or g > 0: the RBM cells' recurrent kernels start
            at g x identity and their gates' shift at gate_bias - g/2 (leaky-integrator gates).
        rbm_merge: the RBM cells' merge zeta, "product" (h = r * s, the original), "sum" (h = r + s: the
            temporal state, which is where the motion lives, reaches the next layer additively), "blend"
            (h_t = (1 - s) * r + s * h_{t-1}) or "accumulate" (h_t = r + s * h_{t-1}); `RBMCell(merge=...)`.
            Or a list with one merge per layer, bottom first (`--rbm-merge blend,product,product`).
        p_td, dropout, head_dropout: temporal dropout, Dropout2d rates, head dropout.
        dropout_mask: "frame" (a new Dropout2d mask per frame, the original's) or "sequence" (one mask for
            all frames of a clip: a channel dropped in one frame only looks like motion to the stack).
        image_size: (H, W) fed to the model.
        num_clips, clip_len, overlap_rate, coherence: OCTS clips N x L, overlap rate, lambda.
        anticipation, anticipation_weight, observe: the monotonicity hinge and the frames observed at test.
        anticipation_warmup: epochs over which the hinge's weight ramps linearly from 0 (0: the original).
        frame_loss: weight of a per-frame cross-entropy added to the clip loss (0: the original, which scores
            only each clip's mean logits; > 0 asks every frame's logits, the first ones too, for the class).
        test_frames, test_clips: the test sequence and its segments.
        augment, flip: training augmentation.
        optimizer, weight_decay, clipvalue: "adam" or "sgd" (momentum 0.9), L2 decay, gradient clipping.
        validate, val_fraction, val_seed: score a validation split each epoch, carved from the training
            videos (`val_fraction` of each class's video groups, chosen with `val_seed`; never the test
            split); test and export load the best epoch by its loss.
        val_anticipation: also score each validation video's first `observe` raw frames, as the
            anticipation test does: logs `val_anticipation_loss` (cross entropy of their mean logits) and
            `val_anticipation_accuracy`, which `select_on` may name (validation otherwise sees only the
            uniformly sampled sequence, i.e. recognition).
        anticipation_select_on: the validation log whose best epoch the anticipation test loads (None: the
            `select_on` checkpoint, as recognition). E.g. "val_anticipation_loss" (needs
            `val_anticipation`): the run keeps that epoch apart (`best-<log>.weights.h5`), so each test
            protocol is scored on the checkpoint chosen for it; recognition and export keep `select_on`'s.
        head_init: "paper" (N(0, 0.01)) or "glorot".
        class_names: the class list (None: from the training data).

    Example:
        >>> ActionConfig(model="standalone").clip_len
        10
    """

    data: str = "data/ucf101_frames"
    test_data: str | None = None
    class_index: str | None = None
    data_root: str | None = None
    model: Literal["backbone", "standalone"] = "backbone"
    backbone: Literal["vgg19", "resnet50", "tiny", "none"] = "vgg19"
    backbone_weights: str | None = "imagenet"
    freeze_backbone: bool = False
    backbone_stride: int = 8
    frame_difference: bool = False
    rnn: Literal["rbm15", "rbm1", "convlstm15", "lstm1"] = "rbm15"
    depth: int | None = None
    lstm_input: Literal["pooled", "flatten"] = "pooled"
    jump: int | None = 5
    # The shortcut at every jump of the 15-layer stacks: a 1x1 conv ("always"), or 1x1 conv + BN + ReLU
    # ("conv_bn_relu", the original's SNN.ShortCut, original.md §1.1).
    jump_projection: Literal["always", "conv_bn_relu"] = "always"
    width: int = 512
    rnn_normalization: Normalization = "batch"
    convlstm_normalization: Normalization | None = None
    rbm_merge: RBMMerges = "product"
    gate_bias: float = 0.0
    rbm_memory_gain: float = 0.0
    hidden: int = 512
    p_td: float = 1.0  # backbone train.py: --TemporalDropout 1.0 (the temporal input never back-props)
    dropout: float = 0.2
    head_dropout: float = 0.5
    dropout_mask: Literal["frame", "sequence"] = "frame"
    image_size: tuple[int, int] = (224, 224)
    num_clips: int = 7
    clip_len: int = 10
    overlap_rate: float = 0.25
    coherence: float = 0.0
    anticipation: bool = False
    anticipation_weight: float = 1.0
    anticipation_warmup: int = 0
    frame_loss: float = 0.0
    observe: int = 2
    test_frames: int = 30
    test_clips: int = 1
    augment: bool = True
    flip: bool = True
    optimizer: Literal["adam", "sgd"] = "adam"
    weight_decay: float = 1e-4
    clipvalue: float | None = 5.0
    validate: bool = True
    val_fraction: float = 0.1
    val_anticipation: bool = False
    # None first: "none" on the command line is null here (a log is never called "none").
    anticipation_select_on: None | str = None
    head_init: Literal["paper", "glorot"] = "paper"
    class_names: tuple[str, ...] | None = None
    epochs: int = 30
    batch_size: int = 16
    lr: float = 1e-4

    def check(self) -> None:
        super().check()
        check_fraction("overlap_rate", self.overlap_rate, include_zero=True)
        for name in ("dropout", "head_dropout"):
            check_fraction(name, getattr(self, name), include_zero=True)
        if self.backbone_stride not in TINY_STRIDES:
            raise ValueError(
                f"backbone_stride: must be one of {TINY_STRIDES}; received {self.backbone_stride!r}"
            )
        self._check_frame_difference()
        check_in_range("gate_bias", self.gate_bias, -10.0, 10.0)
        check_in_range("rbm_memory_gain", self.rbm_memory_gain, 0.0, 20.0)
        check_memory_gate(self.gate_bias, self.rbm_memory_gain)
        check_non_negative("frame_loss", self.frame_loss)
        check_non_negative("anticipation_weight", self.anticipation_weight)
        check_non_negative_int("anticipation_warmup", self.anticipation_warmup)
        check_positive_int("observe", self.observe)
        for key in ("select_on", "anticipation_select_on"):
            log = getattr(self, key)
            if log is not None and log.startswith("val_anticipation_") and not self.val_anticipation:
                raise ValueError(
                    f"{key}: {log!r} is logged only with --val-anticipation (val_anticipation: true); "
                    f"received val_anticipation=False (without it, also pass --{key.replace('_', '-')} "
                    f"{'val_loss' if key == 'select_on' else 'none'})"
                )
        log = self.anticipation_select_on
        if log is not None and not re.match(r"^val_\w+$", log):
            raise ValueError(
                "anticipation_select_on: must name a validation log such as val_anticipation_loss; "
                f"received {log!r}"
            )

    def _check_frame_difference(self) -> None:
        if not self.frame_difference:
            return
        if self.model != "backbone":
            raise ValueError(
                "frame_difference: only the backbone model takes it (the standalone model's first cell is "
                f"recurrent already); received model={self.model!r}"
            )
        if self.backbone not in ("tiny", "none"):
            raise ValueError(
                "frame_difference: only the 'tiny' and 'none' backbones take 6 channels (the ImageNet CNNs "
                f"take 3); received backbone={self.backbone!r}"
            )


PRESETS: dict[str, Preset] = {
    "paper": Preset("original.md §4.1: VGG19 + 15-layer RBM on UCF-101 frames, 7x10 OCTS clips", {}),
    # §4.2: the 17-cell ResNet-18-shaped RBM on Kinetics frames, state carried across OCTS clips.
    "paper_standalone": Preset(
        "original.md §4.2: the 17-cell standalone RBM on Kinetics frames, 6x5 clips, state carried",
        {
            "data": "data/kinetics400_frames",
            "model": "standalone",
            "backbone": "none",
            "backbone_weights": "none",
            "width": 64,
            "hidden": 3584,
            "p_td": 0.0,
            "num_clips": 6,
            "clip_len": 5,
            "test_frames": 60,
            "optimizer": "sgd",
            "batch_size": 40,
        },
    ),
    # CPU: the synthetic motion set at 32x32, a tiny CNN stem and a narrow 15-layer RBM.
    "small": Preset(
        "CPU: synthetic motions 32x32, tiny CNN + narrow 15-layer RBM, 3x8 clips, per-frame loss, no dropout",
        {
            "data": "data/synth_actions",
            "backbone": "tiny",
            "backbone_weights": "none",
            "width": 16,
            "hidden": 32,
            "image_size": (32, 32),
            "num_clips": 3,
            "clip_len": 8,
            "test_frames": 16,
            # The synthetic classes are direction-defined: a mirror turns move_right into move_left.
            "flip": False,
            # Trained from scratch in minutes: Glorot head weights learn faster than the original's
            # N(0, 0.01).
            "head_init": "glorot",
            # Temporal dropout 0.5 (the original's default in its other RBM cells; the backbone code's 1.0
            # cuts every temporal-input gradient): without the dropouts below, the deep RBM memorised the
            # training videos. Chosen on validation accuracy at the best epoch, 3 seeds x 60 epochs, against
            # p_td 0: 15-layer RBM 57.8 -> 70.0 % (the preset's model; test 59.6 +- 19.5 -> 75.8 +- 1.9 %),
            # 1-layer RBM 74.4 -> 60.0 % (docs/log/study.md, "Why the action models sat at chance").
            "p_td": 0.5,
            # Gates start as leaky integrators (recurrent kernel 3 x identity, gate shift -1.5): chosen on
            # validation accuracy at the best epoch, 3 seeds x 60 epochs on the 320-video split, against the
            # original's gain-3 Xavier recurrent kernels: 15-layer RBM 68.9 -> 76.7 %, 1-layer RBM 70.0 ->
            # 84.4 % (test 68.4 +- 13.6 -> 71.1 +- 7.4 and 75.6 +- 3.1 -> 78.2 +- 0.8 %; anticipation 17.5 ->
            # 13.0 and 18.3 -> 16.7 %, both near chance). docs/log/study.md, "leaky-integrator gates".
            "rbm_memory_gain": 3.0,
            # Moving statistics per time step (fourteenth session). Training is unchanged (each step is
            # normalised with its own batch moments either way: identical training curves per seed); at
            # test the first frames were normalised with the late frames' single moving average, which
            # the leaky gates' long start-up makes wrong: the 15-layer RBM read 15.1 % from the first
            # tenth of a test video with one average and 42.6 % with per-step ones, 3 seeds, 120 epochs
            # (docs/log/study.md, "The test's first frames").
            "rnn_normalization": "batch_per_step",
            # Every frame's logits are asked for the class (issue 12): chosen on validation accuracy at the
            # best epoch, 3 seeds x 60 epochs, against the original's clip-mean loss: 15-layer ConvLSTM
            # 42.2 -> 62.2 %, 1-layer RBM 64.4 -> 80.0 %, 1-layer LSTM 22.2 -> 21.1 %, 15-layer RBM see
            # docs/log/study.md ("action-table with the per-frame loss").
            "frame_loss": 1.0,
            # No dropout (issue 12): the two dropouts' noise kept every model at chance for 10-40 epochs of
            # a from-scratch run (docs/log/study.md, "Why the action models sat at chance"). Chosen on
            # validation accuracy at the best epoch, 3 seeds x 60 epochs: 15-layer ConvLSTM 62.2 -> 83.3 %,
            # 1-layer RBM 80.0 -> 74.4 %, 15-layer RBM 56.7 -> 57.8 %, 1-layer LSTM 21.1 -> 24.5 %
            # (mean of the four 55.0 -> 60.0 %).
            "dropout": 0.0,
            "head_dropout": 0.0,
            # Each test protocol on the epoch chosen by its own validation analogue (thirty-fourth
            # session): recognition by the sequence's loss (val_loss), anticipation by the first 2 frames'
            # (val_anticipation_loss; the two pick different epochs). Training is unchanged: the runs are
            # bit-identical with and without it. On the 4x set, 3 seeds x 120 epochs, anticipation
            # 15-layer RBM 42.2 -> 45.6 %, 15-layer ConvLSTM 37.4 -> 41.6 %, 1-layer RBM 33.3 -> 35.8 %,
            # recognition unchanged (docs/log/study.md, "One best checkpoint per test protocol").
            "val_anticipation": True,
            "anticipation_select_on": "val_anticipation_loss",
            # The 1-layer LSTM reads each frame's whole 4x4 map, not its spatial mean (forty-sixth session):
            # the classes differ by where the disc goes, which the mean loses. Chosen on validation accuracy
            # at the selected epoch, seed 0, 120 x 36 steps on the 512-videos-per-class set: 13.5 -> 25.9 %
            # (docs/log/study.md, "The 1-layer LSTM that cannot see where"). Only `--rnn lstm1` reads it.
            "lstm_input": "flatten",
            "epochs": 30,
            "batch_size": 8,
            "lr": 3e-3,
            # Constant lr. Tried for issue 12: warm-up + cosine (40 + 1160 steps) with BN+ReLU jump shortcuts,
            # seed 0: every model stayed near chance (1-layer RBM top-1 16 %, against 67.5 % for the constant
            # rate in docs/action.md): these models sit on a plateau at chance for ~10 epochs, and the decay
            # starts before they leave it (docs/study.md).
        },
    ),
}
DEFAULT_PRESET = "small"
CONFIG = ActionConfig
