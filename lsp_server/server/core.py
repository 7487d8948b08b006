"""The codekin language server's core: its state, where work runs, and the events features subscribe to.

Threads: the event loop only routes messages. One indexing thread runs every job
that writes the index (model loads, full updates, a buffer's or a file's update),
one after another, so they never race. A small pool answers queries; the
:class:`PriorityEmbedder` lets their embeddings overtake bulk indexing.

The core knows no feature: features register their handlers and subscribe to
:class:`ServerEvents` in their own ``register`` function (see ``server/main.py``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import unquote

from cattrs import Converter
from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol import default_converter

from lsp_server import __version__
from lsp_server.embedding.identity import IdentityCache
from lsp_server.embedding.priority import PriorityEmbedder
from lsp_server.server.buffers import Buffers
from lsp_server.server.configuration import Configuration
from lsp_server.server.events import ServerEvents
from lsp_server.server.folders import Folder, folder_for
from lsp_server.server.jobs import IndexJobs
from lsp_server.server.options import ServerOptions
from lsp_server.server.params import install_hooks
from lsp_server.server.positions import python_column
from lsp_server.server.protocol import CodekinProtocol

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Located:
    """A document position resolved against the workspace: its folder, path, and buffer text if open."""

    folder: Folder
    path: str
    text: str | None


def command_converter() -> Converter:
    """pygls's converter, with strict hooks for codekin's command arguments."""
    converter = default_converter()
    install_hooks(converter)
    return converter


class CodekinServer(LanguageServer):
    def __init__(self) -> None:
        self.converter = command_converter()
        """pygls's converter for this server: structures every message and the commands' arguments."""
        super().__init__(
            "codekin", __version__, protocol_cls=CodekinProtocol, converter_factory=lambda: self.converter
        )
        self.options = ServerOptions()
        self.init_options: Any = None
        self.embedder: PriorityEmbedder | None = None
        self.embedder_problem: str | None = None
        self.identities = IdentityCache()
        self.folders: list[Folder] = []
        self.index_pool = ThreadPoolExecutor(1, thread_name_prefix="codekin-index")
        self.edit_pool = ThreadPoolExecutor(1, thread_name_prefix="codekin-edit")
        """Edited and changed files: never queued behind a full update's embedding."""
        self.query_pool = ThreadPoolExecutor(2, thread_name_prefix="codekin-query")
        self.loader_pool = ThreadPoolExecutor(1, thread_name_prefix="codekin-model")
        self.loop: asyncio.AbstractEventLoop | None = None
        self.started = False
        self.ready_event: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.shutting_down = False
        self.reconfiguring = False
        """Settings are being applied (a model may be loading): the status says indexing."""
        self.events = ServerEvents()
        self.buffers = Buffers(self)
        self.jobs = IndexJobs(self)
        self.configuration = Configuration(self)

    # -- running work ------------------------------------------------------------------------------

    async def in_index_thread(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.index_pool, fn, *args)

    async def in_edit_thread(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.edit_pool, fn, *args)

    async def in_query_thread(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.query_pool, fn, *args)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` in the background, keeping a reference and logging its failure."""
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)

        def done(finished: asyncio.Task[Any]) -> None:
            self._tasks.discard(finished)
            if not finished.cancelled() and (exc := finished.exception()) is not None:
                log.error("background task failed: %r", exc, exc_info=exc)

        task.add_done_callback(done)
        return task

    def call_in_loop(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn`` on the event loop from any thread."""
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(fn, *args)

    def show(self, message: str, kind: types.MessageType = types.MessageType.Warning) -> None:
        if kind <= types.MessageType.Warning:
            log.warning("%s", message)
        else:
            log.info("%s", message)
        self.window_show_message(types.ShowMessageParams(type=kind, message=f"codekin: {message}"))

    # -- where things are ----------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """The model is chosen and the folders are open (their first indexing may still run)."""
        return self.started and self.ready_event is not None and self.ready_event.is_set()

    def locate(self, uri: str) -> Located | None:
        """The folder and relative path of ``uri``, with its buffer's text if it is open."""
        found = folder_for(self.folders, uri)
        if found is None:
            return None
        return Located(found[0], found[1], self.buffer_text(uri))

    def buffer_text(self, uri: str) -> str | None:
        document = self.workspace.text_documents.get(unquote(uri))
        return document.source if document is not None else None

    def to_python_column(self, text: str | None, line: int, character: int) -> int:
        """The client's column, in the negotiated position encoding, as an index into the line's string."""
        return python_column(self.workspace.position_codec, text, line, character)

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

    def open_indexes(self) -> list[Folder]:
        """The folders whose index is open, in workspace order."""
        return [folder for folder in self.folders if folder.index is not None]

    async def shutdown_all(self) -> None:
        self.shutting_down = True
        self.buffers.cancel_pending()
        for folder in self.folders:
            await self.jobs.close_folder(folder)
        self.folders = []
        if self.embedder is not None:
            embedder, self.embedder = self.embedder, None
            await self.in_index_thread(embedder.close)
