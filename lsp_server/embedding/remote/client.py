"""The client half of ``remote://``: :class:`RemoteEmbedder`, its connections and failover.

Spec and options are described in :mod:`lsp_server.embedding.remote`; the frames it speaks are
:mod:`lsp_server.embedding.remote.wire`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import numpy as np

from ..base import (
    Embedder,
    EmbeddingError,
    Side,
    Task,
    Vectors,
    check_embed_request,
    check_task_side,
    estimate_tokens,
)
from .wire import (
    HEADER,
    PROTOCOL_VERSION,
    Limits,
    ProtocolError,
    auth_mac,
    decode_body,
    encode_frame,
    frame_length,
    vectors_from_bytes,
)

log = logging.getLogger("lsp_server.embedding.remote")  # the name it had as one module

CONNECTIONS_PER_WORKER = 2
CONNECT_TIMEOUT_S = 5.0
RETRY_AFTER_S = 5.0
"""A worker that failed is left alone this long before it is tried again."""


@dataclass(frozen=True)
class RemoteSpec:
    """A parsed ``remote://`` spec: where the workers are and how to talk to them."""

    addresses: tuple[tuple[str, int], ...]
    token: bytes | None
    fallback: str
    tls: bool
    ca_file: str | None
    dtype: str
    timeout: float


def parse_remote_spec(spec: str) -> RemoteSpec:
    """Parse ``remote://host:port[,host:port…][?options]``; a mistake is an EmbeddingError."""
    parsed = urlparse(spec)
    if parsed.scheme != "remote" or not parsed.netloc:
        raise EmbeddingError(f"expected remote://host:port[,host:port...], got {spec!r}")
    addresses = []
    for part in parsed.netloc.split(","):
        host, sep, port = part.strip().rpartition(":")
        if not sep or not port.isdigit() or not host:
            raise EmbeddingError(f"worker address {part!r} in {spec!r} is not host:port")
        addresses.append((host.strip("[]"), int(port)))
    options = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
    unknown = set(options) - {"token_file", "fallback", "tls", "ca_file", "dtype", "timeout"}
    if unknown:
        raise EmbeddingError(f"unknown option(s) {sorted(unknown)} in {spec!r}")
    token: bytes | None = None
    if "token_file" in options:
        try:
            token = Path(options["token_file"]).expanduser().read_bytes().strip()
        except OSError as exc:
            raise EmbeddingError(f"worker token file: {exc}") from exc
    elif os.environ.get("CODEKIN_WORKER_TOKEN"):
        token = os.environ["CODEKIN_WORKER_TOKEN"].encode().strip()
    fallback = options.get("fallback", "local")
    dtype = options.get("dtype", "f32")
    if fallback not in ("local", "error") or dtype not in ("f16", "f32"):
        raise EmbeddingError(f"{spec!r}: fallback is local or error, dtype is f16 or f32")
    try:
        timeout = float(options.get("timeout", "300"))
    except ValueError:
        raise EmbeddingError(f"{spec!r}: timeout must be a number of seconds") from None
    return RemoteSpec(
        addresses=tuple(addresses),
        token=token,
        fallback=fallback,
        tls=options.get("tls") in ("1", "true"),
        ca_file=options.get("ca_file"),
        dtype=dtype,
        timeout=timeout,
    )


