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
    existing_split_dir,
    find_split_dir,
    list_frames,
    load_split,
    read_class_index,
)
from deep_rnn_tf.data.frames.pipeline import (
    ClipAugmentation,
    PipelineConfig,
    frame_paths,
    image_file_looks_complete,
    make_dataset,
)
from deep_rnn_tf.data.sampling import (
    first_frame_indices,
    octs_frame_indices,
    segment_frame_indices,
    uniform_frame_indices,
)

__all__ = [
    "IMAGE_EXTENSIONS",
    "SPLIT_FOLDERS",
    "VIDEO_EXTENSIONS",
    "ActionSplit",
    "ClipAugmentation",
    "FrameDataError",
    "PipelineConfig",
    "VideoItem",
    "existing_split_dir",
    "find_split_dir",
    "first_frame_indices",
    "frame_paths",
    "image_file_looks_complete",
    "list_frames",
    "load_split",
    "make_dataset",
    "octs_frame_indices",
    "read_class_index",
    "segment_frame_indices",
    "uniform_frame_indices",
]
