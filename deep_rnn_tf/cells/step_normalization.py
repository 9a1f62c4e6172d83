"""Batch normalisation with population statistics per time step, for recurrent pre-activations.

A recurrent cell that normalises its pre-activations at every step (as the original's action RBM cells
do with `BatchNorm2d`) sees different statistics at different steps: the state starts at zero, so the
first steps' recurrent term is missing, and what a deeper layer receives changes until its input has
settled. In training each step is normalised with its own batch's moments, so nothing shows; but a
plain batch normalisation keeps *one* moving average, updated once per step, which ends up describing
the late steps. At inference the early steps are then normalised with the wrong statistics: the
action task's deep RBM read 13 % of the classes from the first tenth of a test video with the moving
averages and 38 % with each step's own batch moments (docs/study.md, fourteenth session).
Cooijmans et al. (2017, "Recurrent Batch Normalization") keep separate population statistics per time
step for the training length and use the last one's beyond it; this layer does that: a test sequence
longer than the training clips (the action `small` preset tests 16 frames, trains on clips of 8) uses,
after the last step seen in training, that step's statistics, never a row that training did not fill.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from deep_rnn_tf.validation import check_fraction, check_positive, check_positive_int


class StepwiseBatchNormalization(keras.layers.Layer):
    """Batch normalisation over all axes but the last, with moving statistics kept per time step.

    Args:
        steps: time steps with their own moving mean and variance; at inference a step beyond the last one
            seen in training (or beyond `steps`) uses the last seen step's statistics.
        momentum: of the moving averages (each step's row is updated once per training batch).
        epsilon: added to the variance.
        beta_initializer: initial value of the learnt shift (the RBM gate's bias lives here).
        **kwargs: `keras.layers.Layer` arguments (name, dtype).

    Call arguments:
        inputs: (batch, ..., channels).
        step: int scalar tensor, the time step of `inputs` (0 for the first).
        training: True: normalise with the batch's moments and update row `step` of the moving averages.

    Example:
        >>> norm = StepwiseBatchNormalization(steps=4)
        >>> y = norm(tf.random.normal((8, 5, 5, 3)), step=tf.constant(2), training=True)
        >>> norm.moving_mean.shape
        TensorShape([4, 3])
    """

    def __init__(
        self,
        steps: int = 32,
        momentum: float = 0.9,
        epsilon: float = 1e-5,
        beta_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.steps = check_positive_int("steps", steps)
        self.momentum = check_fraction("momentum", momentum, include_zero=True)
        self.epsilon = check_positive("epsilon", epsilon)
        self.beta_initializer = keras.initializers.get(beta_initializer)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(f"{self.name}: the channel axis must be known; received {input_shape}")
        self.gamma = self.add_weight(name="gamma", shape=(channels,), initializer="ones", autocast=False)
        self.beta = self.add_weight(
            name="beta", shape=(channels,), initializer=self.beta_initializer, autocast=False
        )
        per_step = (self.steps, channels)
        self.moving_mean = self.add_weight(
            name="moving_mean", shape=per_step, initializer="zeros", trainable=False, autocast=False
        )
        self.moving_variance = self.add_weight(
            name="moving_variance", shape=per_step, initializer="ones", trainable=False, autocast=False
        )
        # How many leading rows training has filled: the rows after them still hold their initial values.
        self.trained_steps = self.add_weight(
            name="trained_steps", shape=(), initializer="zeros", trainable=False, autocast=False
        )

    def call(self, inputs, step, training=None):
        x = tf.cast(inputs, tf.float32)  # moments in float32 also under mixed precision, as Keras' BN
        row = tf.minimum(tf.cast(step, tf.int32), self.steps - 1)
        if training:
            mean, variance = tf.nn.moments(x, axes=list(range(len(x.shape) - 1)))
            self._update(self.moving_mean, row, mean)
            self._update(self.moving_variance, row, variance)
            self.trained_steps.assign(tf.maximum(self.trained_steps, tf.cast(row + 1, tf.float32)))
        else:
            last_trained = tf.maximum(tf.cast(self.trained_steps, tf.int32) - 1, 0)
            row = tf.minimum(row, last_trained)
            mean = tf.gather(tf.convert_to_tensor(self.moving_mean), row)
            variance = tf.gather(tf.convert_to_tensor(self.moving_variance), row)
        outputs = tf.nn.batch_normalization(x, mean, variance, self.beta, self.gamma, self.epsilon)
        return tf.cast(outputs, self.compute_dtype)

    def _update(self, moving, row, value):
        old = tf.gather(tf.convert_to_tensor(moving), row)
        new = old * self.momentum + value * (1.0 - self.momentum)
        moving.assign(tf.tensor_scatter_nd_update(tf.convert_to_tensor(moving), [[row]], new[None]))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "steps": self.steps,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "beta_initializer": keras.initializers.serialize(self.beta_initializer),
        }