class _Connection:
    """One authenticated connection; one request at a time (the pool gives concurrency)."""

    def __init__(self, address: tuple[str, int], spec: RemoteSpec) -> None:
        self.address = address
        self.limits = Limits()
        raw = socket.create_connection(address, timeout=min(CONNECT_TIMEOUT_S, spec.timeout))
        raw.settimeout(spec.timeout)  # a busy worker may queue a request behind many others
        if spec.tls:
            context = ssl.create_default_context(cafile=spec.ca_file)
            self.sock: socket.socket = context.wrap_socket(raw, server_hostname=address[0])
        else:
            self.sock = raw
        self._ids = count(1)
        try:
            self.hello = self._read()
            if self.hello.get("t") == "error":  # "busy": the worker is at its connection limit
                raise EmbeddingError(
                    f"worker {_name(address)} refused the connection: "
                    f"{self.hello.get('code')}: {self.hello.get('message')}"
                )
            if self.hello.get("t") != "hello" or self.hello.get("v") != PROTOCOL_VERSION:
                raise EmbeddingError(f"worker {_name(address)} speaks another protocol: {self.hello!r:.200}")
            limits = self.hello.get("limits") or {}
            self.limits = Limits(**{k: int(v) for k, v in limits.items() if k in Limits().as_dict()})
            if self.hello.get("auth", "none") != "none":
                if spec.token is None:
                    raise EmbeddingError(
                        f"worker {_name(address)} wants a token: set CODEKIN_WORKER_TOKEN or ?token_file="
                    )
                nonce = self.hello.get("nonce")
                if not isinstance(nonce, bytes):
                    raise EmbeddingError(f"worker {_name(address)} sent no nonce")
                self._write({"t": "auth", "mac": auth_mac(spec.token, nonce)})
                answer = self._read()
                if answer.get("t") != "ready":
                    raise EmbeddingError(
                        f"worker {_name(address)} refused the token: {answer.get('message')}"
                    )
        except BaseException:
            self.sock.close()
            raise

    @property
    def model_id(self) -> str:
        return str(self.hello.get("model"))

    def embed(self, texts: Sequence[str], task: Task, side: Side, dim: int | None, dtype: str) -> Vectors:
        request_id = next(self._ids)
        self._write(
            {
                "t": "embed",
                "id": request_id,
                "texts": list(texts),
                "task": task,
                "side": side,
                "dim": dim,
                "dtype": dtype,
            }
        )
        answer = self._read()
        if answer.get("t") == "error" and answer.get("id") is None:  # about the connection: go elsewhere
            raise ConnectionError(
                f"worker {_name(self.address)} closed the connection: "
                f"{answer.get('code')}: {answer.get('message')}"
            )
        if answer.get("t") == "error":
            raise EmbeddingError(
                f"worker {_name(self.address)}: {answer.get('code')}: {answer.get('message')}"
            )
        if answer.get("t") != "vectors" or answer.get("id") != request_id:
            raise ProtocolError("bad_frame", f"unexpected answer {answer.get('t')!r} to request {request_id}")
        rows, width = int(answer["rows"]), int(answer["dim"])
        if rows != len(texts):
            raise ProtocolError("bad_frame", f"{rows} vectors for {len(texts)} texts")
        return vectors_from_bytes(answer["data"], rows, width, str(answer["dtype"]))

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def idle_and_open(self) -> bool:
        """False once the worker has closed this idle connection or sent on it unasked (an idle timeout):
        between requests nothing may arrive."""
        try:
            if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
                return False
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable

    def _write(self, message: dict[str, Any]) -> None:
        self.sock.sendall(encode_frame(message))

    def _read(self) -> dict[str, Any]:
        header = self._exactly(HEADER.size)
        return decode_body(self._exactly(frame_length(header, self.limits)), self.limits)

    def _exactly(self, size: int) -> bytes:
        chunks, left = [], size
        while left:
            chunk = self.sock.recv(min(left, 1 << 20))
            if not chunk:
                raise ConnectionError(f"worker {_name(self.address)} closed the connection")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)


@dataclass
class _Worker:
    address: tuple[str, int]
    idle: queue.LifoQueue[_Connection] = field(default_factory=queue.LifoQueue)
    failed_at: float = 0.0
    refused: str | None = None
    """Why this worker is never used (another model)."""

    def usable(self) -> bool:
        return self.refused is None and time.monotonic() - self.failed_at > RETRY_AFTER_S


