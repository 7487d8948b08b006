"""The OpenAI-compatible HTTP embedder against a real HTTP server on loopback.

The stand-in engine serves ``/v1/embeddings`` by running codekin's own local MiniLM embedder (which
has no prefixes, so it embeds exactly the inputs it receives), records what it was sent, and can be
told to fail: 429, 503, 401, 400 for ``dimensions``. A test against a real engine (Infinity, vLLM,
TEI, …) runs when ``CODEKIN_ENGINE_URL`` names one that serves all-MiniLM-L6-v2 (see
bench/openai_engine.py and docs/worker-protocol.md).
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from collections.abc import Iterator
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lsp_server.config import Settings
from lsp_server.embedding import load_embedder
from lsp_server.embedding.base import Embedder, EmbeddingError, truncate_dim
from lsp_server.embedding.openai_http import OpenAIEmbedder
from lsp_server.embedding.prefixes import JINA_PREFIXES
from lsp_server.index.indexer import WorkspaceIndex
from lsp_server.retrieval import queries
from tests.workspace_fixture import make_workspace

MINILM_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
TEXTS = ["def add(a, b):\n    return a + b\n", "sort a list of numbers", "class Stack:\n    pass\n" * 3]
SECRET = "sk-test-0123456789abcdef"
Answer = tuple[int, dict[str, Any], dict[str, str]]
"""An engine's answer: the HTTP status, the JSON body and extra headers."""


@pytest.fixture(scope="module")
def minilm() -> Embedder:
    return load_embedder("minilm", "cpu")


