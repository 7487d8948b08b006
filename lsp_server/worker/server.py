"""The remote embedding worker: one model served to many clients over TCP (docs/worker-protocol.md).

``python -m lsp_server.worker`` or ``codekin worker``. Requests from every connection go into one
queue; a batcher merges what arrives within a few milliseconds into one ``embed`` call per
(task, side, dim), run on a worker thread so that the event loop keeps reading and writing. This
module never imports pygls or ``lsp_server.server``: a GPU box runs it without the editor stack.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import itertools
import logging
import secrets
import signal
import socket
import ssl
import stat
import sys
import time
from collections import deque
from collections.abc import Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from lsp_server.embedding import SIDES, TASKS, Embedder, EmbeddingError, Side, Task, Vectors, load_embedder
from lsp_server.logs import setup_logging
from lsp_server.memory import release_freed_memory
from lsp_server.worker.protocol import (
    HEADER,
    PROTOCOL_VERSION,
    Limits,
    ProtocolError,
    check_mac,
    decode_body,
    encode_frame,
    frame_length,
    vectors_to_bytes,
)

log = logging.getLogger("lsp_server.worker")

DTYPES = ("f16", "f32")
DTYPE_SIZES = {"f16": 2, "f32": 4}
AUTH_TIMEOUT_S = 10.0
"""An unauthenticated connection must prove the token this soon, or it is closed."""
SHUTDOWN_GRACE_S = 10.0
"""How long SIGTERM waits for requests already read to be answered."""
LINGER_S = 1.0
LINGER_BYTES = 1 << 20
"""After a protocol error: how long and how much of the peer's unread input is discarded before the
close, so that the error frame is not lost to a TCP reset."""
ARRAY_SLACK = 4
"""Arrays up to this many times ``max_texts`` still decode, so that a request with too many texts gets
a ``too_many_texts`` answer on its id; beyond that the frame itself is refused."""
RESPONSE_OVERHEAD = 256


class RequestError(Exception):
    """A problem with one request: answered on its id, the connection stays."""

    def __init__(self, code: str, message: str, request_id: int) -> None:
        super().__init__(message)
        self.code = code
        self.request_id = request_id


@dataclass(frozen=True)
class EmbedRequest:
    """A validated ``embed`` request."""

    id: int
    texts: list[str]
    task: Task
    side: Side
    dim: int | None
    dtype: str


def brief(value: object, limit: int = 40) -> str:
    """A peer's value quoted in a message or the log, cut short: it may be megabytes long."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_embed(message: dict[str, Any], limits: Limits, full_dim: int) -> EmbedRequest:
    """Check an ``embed`` map: a field of the wrong type is a ProtocolError (the connection closes), a
    wrong value of the right type a RequestError (answered on the request's id)."""
    request_id = message.get("id")
    if type(request_id) is not int:
        raise ProtocolError("bad_request", "'id' must be an integer")
    texts = message.get("texts")
    if not isinstance(texts, list) or not all(isinstance(text, str) for text in texts):
        raise ProtocolError("bad_request", "'texts' must be an array of strings")
    task, side = message.get("task"), message.get("side")
    if not isinstance(task, str) or not isinstance(side, str):
        raise ProtocolError("bad_request", "'task' and 'side' must be strings")
    dim = message.get("dim")
    if dim is not None and type(dim) is not int:
        raise ProtocolError("bad_request", "'dim' must be an integer or nil")
    dtype = message.get("dtype", "f32")
    if not isinstance(dtype, str):
        raise ProtocolError("bad_request", "'dtype' must be a string")

    def fail(code: str, why: str) -> RequestError:
        return RequestError(code, why, request_id)

    if task not in TASKS:
        raise fail("bad_task", f"unknown task {brief(task)}; expected one of {', '.join(TASKS)}")
    if side not in SIDES:
        raise fail("bad_side", f"unknown side {brief(side)}; expected 'query' or 'passage'")
    if dtype not in DTYPES:
        raise fail("bad_dtype", f"unknown dtype {brief(dtype)}; expected 'f16' or 'f32'")
    if dim is not None and not 0 < dim <= full_dim:
        raise fail("bad_dim", f"dim must be between 1 and {full_dim}, got {dim}")
    if len(texts) > limits.max_texts:
        raise fail("too_many_texts", f"{len(texts)} texts; the limit is {limits.max_texts}")
    for index, text in enumerate(texts):
        if len(text) > limits.max_text_chars:
            raise fail(
                "text_too_long",
                f"text {index} has {len(text)} characters; the limit is {limits.max_text_chars}",
            )
    out_dim = dim or full_dim
    if len(texts) * out_dim * DTYPE_SIZES[dtype] + RESPONSE_OVERHEAD > limits.max_frame:
        raise fail("response_too_large", f"{len(texts)}×{out_dim} {dtype} vectors exceed max_frame")
    return EmbedRequest(
        request_id,
        texts,
        task,
        side,
        None if dim == full_dim else dim,
        dtype,
    )


