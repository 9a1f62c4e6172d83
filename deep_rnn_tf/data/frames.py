"""Action video data as extracted frames: on-disk layouts, frame sampling, tf.data, and `extract-frames`.

Layouts read (all give the same `ActionSplit`: a list of videos with sorted frame files and a label):

- frame folders ``<root>/{train,test}/<class>/<video>/<frames>`` (the original's UCF-101/HMDB-51 layout),
  also Kinetics' ``train_frames`` / ``val_frames`` / ``test_frames`` split folders;
- MMAction2 rawframe list files, one ``<frame_dir> <total_frames> <label>`` line per video, so the official
  UCF-101 / HMDB-51 splits 1-3 can be used as given (``frame_dir`` relative to `data_root`).

Class names come from a class-index file (``1 ApplyEyeMakeup`` per line as UCF's classInd.txt, or one name per
line) or from the sorted class folder names of the train split.

The tf.data pipeline decodes frames in parallel, samples clips (the OCTS arithmetic of
`deep_rnn_tf.training.octs.clip_frame_indices` for training; the paper's 30 uniformly sampled frames for
testing), applies augmentation drawn once per video (so every frame of every clip gets the same flip, crop
and colour jitter) and yields uint8 frames (RGB). The per-backbone preprocessing
(`preprocess_frames`) is applied inside the models, so that an exported model takes raw uint8 frames.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import re
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np
from tqdm import tqdm

from deep_rnn_tf.atomic_io import write_text_atomic
from deep_rnn_tf.data.video_io import VideoReadError, read_video, write_image

if TYPE_CHECKING:  # TensorFlow is imported lazily: extract-frames workers must not pay for it
    import tensorflow as tf

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
VIDEO_EXTENSIONS = (".avi", ".mp4", ".mkv", ".webm", ".mov", ".mpg", ".mpeg", ".m4v")
# Split name -> folder names tried in order (the original's UCF layout, then Kinetics' names).
SPLIT_FOLDERS: dict[str, tuple[str, ...]] = {
    "train": ("train", "train_frames"),
    "test": ("test", "test_frames", "val_frames", "val"),
    "val": ("val", "val_frames", "test", "test_frames"),
}
# keras.applications' "caffe" mode (VGG19, ResNet50): BGR order, ImageNet mean subtracted, no scaling.
CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
BACKBONE_PREPROCESSING = {"vgg19": "caffe", "resnet50": "caffe", "tiny": "torch", "none": "torch"}


class FrameDataError(ValueError):
    """A problem with the action data on disk; the message names the path and the problem."""


def _natural_key(name: str) -> list:
    """Sort key that puts img_2 before img_10 (frame files are not always zero-padded)."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def list_frames(frame_dir: str) -> list[str]:
    """Returns the image files of one video's frame folder in temporal (natural name) order.

    Args:
        frame_dir: folder holding the frames of one video.

    Raises:
        FrameDataError: the folder is missing or holds no image file.

    Example:
        >>> list_frames("ucf101/train/ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01")[:2]
    """
    if not os.path.isdir(frame_dir):
        raise FrameDataError(f"{frame_dir}: frame folder does not exist")
    names = [
        name
        for name in os.listdir(frame_dir)
        if name.lower().endswith(IMAGE_EXTENSIONS) and not name.startswith(".")
    ]
    if not names:
        raise FrameDataError(
            f"{frame_dir}: frame folder has no readable frame (no {'/'.join(IMAGE_EXTENSIONS)})"
        )
    return [os.path.join(frame_dir, name) for name in sorted(names, key=_natural_key)]


