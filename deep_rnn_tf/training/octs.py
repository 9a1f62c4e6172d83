"""Overlap Coherence Training Scheme (OCTS): train on long sequences as overlapping short clips.

Recipe (original.md §3): cover a long sequence with N clips of length L overlapping by o steps; run each
clip; loss = the task loss on every clip + lambda * sum over adjacent clips of
MSE(p_cur[:o], stop_gradient(p_prev[-o:])), p = softmax of the per-step outputs. The state is carried
from clip to clip (detached: truncated back-propagation, the standalone action model) or re-zeroed
(backbone action and polygon models). At test time the whole sequence runs in one pass.

This module holds the clip arithmetic of the original code (so a dataset built here matches it), the
coherence loss, and `OCTSModel`, a `keras.Model` that trains any per-clip model this way with `fit`.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from deep_rnn_tf.cells.base import check_positive_int


def clip_frame_indices(
    num_frames: int, num_clips: int = 7, clip_len: int = 10, overlap_rate: float = 0.25
) -> tuple[np.ndarray, int]:
    """Frame indices of the N overlapping clips of one video, with the original's arithmetic (§3a).

    The video is first sub-sampled with step s = max(1, round(num_frames / need)), keeping frames i with
    i % s == s - 1, where need = L(1 - rate)(N - 1) + L frames would cover the clips. Clip k covers
    sub-sampled frames [k * stride, k * stride + L) with stride = min(int(L(1 - rate)),
    int(max(0, n_sub - L) / N)); indices past the end repeat the last frame. A short video can give
    stride 0 (all clips identical), as the original.

    Args:
        num_frames: frames in the video (positive).
        num_clips: N (7 for the backbone model, 6 for the standalone one).
        clip_len: L (10 and 5).
        overlap_rate: nominal overlap rate in [0, 1) (0.25).

    Returns:
        (indices, overlap): int array (N, L) of frame indices into the video, and o = L - stride.

    Example:
        >>> indices, overlap = clip_frame_indices(300, num_clips=7, clip_len=10, overlap_rate=0.25)
        >>> indices.shape, overlap
        ((7, 10), 3)
    """
    check_positive_int("num_frames", num_frames)
    check_positive_int("num_clips", num_clips)
    check_positive_int("clip_len", clip_len)
    if not 0.0 <= overlap_rate < 1.0:
        raise ValueError(f"`overlap_rate` must be in [0, 1). Received: overlap_rate={overlap_rate!r}")
    need = clip_len * (1 - overlap_rate) * (num_clips - 1) + clip_len
    step = max(1, int(round(num_frames / need)))
    kept = np.array([i for i in range(num_frames) if i % step == step - 1] or [num_frames - 1])
    stride = min(int(clip_len * (1 - overlap_rate)), int(max(0, len(kept) - clip_len) / num_clips))
    positions = np.arange(num_clips)[:, None] * stride + np.arange(clip_len)[None, :]
    positions = np.minimum(positions, len(kept) - 1)  # pad by repeating the last frame
    return kept[positions], clip_len - stride


def window_bounds(
    seq_len: int, num_windows: int = 8, window_len: int | None = None
) -> tuple[list[int], int, list[int]]:
    """Windows of the polygon model's OCTS (§3c, `data_divider`): starts, length, overlaps.

    window_len defaults to int(1.5 * seq_len / num_windows); window i starts at
    int(i * (seq_len - window_len) / (num_windows - 1)). The overlap between windows i and i + 1 is
    their true index overlap (the original passed int(float overlap), 3 where windows 0 and 1 share 4).

    Example:
        >>> window_bounds(58, 8)
        ([0, 6, 13, 20, 27, 34, 41, 48], 10, [4, 3, 3, 3, 3, 3, 3])
    """
    check_positive_int("seq_len", seq_len)
    check_positive_int("num_windows", num_windows)
    if window_len is None:
        window_len = int(1.5 * seq_len / num_windows)
    check_positive_int("window_len", window_len)
    if window_len > seq_len:
        raise ValueError(f"`window_len` ({window_len}) must not exceed `seq_len` ({seq_len}).")
    if num_windows == 1:
        return [0], window_len, []
    starts = [int(i * (seq_len - window_len) / (num_windows - 1)) for i in range(num_windows)]
    overlaps = [max(0, starts[i] + window_len - starts[i + 1]) for i in range(num_windows - 1)]
    return starts, window_len, overlaps


def coherence_loss(prev_probs: tf.Tensor, cur_probs: tf.Tensor, overlap: int) -> tf.Tensor:
    """MSE(cur[:, :o], stop_gradient(prev[:, -o:])): the OCTS coherence term of two adjacent clips.

    Args:
        prev_probs, cur_probs: per-step probabilities (batch, time, ...) of the previous and current
            clip (softmax outputs).
        overlap: o, the number of shared steps (0 gives 0).

    Example:
        >>> coherence_loss(tf.fill((2, 5, 3), 1 / 3), tf.fill((2, 5, 3), 1 / 3), 2).numpy()
        0.0
    """
    if overlap <= 0:
        return tf.zeros((), dtype=cur_probs.dtype)
    target = tf.stop_gradient(prev_probs[:, -overlap:])
    return tf.reduce_mean(tf.square(cur_probs[:, :overlap] - target))


@keras.saving.register_keras_serializable(package="deep_rnn_tf")
class OCTSModel(keras.Model):
    """Trains a per-clip model on batches of N overlapping clips with the OCTS loss, via `model.fit`.

    The wrapped `clip_model` maps a clip (batch, L, ...) to per-step logits (batch, L, classes). With
    `carry_state=True` it must take `[clip, *states]` and return `[logits, *states]` (e.g. a Functional
    model around `DeepRNN(..., return_state=True)` with state inputs); the final states of clip k are
    the (detached) initial states of clip k + 1, starting from zeros.

    Data: `x` of shape (batch, N, L, ...), `y` the per-clip targets given to `loss` with the clip's
    logits (e.g. (batch,) video labels against mean-over-time logits, see `reduce_time`).

    Args:
        clip_model: the per-clip Keras model.
        overlap: o, steps shared by adjacent clips (from `clip_frame_indices` / `window_bounds`).
        coherence_weight: lambda (0 as the action scripts, 0.8 as the polygon model).
        carry_state: carry detached states between clips.
        reduce_time: "mean" (average per-step logits over time before the loss, the action models) or
            None (per-step targets y of shape (batch, N, L, ...)).

    Example:
        >>> octs = OCTSModel(clip_model, overlap=3, coherence_weight=0.5)
        >>> octs.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        >>> octs.fit(clips, labels, epochs=2)
    """

    def __init__(
        self,
        clip_model: keras.Model,
        overlap: int,
        coherence_weight: float = 0.0,
        carry_state: bool = False,
        reduce_time: str | None = "mean",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(overlap, bool) or not isinstance(overlap, int) or overlap < 0:
            raise ValueError(f"`overlap` must be an int >= 0. Received: overlap={overlap!r}")
        if coherence_weight < 0:
            raise ValueError(
                f"`coherence_weight` must be >= 0. Received: coherence_weight={coherence_weight!r}"
            )
        if reduce_time not in ("mean", None):
            raise ValueError(f"`reduce_time` must be 'mean' or None. Received: reduce_time={reduce_time!r}")
        self.clip_model = clip_model
        self.overlap = overlap
        self.coherence_weight = float(coherence_weight)
        self.carry_state = bool(carry_state)
        self.reduce_time = reduce_time
        self.coherence_tracker = keras.metrics.Mean(name="coherence")

    def _zero_states(self, batch_size) -> list[tf.Tensor]:
        return [
            tf.zeros(
                tf.concat([[batch_size], tf.constant(t.shape[1:], tf.int32)], 0), dtype=self.compute_dtype
            )
            for t in self.clip_model.inputs[1:]
        ]

    def run_clips(self, clips: tf.Tensor, training: bool = False) -> list[tf.Tensor]:
        """Runs the N clips of `clips` (batch, N, L, ...) in order; returns the per-clip logits."""
        states = self._zero_states(tf.shape(clips)[0]) if self.carry_state else []
        logits = []
        for k in range(clips.shape[1]):
            if self.carry_state:
                outputs = self.clip_model([clips[:, k], *states], training=training)
                logits.append(outputs[0])
                states = [tf.stop_gradient(s) for s in outputs[1:]]  # truncated BPTT per clip
            else:
                logits.append(self.clip_model(clips[:, k], training=training))
        return logits

    def call(self, clips, training=False):
        logits = self.run_clips(clips, training=training)
        return tf.stack(logits, axis=1)

    def _task_prediction(self, clip_logits):
        return tf.reduce_mean(clip_logits, axis=1) if self.reduce_time == "mean" else clip_logits

    def _clip_targets(self, y, num_clips: int):
        """Targets for the clips stacked along the batch axis (clip-major), matching `_stack_clips`."""
        if self.reduce_time == "mean":
            return tf.concat([y] * num_clips, axis=0)
        return tf.concat([y[:, k] for k in range(num_clips)], axis=0)

    def _stack_clips(self, clip_logits: list[tf.Tensor]) -> tf.Tensor:
        return tf.concat([self._task_prediction(logit) for logit in clip_logits], axis=0)

    def octs_loss(self, y, clip_logits: list[tf.Tensor]) -> tuple[tf.Tensor, tf.Tensor]:
        """(task loss, coherence term) for one batch.

        The task loss is the compiled loss averaged over the clips (the original summed the clips'
        gradients: a constant factor N, which Adam does not see), computed in one call so that
        regularisation losses count once.
        """
        task = self.compute_loss(
            y=self._clip_targets(y, len(clip_logits)), y_pred=self._stack_clips(clip_logits), training=True
        )
        probs = [tf.nn.softmax(tf.cast(logit, tf.float32)) for logit in clip_logits]
        terms = [coherence_loss(probs[k - 1], probs[k], self.overlap) for k in range(1, len(probs))]
        coherence = tf.add_n(terms) if terms else tf.zeros(())
        return task, coherence

    def train_step(self, data):
        x, y = data[0], data[1]
        with tf.GradientTape() as tape:
            clip_logits = self.run_clips(x, training=True)
            task, coherence = self.octs_loss(y, clip_logits)
            loss = task + self.coherence_weight * tf.cast(coherence, task.dtype)
            scaled = self.optimizer.scale_loss(loss)
        variables = self.trainable_variables
        gradients = tape.gradient(scaled, variables)
        self.optimizer.apply_gradients(zip(gradients, variables, strict=True))
        return self._update_metrics(y, clip_logits, loss, coherence)

    def test_step(self, data):
        x, y = data[0], data[1]
        clip_logits = self.run_clips(x, training=False)
        task, coherence = self.octs_loss(y, clip_logits)
        loss = task + self.coherence_weight * tf.cast(coherence, task.dtype)
        return self._update_metrics(y, clip_logits, loss, coherence)

    def _update_metrics(self, y, clip_logits, loss, coherence) -> dict[str, Any]:
        self.coherence_tracker.update_state(coherence)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            elif metric is not self.coherence_tracker:
                metric.update_state(self._clip_targets(y, len(clip_logits)), self._stack_clips(clip_logits))
        return self.get_metrics_result()

    def get_config(self):
        return {
            **super().get_config(),
            "clip_model": keras.saving.serialize_keras_object(self.clip_model),
            "overlap": self.overlap,
            "coherence_weight": self.coherence_weight,
            "carry_state": self.carry_state,
            "reduce_time": self.reduce_time,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["clip_model"] = keras.saving.deserialize_keras_object(config["clip_model"], custom_objects)
        return cls(**config)
