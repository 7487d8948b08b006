"""The Embedder API served by an OpenAI-compatible engine: ``openai+https://host[:port]/v1?model=NAME``.

Any server of ``POST {base}/embeddings`` in OpenAI's format will do (vLLM, TEI, Infinity, llama.cpp's
server, OpenAI itself); ``openai+http://`` for plain HTTP. Options (percent-encode ``+`` and ``&`` in
values):

* ``model=NAME``: the model as the engine names it (required unless ``profile=`` is given, whose hub
  id is then the name);
* ``key_env=VAR``: the environment variable that holds the API key (default ``OPENAI_API_KEY``; when
  that one is unset no key is sent; a ``key_env`` that is named but unset is an error). The key goes
  in ``Authorization: Bearer …`` and nowhere else: never in a log line or an error message;
* ``prefixes=jina|qwen3|none``: the instruction prefixes the client puts in front of each text
  (these engines apply none of codekin's). Else ``profile=`` (``jina-code-0.5b``, …) gives its
  prefixes; else a model name that is a profile's hub id (or the last part of one) gives that
  profile's; else none;
* ``dim=N``: serve N-dimensional (Matryoshka-truncated) vectors only; it shows in the model id;
* ``dimensions=1|0``: whether to ask the engine for truncated vectors with the request's
  ``dimensions`` field (default 1). An engine that refuses it (HTTP 400/422) is asked without it
  from then on and the vectors are truncated here instead (the same vectors: the leading k
  components, normalised again);
* ``batch=N`` texts per request (default 64), ``concurrency=N`` requests in flight (default 2),
  ``timeout=S`` seconds to wait for an answer (default 60; connecting waits at most 5),
  ``attempts=N`` (default 5), ``max_chars=N`` characters kept of each text (default 32768),
  ``ca_file=F`` to trust another certificate authority over HTTPS.

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
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

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
from .profiles import PROFILES, PrefixStyle, Profile, prefix_for, profile_for_hub_id

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5.0
"""At most this long to resolve the host and open a connection (the answer may take ``timeout``)."""
BACKOFF_BASE_S = 0.25
BACKOFF_CAP_S = 8.0
RETRY_AFTER_CAP_S = 60.0
"""A ``Retry-After`` longer than this is cut to it."""
PROBE_TEXT = "def hello():\n    return 'world'\n"
_OPTIONS = (
    "model", "key_env", "dim", "prefixes", "profile", "dimensions", "batch", "timeout", "attempts",
    "concurrency", "max_chars", "ca_file",
)  # fmt: skip
_STYLES: tuple[PrefixStyle, ...] = ("jina", "qwen3", "none")


@dataclass(frozen=True)
class OpenAISpec:
    url: str
    """``http(s)://host:port/path`` of the API base, without the options (shown in logs and status)."""
    tls: bool
    host: str
    port: int
    endpoint: str
    """The request path: the base's path and ``/embeddings``."""
    model: str
    key_env: str
    key_required: bool
    dim: int | None
    prefix_style: PrefixStyle
    prefix_source: str
    profile: Profile | None
    send_dimensions: bool
    batch: int
    concurrency: int
    timeout: float
    attempts: int
    max_chars: int
    ca_file: str | None


