"""A model loading in the background: users wait for it, failures surface as EmbeddingError."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from lsp_server.embedding import load_embedder
from lsp_server.embedding.base import Embedder, EmbeddingError
from lsp_server.embedding.deferred import DeferredEmbedder


def test_uses_wait_for_the_model_and_give_the_same_vectors() -> None:
    with ThreadPoolExecutor(1) as pool:
        deferred = DeferredEmbedder(pool.submit(load_embedder, "minilm", "cpu"))
        vectors = deferred.embed(["def add(a, b): return a + b"], task="code2code", side="query")
        assert deferred.ready and deferred.model_id == "minilm" and vectors.shape == (1, deferred.dim)
        direct = deferred.resolved().embed(["def add(a, b): return a + b"], task="code2code", side="query")
        assert (vectors == direct).all()
        deferred.close()
        with pytest.raises(EmbeddingError):  # closed: the real embedder says so
            deferred.embed(["x"], task="code2code", side="query")


def test_a_failed_load_is_an_embedding_error() -> None:
    failed: Future[Embedder] = Future()
    failed.set_exception(OSError("disk on fire"))
    deferred = DeferredEmbedder(failed)
    with pytest.raises(EmbeddingError, match="disk on fire"):
        _ = deferred.model_id
    deferred.close()  # nothing to close, and no error
