"""The one train/test step of every task: `TaskModel`, a `keras.Model` a task subclasses for its losses.

A task's model says *what* to minimise (:meth:`TaskModel.compute_losses` returns a :class:`StepLosses`);
the base says *how*, once for all tasks:

- the gradient step (``optimizer.scale_loss`` for mixed precision, the model's regularisation losses
  added to the task loss);
- loss scaling under a ``tf.distribute`` strategy: each replica's loss is its batch mean divided by the
  number of replicas, so the summed gradients are the mean of the per-replica means (the original's tower
  averaging), whatever the task;
- metric trackers: one running mean per logged value, plus any `keras.metrics` objects the task makes
  (:meth:`TaskModel.make_metrics`) fed with its (targets, predictions);
- a second optimizer (a GAN's discriminator): ``compile(second_optimizer=...)``, the variables of
  :meth:`TaskModel.second_variables` trained on ``StepLosses.second_loss``; :meth:`TaskModel.apply_updates`
  is the hook that decides which update runs (MCnet's margin balancing);
- OCTS (docs/reference/original.md §3): :func:`run_clips` runs N clips with the detached state carry,
  :func:`stack_windows` cuts overlapping windows out of a sequence, :func:`coherence_sum` adds the
  coherence terms of adjacent clips.

Example:
    >>> class Regressor(TaskModel):
    ...     def __init__(self, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.dense = keras.layers.Dense(1)
    ...     def call(self, x, training=False):
    ...         return self.dense(x)
    ...     def compute_losses(self, data, training):
    ...         x, y = data
    ...         return StepLosses(tf.reduce_mean(tf.square(self(x, training=training) - y)))
    >>> model = Regressor()
    >>> model.compile(optimizer="adam")
    >>> model.fit(tf.zeros((8, 3)), tf.zeros((8, 1)), verbose=0)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf

from deep_rnn_tf.training.octs import coherence_loss


@dataclasses.dataclass
class StepLosses:
    """What a task's :meth:`TaskModel.compute_losses` returns for one batch (on one replica).

    Args:
        loss: the total loss to minimise, a mean over the replica's batch (the base adds the model's
            regularisation losses and does the replica scaling).
        logs: other scalars to report (running means named by their keys, e.g. "coherence").
        second_loss: the loss of the second optimizer's variables (None: no second update this step).
        targets, predictions: given to the task's metric objects (see :meth:`TaskModel.make_metrics`).
    """

    loss: tf.Tensor
    logs: dict[str, tf.Tensor] = dataclasses.field(default_factory=dict)
    second_loss: tf.Tensor | None = None
    targets: Any = None
    predictions: Any = None


class TaskModel(keras.Model):
    """Base of every task model: one gradient step, replica scaling, trackers, second-optimizer hooks.

    Subclasses implement :meth:`compute_losses` and, optionally, :meth:`logged_names` (the names their
    `StepLosses.logs` may hold, so the trackers exist before the step is traced), :meth:`make_metrics`,
    :meth:`second_variables` and :meth:`apply_updates`. They never write `train_step`/`test_step`.

    Example:
        >>> model = MyTaskModel(...)  # a subclass  # doctest: +SKIP
        >>> model.compile(optimizer=keras.optimizers.Adam(1e-3))  # doctest: +SKIP
        >>> model.fit(dataset, epochs=2)  # doctest: +SKIP
    """

    # --- what a task supplies ----------------------------------------------------------------------------
    def compute_losses(self, data: Any, training: bool) -> StepLosses:
        """The losses of one batch `data` (as the dataset yields it)."""
        raise NotImplementedError(f"{type(self).__name__} must implement compute_losses(data, training)")

    def logged_names(self) -> list[str]:
        """Names of the values `compute_losses` logs besides "loss" (default: none)."""
        return []

    def make_metrics(self) -> list[keras.metrics.Metric]:
        """Metric objects updated with (targets, predictions) of each step (default: none)."""
        return []

    def second_variables(self) -> list[tf.Variable]:
        """Variables trained by the second optimizer on `second_loss` (default: none)."""
        return []

    def apply_updates(
        self,
        gradients: list,
        variables: list,
        second_gradients: list | None,
        second_variables: list,
        losses: StepLosses,
    ) -> None:
        """Applies the step's gradients; override to gate the updates (e.g. a GAN's margin balancing)."""
        self.optimizer.apply(gradients, variables)
        if second_gradients is not None:
            self.second_optimizer.apply(second_gradients, second_variables)

    # --- compile -----------------------------------------------------------------------------------------
    def compile(self, optimizer="adam", second_optimizer=None, **kwargs):
        """Compiles the optimizer (and `second_optimizer` when the model has second variables).

        Args:
            optimizer: the optimizer of the model's own variables.
            second_optimizer: the optimizer of :meth:`second_variables` (default: a copy of `optimizer`).
            **kwargs: other `keras.Model.compile` arguments (`jit_compile`, `run_eagerly`, ...); losses
                and metrics come from the task (`compute_losses`, `make_metrics`), not from here.
        """
        if kwargs.get("loss") is not None:
            raise ValueError(f"{type(self).__name__}: losses come from compute_losses, not compile(loss=...)")
        super().compile(optimizer=optimizer, **kwargs)
        # Held by a plain object: a built Keras model refuses new tracked state, and these are not weights.
        self._step_state = _StepMetrics(
            {name: keras.metrics.Mean(name=name) for name in ["loss", *self.logged_names()]},
            list(self.make_metrics()),
        )
        self.second_optimizer = None
        second = self.second_variables()
        if second:
            if second_optimizer is None:
                second_optimizer = self.optimizer.__class__.from_config(self.optimizer.get_config())
            self.second_optimizer = keras.optimizers.get(second_optimizer)
            self.second_optimizer.build(second)

    @property
    def metrics(self):
        state = getattr(self, "_step_state", None)
        return [] if state is None else [*state.trackers.values(), *state.metrics]

    # --- the one step ------------------------------------------------------------------------------------
    def _first_variables(self, second: Sequence[tf.Variable]) -> list[tf.Variable]:
        excluded = {id(v) for v in second}
        return [v for v in self.trainable_variables if id(v) not in excluded]

    def _total(self, losses: StepLosses) -> StepLosses:
        """The task loss plus the model's regularisation losses."""
        if self.losses:
            losses.loss = losses.loss + tf.cast(tf.add_n(self.losses), losses.loss.dtype)
        return losses

    def train_step(self, data):
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        second = self.second_variables()
        with tf.GradientTape() as tape, tf.GradientTape() as second_tape:
            losses = self._total(self.compute_losses(data, training=True))
            # Mean of the per-replica means: scale before the strategy sums the gradients.
            scaled = self.optimizer.scale_loss(losses.loss / replicas)
            if second and losses.second_loss is not None:
                second_scaled = self.second_optimizer.scale_loss(losses.second_loss / replicas)
        variables = self._first_variables(second)
        gradients = tape.gradient(scaled, variables)
        second_gradients = None
        if second and losses.second_loss is not None:
            second_gradients = second_tape.gradient(second_scaled, second)
        self.apply_updates(gradients, variables, second_gradients, second, losses)
        return self._record(losses)

    def test_step(self, data):
        return self._record(self._total(self.compute_losses(data, training=False)))

    def _record(self, losses: StepLosses) -> dict[str, Any]:
        state = getattr(self, "_step_state", None)
        if state is None:
            raise ValueError(f"{type(self).__name__}: call compile() before fit/evaluate")
        values = {"loss": losses.loss, **losses.logs}
        for name, value in values.items():
            if name not in state.trackers:
                raise ValueError(f"{type(self).__name__}: logged value {name!r} is not in logged_names()")
            state.trackers[name].update_state(value)
        for metric in state.metrics:
            metric.update_state(losses.targets, losses.predictions)
        results = {name: state.trackers[name].result() for name in values}
        results.update({metric.name: metric.result() for metric in state.metrics})
        return results


