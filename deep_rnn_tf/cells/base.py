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

from typing import Any

import keras
import tensorflow as tf


def check_positive_int(name: str, value: Any) -> int:
    """Returns `value` as an int, or raises ValueError naming `name` unless it is a positive integer."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
    return value


def check_choice(name: str, value: Any, choices: tuple) -> Any:
    """Returns `value` or raises ValueError naming `name` and the allowed `choices`."""
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {choices}. Received: {name}={value!r}")
    return value


def check_probability(name: str, value: Any) -> float:
    """Returns `value` as a float in [0, 1], or raises ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"`{name}` must be a probability in [0, 1]. Received: {name}={value!r}")
    return float(value)


def temporal_dropout(x: tf.Tensor, keep_gradient: tf.Tensor) -> tf.Tensor:
    """Identity forward; backward, the gradient into `x` is multiplied by `keep_gradient` (0 or 1).

    `keep_gradient` broadcasts against `x` (one coin per call, per time step or per sample). The forward
    value is exactly `x` because `sg(x) + m * (x - sg(x))` adds an exact zero.
    """
    stopped = tf.stop_gradient(x)
    return stopped + tf.cast(keep_gradient, x.dtype) * (x - stopped)


class RecurrentCell(keras.layers.Layer):
    """Base class of the deep_rnn_tf cells (RBM, ConvLSTM, LSTM): a Keras RNN cell with a split step.

    Subclasses implement `input_projection(sequence, training)` (inputs of shape (batch, time, ...) to a
    tensor or tuple of tensors with the same two leading axes), `recurrent_step(projected, states,
    training)` -> (output, new_states), `compute_output_shape(input_shape)` -> (output_shape,
    [state_shapes]) and `num_states`. `call(x, states)` runs one time step as the Keras RNN contract asks.
    """

    #: number of state tensors the cell carries (RNN state_size needs it before `build`)
    num_states: int = 1

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self._input_shape: tuple | None = None

    # --- the Keras RNN cell contract -------------------------------------------------------------------
    @property
    def state_size(self):
        # Conv states cannot be described by an int (platform.md): -1 is a placeholder, as Keras' ConvLSTM;
        # the real shapes come from `get_initial_state` and `compute_output_shape`.
        return [-1] * self.num_states if self.num_states > 1 else -1

    def call(self, inputs, states, training=None):
        projected = self.input_projection(tf.expand_dims(inputs, 1), training=training)
        projected = tf.nest.map_structure(lambda p: p[:, 0], projected)
        return self.recurrent_step(projected, list(states), training=training)

    def get_initial_state(self, batch_size=None):
        if self._input_shape is None:
            raise ValueError(f"{self.name}: build the cell (or call it once) before asking for its state.")
        _, state_shapes = self.compute_output_shape((batch_size,) + tuple(self._input_shape[1:]))
        return [tf.zeros(shape, dtype=self.compute_dtype) for shape in state_shapes]

    def build(self, input_shape):
        self._input_shape = tuple(input_shape)

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
        return {**super().get_config(), "seed": self.seed}


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
