"""Opening the index's SQLite file whatever state it is in, and saying what went wrong in words.

- damaged (garbage, a wrong header, a malformed schema): moved aside, kept for inspection under a name
  the warning gives, and a fresh store built in its place (the workspace is its source);
- not writable (a read-only mount, a file or folder without write permission): opened read-only, so that
  queries answer from what is stored; a write then raises :class:`ReadOnlyIndex`;
- a full disk at a write: :func:`explain_fault` turns SQLite's "database or disk is full" (or ENOSPC)
  into one line with the free space and what to do.

Index folders and files are private to the user (0700 / 0600): the store holds every unit's text.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import sqlite3
import stat
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lsp_server.index.schema import SCHEMA_VERSION, connect

log = logging.getLogger(__name__)

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


class IndexUnavailable(RuntimeError):
    """The index cannot be used as asked; the message says why and what to do."""


class ReadOnlyIndex(IndexUnavailable):
    """The index can be read but not written (a read-only mount, no write permission)."""


@dataclass(frozen=True, slots=True)
class OpenedDatabase:
    db: sqlite3.Connection
    read_only: bool
    moved_aside: Path | None
    """Where a damaged store was moved, when it was."""


def open_database(path: Path) -> OpenedDatabase:
    """The store's connection, its tables and meta rows in place; damaged files moved aside."""
    make_private_dir(path.parent)
    try:
        return OpenedDatabase(_open_writable(path), False, None)
    except sqlite3.OperationalError as exc:
        if not path.exists() or (os.access(path.parent, os.W_OK) and os.access(path, os.W_OK)):
            raise IndexUnavailable(f"the index at {path} cannot be opened: {exc}") from exc
        log.warning("the index at %s is read-only (%s): answering from it, not updating it", path, exc)
        return OpenedDatabase(_open_read_only(path), True, None)
    except sqlite3.DatabaseError as exc:
        aside = _move_aside(path)
        log.warning(
            "the index at %s was damaged (%s); it was moved to %s and is being rebuilt", path, exc, aside
        )
        return OpenedDatabase(_open_writable(path), False, aside)


def _open_writable(path: Path) -> sqlite3.Connection:
    fresh = not path.exists()
    db = connect(path)
    try:
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        db.execute("INSERT OR IGNORE INTO meta VALUES ('store_id', ?)", (uuid.uuid4().hex,))
        db.execute("COMMIT")
        _check_schema(db, path)
    except BaseException:
        db.close()
        raise
    make_private_files(path, announce=not fresh)
    return db


def _open_read_only(path: Path) -> sqlite3.Connection:
    """``mode=ro`` where SQLite can still take its locks, else ``immutable=1`` (a read-only mount)."""
    for query in ("mode=ro", "immutable=1"):
        try:
            uri = f"{path.as_uri()}?{query}"
            db = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
            _check_schema(db, path)
            return db
        except sqlite3.OperationalError as exc:
            last = exc
    raise IndexUnavailable(f"the index at {path} can be neither written nor read: {last}") from last


class WrongSchema(sqlite3.DatabaseError):
    """A store of another codekin's schema: kept aside and rebuilt, like a damaged one."""


def _check_schema(db: sqlite3.Connection, path: Path) -> None:
    row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    version = None if row is None else str(row[0])
    if version != SCHEMA_VERSION:
        raise WrongSchema(f"index schema {version}, this codekin reads {SCHEMA_VERSION}")


def _move_aside(path: Path) -> Path:
    aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    for suffix in ("", "-wal", "-shm"):
        part = path.with_name(path.name + suffix)
        if part.exists():
            os.replace(part, aside.with_name(aside.name + suffix))
    return aside


def is_index_file(path: Path) -> bool:
    """One of codekin's own files in an index folder (only those are ever tightened)."""
    name = path.name
    return name.startswith("index.sqlite3") or ".hnsw" in name or name == "embedding.lock"


def make_private_dir(folder: Path) -> None:
    """Create ``folder`` (and its parents) for this user only. An existing one is tightened only when it
    holds nothing but codekin's files (``--index-dir .`` must not change a repository's folder)."""
    existed = folder.is_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    if existed and not all(is_index_file(part) for part in folder.iterdir()):
        return
    if _tighten(folder, PRIVATE_DIR):
        log.warning("%s was open to other users; now only yours (0700)", folder)


def make_private_files(path: Path, *, announce: bool = True) -> None:
    """codekin's files in the store's folder (the store, its journal, the ANN files) for this user only."""
    tightened = [
        part
        for part in path.parent.iterdir()
        if part.is_file() and is_index_file(part) and _tighten(part, PRIVATE_FILE)
    ]
    if tightened and announce:
        log.warning("%d files in %s were readable by others; now only yours", len(tightened), path.parent)


def _tighten(path: Path, mode: int) -> bool:
    """Take group and other permissions away; whether there were any."""
    try:
        current = stat.S_IMODE(path.lstat().st_mode)
        if stat.S_ISLNK(path.lstat().st_mode) or not current & 0o077:
            return False
        path.chmod(current & ~0o077 | (mode & 0o700))
    except OSError as exc:  # not ours, or a read-only mount: nothing to tighten with
        log.debug("could not tighten %s: %s", path, exc)
        return False
    return True


def is_disk_full(exc: BaseException) -> bool:
    """SQLite's SQLITE_FULL ("database or disk is full") or the system's ENOSPC."""
    if isinstance(exc, sqlite3.OperationalError):
        return "disk is full" in str(exc)
    return isinstance(exc, OSError) and exc.errno == errno.ENOSPC


def explain_fault(
    exc: BaseException, index_dir: Path, count_vectors: Callable[[], int] | None = None
) -> str | None:
    """One line for the faults a user can act on (a full disk, a read-only index); None for others.
    ``count_vectors`` is asked only for a full disk, and may fail: the line goes without the count."""
    if is_disk_full(exc):
        try:
            free = shutil.disk_usage(index_dir).free / 1e6
        except OSError:
            free = 0.0
        stored = ""
        with contextlib.suppress(Exception):  # the store is what failed
            stored = "" if count_vectors is None else f" after storing {count_vectors()} vectors"
        return (
            f"the disk holding {index_dir} is full: {free:.1f} MB free; codekin stopped{stored} "
            "(nothing stored was lost); free space and run again"
        )
    if isinstance(exc, ReadOnlyIndex):
        return str(exc)
    return None
