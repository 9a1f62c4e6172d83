"""File I/O helpers: atomic writes, and reading .npy arrays with errors that name the problem.

Every output file is written under a temporary name and renamed into place, so a reader (or a run killed
mid-write) never sees a half-written file. One helper for the whole project, core and tasks alike.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yields a temporary path next to `path`; on success renames it to `path` (atomic), else deletes it.

    Args:
        path: final file path.
        suffix: the temporary name's ending (some writers insist on one, e.g. ``.weights.h5``).

    Example:
        >>> with atomic_path("/tmp/out.json") as tmp:
        ...     _ = tmp.write_text("{}")
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=f".tmp-{path.name}.", suffix=suffix, dir=path.parent)
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json_atomic(path: str | os.PathLike, data: Any) -> Path:
    """Writes `data` as indented JSON to `path` atomically.

    Args:
        path: destination file.
        data: JSON-serialisable data (numpy scalars are converted).

    Example:
        >>> write_json_atomic("/tmp/metrics.json", {"accuracy": 0.9})
        PosixPath('/tmp/metrics.json')
    """
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=_json_default) + "\n")
    return Path(path)


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Writes `text` (UTF-8) to `path` atomically, creating the parent folder.

    Example:
        >>> write_text_atomic("/tmp/table.md", "| a |\n")
        PosixPath('/tmp/table.md')
    """
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Writes `data` to `path` atomically, creating the parent folder."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


NPY_MAGIC = b"\x93NUMPY"


def load_npy(path: str | os.PathLike, *, mmap: bool = False) -> Any:
    """A .npy array (no pickles), with one-line errors: "not a .npy file", "truncated", ...

    NumPy falls back to unpickling a file without the .npy header and, with pickles refused, says the file
    "contains pickled (object) data", which misleads for a text file or a stray download; this checks the
    header first.

    Raises:
        ValueError: "<path>: not a .npy file ..." or "<path>: not a readable .npy array (...)".

    Example:
        >>> load_npy("sequences.npy").shape  # doctest: +SKIP
        (20, 10000, 64, 64)
    """
    with open(path, "rb") as file:
        head = file.read(len(NPY_MAGIC))
    if head != NPY_MAGIC:
        raise ValueError(f"{path}: not a .npy file (no NumPy header; save arrays with numpy.save)")
    import numpy as np  # only readers of arrays pay for it

    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise ValueError(f"{path}: not a readable .npy array ({error})") from None


def process_alive(pid: int) -> bool:
    """True when a process with this id exists on this host (signal 0 probes without signalling).

    Tells whether the writer of a temporary (a run lock, an export staging folder) still runs.

    Example:
        >>> process_alive(os.getpid())
        True
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True
