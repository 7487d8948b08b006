"""Settings at run time: read the client's options, choose and load the model, open the folders they imply.

Order of precedence, lowest first: each folder's ``pyproject.toml`` / ``.codekin.toml``,
initializationOptions, ``workspace/configuration``. A changed model, device or batch size
means another embedder (and so a re-index under its model id); a changed include,
exclude or dimension means a rescan; anything else applies in place.
"""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from lsp_server.config import Settings, load_settings
from lsp_server.embedding import WORKER_ENV, load_embedder
from lsp_server.embedding.base import Embedder, EmbeddingError
from lsp_server.embedding.deferred import DeferredEmbedder
from lsp_server.embedding.identity import Identity, identity_key
from lsp_server.embedding.loading import quiet_transformers
from lsp_server.embedding.priority import PriorityEmbedder
from lsp_server.index.indexer import default_index_dir
from lsp_server.server.folders import Folder, path_of_uri
from lsp_server.server.options import RELOAD_KEYS, ServerOptions, parse_options

if TYPE_CHECKING:
    from lsp_server.server.core import CodekinServer

log = logging.getLogger(__name__)

SETTINGS_THAT_RESCAN = (
    "include",
    "exclude",
    "max_file_bytes",
    "follow_symlinks",
    "spaces",
    "index_dir",
    "dim",
)

Parsed = tuple[ServerOptions, list[str]]
"""Options and the problems found in them (each shown to the user, the default used instead)."""


