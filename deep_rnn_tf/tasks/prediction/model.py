"""MCnet (Villegas et al., ICLR 2017) with a replaceable recurrent core, as the Deep RNN paper used it (§7).

The motion encoder reads frame differences, the content encoder the last frame; the recurrent core (a deep
RBM stack or MCnet's own 1-layer ConvLSTM, both the foundation's `DeepCell`) runs on the motion encoding;
combination layers, multi-scale residuals and a decoder with zero-filled unpooling produce the next frame.
Prediction is autoregressive: each predicted frame is fed back (its difference to the previous frame goes
through the motion encoder, the frame itself through the content encoder), so there are K-1 + T-1 core steps.

Losses: L_p (MSE on [-1, 1]) + GDL (on [0, 1]), weighted by `alpha`, plus an optional GAN loss weighted by
`beta` with the original's discriminator and margin balancing; `beta=0` builds no discriminator. Training
runs through `model.fit` on the shared `TaskModel` step (the discriminator is its second optimizer).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import keras
import tensorflow as tf

from deep_rnn_tf import build_deep_cell
from deep_rnn_tf.cells.initializers import memory_gate_kwargs, xavier_normal
from deep_rnn_tf.cells.rbm import check_merges
from deep_rnn_tf.layers.flow import lucas_kanade_flow
from deep_rnn_tf.layers.warp import backward_warp
from deep_rnn_tf.tasks.prediction.config import (
    FLOW_PRIOR_DAMPING_RANGE,
    MAX_FLOW_PRIOR_GAIN,
    MAX_RESIDUAL_DROPOUT,
    RBM_KERNEL_GAIN_RANGE,
    check_flow_prior_dampings,
    check_flow_prior_gains,
)
from deep_rnn_tf.tasks.prediction.losses import gaussian_ssim, gradient_difference_loss
from deep_rnn_tf.training.trainer import StepLosses, TaskModel
from deep_rnn_tf.validation import MAX_RBM_LEAK, check_choice, check_in_range, check_positive_int

RNN_KINDS = ("rbm", "convlstm")
PIXEL_LOSSES = ("mse", "l1", "bce")
CONTENT_FRAMES = ("previous", "observed")
FLOW_PRIORS = (None, "lucas_kanade")


def gray01(frames: tf.Tensor) -> tf.Tensor:
    """[-1, 1] grey frames -> [0, 1] (the original's `inverse_transform` before differencing)."""
    return (frames + 1.0) / 2.0


def frame_difference(later: tf.Tensor, earlier: tf.Tensor) -> tf.Tensor:
    """The motion encoder's input: the difference of two [-1, 1] frames taken in [0, 1] (the original's)."""
    return gray01(later) - gray01(earlier)


def unpool_zero_filled(x: tf.Tensor) -> tf.Tensor:
    """2x2 unpooling that puts each value at the top-left of its block and zeros elsewhere (MCnet's
    `UnPooling2x2ZeroFilled`); depth_to_space keeps it a plain, exportable op."""
    zeros = tf.zeros_like(x)
    return tf.nn.depth_to_space(tf.concat([x, zeros, zeros, zeros], axis=-1), 2)


def _conv(filters: int, kernel: int, name: str, activation: str | None = "relu", strides: int = 1):
    return keras.layers.Conv2D(
        filters, kernel, strides=strides, padding="same", activation=activation, name=name
    )


class _PooledEncoder(keras.layers.Layer):
    """Groups of ReLU convolutions, each group followed by a 2x2 max-pool; returns the 1/8 code and the
    pre-pool map of every group (MCnet's multi-scale residual inputs). Subclasses set `self.groups`."""

    groups: list

    def __init__(self, gf_dim: int = 64, **kwargs):
        super().__init__(**kwargs)
        check_positive_int("gf_dim", gf_dim)
        self.gf_dim = gf_dim

    def call(self, image):
        residuals, x = [], image
        for group in self.groups:
            for conv in group:
                x = conv(x)
            residuals.append(x)
            x = tf.nn.max_pool2d(x, 2, 2, "SAME")
        return x, residuals

    def get_config(self):
        return {**super().get_config(), "gf_dim": self.gf_dim}


@keras.saving.register_keras_serializable(package="deep_rnn_tf")
class MotionEncoder(_PooledEncoder):
    """MCnet's motion encoder on a difference image: conv5x5 gf, conv5x5 2gf, conv7x7 4gf, each ReLU + pool.

    Returns the 1/8-resolution code and the three pre-pool maps (the multi-scale residual inputs).

    Args:
        gf_dim: base width (64 in the original).

    Example:
        >>> code, residuals = MotionEncoder(8)(tf.zeros((1, 32, 32, 1)))  # code (1, 4, 4, 32)
    """

    def __init__(self, gf_dim: int = 64, **kwargs):
        super().__init__(gf_dim, **kwargs)
        self.groups = [
            [_conv(gf_dim, 5, "dyn_conv1")],
            [_conv(gf_dim * 2, 5, "dyn_conv2")],
            [_conv(gf_dim * 4, 7, "dyn_conv3")],
        ]


@keras.saving.register_keras_serializable(package="deep_rnn_tf")
class ContentEncoder(_PooledEncoder):
    """MCnet's content encoder on the last frame: conv3x3 (gf) x2, (2gf) x2, (4gf) x3, pool after each.

    Args:
        gf_dim: base width (64 in the original).

    Example:
        >>> code, residuals = ContentEncoder(8)(tf.zeros((1, 32, 32, 1)))  # code (1, 4, 4, 32)
    """

    def __init__(self, gf_dim: int = 64, **kwargs):
        super().__init__(gf_dim, **kwargs)
        self.groups = [
            [_conv(gf_dim * width, 3, f"cont_conv{g + 1}_{i + 1}") for i in range(repeats)]
            for g, (width, repeats) in enumerate(((1, 2), (2, 2), (4, 3)))
        ]


@keras.saving.register_keras_serializable(package="deep_rnn_tf")
class MCNetDecoder(keras.layers.Layer):
    """Combination layers, multi-scale residuals and MCnet's decoder (`dec_cnn`), ending in tanh.

    Args:
        gf_dim: base width (64 in the original).
        channels: output channels (1: grey).
        change_head: end in a linear convolution whose kernel and bias start at zero (the output is a
            change to add to the last frame, zero before training) instead of the original's tanh frame.
        tanh_output: with the frame head, apply the tanh here (True, the original) or return its
            pre-activation z, the frame being tanh(z) (False: `MCNet` keeps z for a BCE-with-logits loss).
        motion_residuals: feed the motion encoder's multi-scale maps of the current frame difference to the
            residual pairs beside the content's (True, MCnet). False: the residual pairs see the content
            only, so motion reaches the decoder through the recurrent core alone.
        core_to_skips: also add the recurrent core's output to the skip at every scale (nearest upsampling
            to the scale, then a 1x1 conv to its width). MCnet (False) gives the core one way in, the 1/8
            bottleneck, which trained small-preset models ignore: the skips carry the prediction.

    Example:
        >>> decoder = MCNetDecoder(8)
    """

    def __init__(
        self,
        gf_dim: int = 64,
        channels: int = 1,
        change_head: bool = False,
        tanh_output: bool = True,
        motion_residuals: bool = True,
        core_to_skips: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_positive_int("gf_dim", gf_dim)
        check_positive_int("channels", channels)
        self.gf_dim, self.channels, self.change_head = gf_dim, channels, bool(change_head)
        self.tanh_output = bool(tanh_output)
        self.motion_residuals = bool(motion_residuals)
        self.core_to_skips = bool(core_to_skips)
        g = gf_dim
        self.combination = [
            _conv(4 * g, 3, "h_comb1"),
            _conv(2 * g, 3, "h_comb2"),
            _conv(4 * g, 3, "h_comb3"),
        ]
        # One (ReLU conv, linear conv) pair per scale, output width = the content encoder's at that scale.
        widths = (g, 2 * g, 4 * g)
        self.residual = [
            [_conv(w, 3, f"res{level}_1"), _conv(w, 3, f"res{level}_2", activation=None)]
            for level, w in enumerate(widths)
        ]
        self.core_skips = None
        if self.core_to_skips:
            self.core_skips = [
                _conv(w, 1, f"core_skip{level}", activation=None) for level, w in enumerate(widths)
            ]
        # MCnet's stride-1 "deconvolutions" are convolutions with the same receptive field.
        self.stages = [
            [_conv(4 * g, 3, "dec3_3"), _conv(4 * g, 3, "dec3_2"), _conv(2 * g, 3, "dec3_1")],
            [_conv(2 * g, 3, "dec2_2"), _conv(g, 3, "dec2_1")],
            [_conv(g, 3, "dec1_2"), self._last_layer(channels)],
        ]

    def _last_layer(self, channels: int) -> keras.layers.Layer:
        if not self.change_head:
            return _conv(channels, 3, "dec1_1", activation="tanh" if self.tanh_output else None)
        return keras.layers.Conv2D(
            channels, 3, padding="same", kernel_initializer="zeros", bias_initializer="zeros", name="dec1_1"
        )

    def call(self, h_dyn, h_cont, res_motion, res_content):
        x = tf.concat([h_dyn, h_cont], axis=-1)
        for conv in self.combination:
            x = conv(x)
        skips = []
        for level, ((first, second), motion, content) in enumerate(
            zip(self.residual, res_motion, res_content, strict=True)
        ):
            inputs = tf.concat([motion, content], axis=-1) if self.motion_residuals else content
            skip = second(first(inputs))
            if self.core_skips is not None:
                core = tf.image.resize(h_dyn, tf.shape(skip)[1:3], method="nearest")
                skip = skip + tf.cast(self.core_skips[level](core), skip.dtype)
            skips.append(skip)
        for stage, skip in zip(self.stages, reversed(skips), strict=True):
            x = tf.nn.relu(unpool_zero_filled(x) + skip)
            for conv in stage:
                x = conv(x)
        return x

    def get_config(self):
        return {
            **super().get_config(),
            "gf_dim": self.gf_dim,
            "channels": self.channels,
            "change_head": self.change_head,
            "tanh_output": self.tanh_output,
            "motion_residuals": self.motion_residuals,
            "core_to_skips": self.core_to_skips,
        }


@keras.saving.register_keras_serializable(package="deep_rnn_tf")
class MCNetDiscriminator(keras.layers.Layer):
    """The original's discriminator on the K observed + T real-or-generated frames stacked as channels.

    conv5x5/2 df (lrelu 0.2), 2df, 4df, 8df (BatchNorm always in training mode, as the original) and a
    linear logit (N(0, 0.02) init).

    Args:
        df_dim: base width (64 in the original).

    Example:
        >>> logits = MCNetDiscriminator(8)(tf.zeros((2, 32, 32, 15)))  # (2, 1)
    """

    def __init__(self, df_dim: int = 64, **kwargs):
        super().__init__(**kwargs)
        check_positive_int("df_dim", df_dim)
        self.df_dim = df_dim
        self.convs = [_conv(df_dim * m, 5, f"dis_conv{i}", None, 2) for i, m in enumerate((1, 2, 4, 8))]
        self.norms = [keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5) for _ in range(3)]
        self.flatten = keras.layers.Flatten()
        self.logit = keras.layers.Dense(1, kernel_initializer=keras.initializers.RandomNormal(stddev=0.02))

    def call(self, stacked):
        x = tf.nn.leaky_relu(self.convs[0](stacked), 0.2)
        for conv, norm in zip(self.convs[1:], self.norms, strict=True):
            x = tf.nn.leaky_relu(norm(conv(x), training=True), 0.2)
        return self.logit(self.flatten(x))

    def get_config(self):
        return {**super().get_config(), "df_dim": self.df_dim}


@keras.saving.register_keras_serializable(package="deep_rnn_tf")
class MCNet(TaskModel):
    """MCnet video predictor with a replaceable recurrent core, trainable with `model.fit`.

    Input: `frames` (batch, K, H, W, 1) in [-1, 1]. Output: (batch, T, H, W, 1) in [-1, 1]
    (`num_future` at call time overrides T, e.g. T=20 at test after training with T=10).
    `fit` data: (past (B, K, H, W, 1), future (B, T, H, W, 1)) pairs.

    Args:
        past: K, observed frames (>= 2).
        future: T, predicted frames during training (>= 1).
        image_size: frame side H = W (a multiple of 8; needed for the discriminator's dense layer).
        gf_dim: generator base width (64 in the original).
        rnn: "rbm" (deep RBM stack, the paper) or "convlstm" (MCnet's 1-layer ConvLSTM).
        rnn_depth: layers of the RBM stack (15 in the paper; forced to 1 for "convlstm").
        rnn_filters: channels of every core layer (256 in the paper = 4 gf_dim).
        rnn_kernel: core kernel size.
        jump: residual jump every `jump` core layers (5 in the paper), None for none.
        p_td: temporal-dropout probability of the RBM cells (0.5 for MCnet in the original).
        gate_bias: initial temporal-gate bias of the RBM cells (0: the original; `RBMCell`).
        rbm_normalization: `RBMCell(normalization=...)` of the RBM core: None (the original), "layer",
            "batch" or "batch_per_step" (each core step, encoder and future steps counted together, keeps
            its own moving statistics).
        convlstm_normalization: `ConvLSTMCell(normalization=...)` of the "convlstm" core (None: MCnet's).
        rbm_activation: `RBMCell(activation=...)` of the RBM core ("relu" in the original MCnet core).
        rbm_merge: `RBMCell(merge=...)` of the RBM core: "product" (the original), "sum", "blend" or
            "accumulate", or a list with one per layer, bottom first.
        rbm_leak: `RBMCell(leak=...)` of the RBM core: 0 (the original) or the starting share of its past
            that every gate keeps additively (learnt per channel).
        pixel_loss: L_p, the pixel term of L_img: "mse" (the original: mean squared error on [-1, 1]),
            "l1" (mean absolute error on [-1, 1]: its minimiser is the median change, zero wherever most
            futures do not move, where the MSE's mean spreads a small change over every pixel) or "bce"
            (binary cross-entropy of the [0, 1] frame, computed from the tanh head's pre-activation: its
            gradient does not vanish where the frame saturates at black or white, where the MSE's does and
            Moving MNIST's black background trapped the model in empty frames). "bce" needs the frame head
            (`predict_change` off).
        predict_flow: with `predict_change`, the zero-initialised head also predicts a flow field (dx, dy)
            in pixels and the output is backward_warp(last frame, flow) + change: a camera pan or a moving
            object is a displacement of the last frame, which a per-pixel change can only approximate by
            erasing and redrawing. Zero flow is the identity, so the untrained model is still copy-last.
        flow_prior: None or "lucas_kanade" (with `predict_change`): the flow between the last two observed
            frames (`lucas_kanade_flow`, no weights, no gradient), times `flow_prior_gain`, moves the
            previous frame at every future step, under the head's own flow and change. The untrained model
            is then constant-velocity flow extrapolation instead of copy-last-frame.
        flow_prior_gain: the share of the measured flow applied per step, in [0, 2] (0.5: half, which
            shrinks a noisy estimate towards no motion).
        flow_prior_gains: None, or candidate gains (each in [0, 2]) that the runner validates before
            training (`start_candidates`), keeping the best: 0 is copy-last-frame, so the data decide
            whether the prior is used at all.
        flow_prior_damping: rho in [0.05, 1]: the prior's flow at future step t (from 0) is rho^t times the
            first step's, so the extrapolated motion slows down (1: constant velocity, the default).
        flow_prior_dampings: None, or candidate dampings validated with every candidate gain (the grid's
            best kept; gain 0 once, its damping moot).
        rbm_memory_gain: 0 (the original: Glorot recurrent kernels) or g > 0: every RBM cell's recurrent
            kernel starts at g x identity (`CenterIdentity`) and its gate bias at gate_bias - g/2, so each
            temporal gate starts as a leaky integrator of its input (keeping about g/4 per step).
        rbm_kernel_gain: None (MCnet's Glorot-uniform input kernels) or g > 0: the RBM cells' input
            kernels (R and T) start Xavier-normal with gain g (the original's action models use 3.0). A
            Glorot RBM layer with ReLU and a half-open gate passes ~0.4 of its input's scale, so a 3-layer
            core starts ~13x quieter than its input, and its path to the decoder learns that much slower.
        alpha: weight of L_img = L_p + gdl_weight * GDL + ssim_weight * (1 - SSIM).
        gdl_weight: weight of the GDL inside L_img (1.0 in the original).
        ssim_weight: weight of a structural term 1 - SSIM (Gaussian 11 / 1.5, on [0, 1] frames) inside
            L_img (0 in the original: no such term).
        predict_change: predict the change to the last frame instead of the frame: the output is
            clip(last + change, -1, 1) with the change's last layer initialised at zero, so the untrained
            model is exactly copy-last-frame (off in the original, which decodes the frame through tanh).
        straight_through_clip: with `predict_change`, clip the output to [-1, 1] in the forward pass only and
            pass the gradient as if unclipped, so a change that overshoots the range can still be corrected
            (a plain clip passes no gradient there; on Moving MNIST's black background that trapped the
            model in empty frames).
        content_frame: the frame the content encoder reads (and, with `predict_change`, the frame the change
            is added to) at every future step: "previous" (the last prediction, the original) or "observed"
            (always the last observed frame, so errors of earlier predictions are not re-encoded).
        motion_residuals: MCnet's multi-scale motion residuals into the decoder (True, the original). They
            carry the current frame difference around the core; with the small recipe the trained decoder
            relied on them alone and ignored the core's output (docs/prediction.md). False routes all motion
            through the core.
        core_to_skips: also add the core's output to the decoder's skip at every scale
            (`MCNetDecoder(core_to_skips=True)`; False: MCnet).
        motion_residual_dropout: in training, the share of sequences (drawn per sample) whose decoder gets
            no motion residuals at any step, so the core must carry their motion (0: off, the original).
        core_state_out: the decoder reads the top core layer's last state (the RBM's gate s_t, the
            ConvLSTM's cell c_t) concatenated to the core's output (False: the output alone, the original).
        beta: weight of the GAN loss (0.02 in the original); 0 builds no discriminator.
        df_dim: discriminator base width.
        margin: the original's margin balancing of the D and G updates (0.3).
        seed: seed of the temporal-dropout coins.

    Example:
        >>> model = MCNet(past=5, future=5, image_size=32, gf_dim=8, rnn="rbm", rnn_depth=2, rnn_filters=16)
        >>> model.compile(optimizer=keras.optimizers.Adam(1e-3))
        >>> future = model(tf.zeros((2, 5, 32, 32, 1)))  # (2, 5, 32, 32, 1)
    """

    def __init__(
        self,
        past: int = 10,
        future: int = 10,
        image_size: int = 128,
        gf_dim: int = 64,
        rnn: str = "rbm",
        rnn_depth: int = 15,
        rnn_filters: int = 256,
        rnn_kernel: int = 3,
        jump: int | None = 5,
        p_td: float = 0.5,
        alpha: float = 1.0,
        beta: float = 0.02,
        df_dim: int = 64,
        margin: float = 0.3,
        seed: int | None = None,
        gdl_weight: float = 1.0,
        ssim_weight: float = 0.0,
        predict_change: bool = False,
        content_frame: str = "previous",
        straight_through_clip: bool = False,
        predict_flow: bool = False,
        flow_prior: str | None = None,
        flow_prior_gain: float = 0.5,
        flow_prior_gains: list[float] | None = None,
        flow_prior_damping: float = 1.0,
        flow_prior_dampings: list[float] | None = None,
        gate_bias: float = 0.0,
        rbm_normalization: str | None = None,
        convlstm_normalization: str | None = None,
        rbm_activation: str = "relu",
        rbm_merge: str | list[str] = "product",
        rbm_leak: float = 0.0,
        rbm_memory_gain: float = 0.0,
        rbm_kernel_gain: float | None = None,
        pixel_loss: str = "mse",
        motion_residuals: bool = True,
        motion_residual_dropout: float = 0.0,
        core_to_skips: bool = False,
        core_state_out: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.motion_residuals = bool(motion_residuals)
        self.core_to_skips = bool(core_to_skips)
        self.core_state_out = bool(core_state_out)
        self.motion_residual_dropout = check_in_range(
            "motion_residual_dropout", motion_residual_dropout, 0.0, MAX_RESIDUAL_DROPOUT
        )
        self._residual_seed = keras.random.SeedGenerator(seed)
        if not isinstance(past, int) or past < 2:
            raise ValueError(
                f"past (K) must be an int >= 2 (motion needs a difference); received past={past!r}"
            )
        check_positive_int("future", future)
        if not isinstance(image_size, int) or image_size < 8 or image_size % 8:
            raise ValueError(
                f"image_size must be a positive multiple of 8; received image_size={image_size!r}"
            )
        check_choice("rnn", rnn, RNN_KINDS)
        check_positive_int("rnn_depth", rnn_depth)
        check_choice("content_frame", content_frame, CONTENT_FRAMES)
        if min(alpha, beta, gdl_weight, ssim_weight) < 0:
            raise ValueError(
                f"alpha, beta, gdl_weight and ssim_weight must be >= 0; received alpha={alpha!r}, "
                f"beta={beta!r}, gdl_weight={gdl_weight!r}, ssim_weight={ssim_weight!r}"
            )
        if not 0.0 < margin < 0.5:
            raise ValueError(f"margin must be in (0, 0.5); received margin={margin!r}")
        self.past, self.future, self.image_size = past, future, image_size
        self.gf_dim, self.df_dim = gf_dim, df_dim
        self.rnn, self.rnn_depth, self.rnn_filters, self.rnn_kernel = rnn, rnn_depth, rnn_filters, rnn_kernel
        self.jump, self.p_td, self.seed = jump, p_td, seed
        self.alpha, self.beta, self.margin = float(alpha), float(beta), float(margin)
        self.gdl_weight, self.ssim_weight = float(gdl_weight), float(ssim_weight)
        self.predict_change = bool(predict_change)
        self.content_frame = content_frame
        self.straight_through_clip = bool(straight_through_clip)
        self.predict_flow = bool(predict_flow)
        if self.predict_flow and not self.predict_change:
            raise ValueError("predict_flow=True needs the change head; received predict_change=False")
        self.flow_prior = check_choice("flow_prior", flow_prior, FLOW_PRIORS)
        if self.flow_prior is not None and not self.predict_change:
            raise ValueError(
                f"flow_prior={flow_prior!r} needs the change head; received predict_change=False"
            )
        self.flow_prior_gain = check_in_range("flow_prior_gain", flow_prior_gain, 0.0, MAX_FLOW_PRIOR_GAIN)
        self.flow_prior_gains = check_flow_prior_gains(flow_prior_gains, self.flow_prior)
        # A weight, not a constant: the gain chosen on validation at the start (`start_candidates`) is saved
        # with every checkpoint, so test and export use it. Only with a prior: checkpoints of models
        # without one keep their weights as before.
        self.prior_gain = None
        if self.flow_prior is not None:
            self.prior_gain = self._prior_setting("flow_prior_gain", self.flow_prior_gain)
        self.flow_prior_damping = check_in_range(
            "flow_prior_damping", flow_prior_damping, *FLOW_PRIOR_DAMPING_RANGE
        )
        self.flow_prior_dampings = check_flow_prior_dampings(flow_prior_dampings, self.flow_prior)
        # Like the gain, a weight saved with the checkpoints; made only where damping is asked for, so the
        # checkpoints of constant-velocity models keep their weights as before.
        self.prior_damping = None
        if self.flow_prior is not None and (self.flow_prior_damping != 1.0 or self.flow_prior_dampings):
            self.prior_damping = self._prior_setting("flow_prior_damping", self.flow_prior_damping)
        self.gate_bias = float(gate_bias)
        self.rbm_normalization, self.rbm_activation = rbm_normalization, rbm_activation
        self.convlstm_normalization = convlstm_normalization
        self.rbm_merge = check_merges(rbm_merge, rnn_depth)
        self.rbm_leak = check_in_range("rbm_leak", rbm_leak, 0.0, MAX_RBM_LEAK)
        self.rbm_memory_gain = check_in_range("rbm_memory_gain", rbm_memory_gain, 0.0, 20.0)
        # Checked here (gate_bias - g/2 within the cells' bound) so a bad pair fails before any layer is made.
        memory_kwargs = memory_gate_kwargs(self.rbm_memory_gain, gate_bias) if rnn == "rbm" else {}
        self.rbm_kernel_gain = rbm_kernel_gain
        if rbm_kernel_gain is not None:
            self.rbm_kernel_gain = check_in_range("rbm_kernel_gain", rbm_kernel_gain, *RBM_KERNEL_GAIN_RANGE)
        self.pixel_loss = check_choice("pixel_loss", pixel_loss, PIXEL_LOSSES)
        if self.pixel_loss == "bce" and self.predict_change:
            raise ValueError(
                "pixel_loss='bce' needs the frame head (a logit per pixel); received predict_change=True"
            )

        self.motion_encoder = MotionEncoder(gf_dim, name="motion_enc")
        self.content_encoder = ContentEncoder(gf_dim, name="content_enc")
        if rnn == "rbm":
            initializers = dict(memory_kwargs)
            if self.rbm_kernel_gain is not None:
                initializers["kernel_initializer"] = xavier_normal(self.rbm_kernel_gain)
            self.core = build_deep_cell(
                "rbm", depth=rnn_depth, filters=rnn_filters, kernel_size=rnn_kernel, jump=jump, p_td=p_td,
                normalization=rbm_normalization,
                activation=rbm_activation, merge=rbm_merge, leak=self.rbm_leak, seed=seed, name="deep_rbm",
                **initializers,
            )  # fmt: skip
        else:  # MCnet's own core: one ConvLSTM layer.
            self.core = build_deep_cell(
                "convlstm", depth=1, filters=rnn_filters, kernel_size=rnn_kernel, jump=None,
                normalization=convlstm_normalization, name="convlstm",
            )  # fmt: skip
        self.decoder = MCNetDecoder(
            gf_dim,
            # With predict_flow the zero-initialised head also gives a flow (dx, dy) in pixels.
            channels=3 if self.predict_flow else 1,
            change_head=self.predict_change,
            tanh_output=self.pixel_loss != "bce",
            motion_residuals=self.motion_residuals,
            core_to_skips=self.core_to_skips,
            name="decoder",
        )
        self.discriminator = MCNetDiscriminator(df_dim, name="discriminator") if self.beta > 0 else None
        if self.discriminator is not None:
            # The original's margin balancing state (1.0 = update); saved with the weights so resume keeps it.
            self.update_d = self.add_weight(
                shape=(),
                initializer="ones",
                trainable=False,
                name="update_d",
                aggregation="only_first_replica",
            )
            self.update_g = self.add_weight(
                shape=(),
                initializer="ones",
                trainable=False,
                name="update_g",
                aggregation="only_first_replica",
            )
        self.core.build((None, image_size // 8, image_size // 8, 4 * gf_dim))
        # One traced copy of each per-step piece (see `call`); weights exist before (see `build`).
        self._core_step = tf.function(self._core_step_eager, autograph=False, reduce_retracing=True)
        self._decode = tf.function(self._decode_eager, autograph=False, reduce_retracing=True)

    def logged_names(self) -> list[str]:
        names = ["l_p", "gdl"] + (["ssim"] if self.ssim_weight > 0 else [])
        return names + (["d_real", "d_fake", "g_gan"] if self.beta > 0 else [])

    # --- forward ------------------------------------------------------------------------------------------
    def build(self, input_shape):
        """Creates every generator weight by running one step of each piece on zeros (eagerly safe)."""
        size = self.image_size
        zeros = tf.zeros((1, size, size, 1))
        states = self.core.get_initial_state(1)
        h_dyn, res_motion, _ = self._core_step_eager(zeros, states, False, tf.constant(0))
        self._decode_eager(h_dyn, res_motion, zeros, tf.zeros((1, size, size, 2)))
        super().build(input_shape)

    def call(self, frames, training=None, num_future=None, return_logits=False):
        """Predicts `num_future` (default: T) frames from (batch, K, H, W, 1) observed frames in [-1, 1].

        With `return_logits` (and `pixel_loss="bce"`) returns (frames, logits): the logits are the [0, 1]
        frames' pre-sigmoid values (2 z for the frame tanh(z)).

        The time loop is unrolled in Python, but each step's encoder/core and decoder run as nested
        `tf.function`s, so the graph (and its gradient) holds one copy of each piece instead of K+T copies:
        with everything inlined, tracing the training step took minutes on CPU.
        """
        steps = self.future if num_future is None else int(num_future)
        if steps < 1:
            raise ValueError(f"num_future must be >= 1; received num_future={num_future!r}")
        if return_logits and self.pixel_loss != "bce":
            raise ValueError(
                f"return_logits needs pixel_loss='bce' (a logit head); pixel_loss={self.pixel_loss!r}"
            )
        training = bool(training)
        states = self.core.get_initial_state(tf.shape(frames)[0])
        keep = self._residual_keep_mask(tf.shape(frames)[0], training)
        # Encoder: K-1 core steps on the observed differences. The core's step index goes with every
        # step (a tensor: one trace for all steps) for cells with per-step statistics.
        core_steps = 0
        for t in range(1, frames.shape[1]):
            diff = frame_difference(frames[:, t], frames[:, t - 1])
            h_dyn, res_motion, states = self._core_step(diff, states, training, tf.constant(core_steps))
            core_steps += 1
        last = observed = frames[:, -1]
        prior = self.prior_flow(frames)
        predictions, logits = [], []
        for t in range(steps):
            if t > 0:  # feed the prediction back: its difference to the frame before it, and the frame
                diff = frame_difference(predictions[-1], last)
                h_dyn, res_motion, states = self._core_step(diff, states, training, tf.constant(core_steps))
                core_steps += 1
                last = predictions[-1]
            content = observed if self.content_frame == "observed" else last
            if keep is not None:
                res_motion = [residual * tf.cast(keep, residual.dtype) for residual in res_motion]
            frame, logit = self._decode(h_dyn, res_motion, content, prior * self._prior_step_scale(t))
            predictions.append(frame)
            logits.append(logit)
        if return_logits:
            return tf.stack(predictions, axis=1), tf.stack(logits, axis=1)
        return tf.stack(predictions, axis=1)

    def prior_flow(self, frames: tf.Tensor) -> tf.Tensor:
        """(B, H, W, 2) flow every future step applies to the previous frame before the head's own: the
        gain times the Lucas-Kanade flow from the second-last to the last observed frame (zeros without
        `flow_prior`). A measurement of the input, so no gradient flows through it."""
        shape = tf.shape(frames)
        if self.flow_prior is None:
            return tf.zeros(tf.stack([shape[0], shape[2], shape[3], 2]), tf.float32)
        flow = lucas_kanade_flow(frames[:, -2], frames[:, -1])
        return tf.stop_gradient(tf.cast(self.prior_gain, tf.float32) * flow)

    def _prior_setting(self, name: str, value: float) -> keras.Variable:
        """A scalar, non-trainable weight of the flow prior (its gain or damping), chosen at the start."""
        return self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(value),
            trainable=False,
            name=name,
            aggregation="only_first_replica",
        )

    def _prior_step_scale(self, t: int):
        """The multiple of `prior_flow` that future step t (from 0) applies to its content frame: rho^t
        to the previous frame (the flow slows by the damping rho each step), or the sum of rho^k for
        k <= t to the last observed frame (content_frame "observed": it must move by every step so far)."""
        damping = 1.0 if self.prior_damping is None else tf.cast(self.prior_damping, tf.float32)
        if self.content_frame == "observed":
            return sum(damping**k for k in range(t + 1))
        return damping**t

    def start_candidates(self) -> list[tuple[str, Callable[[], None]]]:
        """(label, apply) per way this model can start, for the runner to validate before training and keep
        the best of: one per `flow_prior_gains` entry, times one per `flow_prior_dampings` entry for the
        gains above 0 (none without gains)."""
        dampings = self.flow_prior_dampings or [self.flow_prior_damping]
        return [
            (self._prior_label(gain, rho), functools.partial(self._set_prior, gain, rho))
            for gain in self.flow_prior_gains or []
            for rho in (dampings if gain > 0 else [1.0])
        ]

    def _prior_label(self, gain: float, damping: float) -> str:
        """How the log names a start: its gain, and its damping where the model has one."""
        label = f"flow_prior_gain {gain:g}"
        return label if self.prior_damping is None else f"{label}, damping {damping:g}"

    def _set_prior(self, gain: float, damping: float) -> None:
        self.prior_gain.assign(float(gain))
        if self.prior_damping is not None:
            self.prior_damping.assign(float(damping))

    def _residual_keep_mask(self, batch, training: bool):
        """(batch, 1, 1, 1) of 0/1: which sequences keep their motion residuals (None: all of them)."""
        if not training or self.motion_residual_dropout == 0.0:
            return None
        draw = keras.random.uniform((batch, 1, 1, 1), seed=self._residual_seed)
        return tf.cast(draw >= self.motion_residual_dropout, tf.float32)

    def _core_step_eager(self, diff, states, training, step):
        code, res_motion = self.motion_encoder(diff)
        h_dyn, states = self.core(code, states, training=training, step=step)
        if self.core_state_out:
            # The RBM's output r * s is zero wherever the current motion code is, whatever its gates hold;
            # reading s itself lets the decoder use that memory where the input has gone quiet.
            h_dyn = tf.concat([h_dyn, tf.cast(states[-1], h_dyn.dtype)], axis=-1)
        return h_dyn, res_motion, list(states)

    def _decode_eager(self, h_dyn, res_motion, last, prior):
        """(frame, logit): the logit is 2 z of the frame tanh(z) with the BCE pixel loss; other heads have no
        logit and return the frame in its place (`call` refuses `return_logits` for them). `prior`: the
        (B, H, W, 2) flow applied to `last` under the head's (`prior_flow`)."""
        h_cont, res_content = self.content_encoder(last)
        decoded = self.decoder(h_dyn, h_cont, res_motion, res_content)
        if self.pixel_loss == "bce":  # tanh(z) = 2 sigmoid(2 z) - 1: the [0, 1] frame's logit is 2 z
            return tf.tanh(decoded), 2.0 * tf.cast(decoded, tf.float32)
        if not self.predict_change:
            return decoded, decoded
        decoded = tf.cast(decoded, last.dtype)
        base = last
        if self.flow_prior is not None or self.predict_flow:
            # Where each pixel comes from in the last frame, then what changes there.
            prior = tf.cast(prior, decoded.dtype)  # float32 measured; the head's dtype under mixed precision
            flow = prior + decoded[..., 1:3] if self.predict_flow else prior
            base = backward_warp(last, flow)
            decoded = decoded[..., :1]
        unclipped = base + decoded
        clipped = tf.clip_by_value(unclipped, -1.0, 1.0)
        if self.straight_through_clip:
            clipped = unclipped + tf.stop_gradient(clipped - unclipped)
        return clipped, clipped

    # --- losses -------------------------------------------------------------------------------------------
    def image_losses(
        self, future: tf.Tensor, prediction: tf.Tensor, logits: tf.Tensor | None = None
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """(L_p, GDL on [0, 1]) as the original's `build_model`: L_p is the MSE on [-1, 1] (or the mean
        absolute error with `pixel_loss="l1"`), or with `logits` (the BCE pixel loss) the binary
        cross-entropy of the [0, 1] frames computed from their logits."""
        prediction = tf.cast(prediction, tf.float32)
        if logits is not None:
            l_p = tf.reduce_mean(
                tf.nn.sigmoid_cross_entropy_with_logits(labels=gray01(future), logits=logits)
            )
        elif self.pixel_loss == "l1":
            l_p = tf.reduce_mean(tf.abs(prediction - future))
        else:
            l_p = tf.reduce_mean(tf.square(prediction - future))
        return l_p, gradient_difference_loss(gray01(prediction), gray01(future))

    def image_loss(
        self, future: tf.Tensor, prediction: tf.Tensor, logits: tf.Tensor | None = None
    ) -> tuple[tf.Tensor, dict]:
        """alpha * L_img and its parts: {"l_p", "gdl"} plus {"ssim"} (mean SSIM) when ssim_weight > 0."""
        l_p, gdl = self.image_losses(future, prediction, logits)
        parts = {"l_p": l_p, "gdl": gdl}
        l_img = l_p + self.gdl_weight * gdl
        if self.ssim_weight > 0:
            pred01 = tf.clip_by_value(gray01(tf.cast(prediction, tf.float32)), 0.0, 1.0)
            # tf.image.ssim's value; its depthwise-convolution gradient was most of the step on CPU.
            parts["ssim"] = tf.reduce_mean(gaussian_ssim(pred01, gray01(future), 1.0))
            l_img = l_img + self.ssim_weight * (1.0 - parts["ssim"])
        return self.alpha * l_img, parts

    def _stacked(self, past: tf.Tensor, future: tf.Tensor) -> tf.Tensor:
        """(B, K, H, W, 1) + (B, T, H, W, 1) -> (B, H, W, K + T), the discriminator's input."""
        frames = tf.concat([past, tf.cast(future, past.dtype)], axis=1)[..., 0]
        return tf.transpose(frames, [0, 2, 3, 1])

    def compile(self, optimizer="adam", d_optimizer=None, **kwargs):
        """Compiles the generator's optimizer and, when beta > 0, the discriminator's (default: a copy)."""
        if self.discriminator is not None:
            channels = self.past + self.future
            # Calling it once builds every sub-layer (Layer.build would not).
            self.discriminator(tf.zeros((1, self.image_size, self.image_size, channels)))
        super().compile(optimizer=optimizer, second_optimizer=d_optimizer, **kwargs)

    def second_variables(self) -> list:
        return list(self.discriminator.trainable_variables) if self.discriminator is not None else []

    @staticmethod
    def _unpack(data):
        if not isinstance(data, (tuple, list)) or len(data) < 2:
            raise ValueError(
                "MCNet.fit expects (past, future) pairs: past (B, K, H, W, 1), future (B, T, H, W, 1)"
            )
        return data[0], tf.cast(data[1], tf.float32)

    def compute_losses(self, data, training: bool) -> StepLosses:
        """alpha L_img (see `image_loss`) [+ beta G_gan in training, with the discriminator's own loss as
        second loss]; logs L_p, GDL and, when ssim_weight > 0, the mean SSIM."""
        past, future = self._unpack(data)
        if self.pixel_loss == "bce":
            prediction, logits = self(past, training=training, num_future=future.shape[1], return_logits=True)
        else:
            prediction, logits = self(past, training=training, num_future=future.shape[1]), None
        loss, parts = self.image_loss(future, prediction, logits)
        losses = StepLosses(loss, parts)
        if training and self.discriminator is not None:
            bce = keras.losses.BinaryCrossentropy(from_logits=True, reduction="sum_over_batch_size")
            real = self.discriminator(self._stacked(past, future), training=True)
            fake = self.discriminator(self._stacked(past, prediction), training=True)
            d_real, d_fake = bce(tf.ones_like(real), real), bce(tf.zeros_like(fake), fake)
            g_gan = bce(tf.ones_like(fake), fake)
            losses.loss = losses.loss + self.beta * g_gan
            # The discriminator sees the prediction as a constant (its own tape, its own loss).
            losses.second_loss = d_real + d_fake
            losses.logs.update(d_real=d_real, d_fake=d_fake, g_gan=g_gan)
        return losses

    def apply_updates(self, gradients, variables, second_gradients, second_variables, losses) -> None:
        """Applies D and G updates gated by the flags of the previous step, then sets the flags as the
        original: no D update if either D loss < margin, no G update if either > 1 - margin, both if
        neither."""
        if second_gradients is None:
            self.optimizer.apply(gradients, variables)
            return
        d_real, d_fake = losses.logs["d_real"], losses.logs["d_fake"]
        apply_d = lambda: self._apply(self.second_optimizer, second_gradients, second_variables)  # noqa: E731
        tf.cond(self.update_d > 0.5, apply_d, tf.no_op)
        tf.cond(self.update_g > 0.5, lambda: self._apply(self.optimizer, gradients, variables), tf.no_op)
        update_d = tf.logical_not(tf.logical_or(d_fake < self.margin, d_real < self.margin))
        update_g = tf.logical_not(tf.logical_or(d_fake > 1 - self.margin, d_real > 1 - self.margin))
        neither = tf.logical_not(tf.logical_or(update_d, update_g))
        self.update_d.assign(tf.cast(tf.logical_or(update_d, neither), self.update_d.dtype))
        self.update_g.assign(tf.cast(tf.logical_or(update_g, neither), self.update_g.dtype))

    @staticmethod
    def _apply(optimizer, grads, variables):
        optimizer.apply(grads, variables)
        return tf.no_op()

    def get_config(self):
        return {
            **super().get_config(),
            "past": self.past,
            "future": self.future,
            "image_size": self.image_size,
            "gf_dim": self.gf_dim,
            "rnn": self.rnn,
            "rnn_depth": self.rnn_depth,
            "rnn_filters": self.rnn_filters,
            "rnn_kernel": self.rnn_kernel,
            "jump": self.jump,
            "p_td": self.p_td,
            "gate_bias": self.gate_bias,
            "rbm_normalization": self.rbm_normalization,
            "convlstm_normalization": self.convlstm_normalization,
            "rbm_activation": self.rbm_activation,
            "rbm_merge": self.rbm_merge,
            "rbm_leak": self.rbm_leak,
            "rbm_memory_gain": self.rbm_memory_gain,
            "rbm_kernel_gain": self.rbm_kernel_gain,
            "pixel_loss": self.pixel_loss,
            "alpha": self.alpha,
            "beta": self.beta,
            "df_dim": self.df_dim,
            "margin": self.margin,
            "seed": self.seed,
            "gdl_weight": self.gdl_weight,
            "ssim_weight": self.ssim_weight,
            "predict_change": self.predict_change,
            "content_frame": self.content_frame,
            "straight_through_clip": self.straight_through_clip,
            "predict_flow": self.predict_flow,
            "flow_prior": self.flow_prior,
            "flow_prior_gain": self.flow_prior_gain,
            "flow_prior_gains": self.flow_prior_gains,
            "flow_prior_damping": self.flow_prior_damping,
            "flow_prior_dampings": self.flow_prior_dampings,
            "core_to_skips": self.core_to_skips,
            "core_state_out": self.core_state_out,
            "motion_residuals": self.motion_residuals,
            "motion_residual_dropout": self.motion_residual_dropout,
        }


def flow_extrapolation(
    past: tf.Tensor, num_future: int, gain: float = 0.5, damping: float = 1.0
) -> tf.Tensor:
    """The constant-velocity baseline: every future frame is the one before it moved by `gain` x the
    Lucas-Kanade flow from the second-last to the last observed frame (what `MCNet(flow_prior=
    "lucas_kanade")` predicts before training); with `damping` rho < 1 the flow of future step t (from 0)
    is rho^t times the first step's.

    Example:
        >>> flow_extrapolation(tf.zeros((2, 5, 8, 8, 1)), 3).shape
        TensorShape([2, 3, 8, 8, 1])
    """
    past = tf.cast(past, tf.float32)
    flow = gain * lucas_kanade_flow(past[:, -2], past[:, -1])
    rho = tf.constant(damping, tf.float32)
    frames, frame = [], past[:, -1]
    for t in range(int(num_future)):
        # The same product as MCNet's prior (`_prior_step_scale`), so the untrained model equals this bit
        # for bit (at damping 1 a product with exactly 1).
        frame = tf.clip_by_value(backward_warp(frame, flow * rho**t), -1.0, 1.0)
        frames.append(frame)
    return tf.stack(frames, axis=1)


def copy_last_frame(past: tf.Tensor, num_future: int) -> tf.Tensor:
    """The copy-last-frame baseline: repeats the last observed frame `num_future` times.

    Example:
        >>> copy_last_frame(tf.zeros((2, 5, 8, 8, 1)), 3).shape
        TensorShape([2, 3, 8, 8, 1])
    """
    return tf.repeat(past[:, -1:], num_future, axis=1)
