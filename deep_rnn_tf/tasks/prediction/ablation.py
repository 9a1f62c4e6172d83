"""What each path of a trained MCnet predictor contributes: the recurrent core's memory, its output, and
MCnet's motion residuals, measured by switching one off at test time; and what rolling out on its own
predicted motion costs (`true_motion`).

MCnet's decoder sees the recurrent core's output *and* the motion encoder's multi-scale maps of the
current frame difference (the motion residuals), which go around the core. A core whose output can be
zeroed without changing the prediction is not used by the trained model, whatever its depth or cell, so
comparing cores on such a model compares nothing. `benchmarks/prediction_ablation.py` prints the table.

Example:
    >>> with ablated(model, "core_output"):      # doctest: +SKIP
    ...     frames = model(observed, num_future=10)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import tensorflow as tf

from deep_rnn_tf.data.kth import to_unit_range
from deep_rnn_tf.tasks.prediction.model import frame_difference

ABLATIONS = ("none", "core_memory", "core_output", "motion_residuals", "content_code", "bottleneck")


@contextlib.contextmanager
def ablated(model, what: str) -> Iterator[None]:
    """Runs `model` (an `MCNet`) with one path switched off inside the block.

    Args:
        model: a built `MCNet`.
        what: "none"; "core_memory" (every step runs as the core's first: its states are reset to zero
            and, in a core normalised with per-step statistics, the first step's statistics are used, so it
            sees the current difference only); "core_output" (the core's output is replaced by zeros); or
            "motion_residuals" (the motion encoder's residual maps are replaced by zeros);
            "content_code" (the content encoder's 1/8 code, the core output's partner in the decoder's
            combination layers, is replaced by zeros; its multi-scale maps are kept); or "bottleneck"
            (both 1/8 codes, the core's output and the content code: what is left is the decoder working
            from the multi-scale residuals alone, a U-Net).
    """
    if what not in ABLATIONS:
        raise ValueError(f"what: expected one of {ABLATIONS}; received {what!r}")
    step = model._core_step  # the traced per-step piece that `MCNet.call` looks up on every step
    decode = model._decode
    encode_content = model.content_encoder.call

    def ablated_step(diff, states, training, step_index):
        if what == "core_memory":
            # The first step is the only one trained with zero states; a core with per-step batch statistics
            # (the RBM core of the small preset) would otherwise normalise zero states with the statistics
            # of remembered ones, which shifts its gates shut rather than removing the memory.
            states = [tf.zeros_like(state) for state in states]
            step_index = tf.zeros_like(step_index)
        h_dyn, res_motion, new_states = step(diff, states, training, step_index)
        if what in ("core_output", "bottleneck"):
            h_dyn = tf.zeros_like(h_dyn)
        if what == "motion_residuals":
            res_motion = [tf.zeros_like(res) for res in res_motion]
        return h_dyn, res_motion, new_states

    def content_without_code(image):
        code, residuals = encode_content(image)
        return tf.zeros_like(code), residuals

    if what != "none":
        model._core_step = ablated_step
    if what in ("content_code", "bottleneck"):
        model.content_encoder.call = content_without_code
        model._decode = model._decode_eager  # the traced copy would keep the encoder it was traced with
    try:
        yield
    finally:
        model._core_step, model._decode = step, decode
        if "call" in vars(model.content_encoder):
            del model.content_encoder.call


@contextlib.contextmanager
def true_motion(model, observed: np.ndarray, future: np.ndarray) -> Iterator[None]:
    """Inside the block the motion encoder reads the *true* frame difference at every fed-back step.

    A predictor rolls out on its own predictions: from the second predicted frame on, its motion encoder
    (the core's input and the motion residuals) reads the difference between its last prediction and the
    frame before, and a model that under-predicts motion sees less motion at every step. With the true
    difference instead, what is left of a model's error is its one-step error given the true recent motion
    (the content frame and the change head still use its own predictions): the gap between the two rows
    is what rolling out on its own motion costs. Call the model on `observed` only, with T <= future's.

    Args:
        model: a built `MCNet`.
        observed: (N, K, H, W, 1) the observed frames in [-1, 1] (the model's input in the block).
        future: (N, >= T, H, W, 1) the true future frames in [-1, 1].
    """
    frames = tf.constant(np.concatenate([observed, future], axis=1), tf.float32)
    step = model._core_step

    def step_on_true_motion(diff, states, training, step_index):
        # Core step i reads the difference that ends at frame i + 1 (step 0: frames 1 - 0; the first
        # fed-back step, K - 1: the first future frame minus the last observed one).
        t = int(step_index) + 1
        true = frame_difference(frames[:, t], frames[:, t - 1])
        return step(tf.cast(true, diff.dtype), states, training, step_index)

    model._core_step = step_on_true_motion
    try:
        yield
    finally:
        model._core_step = step


def memory_use(model, observed: np.ndarray, batch_size: int = 16) -> dict:
    """How much a trained core's output at the last observed step rests on what it remembers.

    Runs the core over the observed differences, then the last step twice: with the remembered states,
    and as the core's first step (states zero, the first step's statistics; the `core_memory` ablation).
    A core whose output barely changes without its memory passes on the current difference only, whatever
    its states hold; one whose states do not change from step to step holds a fixed map, not the motion.

    Args:
        model: a built `MCNet`.
        observed: (N, K >= 4, H, W, 1) observed frames in [-1, 1].
        batch_size: windows per core call.

    Returns:
        {"output_correlation": Pearson r of the two outputs, "relative_change": mean |h - h_reset| /
        mean |h|, "states": [{"temporal_std": std over the second half of the observed steps, averaged
        over positions, "spread": std over windows, positions and channels at the last step}, ... one per
        core state tensor]}.
    """
    past = observed.shape[1]
    if past < 4:
        raise ValueError(f"observed: memory_use needs K >= 4 observed frames; received K={past}")
    runs = [
        _observed_core_run(model, observed[i : i + batch_size]) for i in range(0, len(observed), batch_size)
    ]
    h = np.concatenate([run[0] for run in runs])
    h0 = np.concatenate([run[1] for run in runs])
    states = []
    for index in range(len(runs[0][2])):
        series = np.concatenate([run[2][index] for run in runs], axis=1)  # (steps, N, ...) of one state
        late = series[(past - 1) // 2 :]  # the second half of the steps, past the start-up transient
        states.append({"temporal_std": float(late.std(axis=0).mean()), "spread": float(series[-1].std())})
    return {
        "output_correlation": float(np.corrcoef(h.ravel(), h0.ravel())[0, 1]),
        "relative_change": float(np.abs(h - h0).mean() / max(np.abs(h).mean(), 1e-12)),
        "states": states,
    }


def _observed_core_run(model, observed: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """(last output, last output run as the core's first step, [(steps, N, ...) per state tensor]) of the
    core over the observed differences of one batch of windows."""
    frames = tf.constant(observed, tf.float32)
    states = model.core.get_initial_state(tf.shape(frames)[0])
    history = []
    for t in range(1, frames.shape[1]):
        diff = frame_difference(frames[:, t], frames[:, t - 1])
        before = states
        h_dyn, _, states = model._core_step(diff, states, False, tf.constant(t - 1))
        history.append([state.numpy() for state in states])
    zeros = [tf.zeros_like(state) for state in before]
    h_reset, _, _ = model._core_step(diff, zeros, False, tf.constant(0))
    per_state = [np.stack([step[index] for step in history]) for index in range(len(history[0]))]
    return h_dyn.numpy(), h_reset.numpy(), per_state


def load_test_windows(task, config, past: int, windows: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(observed (N, past, H, W, 1), future (N, test_future, H, W, 1)): the run's test windows in [-1, 1]."""
    steps = config.test_future
    data = task._data(config.replace(past=past), "test", steps)
    chosen = data.test_windows()[:windows] if windows else data.test_windows()
    clips = np.stack([data.window(segment.video, start) for segment, start in chosen])
    frames = to_unit_range(clips[..., None])
    return frames[:, :past], frames[:, past:]


def predict_in_batches(
    model, observed: np.ndarray, steps: int, batch_size: int = 16, future: np.ndarray | None = None
) -> np.ndarray:
    """The model's (N, steps, H, W, 1) prediction of every observed window, `batch_size` at a time; with
    `future`, each batch on the true motion (`true_motion`)."""
    parts = []
    for i in range(0, len(observed), batch_size):
        batch = observed[i : i + batch_size]
        context = (
            contextlib.nullcontext()
            if future is None
            else true_motion(model, batch, future[i : i + batch_size])
        )
        with context:
            parts.append(model(tf.constant(batch), training=False, num_future=steps).numpy())
    return np.concatenate(parts)


def step_changes(frames: np.ndarray) -> np.ndarray:
    """Mean |f_t − f_{t−1}| per step t >= 1 of (N, T, H, W, 1) frames."""
    return np.abs(np.diff(frames, axis=1)).mean(axis=(0, 2, 3, 4))


def mse_ratio_to_copy_last(prediction: np.ndarray, observed: np.ndarray, future: np.ndarray) -> np.ndarray:
    """Per future step, the prediction's MSE divided by copy-last-frame's (< 1: better than copying)."""
    model_mse = ((prediction - future) ** 2).mean(axis=(0, 2, 3, 4))
    copy_mse = ((observed[:, -1:] - future) ** 2).mean(axis=(0, 2, 3, 4))
    return model_mse / copy_mse