# --- batching ------------------------------------------------------------------------------------------


class EmbedFailed(Exception):
    """The model raised on this request's texts; answered as ``embed_failed``."""


@dataclass(eq=False)
class _Job:
    texts: list[str]
    task: Task
    side: Side
    dim: int | None
    tokens: int
    connection: int
    enqueued: float
    future: asyncio.Future[Vectors] = field(repr=False)


def approx_tokens(texts: Sequence[str], prefix: str) -> int:
    """Characters / 4 is close enough to fill a batch and needs no tokenizer on the event loop."""
    return sum((len(prefix) + len(text)) // 4 + 2 for text in texts)


class Batcher:
    """Merges requests from all connections into few model calls.

    The first request waits at most ``window_s`` for company; a batch stops growing at
    ``budget_tokens`` (one request larger than that goes alone). Requests that queued while the model
    was busy have waited past their window already and go out at once, merged.
    """

    def __init__(
        self, embedder: Embedder, executor: ThreadPoolExecutor, *, window_s: float, budget_tokens: int
    ) -> None:
        self.embedder = embedder
        self.executor = executor
        self.window_s = window_s
        self.budget_tokens = budget_tokens
        self._queue: deque[_Job] = deque()
        self._queued_tokens = 0
        self._arrived = asyncio.Event()
        self.batches = 0

    def submit(
        self, texts: list[str], task: Task, side: Side, dim: int | None, connection: int
    ) -> asyncio.Future[Vectors]:
        loop = asyncio.get_running_loop()
        job = _Job(
            texts,
            task,
            side,
            dim,
            approx_tokens(texts, self.embedder.prefix(task, side)),
            connection,
            loop.time(),
            loop.create_future(),
        )
        self._queue.append(job)
        self._queued_tokens += job.tokens
        self._arrived.set()
        return job.future

    async def run(self) -> None:
        while True:
            jobs = await self._collect()
            if not jobs:
                continue
            try:
                await self._process(jobs)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the batcher must outlive any one batch
                log.exception("batch failed unexpectedly")
                for job in jobs:
                    if not job.future.done():
                        job.future.set_exception(EmbedFailed(f"internal error: {exc}"))

    async def _collect(self) -> list[_Job]:
        loop = asyncio.get_running_loop()
        while not self._queue:
            self._arrived.clear()
            await self._arrived.wait()
        deadline = self._queue[0].enqueued + self.window_s
        while self._queued_tokens < self.budget_tokens and (remaining := deadline - loop.time()) > 0:
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)
        jobs: list[_Job] = []
        tokens = 0
        while self._queue:
            job = self._queue[0]
            if jobs and tokens + job.tokens > self.budget_tokens:
                break
            self._queue.popleft()
            self._queued_tokens -= job.tokens
            if job.future.done():  # its connection went away
                continue
            jobs.append(job)
            tokens += job.tokens
        return jobs

    async def _process(self, jobs: list[_Job]) -> None:
        started = time.perf_counter()
        groups: dict[tuple[Task, Side, int | None], list[_Job]] = {}
        for job in jobs:
            groups.setdefault((job.task, job.side, job.dim), []).append(job)
        for (task, side, dim), group in groups.items():
            texts = [text for job in group for text in job.texts]
            try:
                vectors = await self._embed(texts, task, side, dim)
            except Exception as exc:
                if len(group) == 1:
                    self._fail(group[0], exc)
                    continue
                # One request may be the cause (or the merged batch too large): alone, each gets its own
                # answer.
                log.warning(
                    "a merged batch of %d requests failed (%s); retrying them one by one", len(group), exc
                )
                for job in group:
                    try:
                        self._resolve(job, await self._embed(job.texts, task, side, dim))
                    except Exception as single:
                        self._fail(job, single)
                continue
            offset = 0
            for job in group:
                self._resolve(job, vectors[offset : offset + len(job.texts)])
                offset += len(job.texts)
        self.batches += 1
        log.info(
            "batch %d: merged %d request%s from %d connection%s into %d embed call%s "
            "(%d texts, ~%d tokens) in %.1f ms",
            self.batches,
            len(jobs),
            "" if len(jobs) == 1 else "s",
            len({job.connection for job in jobs}),
            "" if len({job.connection for job in jobs}) == 1 else "s",
            len(groups),
            "" if len(groups) == 1 else "s",
            sum(len(job.texts) for job in jobs),
            sum(job.tokens for job in jobs),
            (time.perf_counter() - started) * 1000,
        )

    async def _embed(self, texts: list[str], task: Task, side: Side, dim: int | None) -> Vectors:
        loop = asyncio.get_running_loop()
        job = partial(self._embed_and_release, texts, task, side, dim)
        return await loop.run_in_executor(self.executor, job)

    def _embed_and_release(self, texts: list[str], task: Task, side: Side, dim: int | None) -> Vectors:
        vectors = self.embedder.embed(texts, task=task, side=side, dim=dim)
        release_freed_memory()  # a worker embeds for hours: keep its heap from growing
        return vectors

    @staticmethod
    def _resolve(job: _Job, vectors: Vectors) -> None:
        if not job.future.done():
            job.future.set_result(vectors)

    @staticmethod
    def _fail(job: _Job, exc: Exception) -> None:
        log.warning("embedding %d texts failed: %s", len(job.texts), exc)
        if not job.future.done():
            job.future.set_exception(EmbedFailed(f"{type(exc).__name__}: {exc}"))


