"""One client connection of the worker: hello, token challenge, pipelined requests, closing.

Reading and answering are separate tasks, so that a slow batch never stops a connection from being
read; ``max_inflight`` bounds what one client may have outstanding.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import ssl
from collections.abc import Coroutine
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from lsp_server.embedding import SIDES, TASKS
from lsp_server.embedding.remote.wire import (
    HEADER,
    PROTOCOL_VERSION,
    ProtocolError,
    check_mac,
    decode_body,
    encode_frame,
    frame_length,
    vectors_to_bytes,
)
from lsp_server.worker.batcher import EmbedFailed
from lsp_server.worker.requests import EmbedRequest, RequestError, brief, parse_embed

if TYPE_CHECKING:
    from lsp_server.worker.server import Worker

log = logging.getLogger("lsp_server.worker")

SHUTDOWN_GRACE_S = 10.0
"""How long SIGTERM waits for requests already read to be answered."""
LINGER_S = 1.0
LINGER_BYTES = 1 << 20
"""After a protocol error: how long and how much of the peer's unread input is discarded before the
close, so that the error frame is not lost to a TCP reset."""
ARRAY_SLACK = 4
"""Arrays up to this many times ``max_texts`` still decode, so that a request with too many texts gets
a ``too_many_texts`` answer on its id; beyond that the frame itself is refused."""


class _Closed(Exception):
    """The peer closed its side at a frame boundary."""


class Connection:
    """One client: a hello, the token challenge if any, then pipelined requests.

    At most ``max_inflight`` requests are outstanding: past that the connection is not read until
    answers have been written (with ``drain``), so that a client that does not read its answers
    cannot make the worker buffer without bound.
    """

    def __init__(
        self,
        number: int,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        worker: Worker,
    ) -> None:
        self.number = number
        self.reader = reader
        self.writer = writer
        self.worker = worker
        self.limits = worker.limits
        self.decode_limits = replace(worker.limits, max_texts=worker.limits.max_texts * ARRAY_SLACK)
        self.inflight = asyncio.Semaphore(worker.limits.max_inflight)
        self.outstanding: dict[int, asyncio.Task[None]] = {}
        """Embed requests not answered yet, by id (an id may not be reused until answered)."""
        self.answers: set[asyncio.Task[None]] = set()
        self.requests = 0
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self.read_task: asyncio.Task[str] | None = None

    async def run(self) -> None:
        """Serve the connection to its end, then close it the way its end calls for."""
        log.info("connection %d from %s opened", self.number, self.peer)
        self.read_task = asyncio.create_task(self._read_side())
        await asyncio.wait({self.read_task})
        reason: str
        if self.read_task.cancelled():
            reason = "worker shutting down"
            await self._finish_outstanding(SHUTDOWN_GRACE_S)
            # Tells the client that requests it sent and got no answer for were never read: retry elsewhere.
            await self._send_error(None, "shutting_down", "the worker is shutting down")
            await self._close()
        elif isinstance(error := self.read_task.exception(), ProtocolError):
            reason = f"protocol error {error.code}: {error}"
            self._cancel_outstanding()
            await self._send_error(None, error.code, str(error))
            await self._linger_close()
        elif error is not None:
            reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            self._cancel_outstanding()
            await self._close()
        else:
            reason = self.read_task.result()
            await self._finish_outstanding(None)
            await self._close()
        log.info(
            "connection %d from %s closed after %d request%s (%s)",
            self.number,
            self.peer,
            self.requests,
            "" if self.requests == 1 else "s",
            reason,
        )

    def stop_reading(self) -> None:
        """Read no more requests (shutdown); those already read are still answered."""
        if self.read_task is not None and not self.read_task.done():
            self.read_task.cancel()

    # reading

    async def _read_side(self) -> str:
        """Read until the peer closes (the reason is returned) or breaks the protocol (raised)."""
        try:
            await self._greet()
            # The first frame must come within the idle timeout; with a token that was the auth frame.
            timeout = None if self.worker.token is not None else self.worker.idle_timeout_s
            while True:
                await self.inflight.acquire()
                try:
                    message = await self._read_frame(timeout)
                except BaseException:
                    self.inflight.release()
                    raise
                timeout = None
                self._dispatch(message)
        except _Closed:
            return "closed by the client"
        except asyncio.IncompleteReadError:
            return "closed by the client in the middle of a frame"

    async def _greet(self) -> None:
        """Send the hello; with a token, refuse everything until the nonce's mac comes back."""
        token = self.worker.token
        hello = self._hello()
        nonce = b""
        if token is not None:
            nonce = secrets.token_bytes(16)
            hello["nonce"] = nonce
        await self._send(encode_frame(hello))
        if token is None:
            return
        await self._authenticate(token, nonce)
        await self._send(encode_frame({"t": "ready"}))

    def _hello(self) -> dict[str, Any]:
        embedder = self.worker.embedder
        return {
            "t": "hello",
            "v": PROTOCOL_VERSION,
            "model": embedder.model_id,
            "dim": embedder.dim,
            "device": embedder.device,
            "reason": embedder.selection_reason,
            "prefixes": {task: {side: embedder.prefix(task, side) for side in SIDES} for task in TASKS},
            "limits": self.limits.as_dict(),
            "auth": "none" if self.worker.token is None else "hmac-sha256",
        }

    async def _authenticate(self, token: bytes, nonce: bytes) -> None:
        timeout = self.worker.idle_timeout_s
        try:
            message = await self._read_frame(timeout)
        except ProtocolError as error:
            if error.code != "idle_timeout":
                raise
            raise ProtocolError("unauthorized", f"no auth frame within {timeout:g} s") from None
        if message["t"] != "auth":
            raise ProtocolError("unauthorized", f"a {brief(message['t'])} frame before auth")
        if not check_mac(token, nonce, message.get("mac")):
            raise ProtocolError("unauthorized", "wrong mac")

    async def _read_frame(self, timeout: float | None = None) -> dict[str, Any]:
        """One frame, decoded with limits, read within ``timeout`` (an ``idle_timeout`` error) if given."""
        if timeout is None:
            return await self._next_frame()
        try:
            return await asyncio.wait_for(self._next_frame(), timeout)
        except TimeoutError:
            raise ProtocolError("idle_timeout", f"nothing received within {timeout:g} s") from None

    async def _next_frame(self) -> dict[str, Any]:
        """One frame, decoded with limits; _Closed when the peer closed between frames."""
        try:
            header = await self.reader.readexactly(HEADER.size)
        except asyncio.IncompleteReadError as exc:
            if not exc.partial:
                raise _Closed() from None
            raise
        body = await self.reader.readexactly(frame_length(header, self.limits))
        try:
            return decode_body(body, self.decode_limits)
        except ProtocolError:
            raise
        except Exception as exc:  # whatever msgpack raises on hostile bytes, it is a bad frame
            raise ProtocolError("bad_frame", f"undecodable frame: {type(exc).__name__}: {exc}") from exc

    def _dispatch(self, message: dict[str, Any]) -> None:
        """Start answering one frame; the inflight slot acquired for it is released with its answer."""
        kind = message["t"]
        if kind == "auth":
            raise ProtocolError("unexpected", "an auth frame where none is expected")
        if kind != "embed":
            raise ProtocolError("unknown_type", f"unknown frame type {brief(kind)}")
        try:
            request = parse_embed(message, self.limits, self.worker.embedder.dim)
        except RequestError as error:
            self._check_fresh(error.request_id)
            self.requests += 1
            self._spawn(None, self._answer_error(error.code, str(error), error.request_id))
            return
        self._check_fresh(request.id)
        self.requests += 1
        self._spawn(request.id, self._answer(request))

    def _check_fresh(self, request_id: int) -> None:
        if request_id in self.outstanding:
            raise ProtocolError("duplicate_id", f"request {request_id} is still outstanding")

    def _spawn(self, request_id: int | None, answer: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(answer)
        self.answers.add(task)
        if request_id is not None:
            self.outstanding[request_id] = task

        def done(_: asyncio.Task[None]) -> None:
            self.answers.discard(task)
            if request_id is not None and self.outstanding.get(request_id) is task:
                del self.outstanding[request_id]
            self.inflight.release()

        task.add_done_callback(done)

    # answering

    async def _answer(self, request: EmbedRequest) -> None:
        """Embed through the batcher and write the vectors; a model failure is answered on the id."""
        if request.texts:
            future = self.worker.batcher.submit(
                request.texts, request.task, request.side, request.dim, self.number
            )
            try:
                vectors = await future
            except EmbedFailed as exc:
                await self._answer_error("embed_failed", str(exc), request.id)
                return
        else:
            vectors = np.zeros((0, request.dim or self.worker.embedder.dim), dtype=np.float32)
        with contextlib.suppress(ConnectionError):
            await self._send(
                encode_frame(
                    {
                        "t": "vectors",
                        "id": request.id,
                        "rows": int(vectors.shape[0]),
                        "dim": int(vectors.shape[1]),
                        "dtype": request.dtype,
                        "data": vectors_to_bytes(vectors, request.dtype),
                    }
                )
            )

    async def _answer_error(self, code: str, message: str, request_id: int | None) -> None:
        with contextlib.suppress(ConnectionError):
            await self._send(encode_frame({"t": "error", "id": request_id, "code": code, "message": message}))

    async def _send(self, frame: bytes) -> None:
        if self.writer.is_closing():
            raise ConnectionResetError("the connection is closing")
        self.writer.write(frame)
        await self.writer.drain()

    async def _send_error(self, request_id: int | None, code: str, message: str) -> None:
        with contextlib.suppress(ConnectionError, TimeoutError):
            await asyncio.wait_for(
                self._send(encode_frame({"t": "error", "id": request_id, "code": code, "message": message})),
                LINGER_S * 5,
            )

    # closing

    async def _finish_outstanding(self, timeout: float | None) -> None:
        if self.answers:
            await asyncio.wait(list(self.answers), timeout=timeout)
        self._cancel_outstanding()

    def _cancel_outstanding(self) -> None:
        for task in list(self.answers):
            task.cancel()

    async def _linger_close(self) -> None:
        """Half-close, then swallow what the peer still sends for a moment: closing a socket with unread
        input sends a reset, which can destroy the error frame before the peer reads it."""
        with contextlib.suppress(OSError, RuntimeError):
            if self.writer.can_write_eof():
                self.writer.write_eof()
                deadline = asyncio.get_running_loop().time() + LINGER_S
                swallowed = 0
                while swallowed < LINGER_BYTES:
                    remaining = deadline - asyncio.get_running_loop().time()
                    if remaining <= 0:
                        break
                    chunk = await asyncio.wait_for(self.reader.read(65536), remaining)
                    if not chunk:
                        break
                    swallowed += len(chunk)
        await self._close()

    async def _close(self) -> None:
        self.writer.close()
        try:
            await asyncio.wait_for(self.writer.wait_closed(), LINGER_S * 5)
        except (OSError, TimeoutError, ssl.SSLError):
            self.writer.transport.abort()
