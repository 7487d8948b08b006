"""The store's on-disk format: its tables, their version, and vectors as float32 blobs.

Kept apart from the queries so that what a saved index must look like (and what a
change to it has to migrate) is in one place.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeVar

import numpy as np

from lsp_server.embedding.base import Vectors
from lsp_server.units.fingerprint import Fingerprint, stream_text

T = TypeVar("T")

SCHEMA_VERSION = "1"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files(
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    hash TEXT NOT NULL,
    language TEXT,
    skipped TEXT
);
CREATE TABLE IF NOT EXISTS texts(hash TEXT PRIMARY KEY, text TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS units(
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    space TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    language TEXT NOT NULL,
    start_line INTEGER NOT NULL,
    end_line INTEGER NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS units_by_file ON units(file_id);
CREATE INDEX IF NOT EXISTS units_by_hash ON units(space, hash);
CREATE TABLE IF NOT EXISTS vectors(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    model TEXT NOT NULL,
    space TEXT NOT NULL,
    hash TEXT NOT NULL,
    dim INTEGER NOT NULL,
    vec BLOB NOT NULL,
    UNIQUE(model, space, hash)
);
CREATE TABLE IF NOT EXISTS fingerprints(
    hash TEXT PRIMARY KEY,
    tokens INTEGER NOT NULL,
    exact TEXT NOT NULL,
    renamed TEXT NOT NULL,
    signature BLOB NOT NULL,
    stream TEXT NOT NULL
);
"""

FINGERPRINT_INSERT = (
    "INSERT OR IGNORE INTO fingerprints(hash, tokens, exact, renamed, signature, stream)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)


def fingerprint_row(digest: str, fingerprint: Fingerprint) -> tuple[object, ...]:
    return (
        digest,
        fingerprint.tokens,
        fingerprint.exact,
        fingerprint.renamed,
        fingerprint.signature_bytes(),
        stream_text(fingerprint.stream),
    )


BATCH = 500
"""Values bound per ``IN (…)`` query: well under SQLite's limit on bound variables."""


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the database at ``path`` with its tables; autocommit, WAL."""
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.executescript(SCHEMA)
    return db


def batches(items: Iterable[T]) -> Iterator[tuple[list[T], str]]:
    """``items`` in slices of BATCH, each with its ``?,?,…`` placeholders."""
    values = list(items)
    for start in range(0, len(values), BATCH):
        chunk = values[start : start + BATCH]
        yield chunk, ",".join("?" * len(chunk))


def vector_blob(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()


def blob_vector(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float32)


def blob_matrix(blobs: list[bytes]) -> Vectors:
    """One row per blob (a copy, so that the blobs can go)."""
    if not blobs:
        return np.zeros((0, 0), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), -1).copy()
