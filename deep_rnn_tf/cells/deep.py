"""`DeepCell`: a deep stack of recurrent cells run bottom-up inside one time step, with residual jumps.

Keras' `StackedRNNCells` cannot stack conv cells (it derives each next input shape from an int
`state_size`, docs/reference/platform.md), so the stack is one cell of our own whose state is the flat list
of the per-layer states.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf

from deep_rnn_tf.cells.base import RecurrentCell
from deep_rnn_tf.cells.lstm import ConvLSTMCell, LSTMCell
from deep_rnn_tf.cells.rbm import DenseRBMCell, RBMCell, check_merges
from deep_rnn_tf.validation import check_choice, check_positive_int

PROJECTIONS = ("auto", "always", "conv_bn_relu", None)


@keras.saving.register_keras_serializable(package="deep_rnn_tf")
class DeepCell(keras.layers.Layer):
    """One RNN cell that owns a list of cells and runs them bottom-up within a time step.

    Every `jump` layers the input of the block (the `jump` layers just run) is added to the block's output
    ("jump" / residual connections, docs/reference/original.md §1.1): as it is when shapes agree, through a
    1x1 projection (convolution, strided if the block reduced the resolution; dense for vector cells) when
    they differ. Only whole blocks get a jump: the last `len(cells) % jump` layers run without one, so a
    stack shallower than `jump` has none (a preset's `jump=5` means nothing at depth 3 and a jump every 5
    layers at depth 15).
    Optionally each block ends with a max-pool (`block_pool`, "same" padding = ceil mode, e.g. 7->4->2->1
    for the backbone action model).

    Args:
        cells: list of deep_rnn_tf cells (`RBMCell`, `DenseRBMCell`, `ConvLSTMCell`, `LSTMCell`, any mix
            whose shapes chain).
        jump: residual every `jump` layers (positive int), or None for no jumps.
        projection: "auto" (identity when the shapes match, else a 1x1 projection), "always" (always a
            1x1 projection), "conv_bn_relu" (always a 1x1 projection + batch norm + ReLU: the original's
            `ShortCut`, original.md §1.1) or None (identity only: a block whose output shape differs from
            its input's is an error).
        block_pool: None, or the size and stride of a max-pool applied after each residual block.

    State: the flat list of every layer's states, bottom layer first (`split_states` regroups them).

    Example:
        >>> from deep_rnn_tf import ConvRNN, RBMCell
        >>> cell = DeepCell([RBMCell(16) for _ in range(10)], jump=5)
        >>> y = ConvRNN(cell)(keras.random.normal((2, 6, 8, 8, 16)))   # (2, 8, 8, 16)
    """

    def __init__(
        self,
        cells: Sequence[RecurrentCell],
        jump: int | None = 5,
        projection: str | None = "auto",
        block_pool: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        cells = list(cells)
        if not cells:
            raise ValueError("`cells` must be a non-empty list of deep_rnn_tf cells. Received: cells=[]")
        for index, cell in enumerate(cells):
            if not isinstance(cell, RecurrentCell):
                raise ValueError(
                    f"`cells[{index}]` must be a deep_rnn_tf cell (RBMCell, DenseRBMCell, ConvLSTMCell, "
                    f"LSTMCell). Received: {cell!r}"
                )
        self.cells = cells
        self.jump = None if jump is None else check_positive_int("jump", jump)
        self.projection = check_choice("projection", projection, PROJECTIONS)
        self.block_pool = None if block_pool is None else check_positive_int("block_pool", block_pool)
        self._check_identity_jumps()
        self.projection_layers: list[keras.layers.Layer] = []
        self._projection_of_block: dict[int, int] = {}

    # --- structure -----------------------------------------------------------------------------------
    def is_block_start(self, index: int) -> bool:
        return self.jump is not None and index % self.jump == 0

    def is_block_end(self, index: int) -> bool:
        return self.jump is not None and index % self.jump == self.jump - 1

    def _check_identity_jumps(self) -> None:
        """Catches, before any shape is known, an identity jump between layers of different widths."""
        if self.projection is not None or self.jump is None:
            return
        for end in range(self.jump - 1, len(self.cells), self.jump):
            start = end - self.jump + 1
            if start == 0:
                continue  # the stack's input width is only known in build()
            before, after = self.cells[start - 1].filters, self.cells[end].filters
            if before != after:
                raise ValueError(
                    f"`projection=None` needs identity jumps, but the block of layers {start}..{end} maps "
                    f"{before} channels to {after}. Use projection='auto' or equal widths."
                )

    @property
    def num_states(self) -> int:
        return sum(cell.num_states for cell in self.cells)

    @property
    def state_size(self):
        return [-1] * self.num_states

    def split_states(self, states: Sequence) -> list[list]:
        """Regroups the flat state list into one list per layer."""
        states = list(states)
        grouped, offset = [], 0
        for cell in self.cells:
            grouped.append(states[offset : offset + cell.num_states])
            offset += cell.num_states
        return grouped

    # --- shapes and weights --------------------------------------------------------------------------
    def _pooled(self, shape: tuple) -> tuple:
        if self.block_pool is None or len(shape) != 4:
            return shape

        def reduce(size):
            return None if size is None else -(-size // self.block_pool)

        return (shape[0], reduce(shape[1]), reduce(shape[2]), shape[3])

    def compute_output_shape(self, input_shape, states_shape=None):
        shape, state_shapes = tuple(input_shape), []
        for index, cell in enumerate(self.cells):
            shape, cell_states = cell.compute_output_shape(shape)
            shape = tuple(shape)
            state_shapes.extend(cell_states)
            if self.is_block_end(index):
                shape = self._pooled(shape)
        return shape, state_shapes

    def build(self, input_shape):
        shape = tuple(input_shape)
        self._input_shape = shape
        block_input_shape = shape
        for index, cell in enumerate(self.cells):
            if self.is_block_start(index):
                block_input_shape = shape
            if not cell.built:  # a `.keras` load builds every child from its build config first
                cell.build(shape)
            shape = tuple(cell.compute_output_shape(shape)[0])
            if self.is_block_end(index):
                self._build_projection(index, block_input_shape, shape)
                shape = self._pooled(shape)

    def _build_projection(self, index: int, block_input_shape: tuple, output_shape: tuple) -> None:
        same = tuple(block_input_shape[1:]) == tuple(output_shape[1:])
        if same and self.projection == "auto":
            return
        if self.projection is None:
            raise ValueError(
                f"`projection=None` needs identity jumps, but the block ending at layer {index} maps "
                f"input shape {block_input_shape[1:]} to {output_shape[1:]}. Use projection='auto'."
            )
        channels = output_shape[-1]
        if len(output_shape) == 4:
            stride = max(1, (block_input_shape[1] or 1) // (output_shape[1] or 1))
            layer = keras.layers.Conv2D(
                channels,
                1,
                strides=stride,
                padding="same",
                name=f"jump_projection_{index}",
                dtype=self.dtype_policy,
            )
        else:
            layer = keras.layers.Dense(channels, name=f"jump_projection_{index}", dtype=self.dtype_policy)
        if self.projection == "conv_bn_relu":  # the original's ShortCut: 1x1 conv + BN + ReLU
            layer = keras.Sequential(
                [
                    layer,
                    keras.layers.BatchNormalization(epsilon=1e-5, momentum=0.9, dtype=self.dtype_policy),
                    keras.layers.ReLU(dtype=self.dtype_policy),
                ],
                name=f"jump_projection_bn_relu_{index}",
            )
        layer.build(block_input_shape)
        self._projection_of_block[index] = len(self.projection_layers)
        self.projection_layers.append(layer)

    # --- running ---------------------------------------------------------------------------------------
    def close_block(
        self, index: int, output: tf.Tensor, block_input: tf.Tensor, training: bool | None = None
    ) -> tf.Tensor:
        """Residual add (with projection if built) and optional pool at the end of block `index`.

        Works on one step (batch, ...) and on merged sequences (batch * time, ...) alike.
        """
        position = self._projection_of_block.get(index)
        if position is None:
            shortcut = block_input
        else:
            shortcut = self.projection_layers[position](block_input, training=training)
        output = output + shortcut
        if self.block_pool is not None and len(output.shape) == 4:
            output = tf.nn.max_pool2d(output, self.block_pool, self.block_pool, padding="SAME")
        return output

    def call(self, inputs, states, training=None, step=None):
        """One step of the stack; `step` (optional): the step's index, passed to every cell (see
        `RecurrentCell.call`) so per-step statistics work when the stack is driven one step per call."""
        per_layer = self.split_states(states)
        x, block_input, new_states = inputs, inputs, []
        at_step = {} if step is None else {"step": step}
        for index, cell in enumerate(self.cells):
            if self.is_block_start(index):
                block_input = x
            x, cell_states = cell(x, per_layer[index], training=training, **at_step)
            new_states.extend(cell_states)
            if self.is_block_end(index):
                x = self.close_block(index, x, block_input, training=training)
        return x, new_states

    def get_initial_state(self, batch_size=None):
        if not self.built:
            raise ValueError(f"{self.name}: build the cell (or call it once) before asking for its state.")
        return [state for cell in self.cells for state in cell.get_initial_state(batch_size)]

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "cells": [keras.saving.serialize_keras_object(cell) for cell in self.cells],
            "jump": self.jump,
            "projection": self.projection,
            "block_pool": self.block_pool,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["cells"] = [
            keras.saving.deserialize_keras_object(cell, custom_objects=custom_objects)
            for cell in config["cells"]
        ]
        return cls(**config)


CELL_KINDS = {"rbm": RBMCell, "convlstm": ConvLSTMCell, "dense_rbm": DenseRBMCell, "lstm": LSTMCell}


def build_deep_cell(
    cell: str = "rbm",
    depth: int = 15,
    filters: int | Sequence[int] = 64,
    kernel_size: int = 3,
    jump: int | None = 5,
    projection: str | None = "auto",
    block_pool: int | None = None,
    name: str | None = None,
    **cell_kwargs,
) -> DeepCell:
    """Builds a `DeepCell` of `depth` cells of one kind.

    Args:
        cell: "rbm" (conv RBM), "convlstm", "dense_rbm" or "lstm" (dense LSTM).
        depth: number of layers (positive int).
        filters: channels (units for dense cells) of every layer, or a list with one entry per layer.
        kernel_size: kernel size of conv cells (ignored by dense cells).
        jump, projection, block_pool: as `DeepCell`.
        name: name of the DeepCell.
        **cell_kwargs: passed to every cell (e.g. activation, normalization, p_td, td_mode,
            kernel_initializer). A `seed` is offset per layer so each layer draws its own TD coins; an RBM
            `merge` may be a list with one entry per layer (bottom first).

    Example:
        >>> cell = build_deep_cell("rbm", depth=15, filters=32, jump=5, p_td=0.5)
    """
    kind = check_choice("cell", cell, tuple(CELL_KINDS))
    depth = check_positive_int("depth", depth)
    widths = [filters] * depth if isinstance(filters, int) else list(filters)
    if len(widths) != depth:
        raise ValueError(
            f"`filters` must be an int or a list of {depth} ints (depth). Received: filters={filters!r}"
        )
    for width in widths:
        check_positive_int("filters", width)
    seed = cell_kwargs.pop("seed", None)
    # Only RBM cells take a merge (other cells keep rejecting it as an unknown keyword).
    merges = cell_kwargs.pop("merge", None) if kind in ("rbm", "dense_rbm") else None
    if merges is not None:
        merges = check_merges(merges, depth)
        merges = [merges] * depth if isinstance(merges, str) else merges
    cells = []
    for index, width in enumerate(widths):
        kwargs = dict(cell_kwargs)
        if kind in ("rbm", "dense_rbm"):
            kwargs["seed"] = None if seed is None else seed + index
            if merges is not None:
                kwargs["merge"] = merges[index]
        if kind in ("rbm", "convlstm"):
            kwargs["kernel_size"] = kernel_size
        cells.append(CELL_KINDS[kind](width, name=f"{kind}_{index}", **kwargs))
    return DeepCell(
        cells,
        jump=jump,
        projection=projection,
        block_pool=block_pool,
        name=name,
        dtype=cell_kwargs.get("dtype"),
    )
