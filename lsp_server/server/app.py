"""The codekin language server: state, background indexing and the glue between features and the engine.

Threads: the event loop only routes messages. One indexing thread runs every job
that writes the index (model loads, full updates, a buffer's or a file's update),
one after another, so they never race. A small pool answers queries; the
:class:`PriorityEmbedder` lets their embeddings overtake bulk indexing.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote

import pathspec
from lsprotocol import types
from pygls.lsp.server import LanguageServer

from lsp_server import __version__
from lsp_server.config import DEFAULT_EXCLUDES, Settings, load_settings
from lsp_server.embedding import WORKER_ENV, load_embedder
from lsp_server.embedding.base import Embedder, EmbeddingError
from lsp_server.embedding.deferred import DeferredEmbedder
from lsp_server.embedding.identity import Identity, IdentityCache, identity_key
from lsp_server.embedding.priority import PriorityEmbedder
from lsp_server.index.indexer import Cancelled, IndexSummary, WorkspaceIndex, default_index_dir
from lsp_server.server.folders import Folder, folder_for, path_of_uri
from lsp_server.server.options import RELOAD_KEYS, ServerOptions, parse_options
from lsp_server.server.progress import IndexProgress
from lsp_server.server.protocol import CodekinProtocol
from lsp_server.units.languages import language_for_path
from lsp_server.workspace.discovery import IGNORE_FILES
from lsp_server.workspace.watcher import DebouncedWatcher

log = logging.getLogger(__name__)

T = TypeVar("T")

BURST_PATHS = 100
"""A batch of disk changes larger than this (a branch switch) is a full update with progress."""

SETTINGS_THAT_RESCAN = (
    "include",
    "exclude",
    "max_file_bytes",
    "follow_symlinks",
    "spaces",
    "index_dir",
    "dim",
)


@dataclass(frozen=True)
class Located:
    """A document position resolved against the workspace: its folder, path, and buffer text if open."""

    folder: Folder
    path: str
    text: str | None


class CodekinServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("codekin", __version__, protocol_cls=CodekinProtocol)
        self.options = ServerOptions()
        self.init_options: Any = None
        self.embedder: PriorityEmbedder | None = None
        self.embedder_problem: str | None = None
        self.identities = IdentityCache()
        self.folders: list[Folder] = []
        self.index_pool = ThreadPoolExecutor(1, thread_name_prefix="codekin-index")
        self.query_pool = ThreadPoolExecutor(2, thread_name_prefix="codekin-query")
        self.loader_pool = ThreadPoolExecutor(1, thread_name_prefix="codekin-model")
        self.loop: asyncio.AbstractEventLoop | None = None
        self.started = False
        self.ready_event: asyncio.Event | None = None
        self._apply_lock: asyncio.Lock | None = None
        self._debounce: dict[str, asyncio.TimerHandle] = {}
        self.edited: set[str] = set()
        self.diagnosed: set[str] = set()
        """URIs that have codekin diagnostics on the client, to clear when the feature is switched off."""
        """URIs of buffers changed since they were opened or saved: their text, not the disk's, is indexed."""
        self._tasks: set[asyncio.Task[Any]] = set()
        self.shutting_down = False
        self.reconfiguring = False
        """Settings are being applied (a model may be loading): the status says indexing."""

    # -- running work ------------------------------------------------------------------------------

    async def in_index_thread(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.index_pool, fn, *args)

    async def in_query_thread(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.query_pool, fn, *args)

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        """Run ``coro`` in the background, keeping a reference and logging its failure."""
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)

        def done(finished: asyncio.Task[Any]) -> None:
            self._tasks.discard(finished)
            if not finished.cancelled() and (exc := finished.exception()) is not None:
                log.error("background task failed: %r", exc, exc_info=exc)

        task.add_done_callback(done)
        return task

    def show(self, message: str, kind: types.MessageType = types.MessageType.Warning) -> None:
        log.warning("%s", message) if kind <= types.MessageType.Warning else log.info("%s", message)
        self.window_show_message(types.ShowMessageParams(type=kind, message=f"codekin: {message}"))

    # -- start-up and configuration ------------------------------------------------------------------

    async def start(self) -> None:
        """On ``initialized``: read the client's settings, load the model, index every folder."""
        self.loop = asyncio.get_running_loop()
        self.ready_event = asyncio.Event()
        self._apply_lock = asyncio.Lock()
        self.started = True
        options = await self.pull_options()
        await self.apply(options, [])

    async def pull_options(self) -> tuple[ServerOptions, list[str]]:
        """initializationOptions, overlaid with workspace/configuration where the client has it."""
        raw: dict[str, Any] = {}
        if isinstance(self.init_options, dict):
            raw.update(self.init_options.get("codekin", self.init_options))
        workspace = self.client_capabilities.workspace
        if workspace is not None and workspace.configuration:
            try:
                pulled = await self.workspace_configuration_async(
                    types.ConfigurationParams(items=[types.ConfigurationItem(section="codekin")])
                )
                if pulled and isinstance(pulled[0], dict):
                    raw.update(pulled[0])
            except Exception as exc:
                log.info("workspace/configuration failed (%s); using initializationOptions", exc)
        return parse_options(raw, "codekin settings")

    async def apply(
        self,
        parsed: tuple[ServerOptions, list[str]],
        extra_problems: list[str],
        *,
        loaded: Embedder | None = None,
    ) -> None:
        """Make ``options`` current: reload the model if it changed, re-index what the change affects."""
        assert self._apply_lock is not None
        options, problems = parsed
        async with self._apply_lock:
            self.reconfiguring = True
            try:
                await self._apply(options, problems + extra_problems, loaded)
            finally:
                self.reconfiguring = False

    async def _apply(
        self, options: ServerOptions, problems: list[str], loaded: Embedder | None = None
    ) -> None:
        previous, self.options = self.options, options
        folder_specs = self.workspace_folder_specs()
        settings_of = await self.in_query_thread(self._folder_settings, folder_specs, problems)
        for problem in list(problems):
            self.show(f"{problem}; the default is used")
        reload = (
            loaded is not None
            or self.embedder is None
            or previous.embedder_spec != options.embedder_spec
            or any(previous.engine.get(key) != options.engine.get(key) for key in RELOAD_KEYS)
        )
        retired = None
        if reload:
            for folder in self.folders:
                folder.cancel.set()
            # The model loads on its own thread; folders open and rescan meanwhile (DeferredEmbedder),
            # and with the identity the model had the last time, they answer from stored vectors too.
            if loaded is not None:  # already loaded (its identity changed): wrap it, do not load again
                ready: Future[Embedder] = Future()
                ready.set_result(loaded)
                deferred = DeferredEmbedder(ready)
            else:
                key = self.identity_key(options)
                loading = self.loader_pool.submit(self._load_embedder, options, key)
                deferred = DeferredEmbedder(loading, self.identities.get(key))
                loading.add_done_callback(lambda _: self.call_in_loop(self.model_loaded, deferred))
            retired, self.embedder = self.embedder, PriorityEmbedder(deferred)
        changed: list[Folder] = []
        kept: list[Folder] = []
        for uri, root in folder_specs:
            settings = settings_of[uri]
            existing = next((f for f in self.folders if f.uri == uri), None)
            if existing is None or reload or _rescan_needed(existing.settings, settings):
                if existing is not None:
                    await self.close_folder(existing)
                folder = Folder(uri=uri, root=root, settings=settings)
                changed.append(folder)
            else:
                folder = existing
                folder.settings = settings
            kept.append(folder)
        for folder in self.folders:
            if folder not in kept:
                await self.close_folder(folder)
        self.folders = kept
        if retired is not None:  # its folders are closed: nothing uses it any more
            await self.in_index_thread(retired.close)
        for folder in changed:
            await self.open_folder(folder)
        assert self.ready_event is not None
        self.ready_event.set()
        if not changed and previous != options:
            self.index_changed(self.folders)

    def workspace_folder_specs(self) -> list[tuple[str, Path]]:
        specs = []
        for workspace_folder in self.workspace.folders.values():
            path = path_of_uri(workspace_folder.uri)
            if path is not None:
                specs.append((workspace_folder.uri, path))
        if not specs and self.workspace.root_uri:
            path = path_of_uri(self.workspace.root_uri)
            if path is not None:
                specs.append((self.workspace.root_uri, path))
        return specs

    def _folder_settings(self, specs: list[tuple[str, Path]], problems: list[str]) -> dict[str, Settings]:
        """Each folder's settings: its config files under the client's. A client ``indexDir`` holds one
        subfolder per workspace folder, so that folders never share (and so prune) one store."""
        engine = dict(self.options.engine)
        parent = engine.pop("index_dir", None)
        out = {}
        for uri, root in specs:
            settings = load_settings(root, engine, "codekin settings", problems)
            if parent is not None:
                own = str(Path(parent) / default_index_dir(root).name)
                settings = settings.merged({"index_dir": own}, "indexDir")
            out[uri] = settings
        return out

    def identity_key(self, options: ServerOptions) -> str:
        spec = options.embedder_spec
        return identity_key(
            spec=spec,
            device=options.engine.get("device"),
            batch_tokens=options.engine.get("batch_tokens"),
            workers=os.environ.get(WORKER_ENV) if spec == "auto" else None,
        )

    @staticmethod
    def model_changed_under(index: WorkspaceIndex) -> bool:
        """Whether ``index`` runs on a model that loaded with another identity than it opened with."""
        inner = getattr(index.embedder, "inner", None)
        return isinstance(inner, DeferredEmbedder) and inner.mismatch() is not None

    def model_loaded(self, deferred: DeferredEmbedder) -> None:
        """A model loaded with another identity than remembered: re-open the index under its own."""
        if self.embedder is None or self.embedder.inner is not deferred or self.shutting_down:
            return
        problem = deferred.mismatch()
        if problem is not None:
            self.show(f"{problem}: re-opening the index under it", types.MessageType.Info)
            self.spawn(self.apply((self.options, []), [], loaded=deferred.hand_over()))

    def _load_embedder(self, options: ServerOptions, key: str | None = None) -> Embedder:
        from lsp_server.cli import quiet_transformers

        quiet_transformers()
        spec = options.embedder_spec
        device = options.engine.get("device")
        batch_tokens = options.engine.get("batch_tokens")
        self.embedder_problem = None
        try:
            inner = load_embedder(spec, device, batch_tokens=batch_tokens)
        except (EmbeddingError, OSError, ValueError) as exc:
            self.embedder_problem = f"model {spec!r} could not be loaded ({exc})"
            self.call_in_loop(self.show, f"{self.embedder_problem}; using the embedded default instead")
            try:
                inner = load_embedder("auto", None)
            except (EmbeddingError, OSError, ValueError) as fallback_exc:
                self.embedder_problem += f"; the default failed too ({fallback_exc})"
                self.call_in_loop(self.show, self.embedder_problem, types.MessageType.Error)
                raise EmbeddingError(self.embedder_problem) from fallback_exc
        log.info("model %s on %s (%s)", inner.model_id, inner.device, inner.selection_reason)
        if key is not None:
            self.identities.put(key, Identity.of(inner))
        return inner

    def call_in_loop(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn`` on the event loop from any thread."""
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(fn, *args)

    # -- folders -----------------------------------------------------------------------------------

    async def open_folder(self, folder: Folder) -> None:
        if self.embedder is None:
            folder.error = self.embedder_problem or "no model"
            return
        embedder = self.embedder
        try:
            folder.index = await self.in_index_thread(WorkspaceIndex, folder.root, folder.settings, embedder)
        except (OSError, ValueError, RuntimeError) as exc:
            folder.error = f"the index of {folder.root} could not be opened: {exc}"
            self.show(folder.error, types.MessageType.Error)
            return
        for uri in self.edited:
            located = folder_for([folder], uri)
            document = self.workspace.text_documents.get(unquote(uri))
            if located is not None and document is not None:
                folder.index.set_overlay(located[1], document.source.encode("utf-8", "surrogatepass"))
        await self.start_watcher(folder)
        self.schedule_full(folder, "codekin: indexing")

    async def close_folder(self, folder: Folder) -> None:
        folder.cancel.set()
        folder.closed.set()
        if folder.watcher is not None:
            watcher, folder.watcher = folder.watcher, None
            await self.in_query_thread(watcher.stop)  # joins threads: not on the event loop
        for task in (folder.full_task, folder.paths_task):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if folder.index is not None:
            index, folder.index = folder.index, None
            await self.in_index_thread(index.close)

    async def start_watcher(self, folder: Folder) -> None:
        index = folder.index
        assert index is not None
        index_dir = folder.relative(index.index_dir.resolve())
        # Cheap first cut (a pip install into .venv, node_modules churn); discovery has the last word.
        excluded = pathspec.GitIgnoreSpec.from_lines([*DEFAULT_EXCLUDES, *folder.settings.exclude])

        def ignored(rel: str) -> bool:
            if index_dir is not None and (rel == index_dir or rel.startswith(index_dir + "/")):
                return True
            if excluded.match_file(rel):
                return True
            if rel.endswith("/") or rel.rsplit("/", 1)[-1] in IGNORE_FILES:
                return False
            return language_for_path(rel) is None

        def on_batch(paths: set[str]) -> None:
            self.call_in_loop(self.disk_changed, folder, paths)

        folder.watcher = DebouncedWatcher(folder.root, on_batch, ignored=ignored)
        await self.in_query_thread(folder.watcher.start)  # one inotify watch per folder: can take a while
        if not folder.watcher.active:
            self.show(f"changes on disk under {folder.root} are not watched; run codekin.reindex after them")

    def disk_changed(self, folder: Folder, paths: set[str]) -> None:
        if folder not in self.folders or folder.index is None:
            return
        log.info("%d paths changed on disk under %s", len(paths), folder.root)
        if len(paths) > BURST_PATHS or any(path.endswith("/") for path in paths):
            self.schedule_full(folder, "codekin: files changed on disk")
        else:
            self.schedule_paths(folder, paths)

    # -- indexing jobs -------------------------------------------------------------------------------

    def spaces(self, folder: Folder) -> tuple[str, ...]:
        return tuple(folder.settings.spaces)

    def schedule_full(self, folder: Folder, title: str) -> None:
        """A full update of ``folder``, with progress; one more after the running one if asked again."""
        if folder.full_task is not None and not folder.full_task.done():
            folder.full_again = True
            return
        folder.indexing = True
        folder.partial_told = False
        folder.full_task = self.spawn(self._full_updates(folder, title))

    async def _full_updates(self, folder: Folder, title: str) -> None:
        try:
            while not folder.closed.is_set():
                folder.full_again = False
                await self._full_update(folder, title)
                if not folder.full_again or folder not in self.folders:
                    return
        finally:
            folder.indexing = False

    async def _full_update(self, folder: Folder, title: str) -> None:
        index = folder.index
        if index is None:
            return
        folder.cancel = cancel = threading.Event()
        spaces = self.spaces(folder)
        progress = IndexProgress(self, f"{title} {folder.root.name}", spaces)
        await progress.begin(cancel)
        report = progress.threadsafe_reporter(asyncio.get_running_loop())
        try:
            summary = await self.in_index_thread(index.update, spaces, report, cancel)
        except Cancelled:
            progress.end("cancelled; what was indexed so far is kept")
            log.info("indexing of %s cancelled", folder.root)
            return
        except Exception as exc:
            if self.model_changed_under(index):
                progress.end("the model loaded with another identity; indexing again under it")
                return
            progress.end(f"failed: {exc}")
            folder.error = f"indexing {folder.root} failed: {exc}"
            log.exception("indexing of %s failed", folder.root)
            self.show(folder.error, types.MessageType.Error)
            return
        progress.end(
            f"{summary.files} files, {summary.units} units: "
            f"{summary.embedded} embedded, {summary.reused} reused"
        )
        self.finished(folder, summary)

    def schedule_paths(self, folder: Folder, paths: Iterable[str]) -> None:
        """Update only ``paths`` (an edited buffer, a few files changed on disk), coalescing bursts."""
        with folder.lock:
            folder.pending_paths.update(paths)
        if folder.paths_task is None or folder.paths_task.done():
            folder.paths_task = self.spawn(self._path_updates(folder))

    async def _path_updates(self, folder: Folder) -> None:
        index = folder.index
        if index is None:
            return

        def job() -> IndexSummary | None:
            with folder.lock:
                taken, folder.pending_paths = sorted(folder.pending_paths), set()
            if not taken:
                return None
            return index.update_paths(taken, self.spaces(folder), None, folder.closed)

        while folder.pending_paths and folder.index is index:
            try:
                summary = await self.in_index_thread(job)
            except Cancelled:
                return
            except Exception:
                if self.model_changed_under(index):  # re-opened under the real identity meanwhile
                    log.info("updating files of %s stopped: the model's identity changed", folder.root)
                else:
                    log.exception("updating files of %s failed", folder.root)
                return
            if summary is not None:
                self.finished(folder, summary)  # the lens refresh goes out before the write below
                await self.in_index_thread(functools.partial(index.flush, due_only=True))

    def finished(self, folder: Folder, summary: IndexSummary) -> None:
        folder.last_update = time.time()
        folder.last_summary = summary
        folder.error = None
        log.info(
            "%s: %d files, %d units, %d embedded, %d reused, %d files changed in %.2f s",
            folder.root, summary.files, summary.units, summary.embedded, summary.reused,
            summary.changed_files, summary.seconds,
        )  # fmt: skip
        if summary.changed_files or summary.embedded:
            self.index_changed([folder])

    def index_changed(self, folders: list[Folder]) -> None:
        """Lenses and diagnostics may show something else now: ask the client to refresh them."""
        from lsp_server.server.features import diagnostics

        workspace = self.client_capabilities.workspace
        code_lens = workspace.code_lens if workspace else None
        if self.options.features.code_lens and code_lens is not None and code_lens.refresh_support:
            self.spawn(self._refresh_lenses())
        for folder in folders:
            self.spawn(diagnostics.publish_folder(self, folder))

    async def _refresh_lenses(self) -> None:
        try:
            await self.workspace_code_lens_refresh_async(None)
        except Exception as exc:
            log.info("workspace/codeLens/refresh failed: %s", exc)

    # -- documents -----------------------------------------------------------------------------------

    def buffer_changed(self, uri: str) -> None:
        """An edit: the overlay now, the index after a pause in typing."""
        located = self.locate(uri)
        if located is None or located.folder.index is None or located.text is None:
            return
        self.edited.add(uri)
        located.folder.index.set_overlay(located.path, located.text.encode("utf-8", "surrogatepass"))
        if (handle := self._debounce.pop(uri, None)) is not None:
            handle.cancel()
        assert self.loop is not None
        self._debounce[uri] = self.loop.call_later(
            self.options.index_delay_ms / 1000, self._index_buffer, located.folder, located.path, uri
        )

    def _index_buffer(self, folder: Folder, path: str, uri: str) -> None:
        self._debounce.pop(uri, None)
        if folder in self.folders:
            self.schedule_paths(folder, [path])

    def buffer_saved_or_closed(self, uri: str) -> None:
        """The disk is the truth again for this file (saved), or the unsaved edits are gone (closed)."""
        if (handle := self._debounce.pop(uri, None)) is not None:
            handle.cancel()
        self.edited.discard(uri)
        path = path_of_uri(uri)
        located = folder_for(self.folders, uri) if path is not None else None
        if located is None or located[0].index is None:
            return
        folder, rel = located
        assert folder.index is not None
        folder.index.set_overlay(rel, None)
        self.schedule_paths(folder, [rel])

    def locate(self, uri: str) -> Located | None:
        """The folder and relative path of ``uri``, with its buffer's text if it is open."""
        found = folder_for(self.folders, uri)
        if found is None:
            return None
        document = self.workspace.text_documents.get(unquote(uri))
        return Located(found[0], found[1], document.source if document is not None else None)

    def to_python_column(self, text: str | None, line: int, character: int) -> int:
        """The client's column (UTF-16 by default) as an index into the Python string of that line."""
        if text is None:
            return character
        lines = text.splitlines()
        if not 0 <= line < len(lines):
            return character
        position = self.workspace.position_codec.position_from_client_units(
            lines, types.Position(line=line, character=character)
        )
        return int(position.character)

    # -- answers -------------------------------------------------------------------------------------

    async def wait_ready(self, timeout: float) -> bool:
        """Wait (up to ``timeout`` s) for the model and the folders to be open."""
        if self.ready_event is None:
            return False
        try:
            await asyncio.wait_for(self.ready_event.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def partial_note(self, folder: Folder) -> None:
        """Say, once per indexing run, that answers come from a partial index."""
        if folder.indexing and not folder.partial_told:
            folder.partial_told = True
            self.show(
                f"still indexing {folder.root.name}: results come from what is indexed so far",
                types.MessageType.Info,
            )

    async def shutdown_all(self) -> None:
        self.shutting_down = True
        for handle in self._debounce.values():
            handle.cancel()
        self._debounce.clear()
        for folder in self.folders:
            await self.close_folder(folder)
        self.folders = []
        if self.embedder is not None:
            embedder, self.embedder = self.embedder, None
            await self.in_index_thread(embedder.close)


def _rescan_needed(old: Settings, new: Settings) -> bool:
    return any(getattr(old, key) != getattr(new, key) for key in SETTINGS_THAT_RESCAN)
