"""`DeepRNN`: a whole deep recurrent stack in one layer, with a time-batched fast path."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf

# Private Keras API, no public equivalent: `rnn` is the loop keras.layers.RNN itself runs (masking, unroll,
# go_backwards, dynamic length). setup.py bounds Keras; tests/test_keras_private_apis.py guards the signature.
from keras.src import backend as keras_backend

from deep_rnn_tf.cells.base import merge_time, split_time
from deep_rnn_tf.cells.deep import build_deep_cell
from deep_rnn_tf.layers.conv_rnn import ConvRNN

# Keyword arguments that configure the Keras layer; every other keyword goes to the cells.
_LAYER_KWARGS = ("name", "dtype", "trainable", "zero_output_for_mask")


@keras.saving.register_keras_serializable(package="deep_rnn_tf")
class DeepRNN(ConvRNN):
    """A deep recurrent stack (RBM, ConvLSTM, dense RBM or LSTM cells with residual jumps) in one layer.

    With `fast=True` (default) the stack runs layer by layer: each layer's input convolutions (which do
    not depend on the state) are computed for all time steps in one batched op over batch x time, and
    only the recurrent part loops over time. That is the same function as the step-by-step `DeepCell`
    (stacking order does not change a unidirectional stack) and matches it numerically; with
    `fast=False` the layer runs `DeepCell` inside Keras' RNN loop. `layer.cell` is the `DeepCell`, so a
    model can train with the fast path and decode step by step with the same weights.

    Args:
        cell: "rbm" (conv RBM), "convlstm", "dense_rbm" or "lstm".
        depth: number of layers (default 15).
        filters: channels (units) per layer: an int or one per layer.
        kernel_size: conv kernel size.
        jump: residual jump every `jump` layers (None: no jumps).
        projection: "auto", "always" or None (see `DeepCell`).
        block_pool: None or max-pool size/stride after each block.
        fast: use the time-batched layer-major path.
        return_sequences, return_state, go_backwards, stateful, unroll: as `ConvRNN`.
        **kwargs: layer keywords (name, dtype, trainable, zero_output_for_mask); all others go to every
            cell (activation, normalization, p_td, td_mode, seed, initializers, ...).

    Example:
        >>> frames = keras.Input((10, 16, 16, 8), name="frames")
        >>> h = DeepRNN("rbm", depth=15, filters=32, jump=5, p_td=0.5, return_sequences=True)(frames)
        >>> model = keras.Model(frames, keras.layers.Conv3D(1, 1)(h))
    """

    def __init__(
        self,
        cell: str = "rbm",
        depth: int = 15,
        filters: int | Sequence[int] = 64,
        kernel_size: int = 3,
        jump: int | None = 5,
        projection: str | None = "auto",
        block_pool: int | None = None,
        fast: bool = True,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        **kwargs,
    ):
        layer_kwargs = {key: kwargs.pop(key) for key in _LAYER_KWARGS if key in kwargs}
        self._cell_kwargs = dict(kwargs)
        self._spec = {
            "cell": cell,
            "depth": depth,
            "filters": filters if isinstance(filters, int) else list(filters),
            "kernel_size": kernel_size,
            "jump": jump,
            "projection": projection,
            "block_pool": block_pool,
        }
        cell_kwargs = dict(kwargs)
        if "dtype" in layer_kwargs:  # the cells compute in the layer's dtype policy (mixed precision)
            cell_kwargs["dtype"] = layer_kwargs["dtype"]
        deep_cell = build_deep_cell(**self._spec, name="deep_cell", **cell_kwargs)
        super().__init__(
            deep_cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            **layer_kwargs,
        )
        self.fast = bool(fast)

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if not self.fast:
            return super().inner_loop(sequences, initial_state, mask, training=training)
        if self.go_backwards:
            # Reverse once here; every layer then runs forward over the reversed sequence.
            sequences = tf.reverse(sequences, [1])
            mask = None if mask is None else tf.reverse(mask, [1])
        deep = self.cell
        per_layer = deep.split_states(initial_state)
        x, block_input, final_states = sequences, sequences, []
        for index, cell in enumerate(deep.cells):
            if deep.is_block_start(index):
                block_input = x
            projected = cell.input_projection(x, training=training)

            def step(projected_t, states, cell=cell):
                return cell.recurrent_step(projected_t, list(states), training=training)

            _, x, states = keras_backend.rnn(
                step,
                projected,
                list(per_layer[index]),
                mask=mask,
                unroll=self.unroll,
                # Keras reads `inputs.shape[1]` when this is None, which fails on the tuple `projected`
                # (dynamic time, e.g. an exported model); the loop still stops at the dynamic length.
                input_length=sequences.shape[1] or 2**31 - 1,
                return_all_outputs=True,
            )
            final_states.extend(states)
            if deep.is_block_end(index):
                merged = deep.close_block(index, merge_time(x), merge_time(block_input))
                x = split_time(merged, x)
        last_output, outputs = self._apply_output_mask(x, mask)
        return last_output, outputs, final_states

    def _apply_output_mask(self, outputs, mask):
        """Gives masked steps Keras' RNN semantics (previous output or zeros) on the final outputs."""
        if mask is None:
            last_output = outputs[:, -1]
        else:
            last_output, outputs, _ = keras_backend.rnn(
                lambda out_t, states: (out_t, [out_t]),
                outputs,
                [tf.zeros_like(outputs[:, 0])],
                mask=mask,
                unroll=self.unroll,
                input_length=outputs.shape[1],
                zero_output_for_mask=self.zero_output_for_mask,
                return_all_outputs=True,
            )
        if not self.return_sequences:
            outputs = last_output[:, None]
        return last_output, outputs

    def get_config(self) -> dict:
        config = keras.layers.Layer.get_config(self)
        config.update(self._spec)
        config.update(self._cell_kwargs)
        config.update(
            fast=self.fast,
            return_sequences=self.return_sequences,
            return_state=self.return_state,
            go_backwards=self.go_backwards,
            stateful=self.stateful,
            unroll=self.unroll,
            zero_output_for_mask=self.zero_output_for_mask,
        )
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)