class RemoteEmbedder:
    """An :class:`Embedder` backed by one or more ``codekin worker`` processes."""

    def __init__(
        self, spec: str, local: Callable[[str], Embedder] | None = None, *, reason: str = ""
    ) -> None:
        self.spec = parse_remote_spec(spec)
        self._reason = reason
        self._local_loader = local
        self._local: Embedder | None = None
        self._lock = threading.Lock()
        self._workers = [_Worker(address) for address in self.spec.addresses]
        self._hello: dict[str, Any] | None = None
        self._turn = count()
        self._pool = ThreadPoolExecutor(
            max(1, CONNECTIONS_PER_WORKER * len(self._workers)), thread_name_prefix="codekin-remote"
        )
        problems = []
        for worker in self._workers:  # the first worker that answers names the model
            try:
                worker.idle.put(self._connect(worker))
            except (OSError, EmbeddingError, ProtocolError) as exc:
                worker.failed_at = time.monotonic()
                problems.append(f"{_name(worker.address)}: {exc}")
        if self._hello is None:
            raise EmbeddingError("no worker could be reached: " + "; ".join(problems))
        for problem in problems:
            log.warning("worker %s", problem)

    # -- the Embedder API --------------------------------------------------------------------------

    @property
    def model_id(self) -> str:
        assert self._hello is not None
        return str(self._hello["model"])

    @property
    def dim(self) -> int:
        assert self._hello is not None
        return int(self._hello["dim"])

    @property
    def device(self) -> str:
        return "remote://" + ",".join(_name(w.address) for w in self._workers)

    @property
    def selection_reason(self) -> str:
        assert self._hello is not None
        chosen = f"{self._reason}: " if self._reason else ""
        return f"{chosen}remote worker(s) {self.device[9:]}: {self._hello.get('reason', '')}".rstrip(": ")

    def prefix(self, task: Task, side: Side) -> str:
        check_task_side(task, side)
        assert self._hello is not None
        return str((self._hello.get("prefixes") or {}).get(task, {}).get(side, ""))

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """An estimate: the tokenizer lives with the worker."""
        return estimate_tokens(texts)

    def embed(self, texts: Sequence[str], task: Task, side: Side, dim: int | None = None) -> Vectors:
        check_embed_request(task, side, dim, self.dim, self.model_id)
        if not texts:
            return np.zeros((0, dim or self.dim), dtype=np.float32)
        limits = self._limits()
        clipped = [text[: limits.max_text_chars] for text in texts]
        batches = [clipped[i : i + limits.max_texts] for i in range(0, len(clipped), limits.max_texts)]
        parts = list(self._pool.map(lambda batch: self._embed_batch(batch, task, side, dim), batches))
        return np.concatenate(parts, axis=0)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        for worker in self._workers:
            while not worker.idle.empty():
                worker.idle.get_nowait().close()
        if self._local is not None:
            self._local.close()

    # -- workers -----------------------------------------------------------------------------------

    def _connect(self, worker: _Worker) -> _Connection:
        connection = _Connection(worker.address, self.spec)
        with self._lock:
            if self._hello is None:
                self._hello = connection.hello
            elif (
                connection.model_id != self._hello["model"]
                or connection.hello.get("dim") != self._hello["dim"]
            ):
                worker.refused = f"serves {connection.model_id}, not {self._hello['model']}"
                connection.close()
                log.warning("worker %s refused: it %s", _name(worker.address), worker.refused)
                raise EmbeddingError(f"worker {_name(worker.address)} {worker.refused}")
        return connection

    def _limits(self) -> Limits:
        assert self._hello is not None
        limits = self._hello.get("limits") or {}
        return Limits(**{k: int(v) for k, v in limits.items() if k in Limits().as_dict()})

    def _embed_batch(self, texts: list[str], task: Task, side: Side, dim: int | None) -> Vectors:
        """One batch: each usable worker in turn, starting from the next in rotation; then local."""
        start = next(self._turn)
        order = [self._workers[(start + i) % len(self._workers)] for i in range(len(self._workers))]
        tried = []
        for worker in [w for w in order if w.usable()] or [w for w in order if w.refused is None]:
            try:
                connection = _pooled(worker) or self._connect(worker)
            except (OSError, EmbeddingError, ProtocolError) as exc:
                worker.failed_at = time.monotonic()
                tried.append(f"{_name(worker.address)}: {exc}")
                continue
            try:
                vectors = connection.embed(texts, task, side, dim, self.spec.dtype)
            except (OSError, ProtocolError, ConnectionError) as exc:
                connection.close()
                worker.failed_at = time.monotonic()
                tried.append(f"{_name(worker.address)}: {exc}")
                log.warning("worker %s failed a batch (%s); trying elsewhere", _name(worker.address), exc)
                continue
            except EmbeddingError:
                worker.idle.put(connection)  # a request-level error: the connection is fine, the input not
                raise
            worker.idle.put(connection)
            return vectors
        return self._embed_locally(texts, task, side, dim, "; ".join(tried) or "no usable worker")

    def _embed_locally(self, texts: list[str], task: Task, side: Side, dim: int | None, why: str) -> Vectors:
        if self.spec.fallback == "error" or self._local_loader is None:
            raise EmbeddingError(f"no worker could embed the batch ({why})")
        with self._lock:
            if self._local is None:
                log.warning("every worker failed (%s); embedding locally with %s", why, self.model_id)
                local = self._local_loader(self.model_id)
                if local.model_id != self.model_id:
                    local.close()
                    raise EmbeddingError(
                        f"no worker could embed the batch ({why}), and the local model {local.model_id} "
                        f"is not the workers' {self.model_id}"
                    )
                self._local = local
        return self._local.embed(texts, task=task, side=side, dim=dim)


def _pooled(worker: _Worker) -> _Connection | None:
    """An idle connection to ``worker`` that is still open; those the worker closed meanwhile are dropped."""
    while not worker.idle.empty():
        connection = worker.idle.get_nowait()
        if connection.idle_and_open():
            return connection
        log.debug("worker %s closed an idle connection; dropping it", _name(worker.address))
        connection.close()
    return None


def _name(address: tuple[str, int]) -> str:
    return f"{address[0]}:{address[1]}"
