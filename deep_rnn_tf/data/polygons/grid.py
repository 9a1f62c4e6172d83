"""The 28x28 grid encoding of a polygon: crop points <-> cells <-> tokens, canonical order, subsampling.

Token = row * 28 + col (0..783); token 784 (`EOS_TOKEN`) ends the polygon. See the package docstring of
`deep_rnn_tf.data.polygons` for the conventions.
"""

from __future__ import annotations

import numpy as np

from deep_rnn_tf.data.polygons.geometry import (
    CROP_SIZE,
    DEFAULT_MAX_VERTICES,
    GRID_SIZE,
    CropMeta,
    crop_to_image,
    image_to_crop,
    signed_area,
)
from deep_rnn_tf.validation import check_positive_int


def crop_points_to_cells(points: np.ndarray, grid: int = GRID_SIZE, crop: int = CROP_SIZE) -> np.ndarray:
    """(u, v) crop pixels -> int (N, 2) grid cells (row, col), clipped to the grid.

    Example:
        >>> crop_points_to_cells(np.array([[0.0, 223.0]]))
        array([[27,  0]])
    """
    cell = crop / grid
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    cols = np.clip(np.floor((points[:, 0] + 0.5) / cell), 0, grid - 1)
    rows = np.clip(np.floor((points[:, 1] + 0.5) / cell), 0, grid - 1)
    return np.stack([rows, cols], axis=1).astype(np.int64)


def cells_to_crop_points(cells: np.ndarray, grid: int = GRID_SIZE, crop: int = CROP_SIZE) -> np.ndarray:
    """Grid cells (row, col) -> their centres (u, v) in crop pixels.

    Example:
        >>> cells_to_crop_points(np.array([[0, 0]]))
        array([[3.5, 3.5]])
    """
    cell = crop / grid
    cells = np.asarray(cells, dtype=np.float64).reshape(-1, 2)
    return np.stack([cells[:, 1] * cell + (cell - 1) / 2, cells[:, 0] * cell + (cell - 1) / 2], axis=1)


def canonicalize_cells(cells: np.ndarray) -> np.ndarray:
    """Merges repeated cells, orients clockwise on screen and starts at the top-most, left-most cell.

    Args:
        cells: int (N, 2) of (row, col), in polygon order.

    Returns:
        int (M, 2), M <= N; a degenerate (zero-area) sequence keeps its orientation.

    Example:
        >>> canonicalize_cells(np.array([[5, 5], [5, 5], [9, 2], [1, 3]]))
        array([[1, 3],
               [5, 5],
               [9, 2]])
    """
    cells = np.asarray(cells, dtype=np.int64).reshape(-1, 2)
    if len(cells) == 0:
        return cells
    keep = np.any(cells != np.roll(cells, 1, axis=0), axis=1)
    if not keep.any():  # every vertex in one cell
        return cells[:1]
    cells = cells[keep]
    # (x, y) = (col, row): negative area means counter-clockwise on screen.
    if len(cells) >= 3 and signed_area(cells[:, ::-1].astype(np.float64)) < 0:
        cells = cells[::-1]
    start = np.lexsort((cells[:, 1], cells[:, 0]))[0]
    return np.roll(cells, -start, axis=0)


def subsample_cells(cells: np.ndarray, max_vertices: int) -> np.ndarray:
    """Keeps `max_vertices` of a longer sequence at indices floor(k * n / max_vertices) (the original's rule).

    Example:
        >>> len(subsample_cells(np.zeros((100, 2), np.int64), 57))
        57
    """
    check_positive_int("max_vertices", max_vertices)
    n = len(cells)
    if n <= max_vertices:
        return cells
    return cells[(np.arange(max_vertices) * n) // max_vertices]


def cells_to_tokens(cells: np.ndarray, grid: int = GRID_SIZE) -> np.ndarray:
    """(row, col) cells -> int tokens row * grid + col."""
    cells = np.asarray(cells, dtype=np.int64).reshape(-1, 2)
    return cells[:, 0] * grid + cells[:, 1]


def tokens_to_cells(tokens: np.ndarray, grid: int = GRID_SIZE) -> np.ndarray:
    """Grid tokens (< grid * grid) -> (row, col) cells; end-of-polygon and larger tokens are not allowed."""
    tokens = np.asarray(tokens, dtype=np.int64).reshape(-1)
    if np.any((tokens < 0) | (tokens >= grid * grid)):
        raise ValueError(f"tokens must be grid cells in [0, {grid * grid}); received {tokens.tolist()}")
    return np.stack([tokens // grid, tokens % grid], axis=1)


def encode_polygon(
    meta: CropMeta, max_vertices: int = DEFAULT_MAX_VERTICES, grid: int = GRID_SIZE
) -> np.ndarray:
    """The canonical grid token sequence (without end-of-polygon) of `meta.polygon`.

    Example:
        >>> square = np.array([[20.0, 30.0], [100.0, 30.0], [100.0, 120.0], [20.0, 120.0]])
        >>> meta = CropMeta("car", 1024, 2048, (10, 20, 122, 132), square)
        >>> encode_polygon(meta)  # the corners' cells (row * 28 + col), clockwise from the top left
        array([ 58,  78, 722, 702])
    """
    cells = crop_points_to_cells(image_to_crop(meta.polygon, meta), grid, meta.crop_size)
    return cells_to_tokens(subsample_cells(canonicalize_cells(cells), max_vertices), grid)


def decode_tokens(
    tokens: np.ndarray, meta: CropMeta | None = None, grid: int = GRID_SIZE, crop: int = CROP_SIZE
) -> np.ndarray:
    """Grid tokens -> polygon (N, 2): in image pixels when `meta` is given, else in crop pixels.

    Everything from the first end-of-polygon (or any non-grid token) on is ignored.

    Example:
        >>> from deep_rnn_tf.data.polygons.geometry import EOS_TOKEN
        >>> square = np.array([[20.0, 30.0], [100.0, 30.0], [100.0, 120.0], [20.0, 120.0]])
        >>> meta = CropMeta("car", 1024, 2048, (10, 20, 122, 132), square)
        >>> decode_tokens(np.array([58, 78, 722, 702, EOS_TOKEN]), meta)  # the cells' centres
        array([[ 19.5,  29.5],
               [ 99.5,  29.5],
               [ 99.5, 121.5],
               [ 19.5, 121.5]])
    """
    tokens = np.asarray(tokens, dtype=np.int64).reshape(-1)
    invalid = np.flatnonzero((tokens < 0) | (tokens >= grid * grid))
    if len(invalid):
        tokens = tokens[: invalid[0]]
    points = cells_to_crop_points(tokens_to_cells(tokens, grid), grid, crop)
    return points if meta is None else crop_to_image(points, meta)
