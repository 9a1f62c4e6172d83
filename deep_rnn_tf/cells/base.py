"""What every deep_rnn_tf recurrent cell shares: the split into an input projection and a recurrent step.

A cell's step is `h_t, s_t = f(x_t, s_{t-1})`. For every cell here the part of `f` that touches `x_t` is a
state-free linear map (a convolution or a matrix product). Splitting the step into

    pre_t          = input_projection(x_t)        # state-free: can run on all time steps at once
    h_t, states_t  = recurrent_step(pre_t, states_{t-1})

lets `DeepRNN` compute the input projections of a whole sequence as one batched op (over batch x time) and
loop only over `recurrent_step`, while `call` (the Keras RNN cell contract) composes the same two methods for
a single step, so both paths run the same code.
"""

from __future__ import annotations

import zlib

import keras
import tensorflow as tf

from deep_rnn_tf.cells.step_normalization import StepwiseBatchNormalization

# Re-exported: code written before `deep_rnn_tf.validation` existed, and the cells' gate-bias bound.
from deep_rnn_tf.validation import (  # noqa: F401
    GATE_BIAS_LIMIT,
    NORMALIZATIONS,
    check_choice,
    check_positive_int,
    check_probability,
)

# Time steps with their own statistics under normalization="batch_per_step" (the original's test reads
# 30 frames; later steps share the last row).
STEP_STATISTICS = 32


def temporal_dropout(x: tf.Tensor, keep_gradient: tf.Tensor) -> tf.Tensor:
    """Identity forward; backward, the gradient into `x` is multiplied by `keep_gradient` (0 or 1).

    `keep_gradient` broadcasts against `x` (one coin per call, per time step or per sample). The forward
    value is exactly `x` because `sg(x) + m * (x - sg(x))` adds an exact zero.
    """
    stopped = tf.stop_gradient(x)
    return stopped + tf.cast(keep_gradient, x.dtype) * (x - stopped)


def own_initializer(initializer, salt: str):
    """A copy of a random Keras `initializer` that draws values of its own for the weight named `salt`.

    A Keras 3 random initializer fixes its seed when it is made (an int drawn from Python's RNG if none is
    given), so every weight filled from one instance gets the same values: an RBM cell's R and T kernels
    started equal, and every layer of a stack built from one initializer instance started as the
    same layer. Unseeded: the copy draws a new seed (reproducible under `keras.utils.set_random_seed`);
    seeded: seed + a stable hash of `salt` (the cell and weight names), so it stays reproducible.
    Initializers without a seed (zeros, constants, `CenterIdentity`) and seed generators are returned as is.
    """
    config = initializer.get_config()
    seed = config.get("seed", "no seed")
    if seed is not None and not isinstance(seed, int):
        return initializer
    config["seed"] = None if seed is None else (seed + zlib.crc32(salt.encode())) % 2**31
    return type(initializer).from_config(config)


