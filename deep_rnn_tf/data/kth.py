"""Reader of the real KTH action layout for video prediction (MCnet protocol) and its tf.data pipelines.

Layout: `<data_dir>/personXX_<action>_dN_uncomp.avi` (160x120) plus a segment list, either the MCnet format
(`<video> <start> <end>` per line, e.g. `person01_boxing_d1 1 95`) or KTH's own `00sequences.txt`
(`person01_boxing_d1  frames  1-95, 96-185, ...`).

Frames are converted to grey, resized to `image_size` x `image_size` (aspect not kept, as the original) and
mapped to [-1, 1]. As in the original, the 1-based list numbers are used as 0-based frame indices.

- Training samples: K + T consecutive frames at a random start in [start, min(end, len) - K - T + 1), start 0
  when that range is a single point (the original's behaviour, kept for comparability), random h-flip.
- Test windows: starts in range(start, end - K - T - 1, stride), stride 3 for running and jogging and T
  otherwise (MCnet's test_kth.py).
- A segment too short for K + T frames is skipped with a warning naming it (the original crashed).
- A missing or unreadable video raises `VideoReadError` naming the file (`strict=True`) or is reported and
  skipped (`strict=False`).
"""

from __future__ import annotations

import copy
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import tensorflow as tf

from deep_rnn_tf.data.video_io import DecodedVideoCache, VideoReadError, read_video
from deep_rnn_tf.layers.preprocessing import preprocess_pixels
from deep_rnn_tf.validation import check_int_at_least, check_non_negative_int, check_positive_int

logger = logging.getLogger(__name__)

ACTIONS = ("boxing", "handclapping", "handwaving", "jogging", "running", "walking")
# MCnet's test protocol starts a window every 3 frames for these (fast) actions and every T frames otherwise.
DENSE_TEST_ACTIONS = ("running", "jogging")
_VIDEO_NAME = re.compile(r"^person(\d+)_([a-z]+)_d(\d+)$")


@dataclass(frozen=True)
class Segment:
    """One sub-sequence of a KTH video, as a line of the segment list.

    Args:
        video: video base name, e.g. `person01_boxing_d1` (file `person01_boxing_d1_uncomp.avi`).
        start: first frame number as written in the list (used as a 0-based index, like the original).
        end: last frame number as written in the list.

    Example:
        >>> Segment("person01_boxing_d1", 1, 95).action
        'boxing'
    """

    video: str
    start: int
    end: int

    @property
    def action(self) -> str:
        """The action parsed from the video name (`""` if the name does not follow the KTH pattern)."""
        match = _VIDEO_NAME.match(self.video)
        return match.group(2) if match else ""

    @property
    def person(self) -> int:
        """The person number parsed from the video name (-1 if the name does not follow the KTH pattern)."""
        match = _VIDEO_NAME.match(self.video)
        return int(match.group(1)) if match else -1

    def __str__(self) -> str:
        return f"{self.video} {self.start} {self.end}"


def video_path(data_dir: str, video: str) -> str:
    """The file of a KTH video base name: `<data_dir>/<video>_uncomp.avi`.

    Example:
        >>> video_path("data/KTH", "person01_boxing_d1")
        'data/KTH/person01_boxing_d1_uncomp.avi'
    """
    return os.path.join(data_dir, f"{video}_uncomp.avi")


