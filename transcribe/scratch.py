"""Scratch folders for downloads in progress, cleaned up even after a run was killed.

Each run (or Ray actor) downloads media into its own folder under a common root and holds an
advisory lock (``flock``) on ``.lock`` inside it while it lives. The kernel drops the lock when the
process ends, however it ends (SIGKILL included), so the next run removes every folder whose lock
it can take: downloads of a killed run do not pile up (each can be gigabytes).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # not POSIX: no locks, and leftovers are only removed by their own run
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = ".lock"
UNLOCKED_GRACE_S = 3600.0  # a folder without a lock file is another run's being created, unless this old
NEW_LOCK_GRACE_S = 2.0  # a lock file this young may not be locked yet by the run that made it


def _try_lock(path: Path) -> IO[str] | None:
    """The lock file opened and locked, or None when a live process holds it."""
    fh = open(path, "a", encoding="utf-8")
    if fcntl is None:
        return fh
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        return None
    return fh


def _age_s(path: Path) -> float | None:
    """Seconds since ``path`` was modified; None when it does not exist (any more)."""
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return None


def sweep(root: Path, *, keep: Path | None = None) -> list[Path]:
    """Remove the folders under ``root`` that no live process holds; returns them."""
    if fcntl is None or not root.is_dir():
        return []
    removed = []
    for folder in root.iterdir():
        if not folder.is_dir() or folder == keep:
            continue
        lock = folder / LOCK_NAME
        lock_age = _age_s(lock)
        if lock_age is None:
            folder_age = _age_s(folder)
            if folder_age is not None and folder_age > UNLOCKED_GRACE_S:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
            continue
        if lock_age < NEW_LOCK_GRACE_S:
            continue  # just made: its run may be about to lock it
        try:
            fh = _try_lock(lock)
        except FileNotFoundError:
            continue  # removed by another run's sweep meanwhile
        if fh is None:
            continue  # a live run's
        try:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
        finally:
            fh.close()
    return removed


class ScratchDir:
    """A locked folder of one live process (``open``/``close``, or ``with ScratchDir(...) as path``);
    opening it removes the folders of dead ones beside it."""

    def __init__(self, root: Path, name: str):
        self.root = root
        self.path = root / name
        self._lock: IO[str] | None = None

    def open(self) -> Path:
        """Make and lock the folder, and remove those of dead runs beside it."""
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock = _try_lock(self.path / LOCK_NAME)
        sweep(self.root, keep=self.path)
        return self.path

    def __enter__(self) -> Path:
        return self.open()

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def __exit__(self, *exc: object) -> None:
        self.close()


def unique_name(prefix: str) -> str:
    """A folder name no other live process uses (pid and time)."""
    return f"{prefix}{os.getpid()}-{time.time_ns()}"
