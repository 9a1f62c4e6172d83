"""Overlap Coherence Training Scheme (OCTS): train on long sequences as overlapping short clips.

Recipe (original.md §3): cover a long sequence with N clips of length L overlapping by o steps; run each
clip; loss = the task loss on every clip + lambda * sum over adjacent clips of
MSE(p_cur[:o], stop_gradient(p_prev[-o:])), p = softmax of the per-step outputs. The state is carried
from clip to clip (detached: truncated back-propagation, the standalone action model) or re-zeroed
(backbone action and polygon models). At test time the whole sequence runs in one pass.

This module holds the coherence loss; the clip arithmetic lives in `deep_rnn_tf.data.sampling`, and the
training loop (clips run with the detached state carry, windows, coherence summed over adjacent clips) in
`deep_rnn_tf.training.trainer`, which every task model shares.
"""

from __future__ import annotations

import tensorflow as tf

# The clip arithmetic lives on the data floor; re-exported here for code that imported it from OCTS.
from deep_rnn_tf.data.sampling import clip_frame_indices, window_bounds  # noqa: F401


def coherence_loss(prev_probs: tf.Tensor, cur_probs: tf.Tensor, overlap: int) -> tf.Tensor:
    """MSE(cur[:, :o], stop_gradient(prev[:, -o:])): the OCTS coherence term of two adjacent clips.

    Args:
        prev_probs, cur_probs: per-step probabilities (batch, time, ...) of the previous and current
            clip (softmax outputs).
        overlap: o, the number of shared steps (0 gives 0).

    Example:
        >>> coherence_loss(tf.fill((2, 5, 3), 1 / 3), tf.fill((2, 5, 3), 1 / 3), 2).numpy()
        np.float32(0.0)
    """
    if overlap <= 0:
        return tf.zeros((), dtype=cur_probs.dtype)
    target = tf.stop_gradient(prev_probs[:, -overlap:])
    return tf.reduce_mean(tf.square(cur_probs[:, :overlap] - target))
