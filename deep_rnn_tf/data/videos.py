"""Any folder of videos (or of frame folders) as a video-prediction data set, and the data-set chooser.

Generic folder layout (`dataset: folder`), searched recursively under `data_dir`:

- video files (`.mp4 .avi .mkv .webm .mov .m4v .mpg .mpeg`, decoded by OpenCV through `video_io`), and/or
- frame folders: a directory of images (`.jpg .jpeg .png .bmp`) is one video, frames in natural name order
  (`img_2.jpg` before `img_10.jpg`);
- any frame size, colour or grey: frames are resized to `image_size` x `image_size` (aspect not kept, as the
  KTH reader) and converted to grey unless `color=True`;
- the split, chosen by `dataset.json` in `data_dir` (all keys optional), else by the presence of list files:
  - **by file list**: `train.txt` and `test.txt` (or the files named by `train_list` / `test_list`), one video
    per line as its path relative to `data_dir`, with or without extension (`#` comments allowed);
  - **by time**: the first `train_fraction` (default 0.7) of every video trains, the rest tests.

  `dataset.json`: `{"name": "my_clips", "split": "time" | "list", "train_fraction": 0.7,
  "train_list": "train.txt", "test_list": "test.txt"}`.

Samples follow the KTH reader (`deep_rnn_tf.data.kth.KTHDataset`, whose pipelines this class inherits):
random K+T windows inside each training segment, random h-flip; test windows every `test_stride` frames
(default T) inside each test segment. Segments are half-open frame ranges [start, end).

`open_video_data` picks the reader for a data directory: `kth` (the KTH avi layout), `folder` (this one) or
`moving_mnist` (`deep_rnn_tf.data.moving_mnist`), auto-detected from the directory's content.
"""

from __future__ import annotations

import json
import logging
import os
import re

import cv2
import numpy as np

from deep_rnn_tf.data.kth import OPEN_END, KTHDataset, Segment
from deep_rnn_tf.data.video_io import (
    DecodedVideoCache,
    VideoReadError,
    iter_video_frames,
    read_image,
)
from deep_rnn_tf.validation import (
    check_choice,
    check_fraction,
    check_int_at_least,
    check_non_negative_int,
    check_positive_int,
)

logger = logging.getLogger(__name__)

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
DATASET_KINDS = ("auto", "kth", "folder", "moving_mnist")
SPLITS = ("time", "list")
SPEC_FILE = "dataset.json"
MAKE_ONE = (
    "make one with `deep-rnn data synth-video --out DIR` (camera-like video), "
    "`deep-rnn data synth-kth --out DIR`, `deep-rnn data synth-mmnist --out DIR` (Moving MNIST), "
    "`deep-rnn data real-clips --out DIR` (three real camera clips), "
    "or point --data-dir at a folder of videos"
)


def _natural_key(name: str) -> list:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def find_videos(data_dir: str) -> dict[str, str]:
    """Every video of a folder: {name: path}, name = path relative to `data_dir` without extension.

    A video is a file with a video extension, or a directory that directly holds images (a frame folder;
    its subdirectories are not searched further). Sorted by natural name order.

    Example:
        >>> find_videos("data/my_clips")  # doctest: +SKIP
        {'clip_000': 'data/my_clips/clip_000.mp4', 'walk/cam1': 'data/my_clips/walk/cam1'}
    """
    found: dict[str, str] = {}
    for root, dirs, files in os.walk(data_dir):
        dirs.sort(key=_natural_key)
        if root != data_dir and any(f.lower().endswith(IMAGE_EXTENSIONS) for f in files):
            found[os.path.relpath(root, data_dir).replace(os.sep, "/")] = root
            dirs.clear()  # a frame folder is one video
            continue
        for file in files:
            stem, ext = os.path.splitext(file)
            if ext.lower() in VIDEO_EXTENSIONS and not stem.startswith("."):
                rel = os.path.relpath(os.path.join(root, stem), data_dir).replace(os.sep, "/")
                found[rel] = os.path.join(root, file)
    return dict(sorted(found.items(), key=lambda item: _natural_key(item[0])))