class RecurrentCell(keras.layers.Layer):
    """Base class of the deep_rnn_tf cells (RBM, ConvLSTM, LSTM): a Keras RNN cell with a split step.

    Subclasses implement `input_projection(sequence, training)` (inputs of shape (batch, time, ...) to a
    tensor or tuple of tensors with the same two leading axes), `recurrent_step(projected, states,
    training)` -> (output, new_states), `compute_output_shape(input_shape)` -> (output_shape,
    [state_shapes]) and `num_states`. `call(x, states)` runs one time step as the Keras RNN contract asks.

    Args (shared by every cell):
        activation: activation of the cell's output branch (tanh for LSTMs, phi for the RBM).
        recurrent_activation: activation of the gates (sigmoid).
        use_bias: add biases.
        kernel_initializer, recurrent_initializer, bias_initializer: Keras initializers of the input
            kernels, the state kernels and the biases.
        kernel_regularizer, recurrent_regularizer, bias_regularizer: optional Keras regularizers.
            Each weight gets its own copy (`own_initializer`), so weights sharing an initializer differ.
        seed: seed of the cell's random draws (temporal dropout).

    Example:
        >>> class MyCell(RecurrentCell): ...   # implement the four methods above
    """

    #: number of state tensors the cell carries (RNN state_size needs it before `build`)
    num_states: int = 1
    #: rank of one time step's input: 4 (batch, H, W, C) for conv cells, 2 (batch, features) for dense ones
    step_rank: int = 4

    def __init__(
        self,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.activation = keras.activations.get(activation)
        self.recurrent_activation = keras.activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = keras.regularizers.get(recurrent_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.seed = seed
        self._input_shape: tuple | None = None

    # --- the Keras RNN cell contract -------------------------------------------------------------------
    @property
    def state_size(self):
        # Conv states cannot be described by an int (docs/reference/platform.md): -1 is a placeholder, as
        # Keras' ConvLSTM; the real shapes come from `get_initial_state` and `compute_output_shape`.
        return [-1] * self.num_states if self.num_states > 1 else -1

    def call(self, inputs, states, training=None, step=None):
        """One step. `step` (optional int scalar tensor): this step's index in its sequence, for cells that
        keep statistics per step (`RBMCell(normalization="batch_per_step")`) when the caller drives them
        one step per call; other cells ignore it."""
        projected = self.input_projection(tf.expand_dims(inputs, 1), training=training)
        projected = tf.nest.map_structure(lambda p: p[:, 0], projected)
        if step is not None:
            projected = self.at_step(projected, step)
        return self.recurrent_step(projected, list(states), training=training)

    def at_step(self, projected, step):
        """The one-step projection told which time step it is (only cells with per-step statistics use
        it: their projection's last element is the step index, see `_with_step_index`)."""
        if getattr(self, "normalization", None) != "batch_per_step":
            return projected
        *pre, index = projected
        return (*pre, tf.fill(tf.shape(index), tf.cast(step, index.dtype)))

    # --- normalisation of pre-activations (cells with a `normalization` argument) -----------------------
    def _make_normalization(self, name: str, offset: float = 0.0) -> keras.layers.Layer:
        """The normalisation `self.normalization` of one pre-activation; `offset`: its shift's start.

        "batch": PyTorch's BatchNorm defaults (momentum 0.9 in Keras terms, eps 1e-5), as the original's
        action cells; "batch_per_step": the same with moving statistics per time step; "layer": per
        sample, over H, W, C (conv cells) or the features (dense cells).
        """
        shift = keras.initializers.Constant(offset)
        common = {"epsilon": 1e-5, "beta_initializer": shift, "name": name, "dtype": self.dtype_policy}
        if self.normalization == "batch":
            return keras.layers.BatchNormalization(momentum=0.9, **common)
        if self.normalization == "batch_per_step":
            return StepwiseBatchNormalization(STEP_STATISTICS, momentum=0.9, **common)
        if self.step_rank == 2:
            return keras.layers.LayerNormalization(**common)
        return keras.layers.GroupNormalization(groups=1, **common)

    def _with_step_index(self, projected: tuple, sequence: tf.Tensor) -> tuple:
        """`projected` + the (batch, time, 1) step index under "batch_per_step", so the step function knows
        which statistics to use. Counted within this sequence: a cell driven one step per call sees step
        0 every time unless the caller passes `step=` (`call`)."""
        if getattr(self, "normalization", None) != "batch_per_step":
            return projected
        shape = tf.shape(sequence)
        # (batch, time, 1): Keras' loop wants a rank of at least 3 for every input.
        return (*projected, tf.broadcast_to(tf.range(shape[1])[None, :, None], [shape[0], shape[1], 1]))

    @staticmethod
    def _step_kwargs(index_part: list) -> dict:
        """{"step": t} for the normalisation layers from `recurrent_step`'s optional index element (every
        sample of the batch is at the same step)."""
        return {"step": index_part[0][0, 0]} if index_part else {}

    def get_initial_state(self, batch_size=None):
        if self._input_shape is None:
            raise ValueError(f"{self.name}: build the cell (or call it once) before asking for its state.")
        _, state_shapes = self.compute_output_shape((batch_size,) + tuple(self._input_shape[1:]))
        return [tf.zeros(shape, dtype=self.compute_dtype) for shape in state_shapes]

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != self.step_rank:
            layout = "(batch, H, W, C)" if self.step_rank == 4 else "(batch, features)"
            raise ValueError(
                f"{self.name}: {type(self).__name__} expects per-step inputs of rank {self.step_rank} "
                f"{layout}; received input_shape={input_shape}"
            )
        if input_shape[-1] is None:
            raise ValueError(
                f"{self.name}: the channel axis of the input must be known; received {input_shape}"
            )
        self._input_shape = input_shape

    # --- to implement ------------------------------------------------------------------------------------
    def input_projection(self, sequence, training=None):
        raise NotImplementedError

    def recurrent_step(self, projected, states, training=None):
        raise NotImplementedError

    # --- temporal dropout --------------------------------------------------------------------------------
    def _keep_gradient_mask(self, sequence: tf.Tensor, p_drop: float, per_sample: bool) -> tf.Tensor:
        """Bernoulli(1 - p_drop) coins: one per time step (batch-shared) or per (sample, time step).

        Drawn with Keras' seeded random ops so a traced function draws anew on every call (Python's
        `random` would freeze the coin at trace time, the original TF1 code's bug).
        """
        shape = tf.shape(sequence)
        rank = len(sequence.shape)
        batch = shape[0] if per_sample else 1
        coin_shape = tf.concat([[batch, shape[1]], tf.ones([rank - 2], tf.int32)], axis=0)
        uniform = keras.random.uniform(coin_shape, seed=self._seed_generator)
        keep = tf.cast(uniform >= p_drop, sequence.dtype)
        # Broadcast the batch-shared coins to every sample, so the mask merges with (batch * time).
        return tf.broadcast_to(keep, tf.concat([shape[:2], tf.ones([rank - 2], tf.int32)], axis=0))

    def _make_seed_generator(self) -> None:
        self._seed_generator = keras.random.SeedGenerator(self.seed)

    def get_config(self) -> dict:
        ser = keras.saving.serialize_keras_object
        return {
            **super().get_config(),
            "activation": keras.activations.serialize(self.activation),
            "recurrent_activation": keras.activations.serialize(self.recurrent_activation),
            "use_bias": self.use_bias,
            "kernel_initializer": ser(self.kernel_initializer),
            "recurrent_initializer": ser(self.recurrent_initializer),
            "bias_initializer": ser(self.bias_initializer),
            "kernel_regularizer": ser(self.kernel_regularizer),
            "recurrent_regularizer": ser(self.recurrent_regularizer),
            "bias_regularizer": ser(self.bias_regularizer),
            "seed": self.seed,
        }


def merge_time(sequence: tf.Tensor) -> tf.Tensor:
    """(batch, time, ...) -> (batch * time, ...), so a per-frame op runs once over the whole sequence."""
    shape = tf.shape(sequence)
    return tf.reshape(sequence, tf.concat([[shape[0] * shape[1]], shape[2:]], axis=0))


def split_time(merged: tf.Tensor, like: tf.Tensor) -> tf.Tensor:
    """Inverse of `merge_time`: (batch * time, ...) -> (batch, time, ...) with `like`'s batch and time."""
    lead = tf.shape(like)[:2]
    out = tf.reshape(merged, tf.concat([lead, tf.shape(merged)[1:]], axis=0))
    out.set_shape(like.shape[:2].concatenate(merged.shape[1:]))
    return out