class Configuration:
    def __init__(self, server: CodekinServer) -> None:
        self.server = server
        self._apply_lock: asyncio.Lock | None = None

    async def start(self) -> None:
        """On ``initialized``: read the client's settings, load the model, index every folder."""
        server = self.server
        server.loop = asyncio.get_running_loop()
        server.ready_event = asyncio.Event()
        self._apply_lock = asyncio.Lock()
        server.started = True
        await self.apply(await self.pull_options())

    async def pull_options(self) -> Parsed:
        """initializationOptions, overlaid with workspace/configuration where the client has it."""
        server = self.server
        raw: dict[str, Any] = {}
        if isinstance(server.init_options, dict):
            raw.update(server.init_options.get("codekin", server.init_options))
        workspace = server.client_capabilities.workspace
        if workspace is not None and workspace.configuration:
            try:
                pulled = await server.workspace_configuration_async(
                    types.ConfigurationParams(items=[types.ConfigurationItem(section="codekin")])
                )
                if pulled and isinstance(pulled[0], dict):
                    raw.update(pulled[0])
            except Exception as exc:
                log.info("workspace/configuration failed (%s); using initializationOptions", exc)
        return parse_options(raw, "codekin settings")

    async def settings_pushed(self, settings: Any) -> None:
        """``workspace/didChangeConfiguration``: pull again, or take what a client without pull sent."""
        workspace = self.server.client_capabilities.workspace
        if workspace is not None and workspace.configuration:
            await self.apply(await self.pull_options())
        else:
            await self.apply(parse_options(settings, "codekin settings"))

    async def apply(self, parsed: Parsed, *, loaded: Embedder | None = None) -> None:
        """Make the options current: reload the model if it changed, re-index what the change affects."""
        assert self._apply_lock is not None
        async with self._apply_lock:
            self.server.reconfiguring = True
            try:
                await self._apply(*parsed, loaded)
            finally:
                self.server.reconfiguring = False

    async def _apply(self, options: ServerOptions, problems: list[str], loaded: Embedder | None) -> None:
        server = self.server
        previous, server.options = server.options, options
        specs = self.workspace_folder_specs()
        settings_of = await server.in_query_thread(self.folder_settings, specs, problems)
        for problem in problems:
            server.show(f"{problem}; the default is used")
        reload = (
            loaded is not None
            or server.embedder is None
            or previous.embedder_spec != options.embedder_spec
            or any(previous.engine.get(key) != options.engine.get(key) for key in RELOAD_KEYS)
        )
        retired = self._swap_embedder(options, loaded) if reload else None
        changed = await self._reconcile_folders(specs, settings_of, reload)
        if retired is not None:  # its folders are closed: nothing uses it any more
            await server.in_index_thread(retired.close)
        for folder in changed:
            await server.jobs.open_folder(folder)
        assert server.ready_event is not None
        server.ready_event.set()
        if not changed and previous != options:
            server.events.settings_changed.emit(options)

    def _swap_embedder(self, options: ServerOptions, loaded: Embedder | None) -> PriorityEmbedder | None:
        """A new embedder for ``options``; the one it replaces, to close once its folders are.

        The model loads on its own thread; folders open and rescan meanwhile (DeferredEmbedder),
        and with the identity the model had the last time, they answer from stored vectors too.
        """
        server = self.server
        for folder in server.folders:
            folder.cancel.set()
        if loaded is not None:  # already loaded (its identity changed): wrap it, do not load again
            ready: Future[Embedder] = Future()
            ready.set_result(loaded)
            deferred = DeferredEmbedder(ready)
        else:
            key = self.identity_key(options)
            loading = server.loader_pool.submit(self.load_embedder, options, key)
            deferred = DeferredEmbedder(loading, server.identities.get(key))
            loading.add_done_callback(lambda _: server.call_in_loop(self.model_loaded, deferred))
        retired, server.embedder = server.embedder, PriorityEmbedder(deferred)
        return retired

    async def _reconcile_folders(
        self, specs: list[tuple[str, Path]], settings_of: dict[str, Settings], reload: bool
    ) -> list[Folder]:
        """Close the folders that are gone or must be re-opened; return those to open."""
        server = self.server
        changed: list[Folder] = []
        kept: list[Folder] = []
        for uri, root in specs:
            settings = settings_of[uri]
            existing = next((f for f in server.folders if f.uri == uri), None)
            if existing is None or reload or _rescan_needed(existing.settings, settings):
                if existing is not None:
                    await server.jobs.close_folder(existing)
                folder = Folder(uri=uri, root=root, settings=settings)
                changed.append(folder)
            else:
                folder = existing
                folder.settings = settings
            kept.append(folder)
        for folder in server.folders:
            if folder not in kept:
                await server.jobs.close_folder(folder)
        server.folders = kept
        return changed

    def workspace_folder_specs(self) -> list[tuple[str, Path]]:
        workspace = self.server.workspace
        uris = [folder.uri for folder in workspace.folders.values()]
        specs = [(uri, path) for uri in uris if (path := path_of_uri(uri)) is not None]
        if not specs and workspace.root_uri:
            path = path_of_uri(workspace.root_uri)
            if path is not None:
                specs.append((workspace.root_uri, path))
        return specs

    def folder_settings(self, specs: list[tuple[str, Path]], problems: list[str]) -> dict[str, Settings]:
        """Each folder's settings: its config files under the client's. A client ``indexDir`` holds one
        subfolder per workspace folder, so that folders never share (and so prune) one store."""
        engine = dict(self.server.options.engine)
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

    def model_loaded(self, deferred: DeferredEmbedder) -> None:
        """A model loaded with another identity than remembered: re-open the index under its own."""
        server = self.server
        if server.embedder is None or not server.embedder.wraps(deferred) or server.shutting_down:
            return
        problem = deferred.mismatch()
        if problem is not None:
            server.show(f"{problem}: re-opening the index under it", types.MessageType.Info)
            server.spawn(self.apply((server.options, []), loaded=deferred.hand_over()))

    def load_embedder(self, options: ServerOptions, key: str | None = None) -> Embedder:
        """Load the model ``options`` name (on the loader thread); the embedded default if it fails."""
        server = self.server
        quiet_transformers()
        spec, device = options.embedder_spec, options.engine.get("device")
        server.embedder_problem = None
        try:
            inner = load_embedder(spec, device, batch_tokens=options.engine.get("batch_tokens"))
        except (EmbeddingError, OSError, ValueError) as exc:
            server.embedder_problem = problem = f"model {spec!r} could not be loaded ({exc})"
            server.call_in_loop(server.show, f"{problem}; using the embedded default instead")
            try:
                inner = load_embedder("auto", None)
            except (EmbeddingError, OSError, ValueError) as fallback_exc:
                server.embedder_problem = problem = f"{problem}; the default failed too ({fallback_exc})"
                server.call_in_loop(server.show, problem, types.MessageType.Error)
                raise EmbeddingError(problem) from fallback_exc
        log.info("model %s on %s (%s)", inner.model_id, inner.device, inner.selection_reason)
        if key is not None:
            server.identities.put(key, Identity.of(inner))
        return inner


def _rescan_needed(old: Settings, new: Settings) -> bool:
    return any(getattr(old, key) != getattr(new, key) for key in SETTINGS_THAT_RESCAN)
