"""Query embeddings overtake bulk indexing on one shared model (the real MiniLM, real threads)."""

from __future__ import annotations

import threading
import time

import numpy as np

from lsp_server.embedding import load_embedder
from lsp_server.embedding.priority import PriorityEmbedder


def test_a_query_overtakes_a_long_bulk_run() -> None:
    inner = load_embedder("minilm", "cpu")
    embedder = PriorityEmbedder(inner, bulk_slice=8)
    passages = [f"def f{i}(x):\n    return x * {i} + {i % 7}\n" * (1 + i % 5) for i in range(400)]
    finished: dict[str, float] = {}
    bulk_result: list[np.ndarray] = []

    def bulk() -> None:
        bulk_result.append(embedder.embed(passages, task="code2code", side="passage"))
        finished["bulk"] = time.perf_counter()

    worker = threading.Thread(target=bulk)
    worker.start()
    time.sleep(0.3)  # the bulk run is under way
    query = embedder.embed(["multiply x by a constant"], task="nl2code", side="query")
    finished["query"] = time.perf_counter()
    worker.join()

    assert finished["query"] < finished["bulk"], "the query waited for the whole bulk run"
    # Slicing changes nothing in the vectors, and the order is kept.
    direct = inner.embed(passages[:20], task="code2code", side="passage")
    assert np.allclose(bulk_result[0][:20], direct, atol=1e-5)
    assert query.shape == (1, inner.dim)


def test_empty_bulk_input() -> None:
    embedder = PriorityEmbedder(load_embedder("minilm", "cpu"))
    assert embedder.embed([], task="code2code", side="passage").shape[0] == 0


def test_wraps_names_the_very_inner_embedder() -> None:
    inner = load_embedder("minilm", "cpu")
    embedder = PriorityEmbedder(inner)
    assert embedder.wraps(inner)
    assert not embedder.wraps(load_embedder("minilm", "cpu"))  # an equal model, not this one
    assert not embedder.wraps(embedder)
