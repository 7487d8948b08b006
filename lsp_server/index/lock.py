"""One embedding phase at a time per index, across processes: an advisory lock in the index folder.

Two codekin processes on one index (an editor's server and ``codekin index``, two terminals) would
otherwise both read the same pending contents and both embed them. With the lock, the second waits
(saying so once) and then reads what the first stored: only what is still pending is embedded. The
store itself needs no lock for that: SQLite serialises the writes; this one saves the doubled work.

``flock`` locks belong to an open file: the kernel drops them when the process dies, however it dies,
so a killed run never leaves the index locked. Where there is no ``fcntl`` (Windows), or the lock
file cannot be opened (a read-only index), the phase runs unlocked, as before.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

LOCK_NAME = "embedding.lock"
"""The lock file, beside ``index.sqlite3``; empty, and left in place (removing it would race)."""

POLL_S = 0.1
"""How often a waiting process tries again, and checks whether it was asked to stop."""


class _Held:
    """The lock files this process holds, with how many blocks hold each: the threads of one process
    (a full update, an edit beside it) share the lock; flock would make them wait for each other."""

    def __init__(self) -> None:
        self.guard = threading.Lock()
        self.holders: dict[Path, tuple[int, int]] = {}
        """lock file → (its open file, how many blocks hold it)."""

    def enter(self, path: Path) -> bool:
        """Count one more holder of ``path`` if this process holds it; whether it did."""
        with self.guard:
            if path not in self.holders:
                return False
            handle, count = self.holders[path]
            self.holders[path] = (handle, count + 1)
            return True

    def leave(self, path: Path) -> int | None:
        """One holder fewer; the open file to unlock and close when it was the last."""
        with self.guard:
            handle, count = self.holders[path]
            if count > 1:
                self.holders[path] = (handle, count - 1)
                return None
            del self.holders[path]
            return handle

    def register(self, path: Path, handle: int) -> None:
        with self.guard:
            self.holders[path] = (handle, 1)


_HELD = _Held()


@contextlib.contextmanager
def embedding_lock(index_dir: Path, what: str, check: Callable[[], None]) -> Iterator[None]:
    """Hold the index's embedding lock for the block, shared by this process's threads. ``check`` runs
    while waiting and may raise (a cancelled run stops waiting); ``what`` names the workspace then."""
    path = index_dir / LOCK_NAME
    if not _HELD.enter(path):
        handle = _open(path)
        if handle is None:
            yield
            return
        _acquire(handle, path, what, check)
    try:
        yield
    finally:
        last = _HELD.leave(path)
        if last is not None:
            fcntl.flock(last, fcntl.LOCK_UN)
            os.close(last)


def _open(path: Path) -> int | None:
    if fcntl is None:
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    except OSError as exc:
        log.info("%s: no lock (%s); embedding without one", path, exc.strerror or exc)
        return None


def _acquire(handle: int, path: Path, what: str, check: Callable[[], None]) -> None:
    """Take the lock, waiting (polled, so that ``check`` can stop the wait) while another process holds
    it; when another thread of this one takes it meanwhile, share theirs (and close ``handle``)."""
    told = False
    while True:
        if _HELD.enter(path):
            os.close(handle)
            return
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            _HELD.register(path, handle)
            if told:
                log.warning("the other codekin process is done with %s; going on", what)
            return
        except BlockingIOError:
            pass
        if not told:
            log.warning("waiting for another codekin process indexing %s (index %s)", what, path.parent)
            told = True
        try:
            check()
        except BaseException:
            os.close(handle)
            raise
        time.sleep(POLL_S)