class FolderReader:
    """Decodes the videos / frame folders of a folder, resized to a square, with an LRU cache.

    Args:
        videos: {name: path of a video file or frame folder} (see `find_videos`).
        image_size: frames are resized to image_size x image_size (INTER_AREA when shrinking).
        color: keep RGB (frames (S, S, 3)) instead of converting to grey (S, S).
        cache_size: decoded videos kept in memory (0 disables the cache).
        strict: a video file that decodes fewer frames than its container declares raises VideoReadError
            (default: a warning naming both counts, and the decoded frames are used).

    Example:
        >>> reader = FolderReader(find_videos("data/my_clips"), image_size=64)  # doctest: +SKIP
        >>> reader.frames("clip_000").shape  # doctest: +SKIP
        (300, 64, 64)
    """

    def __init__(
        self,
        videos: dict[str, str],
        image_size: int = 64,
        color: bool = False,
        cache_size: int = 64,
        strict: bool = False,
    ):
        check_int_at_least("image_size", image_size, 8)
        check_non_negative_int("cache_size", cache_size)
        self.videos, self.image_size, self.color, self.cache_size = videos, image_size, color, cache_size
        self.strict = bool(strict)
        self._cache = DecodedVideoCache(cache_size)

    def frames(self, video: str) -> np.ndarray:
        """All frames of `video`, uint8 (N, S, S) or (N, S, S, 3); VideoReadError names a bad file."""
        path = self.videos.get(video)
        if path is None:
            raise VideoReadError(f"{video}: no such video in the folder")
        return self._cache.get(video, lambda: np.stack([self._resize(f) for f in self._decode(path)]))

    def num_frames(self, video: str) -> int:
        """Number of decodable frames of `video`."""
        return len(self.frames(video))

    def _decode(self, path: str):
        if not os.path.isdir(path):
            # A truncated file (fewer frames than its container declares) is named, as by the KTH reader.
            yield from iter_video_frames(path, grayscale=not self.color, strict=self.strict)
            return
        images = sorted(
            (f for f in os.listdir(path) if f.lower().endswith(IMAGE_EXTENSIONS)), key=_natural_key
        )
        if not images:
            raise VideoReadError(f"{path}: frame folder holds no image")
        first_size = None
        for name in images:
            frame = read_image(os.path.join(path, name), grayscale=not self.color)
            first_size = first_size or frame.shape[:2]
            if frame.shape[:2] != first_size:
                self._report_size_change(path, name, first_size, frame.shape[:2])
                first_size = frame.shape[:2]  # one report per change, not per frame
            yield frame

    def _report_size_change(self, path: str, name: str, before: tuple, after: tuple) -> None:
        """Frames of one video that change size are resized alike, which stretches the content between them:
        probably two videos in one folder, or a crop gone wrong; named (refused with `strict`)."""
        message = (
            f"{os.path.join(path, name)}: frame size changes from {before[1]}x{before[0]} to "
            f"{after[1]}x{after[0]} within the video (every frame is resized to {self.image_size} square)"
        )
        if self.strict:
            raise VideoReadError(message)
        logger.warning("%s", message)

    def _resize(self, frame: np.ndarray) -> np.ndarray:
        size = (self.image_size, self.image_size)
        if frame.shape[:2] == size:
            return frame
        shrink = frame.shape[0] > self.image_size or frame.shape[1] > self.image_size
        return cv2.resize(frame, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def _not_a_data_dir(data_dir: str) -> str:
    """Why `data_dir` (not a folder) cannot be read: missing (and how to make one), or a file."""
    if os.path.exists(data_dir):
        return f"{data_dir}: a file, not a data folder (of videos, frame folders, a KTH or Moving MNIST set)"
    return f"{data_dir}: data directory does not exist; {MAKE_ONE}"


def read_spec(data_dir: str) -> dict:
    """The folder's `dataset.json` (an empty dict when absent); a malformed file raises naming it."""
    path = os.path.join(data_dir, SPEC_FILE)
    if not os.path.isfile(path):
        return {}
    try:
        with open(path, encoding="utf-8") as handle:
            spec = json.load(handle)
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(spec, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(spec).__name__}")
    unknown = set(spec) - {"name", "split", "train_fraction", "train_list", "test_list", "color"}
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {sorted(unknown)}")
    problems = _spec_problems(spec)
    if problems:  # all of them at once: the value alone does not say which file to mend
        raise ValueError(f"{path}: " + "; ".join(problems))
    return spec


def _spec_problems(spec: dict) -> list[str]:
    """Every bad value of a dataset.json, one message each (empty when all are fine)."""
    checks = {
        "split": lambda value: check_choice("split", value, SPLITS),
        "train_fraction": lambda value: check_fraction("train_fraction", value),
        "color": _check_color,
        **{key: _non_empty_string_check(key) for key in ("name", "train_list", "test_list")},
    }
    problems = []
    for key, check in checks.items():
        if key not in spec:
            continue
        try:
            check(spec[key])
        except ValueError as error:
            problems.append(str(error))
    return problems


def _check_color(value: object) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"`color` must be true or false. Received: color={value!r}")


