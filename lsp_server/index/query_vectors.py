"""Query-side embeddings for an index: stored passages and recent queries first, the model last.

Where the model gives a task's queries and passages the same prefix (minilm: none),
the query vector of a text already embedded as a passage of that task *is* the
stored vector, so it is read instead of computed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

from lsp_server.embedding.base import Embedder, Task, truncate_dim
from lsp_server.index.records import PASSAGE_TASK
from lsp_server.index.store import Store, content_hash

QUERY_CACHE_SIZE = 256
"""Query embeddings remembered per index: asking about the same symbol again costs nothing."""


class QueryVectors:
    """One index's query embeddings, at its dimension.

    ``embedder`` and ``dim`` are asked at each query, not when this is made: the index's
    dimension is known only once its model is.
    """

    def __init__(self, store: Store, embedder: Callable[[], Embedder], dim: Callable[[], int]) -> None:
        self._store = store
        self._embedder = embedder
        self._dim = dim
        self._cache: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, texts: Sequence[str], task: Task) -> np.ndarray:
        """One row per text of ``texts``, embedded as ``task``'s query side."""
        out: list[np.ndarray | None] = [self._cache.get((task, text)) for text in texts]
        missing = [i for i, vector in enumerate(out) if vector is None]
        embedder = self._embedder()
        space = next((s for s, passage_task in PASSAGE_TASK.items() if passage_task == task), None)
        if (
            missing
            and space is not None
            and embedder.prefix(task, "query") == embedder.prefix(task, "passage")
        ):
            hashes = {i: content_hash(texts[i]) for i in missing}
            stored = self._store.vectors_for_hashes(embedder.model_id, space, list(hashes.values()))
            for i, digest in hashes.items():
                if digest in stored:
                    out[i] = truncate_dim(stored[digest][None, :], self._dim())[0]
            missing = [i for i in missing if out[i] is None]
        if missing:
            fresh = embedder.embed([texts[i] for i in missing], task=task, side="query", dim=self._dim())
            for i, vector in zip(missing, fresh, strict=True):
                out[i] = vector
        self._remember(task, texts, out)
        return np.stack([v for v in out if v is not None]).astype(np.float32, copy=False)

    def _remember(self, task: Task, texts: Sequence[str], vectors: list[np.ndarray | None]) -> None:
        """Keep the latest QUERY_CACHE_SIZE query vectors, most recently asked last."""
        with self._lock:
            for text, vector in zip(texts, vectors, strict=True):
                if vector is not None:
                    self._cache[(task, text)] = vector
                    self._cache.move_to_end((task, text))
            while len(self._cache) > QUERY_CACHE_SIZE:
                self._cache.popitem(last=False)
