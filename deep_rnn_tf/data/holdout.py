"""Validation carved out of the training data: the last part of every training segment (by time), or, when
segments are too short for that (Moving MNIST's 20-frame sequences), the last segments of the list; for
data sets of independent items (action videos, polygon crops), whole groups of items (`split_groups`:
a video group, a source image) so that nothing of a validation group is ever trained on.

The test list is never touched while training; validation windows come from the end of each training
segment, the way a time-split test set comes from the end of each clip, and never overlap the training
windows (the training part of a segment ends where its validation tail starts). The other way round,
`deep-rnn test` warns when a test list shares items with the training list (`shared_frames`,
`warn_of_shared_test_data`).
"""

from __future__ import annotations

import logging
import math
import re
import zlib
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence

from deep_rnn_tf.data.kth import OPEN_END, Segment
from deep_rnn_tf.validation import check_fraction

logger = logging.getLogger(__name__)

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
    check_fraction("val_fraction", fraction, include_zero=True)
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
    check_fraction("val_fraction", fraction, include_zero=True)
    if fraction == 0.0 or len(segments) < 2:
        return list(segments), []
    held = min(max(1, round(fraction * len(segments))), len(segments) - 1)
    return list(segments[:-held]), list(segments[-held:])


def _stable_rank(key: str, seed: int) -> int:
    # crc32 rather than hash(): Python salts str hashes per process, and the split must be the same in
    # every run (resume, test, another machine).
    return zlib.crc32(f"{seed}:{key}".encode())


def split_groups(groups: Iterable[tuple[str, Hashable]], fraction: float, seed: int = 0) -> set[str]:
    """The group keys held out for validation: `fraction` of the groups of every stratum (rounded).

    Groups are chosen by a seeded stable hash of their key, so the choice does not depend on the order
    of the listing and is the same in every process. Every stratum keeps at least one group for
    training; a stratum of one group is never held out (tiny data sets then get no validation).

    Args:
        groups: (group key, stratum) pairs; repeated pairs count once (several items of a group).
        fraction: share of each stratum's groups held out, in [0, 1).
        seed: seed of the choice.

    Returns:
        The held-out group keys (empty when `fraction` is 0).

    Example:
        >>> sorted(split_groups([(f"v{i}", "walk") for i in range(10)], 0.2))
        ['v3', 'v7']
    """
    check_fraction("val_fraction", fraction, include_zero=True)
    by_stratum: dict[Hashable, set[str]] = defaultdict(set)
    for key, stratum in groups:
        by_stratum[stratum].add(key)
    held: set[str] = set()
    if fraction == 0.0:
        return held
    for keys in by_stratum.values():
        count = min(round(fraction * len(keys)), len(keys) - 1)
        held.update(sorted(keys, key=lambda k: (_stable_rank(k, seed), k))[:count])
    return held


# UCF-101 style names: clips `_cNN` of one group `_gNN` share actor and background, so they go together.
_CLIP_SUFFIX = re.compile(r"_c\d+$")


def video_group(name: str) -> str:
    """The group of a video name: UCF-101's `v_<Class>_gNN_cNN` -> `v_<Class>_gNN`, others unchanged.

    Example:
        >>> video_group("v_ApplyEyeMakeup_g08_c01"), video_group("move_left_003")
        ('v_ApplyEyeMakeup_g08', 'move_left_003')
    """
    return _CLIP_SUFFIX.sub("", name)


def shared_frames(train: Sequence[Segment], test: Sequence[Segment]) -> list[str]:
    """Frame ranges that a test segment shares with a training segment of the same video (a leak).

    Segments are read half-open, [start, end), as the samplers read them (`train_start_range`,
    `test_window_starts`), so the MCnet lists' "0 420" and "420 600" share nothing.

    Example:
        >>> shared_frames([Segment("clip", 0, 420)], [Segment("clip", 400, 600), Segment("o", 0, 9)])
        ['clip 400-420']
    """
    by_video: dict[str, list[Segment]] = {}
    for segment in train:
        by_video.setdefault(segment.video, []).append(segment)
    shared = []
    for segment in test:
        for seen in by_video.get(segment.video, []):
            low, high = max(seen.start, segment.start), min(seen.end, segment.end)
            if low < high:
                shared.append(f"{segment.video} {low}-{high if high < OPEN_END else 'end'}")
    return shared


def warn_of_shared_test_data(source: str, shared: Sequence[str]) -> None:
    """Logs, naming `source` (the test list or folder) and the first items, that the test scores data the
    training list also holds: such scores are not held out. Nothing when `shared` is empty."""
    if shared:
        logger.warning(
            "%s: %d test item(s) are also training data, so their scores are not held out: %s",
            source,
            len(shared),
            ", ".join(shared[:10]) + (" ..." if len(shared) > 10 else ""),
        )
