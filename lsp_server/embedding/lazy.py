"""An embedder that loads its model on first use: a command that needs no vectors never pays for one.

``codekin duplicates --kinds exact,renamed,near-miss`` reads only fingerprints; with this,
it starts no torch and loads no weights.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from .base import Embedder, Side, Task, Vectors


class LazyEmbedder:
    def __init__(self, load: Callable[[], Embedder]) -> None:
        self._load = load
        self._inner: Embedder | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._inner is not None

    def resolved(self) -> Embedder:
        with self._lock:
            if self._inner is None:
                self._inner = self._load()
            return self._inner

    @property
    def model_id(self) -> str:
        return self.resolved().model_id

    @property
    def dim(self) -> int:
        return self.resolved().dim

    @property
    def device(self) -> str:
        return self.resolved().device

    @property
    def selection_reason(self) -> str:
        return self.resolved().selection_reason

    def prefix(self, task: Task, side: Side) -> str:
        return self.resolved().prefix(task, side)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.resolved().count_tokens(texts)

    def embed(self, texts: Sequence[str], task: Task, side: Side, dim: int | None = None) -> Vectors:
        return self.resolved().embed(texts, task=task, side=side, dim=dim)

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()