class StandIn:
    """An OpenAI-compatible engine on 127.0.0.1 that embeds with the local MiniLM."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.auth: list[str | None] = []
        self.failures: list[tuple[int, dict[str, str]]] = []
        self.reject_dimensions = False
        self.required_key: str | None = None
        self.drop_connections = False
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.stand_in = self
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def respond(self, payload: dict[str, Any], auth: str | None) -> Answer:
        """The status, body and headers this engine answers a request for embeddings with."""
        with self.lock:
            self.requests.append(payload)
            self.auth.append(auth)
            failure = self.failures.pop(0) if self.failures else None
        if failure is not None:
            status, headers = failure
            return status, {"error": {"message": f"failing on purpose ({status})"}}, headers
        if self.required_key and auth != f"Bearer {self.required_key}":
            # Like some engines, echo what was sent: the client must scrub it.
            message = f"Incorrect API key provided: {(auth or '').removeprefix('Bearer ')}"
            return 401, {"error": {"message": message, "type": "invalid_request_error"}}, {}
        if "dimensions" in payload and self.reject_dimensions:
            return 400, {"object": "error", "message": "dimensions is not supported"}, {}
        with self.lock:  # one model call at a time, as a single engine worker does
            vectors = self.embedder.embed(payload["input"], task="nl2code", side="passage")
        if "dimensions" in payload:
            vectors = truncate_dim(vectors, int(payload["dimensions"]))
        data = [{"object": "embedding", "index": i, "embedding": v.tolist()} for i, v in enumerate(vectors)]
        random.shuffle(data)  # the index field, not the position, gives the order
        return 200, {"object": "list", "data": data, "model": payload["model"]}, {}

    def spec(self, options: str = "") -> str:
        query = f"model={MINILM_HUB_ID}" + (f"&{options}" if options else "")
        return f"openai+http://127.0.0.1:{self.port}/v1?{query}"

    def fail_next(self, count: int, status: int, headers: dict[str, str] | None = None) -> None:
        with self.lock:
            self.failures.extend([(status, headers or {})] * count)

    def inputs(self) -> list[str]:
        """Every text received since the last reset, the construction probe excluded."""
        return [text for request in self.requests for text in request["input"]]

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.auth.clear()
            self.failures.clear()
        self.reject_dimensions, self.required_key, self.drop_connections = False, None, False

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Server(ThreadingHTTPServer):
    stand_in: StandIn


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real engines do
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path != "/v1/embeddings":
            return self.answer(404, {"detail": "Not Found"}, {})
        stand_in = self.server.stand_in
        status, answer, headers = stand_in.respond(json.loads(body), self.headers.get("Authorization"))
        self.answer(status, answer, headers)
        if status == 200 and stand_in.drop_connections:
            self.close_connection = True  # closes an idle keep-alive connection without saying so

    def answer(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def engine(minilm: Embedder) -> Iterator[StandIn]:
    stand_in = StandIn(minilm)
    yield stand_in
    stand_in.close()


@pytest.fixture
def standin(engine: StandIn) -> Iterator[StandIn]:
    engine.reset()
    yield engine
    engine.reset()


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_vectors_equal_the_local_embedders(
    standin: StandIn, minilm: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    emb = load_embedder(standin.spec())
    try:
        assert isinstance(emb, OpenAIEmbedder) and isinstance(emb, Embedder)
        assert emb.model_id == f"openai:{MINILM_HUB_ID}" and emb.dim == 384
        assert emb.device == f"openai+http://127.0.0.1:{standin.port}/v1"
        assert "profile minilm" in emb.selection_reason and emb.prefix("nl2code", "query") == ""
        for task, side in (("code2code", "passage"), ("nl2code", "query"), ("qa", "query")):
            got = emb.embed(TEXTS, task=task, side=side)  # type: ignore[arg-type]
            want = minilm.embed(TEXTS, task=task, side=side)  # type: ignore[arg-type]
            assert got.dtype == np.float32 and got.shape == (3, 384)
            assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
            assert _cosines(got, want).min() >= 0.9999
        assert emb.embed([], "qa", "passage").shape == (0, 384)
        assert emb.count_tokens(["abcdefgh", ""]) == [2, 1]
        assert standin.requests[0]["encoding_format"] == "float" and "dimensions" not in standin.requests[0]
        assert set(standin.auth) == {None}  # no key anywhere: no Authorization header
    finally:
        emb.close()


def test_input_order_is_kept_over_batches(standin: StandIn, minilm: Embedder) -> None:
    texts = [f"def f{i}(x):\n    return x * {i} + {i % 3}\n" for i in range(23)]
    emb = load_embedder(standin.spec("batch=5&concurrency=3"))
    try:
        standin.reset()
        got = emb.embed(texts, "code2code", "passage")
        assert sorted(len(r["input"]) for r in standin.requests) == [3, 5, 5, 5, 5]
        assert sorted(standin.inputs()) == sorted(texts)
        assert _cosines(got, minilm.embed(texts, "code2code", "passage")).min() >= 0.9999
    finally:
        emb.close()


def test_prefixes_are_applied_by_the_client(standin: StandIn) -> None:
    code = "x = [i * i for i in range(10)]"
    cases = [
        ("prefixes=jina", "+prefixes=jina"),
        ("profile=jina-code-0.5b", "+prefixes=jina"),
        ("prefixes=qwen3", "+prefixes=qwen3"),
    ]
    for options, suffix in cases:
        emb = load_embedder(standin.spec(options))
        try:
            assert emb.model_id == f"openai:{MINILM_HUB_ID}{suffix}"
            standin.reset()
            emb.embed([code], "code2code", "passage")
            emb.embed([code], "nl2code", "query")
            passage, query = standin.inputs()
            if "qwen3" in options:
                assert passage == code  # Qwen3-Embedding instructs queries only
                assert query.startswith("Instruct: ") and query.endswith("\nQuery:" + code)
            else:
                assert passage == "Candidate code snippet:\n" + code
                assert query == JINA_PREFIXES["nl2code"]["query"] + code
        finally:
            emb.close()
    # The model name alone names the profile (and so the prefixes) when it is a profile's hub id.
    spec = standin.spec().replace(MINILM_HUB_ID, "jinaai/jina-code-embeddings-0.5b")
    emb = load_embedder(spec)
    try:
        assert emb.model_id == "openai:jinaai/jina-code-embeddings-0.5b+prefixes=jina"
        assert "inferred from the model name" in emb.selection_reason
        assert standin.requests[-1]["model"] == "jinaai/jina-code-embeddings-0.5b"
    finally:
        emb.close()
    emb = load_embedder(spec + "&prefixes=none")
    assert emb.model_id == "openai:jinaai/jina-code-embeddings-0.5b" and emb.prefix("qa", "query") == ""
    emb.close()


def test_429_and_5xx_are_tried_again(
    standin: StandIn, minilm: Embedder, caplog: pytest.LogCaptureFixture
) -> None:
    emb = load_embedder(standin.spec())
    try:
        standin.reset()
        standin.fail_next(2, 429, {"Retry-After": "0"})
        got = emb.embed(TEXTS, "code2code", "passage")
        assert len(standin.requests) == 3
        assert _cosines(got, minilm.embed(TEXTS, "code2code", "passage")).min() >= 0.9999
        standin.reset()
        standin.fail_next(1, 503)  # no Retry-After: the client's own backoff (a fraction of a second)
        standin.fail_next(1, 502, {"Retry-After": formatdate(time.time() - 5, usegmt=True)})  # a date passed
        started = time.monotonic()
        emb.embed(TEXTS, "code2code", "passage")
        assert len(standin.requests) == 3 and time.monotonic() - started < 3
        assert any("HTTP 503" in r.getMessage() and "trying again" in r.getMessage() for r in caplog.records)
    finally:
        emb.close()


def test_too_many_failures_end_in_an_error(standin: StandIn) -> None:
    emb = load_embedder(standin.spec("attempts=3"))
    try:
        standin.reset()
        standin.fail_next(10, 503, {"Retry-After": "0"})
        with pytest.raises(EmbeddingError, match=r"failed 3 attempt\(s\).*HTTP 503.*failing on purpose"):
            emb.embed(TEXTS, "code2code", "passage")
        assert len(standin.requests) == 3
    finally:
        emb.close()


def test_other_4xx_fail_at_once_and_the_key_stays_secret(
    standin: StandIn, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    standin.required_key = "the-right-key"
    monkeypatch.setenv("CODEKIN_TEST_KEY", SECRET)
    started = time.monotonic()
    with pytest.raises(
        EmbeddingError, match=r"HTTP 401; the API key is read from \$CODEKIN_TEST_KEY, which is set\)"
    ) as failure:
        load_embedder(standin.spec("key_env=CODEKIN_TEST_KEY"))
    assert time.monotonic() - started < 2 and len(standin.requests) == 1  # no retry
    assert standin.auth == [f"Bearer {SECRET}"]  # the key was sent, as a bearer token
    assert SECRET not in str(failure.value) and "Incorrect API key provided: ***" in str(failure.value)
    assert all(SECRET not in record.getMessage() for record in caplog.records)
    # The right key works; a named variable that is not set is an error before any request.
    monkeypatch.setenv("CODEKIN_TEST_KEY", "the-right-key")
    emb = load_embedder(standin.spec("key_env=CODEKIN_TEST_KEY"))
    emb.embed(TEXTS, "qa", "passage")
    emb.close()
    monkeypatch.delenv("CODEKIN_TEST_KEY")
    with pytest.raises(
        EmbeddingError, match="CODEKIN_TEST_KEY names an environment variable that is not set"
    ):
        load_embedder(standin.spec("key_env=CODEKIN_TEST_KEY"))
    # A 400 that is not about dimensions: at once, with the engine's own message.
    standin.reset()
    emb = load_embedder(standin.spec())
    standin.fail_next(1, 400)
    with pytest.raises(EmbeddingError, match=r"HTTP 400\): failing on purpose \(400\)"):
        emb.embed(TEXTS, "qa", "passage")
    emb.close()


def test_a_wrong_path_says_so(standin: StandIn) -> None:
    with pytest.raises(EmbeddingError, match=r"HTTP 404; is /embeddings the engine's path\?.*\): Not Found"):
        load_embedder(standin.spec().replace("/v1?", "?"))


def test_dimensions_are_asked_for_or_truncated_here(standin: StandIn, minilm: Embedder) -> None:
    want = truncate_dim(minilm.embed(TEXTS, "code2code", "passage"), 128)
    emb = load_embedder(standin.spec())
    try:
        standin.reset()
        got = emb.embed(TEXTS, "code2code", "passage", dim=128)
        assert standin.requests[-1]["dimensions"] == 128 and got.shape == (3, 128)
        assert _cosines(got, want).min() >= 0.9999
        standin.reset()
        standin.reject_dimensions = True
        got = emb.embed(TEXTS, "code2code", "passage", dim=128)
        assert ["dimensions" in r for r in standin.requests] == [True, False]
        assert got.shape == (3, 128) and np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
        assert _cosines(got, want).min() >= 0.9999
        emb.embed(TEXTS, "code2code", "passage", dim=64)  # remembered: not asked again
        assert ["dimensions" in r for r in standin.requests] == [True, False, False]
        with pytest.raises(ValueError, match="dim must be between 1 and 384"):
            emb.embed(TEXTS, "code2code", "passage", dim=500)
    finally:
        emb.close()
    standin.reset()
    emb = load_embedder(standin.spec("dim=256&dimensions=0"))  # a smaller model: in the id, never asked
    try:
        assert emb.dim == 256 and emb.model_id == f"openai:{MINILM_HUB_ID}+dim=256"
        got = emb.embed(TEXTS, "code2code", "passage")
        assert got.shape == (3, 256) and not any("dimensions" in r for r in standin.requests)
        assert _cosines(got, truncate_dim(minilm.embed(TEXTS, "code2code", "passage"), 256)).min() >= 0.9999
    finally:
        emb.close()
    with pytest.raises(EmbeddingError, match=r"dim=1000 asked.*384-dimensional"):
        load_embedder(standin.spec("dim=1000"))


def test_a_dropped_keep_alive_connection_is_reopened_at_once(
    standin: StandIn, caplog: pytest.LogCaptureFixture
) -> None:
    standin.drop_connections = True
    emb = load_embedder(standin.spec())
    try:
        for _ in range(3):
            emb.embed(TEXTS, "qa", "passage")
        assert not any("trying again" in record.getMessage() for record in caplog.records)
    finally:
        emb.close()


def test_an_index_built_through_the_engine_answers_like_the_local_one(
    standin: StandIn, minilm: Embedder, tmp_path: Path
) -> None:
    root = make_workspace(tmp_path / "ws")
    emb = load_embedder(standin.spec("batch=16"))
    remote = WorkspaceIndex(root, Settings(index_dir=str(tmp_path / "openai-index")), emb)
    local = WorkspaceIndex(root, Settings(index_dir=str(tmp_path / "local-index")), minilm)
    try:
        summary = remote.update(("code", "docs"))
        local.update(("code", "docs"))
        assert summary.embedded > 0 and remote.pending_count("code") == 0
        for query in ("add up values", "turn a title into a url slug", "read a JSON configuration file"):
            assert [(h.path, h.name) for h in queries.search(remote, query, 5)] == [
                (h.path, h.name) for h in queries.search(local, query, 5)
            ]
    finally:
        remote.close()
        local.close()
        emb.close()


ENGINE_URL = os.environ.get("CODEKIN_ENGINE_URL", "")


@pytest.mark.skipif(
    not ENGINE_URL,
    reason="set CODEKIN_ENGINE_URL to an OpenAI-compatible engine serving all-MiniLM-L6-v2 "
    "(e.g. openai+http://127.0.0.1:7997/v1?model=all-MiniLM-L6-v2; bench/openai_engine.py starts Infinity)",
)
def test_a_real_engine_gives_the_local_vectors(minilm: Embedder) -> None:
    spec = ENGINE_URL if ENGINE_URL.startswith("openai+") else "openai+" + ENGINE_URL
    emb = load_embedder(spec)
    try:
        assert emb.dim == 384
        texts = TEXTS + [f"def f{i}(x):\n    return x ** {i}\n" for i in range(40)]
        for task, side in (("code2code", "passage"), ("nl2code", "query")):
            got = emb.embed(texts, task, side)  # type: ignore[arg-type]
            want = minilm.embed(texts, task, side)  # type: ignore[arg-type]
            assert _cosines(got, want).min() >= 0.999
        got = emb.embed(texts, "code2code", "passage", dim=128)
        assert got.shape == (len(texts), 128)
        assert _cosines(got, truncate_dim(minilm.embed(texts, "code2code", "passage"), 128)).min() >= 0.999
    finally:
        emb.close()
