"""Indexing jobs: opening and closing a folder's index, its watcher, and the updates that keep it current.

Every job that writes an index runs on the server's one indexing thread. A full update
reports work-done progress and can be cancelled from the editor; path updates (an
edited buffer, a few files changed on disk) coalesce while one is running.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import pathspec
from lsprotocol import types

from lsp_server.config import DEFAULT_EXCLUDES
from lsp_server.embedding.status import identity_mismatch
from lsp_server.index.database import explain_fault
from lsp_server.index.indexer import Cancelled, IndexSummary, WorkspaceIndex
from lsp_server.server.folders import Folder
from lsp_server.server.progress import IndexProgress
from lsp_server.units.languages import language_for_path
from lsp_server.workspace.discovery import IGNORE_FILES
from lsp_server.workspace.watcher import DebouncedWatcher

if TYPE_CHECKING:
    from lsp_server.server.core import CodekinServer

log = logging.getLogger(__name__)

BURST_PATHS = 100
"""A batch of disk changes larger than this (a branch switch) is a full update with progress."""


def model_changed_under(index: WorkspaceIndex) -> bool:
    """Whether ``index`` runs on a model that loaded with another identity than it opened with."""
    return identity_mismatch(index.embedder) is not None


class IndexJobs:
    def __init__(self, server: CodekinServer) -> None:
        self.server = server

    # -- opening and closing -------------------------------------------------------------------------

    async def open_folder(self, folder: Folder) -> None:
        server = self.server
        if server.embedder is None:
            folder.error = server.embedder_problem or "no model"
            return
        try:
            folder.index = await server.in_index_thread(
                WorkspaceIndex, folder.root, folder.settings, server.embedder
            )
        except Exception as exc:  # whatever it is, the folder says so and no request waits for it
            folder.error = f"the index of {folder.root} could not be opened: {exc}"
            log.error("%s", folder.error, exc_info=exc)
            server.show(folder.error, types.MessageType.Error)
            return
        store = folder.index.store
        if store.moved_aside is not None:
            server.show(
                f"codekin: the index of {folder.root} was damaged; it was kept as {store.moved_aside} "
                "and is being rebuilt",
                types.MessageType.Warning,
            )
        if store.read_only:
            folder.error = f"the index at {store.path} is read-only: answers come from it, it is not updated"
            folder.last_update = time.time()
            server.show(f"codekin: {folder.error}", types.MessageType.Warning)
            return
        server.buffers.lay_overlays(folder)
        await self.start_watcher(folder)
        self.schedule_full(folder, "codekin: indexing")

    async def close_folder(self, folder: Folder) -> None:
        folder.cancel.set()
        folder.closed.set()
        if folder.watcher is not None:
            watcher, folder.watcher = folder.watcher, None
            await self.server.in_query_thread(watcher.stop)  # joins threads: not on the event loop
        for task in (folder.full_task, folder.paths_task):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if folder.index is not None:
            index, folder.index = folder.index, None
            await self.server.in_index_thread(index.close)

    async def start_watcher(self, folder: Folder) -> None:
        assert folder.index is not None
        ignored = _watch_filter(folder, folder.index)

        def on_batch(paths: set[str]) -> None:
            self.server.call_in_loop(self.disk_changed, folder, paths)

        folder.watcher = DebouncedWatcher(folder.root, on_batch, ignored=ignored)
        await self.server.in_query_thread(folder.watcher.start)  # one inotify watch per folder: can be slow
        if not folder.watcher.active:
            self.server.show(
                f"changes on disk under {folder.root} are not watched; run codekin.reindex after them"
            )

    def disk_changed(self, folder: Folder, paths: set[str]) -> None:
        if folder not in self.server.folders or folder.index is None:
            return
        log.info("%d paths changed on disk under %s", len(paths), folder.root)
        if len(paths) > BURST_PATHS or any(path.endswith("/") for path in paths):
            self.schedule_full(folder, "codekin: files changed on disk")
        else:
            self.schedule_paths(folder, paths)

    # -- full updates --------------------------------------------------------------------------------

    def schedule_full(self, folder: Folder, title: str) -> None:
        """A full update of ``folder``, with progress; one more after the running one if asked again."""
        if folder.full_task is not None and not folder.full_task.done():
            folder.full_again = True
            return
        folder.indexing = True
        folder.partial_told = False
        folder.full_task = self.server.spawn(self._full_updates(folder, title))

    async def _full_updates(self, folder: Folder, title: str) -> None:
        try:
            while not folder.closed.is_set():
                folder.full_again = False
                finished = await self._full_update(folder, title)
                with folder.lock:  # an edit checks ``indexing`` under it: none is left unembedded
                    # Edits' vectors wait for a run that finishes, never restart a cancelled or failed one.
                    again = folder.full_again or (finished and bool(folder.unembedded_paths))
                    folder.unembedded_paths = set()  # the next run embeds what they stored
                    if not again or folder not in self.server.folders:
                        folder.indexing = False
                        return
        finally:
            folder.indexing = False

    async def _full_update(self, folder: Folder, title: str) -> bool:
        """One full update with progress; whether it ran to its end."""
        index = folder.index
        if index is None:
            return False
        folder.cancel = cancel = threading.Event()
        spaces = tuple(folder.settings.spaces)
        progress = IndexProgress(self.server, f"{title} {folder.root.name}", spaces)
        await progress.begin(cancel)
        report = progress.threadsafe_reporter(asyncio.get_running_loop())
        try:
            summary = await self.server.in_index_thread(index.update, spaces, report, cancel)
        except Cancelled:
            progress.end("cancelled; what was indexed so far is kept")
            log.info("indexing of %s cancelled", folder.root)
            return False
        except Exception as exc:
            self._full_update_failed(folder, index, progress, exc)
            return False
        progress.end(
            f"{summary.files} files, {summary.units} units: "
            f"{summary.embedded} embedded, {summary.reused} reused"
        )
        self.finished(folder, summary)
        return True

    def _full_update_failed(
        self, folder: Folder, index: WorkspaceIndex, progress: IndexProgress, exc: Exception
    ) -> None:
        if model_changed_under(index):
            progress.end("the model loaded with another identity; indexing again under it")
            return
        explained = explain_fault(exc, index.index_dir, index.store.count_vectors)
        progress.end(f"failed: {explained or exc}")
        folder.error = explained or f"indexing {folder.root} failed: {exc}"
        log.error("indexing of %s failed", folder.root, exc_info=exc)
        self.server.show(folder.error, types.MessageType.Error)

    # -- path updates --------------------------------------------------------------------------------

    def schedule_paths(self, folder: Folder, paths: Iterable[str]) -> None:
        """Update only ``paths`` (an edited buffer, a few files changed on disk), coalescing bursts."""
        if folder.closed.is_set() or (folder.index is not None and folder.index.store.read_only):
            return  # closing (nothing may write under it), or read-only (said once when it opened)
        with folder.lock:
            folder.pending_paths.update(paths)
        if folder.paths_task is None or folder.paths_task.done():
            folder.paths_task = self.server.spawn(self._path_updates(folder))

    async def _path_updates(self, folder: Folder) -> None:
        index = folder.index
        if index is None:
            return

        def job() -> IndexSummary | None:
            return self._take_paths(folder, index)

        while folder.pending_paths and folder.index is index and not folder.closed.is_set():
            try:
                summary = await self.server.in_edit_thread(job)
            except Cancelled:
                return
            except Exception:
                if model_changed_under(index):  # re-opened under the real identity meanwhile
                    log.info("updating files of %s stopped: the model's identity changed", folder.root)
                else:
                    log.exception("updating files of %s failed", folder.root)
                return
            if summary is not None:
                self.finished(folder, summary)  # the lens refresh goes out before the write below
                await self.server.in_edit_thread(functools.partial(index.flush, due_only=True))

    def _take_paths(self, folder: Folder, index: WorkspaceIndex) -> IndexSummary | None:
        """Update the paths queued for ``folder`` (on the edit thread, beside a full update's embedding);
        None when there were none. Lenses refresh once the units are stored, before their embedding:
        syntactic clones need no model."""
        with folder.lock:
            taken, folder.pending_paths = sorted(folder.pending_paths), set()
            embed = not folder.indexing  # else its embedding would wait turns with the full run's
            if not embed:
                folder.unembedded_paths.update(taken)
        if not taken:
            return None
        stored = functools.partial(self.server.call_in_loop, self.server.events.index_changed.emit, [folder])
        spaces = tuple(folder.settings.spaces)
        return index.update_paths(taken, spaces, None, folder.closed, on_stored=stored, embed=embed)

    def finished(self, folder: Folder, summary: IndexSummary) -> None:
        folder.last_update = time.time()
        folder.last_summary = summary
        folder.error = None
        log.info(
            "%s: %d files, %d units, %d embedded, %d reused, %d files changed in %.2f s",
            *(folder.root, summary.files, summary.units, summary.embedded, summary.reused),
            *(summary.changed_files, summary.seconds),
        )
        if summary.changed_files or summary.embedded:
            self.server.events.index_changed.emit([folder])


def _watch_filter(folder: Folder, index: WorkspaceIndex) -> Callable[[str], bool]:
    """What the watcher drops before it costs a batch: the index itself, excludes, files of no language.

    A cheap first cut (a pip install into .venv, node_modules churn); discovery has the last word.
    """
    index_dir = folder.relative(index.index_dir.resolve())
    excluded = pathspec.GitIgnoreSpec.from_lines([*DEFAULT_EXCLUDES, *folder.settings.exclude])

    def ignored(rel: str) -> bool:
        if index_dir is not None and (rel == index_dir or rel.startswith(index_dir + "/")):
            return True
        if excluded.match_file(rel):
            return True
        if rel.endswith("/") or rel.rsplit("/", 1)[-1] in IGNORE_FILES:
            return False
        return language_for_path(rel) is None

    return ignored