# --- connections ---------------------------------------------------------------------------------------


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
        if self.read_task is not None and not self.read_task.done():
            self.read_task.cancel()

    # reading

    async def _read_side(self) -> str:
        """Read until the peer closes (the reason is returned) or breaks the protocol (raised)."""
        try:
            await self._greet()
            while True:
                await self.inflight.acquire()
                try:
                    message = await self._read_frame()
                except BaseException:
                    self.inflight.release()
                    raise
                self._dispatch(message)
        except _Closed:
            return "closed by the client"
        except asyncio.IncompleteReadError:
            return "closed by the client in the middle of a frame"

    async def _greet(self) -> None:
        worker = self.worker
        embedder = worker.embedder
        hello: dict[str, Any] = {
            "t": "hello",
            "v": PROTOCOL_VERSION,
            "model": embedder.model_id,
            "dim": embedder.dim,
            "device": embedder.device,
            "reason": embedder.selection_reason,
            "prefixes": {task: {side: embedder.prefix(task, side) for side in SIDES} for task in TASKS},
            "limits": self.limits.as_dict(),
            "auth": "none" if worker.token is None else "hmac-sha256",
        }
        nonce = b""
        if worker.token is not None:
            nonce = secrets.token_bytes(16)
            hello["nonce"] = nonce
        await self._send(encode_frame(hello))
        if worker.token is None:
            return
        try:
            message = await asyncio.wait_for(self._read_frame(), AUTH_TIMEOUT_S)
        except TimeoutError:
            raise ProtocolError("unauthorized", f"no auth frame within {AUTH_TIMEOUT_S:.0f} s") from None
        if message["t"] != "auth":
            raise ProtocolError("unauthorized", f"a {brief(message['t'])} frame before auth")
        if not check_mac(worker.token, nonce, message.get("mac")):
            raise ProtocolError("unauthorized", "wrong mac")
        await self._send(encode_frame({"t": "ready"}))

    async def _read_frame(self) -> dict[str, Any]:
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


