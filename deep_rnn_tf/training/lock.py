"""One training process per run directory: a lock file naming the host and process that holds the run.

Two `deep-rnn train` into the same run directory would both append to `metrics.csv` and overwrite each
other's checkpoints. The first takes ``<run_dir>/train.lock`` (JSON: host, pid, time); the second refuses at
once with a message naming the holder. A lock left by a process that no longer exists on this host (killed
with SIGKILL, machine crash on a shared disk seen from the same host) is taken over with a warning.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from pathlib import Path

from deep_rnn_tf.atomic_io import process_alive, write_text_atomic

logger = logging.getLogger(__name__)

LOCK_NAME = "train.lock"


class RunLockedError(ValueError):
    """Another live process holds the run directory (the message names it)."""


class RunLock:
    """Exclusive lock of a run directory, held for the lifetime of a training process.

    Args:
        run_dir: the run directory (created if missing).

    Raises (from `acquire` / ``with``):
        RunLockedError: a live process (or one on another host) holds the run; names host, pid and file.

    Example:
        >>> with RunLock("runs/demo-tiny"):
        ...     pass  # train here
    """

    def __init__(self, run_dir: str | os.PathLike):
        self.path = Path(run_dir) / LOCK_NAME
        self.held = False

    def _owner(self) -> dict:
        try:
            owner = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}  # vanished or half-written (never by us: we link a complete file): treated as stale
        return owner if isinstance(owner, dict) else {}

    def acquire(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(3):
            if self._create_exclusive():
                self.held = True
                return self
            owner = self._owner()
            host, pid = owner.get("host"), owner.get("pid")
            if not isinstance(pid, int) or (host == socket.gethostname() and not process_alive(pid)):
                logger.warning(
                    "Taking over the stale lock %s (held by %s, no longer running)", self.path, owner
                )
                self.path.unlink(missing_ok=True)
                continue
            where = "" if host == socket.gethostname() else f" on host {host}"
            raise RunLockedError(
                f"{self.path.parent}: run directory is in use by process {pid}{where} (lock {self.path}); "
                "wait for it to finish, or delete the lock file if that process is gone"
            )
        raise RunLockedError(f"{self.path}: could not take the run lock (another process keeps taking it)")

    def _create_exclusive(self) -> bool:
        """Writes a complete lock file under a staging name, then hard-links it: atomic and exclusive."""
        record = {"host": socket.gethostname(), "pid": os.getpid(), "started": time.time()}
        staging = write_text_atomic(
            self.path.with_name(f".tmp-{LOCK_NAME}.{os.getpid()}"), json.dumps(record)
        )
        try:
            os.link(staging, self.path)  # fails if the lock exists; the lock is never half-written
            return True
        except FileExistsError:
            return False
        except OSError:  # a file system without hard links: exclusive create (a reader may see it empty)
            return self._create_exclusive_without_links(staging.read_text())
        finally:
            staging.unlink(missing_ok=True)

    def _create_exclusive_without_links(self, record: str) -> bool:
        try:
            handle = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(handle, "w") as file:
            file.write(record)
        return True

    def release(self) -> None:
        if self.held and self._owner().get("pid") == os.getpid():
            self.path.unlink(missing_ok=True)
        self.held = False

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
