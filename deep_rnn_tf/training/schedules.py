"""The learning rate of a run from its config: constant (the original's), or warm-up then cosine decay.

Deep stacks trained from scratch on a short budget need both ends: a warm-up, so the first Adam steps on
an untrained 15-layer stack do not blow it up, and a decay, so the last epochs settle instead of
bouncing at the peak rate. Shared by every task (`TaskConfig.lr_schedule`, `warmup_steps`).
"""

from __future__ import annotations

import keras

from deep_rnn_tf.training.config import TaskConfig


def learning_rate(
    config: TaskConfig, steps_per_epoch: int | None = None
) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """`config.lr` constant, or (`lr_schedule: cosine`) a linear warm-up from 0 over `warmup_steps`, then a
    cosine decay to 0 at the end of training (epochs x steps per epoch).

    Args:
        config: the run's config (`lr`, `lr_schedule`, `warmup_steps`, `epochs`, `steps_per_epoch`).
        steps_per_epoch: the epoch's length when `config.steps_per_epoch` is None (a whole pass over the
            training set: the task counts it).

    Example:
        >>> learning_rate(TaskConfig(lr=1e-3))
        0.001
    """
    lr, warmup = float(config.lr), int(config.warmup_steps)
    if config.lr_schedule == "constant":
        return lr
    steps = config.steps_per_epoch or steps_per_epoch or 0
    total = int(config.epochs) * int(steps)
    if total <= warmup:
        raise ValueError(
            f"lr_schedule 'cosine' needs epochs x steps_per_epoch > warmup_steps; received "
            f"epochs={config.epochs!r}, steps_per_epoch={steps!r}, warmup_steps={warmup}"
        )
    return keras.optimizers.schedules.CosineDecay(
        0.0 if warmup else lr,
        decay_steps=total - warmup,
        warmup_target=lr if warmup else None,
        warmup_steps=warmup,
    )