def parse_segment_list(path: str) -> list[Segment]:
    """Reads a segment list: MCnet lines `<video> <start> <end>` or KTH's `00sequences.txt` lines.

    Blank lines and KTH's header/comment lines without a frame range are ignored; a malformed line raises.

    Args:
        path: the list file.

    Returns:
        The segments in file order.

    Raises:
        FileNotFoundError: the file is missing.
        ValueError: a line cannot be parsed (the message names the file and the line number).

    Example:
        >>> segments = parse_segment_list("data/KTH/train_data_list_trimmed.txt")
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such segment list")
    segments: list[Segment] = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, raw in enumerate(handle, start=1):
            line = raw.strip()
            if not line:
                continue
            try:
                segments += _parse_line(line)
            except ValueError as error:
                raise ValueError(f"{path}:{number}: {error}; line: {line!r}") from None
    return segments


def _parse_line(line: str) -> list[Segment]:
    if "frames" in line:  # KTH 00sequences.txt: "person01_boxing_d1\t\tframes\t1-95, 96-185, ..."
        video, _, ranges = line.partition("frames")
        video = video.strip()
        segments = []
        for item in ranges.split(","):
            if item.strip():
                start, sep, end = item.strip().partition("-")
                if not sep:
                    raise ValueError(f"frame range {item.strip()!r} is not 'start-end'")
                segments.append(_segment(video, start, end))
        return segments
    fields = line.split()
    looks_like_segment = len(fields) == 3 and all(f.lstrip("-").isdigit() for f in fields[1:])
    if not _VIDEO_NAME.match(fields[0]) and not looks_like_segment:
        return []  # a header or comment line of 00sequences.txt
    if len(fields) == 3:
        return [_segment(*fields)]
    raise ValueError("expected '<video> <start> <end>' or a 00sequences.txt line")


def _segment(video: str, start: str, end: str) -> Segment:
    try:
        start_i, end_i = int(start), int(end)
    except ValueError:
        raise ValueError(f"start/end must be integers, got {start!r} {end!r}") from None
    if start_i < 0 or end_i < start_i:
        raise ValueError(f"need 0 <= start <= end, got start={start_i} end={end_i}")
    return Segment(video, start_i, end_i)


def to_unit_range(frames: np.ndarray) -> np.ndarray:
    """uint8 frames -> float32 in [-1, 1] (x / 127.5 - 1, the original's mapping).

    Example:
        >>> to_unit_range(np.array([0, 255], np.uint8))
        array([-1.,  1.], dtype=float32)
    """
    return np.asarray(preprocess_pixels(frames, "minus_one_one"))


class KTHReader:
    """Decodes KTH videos (grey, resized, uint8) with a thread-safe LRU cache of whole decoded videos.

    KTH avis are short (a few hundred 160x120 frames), so decoding a whole file and keeping the resized
    frames is cheaper than seeking per sample; the cache bounds memory (`cache_size` videos).

    Args:
        data_dir: directory holding the `*_uncomp.avi` files.
        image_size: frames are resized to image_size x image_size.
        cache_size: number of decoded videos to keep (0 disables the cache).
        strict: a truncated video (fewer frames than its container declares) raises `VideoReadError`;
            otherwise it is used with a warning naming both counts.

    Example:
        >>> reader = KTHReader("data/KTH", image_size=64)
        >>> frames = reader.frames("person01_boxing_d1")  # uint8 (N, 64, 64)
    """

    def __init__(self, data_dir: str, image_size: int = 128, cache_size: int = 64, strict: bool = False):
        check_int_at_least("image_size", image_size, 8)
        check_non_negative_int("cache_size", cache_size)
        self.data_dir = data_dir
        self.image_size = image_size
        self.cache_size = cache_size
        self.strict = strict
        self._cache = DecodedVideoCache(cache_size)

    def frames(self, video: str) -> np.ndarray:
        """All frames of `video`, uint8 (N, image_size, image_size); VideoReadError names a bad file."""
        return self._cache.get(video, lambda: self._decode(video))

    def _decode(self, video: str) -> np.ndarray:
        decoded = read_video(video_path(self.data_dir, video), grayscale=True, strict=self.strict)
        size = (self.image_size, self.image_size)
        return np.stack([cv2.resize(frame, size, interpolation=cv2.INTER_LINEAR) for frame in decoded])

    def num_frames(self, video: str) -> int:
        """Number of decodable frames of `video`."""
        return len(self.frames(video))


def train_start_range(segment: Segment, num_frames: int, length: int) -> tuple[int, int] | None:
    """The original's random-start range [low, high) for a K+T sample, or None if the segment is too short.

    `high == low` means the original's fallback to video frame 0 (returned as (0, 1)).

    Example:
        >>> train_start_range(Segment("person01_boxing_d1", 1, 95), 400, 20)
        (1, 76)
    """
    low, high = segment.start, min(segment.end, num_frames) - length + 1
    if high < low or num_frames < length:
        return None
    if high == low:
        return (0, 1)
    return (low, high)


def zoom_clip(clip: np.ndarray, rng: np.random.Generator, max_zoom: float) -> np.ndarray:
    """`clip` (L, S, S[, C]) zoomed in by a random factor z in [1, max_zoom] around a random centre.

    Every frame is cropped to the same square of side round(S / z) at the same random position and
    resized back to S (bilinear), so the motion is magnified by z and the content seen at a new scale: a
    short training video gives more distinct motions and textures (a camera zoom is as plausible as the
    footage itself).

    Example:
        >>> zoom_clip(np.zeros((20, 64, 64), np.uint8), np.random.default_rng(0), 1.25).shape
        (20, 64, 64)
    """
    size = clip.shape[1]
    side = min(size, max(2, int(round(size / rng.uniform(1.0, max_zoom)))))
    top, left = (int(rng.integers(0, size - side + 1)) for _ in range(2))
    if side == size:
        return clip
    crop = clip[:, top : top + side, left : left + side]
    resized = [
        cv2.resize(np.ascontiguousarray(frame), (size, size), interpolation=cv2.INTER_LINEAR)
        for frame in crop
    ]
    return np.stack(resized).reshape(clip.shape)


# Segments without an end of their own (a whole video) end here; never "past" their video.
OPEN_END = 1 << 30


def _note_overshoot(segment: Segment, num_frames: int, beyond: list[str]) -> None:
    """Adds `segment` to `beyond` when its end is far past its video: KTH's lists overshoot by a few frames,
    a list written for other videos by many (it is read to the video's end either way)."""
    if num_frames + max(10, num_frames // 10) < segment.end < OPEN_END:
        beyond.append(f"{segment} (video has {num_frames} frames)")


def test_window_starts(segment: Segment, num_frames: int, past: int, future: int) -> list[int]:
    """MCnet test window starts: range(start, end - K - T - 1, stride), stride 3 for running/jogging, else T.

    Windows that would run past the end of the video are dropped (the original would crash on them).

    Example:
        >>> test_window_starts(Segment("person17_boxing_d1", 1, 110), 400, 10, 20)
        [1, 21, 41, 61]
    """
    stride = 3 if segment.action in DENSE_TEST_ACTIONS else future
    starts = range(segment.start, segment.end - past - future - 1, stride)
    return [j for j in starts if j + past + future <= num_frames]


class KTHDataset:
    """The KTH video-prediction data: segment list + videos -> training samples and MCnet test windows.

    Args:
        data_dir: directory of the `*_uncomp.avi` files.
        list_file: segment list (MCnet format or `00sequences.txt`); a relative path is looked up in
            `data_dir` first.
        image_size: frame side after resizing.
        past: K, the number of observed frames.
        future: T, the number of frames to predict.
        strict: raise on a missing, unreadable or truncated video (True), or report it and skip its segments
            (False; a truncated video is then used with a warning naming both frame counts).
        cache_size: decoded videos kept in memory (see `KTHReader`).

    Example:
        >>> data = KTHDataset("data/KTH", "train_data_list_trimmed.txt", image_size=128, past=10, future=10)
        >>> train = data.train_dataset(batch_size=8, seed=0)  # yields (past, future) in [-1, 1]
    """

    def __init__(
        self,
        data_dir: str,
        list_file: str,
        image_size: int = 128,
        past: int = 10,
        future: int = 10,
        strict: bool = True,
        cache_size: int = 64,
    ):
        check_int_at_least("past", past, 2)  # K >= 2: motion needs a frame difference
        check_positive_int("future", future)
        if not os.path.isdir(data_dir):
            raise FileNotFoundError(f"{data_dir}: KTH data directory does not exist")
        if not os.path.isabs(list_file) and os.path.isfile(os.path.join(data_dir, list_file)):
            list_file = os.path.join(data_dir, list_file)
        self.data_dir = data_dir
        self.list_file = list_file
        self.image_size = image_size
        self.past = past
        self.future = future
        self.strict = strict
        self.reader = KTHReader(data_dir, image_size, cache_size, strict=strict)
        self.segments = parse_segment_list(list_file)
        if not self.segments:
            raise ValueError(f"{list_file}: the segment list is empty")
        self.skipped: list[str] = []
        self._windows: list[tuple[Segment, int]] | None = None

    # Random horizontal flip of training samples (off in a subclass whose content is not mirror-symmetric).
    flip = True
    # Random time reversal (p = 1/2): off by default; a task sets it on its training copy only
    # (`with_segments`), so validation and test windows always play forwards.
    reverse_time = False
    # Random zoom-in of training samples (`zoom_clip`): 1.0 (off) or the largest zoom factor; set by a task
    # on its training copy only, like reverse_time.
    max_zoom = 1.0

    def with_segments(self, segments: list[Segment]) -> KTHDataset:
        """The same data set (same reader and decoded-video cache) restricted to `segments`.

        Example:
            >>> head = data.with_segments(data.segments[:2])
        """
        subset = copy.copy(self)
        subset.segments = list(segments)
        subset._windows = None
        return subset

    @property
    def length(self) -> int:
        """K + T, the frames of one sample."""
        return self.past + self.future

    @property
    def frame_shape(self) -> tuple[int, ...]:
        """Shape of one decoded frame: (S, S) grey (a colour subclass returns (S, S, 3))."""
        return (self.image_size, self.image_size)

    def _num_frames(self, video: str) -> int | None:
        try:
            return self.reader.num_frames(video)
        except VideoReadError as error:
            if self.strict:
                raise
            logger.warning("skipping %s: %s", video, error)
            self.skipped.append(f"{video}: {error}")
            return None

    def train_segments(self) -> list[tuple[Segment, int, int]]:
        """(segment, low, high) for every usable training segment; short ones are warned about and skipped."""
        usable, short, beyond = [], [], []
        for segment in self.segments:
            num_frames = self._num_frames(segment.video)
            if num_frames is None:
                continue
            _note_overshoot(segment, num_frames, beyond)
            bounds = train_start_range(segment, num_frames, self.length)
            if bounds is None:
                short.append(f"{segment} (video has {num_frames} frames)")
                continue
            usable.append((segment, *bounds))
        self._warn_short(short)
        self._warn_beyond(beyond)
        if not usable:
            raise ValueError(f"{self.list_file}: no segment holds K+T={self.length} frames")
        return usable

    def _window_starts(self, segment: Segment, num_frames: int) -> list[int]:
        """Start frames of the test windows in one segment (MCnet's; a subclass may use another stride)."""
        return test_window_starts(segment, num_frames, self.past, self.future)

    def test_windows(self) -> list[tuple[Segment, int]]:
        """(segment, start) of every MCnet test window; segments without a window are warned about (once)."""
        if self._windows is not None:
            return self._windows
        windows, short, beyond = [], [], []
        for segment in self.segments:
            num_frames = self._num_frames(segment.video)
            if num_frames is None:
                continue
            _note_overshoot(segment, num_frames, beyond)
            starts = self._window_starts(segment, num_frames)
            if not starts:
                short.append(f"{segment} (video has {num_frames} frames)")
            windows += [(segment, start) for start in starts]
        self._warn_short(short)
        self._warn_beyond(beyond)
        self._windows = windows
        return windows

    def _warn_beyond(self, beyond: list[str]) -> None:
        if beyond:
            logger.warning(
                "%s: %d segment(s) end far past their video (a list for other videos?), read to the video's "
                "end: %s", self.list_file, len(beyond), "; ".join(beyond[:10]),
            )  # fmt: skip

    def _warn_short(self, short: list[str]) -> None:
        if short:
            logger.warning(
                "%s: %d segment(s) too short for K+T=%d frames, skipped: %s",
                self.list_file,
                len(short),
                self.length,
                "; ".join(short),
            )
            self.skipped += [f"{item}: too short" for item in short]

    def window(self, video: str, start: int) -> np.ndarray:
        """uint8 (K+T, S, S) frames of `video` from `start`."""
        frames = self.reader.frames(video)
        return frames[start : start + self.length]

    def sample(self, rng: np.random.Generator, segments: Sequence[tuple[Segment, int, int]]) -> np.ndarray:
        """One training sample: uint8 (K+T, S, S), random segment and start, flipped with p=0.5 (and, with
        `reverse_time`, played backwards with p=0.5; with `max_zoom` > 1, zoomed in by `zoom_clip`; the
        extra draws only then, so other streams stay)."""
        segment, low, high = segments[int(rng.integers(len(segments)))]
        clip = self.window(segment.video, int(rng.integers(low, high)))
        if self.flip and rng.random() < 0.5:
            clip = clip[:, :, ::-1]
        if self.reverse_time and rng.random() < 0.5:
            clip = clip[::-1]
        if self.max_zoom > 1.0:
            clip = zoom_clip(clip, rng, self.max_zoom)
        return clip

    def train_samples(self, seed: int = 0, num_parallel_calls: int | None = None) -> tf.data.Dataset:
        """Infinite uint8 training samples (K+T, S, S[, 3]), unbatched: for mixing with other sources.

        Samples are decoded in parallel (`num_parallel_calls`, default AUTOTUNE); element i's randomness
        comes from the seed sequence (seed, i), so the stream is a function of `seed` alone (not of the
        global TensorFlow seed, which `tf.data.Dataset.random` also mixes in: the fixed validation windows
        changed with the run's seed) and repeats on every iteration.
        """
        segments = self.train_segments()
        shape = (self.length, *self.frame_shape)

        stream = int(seed) % 2**32  # SeedSequence takes non-negative entropy

        def load(index: np.ndarray) -> np.ndarray:
            rng = np.random.default_rng((stream, int(index)))
            return np.ascontiguousarray(self.sample(rng, segments))

        def load_tf(index: tf.Tensor) -> tf.Tensor:
            clip = tf.numpy_function(load, [index], tf.uint8, stateful=False)
            return tf.ensure_shape(clip, shape)

        parallel = num_parallel_calls or tf.data.AUTOTUNE
        return tf.data.Dataset.counter().map(load_tf, num_parallel_calls=parallel, deterministic=True)

    def train_dataset(
        self,
        batch_size: int,
        seed: int = 0,
        num_parallel_calls: int | None = None,
        drop_remainder: bool = True,
    ) -> tf.data.Dataset:
        """Infinite (past, future) batches, float32 (B, K, S, S, 1) and (B, T, S, S, 1) in [-1, 1], of
        `train_samples(seed)` (a function of `seed` alone)."""
        samples = self.train_samples(seed, num_parallel_calls)
        return self.batches(samples, batch_size, drop_remainder=drop_remainder)

    def batches(
        self, samples: tf.data.Dataset, batch_size: int, drop_remainder: bool = True
    ) -> tf.data.Dataset:
        """uint8 samples (K+T, S, S[, 3]) -> (past, future) float batches in [-1, 1]."""
        return self._finish(samples.batch(batch_size, drop_remainder=drop_remainder))

    def test_dataset(self, batch_size: int, num_parallel_calls: int | None = None) -> tf.data.Dataset:
        """Every MCnet test window once, in order, as (past, future) batches (last batch may be smaller)."""
        windows = self.test_windows()
        if not windows:
            raise ValueError(f"{self.list_file}: no test window of K+T={self.length} frames")
        videos = [segment.video for segment, _ in windows]
        starts = [start for _, start in windows]
        shape = (self.length, *self.frame_shape)

        def load(video: bytes, start: np.ndarray) -> np.ndarray:
            return np.ascontiguousarray(self.window(video.decode(), int(start)))

        def load_tf(video: tf.Tensor, start: tf.Tensor) -> tf.Tensor:
            return tf.ensure_shape(tf.numpy_function(load, [video, start], tf.uint8, stateful=False), shape)

        parallel = num_parallel_calls or tf.data.AUTOTUNE
        dataset = tf.data.Dataset.from_tensor_slices((videos, starts))
        dataset = dataset.map(load_tf, num_parallel_calls=parallel, deterministic=True)
        return self._finish(dataset.batch(batch_size))

    def _finish(self, dataset: tf.data.Dataset) -> tf.data.Dataset:
        past = self.past

        def split(clip: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            grey = len(self.frame_shape) == 2  # grey frames get their channel axis
            frames = preprocess_pixels(clip[..., None] if grey else clip, "minus_one_one")
            return frames[:, :past], frames[:, past:]

        return dataset.map(split, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)

    def window_names(self) -> list[str]:
        """`<video>.<start>-<start+T>` per test window, the original's output folder names."""
        return [f"{segment.video}.{start}-{start + self.future}" for segment, start in self.test_windows()]
