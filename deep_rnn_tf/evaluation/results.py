"""`ResultsWriter`: the one place a test protocol writes its files (JSON, CSV, Markdown, npz, PNG, GIF).

Bound to a run's ``results/`` folder (:attr:`deep_rnn_tf.training.runs.RunDirectory.results_dir`); every
file goes through :mod:`deep_rnn_tf.atomic_io`, so an interrupted test never leaves half a table behind.
Names are relative paths under the root (sub-folders are created).

Example:
    >>> writer = ResultsWriter("/tmp/run/results")
    >>> writer.json("metrics.json", {"accuracy": 0.9}).name
    'metrics.json'
    >>> writer.markdown_table("table.md", ["model", "PSNR"], [["copy", 30.1]]).read_text().splitlines()[0]
    '| model | PSNR |'
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from deep_rnn_tf.atomic_io import atomic_path, write_bytes_atomic, write_json_atomic, write_text_atomic


class ResultsWriter:
    """Writes result files atomically under one root folder.

    Args:
        root: the results folder (created on the first write).

    Example:
        >>> ResultsWriter.for_run("runs/demo").root
        PosixPath('runs/demo/results')
    """

    def __init__(self, root: str | os.PathLike):
        if not str(root):
            raise ValueError(f"`root` must be a folder path. Received: root={root!r}")
        self.root = Path(root)

    @classmethod
    def for_run(cls, run_dir: str | os.PathLike) -> ResultsWriter:
        """The writer of a run directory's ``results/`` folder."""
        from deep_rnn_tf.training.runs import RunDirectory  # the run layout's one home

        return cls(RunDirectory(run_dir).results_dir)

    def path(self, name: str | os.PathLike) -> Path:
        """The absolute place of `name` under the root (nothing is written)."""
        if os.path.isabs(name) or ".." in Path(name).parts:
            raise ValueError(f"result name must be relative, inside {self.root}; received {name!r}")
        return self.root / name

    def sub(self, folder: str | os.PathLike) -> ResultsWriter:
        """A writer for a sub-folder (e.g. ``images/KTH/<run>``)."""
        return ResultsWriter(self.path(folder))

    # --- formats -------------------------------------------------------------------------------------------
    def json(self, name: str, data: Any) -> Path:
        """Indented JSON (numpy scalars and arrays become numbers and lists)."""
        return write_json_atomic(self.path(name), data)

    def text(self, name: str, text: str) -> Path:
        """A UTF-8 text file (Markdown, logs)."""
        return write_text_atomic(self.path(name), text)

    def csv(self, name: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
        """A CSV file: one header row, then `rows`."""
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer)
        writer.writerow(list(header))
        writer.writerows(rows)
        return write_text_atomic(self.path(name), buffer.getvalue())

    def markdown_table(
        self, name: str, header: Sequence[str], rows: Sequence[Sequence[Any]], title: str = ""
    ) -> Path:
        """A Markdown table (optionally under a title line); see :func:`markdown_table`."""
        table = markdown_table(header, rows)
        return self.text(name, f"{title}\n\n{table}" if title else table)

    def npz(self, name: str, **arrays: np.ndarray) -> Path:
        """A compressed npz of named arrays."""
        with atomic_path(self.path(name), suffix=".npz") as tmp:
            np.savez_compressed(tmp, **arrays)
        return self.path(name)

    def figure(self, name: str, figure: Any, dpi: int = 100) -> Path:
        """A matplotlib figure as PNG (the figure is closed afterwards)."""
        import matplotlib.pyplot as plt

        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=dpi)
        plt.close(figure)
        return write_bytes_atomic(self.path(name), buffer.getvalue())

    def image(self, name: str, pixels: np.ndarray) -> Path:
        """A uint8 RGB (H, W, 3) or grey (H, W[, 1]) image, PNG or JPEG by the name's extension."""
        from deep_rnn_tf.data.video_io import write_image  # the package's one image encoder

        pixels = np.asarray(pixels)
        if pixels.ndim == 3 and pixels.shape[-1] == 1:
            pixels = pixels[..., 0]
        path = self.path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_image(path, pixels.astype(np.uint8))
        return path

    def gif(self, name: str, frames: np.ndarray, fps: float = 7.0) -> Path:
        """uint8 frames (T, H, W[, 1|3]) as a looping GIF (the original's 7 fps)."""
        import imageio.v2 as imageio

        frames = np.asarray(frames)
        if frames.ndim == 3:
            frames = frames[..., None]
        if frames.shape[-1] == 1:
            frames = np.repeat(frames, 3, axis=-1)
        with atomic_path(self.path(name), suffix=".gif") as tmp:
            imageio.mimsave(tmp, list(frames.astype(np.uint8)), format="GIF", duration=1000.0 / fps, loop=0)
        return self.path(name)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub Markdown table; floats are written with 4 significant decimals, None as "-".

    Example:
        >>> print(markdown_table(["a", "b"], [[1, 0.5]]), end="")
        | a | b |
        |---|---|
        | 1 | 0.5000 |
    """

    def cell(value: Any) -> str:
        if value is None:
            return "-"
        if isinstance(value, (float, np.floating)):
            return f"{float(value):.4f}"
        return str(value)

    lines = ["| " + " | ".join(str(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
