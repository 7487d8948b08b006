"""The Embedder API served by an OpenAI-compatible engine: ``openai+https://host[:port]/v1?model=NAME``.

Any server of ``POST {base}/embeddings`` in OpenAI's format will do (vLLM, TEI, Infinity, llama.cpp's
server, OpenAI itself); ``openai+http://`` for plain HTTP. The spec's options are described in
:mod:`.openai_spec`.

Requests that fail with HTTP 429 or 5xx, a timeout or a broken connection are tried again after
an exponential backoff with jitter (or after the ``Retry-After`` the engine asked for), at most
``attempts`` times in all; any other 4xx fails at once with the engine's own message. A failure
never yields a vector: the caller stores nothing and the units stay pending.

The dimension is learnt at construction from one short request, which fails fast when the engine
cannot be reached. The model id is ``openai:NAME`` (plus ``+prefixes=STYLE`` and ``+dim=N`` when
they apply): the engine's address is not part of it, so the same model served elsewhere keeps its
index, while vectors from another serving stack never mix with a local embedder's. The protocol
notes are in docs/worker-protocol.md ("OpenAI-compatible engines").
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import http.client
import json
import logging
import os
import queue
import random
import socket
import ssl
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from .base import (
    EmbeddingError,
    Side,
    Task,
    Vectors,
    check_embed_request,
    check_task_side,
    estimate_tokens,
    truncate_dim,
)
from .openai_spec import parse_openai_spec, profile_for_model
from .prefixes import prefix_for

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5.0
"""At most this long to resolve the host and open a connection (the answer may take ``timeout``)."""
BACKOFF_BASE_S = 0.25
BACKOFF_CAP_S = 8.0
RETRY_AFTER_CAP_S = 60.0
"""A ``Retry-After`` longer than this is cut to it."""
PROBE_TEXT = "def hello():\n    return 'world'\n"


class EngineRejected(EmbeddingError):
    """The engine refused the request itself (a 4xx other than 429): trying again would not help."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class OpenAIEmbedder:
    """An :class:`Embedder` backed by an OpenAI-compatible ``/embeddings`` endpoint."""

    def __init__(self, spec: str) -> None:
        self.spec = parse_openai_spec(spec)
        key = os.environ.get(self.spec.key_env, "").strip()
        if self.spec.key_required and not key:
            raise EmbeddingError(
                f"key_env={self.spec.key_env} names an environment variable that is not set (or empty)"
            )
        self._key = key or None
        self._engine_dimensions = self.spec.send_dimensions
        self._idle: queue.LifoQueue[http.client.HTTPConnection] = queue.LifoQueue()
        self._closed = threading.Event()
        self._ssl = ssl.create_default_context(cafile=self.spec.ca_file) if self.spec.tls else None
        self._pool = ThreadPoolExecutor(self.spec.concurrency, thread_name_prefix="codekin-openai")
        try:
            _resolve(self.spec.host, self.spec.port)
            probe = self._request([PROBE_TEXT], None, retry_connection=False)
        except BaseException:
            self.close()
            raise
        self._native_dim = int(probe.shape[1])
        if self.spec.dim is not None and self.spec.dim > self._native_dim:
            self.close()
            raise EmbeddingError(
                f"dim={self.spec.dim} asked, but {self.spec.model} at {self.spec.url} gives "
                f"{self._native_dim}-dimensional vectors"
            )
        self._dim = self.spec.dim or self._native_dim
        profile = self.spec.profile or profile_for_model(self.spec.model)
        if profile is not None and profile.dim != self._native_dim:
            log.warning(
                "%s at %s gives %d-dimensional vectors; profile %s has %d: is it the same model?",
                self.spec.model,
                self.spec.url,
                self._native_dim,
                profile.name,
                profile.dim,
            )

    # -- the Embedder API --------------------------------------------------------------------------

    @property
    def model_id(self) -> str:
        model_id = f"openai:{self.spec.model}"
        if self.spec.prefix_style != "none":
            model_id += f"+prefixes={self.spec.prefix_style}"
        if self._dim != self._native_dim:
            model_id += f"+dim={self._dim}"
        return model_id

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def device(self) -> str:
        return f"openai+{self.spec.url}"

    @property
    def selection_reason(self) -> str:
        return (
            f"named: OpenAI-compatible engine {self.spec.url} serving {self.spec.model} "
            f"({self._native_dim} dims; prefixes {self.spec.prefix_source})"
        )

    def prefix(self, task: Task, side: Side) -> str:
        check_task_side(task, side)
        return prefix_for(self.spec.prefix_style, task, side)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """An estimate: the tokenizer lives with the engine."""
        return estimate_tokens(texts)

    def embed(self, texts: Sequence[str], task: Task, side: Side, dim: int | None = None) -> Vectors:
        check_embed_request(task, side, dim, self._dim, self.model_id)
        want = dim or self._dim
        if not texts:
            return np.zeros((0, want), dtype=np.float32)
        prefix = prefix_for(self.spec.prefix_style, task, side)
        # Engines refuse an empty input: a text that is empty even with its prefix goes as one space.
        inputs = [(prefix + text[: self.spec.max_chars]) or " " for text in texts]
        size = self.spec.batch
        batches = [inputs[i : i + size] for i in range(0, len(inputs), size)]
        if len(batches) == 1:
            return self._embed_batch(batches[0], want)
        return np.concatenate(list(self._pool.map(lambda batch: self._embed_batch(batch, want), batches)))

    def close(self) -> None:
        self._closed.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        while not self._idle.empty():
            with contextlib.suppress(queue.Empty):
                self._idle.get_nowait().close()

    # -- requests ----------------------------------------------------------------------------------

    def _embed_batch(self, inputs: list[str], want: int) -> Vectors:
        ask = want if want < self._native_dim and self._engine_dimensions else None
        try:
            vectors = self._request(inputs, ask)
        except EngineRejected as exc:
            if ask is None or exc.status not in (400, 422):
                raise
            vectors = self._request(inputs, None)  # fails in its turn when dimensions was not the cause
            if self._engine_dimensions:
                self._engine_dimensions = False
                log.info(
                    "%s refuses the dimensions field (%s); truncating vectors here instead",
                    self.spec.url,
                    exc,
                )
        if vectors.shape[1] < want:
            raise EmbeddingError(
                f"{self.spec.url} returned {vectors.shape[1]}-dimensional vectors, {want} were asked"
            )
        return truncate_dim(vectors, want)

    def _request(
        self, inputs: list[str], dimensions: int | None, *, retry_connection: bool = True
    ) -> npt.NDArray[np.float32]:
        """One POST, tried again on 429, 5xx and connection failures; the raw vectors in input order."""
        payload: dict[str, Any] = {"model": self.spec.model, "input": inputs, "encoding_format": "float"}
        if dimensions is not None:
            payload["dimensions"] = dimensions
        body = json.dumps(payload).encode("utf-8")
        last = ""
        for attempt in range(self.spec.attempts):
            if self._closed.is_set() and attempt:
                break
            vectors, last, retry_after = self._attempt(body, len(inputs), retry_connection)
            if vectors is not None:
                return vectors
            if attempt + 1 < self.spec.attempts:
                if retry_after is None:
                    retry_after = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt) * random.uniform(0.5, 1.0)
                log.warning(
                    "%s: %s; trying again in %.2f s (attempt %d of %d)",
                    self.spec.url,
                    last,
                    retry_after,
                    attempt + 2,
                    self.spec.attempts,
                )
                if self._closed.wait(retry_after):
                    break
        if self._closed.is_set():
            raise EmbeddingError(f"the embedder for {self.spec.url} was closed")
        raise EmbeddingError(
            f"the embedding engine at {self.spec.url} failed {self.spec.attempts} attempt(s); "
            f"the last: {last}"
        )

    def _attempt(
        self, body: bytes, expected: int, retry_connection: bool
    ) -> tuple[npt.NDArray[np.float32] | None, str, float | None]:
        """One POST: its vectors, or why it failed and the wait the engine asked for (None: not said).

        A failure that trying again would not mend raises instead.
        """
        try:
            status, headers, data = self._post(body)
        except (OSError, http.client.HTTPException) as exc:
            if not retry_connection:
                raise EmbeddingError(
                    f"cannot reach the embedding engine at {self.spec.url} ({type(exc).__name__}: "
                    f"{exc}); is it running and is the address right?"
                ) from None
            return None, f"cannot reach the engine: {type(exc).__name__}: {exc}".rstrip(": "), None
        if status == 200:
            return self._parse(data, expected), "", None
        message = self._scrub(_engine_message(data))
        if status != 429 and status < 500:
            raise self._rejected(status, message)
        return None, f"HTTP {status}: {message}", _retry_after(headers.get("Retry-After"))

    def _rejected(self, status: int, message: str) -> EngineRejected:
        """The error for a 4xx, with a hint where the status points at a usual mistake."""
        hint = ""
        if status in (401, 403):
            hint = f"; the API key is read from ${self.spec.key_env}"
            hint += ", which is set" if self._key else ", which is not set"
        elif status in (404, 405):
            hint = f"; is {self.spec.endpoint} the engine's path? the base usually ends in /v1"
        return EngineRejected(f"{self.spec.url} refused the request (HTTP {status}{hint}): {message}", status)

    def _post(self, body: bytes) -> tuple[int, http.client.HTTPMessage, bytes]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        reused: http.client.HTTPConnection | None = None
        with contextlib.suppress(queue.Empty):
            reused = self._idle.get_nowait()
        while True:
            connection = reused if reused is not None else self._connect()
            try:
                connection.request("POST", self.spec.endpoint, body, headers)
                response = connection.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                connection.close()
                if reused is not None:
                    reused = None
                    continue  # the engine closed an idle keep-alive connection: once more on a fresh one
                raise
            except BaseException:
                connection.close()
                raise
            if response.will_close or self._closed.is_set():
                connection.close()
            else:
                self._idle.put(connection)
            return response.status, response.headers, data

    def _connect(self) -> http.client.HTTPConnection:
        timeout = min(CONNECT_TIMEOUT_S, self.spec.timeout)
        connection: http.client.HTTPConnection
        if self._ssl is not None:
            connection = http.client.HTTPSConnection(
                self.spec.host, self.spec.port, timeout=timeout, context=self._ssl
            )
        else:
            connection = http.client.HTTPConnection(self.spec.host, self.spec.port, timeout=timeout)
        connection.connect()
        assert connection.sock is not None
        connection.sock.settimeout(self.spec.timeout)
        return connection

    def _parse(self, data: bytes, expected: int) -> npt.NDArray[np.float32]:
        try:
            items = json.loads(data)["data"]
            if len(items) != expected:
                raise ValueError(f"{len(items)} embeddings for {expected} inputs")
            items = sorted(items, key=lambda item: int(item.get("index", 0))) if expected > 1 else items
            rows = [_vector(item["embedding"]) for item in items]
            if len({row.shape[0] for row in rows}) != 1:
                raise ValueError("embeddings of different lengths in one answer")
            return np.stack(rows)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise EmbeddingError(f"{self.spec.url} answered with no usable embeddings: {exc}") from None

    def _scrub(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text


def _vector(value: Any) -> npt.NDArray[np.float32]:
    if isinstance(value, str):  # an engine that answers base64 whatever it was asked
        return np.frombuffer(base64.b64decode(value), dtype="<f4").astype(np.float32)
    row = np.asarray(value, dtype=np.float32)
    if row.ndim != 1 or row.size == 0:
        raise ValueError("an embedding is not a list of numbers")
    return row


def _engine_message(data: bytes) -> str:
    """The error message in any of the engines' shapes (OpenAI, vLLM, TEI, FastAPI), else the body."""
    text = data.decode("utf-8", errors="replace").strip()
    try:
        body = json.loads(text)
    except ValueError:
        return text[:500] or "(no message)"
    found: Any = body
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            found = error.get("message") or error
        elif error:
            found = error
        elif body.get("message"):
            found = body["message"]
        elif body.get("detail"):
            found = body["detail"]
    message = found if isinstance(found, str) else json.dumps(found)
    return message[:500]


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date), capped."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return min(RETRY_AFTER_CAP_S, max(0.0, seconds))


def _resolve(host: str, port: int, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Resolve ``host`` in a daemon thread, so that a resolver that never answers cannot hang the caller."""
    result: list[str] = []

    def lookup() -> None:
        try:
            socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            result.append("")
        except OSError as exc:
            result.append(str(exc))

    thread = threading.Thread(target=lookup, daemon=True)
    thread.start()
    thread.join(timeout)
    if not result:
        raise EmbeddingError(f"cannot resolve the embedding engine's host {host!r} within {timeout:.0f} s")
    if result[0]:
        raise EmbeddingError(f"cannot resolve the embedding engine's host {host!r}: {result[0]}")