def parse_openai_spec(spec: str) -> OpenAISpec:
    """Check an ``openai+http(s)://`` spec and fill in the defaults; errors name the bad part."""
    parsed = urlparse(spec.strip())
    if parsed.scheme not in ("openai+http", "openai+https") or not parsed.hostname:
        raise EmbeddingError(f"expected openai+http(s)://host[:port]/v1?model=NAME, got {spec!r}")
    if parsed.username or parsed.password:
        raise EmbeddingError(
            f"{parsed.scheme}:// takes no credentials in the address: put the API key in an environment "
            "variable and name it with ?key_env=VAR (default OPENAI_API_KEY)"
        )
    tls = parsed.scheme == "openai+https"
    try:
        port = parsed.port or (443 if tls else 80)
    except ValueError as exc:
        raise EmbeddingError(f"bad port in {spec!r}: {exc}") from None
    raw = parse_qs(parsed.query, keep_blank_values=True)
    options = {key: values[-1] for key, values in raw.items()}
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise EmbeddingError(f"unknown option(s) {unknown} in {spec!r}; known: {', '.join(_OPTIONS)}")

    profile: Profile | None = None
    if "profile" in options:
        profile = PROFILES.get(options["profile"])
        if profile is None:
            raise EmbeddingError(
                f"unknown profile {options['profile']!r} in {spec!r}; expected one of {', '.join(PROFILES)}"
            )
    model = options.get("model", "").strip() or (profile.hub_id if profile is not None else "")
    if not model:
        raise EmbeddingError(f"{spec!r} names no model: add ?model=NAME (the engine's name for it)")

    style: str
    if "prefixes" in options:
        style, source = options["prefixes"], "named with prefixes="
        if style not in _STYLES:
            raise EmbeddingError(f"prefixes must be one of {', '.join(_STYLES)}, got {style!r}")
    elif profile is not None:
        style, source = profile.prefix_style, f"those of profile {profile.name}"
    else:
        known = _profile_for_model(model)
        if known is not None:
            style, source = known.prefix_style, f"those of profile {known.name}, inferred from the model name"
        else:
            style, source = "none", "none: the model name matches no profile (set prefixes= to change)"

    def number(name: str, default: float | None, kind: type = int) -> Any:
        if name not in options:
            return default
        try:
            value = kind(options[name])
        except ValueError:
            raise EmbeddingError(f"{spec!r}: {name} must be a number, got {options[name]!r}") from None
        if value <= 0:
            raise EmbeddingError(f"{spec!r}: {name} must be positive, got {options[name]!r}")
        return value

    if options.get("dimensions", "1") not in ("0", "1", "true", "false"):
        raise EmbeddingError(f"{spec!r}: dimensions is 1 or 0, got {options['dimensions']!r}")
    path = parsed.path.rstrip("/")
    host = parsed.hostname
    netloc = f"[{host}]" if ":" in host else host
    return OpenAISpec(
        url=f"{'https' if tls else 'http'}://{netloc}:{port}{path}",
        tls=tls,
        host=host,
        port=port,
        endpoint=f"{path}/embeddings",
        model=model,
        key_env=options.get("key_env") or "OPENAI_API_KEY",
        key_required="key_env" in options,
        dim=number("dim", None),
        prefix_style=style,  # type: ignore[arg-type]
        prefix_source=source,
        profile=profile,
        send_dimensions=options.get("dimensions", "1") in ("1", "true"),
        batch=number("batch", 64),
        concurrency=number("concurrency", 2),
        timeout=number("timeout", 60.0, float),
        attempts=number("attempts", 5),
        max_chars=number("max_chars", 32_768),
        ca_file=options.get("ca_file") or None,
    )


def _profile_for_model(model: str) -> Profile | None:
    """The profile whose hub id is ``model``, or ends with it (engines often serve a short name)."""
    known = profile_for_hub_id(model)
    if known is not None:
        return known
    return next((p for p in PROFILES.values() if p.hub_id.split("/")[-1].lower() == model.lower()), None)


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
        profile = self.spec.profile or _profile_for_model(self.spec.model)
        if profile is not None and profile.dim != self._native_dim:
            log.warning(
                "%s at %s gives %d-dimensional vectors; profile %s has %d: is it the same model?",
                self.spec.model, self.spec.url, self._native_dim, profile.name, profile.dim,
            )  # fmt: skip

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
            retry_after: float | None = None
            try:
                status, headers, data = self._post(body)
            except (OSError, http.client.HTTPException) as exc:
                last = f"cannot reach the engine: {type(exc).__name__}: {exc}".rstrip(": ")
                if not retry_connection:
                    raise EmbeddingError(
                        f"cannot reach the embedding engine at {self.spec.url} ({type(exc).__name__}: "
                        f"{exc}); is it running and is the address right?"
                    ) from None
            else:
                if status == 200:
                    return self._parse(data, len(inputs))
                message = self._scrub(_engine_message(data))
                if status != 429 and status < 500:
                    hint = ""
                    if status in (401, 403):
                        hint = f"; the API key is read from ${self.spec.key_env}"
                        hint += ", which is set" if self._key else ", which is not set"
                    elif status in (404, 405):
                        hint = f"; is {self.spec.endpoint} the engine's path? the base usually ends in /v1"
                    raise EngineRejected(
                        f"{self.spec.url} refused the request (HTTP {status}{hint}): {message}", status
                    )
                last = f"HTTP {status}: {message}"
                retry_after = _retry_after(headers.get("Retry-After"))
            if attempt + 1 < self.spec.attempts:
                if retry_after is None:
                    retry_after = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt) * random.uniform(0.5, 1.0)
                log.warning(
                    "%s: %s; trying again in %.2f s (attempt %d of %d)",
                    self.spec.url, last, retry_after, attempt + 2, self.spec.attempts,
                )  # fmt: skip
                if self._closed.wait(retry_after):
                    break
        if self._closed.is_set():
            raise EmbeddingError(f"the embedder for {self.spec.url} was closed")
        raise EmbeddingError(
            f"the embedding engine at {self.spec.url} failed {self.spec.attempts} attempt(s); "
            f"the last: {last}"
        )

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
