"""Validation carved out of the training data: the last part of every training segment (by time), or, when
segments are too short for that (Moving MNIST's 20-frame sequences), the last segments of the list.

The test list is never touched while training; validation windows come from the end of each training
segment, the way a time-split test set comes from the end of each clip, and never overlap the training
windows (the training part of a segment ends where its validation tail starts).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from deep_rnn_tf.data.kth import Segment

# A validation tail holds at least this many distinct window starts (so its loss is not one window's).
MIN_VALIDATION_STARTS = 4


def split_segments_by_time(
    segments: Sequence[Segment],
    num_frames: Callable[[str], int | None],
    length: int,
    fraction: float,
) -> tuple[list[Segment], list[Segment]]:
    """Splits every training segment into (training head, validation tail) by time.

    A segment's frames are [start, min(end, frames of the video)) (the reader's convention); its tail holds
    `fraction` of them, but at least `length + MIN_VALIDATION_STARTS - 1`. A segment whose head would be
    shorter than `length` stays whole in training; a video that cannot be read (`num_frames` returns None)
    is left to the training reader, which reports it.

    Args:
        segments: the training list.
        num_frames: frames of a video by name (None when unreadable).
        length: K + T, frames of one sample.
        fraction: share of each segment held out, in [0, 1).

    Returns:
        (training segments, validation segments); the second is empty when `fraction` is 0 or no segment is
        long enough.

    Example:
        >>> train, val = split_segments_by_time([Segment("person01_walking_d1", 0, 200)], lambda v: 300, 20, 0.1)
        >>> train, val
        ([Segment(video='person01_walking_d1', start=0, end=177)], [Segment(video='person01_walking_d1', start=177, end=200)])
    """  # noqa: E501
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1); received val_fraction={fraction!r}")
    if fraction == 0.0:
        return list(segments), []
    train, validation = [], []
    for segment in segments:
        frames = num_frames(segment.video)
        stop = segment.end if frames is None else min(segment.end, frames)
        usable = stop - segment.start
        tail = max(math.ceil(fraction * usable), length + MIN_VALIDATION_STARTS - 1)
        if frames is None or usable - tail < length:
            train.append(segment)
            continue
        train.append(Segment(segment.video, segment.start, stop - tail))
        validation.append(Segment(segment.video, stop - tail, stop))
    return train, validation


def split_segments_by_count(
    segments: Sequence[Segment], fraction: float
) -> tuple[list[Segment], list[Segment]]:
    """Holds out the last `fraction` of the segments whole (at least one, and at least one left to train).

    For data sets of many short sequences (Moving MNIST), where a time tail cannot hold K + T frames.

    Example:
        >>> split_segments_by_count([Segment(f"seq{i}", 0, 20) for i in range(10)], 0.2)[1]
        [Segment(video='seq8', start=0, end=20), Segment(video='seq9', start=0, end=20)]
    """
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1); received val_fraction={fraction!r}")
    if fraction == 0.0 or len(segments) < 2:
        return list(segments), []
    held = min(max(1, round(fraction * len(segments))), len(segments) - 1)
    return list(segments[:-held]), list(segments[-held:])