def read_class_index(path: str) -> list[str]:
    """Reads class names from a class-index file.

    Accepted lines: ``<index> <name>`` (UCF-101 classInd.txt, 1- or 0-based, ordered by index) or just
    ``<name>`` (in file order). Blank lines are ignored.

    Args:
        path: the class-index file.

    Raises:
        FrameDataError: missing file, no class, duplicate names or non-contiguous indices.

    Example:
        >>> read_class_index("ucfTrainTestlist/classInd.txt")[:2]
        ['ApplyEyeMakeup', 'ApplyLipstick']
    """
    if not os.path.isfile(path):
        raise FrameDataError(f"{path}: class-index file does not exist")
    with open(path, encoding="utf-8") as handle:
        rows = [line.split() for line in handle if line.strip()]
    if not rows:
        raise FrameDataError(f"{path}: class-index file lists no class")
    if all(len(row) == 2 and row[0].isdigit() for row in rows):
        indexed = sorted((int(row[0]), row[1]) for row in rows)
        first = indexed[0][0]
        if [index for index, _ in indexed] != list(range(first, first + len(indexed))) or first not in (0, 1):
            raise FrameDataError(f"{path}: class indices must be contiguous from 0 or 1")
        names = [name for _, name in indexed]
    elif all(len(row) == 1 for row in rows):
        names = [row[0] for row in rows]
    else:
        raise FrameDataError(f"{path}: expected '<index> <name>' or '<name>' on every line")
    if len(set(names)) != len(names):
        raise FrameDataError(f"{path}: duplicate class names")
    return names


@dataclass(frozen=True)
class VideoItem:
    """One video: its frame folder, its frame files in temporal order and its class label."""

    frame_dir: str
    frames: tuple[str, ...]
    label: int

    @property
    def num_frames(self) -> int:
        return len(self.frames)


