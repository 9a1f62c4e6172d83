"""The Representation Bridge Module (RBM, the paper's CBM) in convolutional and dense forms.

For a layer input x_t and the recurrent state s_{t-1} (zero at t = 0):

    r_t = phi( N_R( W_R * x_t + b_R ) )                      representation unit
    s_t = sigmoid( N_T( W_T * [ TD(x_t) ; s_{t-1} ] + b_T ) )  temporal unit
    h_t = zeta( r_t, s_t )                                    merge: r_t (.) s_t (element-wise product)

With `leak` > 0 (not the original) the gate keeps a learnt share of its past additively,
s_t = lambda (.) s_{t-1} + (1 - lambda) (.) sigmoid(...), lambda = sigmoid(a) per channel, a learnt and
starting at logit(leak): a memory that the temporal unit's own normalisation does not rescale.

`h_t` goes up to the next layer; the state passed to t + 1 is the gate `s_t` itself
(docs/reference/original.md §1.1). W_T over the concatenation `[x; s]` is stored as two kernels,
`temporal_kernel` (over x) and `recurrent_kernel` (over s); their sum is the same convolution. TD
(temporal dropout) is the identity forward; in training, with probability `p_td`, it stops the gradient
into x through the temporal branch only (the gradient still reaches W_T and flows back in time through s).

The merge zeta is the element-wise product in the original code; the paper says that "by adjusting the
synthesizing method (zeta) we can balance the dominance of each direction" without naming another one.
`merge="sum"` (h_t = r_t + s_t) is that other balance: the temporal state reaches the output additively
instead of only scaling the current input's representation. `merge="blend"` balances the two directions
literally: h_t = (1 - s_t) (.) r_t + s_t (.) h_{t-1}, the gate choosing per position between the current
representation and the layer's own previous output (carried as a second state). With the product, h_t is
zero wherever r_t is, whatever the gate remembers: fed its own predictions, whose motion fades, an RBM
predictor's output fades with them; the blend can hold its output where the input goes quiet.
In the blend one gate both keeps the past and scales down the present; `merge="accumulate"`,
h_t = r_t + s_t (.) h_{t-1}, passes the current representation whole and lets the gate decide only how much
of the previous output stays (a leaky accumulator: with s < 1 the output stays within max r / (1 - max s)).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from typing import get_args

import keras
import tensorflow as tf

from deep_rnn_tf.cells.base import (
    GATE_BIAS_LIMIT,
    NORMALIZATIONS,
    RecurrentCell,
    merge_time,
    own_initializer,
    split_time,
    temporal_dropout,
)
from deep_rnn_tf.validation import (
    MAX_RBM_LEAK,
    RBMMerge,
    check_choice,
    check_in_range,
    check_positive_int,
    check_probability,
)

TD_MODES = ("batch", "sample")
MERGES: tuple[str, ...] = get_args(RBMMerge)  # product (the original), sum, blend, accumulate
# Merges that carry the layer's previous output h_{t-1} as a second state.
OUTPUT_MEMORY_MERGES = ("blend", "accumulate")
# The command-line help of every task's --rbm-merge (`parse_merges` reads its value).
MERGE_HELP = (
    "merge of the RBM cells' units: product (h = r * s, the original), sum (h = r + s), blend "
    "(h = (1 - s) * r + s * h_prev) or accumulate (h = r + s * h_prev); one for every layer, or a "
    "comma-separated list bottom layer first (e.g. blend,product,product)"
)


def parse_merges(text: str) -> str | list[str]:
    """A merge for every layer ("blend") or one per layer, bottom first ("blend,product,product" -> list).

    The type of the tasks' `--rbm-merge`; raises argparse.ArgumentTypeError naming the unknown merge.

    Example:
        >>> parse_merges("blend,product")
        ['blend', 'product']
    """
    merges = [part.strip() for part in str(text).split(",")]
    unknown = [merge for merge in merges if merge not in MERGES]
    if unknown:
        # argparse prints this message as it is (a ValueError would print as "invalid value").
        raise argparse.ArgumentTypeError(
            f"unknown merge {unknown[0]!r} in {text!r}; choose from {', '.join(MERGES)}"
        )
    return merges[0] if len(merges) == 1 else merges


def check_merges(merges: str | Sequence[str], depth: int) -> str | list[str]:
    """`merges` (one of MERGES, or a list of them with one entry per layer) checked against `depth` layers.

    Example:
        >>> check_merges(["accumulate", "product"], depth=2)
        ['accumulate', 'product']
    """
    if isinstance(merges, str):
        return check_choice("rbm_merge", merges, MERGES)
    merges = list(merges)
    if len(merges) != depth:
        raise ValueError(
            f"rbm_merge: one merge for all layers or one per layer ({depth}); received {merges!r}"
        )
    for merge in merges:
        check_choice("rbm_merge", merge, MERGES)
    return merges


class _RBMBase(RecurrentCell):
    """Shared equations of `RBMCell` and `DenseRBMCell`; subclasses supply the linear maps."""

    def __init__(
        self,
        filters: int,
        activation="relu",
        normalization: str | None = None,
        p_td: float = 0.0,
        td_mode: str = "batch",
        gate_bias: float = 0.0,
        merge: str = "product",
        leak: float = 0.0,
        **kwargs,
    ):
        super().__init__(activation=activation, **kwargs)
        self.filters = filters
        self.normalization = check_choice("normalization", normalization, NORMALIZATIONS)
        self.p_td = check_probability("p_td", p_td)
        self.td_mode = check_choice("td_mode", td_mode, TD_MODES)
        self.gate_bias = check_in_range("gate_bias", gate_bias, -GATE_BIAS_LIMIT, GATE_BIAS_LIMIT)
        self.merge = check_choice("merge", merge, MERGES)
        # The blend and the accumulation carry the layer's previous output beside its gate.
        self.num_states = 2 if self.merge in OUTPUT_MEMORY_MERGES else 1
        self.leak = check_in_range("leak", leak, 0.0, MAX_RBM_LEAK)
        self._make_seed_generator()

    # --- hooks for the conv / dense forms ----------------------------------------------------------------
    def _kernel_shape(self, in_channels: int) -> tuple:
        raise NotImplementedError

    def _linear(self, x, kernel, strides: int = 1):
        raise NotImplementedError

    def _merge_gate(self, gate):
        """Brings the state-resolution gate to the output resolution (strided conv cells pool it)."""
        return gate

    # --- weights -----------------------------------------------------------------------------------------
    def build(self, input_shape):
        input_shape = tuple(input_shape)
        super().build(input_shape)
        in_channels = input_shape[-1]
        if in_channels is None:
            raise ValueError(
                f"{self.name}: the channel axis of the input must be known. Received {input_shape}"
            )
        output_shape, state_shapes = self.compute_output_shape(input_shape)

        def weight(name, shape, initializer, regularizer):
            initializer = own_initializer(initializer, f"{self.name}/{name}")
            return self.add_weight(name=name, shape=shape, initializer=initializer, regularizer=regularizer)

        self.representation_kernel = weight(
            "representation_kernel",
            self._kernel_shape(in_channels),
            self.kernel_initializer,
            self.kernel_regularizer,
        )
        self.temporal_kernel = weight(
            "temporal_kernel",
            self._kernel_shape(in_channels),
            self.kernel_initializer,
            self.kernel_regularizer,
        )
        self.recurrent_kernel = weight(
            "recurrent_kernel",
            self._kernel_shape(self.filters),
            self.recurrent_initializer,
            self.recurrent_regularizer,
        )
        if self.use_bias:
            self.representation_bias = weight(
                "representation_bias", (self.filters,), self.bias_initializer, self.bias_regularizer
            )
            # gate_bias != 0 starts the gate at sigmoid(gate_bias) instead of 1/2 (as an LSTM's forget bias
            # of 1): a stack of k closed-by-half gates scales its output by 2^-k before anything is learnt.
            gate_init = (
                keras.initializers.Constant(self.gate_bias) if self.gate_bias else self.bias_initializer
            )
            self.temporal_bias = weight("temporal_bias", (self.filters,), gate_init, self.bias_regularizer)
        else:
            self.representation_bias = self.temporal_bias = None
        self.leak_logit = None
        if self.leak > 0:
            start = math.log(self.leak / (1.0 - self.leak))
            self.leak_logit = self.add_weight(
                name="leak_logit", shape=(self.filters,), initializer=keras.initializers.Constant(start)
            )
        self.representation_norm = self.temporal_norm = None
        if self.normalization is not None:
            self.representation_norm = self._make_normalization("representation_norm")
            self.representation_norm.build(output_shape)
            # A normalisation removes b_T with the batch mean, so the gate's start moves to its shift: the
            # gate starts at sigmoid(gate_bias) with or without normalisation.
            self.temporal_norm = self._make_normalization("temporal_norm", self.gate_bias)
            self.temporal_norm.build(state_shapes[0])

    # --- the step ----------------------------------------------------------------------------------------
    def _td_active(self, training) -> bool:
        return bool(training) and self.p_td > 0.0

    def input_projection(self, sequence, training=None):
        """(batch, time, ...) -> (R pre-activation, T pre-activation over x) for every time step."""
        x = merge_time(sequence)
        strides = getattr(self, "strides", 1)
        if not self._td_active(training) and strides == 1:
            # One convolution with 2F output channels instead of two with F: same result, fewer passes.
            kernel = tf.concat([self.representation_kernel, self.temporal_kernel], axis=-1)
            both = self._add_bias(self._linear(x, kernel), self.representation_bias, self.temporal_bias)
            pre_r, pre_t = tf.split(both, 2, axis=-1)
        else:
            pre_r = self._add_bias(
                self._linear(x, self.representation_kernel, strides), self.representation_bias
            )
            x_t = x
            if self._td_active(training):
                keep = self._keep_gradient_mask(sequence, self.p_td, per_sample=self.td_mode == "sample")
                x_t = temporal_dropout(x, merge_time(keep))
            pre_t = self._add_bias(self._linear(x_t, self.temporal_kernel), self.temporal_bias)
        return self._with_step_index((split_time(pre_r, sequence), split_time(pre_t, sequence)), sequence)

    def recurrent_step(self, projected, states, training=None):
        pre_r, pre_t, *step = projected
        previous_gate = states[0]
        temporal = pre_t + self._linear(previous_gate, self.recurrent_kernel)
        representation = pre_r
        if self.normalization is not None:
            at_step = self._step_kwargs(step)
            temporal = self.temporal_norm(temporal, training=training, **at_step)
            representation = self.representation_norm(representation, training=training, **at_step)
        gate = self.recurrent_activation(temporal)
        if self.leak_logit is not None:
            keep = tf.sigmoid(self.leak_logit)
            gate = keep * previous_gate + (1.0 - keep) * gate
        output = self._zeta(self.activation(representation), self._merge_gate(gate), states[1:])
        # The blend's and the accumulation's second state is the layer's own output (see `num_states`).
        return output, [gate, output][: self.num_states]

    def _zeta(self, representation, gate, previous_output):
        """The merge; `previous_output`: the carried output ([h_{t-1}]) of the blend and the accumulation,
        empty for the others."""
        if self.merge == "blend":
            return (1.0 - gate) * representation + gate * previous_output[0]
        if self.merge == "accumulate":
            return representation + gate * previous_output[0]
        if self.merge == "sum":
            return representation + gate
        return representation * gate

    @staticmethod
    def _add_bias(x, *biases):
        present = [b for b in biases if b is not None]
        if not present:
            return x
        return tf.nn.bias_add(x, tf.concat(present, axis=0) if len(present) > 1 else present[0])

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "normalization": self.normalization,
            "p_td": self.p_td,
            "td_mode": self.td_mode,
            "gate_bias": self.gate_bias,
            "merge": self.merge,
            "leak": self.leak,
        }


@keras.saving.register_keras_serializable(package="deep_rnn_tf")
class RBMCell(_RBMBase):
    """Convolutional Representation Bridge Module cell (a `keras.layers.RNN`-compatible cell).

    Input (batch, H, W, C) per step; output h_t (batch, ceil(H/strides), ceil(W/strides), filters);
    state [s_t] with s_t of shape (batch, H, W, filters) in (0, 1); with `merge="blend"` or "accumulate",
    [s_t, h_t].

    Args:
        filters: output channels of both units (positive int).
        kernel_size: size of the square convolution kernels (positive int, default 3).
        strides: stride of the representation convolution (1 or more). The temporal convolution always
            runs at stride 1 at the input resolution (the original's strided cells); its gate is then
            max-pooled 3x3 with the same stride before the merge.
        activation: phi of the representation unit ("relu" as MCnet and the standalone model, "tanh" as
            the backbone and polygon models).
        recurrent_activation: activation of the temporal gate (sigmoid).
        normalization: None, "batch" (BatchNormalization, momentum 0.9, eps 1e-5 as PyTorch's defaults)
            or "layer" (per-sample normalisation over H, W, C) on both pre-activations; or
            "batch_per_step": batch normalisation whose moving statistics are kept per time step
            (`StepwiseBatchNormalization`; steps counted within one sequence, up to 32), so the first steps
            of a test sequence are not normalised with the late steps' averages.
        p_td: temporal-dropout probability in [0, 1]; only used when `training` is true.
        td_mode: "batch" (one coin per call and time step, shared by the batch, as the original) or
            "sample" (one coin per sample).
        gate_bias: initial value of b_T (0, the original: the gate starts at 1/2; 1 starts it at 0.73, as
            an LSTM's forget-gate bias; in [-10, 10]). With a normalisation, the initial shift of the
            temporal normalisation instead (which would remove b_T).
        merge: the merge zeta of the two units: "product" (h = r * s, the original), "sum" (h = r + s:
            the state reaches the output additively, not only as a scale of the current representation),
            "blend" (h_t = (1 - s) * r + s * h_{t-1}: the gate chooses between the current representation
            and the previous output, which becomes a second state; not in the paper) or "accumulate"
            (h_t = r + s * h_{t-1}: the current representation whole, plus the share s of the previous
            output, also a second state; not in the paper).
        leak: 0 (the original) or lambda_0 in (0, 0.99]: the gate keeps a learnt per-channel share lambda
            of its previous value, s_t = lambda * s_{t-1} + (1 - lambda) * sigmoid(...), lambda starting at
            lambda_0 (an additive memory outside the normalisation; not in the paper).
        use_bias: add biases b_R and b_T.
        kernel_initializer, recurrent_initializer, bias_initializer: Keras initializers of the input
            kernels (W_R and the x part of W_T), of the s part of W_T, and of the biases.
        kernel_regularizer, recurrent_regularizer, bias_regularizer: optional Keras regularizers.
        seed: seed of the temporal-dropout coins.

    Example:
        >>> from deep_rnn_tf import ConvRNN
        >>> cell = RBMCell(16, kernel_size=3, p_td=0.5)
        >>> layer = ConvRNN(cell, return_sequences=True)
        >>> y = layer(keras.random.normal((2, 5, 8, 8, 3)))   # (2, 5, 8, 8, 16)
    """

    def __init__(self, filters: int, kernel_size: int = 3, strides: int = 1, **kwargs):
        check_positive_int("filters", filters)
        super().__init__(filters, **kwargs)
        self.kernel_size = check_positive_int("kernel_size", kernel_size)
        self.strides = check_positive_int("strides", strides)

    def _kernel_shape(self, in_channels):
        return (self.kernel_size, self.kernel_size, in_channels, self.filters)

    def _linear(self, x, kernel, strides=1):
        return tf.nn.conv2d(x, kernel, strides=strides, padding="SAME")

    def _merge_gate(self, gate):
        if self.strides == 1:
            return gate
        return tf.nn.max_pool2d(gate, ksize=3, strides=self.strides, padding="SAME")

    def compute_output_shape(self, input_shape, states_shape=None):
        batch, height, width = tuple(input_shape)[:3]

        def reduce(size):
            return None if size is None else -(-size // self.strides)

        output = (batch, reduce(height), reduce(width), self.filters)
        return output, [(batch, height, width, self.filters)] + [output] * (self.num_states - 1)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
        }


@keras.saving.register_keras_serializable(package="deep_rnn_tf")
class DenseRBMCell(_RBMBase):
    """Fully connected Representation Bridge Module cell: the RBM equations with dense kernels.

    Input (batch, features) per step; output and state (batch, units). Not in the original code (its
    §1.2 inference): r = phi(W_R x + b_R), s_t = sigmoid(W_T [TD(x); s_{t-1}] + b_T), h = r * s_t.

    Args:
        units: output size (positive int).
        **kwargs: as `RBMCell` (activation, recurrent_activation, normalization ("batch", "layer" or
            "batch_per_step" over features), p_td, td_mode, gate_bias, merge, leak, use_bias, initializers,
            regularizers, seed).

    Example:
        >>> layer = keras.layers.RNN(DenseRBMCell(32), return_sequences=True)
        >>> y = layer(keras.random.normal((4, 10, 8)))   # (4, 10, 32)
    """

    step_rank = 2

    def __init__(self, units: int, **kwargs):
        check_positive_int("units", units)
        super().__init__(units, **kwargs)
        self.units = units

    @property
    def state_size(self):
        return [self.units] * self.num_states if self.num_states > 1 else self.units

    @property
    def output_size(self):
        return self.units

    def _kernel_shape(self, in_channels):
        return (in_channels, self.filters)

    def _linear(self, x, kernel, strides=1):
        return tf.matmul(x, kernel)

    def compute_output_shape(self, input_shape, states_shape=None):
        batch = tuple(input_shape)[0]
        return (batch, self.units), [(batch, self.units)] * self.num_states

    def get_config(self):
        config = super().get_config()
        return {**config, "units": self.units}
