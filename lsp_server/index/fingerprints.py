"""Syntactic fingerprints of code units, stored per content hash like vectors, and read back for clones.

They are computed when a file is parsed, from the file's own tokens (one tree-sitter
parse per file, not per unit), and stored in the same transaction as its units: there
before any model loads, never computed twice for the same content, never lost to a kill.
Stores from before fingerprints existed are filled in by :func:`backfill`, from the units' texts.

:class:`FingerprintTable` serves clone detection: every code unit with its fingerprint,
re-read when the store changes; fingerprints themselves never change for a hash, so only
those of new contents are fetched again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from lsp_server.index.schema import FINGERPRINT_INSERT, batches, fingerprint_row
from lsp_server.index.store import UNIT_COLUMNS, NewUnit, Store, StoredUnit, content_hash
from lsp_server.units.fingerprint import (
    PERMUTATIONS,
    Fingerprint,
    Signature,
    fingerprint,
    fingerprint_of_tokens,
    signature_from_bytes,
    stream_from_text,
)
from lsp_server.units.tokens import line_span, source_tokens

log = logging.getLogger(__name__)

BACKFILL_CHUNK = 512
FINGERPRINT_VERSION = "2"
"""Bumped whenever what a fingerprint means changes; stored ones of another version are recomputed."""


def check_version(store: Store) -> None:
    """Drop fingerprints made by another version of the rules (the next update fills them in again)."""
    if store.meta("fingerprints") == FINGERPRINT_VERSION or store.read_only:
        return
    with store.transaction() as db:
        db.execute("DELETE FROM fingerprints")
        db.execute("INSERT OR REPLACE INTO meta VALUES ('fingerprints', ?)", (FINGERPRINT_VERSION,))


def fingerprints_for_file(
    store: Store, language: str | None, data: bytes, units: Sequence[NewUnit]
) -> list[tuple[str, Fingerprint]]:
    """Fingerprints of the file's code units whose content has none yet, from one tokenization."""
    code = {content_hash(unit.text): unit for unit in units if unit.space == "code"}
    new = [digest for digest in code if digest not in known_hashes(store, list(code))]
    if not new or language is None:
        return []
    try:
        tokens = source_tokens(language, data)
    except Exception:  # a grammar's failure costs this file its clones, never its index
        log.exception("tokenizing %s code failed; its units get no fingerprint", language)
        return []
    lines = [token.line for token in tokens]
    out = []
    for digest in new:
        within = tokens[line_span(lines, code[digest].start_line, code[digest].end_line)]
        if within:
            out.append((digest, fingerprint_of_tokens(within)))
    return out


def known_hashes(store: Store, hashes: Sequence[str]) -> set[str]:
    known: set[str] = set()
    for chunk, marks in batches(hashes):
        known.update(
            str(row[0]) for row in store.read(f"SELECT hash FROM fingerprints WHERE hash IN ({marks})", chunk)
        )
    return known


def backfill(store: Store, check: Callable[[], None] = lambda: None) -> int:
    """Fingerprint the stored code contents that have none (an index from before fingerprints)."""
    rows = store.read(
        "SELECT DISTINCT u.hash, u.language FROM units u LEFT JOIN fingerprints f ON f.hash = u.hash"
        " WHERE u.space = 'code' AND f.hash IS NULL"
    )
    for start in range(0, len(rows), BACKFILL_CHUNK):
        check()
        chunk = rows[start : start + BACKFILL_CHUNK]
        texts = store.texts([str(digest) for digest, _ in chunk])
        prints = []
        for digest, language in chunk:
            try:
                found = fingerprint(language, texts.get(digest, ""))
            except Exception:  # as when a file is parsed: a grammar's failure costs clones, not the index
                log.exception("fingerprinting a %s unit failed; it gets none", language)
                continue
            if found is not None:
                prints.append(fingerprint_row(digest, found))
        with store.transaction() as db:
            db.executemany(FINGERPRINT_INSERT, prints)
    if rows:
        log.info("fingerprinted %d stored code contents", len(rows))
    return len(rows)


@dataclass(frozen=True, slots=True)
class StoredPrint:
    tokens: int
    exact: str
    renamed: str
    signature: Signature


class FingerprintTable:
    """Every code unit and its fingerprint, as of the store's last write (re-read lazily)."""

    def __init__(self, store: Store) -> None:
        check_version(store)
        self.store = store
        self._lock = threading.Lock()
        self._generation = -1
        self._units: list[StoredUnit] = []
        self._prints: dict[str, StoredPrint] = {}
        self._rows: dict[str, int] = {}
        self._matrix = signature_matrix([])

    def units(self) -> tuple[list[StoredUnit], dict[str, StoredPrint]]:
        """The code units, and the fingerprint of each content that has one."""
        with self._lock:
            generation = self.store.unit_generation  # not bumped by vectors: a full run writes many
            if self._generation != generation:
                self._reload()
                self._generation = generation  # after: a reload that failed is tried again
            return self._units, self._prints

    def signatures(self) -> tuple[dict[str, int], np.ndarray]:
        """Each fingerprinted content's row in one signature matrix (for near-miss candidates)."""
        self.units()
        with self._lock:
            return self._rows, self._matrix

    def streams(self, hashes: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """The renamed token streams of ``hashes`` (read when a near-miss candidate is verified)."""
        out: dict[str, tuple[str, ...]] = {}
        for chunk, marks in batches(hashes):
            rows = self.store.read(f"SELECT hash, stream FROM fingerprints WHERE hash IN ({marks})", chunk)
            out.update((str(digest), stream_from_text(str(stream))) for digest, stream in rows)
        return out

    def _reload(self) -> None:
        rows = self.store.read(
            f"SELECT {UNIT_COLUMNS} FROM units u JOIN files f ON f.id = u.file_id WHERE u.space = 'code'"
            " ORDER BY f.path, u.start_line"
        )
        self._units = [StoredUnit(*row) for row in rows]
        live = {unit.hash for unit in self._units}
        self._prints = {digest: found for digest, found in self._prints.items() if digest in live}
        missing = sorted(live - set(self._prints))
        for chunk, marks in batches(missing):
            query = (
                f"SELECT hash, tokens, exact, renamed, signature FROM fingerprints WHERE hash IN ({marks})"
            )
            for digest, tokens, exact, renamed, blob in self.store.read(query, chunk):
                signature = signature_from_bytes(bytes(blob))
                if len(signature) == PERMUTATIONS:
                    self._prints[digest] = StoredPrint(tokens, exact, renamed, signature)
        order = sorted(self._prints)
        self._rows = {digest: row for row, digest in enumerate(order)}
        self._matrix = signature_matrix([self._prints[digest] for digest in order])


def signature_matrix(prints: Sequence[StoredPrint]) -> np.ndarray:
    if not prints:
        return np.zeros((0, PERMUTATIONS), dtype=np.uint32)
    return np.stack([found.signature for found in prints])
