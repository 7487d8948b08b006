"""The SQLite store: files, units, unit texts and vectors. It is the truth; ANN files derive from it.

Vectors are keyed by (model id, space, content hash), not by unit, so identical
code embeds once, a rename or move re-uses its vectors, and switching a branch
back finds everything it had. Every write is one transaction, so a process
killed mid-way leaves a consistent store: what was committed stays, the rest is
still pending.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lsp_server.config import SPACES
from lsp_server.embedding.base import Vectors
from lsp_server.index.database import ReadOnlyIndex, open_database
from lsp_server.index.schema import (
    FINGERPRINT_INSERT,
    batches,
    blob_matrix,
    blob_vector,
    fingerprint_row,
    vector_blob,
)
from lsp_server.units.fingerprint import Fingerprint


def content_hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


@dataclass(frozen=True, slots=True)
class NewUnit:
    """A unit about to be stored: where it is and the text that gets embedded."""

    space: str
    kind: str
    name: str
    language: str
    start_line: int
    end_line: int
    text: str


@dataclass(frozen=True, slots=True)
class StoredUnit:
    id: int
    path: str
    space: str
    kind: str
    name: str
    language: str
    start_line: int
    end_line: int
    hash: str


@dataclass(frozen=True, slots=True)
class StoredFile:
    path: str
    size: int
    mtime_ns: int
    hash: str


UNIT_COLUMNS = "u.id, f.path, u.space, u.kind, u.name, u.language, u.start_line, u.end_line, u.hash"


class Store:
    """One workspace's SQLite database. Safe to share between threads (one connection, one lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self.generation = self.unit_generation = 0
        """Bumped by every committed write (``unit_generation``: by those that may change units or
        fingerprints, not vectors), so that derived state knows when to re-read."""
        opened = open_database(path)
        self._db, self.read_only, self.moved_aside = opened.db, opened.read_only, opened.moved_aside

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self, *, units: bool = True) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT under the store's lock; rolled back on any exception. ``units=False``:
        a write that leaves every unit and fingerprint as it was (vectors, a file's stat)."""
        with self._lock:
            if self.read_only:
                raise ReadOnlyIndex(f"the index at {self.path} is read-only; it cannot be updated")
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            self.generation += 1
            self.unit_generation += units

    def read(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        """Rows of one query, under the store's lock: for the index's own companion tables."""
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    @property
    def store_id(self) -> str:
        value = self.meta("store_id")
        assert value is not None
        return value

    # -- files and units -------------------------------------------------------------------

    def files(self) -> dict[str, StoredFile]:
        with self._lock:
            rows = self._db.execute("SELECT path, size, mtime_ns, hash FROM files").fetchall()
        return {row[0]: StoredFile(*row) for row in rows}

    def files_named(self, paths: Iterable[str]) -> dict[str, StoredFile]:
        """The stored files among ``paths`` (what ``files`` gives, for a few paths only)."""
        out: dict[str, StoredFile] = {}
        with self._lock:
            for chunk, marks in batches(sorted(set(paths))):
                rows = self._db.execute(
                    f"SELECT path, size, mtime_ns, hash FROM files WHERE path IN ({marks})", chunk
                )
                out.update((row[0], StoredFile(*row)) for row in rows)
        return out

    def unit_hashes_of_files(self, paths: Iterable[str]) -> set[tuple[str, str]]:
        """(space, content hash) of every unit the files at ``paths`` hold now."""
        out: set[tuple[str, str]] = set()
        with self._lock:
            for chunk, marks in batches(sorted(set(paths))):
                out.update(
                    self._db.execute(
                        "SELECT u.space, u.hash FROM units u JOIN files f ON f.id = u.file_id"
                        f" WHERE f.path IN ({marks})",
                        chunk,
                    )
                )
        return out

    def touch_file(self, path: str, size: int, mtime_ns: int) -> None:
        """Record a new stat for a file whose bytes did not change."""
        with self.transaction(units=False) as db:
            db.execute("UPDATE files SET size = ?, mtime_ns = ? WHERE path = ?", (size, mtime_ns, path))

    def replace_file(
        self,
        path: str,
        *,
        size: int,
        mtime_ns: int,
        file_hash: str,
        language: str | None,
        units: Sequence[NewUnit],
        skipped: str | None = None,
        fingerprints: Sequence[tuple[str, Fingerprint]] = (),
    ) -> None:
        """Replace everything known of one file, atomically; with the fingerprints of its new code."""
        with self.transaction() as db:
            db.execute("DELETE FROM files WHERE path = ?", (path,))
            cursor = db.execute(
                "INSERT INTO files(path, size, mtime_ns, hash, language, skipped) VALUES (?, ?, ?, ?, ?, ?)",
                (path, size, mtime_ns, file_hash, language, skipped),
            )
            file_id = cursor.lastrowid
            rows = []
            texts = {}
            for unit in units:
                if unit.space not in SPACES:  # drop_unreferenced_texts relies on knowing every space
                    raise ValueError(f"unknown space {unit.space!r}")
                digest = content_hash(unit.text)
                texts[digest] = unit.text
                rows.append(_unit_row(file_id, unit, digest))
            db.executemany("INSERT OR IGNORE INTO texts(hash, text) VALUES (?, ?)", texts.items())
            db.executemany(FINGERPRINT_INSERT, [fingerprint_row(digest, fp) for digest, fp in fingerprints])
            db.executemany(
                "INSERT INTO units(file_id, space, kind, name, language, start_line, end_line, hash)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def remove_files(self, paths: Iterable[str]) -> int:
        with self.transaction() as db:
            removed = 0
            for path in paths:
                removed += db.execute("DELETE FROM files WHERE path = ?", (path,)).rowcount
            return removed

    def drop_unreferenced_texts(self, among: Iterable[str] | None = None) -> None:
        """Delete the texts no unit refers to: all of them (a scan of every unit), or only those
        ``among`` these hashes (the units an edit replaced; index lookups, whatever the store's size)."""
        with self.transaction() as db:
            if among is None:
                db.execute("DELETE FROM texts WHERE hash NOT IN (SELECT hash FROM units)")
                db.execute("DELETE FROM fingerprints WHERE hash NOT IN (SELECT hash FROM texts)")
                return
            # units_by_hash leads with the space: name every space so that each probe uses it.
            spaces = ",".join("?" * len(SPACES))
            db.executemany(
                "DELETE FROM texts WHERE hash = ? AND NOT EXISTS (SELECT 1 FROM units u"
                f" WHERE u.space IN ({spaces}) AND u.hash = texts.hash)",
                [(digest, *SPACES) for digest in sorted(set(among))],
            )
            db.executemany(
                "DELETE FROM fingerprints WHERE hash = ? AND NOT EXISTS (SELECT 1 FROM texts WHERE hash = ?)",
                [(digest, digest) for digest in sorted(set(among))],
            )

    def count_units(self, space: str | None = None) -> int:
        with self._lock:
            if space is None:
                return int(self._db.execute("SELECT count(*) FROM units").fetchone()[0])
            return int(self._db.execute("SELECT count(*) FROM units WHERE space = ?", (space,)).fetchone()[0])

    def count_vectors(self) -> int:
        return int(self.read("SELECT count(*) FROM vectors")[0][0])

    def count_files(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM files WHERE skipped IS NULL").fetchone()[0])

    def units_of_file(self, path: str, space: str | None = None) -> list[StoredUnit]:
        query = f"SELECT {UNIT_COLUMNS} FROM units u JOIN files f ON f.id = u.file_id WHERE f.path = ?"
        params: tuple[object, ...] = (path,)
        if space is not None:
            query += " AND u.space = ?"
            params += (space,)
        with self._lock:
            return [StoredUnit(*row) for row in self._db.execute(query + " ORDER BY u.start_line", params)]

    def units_named(self, needle: str, space: str, limit: int) -> list[StoredUnit]:
        """Units whose qualified name contains ``needle`` (case-insensitive), shortest names first."""
        escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        with self._lock:
            rows = self._db.execute(
                f"SELECT {UNIT_COLUMNS} FROM units u JOIN files f ON f.id = u.file_id"
                " WHERE u.space = ? AND u.name LIKE ? ESCAPE '\\' ORDER BY length(u.name), f.path LIMIT ?",
                (space, f"%{escaped}%", limit),
            ).fetchall()
        return [StoredUnit(*row) for row in rows]

    def units_by_vector_ids(self, model: str, space: str, ids: Sequence[int]) -> dict[int, list[StoredUnit]]:
        """The units whose content a vector stands for, by vector id (one vector, many identical units)."""
        if not ids:
            return {}
        out: dict[int, list[StoredUnit]] = {}
        with self._lock:
            for chunk, marks in batches(ids):
                rows = self._db.execute(
                    # CROSS JOIN keeps SQLite's loop order: the given ids first, then their units by
                    # (space, hash); left to itself it scans every unit of the space for each chunk.
                    f"SELECT v.id, {UNIT_COLUMNS} FROM vectors v"
                    " CROSS JOIN units u ON u.space = v.space AND u.hash = v.hash"
                    " JOIN files f ON f.id = u.file_id"
                    # Unary + keeps the (model, space, hash) index out: by it SQLite would scan every
                    # vector of the space (15 ms a call at 100k) instead of looking the ids up.
                    f" WHERE v.id IN ({marks}) AND +v.model = ? AND +v.space = ?",
                    (*chunk, model, space),
                )
                for row in rows:
                    out.setdefault(int(row[0]), []).append(StoredUnit(*row[1:]))
        return out

    def text_lengths(self, hashes: Sequence[str]) -> dict[str, int]:
        """The length in characters of each stored text among ``hashes``, without reading the texts."""
        out: dict[str, int] = {}
        with self._lock:
            for chunk, marks in batches(hashes):
                out.update(
                    self._db.execute(f"SELECT hash, length(text) FROM texts WHERE hash IN ({marks})", chunk)
                )
        return out

    def texts(self, hashes: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        with self._lock:
            for chunk, marks in batches(hashes):
                out.update(self._db.execute(f"SELECT hash, text FROM texts WHERE hash IN ({marks})", chunk))
        return out

    # -- vectors ----------------------------------------------------------------------------

    def pending_hashes(self, model: str, space: str) -> list[str]:
        """Content hashes of this space's units that have no vector for ``model`` yet."""
        with self._lock:
            rows = self._db.execute(
                "SELECT DISTINCT u.hash FROM units u"
                " LEFT JOIN vectors v ON v.model = ? AND v.space = u.space AND v.hash = u.hash"
                " WHERE u.space = ? AND v.id IS NULL",
                (model, space),
            ).fetchall()
        return [row[0] for row in rows]

    def add_vectors(self, model: str, space: str, hashes: Sequence[str], vectors: Vectors) -> None:
        if len(hashes) != len(vectors):
            raise ValueError("one vector per hash")
        dim = int(vectors.shape[1]) if len(vectors) else 0
        with self.transaction(units=False) as db:
            db.executemany(
                "INSERT OR IGNORE INTO vectors(model, space, hash, dim, vec) VALUES (?, ?, ?, ?, ?)",
                [(model, space, h, dim, vector_blob(v)) for h, v in zip(hashes, vectors, strict=True)],
            )

    def count_embedded(self, model: str, space: str, hashes: Sequence[str]) -> int:
        """How many of ``hashes`` (duplicates counted) already have a vector for ``model``."""
        present = self._embedded_among(model, space, hashes)
        return sum(1 for digest in hashes if digest in present)

    def missing_vectors(self, model: str, space: str, hashes: Iterable[str]) -> list[str]:
        """Those of ``hashes`` (distinct, in order) that have no vector for ``model`` in ``space``."""
        wanted = list(dict.fromkeys(hashes))
        present = self._embedded_among(model, space, wanted)
        return [digest for digest in wanted if digest not in present]

    def _embedded_among(self, model: str, space: str, hashes: Iterable[str]) -> set[str]:
        """The hashes among ``hashes`` that have a vector for ``model`` in ``space``."""
        present: set[str] = set()
        with self._lock:
            for chunk, marks in batches(sorted(set(hashes))):
                present.update(
                    row[0]
                    for row in self._db.execute(
                        f"SELECT hash FROM vectors WHERE model = ? AND space = ? AND hash IN ({marks})",
                        (model, space, *chunk),
                    )
                )
        return present

    def vector_liveness(self, model: str, space: str, hashes: Iterable[str]) -> tuple[list[int], list[int]]:
        """The vector ids of ``hashes`` split into (live: some unit refers to it, dead: none does)."""
        live: list[int] = []
        dead: list[int] = []
        with self._lock:
            for chunk, marks in batches(sorted(set(hashes))):
                rows = self._db.execute(
                    "SELECT v.id, EXISTS (SELECT 1 FROM units u WHERE u.space = v.space AND u.hash = v.hash)"
                    f" FROM vectors v WHERE v.model = ? AND v.space = ? AND v.hash IN ({marks})",
                    (model, space, *chunk),
                )
                for vid, referenced in rows:
                    (live if referenced else dead).append(int(vid))
        return live, dead

    def live_vector_ids(self, model: str, space: str) -> np.ndarray:
        """Ids of the vectors that at least one current unit of ``space`` refers to."""
        with self._lock:
            rows = self._db.execute(
                "SELECT v.id FROM vectors v WHERE v.model = ? AND v.space = ?"
                " AND EXISTS (SELECT 1 FROM units u WHERE u.space = v.space AND u.hash = v.hash)",
                (model, space),
            ).fetchall()
        return np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))

    def vectors_by_id(self, ids: Iterable[int]) -> tuple[np.ndarray, Vectors]:
        """(ids, matrix) for the given vector ids, in the order found."""
        found: list[int] = []
        blobs: list[bytes] = []
        with self._lock:
            for chunk, marks in batches([int(i) for i in ids]):
                for vid, blob in self._db.execute(
                    f"SELECT id, vec FROM vectors WHERE id IN ({marks})", chunk
                ):
                    found.append(vid)
                    blobs.append(blob)
        return np.asarray(found, dtype=np.int64), blob_matrix(blobs)

    def vectors_for_hashes(self, model: str, space: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vector of each content hash that has one."""
        out: dict[str, np.ndarray] = {}
        with self._lock:
            for chunk, marks in batches(sorted(set(hashes))):
                for digest, blob in self._db.execute(
                    f"SELECT hash, vec FROM vectors WHERE model = ? AND space = ? AND hash IN ({marks})",
                    (model, space, *chunk),
                ):
                    out[digest] = blob_vector(blob)
        return out


def _unit_row(file_id: int | None, unit: NewUnit, digest: str) -> tuple[object, ...]:
    """The ``units`` row of ``unit``, its columns in table order."""
    return (file_id, unit.space, unit.kind, unit.name, unit.language, unit.start_line, unit.end_line, digest)
