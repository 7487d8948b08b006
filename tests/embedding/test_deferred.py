"""A model loading in the background: users wait for it, failures surface as EmbeddingError."""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from lsp_server.embedding import load_embedder
from lsp_server.embedding.base import Embedder, EmbeddingError, Side, Task, Vectors
from lsp_server.embedding.deferred import DeferredEmbedder
from lsp_server.embedding.identity import Identity, IdentityCache, identity_key
from lsp_server.embedding.priority import PriorityEmbedder
from lsp_server.embedding.status import ModelStatus, identity_mismatch, model_status


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


def test_an_expected_identity_answers_before_the_model_and_is_checked(tmp_path: Path) -> None:
    minilm = load_embedder("minilm", "cpu")
    loading: Future[Embedder] = Future()
    deferred = DeferredEmbedder(loading, Identity.of(minilm))
    # Nothing here waits: the future has no result yet.
    assert (deferred.model_id, deferred.dim) == ("minilm", 384) and not deferred.ready
    assert deferred.prefix("nl2code", "query") == minilm.prefix("nl2code", "query")
    assert deferred.mismatch() is None
    loading.set_result(minilm)
    assert deferred.mismatch() is None
    assert deferred.embed(["x = 1"], "code2code", "passage").shape == (1, 384)

    stale = Identity("minilm", 512, Identity.of(minilm).prefixes)  # what a changed model folder gives
    wrong = DeferredEmbedder(loading, stale)
    assert wrong.dim == 512
    problem = wrong.mismatch()
    assert problem is not None and "384" in problem and "512" in problem
    with pytest.raises(EmbeddingError, match="not as minilm"):  # never stored under the stale id
        wrong.embed(["x = 1"], "code2code", "passage")


def test_identity_cache_round_trip_and_damage(tmp_path: Path) -> None:
    cache = IdentityCache(tmp_path / "ids.json")
    key = identity_key(spec="minilm", device="cpu")
    assert cache.get(key) is None
    identity = Identity.of(load_embedder("minilm", "cpu"))
    cache.put(key, identity)
    assert IdentityCache(tmp_path / "ids.json").get(key) == identity
    assert cache.get(identity_key(spec="minilm", device="cuda")) is None
    (tmp_path / "ids.json").write_text("{not json")
    assert cache.get(key) is None
    cache.put(key, identity)  # a damaged file is replaced, not fatal
    assert cache.get(key) == identity
    (tmp_path / "ids.json").write_text(json.dumps({key: {"model_id": "m", "dim": "many"}}))
    assert cache.get(key) is None


def test_a_handed_over_model_outlives_its_wrapper() -> None:
    loading: Future[Embedder] = Future()
    loading.set_result(load_embedder("minilm", "cpu"))
    wrapper = DeferredEmbedder(loading)
    model = wrapper.hand_over()
    wrapper.close()
    assert model.embed(["x = 1"], "code2code", "passage").shape == (1, 384)
    DeferredEmbedder(loading).close()  # an owner that did not hand it over closes it
    with pytest.raises(EmbeddingError):
        model.embed(["x = 1"], "code2code", "passage")


class _Stub:
    """An embedder that needs no model: enough for what status reports read."""

    model_id, dim, device, selection_reason = "stub", 4, "cpu", "named: stub"

    def prefix(self, task: Task, side: Side) -> str:
        return ""

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [1 for _ in texts]

    def embed(self, texts: Sequence[str], task: Task, side: Side, dim: int | None = None) -> Vectors:
        return np.zeros((len(texts), dim or self.dim), dtype=np.float32)

    def close(self) -> None:
        pass


def test_model_status_looks_through_the_wrappers() -> None:
    loading: Future[Embedder] = Future()
    expected = Identity.of(_Stub())
    with_id = PriorityEmbedder(DeferredEmbedder(loading, expected))
    assert model_status(with_id) == ModelStatus("stub", "loading", None, True)
    without_id = PriorityEmbedder(DeferredEmbedder(loading))
    assert model_status(without_id) == ModelStatus(None, "loading", None, True)
    loading.set_result(_Stub())
    loaded = ModelStatus("stub", "named: stub", "cpu", False)
    assert model_status(PriorityEmbedder(DeferredEmbedder(loading, expected))) == loaded
    assert model_status(_Stub()) == loaded

    failed: Future[Embedder] = Future()
    failed.set_exception(OSError("disk on fire"))
    status = model_status(PriorityEmbedder(DeferredEmbedder(failed)))
    assert status.model_id is None and status.device is None and not status.loading
    assert status.reason is not None and "disk on fire" in status.reason


def test_identity_mismatch_only_once_loaded_and_different() -> None:
    loading: Future[Embedder] = Future()
    stale = Identity("stub", 8, Identity.of(_Stub()).prefixes)
    wrapped = PriorityEmbedder(DeferredEmbedder(loading, stale))
    assert identity_mismatch(wrapped) is None  # still loading
    loading.set_result(_Stub())
    problem = identity_mismatch(wrapped)
    assert problem is not None and "not as stub (8)" in problem
    assert identity_mismatch(PriorityEmbedder(DeferredEmbedder(loading, Identity.of(_Stub())))) is None
    assert identity_mismatch(PriorityEmbedder(_Stub())) is None
    assert identity_mismatch(_Stub()) is None
