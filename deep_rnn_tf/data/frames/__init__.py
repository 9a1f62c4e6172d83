"""Action video data as extracted frames: on-disk layouts (`layouts`) and the tf.data pipeline (`pipeline`).

This package re-exports the public names of both, plus the frame samplers of `deep_rnn_tf.data.sampling`,
so `from deep_rnn_tf.data.frames import ActionSplit, make_dataset, octs_frame_indices` keeps working. The
`extract-frames` command that writes the layout lives in `deep_rnn_tf.tools.extract_frames`.
"""

from __future__ import annotations

from deep_rnn_tf.data.frames.layouts import (
    IMAGE_EXTENSIONS,
    SPLIT_FOLDERS,
    VIDEO_EXTENSIONS,
    ActionSplit,
    FrameDataError,
    VideoItem,
    find_split_dir,
    list_frames,
    load_split,
    read_class_index,
)
from deep_rnn_tf.data.frames.pipeline import ClipAugmentation, PipelineConfig, frame_paths, make_dataset
from deep_rnn_tf.data.sampling import (
    first_frame_indices,
    octs_frame_indices,
    segment_frame_indices,
    uniform_frame_indices,
)

# Which `deep_rnn_tf.layers.Preprocessing` mode each action backbone was trained with (keras.applications
# VGG19 / ResNet50 use "caffe"; the small CPU backbones the original's ImageNet mean/std).
BACKBONE_PREPROCESSING = {"vgg19": "caffe", "resnet50": "caffe", "tiny": "torch", "none": "torch"}


def preprocess_frames(frames, mode: str):
    """Compatibility alias of `layers.preprocessing.preprocess_pixels`; also takes a backbone name.

    Example:
        >>> preprocess_frames(frames_uint8, "vgg19")  # same as preprocess_pixels(frames_uint8, "caffe")
    """
    from deep_rnn_tf.layers.preprocessing import preprocess_pixels  # keras only when a model needs it

    return preprocess_pixels(frames, BACKBONE_PREPROCESSING.get(mode, mode))


__all__ = [
    "BACKBONE_PREPROCESSING",
    "IMAGE_EXTENSIONS",
    "SPLIT_FOLDERS",
    "VIDEO_EXTENSIONS",
    "ActionSplit",
    "ClipAugmentation",
    "FrameDataError",
    "PipelineConfig",
    "VideoItem",
    "find_split_dir",
    "first_frame_indices",
    "frame_paths",
    "list_frames",
    "load_split",
    "make_dataset",
    "octs_frame_indices",
    "preprocess_frames",
    "read_class_index",
    "segment_frame_indices",
    "uniform_frame_indices",
]
