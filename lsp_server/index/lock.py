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


@contextlib.contextmanager
def embedding_lock(index_dir: Path, what: str, check: Callable[[], None]) -> Iterator[None]:
    """Hold the index's embedding lock for the block. ``check`` runs while waiting and may raise
    (a cancelled run stops waiting); ``what`` names the workspace in the waiting line."""
    handle = _open(index_dir / LOCK_NAME)
    if handle is None:
        yield
        return
    try:
        _acquire(handle, index_dir, what, check)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        os.close(handle)


def _open(path: Path) -> int | None:
    if fcntl is None:
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    except OSError as exc:
        log.info("%s: no lock (%s); embedding without one", path, exc.strerror or exc)
        return None


def _acquire(handle: int, index_dir: Path, what: str, check: Callable[[], None]) -> None:
    """Take the lock, waiting (polled, so that ``check`` can stop the wait) while another holds it."""
    told = False
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if told:
                log.warning("the other codekin process is done with %s; going on", what)
            return
        except BlockingIOError:
            pass
        if not told:
            log.warning("waiting for another codekin process indexing %s (index %s)", what, index_dir)
            told = True
        check()
        time.sleep(POLL_S)
