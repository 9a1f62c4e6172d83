"""Typed configuration and presets of the polygon task (no TensorFlow import).

`paper` is original.md §5: a 15-layer RBM decoder [256, 256, 128x4, 64x6, 32, 32, 8], VGG16-wide encoder,
57 vertices, 8 OCTS windows, lambda 0.8, Adam 1e-4; `small` is the CPU preset on synthetic crops.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from deep_rnn_tf.training.config import Preset, TaskConfig
from deep_rnn_tf.validation import check_non_negative_int

# The original's decoder widths per depth (README / commented configs, §1.3 and §10.8).
PAPER_FILTERS: dict[int, tuple[int, ...]] = {
    2: (64, 8),
    5: (128, 128, 64, 32, 8),
    10: (128,) * 5 + (64,) * 3 + (32, 8),
    15: (256, 256) + (128,) * 4 + (64,) * 6 + (32, 32, 8),
}


@dataclasses.dataclass
class PolygonConfig(TaskConfig):
    """Polygon-RNN with a deep recurrent decoder on Cityscapes crops. Field defaults are the `paper` preset.

    Args:
        crops: crop shards folder (from `deep-rnn data polygon-crops`) holding one folder per split.
        train_split, eval_split: split trained on and split scored by `deep-rnn test polygon`.
        rnn: decoder cells ("rbm", or "convlstm": Polyg-LSTM); depth: decoder layers; filters: their
            widths (None or a list of another length: the original's list for `depth`).
        jump: a residual jump every `jump` decoder layers (None or 0: none, the original polygon stack; 0
            lets a command line switch off the jumps that a study budget passes).
        encoder_width: VGG16 width multiplier; skip_channels, feature_channels: skip heads and fused map.
        encoder_weights: "none", "imagenet" or a local Keras VGG16 weights file.
        head: "dense" (the original's) or "conv".
        max_vertices: longest vertex sequence (T = this + 1).
        num_windows, window_len, coherence_weight: OCTS windows per sequence, their length, lambda.
        p_td: temporal-dropout probability; min_vertices: vertices before end-of-polygon may be decoded.
        gate_bias: initial bias of the RBM decoder cells' temporal gate (0: the original, gate 1/2 at the
            start; each closed-by-half gate halves the signal, so a deep stack starts near zero output); of
            ConvLSTM cells, added to their input- and output-gate biases.
        target_sigma: Gaussian target smoothing in grid cells (0: off).
        shuffle_buffer: training shuffle buffer; overlays: overlay PNGs written by the evaluation.
        val_fraction, val_seed: validation carved from the training split: the crops of `val_fraction` of
            its source images (chosen with `val_seed`), scored each epoch; `eval_split` is never read while
            training. test and export load the best epoch by its loss. 0: no validation.

    Example:
        >>> PolygonConfig().resolved_filters()[:3]
        [256, 256, 128]
    """

    crops: str = "data/polygon_crops"
    train_split: str = "train"
    eval_split: str = "val"
    rnn: Literal["rbm", "convlstm"] = "rbm"
    depth: int = 15
    filters: tuple[int, ...] | None = PAPER_FILTERS[15]
    jump: int | None = None
    encoder_width: float = 1.0
    skip_channels: int = 128
    feature_channels: int = 128
    encoder_weights: str = "none"
    head: Literal["dense", "conv"] = "dense"
    max_vertices: int = 57
    num_windows: int = 8
    window_len: int | None = None
    coherence_weight: float = 0.8
    p_td: float = 0.5
    gate_bias: float = 0.0
    min_vertices: int = 3
    target_sigma: float = 0.0
    lr: float = 1e-4
    batch_size: int = 8
    epochs: int = 10
    shuffle_buffer: int = 2048
    overlays: int = 24
    val_fraction: float = 0.1

    def check(self) -> None:
        super().check()
        if self.jump is not None:
            check_non_negative_int("jump", self.jump)  # 0: no jumps

    def resolved_filters(self) -> list[int]:
        """The decoder widths: `filters` when it has `depth` entries, else the original's list for `depth`.

        So `--depth 5` on any preset gives the paper's 5-layer decoder [128, 128, 64, 32, 8].
        """
        if self.filters is not None and len(self.filters) == self.depth:
            return [int(f) for f in self.filters]
        if self.depth not in PAPER_FILTERS:
            raise ValueError(
                f"depth {self.depth} needs --filters with {self.depth} entries (the original's lists exist "
                f"for depths {sorted(PAPER_FILTERS)}); received filters={self.filters!r}"
            )
        return list(PAPER_FILTERS[self.depth])


PRESETS: dict[str, Preset] = {
    "paper": Preset("original.md §5: VGG16 encoder, 15-layer RBM decoder, 57 vertices, 8 OCTS windows", {}),
    "small": Preset(
        "CPU: synthetic crops, 1/16-wide encoder, 2 RBM layers [16, 8], 12 vertices, 2 windows",
        {
            "depth": 2,
            "filters": (16, 8),
            "encoder_width": 0.0625,
            "skip_channels": 8,
            "feature_channels": 16,
            "max_vertices": 12,
            "num_windows": 2,
            "target_sigma": 1.0,
            "lr": 2e-3,
            "batch_size": 8,
            "epochs": 4,
            "overlays": 12,
        },
    ),
}
DEFAULT_PRESET = "small"
CONFIG = PolygonConfig