# --- the worker ----------------------------------------------------------------------------------------


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
    ) -> None:
        self.embedder = embedder
        self.host = host
        self.port = port
        self.token = token
        self.ssl_context = ssl_context
        self.limits = limits or Limits()
        self.window_s = window_s
        self.budget_tokens = budget_tokens
        self.connections: dict[Connection, asyncio.Task[Any]] = {}
        self._numbers = itertools.count(1)
        self.batcher: Batcher

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Serve until ``stop`` is set (by SIGTERM or SIGINT when not given), then finish what was read."""
        loop = asyncio.get_running_loop()
        if stop is None:
            stop = asyncio.Event()
            for signum in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.add_signal_handler(signum, stop.set)
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
            ssl_handshake_timeout=AUTH_TIMEOUT_S if self.ssl_context else None,
            limit=1 << 16,
        )
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
        try:
            await stop.wait()
        finally:
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


def _format_address(address: Any) -> str:
    if isinstance(address, tuple) and len(address) >= 2:
        host = str(address[0])
        return f"[{host}]:{address[1]}" if ":" in host else f"{host}:{address[1]}"
    return str(address)


# --- command line ------------------------------------------------------------------------------------


class UsageError(Exception):
    """A mistake on the command line: printed as is, exit status 2."""


def is_loopback(host: str) -> bool:
    """True only when every address ``host`` names is a loopback address ('' and 0.0.0.0 are not)."""
    if host.strip() in ("", "0.0.0.0", "::", "*"):
        return False
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return False
    try:
        return bool(infos) and all(
            ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback for info in infos
        )
    except ValueError:
        return False


def read_token(path: str) -> bytes:
    """The shared token: the file's content, stripped. A command line would show it to every user."""
    file = Path(path).expanduser()
    try:
        token = file.read_bytes().strip()
    except OSError as exc:
        raise UsageError(f"cannot read the token file {file}: {exc.strerror or exc}") from exc
    if not token:
        raise UsageError(f"the token file {file} is empty")
    with contextlib.suppress(OSError):
        if file.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            log.warning("the token file %s can be read by other users; chmod 600 it", file)
    return token


def tls_context(cert: str | None, key: str | None) -> ssl.SSLContext | None:
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise UsageError("--tls-cert and --tls-key go together")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"cannot load the TLS certificate {cert} and key {key}: {exc}") from exc
    return context


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", default="auto", help="profile, 'auto', a folder or a hub id (default auto)"
    )
    parser.add_argument("--device", help="cpu, cuda, cuda:N (default: a GPU if there is one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=7878, help="port to listen on (default 7878)")
    parser.add_argument(
        "--token-file",
        help="file holding the shared token clients must prove (required to listen beyond loopback)",
    )
    parser.add_argument("--tls-cert", help="PEM certificate (chain) to serve TLS with")
    parser.add_argument("--tls-key", help="PEM private key of --tls-cert")
    parser.add_argument(
        "--batch-window-ms", type=float, default=5.0, help="how long a request waits for others (default 5)"
    )
    parser.add_argument(
        "--batch-tokens", type=int, default=16_384, help="approximate tokens per merged batch (default 16384)"
    )
    parser.add_argument("--log-file", help="also write the log to this file")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv: debug)")


def serve(args: argparse.Namespace) -> int:
    setup_logging(args.verbose, args.log_file)
    try:
        if not 0 <= args.port <= 65535:
            raise UsageError(f"--port must be between 0 and 65535, got {args.port}")
        if args.batch_window_ms < 0 or args.batch_tokens < 1:
            raise UsageError("--batch-window-ms must not be negative and --batch-tokens must be positive")
        token = read_token(args.token_file) if args.token_file else None
        if token is None and not is_loopback(args.host):
            raise UsageError(
                f"refusing to listen on {args.host!r} without --token-file: beyond loopback anyone who can "
                "reach the port could use the model; give a token file (and TLS), or use 127.0.0.1"
            )
        context = tls_context(args.tls_cert, args.tls_key)
    except UsageError as exc:
        print(f"codekin worker: {exc}", file=sys.stderr)
        return 2
    try:
        embedder = load_embedder(args.model, args.device)
    except EmbeddingError as exc:
        print(f"codekin worker: error: {exc}", file=sys.stderr)
        return 1
    log.info("loaded %s on %s (%s)", embedder.model_id, embedder.device, embedder.selection_reason)
    worker = Worker(
        embedder,
        host=args.host,
        port=args.port,
        token=token,
        ssl_context=context,
        window_s=args.batch_window_ms / 1000,
        budget_tokens=args.batch_tokens,
    )
    try:
        asyncio.run(worker.run())
    except OSError as exc:
        print(f"codekin worker: error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        embedder.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lsp_server.worker",
        description="Serve an embedding model to codekin clients over TCP.",
    )
    add_arguments(parser)
    return serve(parser.parse_args(argv))
