"""Action clips as tf.data: sampled frame paths -> decoded, augmented uint8 frames, batched.

The pipeline decodes frames in parallel, samples clips with a frame-index sampler from
`deep_rnn_tf.data.sampling` (the OCTS clips for training; the paper's 30 uniformly sampled frames for
testing), applies augmentation drawn once per video (so every frame of every clip gets the same flip, crop
and colour jitter) and yields uint8 frames (RGB). Pixel preprocessing is the models' first layer
(`deep_rnn_tf.layers.Preprocessing`), so an exported model takes the same raw uint8 frames.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from deep_rnn_tf.data.frames.layouts import ActionSplit
from deep_rnn_tf.validation import check_in_range, check_positive_int, check_probability

if TYPE_CHECKING:  # TensorFlow is imported lazily: reading a layout must not pay for it
    import tensorflow as tf


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
        check_in_range("hue", self.hue, 0.0, 0.5)
        check_probability("crop_prob", self.crop_prob)
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
        check_positive_int("batch_size", self.batch_size)


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


def _decode_frames(paths: tf.Tensor, box: tf.Tensor, image_size: tuple[int, int], parallel: int) -> tf.Tensor:
    """Reads, decodes, crops (the same box for all) and resizes a flat vector of frame files."""
    import tensorflow as tf

    def decode(path: tf.Tensor) -> tf.Tensor:
        image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
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
