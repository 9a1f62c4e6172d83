"""Polygon-RNN with a deep recurrent decoder (original.md §5): VGG16-shaped encoder + deep RBM / ConvLSTM.

- **Encoder.** The VGG16(-BN) layout (conv 3x3 + BN + ReLU; Keras' VGG16 layer names so its ImageNet
  weights can be copied in) with skip heads to 28x28: maxpool(block2_pool), block3_pool, block4_conv3
  and upsample x2 of block5_conv3 (after its head), each conv 3x3 -> `skip_channels` + ReLU + BN,
  concatenated, then conv 3x3 -> `feature_channels` + ReLU + BN = F (28x28). `width` scales every VGG
  width (1.0 = VGG16; the CPU preset uses 1/8). Pixels are preprocessed inside the model (caffe style,
  as Keras' VGG16 expects), so the model takes uint8 crops.
- **Decoder.** Per step the input is [F; first-vertex map; vertex(t-2) map; vertex(t-1) map] on the 28x28
  grid -> `DeepRNN` of RBM (tanh, no normalisation, no jumps, p_TD 0.5: the original polygon cell) or
  ConvLSTM cells -> head -> 785 logits (784 cells + end-of-polygon).
- **Head.** "dense" (default): [flattened last hidden map; vertex t-2 map; vertex t-1 map] -> Linear -> 785
  logits: the original's input to its FC layers (the RBM output concatenated with the previous two
  vertices' one-hots) with its FC LSTM 7846->1568 left out (59 M parameters the README's counts omit).
  "conv": a 1x1 conv on [hidden; vertex maps] gives the 784 cell logits, a Linear on the pooled map the
  end-of-polygon logit (translation-equivariant, far fewer parameters).
- **Start tokens simplified.** The original's two start tokens (785, 786) are dropped: at step 0 all three
  vertex maps are zero in training and in decoding alike (the original trained with zeros but decoded with
  the start tokens, §10.7). The vocabulary is 785.
- **Training (OCTS, §3c).** Teacher forcing: the T = max_vertices + 1 target steps (vertices, then
  end-of-polygon; steps after it are masked) are cut into `num_windows` overlapping windows
  (`window_bounds`), each run from a zero state as an independent sequence (no state carried, as the
  original). Loss = masked mean cross-entropy + lambda * sum_k coherence_loss(window k-1, window k) /
  (windows x window length), the original's scaling, with probabilities zeroed on masked steps. Unlike
  the original, the first-vertex map is zero only at global step 0 (not at step 0 of every window), which
  is what decoding sees.
- **Decoding.** Greedy, inside the graph (`tf.while_loop`), so the exported SavedModel decodes without
  Python: step 0 from zero maps, then the first/previous vertex maps are the argmax predictions; the
  end-of-polygon token is masked until `min_vertices` vertices exist; the loop stops when every polygon
  of the batch has ended or after T steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from deep_rnn_tf import DeepRNN
from deep_rnn_tf.data.polygons import CELL_SIZE, CROP_SIZE, EOS_TOKEN, GRID_SIZE, VOCAB_SIZE
from deep_rnn_tf.layers.preprocessing import Preprocessing
from deep_rnn_tf.tasks.polygon.config import PAPER_FILTERS
from deep_rnn_tf.training.octs import window_bounds
from deep_rnn_tf.training.trainer import StepLosses, TaskModel, coherence_sum, stack_windows
from deep_rnn_tf.validation import check_choice, check_positive_int

VGG16_WIDTHS = (64, 128, 256, 512, 512)
VGG16_CONVS = (2, 2, 3, 3, 3)
RNN_KINDS = ("rbm", "convlstm")
HEADS = ("dense", "conv")


def _conv_bn_relu(x, filters: int, name: str):
    x = keras.layers.Conv2D(filters, 3, padding="same", name=name)(x)
    x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


def build_polygon_encoder(
    width: float = 1.0, skip_channels: int = 128, feature_channels: int = 128, image_size: int = CROP_SIZE
) -> keras.Model:
    """The VGG16-shaped skip-feature CNN: preprocessed (H, W, 3) floats -> (H/8, W/8, feature_channels).

    Args:
        width: multiplier of the VGG16 widths (1.0 = VGG16: 64, 128, 256, 512, 512).
        skip_channels: channels of each of the four skip heads (128 in the original).
        feature_channels: channels of F (128 in the original).
        image_size: side of the square input (224).

    Example:
        >>> build_polygon_encoder(width=0.125, skip_channels=16, feature_channels=16).output_shape
        (None, 28, 28, 16)
    """
    if not 0 < width <= 1:
        raise ValueError(f"width must be in (0, 1]; received width={width!r}")
    inputs = keras.Input((image_size, image_size, 3), name="pixels")
    widths = [max(4, int(round(w * width))) for w in VGG16_WIDTHS]
    x, taps = inputs, {}
    for block, (filters, convs) in enumerate(zip(widths, VGG16_CONVS, strict=True), start=1):
        if block == 5:
            x = keras.layers.MaxPooling2D(name="block4_pool")(x)
        for index in range(1, convs + 1):
            x = _conv_bn_relu(x, filters, f"block{block}_conv{index}")
        taps[f"block{block}"] = x
        if block <= 3:
            x = keras.layers.MaxPooling2D(name=f"block{block}_pool")(x)
            taps[f"block{block}_pool"] = x
    skips = [
        _conv_bn_relu(
            keras.layers.MaxPooling2D(name="skip1_pool")(taps["block2_pool"]), skip_channels, "skip1"
        ),
        _conv_bn_relu(taps["block3_pool"], skip_channels, "skip2"),
        _conv_bn_relu(taps["block4"], skip_channels, "skip3"),
        keras.layers.UpSampling2D(2, interpolation="bilinear", name="skip4_up")(
            _conv_bn_relu(taps["block5"], skip_channels, "skip4")
        ),
    ]
    merged = keras.layers.Concatenate(name="skips")(skips)
    features = _conv_bn_relu(merged, feature_channels, "features")
    return keras.Model(inputs, features, name="polygon_encoder")


def load_vgg16_weights(encoder: keras.Model, weights: str | None) -> int:
    """Copies Keras VGG16 conv weights ("imagenet" or a local ``.h5``/``.weights.h5``) into the encoder.

    Only a width-1.0 encoder matches; "none"/None does nothing.

    Args:
        encoder: from :func:`build_polygon_encoder`.
        weights: "imagenet" (downloaded by Keras on a connected machine), a local file, or "none"/None.

    Returns:
        The number of conv layers copied.

    Raises:
        ValueError: the file cannot be loaded or the encoder is not VGG16-wide (names the file).

    Example:
        >>> load_vgg16_weights(encoder, "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5")
        13
    """
    if weights in (None, "", "none"):
        return 0
    try:
        vgg = keras.applications.VGG16(
            include_top=False, weights=weights, input_shape=(CROP_SIZE, CROP_SIZE, 3)
        )
    except (ValueError, OSError) as error:
        raise ValueError(f"{weights}: cannot load VGG16 weights ({error})") from error
    copied = 0
    for layer in vgg.layers:
        if isinstance(layer, keras.layers.Conv2D):
            target = encoder.get_layer(layer.name)
            if target.kernel.shape != layer.kernel.shape:
                raise ValueError(
                    f"{weights}: encoder layer {layer.name} has kernel {target.kernel.shape}, VGG16 has "
                    f"{layer.kernel.shape}; ImageNet weights need encoder width 1.0"
                )
            target.set_weights(layer.get_weights())
            copied += 1
    return copied


def decoder_filters(depth: int, base: Sequence[int] | None = None) -> list[int]:
    """The decoder widths: `base` if given, else the original's list for depth 2, 5, 10 or 15.

    Example:
        >>> decoder_filters(5)
        [128, 128, 64, 32, 8]
    """
    if base is not None:
        base = [int(b) for b in base]
        if len(base) != depth:
            raise ValueError(f"filters must have one entry per layer ({depth}); received filters={base!r}")
        return base
    if depth not in PAPER_FILTERS:
        raise ValueError(
            f"depth must be one of {sorted(PAPER_FILTERS)} without explicit filters; received {depth}"
        )
    return list(PAPER_FILTERS[depth])


@keras.saving.register_keras_serializable(package="deep_rnn_tf")
class PolygonRNN(TaskModel):
    """Polygon-RNN with a deep recurrent decoder; trains with OCTS teacher forcing, decodes greedily.

    `model(images)` (uint8 or float (batch, 224, 224, 3)) decodes and returns a dict: `tokens` (batch, T)
    int32 (grid cells, then `EOS_TOKEN`), `length` (batch,) int32 (vertices before end-of-polygon) and
    `vertices` (batch, T, 2) float32 cell centres (x, y) in crop pixels, -1 after `length`.
    `fit` takes batches `(images, sequences)`, sequences (batch, T) int32: cells, `EOS_TOKEN`, then -1.

    Args:
        rnn: "rbm" (deep conv RBM decoder) or "convlstm" (Polyg-LSTM).
        filters: decoder widths, one per layer (see :func:`decoder_filters`).
        encoder_width: VGG16 width multiplier.
        skip_channels: channels of the encoder's skip heads.
        feature_channels: channels of F.
        max_vertices: longest vertex sequence; T = max_vertices + 1 steps.
        num_windows: OCTS windows per sequence (1 = plain teacher forcing over T steps).
        window_len: OCTS window length (None: int(1.5 T / num_windows), the original's).
        coherence_weight: lambda of the coherence term (0.8, the original's).
        head: "dense" or "conv" (module docstring).
        p_td: temporal-dropout probability of the RBM cells (0.5, the original polygon code's).
        gate_bias: initial temporal-gate bias of the RBM cells (0, the original: every gate starts at 1/2);
            for ConvLSTM cells, added to the input- and output-gate biases (0: Keras' start).
        jump: a residual jump every `jump` decoder layers (1x1 projection where the width changes), or
            None: no jumps, the original polygon stack. Deep decoders train faster with jumps.
        min_vertices: end-of-polygon is not allowed before this many vertices when decoding.
        target_sigma: 0 for hard cross-entropy targets (the original); > 0 smooths each vertex target
            into a Gaussian of this many cells (Polygon-RNN++), so near misses cost less.
        seed: seed of the temporal-dropout coins.

    Example:
        >>> model = PolygonRNN(filters=[16, 8], encoder_width=0.125, skip_channels=16, feature_channels=16,
        ...                    max_vertices=20, num_windows=3)
        >>> model.compile(optimizer=keras.optimizers.Adam(1e-4))
        >>> model.fit(dataset_of_images_and_sequences, epochs=1)
        >>> model(images)["vertices"]
    """

    def __init__(
        self,
        rnn: str = "rbm",
        filters: Sequence[int] = (256, 256, 128, 128, 128, 128, 64, 64, 64, 64, 64, 64, 32, 32, 8),
        encoder_width: float = 1.0,
        skip_channels: int = 128,
        feature_channels: int = 128,
        max_vertices: int = 57,
        num_windows: int = 8,
        window_len: int | None = None,
        coherence_weight: float = 0.8,
        head: str = "dense",
        p_td: float = 0.5,
        gate_bias: float = 0.0,
        min_vertices: int = 3,
        target_sigma: float = 0.0,
        seed: int | None = None,
        jump: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_choice("rnn", rnn, RNN_KINDS)
        check_choice("head", head, HEADS)
        if not isinstance(max_vertices, int) or max_vertices < 3:
            raise ValueError(f"max_vertices must be an int >= 3; received max_vertices={max_vertices!r}")
        if coherence_weight < 0:
            raise ValueError(f"coherence_weight must be >= 0; received coherence_weight={coherence_weight!r}")
        if not 0 <= min_vertices <= max_vertices:
            raise ValueError(
                f"min_vertices must be in [0, max_vertices]; received min_vertices={min_vertices!r}"
            )
        self.rnn_kind = rnn
        self.jump = None if jump is None else check_positive_int("jump", jump)
        self.filters = [int(f) for f in filters]
        self.encoder_width = float(encoder_width)
        self.skip_channels = int(skip_channels)
        self.feature_channels = int(feature_channels)
        self.max_vertices = max_vertices
        self.num_steps = max_vertices + 1
        self.window_starts, self.window_len, self.window_overlaps = window_bounds(
            self.num_steps, num_windows, window_len
        )
        self.num_windows = num_windows
        self.window_len_arg = window_len
        self.coherence_weight = float(coherence_weight)
        self.head = head
        self.p_td = float(p_td)
        self.gate_bias = float(gate_bias)
        self.min_vertices = int(min_vertices)
        if target_sigma < 0:
            raise ValueError(f"target_sigma must be >= 0; received target_sigma={target_sigma!r}")
        self.target_sigma = float(target_sigma)
        self.seed = seed

        self.encoder = build_polygon_encoder(self.encoder_width, self.skip_channels, self.feature_channels)
        cell_kwargs = {"gate_bias": self.gate_bias}
        if rnn == "rbm":
            cell_kwargs.update(activation="tanh", p_td=self.p_td, seed=seed)
        # No normalisation and, by default, no jumps: the original polygon stack (§1.1).
        self.rnn = DeepRNN(
            rnn, depth=len(self.filters), filters=self.filters, jump=self.jump, return_sequences=True,
            unroll=True, name="decoder", **cell_kwargs,
        )  # fmt: skip
        if head == "dense":
            self.logits_layer = keras.layers.Dense(VOCAB_SIZE, dtype="float32", name="logits")
        else:
            self.cell_logits_layer = keras.layers.Conv2D(1, 1, dtype="float32", name="cell_logits")
            self.eos_logit_layer = keras.layers.Dense(1, dtype="float32", name="eos_logit")
        self.preprocess = Preprocessing("caffe", name="preprocess")  # VGG16's caffe mode
        self.build((None, CROP_SIZE, CROP_SIZE, 3))

    # ------------------------------------------------------------------------------------------ building
    @property
    def step_channels(self) -> int:
        """Channels of the decoder's per-step input: F + three vertex maps."""
        return self.feature_channels + 3

    def build(self, input_shape=None):
        step_shape = (None, GRID_SIZE, GRID_SIZE, self.step_channels)
        self.rnn.build((None, self.window_len, *step_shape[1:]))
        hidden = (None, GRID_SIZE, GRID_SIZE, self.filters[-1])
        if self.head == "dense":
            self.logits_layer.build((None, GRID_SIZE * GRID_SIZE * (self.filters[-1] + 2)))
        else:
            self.cell_logits_layer.build((*hidden[:3], self.filters[-1] + 2))
            self.eos_logit_layer.build((None, 2 * self.filters[-1]))
        self.built = True

    def logged_names(self) -> list[str]:
        return ["cross_entropy", "coherence", "accuracy"]

    # ------------------------------------------------------------------------------------------- pieces
    def encode(self, images, training=False):
        """uint8/float RGB crops (batch, 224, 224, 3) -> F (batch, 28, 28, feature_channels)."""
        return self.encoder(self.preprocess(images), training=training)

    def logits_from_hidden(self, hidden, previous_maps):
        """Decoder map (batch, 28, 28, c) + vertex maps t-2, t-1 (batch, 28, 28, 2) -> logits (batch, 785).

        The previous vertices reach the head directly, as in the original (its flattened RBM output was
        concatenated with the one-hots of vertices t-2 and t-1 before the FC layers).
        """
        if self.head == "dense":
            flat_hidden = tf.reshape(hidden, [-1, GRID_SIZE * GRID_SIZE * self.filters[-1]])
            flat_maps = tf.reshape(tf.transpose(previous_maps, [0, 3, 1, 2]), [-1, 2 * GRID_SIZE * GRID_SIZE])
            return self.logits_layer(tf.concat([flat_hidden, tf.cast(flat_maps, flat_hidden.dtype)], axis=-1))
        merged = tf.concat([hidden, tf.cast(previous_maps, hidden.dtype)], axis=-1)
        cells = tf.reshape(self.cell_logits_layer(merged), [-1, GRID_SIZE * GRID_SIZE])
        pooled = tf.concat([tf.reduce_mean(hidden, axis=[1, 2]), tf.reduce_max(hidden, axis=[1, 2])], axis=-1)
        return tf.concat([cells, self.eos_logit_layer(pooled)], axis=-1)

    def _vertex_maps(self, tokens, dtype):
        """Tokens (...,) -> (..., 28, 28) one-hot maps; end-of-polygon and -1 give zero maps."""
        onehot = tf.one_hot(tokens, VOCAB_SIZE, dtype=dtype)[..., :EOS_TOKEN]
        return tf.reshape(onehot, tf.concat([tf.shape(tokens), [GRID_SIZE, GRID_SIZE]], axis=0))

    def teacher_forced_inputs(self, features, sequences):
        """Per-step decoder inputs (batch, T, 28, 28, C + 3) from F and the target sequences."""
        dtype = features.dtype
        maps = self._vertex_maps(sequences, dtype)  # (B, T, 28, 28)
        zeros = tf.zeros_like(maps[:, :1])
        previous = tf.concat([zeros, maps[:, :-1]], axis=1)
        before_previous = tf.concat([zeros, zeros, maps[:, :-2]], axis=1)
        first = tf.concat([zeros, tf.repeat(maps[:, :1], self.num_steps - 1, axis=1)], axis=1)
        vertex_maps = tf.stack([first, before_previous, previous], axis=-1)
        tiled = tf.repeat(features[:, None], self.num_steps, axis=1)
        return tf.concat([tiled, vertex_maps], axis=-1)

    def _windows(self, steps):
        """(B, T, ...) -> (B * N, L, ...) windows, window-major within each sample."""
        windows = stack_windows(steps, self.window_starts, self.window_len)
        shape = tf.shape(windows)
        return tf.reshape(windows, tf.concat([[shape[0] * shape[1]], shape[2:]], axis=0))

    def window_logits(self, images, sequences, training=False):
        """Teacher-forced logits (B, N, L, 785) of every OCTS window."""
        features = self.encode(images, training=training)
        steps = self._windows(self.teacher_forced_inputs(features, sequences))
        hidden = self.rnn(steps, training=training)  # (B * N, L, 28, 28, c)
        flat = tf.reshape(hidden, [-1, GRID_SIZE, GRID_SIZE, self.filters[-1]])
        previous_maps = tf.reshape(steps[..., -2:], [-1, GRID_SIZE, GRID_SIZE, 2])  # vertices t-2, t-1
        logits = self.logits_from_hidden(flat, previous_maps)
        return tf.reshape(logits, [-1, self.num_windows, self.window_len, VOCAB_SIZE])

    def soft_targets(self, targets):
        """Targets (...,) -> distributions (..., 785): a Gaussian of `target_sigma` cells around a vertex
        (Polygon-RNN++'s smoothed targets), one-hot for end-of-polygon (and for masked steps)."""
        coords = tf.constant(
            np.stack(np.divmod(np.arange(GRID_SIZE * GRID_SIZE), GRID_SIZE), axis=-1), tf.float32
        )  # (784, 2) = (row, col)
        cell = tf.clip_by_value(targets, 0, EOS_TOKEN - 1)
        centre = tf.cast(tf.stack([cell // GRID_SIZE, cell % GRID_SIZE], axis=-1), tf.float32)[..., None, :]
        weights = tf.exp(-tf.reduce_sum(tf.square(coords - centre), -1) / (2.0 * self.target_sigma**2))
        weights = weights / tf.reduce_sum(weights, axis=-1, keepdims=True)
        is_vertex = tf.logical_and(targets >= 0, targets < EOS_TOKEN)[..., None]
        soft = tf.concat([weights, tf.zeros_like(weights[..., :1])], axis=-1)
        return tf.where(is_vertex, soft, tf.one_hot(tf.maximum(targets, 0), VOCAB_SIZE))

    def octs_losses(self, sequences, logits):
        """(total loss, cross-entropy, coherence, accuracy) of teacher-forced window logits."""
        targets = stack_windows(sequences, self.window_starts, self.window_len)
        mask = tf.cast(targets >= 0, tf.float32)
        if self.target_sigma > 0:
            per_step = tf.nn.softmax_cross_entropy_with_logits(self.soft_targets(targets), logits)
        else:
            per_step = tf.nn.sparse_softmax_cross_entropy_with_logits(tf.maximum(targets, 0), logits)
        valid = tf.maximum(tf.reduce_sum(mask), 1.0)
        ce = tf.reduce_sum(per_step * mask) / valid
        hits = tf.cast(tf.equal(tf.argmax(logits, -1, output_type=targets.dtype), targets), tf.float32)
        accuracy = tf.reduce_sum(hits * mask) / valid
        probs = tf.nn.softmax(logits) * mask[..., None]
        coherence = coherence_sum(probs, self.window_overlaps) / float(self.num_windows * self.window_len)
        return ce + self.coherence_weight * coherence, ce, coherence, accuracy

    # ---------------------------------------------------------------------------------------- training
    def _unpack(self, data):
        images, sequences = data[0], data[1]
        if sequences.shape.rank != 2 or sequences.shape[1] not in (None, self.num_steps):
            raise ValueError(
                f"target sequences must be (batch, max_vertices + 1 = {self.num_steps}); received shape "
                f"{tuple(sequences.shape)} (are the crops' max_vertices and the model's the same?)"
            )
        return images, tf.cast(sequences, tf.int32)

    def compute_losses(self, data, training: bool) -> StepLosses:
        """OCTS teacher forcing: masked cross-entropy + lambda * coherence over the windows."""
        images, sequences = self._unpack(data)
        logits = self.window_logits(images, sequences, training=training)
        loss, ce, coherence, accuracy = self.octs_losses(sequences, logits)
        return StepLosses(loss, {"cross_entropy": ce, "coherence": coherence, "accuracy": accuracy})

    # ---------------------------------------------------------------------------------------- decoding
    def call(self, images, training=False):
        return self.decode(images)

    def decode(self, images):
        """Greedy decoding in the graph; returns {"tokens", "length", "vertices"} (class docstring)."""
        features = self.encode(images, training=False)
        batch = tf.shape(features)[0]
        cell = self.rnn.cell
        states = [tf.cast(s, features.dtype) for s in cell.get_initial_state(batch)]
        zero_map = tf.zeros([batch, GRID_SIZE, GRID_SIZE], features.dtype)
        eos_mask = tf.one_hot(EOS_TOKEN, VOCAB_SIZE, on_value=-1e9, off_value=0.0)

        steps_axis = tf.range(self.num_steps)

        def body(t, states, first, before_previous, previous, done, tokens):
            step_input = tf.concat([features, tf.stack([first, before_previous, previous], axis=-1)], -1)
            hidden, new_states = cell(step_input, states, training=False)
            logits = self.logits_from_hidden(hidden, tf.stack([before_previous, previous], axis=-1))
            logits = tf.cond(t < self.min_vertices, lambda: logits + eos_mask, lambda: logits)
            token = tf.argmax(logits, axis=-1, output_type=tf.int32)
            # Past max_vertices only end-of-polygon is left (T = max_vertices + 1 steps).
            token = tf.where(done | (t >= self.max_vertices), EOS_TOKEN, token)
            new_map = self._vertex_maps(token, features.dtype)
            first = tf.cond(tf.equal(t, 0), lambda: new_map, lambda: first)
            # A fixed-shape update (no TensorArray), so the loop also compiles with XLA (--jit).
            tokens = tf.where(tf.equal(steps_axis, t)[None, :], token[:, None], tokens)
            return (
                t + 1,
                list(new_states),
                first,
                previous,
                new_map,
                done | tf.equal(token, EOS_TOKEN),
                tokens,
            )

        def keep_going(t, states, first, before_previous, previous, done, tokens):
            return tf.logical_and(t < self.num_steps, tf.logical_not(tf.reduce_all(done)))

        loop_vars = (
            tf.constant(0), states, zero_map, zero_map, zero_map, tf.zeros([batch], tf.bool),
            tf.fill([batch, self.num_steps], EOS_TOKEN),
        )  # fmt: skip
        *_, tokens = tf.while_loop(keep_going, body, loop_vars, maximum_iterations=self.num_steps)
        return tokens_to_outputs(tokens)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            rnn=self.rnn_kind,
            filters=list(self.filters),
            encoder_width=self.encoder_width,
            skip_channels=self.skip_channels,
            feature_channels=self.feature_channels,
            max_vertices=self.max_vertices,
            num_windows=self.num_windows,
            window_len=self.window_len_arg,
            coherence_weight=self.coherence_weight,
            head=self.head,
            p_td=self.p_td,
            gate_bias=self.gate_bias,
            min_vertices=self.min_vertices,
            target_sigma=self.target_sigma,
            seed=self.seed,
            jump=self.jump,
        )
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = {key: value for key, value in config.items() if key != "trainable"}
        return cls(**config)


def tokens_to_outputs(tokens: tf.Tensor) -> dict[str, tf.Tensor]:
    """Decoded tokens (batch, T) -> {"tokens", "length", "vertices" (cell centres in crop pixels, -1 pad)}.

    Example:
        >>> tokens_to_outputs(tf.constant([[0, 29, 784]]))["vertices"]  # [[3.5, 3.5], [11.5, 11.5], [-1, -1]]
    """
    is_vertex = tokens < EOS_TOKEN
    valid = tf.cast(tf.math.cumprod(tf.cast(is_vertex, tf.int32), axis=1), tf.bool)
    length = tf.reduce_sum(tf.cast(valid, tf.int32), axis=1)
    centre = (CELL_SIZE - 1) / 2
    cols = tf.cast(tokens % GRID_SIZE, tf.float32) * CELL_SIZE + centre
    rows = tf.cast(tokens // GRID_SIZE, tf.float32) * CELL_SIZE + centre
    vertices = tf.where(valid[..., None], tf.stack([cols, rows], axis=-1), -1.0)
    return {"tokens": tf.where(valid, tokens, EOS_TOKEN), "length": length, "vertices": vertices}


def sequences_from_tokens(tokens: np.ndarray, max_vertices: int) -> np.ndarray:
    """A training target row (T,) int32: the (truncated) tokens, end-of-polygon, then -1.

    Example:
        >>> sequences_from_tokens(np.array([5, 9, 40]), 4)
        array([  5,   9,  40, 784,  -1], dtype=int32)
    """
    tokens = np.asarray(tokens, dtype=np.int32)[:max_vertices]
    row = np.full(max_vertices + 1, -1, np.int32)
    row[: len(tokens)] = tokens
    row[len(tokens)] = EOS_TOKEN
    return row
