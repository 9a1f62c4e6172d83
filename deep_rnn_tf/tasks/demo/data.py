"""Generated clips of a blob moving right, left, down or up (the demo task's data; no files, no download)."""

from __future__ import annotations

import numpy as np

DIRECTIONS = ("right", "left", "down", "up")
# (dy, dx) per frame for each class, in pixels.
_VELOCITY = {0: (0, 1), 1: (0, -1), 2: (1, 0), 3: (-1, 0)}


def moving_blobs(
    num_clips: int, frames: int = 8, size: int = 16, noise: float = 0.05, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Generates clips of one Gaussian blob moving one pixel per frame in one of four directions.

    Args:
        num_clips: number of clips (>= 1).
        frames: frames per clip (>= 2).
        size: frame height and width in pixels (>= 8).
        noise: standard deviation of added Gaussian pixel noise (>= 0).
        seed: random seed (same seed, same clips).

    Returns:
        (clips float32 [num_clips, frames, size, size, 1] in [0, 1], labels int32 [num_clips]) with
        labels indexing `DIRECTIONS`.

    Example:
        >>> x, y = moving_blobs(4, frames=8, size=16, seed=0)
        >>> x.shape, y.shape
        ((4, 8, 16, 16, 1), (4,))
    """
    if num_clips < 1:
        raise ValueError(f"num_clips must be >= 1; received: {num_clips!r}")
    if frames < 2:
        raise ValueError(f"frames must be >= 2; received: {frames!r}")
    if size < 8:
        raise ValueError(f"size must be >= 8; received: {size!r}")
    if noise < 0:
        raise ValueError(f"noise must be >= 0; received: {noise!r}")
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(DIRECTIONS), num_clips).astype(np.int32)
    velocity = np.array([_VELOCITY[int(label)] for label in labels], np.float32)  # [n, 2]
    # Start where the whole path stays inside the frame (margin 2 px).
    travel = frames - 1
    low = np.where(velocity < 0, 2 + travel, 2)
    high = np.where(velocity > 0, size - 3 - travel, size - 3)
    start = rng.uniform(low, np.maximum(high, low)).astype(np.float32)  # [n, 2]
    t = np.arange(frames, dtype=np.float32)
    centers = start[:, None, :] + t[None, :, None] * velocity[:, None, :]  # [n, frames, 2]
    grid = np.arange(size, dtype=np.float32)
    dy = grid[None, None, :, None] - centers[..., 0, None, None]
    dx = grid[None, None, None, :] - centers[..., 1, None, None]
    clips = np.exp(-(dy**2 + dx**2) / (2 * 1.5**2))
    clips += rng.normal(0.0, noise, clips.shape)
    return np.clip(clips, 0.0, 1.0).astype(np.float32)[..., None], labels
