"""The incremental indexer: files → units → pending content hashes → vectors → ANN spaces.

Only what changed is re-read (size and mtime first, then the bytes' hash), only content hashes never
embedded with this model are embedded, and every step commits: an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lsp_server.config import Settings
from lsp_server.embedding.base import Embedder, Task
from lsp_server.index.ann import AnnIndex
from lsp_server.index.fingerprints import FingerprintTable, backfill, fingerprints_for_file
from lsp_server.index.lock import embedding_lock
from lsp_server.index.query_vectors import QueryVectors
from lsp_server.index.records import PASSAGE_TASK, file_records
from lsp_server.index.scan import indexable_files, stale_files
from lsp_server.index.spaces import AnnSpaces
from lsp_server.index.store import Store, StoredFile, content_hash
from lsp_server.index.summary import (
    IndexStatus,
    IndexSummary,
    default_index_dir,
    mark_accounted,
    unreported_vectors,
)
from lsp_server.memory import release_freed_memory
from lsp_server.units.languages import language_for_path
from lsp_server.workspace.discovery import content_problem
from lsp_server.workspace.names import name_problem

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""(phase, done, total): phases are "scan", "parse" and "embed <space>"."""

EMBED_CHUNK = int(os.environ.get("CODEKIN_EMBED_CHUNK", "256"))
"""Texts per committed embedding step: small enough that an interruption loses little."""


class Cancelled(Exception):
    """Raised by ``update`` when its cancel event is set; what was committed stays."""


@dataclass(frozen=True, slots=True)
class _Run:
    """One update's progress callback, cancel event and start time, handed down its steps."""

    report: Progress
    cancel: threading.Event | None
    stored: Callable[[], None] = lambda: None
    """Called once an edit's units and fingerprints are stored, before their embedding."""
    started: float = field(default_factory=time.perf_counter)

    def check(self) -> None:
        """Raise Cancelled if the run was asked to stop."""
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled


class WorkspaceIndex:
    """A workspace's store, its ANN spaces and the embedder that fills them."""

    def __init__(self, root: Path, settings: Settings, embedder: Embedder) -> None:
        self.root = root.resolve()
        self.settings = settings
        self.embedder = embedder
        self.index_dir = Path(settings.index_dir) if settings.index_dir else default_index_dir(self.root)
        self.store = Store(self.index_dir / "index.sqlite3")
        self._dim: int | None = None
        self.anns = AnnSpaces(self.store, self.index_dir, lambda: self.model_id, lambda: self.dim)
        self._pending_counts: dict[tuple[str, str], tuple[int, int]] = {}
        self._update_lock = threading.Lock()
        self._overlays: dict[str, bytes] = {}
        self._query_vectors = QueryVectors(self.store, lambda: self.embedder, lambda: self.dim)
        self._overlay_lock = threading.Lock()
        self.fingerprints = FingerprintTable(self.store)

    @property
    def model_id(self) -> str:
        return self.embedder.model_id

    @property
    def dim(self) -> int:
        """The ANN spaces' dimension: the configured Matryoshka one, or the model's (asked when first needed,
        so that an index can open and rescan while its model is still loading)."""
        if self._dim is None:
            full = self.embedder.dim
            dim = self.settings.dim or full
            if dim > full:
                raise ValueError(f"dim {dim} is larger than the model's {full}")
            self._dim = dim
        return self._dim

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self.store.close()

    def flush(self, *, due_only: bool = False) -> None:
        """Write the ANN spaces changed since their last save (``due_only``: after ANN_SAVE_INTERVAL_S).
        An edit never writes them itself: at 100k vectors a write takes half a second, which its lens
        should not wait for; the server flushes after it has answered, the command line on close."""
        self.anns.flush(due_only=due_only)

    def ann(self, space: str) -> AnnIndex:
        """The space's ANN index, synced with the store (see ``AnnSpaces.get``)."""
        return self.anns.get(space)

    def status(self, spaces: Sequence[str], *, with_pending: bool) -> IndexStatus:
        """Files and units indexed and, ``with_pending``, how many contents of ``spaces`` lack a vector."""
        pending = sum(self.pending_count(space) for space in spaces) if with_pending else None
        return IndexStatus(files=self.store.count_files(), units=self.store.count_units(), pending=pending)

    # -- updating ------------------------------------------------------------------------------

    def update(
        self,
        spaces: Sequence[str],
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> IndexSummary:
        """Bring files, units, the vectors of ``spaces`` and their ANN indexes up to date. Only the scan
        holds the update lock: an edit's ``update_paths`` (another thread) runs beside the embedding."""
        run = _Run(progress or (lambda phase, done, total: None), cancel)
        with self._update_lock:
            stored, changed_files = self._scan(run)
            backfill(self.store, run.check)
        return self._finish(spaces, stored, changed_files, run)

    def update_paths(
        self,
        paths: Sequence[str],
        spaces: Sequence[str],
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        on_stored: Callable[[], None] | None = None,
        embed: bool = True,
    ) -> IndexSummary:
        """Bring only ``paths`` up to date (an edited buffer, a saved file); much cheaper than ``update``.

        Only files the index already knows, or open buffers, are taken this way; anything else
        (a new file, a folder) may be ignored by .gitignore, so it falls back to a scan of the
        workspace. Either way only the units stored here are embedded (none without ``embed``: a
        full run is embedding beside it); what an earlier, cancelled run left waits for the next one.
        """
        run = _Run(progress or (lambda phase, done, total: None), cancel, stored=on_stored or (lambda: None))
        paths = [path for path in paths if name_problem(path) is None]  # never stored: see names.py
        with self._update_lock:
            known = self.store.files_named(paths)
            open_buffers = self._open_buffers()
            if any(path.endswith("/") or (path not in known and path not in open_buffers) for path in paths):
                stored, changed_files = self._scan(run)
                if embed:
                    return self._finish(spaces, stored, changed_files, run, only_stored=True)
                return self._summary(0, 0, changed_files, run)
            return self._update_known_paths(paths, spaces, known, open_buffers, run, embed)

    def _update_known_paths(
        self,
        paths: Sequence[str],
        spaces: Sequence[str],
        known: dict[str, StoredFile],
        open_buffers: set[str],
        run: _Run,
        embed: bool,
    ) -> IndexSummary:
        """``update_paths`` for files the index knows or open buffers. Only their units can have
        changed, so everything here costs lookups by hash, not scans of the whole store: an edit
        costs the same in a small or a huge workspace. Holds ``_update_lock``."""
        in_sync = {space for space in spaces if self.anns.in_sync(space)}
        with self.anns.as_is(in_sync):  # brought up to date at the end
            stored, changed_files, replaced = self._reparse_known(paths, known, open_buffers)
            if replaced:
                self.store.drop_unreferenced_texts(digest for _, digest in replaced)
            run.stored()  # syntactic clones are known now; the vectors may wait for the model
            if not embed:
                return self._summary(0, 0, changed_files, run)
            touched = set(stored) | replaced
            embedded, reused = self._embed_new(spaces, stored, run, all_pending=False)
            for space in spaces:  # after every write, so that each space is in sync with the last
                if space in in_sync:
                    self.anns.update(space, {digest for s, digest in touched if s == space})
                else:
                    self.ann(space)
        return self._summary(embedded, reused, changed_files, run)

    def _reparse_known(
        self, paths: Sequence[str], known: dict[str, StoredFile], open_buffers: set[str]
    ) -> tuple[list[tuple[str, str]], int, set[tuple[str, str]]]:
        """Re-parse or drop each of ``paths``. Returns the (space, hash) of each unit stored, how many
        files changed, and the (space, hash) of the units they held before."""
        stored: list[tuple[str, str]] = []
        changed_files = 0
        replaced: set[tuple[str, str]] = set()
        for path in dict.fromkeys(paths):
            try:
                stat = (self.root / path).stat()
                size, mtime_ns = stat.st_size, stat.st_mtime_ns
            except OSError:
                size = mtime_ns = -1
            before = self.store.unit_hashes_of_files([path])
            if size < 0 and path not in open_buffers:
                changed_files += self.store.remove_files([path])
                replaced |= before
                continue
            units = self._reparse(path, size, mtime_ns, known.get(path))
            if units is not None:
                changed_files += 1
                replaced |= before
                stored += units
        return stored, changed_files, replaced

    def _finish(
        self,
        spaces: Sequence[str],
        stored: list[tuple[str, str]],
        changed_files: int,
        run: _Run,
        *,
        only_stored: bool = False,
    ) -> IndexSummary:
        """Embed what is pending (or, with ``only_stored``, what ``stored`` lacks) and sync the ANN."""
        embedded, reused = self._embed_new(spaces, stored, run, all_pending=not only_stored)
        for space in spaces:  # after every write, so that each space is in sync with the last
            if (embedded or changed_files) and not only_stored:  # an edit beside it may hold spaces as-is
                self.anns.sync(space)
            else:
                self.ann(space)
        return self._summary(embedded, reused, changed_files, run)

    def _embed_new(
        self, spaces: Sequence[str], stored: list[tuple[str, str]], run: _Run, *, all_pending: bool
    ) -> tuple[int, int]:
        """Embed, per space, what the units ``stored`` lack (with ``all_pending``: everything pending).

        Returns (embedded, reused: units of ``stored`` whose content had a vector already and, with
        ``all_pending``, contents that an unfinished run embedded). One process at a time per index:
        a second one waits, then embeds only what the first left (``lock.py``)."""
        embedded = reused = 0
        with embedding_lock(self.index_dir, str(self.root), run.check):
            unreported: list[tuple[str, int]] = []
            for space in spaces:
                new_hashes = [digest for unit_space, digest in stored if unit_space == space]
                reused += self.store.count_embedded(self.model_id, space, new_hashes)
                carried, left = unreported_vectors(self.store, self.model_id, space)
                carried += len(left.difference(new_hashes))
                if all_pending:  # this run reports what unfinished ones stored
                    reused, carried = reused + carried, 0
                    pending = self.store.pending_hashes(self.model_id, space)
                else:  # the next full run does
                    pending = self.store.missing_vectors(self.model_id, space, new_hashes)
                embedded += self._embed(space, pending, run)
                unreported.append((space, carried))
            for space, count in unreported:  # only once nothing can stop the run before its summary
                mark_accounted(self.store, self.model_id, space, count)
        return embedded, reused

    def _summary(self, embedded: int, reused: int, changed_files: int, run: _Run) -> IndexSummary:
        return IndexSummary(
            files=self.store.count_files(),
            units=self.store.count_units(),
            embedded=embedded,
            reused=reused,
            seconds=round(time.perf_counter() - run.started, 3),
            changed_files=changed_files,
        )

    # -- open buffers --------------------------------------------------------------------------

    def set_overlay(self, path: str, data: bytes | None) -> None:
        """Index ``path`` from ``data`` (an unsaved buffer) instead of the disk; None: the disk again.

        The buffer's units are stored with an impossible stat, so once the overlay is gone
        the next scan re-reads the file from disk.
        """
        with self._overlay_lock:
            if data is None:
                self._overlays.pop(path, None)
            else:
                self._overlays[path] = data

    def _overlay(self, path: str) -> bytes | None:
        with self._overlay_lock:
            return self._overlays.get(path)

    def _open_buffers(self) -> set[str]:
        with self._overlay_lock:
            return set(self._overlays)

    def _scan(self, run: _Run) -> tuple[list[tuple[str, str]], int]:
        """Re-parse new and changed files, drop vanished ones; the (space, hash) of each unit stored
        and how many files changed."""
        known = self.store.files()
        found = indexable_files(self.root, self.settings)
        run.report("scan", len(found), len(found))
        changed, gone = stale_files(found, known, self._open_buffers())
        stored: list[tuple[str, str]] = []
        changed_files = 0
        for done, entry in enumerate(changed, start=1):
            run.check()
            units = self._reparse(entry.path, entry.size, entry.mtime_ns, known.get(entry.path))
            changed_files += units is not None
            stored += units or []
            if done % 20 == 0 or done == len(changed):
                run.report("parse", done, len(changed))
        if gone:
            self.store.remove_files(gone)
            log.info("removed %d files that are gone or now excluded", len(gone))
        if changed_files or gone:
            self.store.drop_unreferenced_texts()
        return stored, changed_files + len(gone)

    def _reparse(
        self, path: str, size: int, mtime_ns: int, previous: StoredFile | None
    ) -> list[tuple[str, str]] | None:
        """Store the units of one file; None when its content (and so its units) did not change."""
        data = self._overlay(path)
        if data is not None:
            size, mtime_ns = len(data), -1
        else:
            try:
                data = (self.root / path).read_bytes()
            except FileNotFoundError:
                log.info("%s vanished while scanning; dropped", path)
                return [] if self.store.remove_files([path]) else None
            except OSError as exc:
                log.warning("%s: not read (%s); keeping what the index had", path, exc.strerror or exc)
                return None
        file_hash = hashlib.blake2b(data, digest_size=16).hexdigest()
        if previous is not None and previous.hash == file_hash:
            if (previous.size, previous.mtime_ns) != (size, mtime_ns):
                self.store.touch_file(path, size, mtime_ns)
            return None
        problem = content_problem(data)
        if problem is not None:
            log.info("skipped %s: %s", path, problem)
        units = file_records(path, data) if problem is None else []
        if units is None:
            return None
        language = language_for_path(path)
        prints = fingerprints_for_file(self.store, language, data, units)
        self.store.replace_file(
            path,
            size=size,
            mtime_ns=mtime_ns,
            file_hash=file_hash,
            language=language,
            units=units,
            skipped=problem,
            fingerprints=prints,
        )
        return [(unit.space, content_hash(unit.text)) for unit in units]

    def _embed(self, space: str, pending: list[str], run: _Run) -> int:
        """Embed the texts of ``pending`` hashes as ``space``'s passages, committing chunk by chunk."""
        if not pending:
            return 0
        # Similar lengths batch with little padding; the texts themselves are read chunk by chunk
        # (all of them at once would hold ~100 MB for the whole run of a 100k-symbol index).
        lengths = self.store.text_lengths(pending)
        pending = sorted((digest for digest in pending if digest in lengths), key=lengths.__getitem__)
        task = PASSAGE_TASK[space]
        phase = f"embed {space}"
        run.report(phase, 0, len(pending))
        for start in range(0, len(pending), EMBED_CHUNK):
            run.check()
            texts = self.store.texts(pending[start : start + EMBED_CHUNK])
            chunk = [digest for digest in pending[start : start + EMBED_CHUNK] if digest in texts]
            vectors = self.embedder.embed([texts[h] for h in chunk], task=task, side="passage")
            self.store.add_vectors(self.model_id, space, chunk, vectors)
            release_freed_memory()
            run.report(phase, min(start + EMBED_CHUNK, len(pending)), len(pending))
        return len(pending)

    def pending_count(self, space: str) -> int:
        """How many distinct contents of ``space`` still wait for a vector; a scan of the space, so
        remembered until the store is written again (a client polling the status costs nothing)."""
        generation = self.store.generation
        known = self._pending_counts.get((self.model_id, space))
        if known is not None and known[0] == generation:
            return known[1]
        count = len(self.store.pending_hashes(self.model_id, space))
        self._pending_counts[(self.model_id, space)] = (generation, count)
        return count

    def query_vectors(self, texts: Sequence[str], task: Task) -> np.ndarray:
        """Query-side embeddings of ``texts``, at the index's dimension (see ``QueryVectors``)."""
        return self._query_vectors(texts, task)