@dataclasses.dataclass
class _StepMetrics:
    """The running means (by logged name) and metric objects of a compiled `TaskModel`."""

    trackers: dict[str, keras.metrics.Metric]
    metrics: list[keras.metrics.Metric]


# --- OCTS pieces (original.md §3) ----------------------------------------------------------------------
def zero_states(clip_model: keras.Model, batch_size, dtype) -> list[tf.Tensor]:
    """Zero initial states for a clip model whose inputs are `[clip, *states]`."""
    return [
        tf.zeros(tf.concat([[batch_size], tf.constant(t.shape[1:], tf.int32)], 0), dtype=dtype)
        for t in clip_model.inputs[1:]
    ]


def run_clips(
    clip_model: keras.Model, clips: tf.Tensor, carry_state: bool, training: bool, dtype="float32"
) -> list[tf.Tensor]:
    """Runs the N clips of `clips` (batch, N, L, ...) in order; returns the per-clip outputs.

    With `carry_state` the clip model takes `[clip, *states]` and returns `[logits, *states]`; the final
    states of clip k are the detached initial states of clip k + 1 (truncated back-propagation), starting
    from zeros. Without, the N clips are independent and run as one batch of batch * N clips (the same
    function, except that batch norm sees the N clips together, and the graph holds one copy of the model
    instead of N: N times faster to trace for a deep stack).

    Example:
        >>> clip_model = keras.Sequential([keras.layers.GlobalAveragePooling3D(), keras.layers.Dense(5)])
        >>> logits = run_clips(clip_model, tf.zeros((2, 3, 4, 8, 8, 1)), carry_state=False, training=False)
        >>> len(logits), logits[0].shape
        (3, TensorShape([2, 5]))
    """
    num_clips = clips.shape[1]
    if not carry_state:
        clip_len, batch = clips.shape[2], tf.shape(clips)[0]
        merged = tf.reshape(clips, tf.concat([[-1, clip_len], tf.shape(clips)[3:]], axis=0))
        logits = clip_model(merged, training=training)
        logits = tf.reshape(logits, tf.concat([[batch, num_clips], tf.shape(logits)[1:]], axis=0))
        return [logits[:, k] for k in range(num_clips)]
    states = zero_states(clip_model, tf.shape(clips)[0], dtype)
    outputs_per_clip = []
    for k in range(num_clips):
        outputs = clip_model([clips[:, k], *states], training=training)
        outputs_per_clip.append(outputs[0])
        states = [tf.stop_gradient(s) for s in outputs[1:]]  # truncated BPTT per clip
    return outputs_per_clip


