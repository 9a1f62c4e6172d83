"""Frame-index arithmetic: which frames of a video (or steps of a sequence) make each clip or window.

Pure numpy, no TensorFlow: the action data pipeline, the OCTS trainer and the polygon model all use it, so
it lives on the data floor (nothing here imports training or a task). Every function reproduces the
original code's arithmetic (docs/reference/original.md §3 and §4.1), so a data set built here matches it.

- `clip_frame_indices`: the N overlapping OCTS training clips of a video (§3a).
- `window_bounds`: the polygon model's OCTS windows over a vertex sequence (§3c).
- `uniform_frame_indices`: the test protocol's `length` uniformly sampled frames.
- `first_frame_indices`: the anticipation test's first frames.
- `segment_frame_indices`: multi-view test clips, one per equal segment.
- `octs_frame_indices`: `clip_frame_indices` as a sampler `num_frames -> (N, L) indices`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from deep_rnn_tf.validation import check_fraction, check_positive_int


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
    check_fraction("overlap_rate", overlap_rate, include_zero=True)
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


def uniform_frame_indices(num_frames: int, length: int = 30) -> np.ndarray:
    """The original test protocol's sequence: `length` frames at step round(num_frames / length).

    Frames i with i % s == s - 1 are kept (s = max(1, round(num_frames / length))), the first `length` of
    them, padded by repeating the last frame (§4.1 of the spec; Python's round, as the original).

    Example:
        >>> uniform_frame_indices(90, 30)[:3]
        array([2, 5, 8])
    """
    check_positive_int("num_frames", num_frames)
    check_positive_int("length", length)
    step = max(1, round(num_frames / length))
    kept = [i for i in range(num_frames) if i % step == step - 1][:length]
    if not kept:
        kept = [num_frames - 1]
    kept += [kept[-1]] * (length - len(kept))
    return np.array(kept, np.int64)


def first_frame_indices(num_frames: int, count: int = 2) -> np.ndarray:
    """The anticipation test's input: the first `count` raw frames (padded by the last one)."""
    check_positive_int("num_frames", num_frames)
    check_positive_int("count", count)
    return np.minimum(np.arange(count), num_frames - 1).astype(np.int64)


def segment_frame_indices(num_frames: int, num_segments: int, length: int) -> np.ndarray:
    """Multi-view test clips: the video cut into `num_segments` equal parts, each sampled uniformly.

    Returns an int array (num_segments, length).

    Example:
        >>> segment_frame_indices(100, 2, 5)
        array([[ 5, 15, 25, 35, 45],
               [55, 65, 75, 85, 95]])
    """
    check_positive_int("num_frames", num_frames)
    check_positive_int("num_segments", num_segments)
    check_positive_int("length", length)
    bounds = np.linspace(0, num_frames, num_segments + 1)
    clips = []
    for start, end in zip(bounds[:-1], bounds[1:], strict=True):
        positions = start + (np.arange(length) + 0.5) * (end - start) / length
        clips.append(np.clip(np.floor(positions), 0, num_frames - 1))
    return np.array(clips, np.int64)


def octs_frame_indices(num_clips: int, clip_len: int, overlap_rate: float) -> Callable[[int], np.ndarray]:
    """A sampler giving the OCTS training clips (num_clips, clip_len) of a video (§3a arithmetic)."""

    def sampler(num_frames: int) -> np.ndarray:
        indices, _ = clip_frame_indices(num_frames, num_clips, clip_len, overlap_rate)
        return np.asarray(indices, np.int64)

    return sampler


__all__ = [
    "clip_frame_indices",
    "window_bounds",
    "uniform_frame_indices",
    "first_frame_indices",
    "segment_frame_indices",
    "octs_frame_indices",
]