@dataclass
class ActionSplit:
    """The videos of one split with the class names they index.

    Args:
        items: the videos.
        class_names: label i is `class_names[i]`.
        source: the folder or list file it was read from (named in errors).

    Example:
        >>> split = ActionSplit.from_folders("data/ucf101", "train")
        >>> len(split.items), split.class_names[:2]
    """

    items: list[VideoItem]
    class_names: list[str]
    source: str = ""

    def __post_init__(self) -> None:
        if not self.items:
            raise FrameDataError(f"{self.source}: empty split (no video found)")
        for item in self.items:
            if not 0 <= item.label < len(self.class_names):
                raise FrameDataError(
                    f"{item.frame_dir}: label {item.label} is outside the class list "
                    f"(0..{len(self.class_names) - 1}, from {self.source})"
                )

    @property
    def labels(self) -> np.ndarray:
        return np.array([item.label for item in self.items], np.int32)

    @classmethod
    def from_folders(cls, root: str, split: str = "train", class_names: Sequence[str] | None = None):
        """Reads ``<root>/<split folder>/<class>/<video>/<frames>``.

        Args:
            root: data root holding the split folders.
            split: "train", "test" or "val"; the folder is the first of `SPLIT_FOLDERS[split]` that
                exists (e.g. test -> test/, test_frames/, val_frames/).
            class_names: the class list; default: sorted class folders of the train split (or of this
                split when there is no train folder).

        Raises:
            FrameDataError: no split folder, an empty split, a class folder not in `class_names`, or a
                video folder without a frame.
        """
        split_dir = find_split_dir(root, split)
        if class_names is None:
            try:
                reference = find_split_dir(root, "train")
            except FrameDataError:
                reference = split_dir
            class_names = _class_folders(reference)
        class_names = list(class_names)
        positions = {name: index for index, name in enumerate(class_names)}
        items = []
        for class_name in _subfolders(split_dir):
            class_dir = os.path.join(split_dir, class_name)
            if not _subfolders(class_dir):
                continue  # an empty class folder holds no video (named by `_class_folders`)
            if class_name not in positions:
                raise FrameDataError(f"{class_dir}: class folder {class_name!r} is not in the class list")
            for video in _subfolders(class_dir):
                frame_dir = os.path.join(class_dir, video)
                items.append(VideoItem(frame_dir, tuple(list_frames(frame_dir)), positions[class_name]))
        return cls(items, class_names, split_dir)

    @classmethod
    def from_list_file(
        cls, list_file: str, data_root: str | None = None, class_names: Sequence[str] | None = None
    ):
        """Reads an MMAction2 rawframe list: ``<frame_dir> <total_frames> <label>`` per line.

        Args:
            list_file: the list file (e.g. ucf101_train_split_1_rawframes.txt).
            data_root: folder the relative `frame_dir`s start from; default the list file's folder.
            class_names: the class list; default: a classInd.txt / classes.txt beside the list file, else
                ``class_<i>`` names up to the largest label.

        Raises:
            FrameDataError: malformed line, label outside the class list, empty list or frame folder
                without a frame.
        """
        if not os.path.isfile(list_file):
            raise FrameDataError(f"{list_file}: list file does not exist")
        data_root = data_root if data_root is not None else os.path.dirname(os.path.abspath(list_file))
        rows = []
        with open(list_file, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                parts = line.split()
                if not parts:
                    continue
                if len(parts) < 3 or not parts[-1].lstrip("-").isdigit() or not parts[-2].isdigit():
                    raise FrameDataError(
                        f"{list_file}:{number}: expected '<frame_dir> <total_frames> <label>', got {line!r}"
                    )
                rows.append((" ".join(parts[:-2]), int(parts[-1]), number))
        if class_names is None:
            class_names = _class_names_beside(list_file, rows)
        class_names = list(class_names)
        items = []
        for frame_dir, label, number in rows:
            path = frame_dir if os.path.isabs(frame_dir) else os.path.join(data_root, frame_dir)
            if not 0 <= label < len(class_names):
                raise FrameDataError(
                    f"{list_file}:{number}: label {label} of {path} is outside the class list "
                    f"(0..{len(class_names) - 1})"
                )
            items.append(VideoItem(path, tuple(list_frames(path)), label))
        return cls(items, class_names, list_file)


def _subfolders(path: str) -> list[str]:
    return sorted(
        name
        for name in os.listdir(path)
        if os.path.isdir(os.path.join(path, name)) and not name.startswith(".")
    )


def _class_folders(split_dir: str) -> list[str]:
    """Sorted class folders that hold at least one video folder; empty ones are named in a warning.

    An empty class folder would otherwise become a class without videos (an extra classifier output).
    """
    names, empty = [], []
    for name in _subfolders(split_dir):
        (names if _subfolders(os.path.join(split_dir, name)) else empty).append(name)
    if empty:
        logger.warning(
            "%s: class folder(s) %s hold no video folder and are not classes", split_dir, ", ".join(empty)
        )
    return names


def _class_names_beside(list_file: str, rows: list[tuple[str, int, int]]) -> list[str]:
    folder = os.path.dirname(os.path.abspath(list_file))
    for name in ("classInd.txt", "classes.txt", "class_index.txt"):
        if os.path.isfile(os.path.join(folder, name)):
            return read_class_index(os.path.join(folder, name))
    largest = max((label for _, label, _ in rows), default=-1)
    return [f"class_{index}" for index in range(largest + 1)]


def find_split_dir(root: str, split: str) -> str:
    """Returns the folder of `split` under `root` (see `SPLIT_FOLDERS`); the error lists what was tried."""
    if split not in SPLIT_FOLDERS:
        raise ValueError(f"split must be one of {sorted(SPLIT_FOLDERS)}; received split={split!r}")
    if not os.path.isdir(root):
        raise FrameDataError(f"{root}: data root does not exist")
    for name in SPLIT_FOLDERS[split]:
        if os.path.isdir(os.path.join(root, name)):
            return os.path.join(root, name)
    raise FrameDataError(f"{root}: no {split} split folder (looked for {', '.join(SPLIT_FOLDERS[split])})")


def load_split(
    source: str, split: str = "train", class_index: str | None = None, data_root: str | None = None
) -> ActionSplit:
    """Reads a split from a frame-folder root (a directory) or an MMAction2 list file (a file).

    Args:
        source: data root with split folders, or a list file.
        split: split name for a data root ("train", "test", "val"); ignored for a list file.
        class_index: optional class-index file; default see `ActionSplit.from_folders` / `from_list_file`.
        data_root: root of the relative frame folders of a list file.

    Example:
        >>> train = load_split("data/synth_actions", "train")
        >>> test = load_split("splits/ucf101_val_split_1_rawframes.txt", data_root="data/ucf101_frames",
        ...                   class_index="splits/classInd.txt")
    """
    class_names = read_class_index(class_index) if class_index else None
    if os.path.isfile(source):
        return ActionSplit.from_list_file(source, data_root, class_names)
    return ActionSplit.from_folders(source, split, class_names)


# ----------------------------------------------------------------------------------------------------
# Frame sampling (indices into a video's frame list)


def uniform_frame_indices(num_frames: int, length: int = 30) -> np.ndarray:
    """The original test protocol's sequence: `length` frames at step round(num_frames / length).

    Frames i with i % s == s - 1 are kept (s = max(1, round(num_frames / length))), the first `length` of
    them, padded by repeating the last frame (§4.1 of the spec; Python's round, as the original).

    Example:
        >>> uniform_frame_indices(90, 30)[:3]
        array([2, 5, 8])
    """
    if num_frames < 1 or length < 1:
        raise ValueError(f"num_frames and length must be >= 1; received {num_frames=}, {length=}")
    step = max(1, round(num_frames / length))
    kept = [i for i in range(num_frames) if i % step == step - 1][:length]
    if not kept:
        kept = [num_frames - 1]
    kept += [kept[-1]] * (length - len(kept))
    return np.array(kept, np.int64)


def first_frame_indices(num_frames: int, count: int = 2) -> np.ndarray:
    """The anticipation test's input: the first `count` raw frames (padded by the last one)."""
    if num_frames < 1 or count < 1:
        raise ValueError(f"num_frames and count must be >= 1; received {num_frames=}, {count=}")
    return np.minimum(np.arange(count), num_frames - 1).astype(np.int64)


def segment_frame_indices(num_frames: int, num_segments: int, length: int) -> np.ndarray:
    """Multi-view test clips: the video cut into `num_segments` equal parts, each sampled uniformly.

    Returns an int array (num_segments, length).

    Example:
        >>> segment_frame_indices(100, 2, 5)
    """
    if num_segments < 1 or length < 1 or num_frames < 1:
        raise ValueError(f"need positive sizes; received {num_frames=}, {num_segments=}, {length=}")
    bounds = np.linspace(0, num_frames, num_segments + 1)
    clips = []
    for start, end in zip(bounds[:-1], bounds[1:], strict=True):
        positions = start + (np.arange(length) + 0.5) * (end - start) / length
        clips.append(np.clip(np.floor(positions), 0, num_frames - 1))
    return np.array(clips, np.int64)


def octs_frame_indices(num_clips: int, clip_len: int, overlap_rate: float) -> Callable[[int], np.ndarray]:
    """A sampler giving the OCTS training clips (num_clips, clip_len) of a video (§3a arithmetic)."""
    from deep_rnn_tf.training.octs import clip_frame_indices

    def sampler(num_frames: int) -> np.ndarray:
        indices, _ = clip_frame_indices(num_frames, num_clips, clip_len, overlap_rate)
        return np.asarray(indices, np.int64)

    return sampler


# ----------------------------------------------------------------------------------------------------
# tf.data


@dataclass(frozen=True)
class ClipAugmentation:
    """Augmentation drawn once per video and applied alike to every frame of all its clips.

    Args:
        flip: horizontal flip with probability 0.5.
        brightness: brightness factor in [1 - b, 1 + b].
        contrast: contrast factor in [1 - c, 1 + c].
        saturation: saturation factor in [1 - s, 1 + s].
        hue: hue shift in [-h, h] (fraction of the colour circle, <= 0.5).
        crop_prob: probability of a random crop (else the whole frame).
        crop_scale: (min, max) side of the crop as a fraction of the frame side.

    Example:
        >>> ClipAugmentation(hue=0.0, crop_prob=0.5)
    """

    flip: bool = True
    brightness: float = 0.3
    contrast: float = 0.3
    saturation: float = 0.3
    hue: float = 0.1
    crop_prob: float = 0.3
    crop_scale: tuple[float, float] = (0.7, 1.0)

    def __post_init__(self) -> None:
        for name in ("brightness", "contrast", "saturation"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must be in [0, 1); received {name}={getattr(self, name)}")
        if not 0 <= self.hue <= 0.5:
            raise ValueError(f"hue must be in [0, 0.5]; received hue={self.hue}")
        if not 0 <= self.crop_prob <= 1:
            raise ValueError(f"crop_prob must be in [0, 1]; received crop_prob={self.crop_prob}")
        low, high = self.crop_scale
        if not 0 < low <= high <= 1:
            raise ValueError(f"crop_scale must satisfy 0 < min <= max <= 1; received {self.crop_scale}")


@dataclass(frozen=True)
class PipelineConfig:
    """How a split becomes batches.

    Args:
        image_size: (height, width) of the frames the model sees.
        batch_size: videos per batch (the global batch).
        augmentation: a `ClipAugmentation`, or None for none (test).
        shuffle: reshuffle the videos every epoch.
        drop_remainder: drop the last incomplete batch.
        seed: seed of the shuffle and the augmentation.
        decode_parallelism: frames of one video decoded concurrently.

    Example:
        >>> PipelineConfig(image_size=(64, 64), batch_size=8, augmentation=ClipAugmentation())
    """

    image_size: tuple[int, int] = (224, 224)
    batch_size: int = 8
    augmentation: ClipAugmentation | None = None
    shuffle: bool = False
    drop_remainder: bool = False
    seed: int = 0
    decode_parallelism: int = 8

    def __post_init__(self) -> None:
        if len(self.image_size) != 2 or min(self.image_size) < 1:
            raise ValueError(f"image_size must be (height, width) > 0; received image_size={self.image_size}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1; received batch_size={self.batch_size}")


def frame_paths(split: ActionSplit, sampler: Callable[[int], np.ndarray]) -> np.ndarray:
    """The sampled frame paths of every video: a string array (num_videos, *sampler shape).

    Raises:
        ValueError: the sampler gives different shapes for different videos.
    """
    rows = []
    for item in split.items:
        indices = np.asarray(sampler(item.num_frames))
        rows.append(np.asarray(item.frames, dtype=object)[indices])
    shapes = {row.shape for row in rows}
    if len(shapes) != 1:
        raise ValueError(f"the frame sampler must give one shape for every video; got {sorted(shapes)}")
    return np.stack(rows).astype(str)


def _augmentation_params(seed: tf.Tensor, augmentation: ClipAugmentation | None) -> dict[str, tf.Tensor]:
    """Draws one video's augmentation (crop box, flip, colour factors) from a stateless seed."""
    import tensorflow as tf

    if augmentation is None:
        return {"box": tf.constant([0.0, 0.0, 1.0, 1.0]), "flip": tf.constant(False)}
    draws = tf.random.stateless_uniform([9], seed=tf.stack([seed, tf.constant(7, tf.int64)]))
    low, high = augmentation.crop_scale
    side = low + (high - low) * draws[0:2]
    crop = draws[2] < augmentation.crop_prob
    side = tf.where(crop, side, tf.ones_like(side))
    corner = (1.0 - side) * draws[3:5]
    box = tf.concat([corner, corner + side], axis=0)  # [y1, x1, y2, x2] normalised
    return {
        "box": box,
        "flip": tf.logical_and(augmentation.flip, draws[5] < 0.5),
        "brightness": 1.0 + augmentation.brightness * (2.0 * draws[6] - 1.0),
        "contrast": 1.0 + augmentation.contrast * (2.0 * draws[7] - 1.0),
        "saturation": 1.0 + augmentation.saturation * (2.0 * draws[8] - 1.0),
        "hue": augmentation.hue * (2.0 * tf.random.stateless_uniform([], seed=tf.stack([seed, seed])) - 1.0),
    }


def image_file_looks_complete(contents: tf.Tensor) -> tf.Tensor:
    """In-graph check of an encoded image's bytes: a known signature, and for JPEG/PNG an intact end.

    JPEG must start with SOI (FF D8) and hold EOI (FF D9) in its last 16 bytes (some writers pad after it);
    PNG must start with its 8-byte signature and end with the IEND chunk. BMP and GIF are only recognised.

    Example:
        >>> image_file_looks_complete(tf.io.read_file("frames/img_00001.jpg"))  # doctest: +SKIP
    """
    import tensorflow as tf

    size = tf.strings.length(contents)
    tail = tf.strings.bytes_split(tf.strings.substr(contents, tf.maximum(size - 16, 0), 16))
    jpeg_end = tf.reduce_any(tf.logical_and(tf.equal(tail[:-1], b"\xff"), tf.equal(tail[1:], b"\xd9")))
    jpeg = tf.logical_and(tf.equal(tf.strings.substr(contents, 0, 2), b"\xff\xd8"), jpeg_end)
    png_start = tf.equal(tf.strings.substr(contents, 0, 8), b"\x89PNG\r\n\x1a\n")
    png_end = tf.equal(tf.strings.substr(contents, tf.maximum(size - 8, 0), 4), b"IEND")
    png = tf.logical_and(png_start, png_end)
    other = tf.logical_or(
        tf.equal(tf.strings.substr(contents, 0, 2), b"BM"),
        tf.equal(tf.strings.substr(contents, 0, 3), b"GIF"),
    )
    return tf.logical_or(tf.logical_or(jpeg, png), other)


def _decode_frames(paths: tf.Tensor, box: tf.Tensor, image_size: tuple[int, int], parallel: int) -> tf.Tensor:
    """Reads, decodes, crops (the same box for all) and resizes a flat vector of frame files."""
    import tensorflow as tf

    def decode(path: tf.Tensor) -> tf.Tensor:
        contents = tf.io.read_file(path)
        # TF's decode error ("Unknown image file format", "Invalid JPEG data") names no file: check first.
        check = tf.debugging.Assert(
            image_file_looks_complete(contents), ["corrupt, truncated or not an image file:", path]
        )
        with tf.control_dependencies([check]):
            image = tf.io.decode_image(contents, channels=3, expand_animations=False)
        image = tf.cast(image, tf.float32)[tf.newaxis]
        return tf.image.crop_and_resize(image, box[tf.newaxis], [0], image_size)[0]

    return tf.map_fn(
        decode,
        paths,
        fn_output_signature=tf.TensorSpec((*image_size, 3), tf.float32),
        parallel_iterations=parallel,
    )


def _apply_colour_and_flip(frames: tf.Tensor, params: dict[str, tf.Tensor]) -> tf.Tensor:
    """Applies one video's flip and colour jitter to frames (n, H, W, 3) in [0, 255]."""
    import tensorflow as tf

    frames = tf.cond(params["flip"], lambda: tf.reverse(frames, axis=[2]), lambda: frames)
    if "brightness" not in params:
        return frames
    unit = frames / 255.0
    unit = unit * params["brightness"]
    mean = tf.reduce_mean(tf.image.rgb_to_grayscale(unit), axis=[1, 2, 3], keepdims=True)
    unit = (unit - mean) * params["contrast"] + mean
    unit = tf.image.adjust_saturation(tf.clip_by_value(unit, 0.0, 1.0), params["saturation"])
    unit = tf.image.adjust_hue(unit, params["hue"])
    return tf.clip_by_value(unit, 0.0, 1.0) * 255.0


def make_dataset(
    split: ActionSplit, sampler: Callable[[int], np.ndarray], config: PipelineConfig
) -> tf.data.Dataset:
    """Batches of (frames uint8 (batch, *sampler shape, H, W, 3), labels int32 (batch,)).

    Args:
        split: the videos.
        sampler: frame-index sampler, e.g. `octs_frame_indices(7, 10, 0.25)` (training: (clips, frames)),
            `lambda n: uniform_frame_indices(n, 30)` (the paper's test sequence).
        config: image size, batch, augmentation, shuffling, seed.

    Example:
        >>> train = load_split("data/synth_actions", "train")
        >>> ds = make_dataset(train, octs_frame_indices(4, 6, 0.25),
        ...                   PipelineConfig((64, 64), 8, ClipAugmentation(), shuffle=True))
    """
    import tensorflow as tf

    paths = frame_paths(split, sampler)
    sample_shape = paths.shape[1:]
    dataset = tf.data.Dataset.from_tensor_slices((paths, split.labels))
    if config.shuffle:
        dataset = dataset.shuffle(len(paths), seed=config.seed, reshuffle_each_iteration=True)
    seeds = tf.data.Dataset.random(seed=config.seed, rerandomize_each_iteration=True)
    dataset = tf.data.Dataset.zip((dataset, seeds))
    augmentation = config.augmentation

    def load(element, seed):
        video_paths, label = element
        params = _augmentation_params(seed, augmentation)
        flat = tf.reshape(video_paths, [-1])
        frames = _decode_frames(flat, params["box"], config.image_size, config.decode_parallelism)
        frames = _apply_colour_and_flip(frames, params)
        frames = tf.reshape(frames, [*sample_shape, *config.image_size, 3])
        # uint8 like the served model's input; the models cast and preprocess.
        return tf.cast(tf.round(tf.clip_by_value(frames, 0.0, 255.0)), tf.uint8), label

    dataset = dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=not config.shuffle)
    drop = config.drop_remainder and len(paths) >= config.batch_size
    return dataset.batch(config.batch_size, drop_remainder=drop).prefetch(tf.data.AUTOTUNE)


def preprocess_frames(frames, mode: str):
    """Per-backbone pixel preprocessing of float frames in [0, 255] (keras ops; used inside the models).

    Args:
        frames: float tensor (..., H, W, 3), RGB in [0, 255].
        mode: "caffe" (keras.applications VGG19/ResNet50: BGR, ImageNet mean subtracted), "torch"
            (ImageNet mean/std on [0, 1], the original's normalisation) or "unit" ([0, 1]); or a backbone
            name from `BACKBONE_PREPROCESSING`.

    Example:
        >>> preprocess_frames(tf.zeros((1, 2, 8, 8, 3)), "vgg19")
    """
    import keras

    mode = BACKBONE_PREPROCESSING.get(mode, mode)
    frames = keras.ops.cast(frames, "float32")
    if mode == "caffe":
        return frames[..., ::-1] - keras.ops.convert_to_tensor(CAFFE_BGR_MEAN, "float32")
    if mode == "torch":
        mean = keras.ops.convert_to_tensor(IMAGENET_MEAN, "float32")
        std = keras.ops.convert_to_tensor(IMAGENET_STD, "float32")
        return (frames / 255.0 - mean) / std
    if mode == "unit":
        return frames / 255.0
    raise ValueError(f"mode must be 'caffe', 'torch', 'unit' or a backbone name; received mode={mode!r}")


# ----------------------------------------------------------------------------------------------------
# extract-frames


def _resize_frame(frame: np.ndarray, short_side: int | None, size: tuple[int, int] | None) -> np.ndarray:
    height, width = frame.shape[:2]
    if size is not None:
        target = size
    elif short_side:
        scale = short_side / min(height, width)
        target = (max(1, round(width * scale)), max(1, round(height * scale)))
    else:
        return frame
    if target == (width, height):
        return frame
    interpolation = cv2.INTER_AREA if target[0] < width else cv2.INTER_LINEAR
    return cv2.resize(frame, target, interpolation=interpolation)


def extract_video(
    video_path: str,
    out_dir: str,
    short_side: int | None = 256,
    size: tuple[int, int] | None = None,
    quality=95,
) -> int:
    """Decodes one video into ``out_dir/img_00001.jpg ...``, atomically (a finished folder is complete).

    Frames are written to ``out_dir.partial`` first, which is renamed at the end, so an interrupted run
    never leaves a folder that looks finished.

    Args:
        video_path: the video file.
        out_dir: the video's frame folder.
        short_side: resize so the shorter side has this many pixels (aspect kept); None keeps the size.
        size: (width, height) to resize to instead (aspect not kept).
        quality: JPEG quality.

    Returns:
        The number of frames written.

    Raises:
        VideoReadError: the video cannot be decoded.

    Example:
        >>> extract_video("UCF-101/Biking/v_Biking_g01_c01.avi", "frames/Biking/v_Biking_g01_c01")
    """
    frames = read_video(video_path)
    partial = f"{out_dir}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    os.makedirs(partial)
    for index, frame in enumerate(frames, start=1):
        write_image(
            os.path.join(partial, f"img_{index:05d}.jpg"), _resize_frame(frame, short_side, size), quality
        )
    os.replace(partial, out_dir)
    return len(frames)


def _extract_job(job: tuple) -> tuple[str, int | None, str]:
    """Worker: (video, out_dir, short_side, size, quality) -> (video, frames or None, error)."""
    video_path, out_dir, short_side, size, quality = job
    try:
        return video_path, extract_video(video_path, out_dir, short_side, size, quality), ""
    except (VideoReadError, cv2.error, OSError) as error:
        shutil.rmtree(f"{out_dir}.partial", ignore_errors=True)
        return video_path, None, str(error)


def find_videos(videos_dir: str, extensions: Sequence[str] = VIDEO_EXTENSIONS) -> list[str]:
    """All video files under `videos_dir` (recursive), sorted."""
    found = []
    for folder, _, files in os.walk(videos_dir):
        found.extend(os.path.join(folder, name) for name in files if name.lower().endswith(tuple(extensions)))
    return sorted(found)


def extract_frames_main(argv: list[str] | None = None) -> int:
    """`deep-rnn data extract-frames VIDEOS_DIR OUT_DIR`: a video tree -> the frame-folder layout.

    ``VIDEOS_DIR/<sub/dirs>/<name>.avi`` becomes ``OUT_DIR/<sub/dirs>/<name>/img_00001.jpg ...`` (so a
    ``train/<class>/`` or UCF-101's ``<class>/`` tree keeps its structure). Resumable: a video whose frame
    folder exists is skipped. A broken video is reported and skipped; the failures are listed in
    ``OUT_DIR/extract_failures.txt``. Returns 0 when at least one video was extracted or skipped as done
    and 1 when none could be.

    Example:
        >>> extract_frames_main(["UCF-101", "ucf101_frames", "--short-side", "256", "--workers", "8"])
    """
    parser = argparse.ArgumentParser(
        prog="deep-rnn data extract-frames",
        description="Decode a tree of videos into JPEG frame folders <OUT_DIR>/<relative path>/<video>/.",
    )
    parser.add_argument("videos_dir", metavar="VIDEOS_DIR")
    parser.add_argument("out_dir", metavar="OUT_DIR")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--short-side", type=int, default=256, help="resize the shorter side (default 256)")
    group.add_argument("--size", type=int, nargs=2, metavar=("WIDTH", "HEIGHT"), help="resize to this size")
    group.add_argument("--keep-size", action="store_true", help="do not resize")
    parser.add_argument("--quality", type=int, default=95, help="JPEG quality (default 95)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="parallel processes")
    parser.add_argument("--ext", nargs="+", default=list(VIDEO_EXTENSIONS), help="video extensions")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.videos_dir):
        print(f"error: {args.videos_dir}: videos directory does not exist", file=sys.stderr)
        return 1
    extensions = [ext if ext.startswith(".") else f".{ext}" for ext in args.ext]
    videos = find_videos(args.videos_dir, extensions)
    if not videos:
        print(f"error: {args.videos_dir}: no video file ({' '.join(extensions)})", file=sys.stderr)
        return 1
    short_side = None if (args.keep_size or args.size) else args.short_side
    size = tuple(args.size) if args.size else None
    jobs, done = [], 0
    for video in videos:
        relative = os.path.splitext(os.path.relpath(video, args.videos_dir))[0]
        out_dir = os.path.join(args.out_dir, relative)
        if os.path.isdir(out_dir):
            done += 1  # complete: folders only appear by the final rename
            continue
        os.makedirs(os.path.dirname(out_dir), exist_ok=True)
        jobs.append((video, out_dir, short_side, size, args.quality))
    failures = _run_extract_jobs(jobs, max(1, args.workers), args.quiet)
    extracted = len(jobs) - len(failures)
    if failures:
        _write_failures(os.path.join(args.out_dir, "extract_failures.txt"), failures)
    print(
        f"extract-frames: {extracted} extracted, {done} already complete, {len(failures)} failed"
        + (f" (listed in {os.path.join(args.out_dir, 'extract_failures.txt')})" if failures else "")
    )
    return 0 if extracted + done > 0 else 1


def _init_worker() -> None:
    cv2.setNumThreads(1)  # one process per core already; OpenCV's own pool must not be used after fork


def _run_extract_jobs(jobs: list[tuple], workers: int, quiet: bool) -> list[tuple[str, str]]:
    failures = []
    progress = tqdm(total=len(jobs), desc="extract-frames", unit="video", disable=quiet)
    if workers == 1 or len(jobs) <= 1:
        results = map(_extract_job, jobs)
        pool = None
    else:
        # fork where available: a spawned worker would re-import the package (and TensorFlow, seconds
        # each); the workers only use OpenCV and numpy, single-threaded (`_init_worker`).
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        pool = multiprocessing.get_context(method).Pool(min(workers, len(jobs)), initializer=_init_worker)
        results = pool.imap_unordered(_extract_job, jobs)
    try:
        for video, count, error in results:
            progress.update(1)
            if count is None:
                failures.append((video, error))
                progress.write(f"skipped broken video {video}: {error}", file=sys.stderr)
    finally:
        progress.close()
        if pool is not None:
            pool.close()
            pool.join()
    return failures


def _write_failures(path: str, failures: list[tuple[str, str]]) -> None:
    write_text_atomic(path, "".join(f"{video}\t{error}\n" for video, error in failures))


__all__ = [
    "ActionSplit",
    "ClipAugmentation",
    "FrameDataError",
    "PipelineConfig",
    "VideoItem",
    "extract_frames_main",
    "extract_video",
    "first_frame_indices",
    "list_frames",
    "load_split",
    "make_dataset",
    "octs_frame_indices",
    "preprocess_frames",
    "read_class_index",
    "segment_frame_indices",
    "uniform_frame_indices",
]
