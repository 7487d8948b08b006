"""The incremental indexer: files → units → pending content hashes → vectors → ANN spaces.

Only what changed is re-read (size and mtime first, then the bytes' hash), only
content hashes never embedded with this model are embedded, and every step
commits as it goes, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

from lsp_server.config import Settings
from lsp_server.embedding.base import Embedder, Task, truncate_dim
from lsp_server.index.ann import AnnIndex
from lsp_server.index.planner import units_for_file
from lsp_server.index.store import Store, StoredFile, content_hash
from lsp_server.memory import release_freed_memory
from lsp_server.units.extract import extract
from lsp_server.units.languages import language_for_path
from lsp_server.workspace.discovery import Skipped, content_problem, discover

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""(phase, done, total): phases are "scan", "parse" and "embed <space>"."""

PASSAGE_TASK: dict[str, Task] = {"code": "code2code", "docs": "code2nl", "completions": "code2completion"}
"""The task whose passage side embeds each space (nl2code shares code2code's passages)."""

QUERY_CACHE_SIZE = 256
"""Query embeddings remembered per index: asking about the same symbol again costs nothing."""

EMBED_CHUNK = int(os.environ.get("CODEKIN_EMBED_CHUNK", "256"))
"""Texts per committed embedding step: small enough that an interruption loses little."""

ANN_SAVE_INTERVAL_S = 30.0
"""How long a synced ANN space may wait before it is written again. The saved file is a cache: one
that missed the last edits is re-synced from the store when it is loaded, and vector ids are never
reused, so waiting is safe; writing the whole HNSW file after every keystroke's update is not cheap."""


class Cancelled(Exception):
    """Raised by ``update`` when its cancel event is set; what was committed stays."""


@dataclass
class IndexSummary:
    files: int
    units: int
    embedded: int
    reused: int
    seconds: float
    changed_files: int = 0
    """Files whose units were replaced or removed by this update."""

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def default_index_dir(root: Path) -> Path:
    """The user cache folder for a workspace: readable name plus a hash of its absolute path."""
    root = root.resolve()
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", root.name)[:40] or "root"
    digest = hashlib.sha1(str(root).encode()).hexdigest()[:12]
    return Path(platformdirs.user_cache_dir("codekin")) / "workspaces" / f"{slug}-{digest}"


