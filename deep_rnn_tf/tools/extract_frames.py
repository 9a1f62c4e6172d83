"""`deep-rnn data extract-frames`: decode a tree of videos into the frame-folder layout, in parallel.

The command-line door of the action data: it writes what `deep_rnn_tf.data.frames` reads. The workers are
processes using only OpenCV and numpy (no TensorFlow import anywhere on this path; `_start_method`).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import sys
from collections.abc import Sequence

import cv2
import numpy as np
from tqdm import tqdm

from deep_rnn_tf.atomic_io import write_text_atomic
from deep_rnn_tf.data.frames.layouts import VIDEO_EXTENSIONS
from deep_rnn_tf.data.video_io import VideoReadError, read_video, write_image
from deep_rnn_tf.validation import check_in_range, check_positive_int


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
    try:
        _check_sizes(args)
    except ValueError as error:
        parser.error(str(error))
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


def _check_sizes(args: argparse.Namespace) -> None:
    """Flag values that would fail every video (a zero size) or be clamped unseen (a quality of 150)."""
    check_positive_int("--short-side", args.short_side)
    if args.size:
        check_positive_int("--size WIDTH", args.size[0])
        check_positive_int("--size HEIGHT", args.size[1])
    check_in_range("--quality", args.quality, 0, 100)
    check_positive_int("--workers", args.workers)


def _init_worker() -> None:
    cv2.setNumThreads(1)  # one process per core already; OpenCV's own pool must not be used after fork


def _start_method() -> str:
    """fork (fast, and the caller's script needs no `if __name__ == "__main__":` guard), unless this process
    has TensorFlow loaded: workers forked from the test suite's process (TensorFlow and tf.data threads
    running) hung; a forkserver worker starts clean and imports only this module (OpenCV and numpy)."""
    methods = multiprocessing.get_all_start_methods()
    if "tensorflow" in sys.modules and "forkserver" in methods:
        return "forkserver"
    return "fork" if "fork" in methods else "spawn"


def _run_extract_jobs(jobs: list[tuple], workers: int, quiet: bool) -> list[tuple[str, str]]:
    failures = []
    progress = tqdm(total=len(jobs), desc="extract-frames", unit="video", disable=quiet)
    if workers == 1 or len(jobs) <= 1:
        results = map(_extract_job, jobs)
        pool = None
    else:
        method = _start_method()
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


__all__ = ["extract_frames_main", "extract_video", "find_videos"]