def _non_empty_string_check(key: str):
    def check(value: object) -> None:
        if not (isinstance(value, str) and value.strip()):
            raise ValueError(f"`{key}` must be a non-empty string. Received: {key}={value!r}")

    return check


def read_video_list(path: str, videos: dict[str, str]) -> list[str]:
    """Names of the videos listed in a train/test list file (relative paths, extension optional).

    Raises:
        FileNotFoundError: the list is missing.
        ValueError: a line names no video of the folder (the message names the file and line).

    Example:
        >>> read_video_list("data/my_clips/train.txt", find_videos("data/my_clips"))  # doctest: +SKIP
        ['clip_000', 'clip_001']
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such video list")
    names = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, raw in enumerate(handle, start=1):
            line = raw.split("#", 1)[0].strip().replace("\\", "/")
            if not line:
                continue
            name = line.split()[0]
            stem = os.path.splitext(name)[0]
            for candidate in (name, stem):
                if candidate in videos:
                    names.append(candidate)
                    break
            else:
                raise ValueError(f"{path}:{number}: {name!r} is not a video of the folder")
    if not names:
        raise ValueError(f"{path}: the video list is empty")
    return names


class VideoFolderDataset(KTHDataset):
    """A folder of videos / frame folders as prediction data, split by time or by file lists.

    Inherits the KTH pipelines (`train_dataset`, `test_dataset`, `test_windows`, `window`) and exposes the
    same attributes (`segments`, `reader`, `past`, `future`, `length`, `list_file`, `skipped`).

    Args:
        data_dir: the folder (see the module docstring for the layout).
        split: which part this object serves: `train` or `test`.
        image_size: frame side after resizing.
        past: K, observed frames.
        future: T, predicted frames.
        split_mode: `time`, `list` or None (dataset.json's `split`, else `list` when this split's list is
            given and exists or both default lists exist, else `time`).
        train_fraction: leading share of each video that trains in the time split (None: dataset.json's or
            0.7).
        train_list: training list file (relative: looked up in data_dir); default dataset.json's or
            `train.txt`.
        test_list: test list file; default dataset.json's or `test.txt`.
        color: RGB frames (B, L, S, S, 3) instead of grey (B, L, S, S, 1).
        test_stride: frames between test window starts (default T).
        strict: raise on an unreadable video (True) or report and skip it (False).
        cache_size: decoded videos kept in memory.
        name: the data set's name in results (default dataset.json's `name` or the folder's name).

    Example:
        >>> data = VideoFolderDataset("data/my_clips", "train", past=10, future=10)  # doctest: +SKIP
        >>> train = data.train_dataset(batch_size=8, seed=0)  # doctest: +SKIP
    """

    def __init__(
        self,
        data_dir: str,
        split: str = "train",
        image_size: int = 64,
        past: int = 10,
        future: int = 10,
        split_mode: str | None = None,
        train_fraction: float | None = None,
        train_list: str | None = None,
        test_list: str | None = None,
        color: bool = False,
        test_stride: int | None = None,
        strict: bool = True,
        cache_size: int = 64,
        name: str | None = None,
    ):
        check_choice("split", split, ("train", "test"))
        check_int_at_least("past", past, 2)  # motion needs a frame difference
        check_positive_int("future", future)
        if test_stride is not None:
            check_positive_int("test_stride", test_stride)
        if not os.path.isdir(data_dir):
            raise FileNotFoundError(_not_a_data_dir(data_dir))
        spec = read_spec(data_dir)
        videos = find_videos(data_dir)
        if not videos:
            raise FileNotFoundError(
                f"{data_dir}: no video ({' '.join(VIDEO_EXTENSIONS)}) or frame folder found; {MAKE_ONE}"
            )
        self.data_dir, self.split, self.image_size, self.past, self.future = (
            data_dir,
            split,
            image_size,
            past,
            future,
        )
        self.color = bool(color or spec.get("color", False))
        self.strict, self.test_stride = strict, test_stride or future
        self.name = name or spec.get("name") or os.path.basename(os.path.normpath(os.path.abspath(data_dir)))
        self.reader = FolderReader(videos, image_size, self.color, cache_size, strict=strict)
        self.skipped: list[str] = []
        self._windows: list[tuple[Segment, int]] | None = None
        lists = {
            "train": _in_dir(data_dir, train_list or spec.get("train_list") or "train.txt"),
            "test": _in_dir(data_dir, test_list or spec.get("test_list") or "test.txt"),
        }
        given = train_list if split == "train" else test_list
        listed = (given and os.path.isfile(lists[split])) or all(os.path.isfile(p) for p in lists.values())
        self.split_mode = split_mode or spec.get("split") or ("list" if listed else "time")
        check_choice("split_mode", self.split_mode, SPLITS)
        if self.split_mode == "list":
            self.list_file = lists[split]
            self.segments = [Segment(v, 0, OPEN_END) for v in read_video_list(self.list_file, videos)]
        else:
            fraction = float(
                train_fraction if train_fraction is not None else spec.get("train_fraction", 0.7)
            )
            self.train_fraction = check_fraction("train_fraction", fraction)
            side = f"first {fraction:.0%}" if split == "train" else f"last {1 - fraction:.0%}"
            self.list_file = f"{data_dir} ({side} of each video)"
            self.segments = self._time_segments(videos, fraction)
        if not self.segments:
            raise ValueError(f"{data_dir}: no readable video for the {split} split")

    @property
    def frame_shape(self) -> tuple[int, ...]:
        size = (self.image_size, self.image_size)
        return (*size, 3) if self.color else size

    def _time_segments(self, videos: dict[str, str], fraction: float) -> list[Segment]:
        segments = []
        for video in videos:
            num_frames = self._num_frames(video)
            if num_frames is None:
                continue
            cut = int(round(fraction * num_frames))
            start, end = (0, cut) if self.split == "train" else (cut, num_frames)
            if end > start:
                segments.append(Segment(video, start, end))
        return segments

    def _window_starts(self, segment: Segment, num_frames: int) -> list[int]:
        """Every `test_stride` frames, each window wholly inside [start, end)."""
        stop = min(segment.end, num_frames) - self.length + 1
        return list(range(segment.start, stop, self.test_stride))


def _in_dir(data_dir: str, path: str) -> str:
    return path if os.path.isabs(path) else os.path.join(data_dir, path)


def detect_kind(data_dir: str) -> str:
    """`moving_mnist` (a `mnist_test_seq.npy`), `kth` (`*_uncomp.avi` files) or `folder` (anything else).

    Raises:
        FileNotFoundError: the directory does not exist (the message says how to make a data set).

    Example:
        >>> detect_kind("data/KTH")  # doctest: +SKIP
        'kth'
    """
    if not os.path.isdir(data_dir):
        raise FileNotFoundError(_not_a_data_dir(data_dir))
    names = os.listdir(data_dir)
    if any(n.startswith("mnist_") and n.endswith(".npy") for n in names):
        return "moving_mnist"
    if any(n.endswith("_uncomp.avi") for n in names):
        return "kth"
    return "folder"


def dataset_name(data_dir: str, kind: str) -> str:
    """The name results use: `KTH` for a KTH-layout folder named kth*, `MovingMNIST`, else the folder's name.

    Example:
        >>> dataset_name("data/KTH", "kth"), dataset_name("data/video_synth", "kth")
        ('KTH', 'video_synth')
    """
    base = os.path.basename(os.path.normpath(os.path.abspath(data_dir)))
    if kind == "moving_mnist":
        return "MovingMNIST"
    if kind == "kth" and base.lower().startswith("kth"):
        return "KTH"
    return base


def open_video_data(
    data_dir: str,
    split: str,
    kind: str = "auto",
    image_size: int = 64,
    past: int = 10,
    future: int = 10,
    list_file: str | None = None,
    train_fraction: float | None = None,
    color: bool = False,
    strict: bool = True,
    cache_size: int = 64,
    name: str | None = None,
) -> KTHDataset:
    """The prediction data of `data_dir` for `split` (`train` / `test`), whichever its layout.

    Every returned object has the KTH reader's interface (`train_dataset`, `test_dataset`, `test_windows`,
    `window`, `segments`, `reader`, `length`, `list_file`, `skipped`) and a `name` for results folders.

    Args:
        data_dir: the data directory.
        split: `train` or `test`.
        kind: `kth`, `folder`, `moving_mnist` or `auto` (see `detect_kind`).
        image_size: frame side after resizing.
        past: K.
        future: T.
        list_file: KTH segment list (kth) or video list (folder); None: the layout's default.
        train_fraction: time split share (folder; None: dataset.json's or 0.7).
        color: RGB frames (folder only).
        strict: raise on an unreadable video.
        cache_size: decoded videos kept in memory.
        name: the data set's name in results (default: `dataset_name`).

    Raises:
        FileNotFoundError: the directory or its data is missing (one line that says how to make a data set).

    Example:
        >>> data = open_video_data("data/video_synth", "test", past=10, future=10)  # doctest: +SKIP
    """
    check_choice("dataset", kind, DATASET_KINDS)
    check_choice("split", split, ("train", "test"))
    kind = detect_kind(data_dir) if kind == "auto" else kind
    if not os.path.isdir(data_dir):
        raise FileNotFoundError(_not_a_data_dir(data_dir))
    if kind == "moving_mnist":
        from deep_rnn_tf.data.moving_mnist import MovingMNISTDataset

        data: KTHDataset = MovingMNISTDataset(
            data_dir, split, image_size=image_size, past=past, future=future
        )
    elif kind == "folder":
        # The task's list names default to KTH's; a folder uses a list only when it exists.
        exists = bool(list_file) and os.path.isfile(_in_dir(data_dir, list_file))
        lists = {f"{split}_list": list_file} if exists else {}
        data = VideoFolderDataset(
            data_dir,
            split,
            image_size=image_size,
            past=past,
            future=future,
            train_fraction=train_fraction,
            color=color,
            strict=strict,
            cache_size=cache_size,
            name=name,
            **lists,
        )
    else:
        default = "train_data_list.txt" if split == "train" else "test_data_list.txt"
        path = _in_dir(data_dir, list_file or default)
        if not os.path.isfile(path) and not os.path.isfile(list_file or ""):
            raise FileNotFoundError(f"{path}: KTH segment list is missing; {MAKE_ONE}")
        data = KTHDataset(
            data_dir, list_file or default, image_size, past, future, strict=strict, cache_size=cache_size
        )
    if not getattr(data, "name", None) or name:
        data.name = name or dataset_name(data_dir, kind)
    data.kind = kind
    return data
