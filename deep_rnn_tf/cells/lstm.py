"""LSTM baselines: the convolutional LSTM (Shi et al. 2015) and the dense LSTM, in Keras' weight layout.

Both use Keras' layout — `kernel` (input -> 4 units), `recurrent_kernel` (h -> 4 units), `bias`, gates
in the order i, f, c, o, `unit_forget_bias` — so weights copy one-to-one from `keras.layers.ConvLSTM2D` /
`keras.layers.LSTM` and the outputs agree. Unlike Keras' ConvLSTM (eight convolutions per step) the input
part is one convolution with 4F outputs, and `DeepRNN` runs it once for all time steps.

`normalization=` (not in Keras or the original; default None) is Cooijmans et al.'s recurrent batch
normalisation (2017, "Recurrent Batch Normalization"): the input and the recurrent pre-activations are
normalised separately, the bias added after them, and the cell state normalised before its tanh:

    z_t = N_x(W_x * x_t) + N_h(W_h * h_{t-1}) + b
    c_t = sigmoid(f) c_{t-1} + sigmoid(i) tanh(g),    h_t = sigmoid(o) tanh(N_c(c_t))

with the same choices as the RBM cells ("batch", "layer", "batch_per_step"), so a deep ConvLSTM stack
can be compared with a deep RBM stack under the same normalisation (docs/cells.md).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from deep_rnn_tf.cells.base import (
    GATE_BIAS_LIMIT,
    NORMALIZATIONS,
    RecurrentCell,
    merge_time,
    own_initializer,
    split_time,
)
from deep_rnn_tf.validation import check_choice, check_in_range, check_positive_int


class _LSTMBase(RecurrentCell):
    """Shared gate arithmetic of `ConvLSTMCell` and `LSTMCell`; subclasses supply the linear maps."""

    num_states = 2

    def __init__(
        self,
        filters: int,
        recurrent_initializer="orthogonal",
        unit_forget_bias: bool = True,
        gate_bias: float = 0.0,
        normalization: str | None = None,
        **kwargs,
    ):
        super().__init__(recurrent_initializer=recurrent_initializer, **kwargs)
        self.filters = filters
        self.unit_forget_bias = bool(unit_forget_bias)
        self.gate_bias = check_in_range("gate_bias", gate_bias, -GATE_BIAS_LIMIT, GATE_BIAS_LIMIT)
        self.normalization = check_choice("normalization", normalization, NORMALIZATIONS)

    def _kernel_shape(self, in_channels: int) -> tuple:
        raise NotImplementedError

    def _input_linear(self, x, kernel):
        raise NotImplementedError

    def _recurrent_linear(self, h, kernel):
        raise NotImplementedError

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        super().build(input_shape)
        self.kernel = self.add_weight(
            name="kernel",
            shape=self._kernel_shape(input_shape[-1]),
            initializer=own_initializer(self.kernel_initializer, f"{self.name}/kernel"),
            regularizer=self.kernel_regularizer,
        )
        self.recurrent_kernel = self.add_weight(
            name="recurrent_kernel",
            shape=self._kernel_shape(self.filters),
            initializer=own_initializer(self.recurrent_initializer, f"{self.name}/recurrent_kernel"),
            regularizer=self.recurrent_regularizer,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=(4 * self.filters,),
                initializer=self._bias_init,
                regularizer=self.bias_regularizer,
            )
        self.input_norm = self.recurrent_norm = self.cell_norm = None
        if self.normalization is not None:
            gates_shape, (state_shape, _) = self.compute_output_shape(input_shape)
            gates_shape = (*gates_shape[:-1], 4 * self.filters)
            self.input_norm = self._make_normalization("input_norm")
            self.input_norm.build(gates_shape)
            self.recurrent_norm = self._make_normalization("recurrent_norm")
            self.recurrent_norm.build(gates_shape)
            self.cell_norm = self._make_normalization("cell_norm")
            self.cell_norm.build(state_shape)

    def _bias_init(self, shape, dtype=None):
        units = self.filters
        if self.unit_forget_bias:  # Keras' layout: the forget gate's part is exactly 1
            bias = tf.concat(
                [
                    self.bias_initializer((units,), dtype=dtype),
                    tf.ones((units,), dtype=dtype),
                    self.bias_initializer((2 * units,), dtype=dtype),
                ],
                axis=0,
            )
        else:
            bias = self.bias_initializer(shape, dtype=dtype)
        if not self.gate_bias:
            return bias
        # gate_bias opens the input and output gates at the start (sigmoid(b) instead of 1/2): with both at
        # 1/2 each layer passes about a quarter of its candidate, and a deep stack starts near zero output.
        opened, closed = tf.fill((units,), self.gate_bias), tf.zeros((units,))
        return bias + tf.cast(tf.concat([opened, closed, closed, opened], axis=0), bias.dtype)

    def input_projection(self, sequence, training=None):
        z = self._input_linear(merge_time(sequence), self.kernel)
        if self.normalization is not None:  # the bias goes after the normalisations (recurrent_step)
            return self._with_step_index((split_time(z, sequence),), sequence)
        if self.bias is not None:
            z = tf.nn.bias_add(z, self.bias)
        return split_time(z, sequence)

    def recurrent_step(self, projected, states, training=None):
        h_prev, c_prev = states
        recurrent = self._recurrent_linear(h_prev, self.recurrent_kernel)
        at_step: dict = {}
        if self.normalization is None:
            z = projected + recurrent
        else:
            projected, *step = projected
            at_step = self._step_kwargs(step)
            z = self.input_norm(projected, training=training, **at_step)
            z = z + self.recurrent_norm(recurrent, training=training, **at_step)
            if self.bias is not None:
                z = tf.nn.bias_add(z, self.bias)
        z_i, z_f, z_c, z_o = tf.split(z, 4, axis=-1)
        c = self.recurrent_activation(z_f) * c_prev + self.recurrent_activation(z_i) * self.activation(z_c)
        # The carried state stays unnormalised (its additive path through time); only what h reads is.
        read = c if self.cell_norm is None else self.cell_norm(c, training=training, **at_step)
        h = self.recurrent_activation(z_o) * self.activation(read)
        return h, [h, c]

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "unit_forget_bias": self.unit_forget_bias,
            "gate_bias": self.gate_bias,
            "normalization": self.normalization,
        }


@keras.saving.register_keras_serializable(package="deep_rnn_tf")
class ConvLSTMCell(_LSTMBase):
    """Convolutional LSTM cell: i, f, c, o gates from one convolution over x and one over h.

    With the same weights it computes exactly what `keras.layers.ConvLSTM2D` computes (same layout:
    `kernel` (k, k, C, 4F), `recurrent_kernel` (k, k, F, 4F), `bias` (4F), gate order i, f, c, o). The
    original's ConvLSTM orders the gates i, f, o, g and has no forget-bias offset (`unit_forget_bias=False`).

    Args:
        filters: hidden channels (positive int).
        kernel_size: square kernel size of both convolutions (default 3).
        strides: stride of the input convolution (the recurrent one is stride 1, "same").
        padding: "same" (default) or "valid" for the input convolution.
        activation, recurrent_activation: tanh and sigmoid by default.
        use_bias, unit_forget_bias: biases, with +1 on the forget gate at initialisation (Keras' default).
        gate_bias: added to the input- and output-gate biases at initialisation (0: Keras'; in [-10, 10]).
        normalization: None (Keras' cell), "batch", "layer" or "batch_per_step": recurrent batch
            normalisation of the input and recurrent pre-activations and of the cell state before its
            tanh (module docstring); "batch_per_step" keeps moving statistics per time step, as the RBM's.
        kernel_initializer, recurrent_initializer, bias_initializer, *_regularizer: as in Keras.

    Example:
        >>> from deep_rnn_tf import ConvRNN
        >>> layer = ConvRNN(ConvLSTMCell(8), return_sequences=True)
        >>> y = layer(keras.random.normal((2, 4, 16, 16, 1)))   # (2, 4, 16, 16, 8)
    """

    def __init__(self, filters: int, kernel_size: int = 3, strides: int = 1, padding: str = "same", **kwargs):
        check_positive_int("filters", filters)
        super().__init__(filters, **kwargs)
        self.kernel_size = check_positive_int("kernel_size", kernel_size)
        self.strides = check_positive_int("strides", strides)
        self.padding = check_choice("padding", padding, ("same", "valid"))

    def _kernel_shape(self, in_channels):
        return (self.kernel_size, self.kernel_size, in_channels, 4 * self.filters)

    def _input_linear(self, x, kernel):
        return tf.nn.conv2d(x, kernel, strides=self.strides, padding=self.padding.upper())

    def _recurrent_linear(self, h, kernel):
        return tf.nn.conv2d(h, kernel, strides=1, padding="SAME")

    def compute_output_shape(self, input_shape, states_shape=None):
        batch, height, width = tuple(input_shape)[:3]

        def out_size(size):
            if size is None:
                return None
            if self.padding == "valid":
                size = size - self.kernel_size + 1
            return -(-size // self.strides)

        shape = (batch, out_size(height), out_size(width), self.filters)
        return shape, [shape, shape]

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
        }


@keras.saving.register_keras_serializable(package="deep_rnn_tf")
class LSTMCell(_LSTMBase):
    """Dense LSTM cell (the "1-layer LSTM" baseline), Keras' layout: equal to `keras.layers.LSTMCell`.

    Args:
        units: hidden size (positive int).
        **kwargs: activation, recurrent_activation, use_bias, unit_forget_bias, initializers and
            regularizers as `keras.layers.LSTMCell`; gate_bias and normalization as `ConvLSTMCell`.

    Example:
        >>> layer = keras.layers.RNN(LSTMCell(32))
        >>> y = layer(keras.random.normal((4, 10, 8)))   # (4, 32)
    """

    step_rank = 2

    def __init__(self, units: int, **kwargs):
        check_positive_int("units", units)
        super().__init__(units, **kwargs)
        self.units = units

    @property
    def state_size(self):
        return [self.units, self.units]

    @property
    def output_size(self):
        return self.units

    def _kernel_shape(self, in_channels):
        return (in_channels, 4 * self.units)

    def _input_linear(self, x, kernel):
        return tf.matmul(x, kernel)

    _recurrent_linear = _input_linear

    def compute_output_shape(self, input_shape, states_shape=None):
        shape = (tuple(input_shape)[0], self.units)
        return shape, [shape, shape]

    def get_config(self):
        return {**super().get_config(), "units": self.units}
