"""The normalised 1-D Gaussian window, shared by the SSIM metric and loss and the Lucas-Kanade flow.

One definition, so the metric (`evaluation.video`), the loss (`tasks/prediction/losses.py`) and the flow
(`layers.flow`) weight their neighbourhoods alike; it is plain NumPy, so each casts it to its own type.
"""

from __future__ import annotations

import numpy as np


def gaussian_kernel(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    """A normalised 1-D Gaussian kernel of `size` taps centred at (size - 1) / 2 (MATLAB's `fspecial`, the
    window of `tf.image.ssim`; an even size is centred between its two middle taps).

    Args:
        size: number of taps (a positive int).
        sigma: standard deviation in taps (> 0).

    Example:
        >>> gaussian_kernel(3, 1.0).round(3)
        array([0.274, 0.452, 0.274])
    """
    if not isinstance(size, int | np.integer) or size < 1:
        raise ValueError(f"size must be a positive int; received size={size!r}")
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0; received sigma={sigma!r}")
    offsets = np.arange(size) - (size - 1) / 2.0
    kernel = np.exp(-(offsets**2) / (2.0 * sigma**2))
    return kernel / kernel.sum()