def stack_windows(steps: tf.Tensor, starts: Sequence[int], length: int) -> tf.Tensor:
    """(B, T, ...) -> (B, N, L, ...): the N overlapping windows steps[:, s : s + L] for s in `starts`."""
    return tf.stack([steps[:, s : s + length] for s in starts], axis=1)


def coherence_sum(probs: Sequence[tf.Tensor] | tf.Tensor, overlaps: int | Sequence[int]) -> tf.Tensor:
    """Sum over adjacent clips k-1, k of `coherence_loss(probs[k-1], probs[k], overlap_k)`.

    Args:
        probs: per-clip probabilities, a list of (B, L, ...) or a tensor (B, N, L, ...).
        overlaps: one overlap for every pair, or one per pair (N - 1 of them).

    Example:
        >>> float(coherence_sum([tf.fill((1, 4, 2), 0.5)] * 3, 2))
        0.0
    """
    clips = [probs[:, k] for k in range(probs.shape[1])] if isinstance(probs, tf.Tensor) else list(probs)
    if isinstance(overlaps, int):
        overlaps = [overlaps] * (len(clips) - 1)
    terms = [coherence_loss(clips[k - 1], clips[k], o) for k, o in enumerate(overlaps, start=1)]
    return tf.add_n(terms) if terms else tf.zeros(())
