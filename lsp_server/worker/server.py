"""The remote embedding worker: one model served to many clients over TCP (docs/worker-protocol.md).

Requests from every connection go into one queue (``batcher``); each client is a ``connection``;
this module holds the listening socket and the shutdown. Like the whole of ``lsp_server.worker`` it
never imports pygls or ``lsp_server.server``: a GPU box runs it without the editor stack.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import signal
import ssl
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from lsp_server.embedding import Embedder
from lsp_server.embedding.remote.wire import Limits, encode_frame
from lsp_server.worker.batcher import Batcher
from lsp_server.worker.connection import LINGER_S, SHUTDOWN_GRACE_S, Connection

log = logging.getLogger("lsp_server.worker")

DEFAULT_IDLE_TIMEOUT_S = 10.0
"""A new connection that sends nothing (no auth, no request) this long is closed (``--idle-timeout``)."""
DEFAULT_MAX_CONNECTIONS = 64
"""Open connections at most (``--max-connections``); more are answered ``busy`` and closed."""


class Worker:
    """The listening socket, its connections and the batcher, on one event loop."""

    def __init__(
        self,
        embedder: Embedder,
        *,
        host: str,
        port: int,
        token: bytes | None,
        ssl_context: ssl.SSLContext | None,
        limits: Limits | None = None,
        window_s: float = 0.005,
        budget_tokens: int = 16_384,
        idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        self.embedder = embedder
        self.host = host
        self.port = port
        self.token = token
        self.ssl_context = ssl_context
        self.limits = limits or Limits()
        self.window_s = window_s
        self.budget_tokens = budget_tokens
        self.idle_timeout_s = idle_timeout_s
        self.max_connections = max_connections
        self.refused = 0
        """Connections refused since the limit was last reached (0: not at the limit)."""
        self.connections: dict[Connection, asyncio.Task[Any]] = {}
        self._numbers = itertools.count(1)
        self.batcher: Batcher

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Serve until ``stop`` is set (by SIGTERM or SIGINT when not given), then finish what was read."""
        if stop is None:
            stop = _stop_on_signals()
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="codekin-embed")
        self.batcher = Batcher(
            self.embedder, executor, window_s=self.window_s, budget_tokens=self.budget_tokens
        )
        batcher_task = asyncio.create_task(self.batcher.run())
        server = await asyncio.start_server(
            self._handle,
            self.host,
            self.port,
            ssl=self.ssl_context,
            ssl_handshake_timeout=self.idle_timeout_s if self.ssl_context else None,
            limit=1 << 16,
        )
        self._log_serving(server)
        try:
            await stop.wait()
        finally:
            await self._shut_down(server, batcher_task, executor)

    def _log_serving(self, server: asyncio.Server) -> None:
        addresses = ", ".join(_format_address(s.getsockname()) for s in server.sockets)
        log.info(
            "worker serving %s (dim %d, %s) on %s%s, %s",
            self.embedder.model_id,
            self.embedder.dim,
            self.embedder.device,
            addresses,
            " with TLS" if self.ssl_context else "",
            "token required" if self.token is not None else "no token (loopback only)",
        )
        log.info(
            "at most %d connections; a silent new connection is closed after %g s",
            self.max_connections,
            self.idle_timeout_s,
        )

    async def _shut_down(
        self, server: asyncio.Server, batcher_task: asyncio.Task[None], executor: ThreadPoolExecutor
    ) -> None:
        """Stop accepting and reading, give what was read its grace to be answered, then stop."""
        log.info("shutting down: %d connection(s) open", len(self.connections))
        server.close()
        for connection in list(self.connections):
            connection.stop_reading()
        tasks = list(self.connections.values())
        if tasks:
            await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE_S + LINGER_S * 6)
        for task in self.connections.values():
            task.cancel()
        batcher_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await batcher_task
        await server.wait_closed()
        executor.shutdown(wait=True, cancel_futures=True)
        log.info("worker stopped")

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self.connections) >= self.max_connections:
            await self._refuse(writer)
            return
        if self.refused:
            log.info("accepting connections again (%d refused while at the limit)", self.refused)
            self.refused = 0
        connection = Connection(next(self._numbers), reader, writer, self)
        task = asyncio.current_task()
        assert task is not None
        self.connections[connection] = task
        try:
            await connection.run()
        except Exception:
            log.exception("connection %d failed", connection.number)
            writer.transport.abort()
        finally:
            self.connections.pop(connection, None)

    async def _refuse(self, writer: asyncio.StreamWriter) -> None:
        """At the limit: tell the peer (a ``busy`` error instead of the hello) and close at once."""
        peer = _format_address(writer.get_extra_info("peername"))
        if not self.refused:
            log.warning(
                "%d connections open, the limit (--max-connections): refusing new ones (first: %s)",
                len(self.connections),
                peer,
            )
        else:
            log.debug("refused the connection from %s (at the limit)", peer)
        self.refused += 1
        message = f"the worker has {len(self.connections)} connections open, its limit; try again later"
        with contextlib.suppress(OSError, RuntimeError):
            writer.write(encode_frame({"t": "error", "id": None, "code": "busy", "message": message}))
        writer.close()
        try:
            await asyncio.wait_for(writer.wait_closed(), LINGER_S)
        except (OSError, TimeoutError, ssl.SSLError):
            writer.transport.abort()


def _stop_on_signals() -> asyncio.Event:
    """An event that SIGTERM and SIGINT set, where the loop can install handlers."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    return stop


def _format_address(address: Any) -> str:
    if isinstance(address, tuple) and len(address) >= 2:
        host = str(address[0])
        return f"[{host}]:{address[1]}" if ":" in host else f"{host}:{address[1]}"
    return str(address)