class WorkspaceIndex:
    """A workspace's store, its ANN spaces and the embedder that fills them."""

    def __init__(self, root: Path, settings: Settings, embedder: Embedder) -> None:
        self.root = root.resolve()
        self.settings = settings
        self.embedder = embedder
        self.index_dir = Path(settings.index_dir) if settings.index_dir else default_index_dir(self.root)
        self.store = Store(self.index_dir / "index.sqlite3")
        self._dim: int | None = None
        self._anns: dict[str, AnnIndex] = {}
        self._ann_generation: dict[str, int] = {}
        self._ann_unsaved: dict[str, dict[str, Any]] = {}
        self._ann_saved_at: dict[str, float] = {}
        self._ann_lock = threading.Lock()
        self._ann_as_is: frozenset[str] = frozenset()
        self._pending_counts: dict[tuple[str, str], tuple[int, int]] = {}
        self._update_lock = threading.Lock()
        self._overlays: dict[str, bytes] = {}
        self._query_cache: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._query_cache_lock = threading.Lock()
        self._overlay_lock = threading.Lock()

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
        """Write the ANN spaces that changed since they were last saved (with ``due_only``, those
        whose ANN_SAVE_INTERVAL_S has passed). An edit never writes them itself: at 100k vectors a
        write takes half a second, which the edit's lens should not wait for; the server flushes
        after it has answered, the command line on close."""
        with self._ann_lock:
            for space in list(self._ann_unsaved):
                self._save_ann(space, force=not due_only)

    # -- updating ------------------------------------------------------------------------------

    def update(
        self,
        spaces: Sequence[str],
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> IndexSummary:
        """Bring files, units, the vectors of ``spaces`` and their ANN indexes up to date."""
        started = time.perf_counter()
        report = progress or (lambda phase, done, total: None)
        with self._update_lock:
            stored, changed_files = self._scan(report, cancel)
            return self._finish(spaces, stored, changed_files, started, report, cancel)

    def update_paths(
        self,
        paths: Sequence[str],
        spaces: Sequence[str],
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> IndexSummary:
        """Bring only ``paths`` up to date (an edited buffer, a saved file); much cheaper than ``update``.

        Only files the index already knows, or open buffers, are taken this way; anything else
        (a new file, a folder) may be ignored by .gitignore, so it falls back to a scan of the
        workspace. Either way only the units stored here are embedded: what an earlier, cancelled
        run left pending waits for the next full ``update``.
        """
        started = time.perf_counter()
        report = progress or (lambda phase, done, total: None)
        with self._update_lock:
            known = self.store.files_named(paths)
            with self._overlay_lock:
                open_buffers = set(self._overlays)
            if any(path.endswith("/") or (path not in known and path not in open_buffers) for path in paths):
                stored, changed_files = self._scan(report, cancel)
                return self._finish(spaces, stored, changed_files, started, report, cancel, only_stored=True)
            return self._update_known_paths(paths, spaces, known, open_buffers, started, report, cancel)

    def _update_known_paths(
        self,
        paths: Sequence[str],
        spaces: Sequence[str],
        known: dict[str, StoredFile],
        open_buffers: set[str],
        started: float,
        report: Progress,
        cancel: threading.Event | None,
    ) -> IndexSummary:
        """``update_paths`` for files the index knows or open buffers. Only their units can have
        changed, so everything here costs lookups by hash, not scans of the whole store: an edit
        costs the same in a small or a huge workspace. Holds ``_update_lock``."""
        in_sync = {space for space in spaces if self._ann_in_sync(space)}
        # Meanwhile a query takes these spaces' ANN indexes as they are (what is indexed so far)
        # instead of re-syncing them with a scan; they are brought up to date at the end.
        self._ann_as_is = frozenset(in_sync)
        try:
            stored: list[tuple[str, str]] = []
            changed_files, replaced = 0, set()
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
            if replaced:
                self.store.drop_unreferenced_texts(digest for _, digest in replaced)
            touched = {(space, digest) for space, digest in stored} | replaced
            embedded = reused = 0
            for space in spaces:
                new_hashes = [digest for unit_space, digest in stored if unit_space == space]
                reused += self.store.count_embedded(self.model_id, space, new_hashes)
                missing = self.store.missing_vectors(self.model_id, space, new_hashes)
                embedded += self._embed(space, missing, report, cancel)
            for space in spaces:  # after every write, so that each space is in sync with the last
                if space in in_sync:
                    self._update_ann(space, {digest for s, digest in touched if s == space})
                else:
                    self.ann(space)
        finally:
            self._ann_as_is = frozenset()
        return self._summary(embedded, reused, changed_files, started)

    def _finish(
        self,
        spaces: Sequence[str],
        stored: list[tuple[str, str]],
        changed_files: int,
        started: float,
        report: Progress,
        cancel: threading.Event | None,
        *,
        only_stored: bool = False,
    ) -> IndexSummary:
        """Embed what is pending (or, with ``only_stored``, what ``stored`` lacks) and sync the ANN."""
        embedded = reused = 0
        for space in spaces:
            new_hashes = [digest for unit_space, digest in stored if unit_space == space]
            reused += self.store.count_embedded(self.model_id, space, new_hashes)
            if only_stored:
                pending = self.store.missing_vectors(self.model_id, space, new_hashes)
            else:
                pending = self.store.pending_hashes(self.model_id, space)
            embedded += self._embed(space, pending, report, cancel)
        for space in spaces:  # after every write, so that each space is in sync with the last
            self.ann(space)
        return self._summary(embedded, reused, changed_files, started)

    def _summary(self, embedded: int, reused: int, changed_files: int, started: float) -> IndexSummary:
        return IndexSummary(
            files=self.store.count_files(),
            units=self.store.count_units(),
            embedded=embedded,
            reused=reused,
            seconds=round(time.perf_counter() - started, 3),
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

    def _scan(self, report: Progress, cancel: threading.Event | None) -> tuple[list[tuple[str, str]], int]:
        """Re-parse new and changed files, drop vanished ones.

        Returns the (space, hash) of each unit stored and how many files changed."""
        known = self.store.files()
        found = list(
            discover(
                self.root,
                self.settings,
                wanted=lambda rel: language_for_path(rel) is not None,
                on_skip=_log_skip,
            )
        )
        report("scan", len(found), len(found))
        with self._overlay_lock:
            open_buffers = set(self._overlays)
        changed = [
            f
            for f in found
            if (k := known.get(f.path)) is None
            or (k.size, k.mtime_ns) != (f.size, f.mtime_ns)
            or f.path in open_buffers
        ]
        seen = {f.path for f in found}
        stored: list[tuple[str, str]] = []
        changed_files = 0
        for done, entry in enumerate(changed, start=1):
            if cancel is not None and cancel.is_set():
                raise Cancelled
            units = self._reparse(entry.path, entry.size, entry.mtime_ns, known.get(entry.path))
            changed_files += units is not None
            stored += units or []
            if done % 20 == 0 or done == len(changed):
                report("parse", done, len(changed))
        gone = [path for path in known if path not in seen and path not in open_buffers]
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
        language = language_for_path(path)
        problem = content_problem(data)
        if problem is not None:
            log.info("skipped %s: %s", path, problem)
            self.store.replace_file(
                path, size=size, mtime_ns=mtime_ns, file_hash=file_hash, language=language, units=[],
                skipped=problem,
            )  # fmt: skip
            return []
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            log.info("%s: invalid UTF-8 at byte %d; undecodable bytes replaced", path, exc.start)
        try:
            file_units = extract(path, data)
        except Exception:  # a bug in one grammar's handling must not stop the whole index
            log.exception("%s: extraction failed; file left out", path)
            return None
        units = []
        if file_units is not None:
            for warning in file_units.warnings:
                log.info("%s: %s", path, warning)
            lines = data.decode("utf-8", errors="replace").splitlines()
            units = units_for_file(file_units, lines)
        self.store.replace_file(
            path, size=size, mtime_ns=mtime_ns, file_hash=file_hash, language=language, units=units
        )
        return [(unit.space, content_hash(unit.text)) for unit in units]

    def _embed(self, space: str, pending: list[str], report: Progress, cancel: threading.Event | None) -> int:
        """Embed the texts of ``pending`` hashes as ``space``'s passages, committing chunk by chunk."""
        if not pending:
            return 0
        # Similar lengths batch with little padding; the texts themselves are read chunk by chunk
        # (all of them at once would hold ~100 MB for the whole run of a 100k-symbol index).
        lengths = self.store.text_lengths(pending)
        pending = sorted((digest for digest in pending if digest in lengths), key=lengths.__getitem__)
        task = PASSAGE_TASK[space]
        phase = f"embed {space}"
        report(phase, 0, len(pending))
        for start in range(0, len(pending), EMBED_CHUNK):
            if cancel is not None and cancel.is_set():
                raise Cancelled
            texts = self.store.texts(pending[start : start + EMBED_CHUNK])
            chunk = [digest for digest in pending[start : start + EMBED_CHUNK] if digest in texts]
            vectors = self.embedder.embed([texts[h] for h in chunk], task=task, side="passage")
            self.store.add_vectors(self.model_id, space, chunk, vectors)
            release_freed_memory()
            report(phase, min(start + EMBED_CHUNK, len(pending)), len(pending))
        return len(pending)

    # -- ANN spaces ----------------------------------------------------------------------------

    def ann_path(self, space: str) -> Path:
        model = hashlib.sha1(self.model_id.encode()).hexdigest()[:12]
        return self.index_dir / f"{space}-{model}-{self.dim}.hnsw"

    def ann(self, space: str) -> AnnIndex:
        """The space's ANN index, loaded or rebuilt from stored vectors and synced with the store.

        Syncing costs a scan of the space's vector ids, so it happens only when the store
        was written since the last sync.
        """
        ann = self._anns.get(space)
        if ann is not None and (
            space in self._ann_as_is or self._ann_generation.get(space) == self.store.generation
        ):
            return ann
        with self._ann_lock:
            generation = self.store.generation
            ann = self._anns.get(space)
            if ann is not None and self._ann_generation.get(space) == generation:
                return ann
            path = self.ann_path(space)
            expect = self._ann_meta(space)
            if ann is None:
                ann = AnnIndex.load(path, expect) or AnnIndex(self.dim)
                self._anns[space] = ann
            live = self.store.live_vector_ids(self.model_id, space)
            added, removed = ann.sync(live, self.store.vectors_by_id)
            if added or removed or not path.exists():
                self._ann_unsaved[space] = expect
            self._save_ann(space, force=not path.exists())
            self._ann_generation[space] = generation
            return ann

    def _ann_in_sync(self, space: str) -> bool:
        """Whether ``space``'s ANN index is loaded and matches the store as it is now."""
        return space in self._anns and self._ann_generation.get(space) == self.store.generation

    def _update_ann(self, space: str, hashes: set[str]) -> None:
        """Bring an in-sync ANN index up to date after a change that touched only ``hashes``."""
        with self._ann_lock:
            ann = self._anns[space]
            live, dead = self.store.vector_liveness(self.model_id, space, hashes)
            added, removed = ann.update(live, dead, self.store.vectors_by_id)
            if added or removed:
                self._ann_unsaved[space] = self._ann_meta(space)
            self._ann_generation[space] = self.store.generation

    def resync_anns(self, spaces: Sequence[str]) -> None:
        """Re-sync ``spaces`` with a scan of all their live vectors (what a full update ends with);
        the baseline of bench/edit_cost.py."""
        for space in spaces:
            self._ann_generation.pop(space, None)
            self.ann(space)

    def _save_ann(self, space: str, *, force: bool) -> None:
        """Save ``space`` if it changed and ``force`` or ANN_SAVE_INTERVAL_S passed; holds ``_ann_lock``."""
        expect = self._ann_unsaved.get(space)
        if expect is None:
            return
        now = time.monotonic()
        if not force and now - self._ann_saved_at.get(space, -ANN_SAVE_INTERVAL_S) < ANN_SAVE_INTERVAL_S:
            return
        try:
            self._anns[space].save(self.ann_path(space), expect)
        except OSError as exc:  # the file is a cache: say so, and try again at the next change
            log.warning("could not save the %s ANN index to %s: %s", space, self.ann_path(space), exc)
            self._ann_saved_at[space] = now
            return
        self._ann_saved_at[space] = now
        del self._ann_unsaved[space]

    def _ann_meta(self, space: str) -> dict[str, Any]:
        """What a saved ANN file must have been made for to be loaded for ``space``."""
        return {"store_id": self.store.store_id, "model": self.model_id, "space": space, "dim": self.dim}

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
        """Query-side embeddings of ``texts``, at the index's dimension.

        Where the model gives a task's queries and passages the same prefix (minilm: none),
        the query vector of a text already embedded as a passage of that task *is* the stored
        vector, so it is read instead of computed; recent queries are remembered too.
        """
        out: list[np.ndarray | None] = [self._query_cache.get((task, text)) for text in texts]
        missing = [i for i, vector in enumerate(out) if vector is None]
        space = next((s for s, passage_task in PASSAGE_TASK.items() if passage_task == task), None)
        if (
            missing
            and space is not None
            and self.embedder.prefix(task, "query") == self.embedder.prefix(task, "passage")
        ):
            hashes = {i: content_hash(texts[i]) for i in missing}
            stored = self.store.vectors_for_hashes(self.model_id, space, list(hashes.values()))
            for i, digest in hashes.items():
                if digest in stored:
                    out[i] = truncate_dim(stored[digest][None, :], self.dim)[0]
            missing = [i for i in missing if out[i] is None]
        if missing:
            fresh = self.embedder.embed([texts[i] for i in missing], task=task, side="query", dim=self.dim)
            for i, vector in zip(missing, fresh, strict=True):
                out[i] = vector
        with self._query_cache_lock:
            for text, vector in zip(texts, out, strict=True):
                if vector is not None:
                    self._query_cache[(task, text)] = vector
                    self._query_cache.move_to_end((task, text))
            while len(self._query_cache) > QUERY_CACHE_SIZE:
                self._query_cache.popitem(last=False)
        return np.stack([v for v in out if v is not None]).astype(np.float32, copy=False)


def _log_skip(skipped: Skipped) -> None:
    log.info("skipped %s: %s", skipped.path, skipped.reason)
