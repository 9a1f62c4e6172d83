"""`ConvRNN`: the `keras.layers.RNN` subclass that runs conv cells (and `DeepCell` stacks) over time."""

from __future__ import annotations

import keras

from deep_rnn_tf.cells.base import RecurrentCell
from deep_rnn_tf.cells.deep import DeepCell


def step_rank(cell) -> int:
    """Rank of one time step's input for `cell` (4 for conv cells, 2 for dense cells)."""
    first = cell.cells[0] if isinstance(cell, DeepCell) else cell
    return first.step_rank


@keras.saving.register_keras_serializable(package="deep_rnn_tf")
class ConvRNN(keras.layers.RNN):
    """Runs a deep_rnn_tf cell over a sequence: (batch, time, H, W, C) for conv cells, (batch, time, F)
    for dense ones.

    A plain `keras.layers.RNN` cannot describe conv states (its `state_size` must be ints); this
    subclass takes the output and state shapes from the cell, as Keras' own ConvLSTM does. Everything
    else — masks, `initial_state`, `go_backwards`, `stateful`, `unroll`, `Bidirectional` — is Keras'.

    Args:
        cell: a `RBMCell`, `ConvLSTMCell`, `DenseRBMCell`, `LSTMCell` or `DeepCell`.
        return_sequences: return the whole output sequence (else the last output).
        return_state: also return the final states (a flat list; `DeepCell.split_states` regroups them).
        go_backwards: process the sequence in reverse (outputs come in processed order, as Keras).
        stateful: carry the final states of a batch into the next batch (static batch size needed).
        unroll: unroll the time loop (static time length needed; faster with XLA on CPU).
        zero_output_for_mask: masked steps output zeros (else the previous output).

    Call arguments: `sequences`, optional `initial_state` (list), `mask` (batch, time) bool, `training`.

    Example:
        >>> from deep_rnn_tf import RBMCell
        >>> inputs = keras.Input((10, 16, 16, 1), name="frames")
        >>> h = ConvRNN(RBMCell(32), return_sequences=True)(inputs)
        >>> model = keras.Model(inputs, keras.layers.Conv3D(1, 1)(h))
    """

    def __init__(
        self,
        cell,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        zero_output_for_mask: bool = False,
        **kwargs,
    ):
        if not isinstance(cell, (RecurrentCell, DeepCell)):
            raise ValueError(
                "`cell` must be a deep_rnn_tf cell (RBMCell, DenseRBMCell, ConvLSTMCell, LSTMCell or "
                f"DeepCell). Received: cell={cell!r}"
            )
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            zero_output_for_mask=zero_output_for_mask,
            **kwargs,
        )

    def _check_input_rank(self, sequences_shape) -> None:
        expected = step_rank(self.cell) + 1
        if len(sequences_shape) != expected:
            layout = "(batch, time, H, W, C)" if expected == 5 else "(batch, time, features)"
            raise ValueError(
                f"{self.name}: inputs must have rank {expected} {layout} for this cell; "
                f"received shape={tuple(sequences_shape)}"
            )

    def build(self, sequences_shape, initial_state_shape=None):
        self._check_input_rank(sequences_shape)
        super().build(tuple(sequences_shape), initial_state_shape)

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        self._check_input_rank(sequences_shape)
        batch, steps = sequences_shape[0], sequences_shape[1]
        step_output, state_shapes = self.cell.compute_output_shape((batch,) + tuple(sequences_shape[2:]))
        step_output = tuple(step_output)
        output = (batch, steps) + step_output[1:] if self.return_sequences else step_output
        if self.return_state:
            return output, *[tuple(shape) for shape in state_shapes]
        return output

    def compute_mask(self, _, mask):
        mask = keras.tree.flatten(mask)[0] if mask is not None else None
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(self.state_size)
        return output_mask
