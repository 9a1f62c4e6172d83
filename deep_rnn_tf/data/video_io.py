"""The one place that decodes and encodes videos and images (OpenCV), so every reader behaves alike."""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence

import cv2
import numpy as np

from deep_rnn_tf.atomic_io import atomic_path

logger = logging.getLogger(__name__)


class VideoReadError(IOError):
    """A video or image that is missing or cannot be decoded; the message names the file."""


class DecodedVideoCache:
    """A thread-safe LRU cache of whole decoded videos, shared by the KTH and the video-folder readers.

    Decoding a short video once and keeping its resized frames is cheaper than seeking per sample; the
    cache bounds memory by a number of videos.

    Args:
        size: videos kept (0 disables the cache).

    Example:
        >>> cache = DecodedVideoCache(2)
        >>> frames = cache.get("clip", lambda: np.zeros((3, 8, 8), np.uint8))
    """

    def __init__(self, size: int):
        if not isinstance(size, int) or size < 0:
            raise ValueError(f"size must be an int >= 0; received size={size!r}")
        self.size = size
        self._videos: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, decode: Callable[[], np.ndarray]) -> np.ndarray:
        """The cached frames of `key`, or `decode()`'s (cached when the cache is on)."""
        with self._lock:
            if key in self._videos:
                self._videos.move_to_end(key)
                return self._videos[key]
        frames = decode()  # outside the lock: other videos decode in parallel
        if self.size:
            with self._lock:
                self._videos[key] = frames
                while len(self._videos) > self.size:
                    self._videos.popitem(last=False)
        return frames


def check_frame_count(path: str, decoded: int, declared: int, strict: bool) -> None:
    """Compares the frames decoded with the count the container declares (a truncated file has fewer).

    Args:
        path: the video (for the message).
        decoded: frames actually decoded.
        declared: the container's frame count (0 or less: unknown, nothing to compare).
        strict: raise instead of warning.

    Raises:
        VideoReadError: `strict` and fewer frames than declared.

    Example:
        >>> check_frame_count("a.avi", decoded=20, declared=20, strict=True)
    """
    if declared <= 0 or decoded >= declared:
        return
    message = (
        f"{path}: decoded {decoded} of the {declared} frames its container declares (truncated or corrupt)"
    )
    if strict:
        raise VideoReadError(message + "; strict_data refuses it")
    logger.warning("%s; using the %d decoded frames", message, decoded)


def iter_video_frames(
    path: str | os.PathLike, grayscale: bool = False, strict: bool | None = None
) -> Iterator[np.ndarray]:
    """Decodes a video file frame by frame (memory stays at one frame, for long or large videos).

    Args:
        path: an .avi / .mp4 / .mkv / .webm ... file OpenCV can open.
        grayscale: yield (H, W) single-channel frames instead of (H, W, 3) RGB.
        strict: after the last frame, compare the frames decoded with the count the container declares
            (`check_frame_count`): True raises on a truncated file, False warns; None (default) does not
            compare.

    Yields:
        uint8 frames, RGB (H, W, 3) or grey (H, W).

    Raises:
        VideoReadError: the file is missing, cannot be opened or holds no frame (or, with `strict`, is
            truncated).

    Example:
        >>> first = next(iter_video_frames("clip.mp4", grayscale=True))
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise VideoReadError(f"{path}: no such video file")
    capture = cv2.VideoCapture(path)
    if not capture.isOpened():
        raise VideoReadError(f"{path}: cannot be opened as a video")
    code = cv2.COLOR_BGR2GRAY if grayscale else cv2.COLOR_BGR2RGB
    declared = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    count = 0
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            count += 1
            yield cv2.cvtColor(frame, code)
    finally:
        capture.release()
    if not count:
        raise VideoReadError(f"{path}: no decodable frame (empty or corrupt video)")
    if strict is not None:
        check_frame_count(path, count, declared, strict)


def read_video(path: str | os.PathLike, grayscale: bool = False, strict: bool = False) -> np.ndarray:
    """Decodes every frame of a video file.

    Args:
        path: an .avi / .mp4 / ... file OpenCV can open.
        grayscale: return (T, H, W) single-channel frames instead of (T, H, W, 3) RGB.
        strict: a video with fewer decodable frames than its container declares is an error (default: a
            warning with both counts).

    Returns:
        uint8 array of shape (T, H, W, 3) in RGB order, or (T, H, W) if `grayscale`.

    Raises:
        VideoReadError: the file is missing, cannot be opened or holds no frame (or, with `strict`, is
            truncated).

    Example:
        >>> frames = read_video("person01_boxing_d1_uncomp.avi", grayscale=True)
    """
    return np.stack(list(iter_video_frames(path, grayscale, strict=strict)))


def write_video(
    path: str | os.PathLike, frames: Sequence[np.ndarray] | np.ndarray, fps: float = 25.0
) -> None:
    """Encodes frames into a video file (MJPG for .avi, mp4v for .mp4), written atomically.

    Args:
        path: output file; its extension picks the codec.
        frames: uint8 frames, (T, H, W) grey or (T, H, W, 3) RGB.
        fps: frames per second stored in the container.

    Example:
        >>> write_video("clip.avi", np.zeros((10, 120, 160), np.uint8))
    """
    path = os.fspath(path)
    frames = np.asarray(frames)
    if frames.ndim not in (3, 4) or frames.dtype != np.uint8 or len(frames) == 0:
        raise ValueError(
            f"frames must be a non-empty uint8 array (T, H, W) or (T, H, W, 3); "
            f"received shape={frames.shape} dtype={frames.dtype}"
        )
    height, width = frames.shape[1:3]
    ext = os.path.splitext(path)[1].lower()
    fourcc = cv2.VideoWriter_fourcc(*("mp4v" if ext == ".mp4" else "MJPG"))
    with atomic_path(path, suffix=ext) as tmp:  # OpenCV picks the container from the extension
        writer = cv2.VideoWriter(str(tmp), fourcc, float(fps), (width, height), True)
        if not writer.isOpened():
            raise VideoReadError(f"{path}: OpenCV cannot write this video format")
        try:
            for frame in frames:
                bgr = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR if frame.ndim == 2 else cv2.COLOR_RGB2BGR)
                writer.write(bgr)
        finally:
            writer.release()


def read_image(path: str | os.PathLike, grayscale: bool = False) -> np.ndarray:
    """Reads a JPEG/PNG as uint8 RGB (H, W, 3), or (H, W) if `grayscale`; the error names the file."""
    path = os.fspath(path)
    if not os.path.isfile(path):  # before OpenCV, which prints its own "[ WARN ] ... imread_" line
        raise VideoReadError(f"{path}: no such file")
    image = cv2.imread(path, cv2.IMREAD_GRAYSCALE if grayscale else cv2.IMREAD_COLOR)
    if image is None:
        raise VideoReadError(f"{path}: not a readable image")
    return image if grayscale else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def write_image(path: str | os.PathLike, image: np.ndarray, quality: int = 95) -> None:
    """Writes a uint8 RGB (H, W, 3) or grey (H, W) image atomically; format from the extension."""
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    bgr = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if ext in (".jpg", ".jpeg") else []
    ok, encoded = cv2.imencode(ext, bgr, params)
    if not ok:
        raise VideoReadError(f"{path}: cannot encode image as {ext}")
    with atomic_path(path, suffix=ext) as tmp:
        tmp.write_bytes(encoded.tobytes())
