"""Action recognition / anticipation models (original.md §4): backbone + deep RBM, baselines, standalone.

Every builder returns a *clip model*: a functional `keras.Model` mapping frames (batch, time, H, W, 3),
float RGB in [0, 255], to per-frame logits (batch, time, classes); the video prediction is the mean of the
per-frame logits (the original's `test_scheme=1`). Pixel preprocessing is inside the model, so a served
model takes raw frames. `ActionOCTSModel` trains a clip model on OCTS clips (`deep_rnn_tf.training.octs`)
and adds the anticipation hinge (§4.1).

- Backbone model: a keras.applications CNN per frame (VGG19 as the original; ResNet50; a tiny CNN for
  CPU; none) -> Dropout2d(0.2) -> recurrent stack on the feature map -> Dropout2d(0.2) -> per-frame head
  Linear-ReLU-Dropout(0.5)-Linear. Stacks (`rnn`, the paper's comparison table): "rbm15" (15 RBM cells,
  tanh, batch norm, Xavier gain 3, jump 5 with 1x1 projection, max-pool 2 after each block: 7->4->2->1),
  "rbm1", "convlstm15" (same jumps/pools), "lstm1" (one LSTM on spatially pooled features). Keras' VGG19 has
  no batch norm and uses caffe preprocessing (§10.4, option a).
- Standalone model (§4.2): the ResNet-18-shaped 17-cell conv-RBM directly on frames: a 7x7/2 RBM stem
  + 3x3/2 max-pool, then 16 cells in pairs with residual jumps (1x1 stride-2 projections where the
  resolution halves). §10.9 decision: the skip bug is *not* reproduced; every pair's shortcut is the
  pair's own input (standard ResNet), which `DeepCell` does by construction.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from deep_rnn_tf import ConvRNN, DeepCell, DeepRNN, RBMCell
from deep_rnn_tf.cells.initializers import memory_gate_kwargs, xavier_normal
from deep_rnn_tf.layers.frame_difference import FrameDifference
from deep_rnn_tf.layers.preprocessing import Preprocessing
from deep_rnn_tf.tasks.action.config import (
    BACKBONE_PREPROCESSING,
    BACKBONES,
    MODELS,
    RNNS,
    TINY_STRIDES,
    ActionConfig,
)
from deep_rnn_tf.training.trainer import StepLosses, TaskModel, coherence_sum, run_clips, zero_states
from deep_rnn_tf.validation import check_non_negative, check_non_negative_int


def xavier_gain3() -> keras.initializers.Initializer:
    """xavier_normal with gain 3 (the original's RNN convs): variance 9 * 2 / (fan_in + fan_out)."""
    return xavier_normal(3.0)


def linear_init() -> keras.initializers.Initializer:
    """The original's Linear weights: N(0, 0.01)."""
    return keras.initializers.RandomNormal(stddev=0.01)


@keras.saving.register_keras_serializable(package="deep_rnn_tf")
class FrameWise(keras.layers.Layer):
    """Applies a per-image layer (e.g. a CNN) to every frame of (batch, time, H, W, C).

    Merges batch and time with a reshape (static H, W, C), so it works with a dynamic batch *and* time in
    an exported model, where `keras.layers.TimeDistributed` returns wrong shapes (docs/reference/platform.md).

    Args:
        layer: a Keras layer or model taking (batch, H, W, C).

    Example:
        >>> FrameWise(keras.layers.Conv2D(8, 3))(keras.Input((None, 32, 32, 3)))
    """

    def __init__(self, layer: keras.layers.Layer, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, keras.layers.Layer):
            raise ValueError(f"layer must be a Keras layer; received layer={layer!r}")
        self.layer = layer

    def build(self, input_shape):
        if not self.layer.built:
            self.layer.build((None, *tuple(input_shape)[2:]))

    def call(self, inputs, training=None):
        shape = tf.shape(inputs)
        merged = tf.reshape(inputs, [-1, *inputs.shape[2:]])
        outputs = self.layer(merged, training=training)
        return tf.reshape(outputs, tf.concat([shape[:2], tf.shape(outputs)[1:]], axis=0))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        inner = self.layer.compute_output_shape((None, *input_shape[2:]))
        return (*input_shape[:2], *tuple(inner)[1:])

    def get_config(self):
        return {**super().get_config(), "layer": keras.saving.serialize_keras_object(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["layer"] = keras.saving.deserialize_keras_object(config["layer"], custom_objects)
        return cls(**config)


def _frame_dropout(rate: float, name: str, mask: str = "frame") -> keras.layers.Dropout:
    """Dropout2d on (batch, time, h, w, c): whole channels dropped, per frame (the original's nn.Dropout2d,
    `mask="frame"`) or with one mask for every frame of a sequence (`mask="sequence"`).

    Why "sequence": a channel dropped in one frame and kept in the next is a change between frames, i.e. noise
    that looks like motion to the recurrent stack, whose only job on motion-defined classes is to compare
    frames; a mask shared over time regularises the same channels without faking motion.
    """
    return keras.layers.Dropout(
        rate, noise_shape=(None, 1 if mask == "sequence" else None, 1, 1, None), name=name
    )


def _sequence_dropout(rate: float, name: str, mask: str = "frame") -> keras.layers.Dropout:
    """Dropout on (batch, time, units): per element and frame, or one mask per sequence (_frame_dropout)."""
    return keras.layers.Dropout(rate, noise_shape=(None, 1, None) if mask == "sequence" else None, name=name)


def build_backbone(
    name: str,
    weights: str | None,
    image_size: tuple[int, int],
    width: int,
    stride: int = 8,
    channels: int = 3,
) -> keras.Model | None:
    """The per-frame CNN.

    Args:
        name: "vgg19" (pool5, 512 ch at 1/32), "resnet50" (2048 ch at 1/32), "tiny" (three 3x3 conv
            + BN + ReLU layers to `width` channels at 1/`stride`: a CPU stand-in) or "none" (no backbone).
        weights: "imagenet" (downloaded by Keras on a connected machine), "none"/None or a local file.
        image_size: (H, W) of the frames.
        width: channels of the tiny CNN.
        stride: output stride of the tiny CNN, 8 (three stride-2 convs) or 4 (the last conv at stride 1:
            a finer map, on which a motion of a few pixels moves features by more than a fraction of a cell).
        channels: input channels (6 with `FrameDifference` in front: the tiny CNN, or no CNN, only).

    Example:
        >>> build_backbone("vgg19", None, (224, 224), 512).output_shape
        (None, 7, 7, 512)
    """
    if name not in BACKBONES:
        raise ValueError(f"backbone must be one of {BACKBONES}; received backbone={name!r}")
    weights = None if weights in (None, "none", "") else weights
    shape = (*image_size, channels)
    if name == "none":
        return None
    if channels != 3 and name != "tiny":  # the ImageNet CNNs' first convolutions take RGB
        raise ValueError(f"backbone {name!r} takes 3 channels; received channels={channels!r}")
    if name == "tiny":
        if weights is not None and weights != "imagenet":
            raise ValueError("backbone 'tiny' has no pretrained weights; use backbone_weights='none'")
        if stride not in TINY_STRIDES:
            raise ValueError(f"backbone_stride must be one of {TINY_STRIDES}; received {stride!r}")
        inputs = keras.Input(shape)
        x = inputs
        strides = (2, 2, 2) if stride == 8 else (2, 2, 1)
        for index, (filters, step) in enumerate(
            zip((max(8, width // 2), width, width), strides, strict=True)
        ):
            x = keras.layers.Conv2D(
                filters, 3, strides=step, padding="same", use_bias=False, name=f"conv{index}"
            )(x)
            x = keras.layers.BatchNormalization(name=f"bn{index}")(x)
            x = keras.layers.ReLU(name=f"relu{index}")(x)
        return keras.Model(inputs, x, name="tiny_backbone")
    application = keras.applications.VGG19 if name == "vgg19" else keras.applications.ResNet50
    try:
        return application(include_top=False, weights=weights, input_shape=shape)
    except (ValueError, OSError) as error:
        raise ValueError(f"cannot build backbone {name!r} with weights={weights!r}: {error}") from error


def _rbm_kwargs(config: ActionConfig, activation: str) -> dict[str, Any]:
    return {
        "activation": activation,
        "normalization": config.get("rnn_normalization", "batch"),
        "merge": config.get("rbm_merge", "product"),
        "kernel_initializer": xavier_gain3(),
        "recurrent_initializer": xavier_gain3(),
        "p_td": float(config.get("p_td", 0.0)),
        "seed": config.get("seed"),
        # gate_bias, and the recurrent initializer when the gates start as leaky integrators.
        **memory_gate_kwargs(float(config.get("rbm_memory_gain", 0.0)), float(config.get("gate_bias", 0.0))),
    }


def _recurrent_stack(config: ActionConfig, features: keras.KerasTensor) -> keras.KerasTensor:
    """The stack selected by `config["rnn"]` on (batch, time, h, w, c); returns (batch, time, channels)."""
    rnn = config.get("rnn", "rbm15")
    width = int(config["width"])
    if rnn == "lstm1":
        # The spatial mean keeps what is in a frame, not where: a motion that only moves something is lost.
        summary = (
            keras.layers.Flatten(name="flatten")
            if config.lstm_input == "flatten"
            else keras.layers.GlobalAveragePooling2D()
        )
        per_frame = FrameWise(summary, name="spatial_pool")(features)
        return DeepRNN("lstm", depth=1, filters=width, jump=None, return_sequences=True, name="lstm1")(
            per_frame
        )
    deep = int(config.get("depth") or 15)  # depth of the "15-layer" stacks (smaller in quick tests)
    jump = int(config.get("jump") or 5)
    if rnn in ("rbm15", "rbm1"):
        depth = deep if rnn == "rbm15" else 1
        stack = DeepRNN(
            "rbm",
            depth=depth,
            filters=width,
            jump=jump if depth > 1 else None,
            # The original's ShortCut at every jump: 1x1 conv ("always") or conv + BN + ReLU.
            projection=config.jump_projection,
            block_pool=2 if depth > 1 else None,
            return_sequences=True,
            name=rnn,
            **_rbm_kwargs(config, "tanh"),
        )
    elif rnn == "convlstm15":
        stack = DeepRNN(
            "convlstm",
            depth=deep,
            filters=width,
            jump=jump,
            projection=config.jump_projection,
            block_pool=2,
            return_sequences=True,
            name=rnn,
            normalization=config.get("convlstm_normalization"),
        )
    else:
        raise ValueError(f"rnn must be one of {RNNS}; received rnn={rnn!r}")
    hidden = stack(features)
    # 1x1 after three pools of a 7x7 map; other sizes (and the 1-layer stacks) are averaged spatially.
    return FrameWise(keras.layers.GlobalAveragePooling2D(), name="spatial_pool")(hidden)


def _head(config: ActionConfig, num_classes: int, x: keras.KerasTensor) -> keras.KerasTensor:
    """Per-frame classifier: Linear-ReLU-Dropout-Linear (N(0, 0.01) weights as the original, or Glorot)."""
    init = linear_init if config.get("head_init", "paper") == "paper" else keras.initializers.GlorotUniform
    x = keras.layers.Dense(int(config["hidden"]), activation="relu", kernel_initializer=init(), name="fc1")(x)
    x = keras.layers.Dropout(float(config.get("head_dropout", 0.5)), name="head_dropout")(x)
    return keras.layers.Dense(num_classes, kernel_initializer=init(), name="logits", dtype="float32")(x)


def build_backbone_clip_model(config: ActionConfig, num_classes: int) -> keras.Model:
    """Backbone + recurrent stack + per-frame head: frames -> per-frame logits (batch, time, classes).

    Config keys: image_size, backbone, backbone_weights, freeze_backbone, rnn, width, hidden, p_td,
    dropout (the two Dropout2d rates), head_dropout, seed.

    Example:
        >>> model = build_backbone_clip_model({"image_size": [32, 32], "backbone": "tiny", "width": 16,
        ...                                    "hidden": 32, "rnn": "rbm15"}, num_classes=10)
    """
    config = ActionConfig.from_dict(config)
    image_size = tuple(config["image_size"])
    frames = keras.Input((None, *image_size, 3), name="frames")
    backbone_name = config.get("backbone", "vgg19")
    x = Preprocessing(BACKBONE_PREPROCESSING[backbone_name], name="preprocess")(frames)
    if config.frame_difference:
        x = FrameDifference(name="frame_difference")(x)
    backbone = build_backbone(
        backbone_name,
        config.get("backbone_weights"),
        image_size,
        int(config["width"]),
        stride=int(config.get("backbone_stride", 8)),
        channels=6 if config.frame_difference else 3,
    )
    if backbone is not None:
        backbone.trainable = not config.get("freeze_backbone", False)
        x = FrameWise(backbone, name="backbone")(x)
    dropout, mask = float(config.get("dropout", 0.2)), config.get("dropout_mask", "frame")
    x = _frame_dropout(dropout, "feature_dropout", mask)(x)
    x = _recurrent_stack(config, x)
    x = _sequence_dropout(dropout, "rnn_dropout", mask)(x)
    return keras.Model(frames, _head(config, num_classes, x), name=f"action_{config.get('rnn', 'rbm15')}")


def standalone_widths(base: int) -> list[int]:
    """Channels of the 16 cells after the stem: ResNet-18's [b]*4 + [2b]*4 + [4b]*4 + [8b]*4."""
    return [base] * 4 + [2 * base] * 4 + [4 * base] * 4 + [8 * base] * 4


def build_standalone_clip_model(
    config: ActionConfig, num_classes: int, with_states: bool = True
) -> keras.Model:
    """The 17-cell ResNet-18-shaped conv-RBM directly on frames (§1.1, §4.2).

    With `with_states` the model takes `[frames, *states]` and returns `[logits, *states]` (the OCTS
    state carried between clips); otherwise frames -> logits from a zero state.

    Config keys: image_size, width (base channels, 64 as the original), hidden (3584), p_td (0),
    dropout (0.2), head_dropout (0.5), seed.

    Example:
        >>> model = build_standalone_clip_model({"image_size": [32, 32], "width": 4, "hidden": 16}, 10)
    """
    config = ActionConfig.from_dict(config)
    image_size = tuple(config["image_size"])
    base = int(config["width"])
    kwargs = _rbm_kwargs(config, "relu")
    stem_cell = DeepCell(
        [RBMCell(base, kernel_size=7, strides=2, name="rbm_0", **kwargs)], jump=None, name="stem"
    )
    cells = []
    for index, filters in enumerate(standalone_widths(base), start=1):
        # Layers 5, 9 and 13 halve the resolution (the first cell of pairs (5,6), (9,10), (13,14)).
        strides = 2 if index in (5, 9, 13) else 1
        layer_kwargs = dict(kwargs, seed=None if kwargs["seed"] is None else kwargs["seed"] + index)
        cells.append(RBMCell(filters, strides=strides, name=f"rbm_{index}", **layer_kwargs))
    body_cell = DeepCell(cells, jump=2, projection="auto", name="body")
    frame_shape = (*image_size, 3)
    stem_state_shapes = stem_cell.compute_output_shape((None, *frame_shape))[1]
    stem_out = ((image_size[0] + 1) // 2, (image_size[1] + 1) // 2)
    pooled = ((stem_out[0] + 1) // 2, (stem_out[1] + 1) // 2)
    body_state_shapes = body_cell.compute_output_shape((None, *pooled, base))[1]

    frames = keras.Input((None, *frame_shape), name="frames")
    state_inputs = [
        keras.Input(tuple(shape[1:]), name=f"state_{i}")
        for i, shape in enumerate([*stem_state_shapes, *body_state_shapes])
    ]
    x = Preprocessing("torch", name="preprocess")(frames)
    stem = ConvRNN(stem_cell, return_sequences=True, return_state=True, name="stem_rnn")
    body = ConvRNN(body_cell, return_sequences=True, return_state=True, name="body_rnn")
    num_stem = len(stem_state_shapes)
    stem_outputs = stem(x, initial_state=state_inputs[:num_stem]) if with_states else stem(x)
    x = FrameWise(keras.layers.MaxPooling2D(3, 2, padding="same"), name="stem_pool")(stem_outputs[0])
    body_outputs = body(x, initial_state=state_inputs[num_stem:]) if with_states else body(x)
    dropout, mask = float(config.get("dropout", 0.2)), config.get("dropout_mask", "frame")
    x = _frame_dropout(dropout, "rnn_dropout", mask)(body_outputs[0])
    x = FrameWise(keras.layers.Flatten(), name="flatten")(x)
    logits = _head(config, num_classes, x)
    if not with_states:
        return keras.Model(frames, logits, name="action_standalone")
    states = [*stem_outputs[1:], *body_outputs[1:]]
    return keras.Model([frames, *state_inputs], [logits, *states], name="action_standalone")


def build_clip_model(config: ActionConfig, num_classes: int) -> keras.Model:
    """The clip model selected by `config.model` ("backbone" or "standalone").

    Args:
        config: an `ActionConfig` (a plain mapping is converted: missing fields take the dataclass
            defaults, i.e. the paper's values).
        num_classes: classes of the head.
    """
    config = ActionConfig.from_dict(config)
    kind = config.get("model", "backbone")
    if kind == "backbone":
        return build_backbone_clip_model(config, num_classes)
    if kind == "standalone":
        return build_standalone_clip_model(config, num_classes, with_states=True)
    raise ValueError(f"model must be one of {MODELS}; received model={kind!r}")


def per_frame_cross_entropy(clip_logits: list[tf.Tensor], labels: tf.Tensor) -> tf.Tensor:
    """Mean over clips, frames and samples of CE(frame logits, video label): every prefix classifies.

    Example:
        >>> logits = [tf.constant([[[9.0, 0.0], [0.0, 0.0]]])]  # one clip, 2 frames: sure, then unsure
        >>> round(float(per_frame_cross_entropy(logits, tf.constant([0]))), 3)  # (0.000 + 0.693) / 2
        0.347
    """
    losses = []
    for logits in clip_logits:
        frames = tf.shape(logits)[1]
        targets = tf.repeat(labels[:, tf.newaxis], frames, axis=1)
        logits = tf.cast(logits, tf.float32)
        losses.append(keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True))
    return tf.add_n([tf.reduce_mean(loss) for loss in losses]) / len(losses)


def anticipation_hinge(frame_logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """The original's anticipation loss (§4.1): the true-class logit should never drop over time.

    For every frame j >= 1: max(0, max_{k<j} z_k[y] - z_j[y]), times 2, averaged over frames and batch.

    Args:
        frame_logits: (batch, time, classes).
        labels: (batch,) integer labels.

    Example:
        >>> anticipation_hinge(tf.constant([[[2.0, 0.0], [1.0, 0.0]]]), tf.constant([0])).numpy()
        2.0
    """
    logits = tf.cast(frame_logits, tf.float32)
    true_logit = tf.gather(logits, tf.cast(labels, tf.int32), axis=2, batch_dims=1)  # (batch, time)
    steps = tf.shape(true_logit)[1]
    earlier = tf.linalg.band_part(tf.ones([steps, steps]), -1, 0) - tf.eye(steps)  # [j, k] = 1 if k < j
    very_negative = tf.constant(-1e9, tf.float32)
    candidates = tf.where(earlier[tf.newaxis] > 0, true_logit[:, tf.newaxis, :], very_negative)
    running_max = tf.reduce_max(candidates, axis=2)  # (batch, time): max over k < j
    hinge = tf.nn.relu(running_max[:, 1:] - true_logit[:, 1:])
    return 2.0 * tf.reduce_mean(hinge) if frame_logits.shape[1] != 1 else tf.zeros(())


@keras.saving.register_keras_serializable(package="deep_rnn_tf")
class ActionOCTSModel(TaskModel):
    """Trains a clip model on OCTS clips: cross entropy on mean clip logits + lambda * coherence (+ hinge).

    Data: `x` (batch, N, L, H, W, 3) uint8 clips (or (batch, T, H, W, 3) whole sequences, run as one clip,
    for validation) and `y` (batch,) video labels, scored against every clip's mean-over-time logits.
    The task loss is averaged over the clips (the original summed the clips' gradients: a constant factor
    N, which Adam does not see). Reports "loss", "accuracy", "coherence", "classification" (the loss
    without the hinge and the coherence term: clip cross entropy + the weighted per-frame loss) and, with
    their weights, "anticipation_hinge" and "frame_loss".

    Args:
        clip_model: from `build_clip_model` (frames -> per-frame logits (batch, L, classes); with
            `carry_state`, `[frames, *states]` -> `[logits, *states]`).
        overlap: o, frames shared by adjacent clips (`clip_frame_indices`).
        coherence_weight: lambda (0 as the original).
        carry_state: carry detached states between clips (the standalone model).
        anticipation_weight: weight of `anticipation_hinge` (0: recognition; 1 with --anticipation).
        anticipation_warmup_steps: training steps over which the hinge's weight ramps linearly from 0
            to `anticipation_weight` (0: full weight from the first step, the original). Constant logits
            satisfy the hinge exactly, so at full weight a deep stack still on its chance plateau is
            held there; the ramp lets it leave first. Validation always scores the full weight, so the
            best-checkpoint criterion does not change along the ramp.
        frame_loss_weight: weight of a per-frame cross-entropy (the mean over every frame of every clip of
            CE(frame logits, label)) added to the task loss; 0, the original, scores only the clip's mean
            logits, so nothing asks the first frames' logits to carry the class (anticipation).
        observed_prefix: p > 0: a whole sequence (validation data) leads with the video's first p raw
            frames, which are split off and scored alone, as the anticipation test does, from a zero
            state: logs "anticipation_loss" (cross entropy of their mean logits) and
            "anticipation_accuracy"; the rest is the sequence scored as before. 0: no prefix.

    Example:
        >>> model = ActionOCTSModel(clip_model, overlap=3, anticipation_weight=1.0)
        >>> model.compile(optimizer=keras.optimizers.Adam(1e-4))
        >>> model.fit(clips, labels, epochs=2)  # doctest: +SKIP
    """

    def __init__(
        self,
        clip_model,
        overlap,
        coherence_weight=0.0,
        carry_state=False,
        anticipation_weight=0.0,
        frame_loss_weight=0.0,
        anticipation_warmup_steps=0,
        observed_prefix=0,
        **kw,
    ):
        super().__init__(**kw)
        self.clip_model = clip_model
        self.overlap = check_non_negative_int("overlap", overlap)
        self.coherence_weight = check_non_negative("coherence_weight", coherence_weight)
        self.carry_state = bool(carry_state)
        self.anticipation_weight = check_non_negative("anticipation_weight", anticipation_weight)
        self.frame_loss_weight = check_non_negative("frame_loss_weight", frame_loss_weight)
        self.anticipation_warmup_steps = check_non_negative_int(
            "anticipation_warmup_steps", anticipation_warmup_steps
        )
        self.observed_prefix = check_non_negative_int("observed_prefix", observed_prefix)

    def hinge_weight(self, training: bool) -> tf.Tensor:
        """The hinge's weight at this step: the ramp's share of `anticipation_weight` while training."""
        weight = tf.constant(self.anticipation_weight, tf.float32)
        if not training or self.anticipation_warmup_steps == 0:
            return weight
        step = tf.cast(self.optimizer.iterations, tf.float32)
        return weight * tf.minimum(1.0, step / float(self.anticipation_warmup_steps))

    def logged_names(self) -> list[str]:
        names = ["coherence", "classification"]
        names += ["anticipation_hinge"] if self.anticipation_weight > 0 else []
        names += ["anticipation_loss", "anticipation_accuracy"] if self.observed_prefix > 0 else []
        return names + (["frame_loss"] if self.frame_loss_weight > 0 else [])

    def make_metrics(self) -> list[keras.metrics.Metric]:
        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]

    def run_clips(self, clips, training=False) -> list[tf.Tensor]:
        """Per-clip frame logits of (batch, N, L, ...) clips; (batch, T, ...) sequences are one clip."""
        if len(clips.shape) == 5:  # one whole sequence (validation data): a single clip
            clips = clips[:, tf.newaxis]
        return run_clips(self.clip_model, clips, self.carry_state, training, dtype=self.compute_dtype)

    def call(self, clips, training=False):
        """Video logits (batch, classes): mean over clips and frames."""
        clip_logits = self.run_clips(clips, training=training)
        return tf.add_n([tf.reduce_mean(logits, axis=1) for logits in clip_logits]) / len(clip_logits)

    def compute_losses(self, data, training: bool) -> StepLosses:
        x, y = data[0], data[1]
        logs = {}
        if self.observed_prefix > 0 and len(x.shape) == 5:  # a validation sequence led by its first frames
            observed, x = x[:, : self.observed_prefix], x[:, self.observed_prefix :]
            logs.update(self._observed_logs(observed, y, training))
        clip_logits = self.run_clips(x, training=training)
        # The clips stacked along the batch axis (clip-major), each scored with its mean-over-time logits.
        targets = tf.concat([y] * len(clip_logits), axis=0)
        predictions = tf.concat([tf.reduce_mean(logits, axis=1) for logits in clip_logits], axis=0)
        per_clip = keras.losses.sparse_categorical_crossentropy(targets, predictions, from_logits=True)
        task = tf.reduce_sum(per_clip) / tf.cast(tf.size(per_clip), per_clip.dtype)
        if self.frame_loss_weight > 0:
            logs["frame_loss"] = per_frame_cross_entropy(clip_logits, y)
            task = task + self.frame_loss_weight * tf.cast(logs["frame_loss"], task.dtype)
        # The loss without the hinge: it does not depend on the hinge's weight, so runs trained with
        # different weights compare (and select checkpoints, --select-on val_classification) on it.
        logs["classification"] = task
        if self.anticipation_weight > 0:
            hinge = tf.add_n([anticipation_hinge(logits, y) for logits in clip_logits]) / len(clip_logits)
            logs["anticipation_hinge"] = hinge
            task = task + tf.cast(self.hinge_weight(training) * hinge, task.dtype)
        probs = [tf.nn.softmax(tf.cast(logits, tf.float32)) for logits in clip_logits]
        logs["coherence"] = coherence_sum(probs, self.overlap)
        loss = task + self.coherence_weight * tf.cast(logs["coherence"], task.dtype)
        return StepLosses(loss, logs, targets=targets, predictions=predictions)

    def _observed_logs(self, observed, labels, training: bool) -> dict[str, tf.Tensor]:
        """Anticipation from the first frames: per-video loss and hit (0/1) vectors, so the running means
        weigh every video once whatever the batch sizes."""
        logits = tf.cast(tf.reduce_mean(self.frame_logits(observed, training=training), axis=1), tf.float32)
        loss = keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
        hits = tf.cast(
            tf.equal(tf.argmax(logits, axis=-1, output_type=tf.int32), tf.cast(labels, tf.int32)), tf.float32
        )
        return {"anticipation_loss": loss, "anticipation_accuracy": hits}

    def frame_logits(self, frames: tf.Tensor, training: bool = False) -> tf.Tensor:
        """Per-frame logits (batch, time, classes) of whole sequences, from a zero state."""
        frames = tf.convert_to_tensor(frames)
        if self.carry_state:
            states = zero_states(self.clip_model, tf.shape(frames)[0], self.compute_dtype)
            outputs = self.clip_model([frames, *states], training=training)
            return outputs[0]
        return self.clip_model(frames, training=training)

    def get_config(self):
        return {
            **super().get_config(),
            "clip_model": keras.saving.serialize_keras_object(self.clip_model),
            "overlap": self.overlap,
            "coherence_weight": self.coherence_weight,
            "carry_state": self.carry_state,
            "anticipation_weight": self.anticipation_weight,
            "frame_loss_weight": self.frame_loss_weight,
            "anticipation_warmup_steps": self.anticipation_warmup_steps,
            "observed_prefix": self.observed_prefix,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["clip_model"] = keras.saving.deserialize_keras_object(config["clip_model"], custom_objects)
        return cls(**config)
