"""Query embeddings jump ahead of bulk indexing on a shared model.

One model serves both the background indexer (passages, thousands at a time) and
the editor's questions (one query, someone waiting). The wrapper cuts passage work
into small slices and hands the model to a waiting query between slices, so a query
waits for at most one slice instead of a whole indexing chunk.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np

from .base import Embedder, Side, Task, Vectors

BULK_SLICE = 8
"""Passages per turn on the model: small enough that a query never waits long."""


class _Gate:
    """A mutex where interactive holders go before any bulk holder that is waiting."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._busy = False
        self._interactive_waiting = 0

    @contextmanager
    def interactive(self) -> Iterator[None]:
        with self._cond:
            self._interactive_waiting += 1
            try:
                while self._busy:
                    self._cond.wait()
            finally:
                self._interactive_waiting -= 1
            self._busy = True
        try:
            yield
        finally:
            self._release()

    @contextmanager
    def bulk(self) -> Iterator[None]:
        with self._cond:
            while self._busy or self._interactive_waiting:
                self._cond.wait()
            self._busy = True
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        with self._cond:
            self._busy = False
            self._cond.notify_all()


class PriorityEmbedder:
    """An :class:`Embedder` whose query-side calls overtake passage-side (bulk) calls."""

    def __init__(self, inner: Embedder, bulk_slice: int = BULK_SLICE) -> None:
        self.inner = inner
        self.bulk_slice = max(1, bulk_slice)
        self._gate = _Gate()

    def wraps(self, other: Embedder) -> bool:
        """Whether ``other`` is the very embedder this one puts in order (not merely an equal one)."""
        return self.inner is other

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def dim(self) -> int:
        return self.inner.dim

    @property
    def device(self) -> str:
        return self.inner.device

    @property
    def selection_reason(self) -> str:
        return self.inner.selection_reason

    def prefix(self, task: Task, side: Side) -> str:
        return self.inner.prefix(task, side)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.inner.count_tokens(texts)

    def embed(self, texts: Sequence[str], task: Task, side: Side, dim: int | None = None) -> Vectors:
        if side == "query":
            with self._gate.interactive():
                return self.inner.embed(texts, task=task, side=side, dim=dim)
        parts: list[Vectors] = []
        for start in range(0, len(texts), self.bulk_slice):
            with self._gate.bulk():
                parts.append(self.inner.embed(texts[start : start + self.bulk_slice], task, side, dim))
        if not parts:
            return self.inner.embed([], task=task, side=side, dim=dim)
        return np.concatenate(parts, axis=0)

    def close(self) -> None:
        self.inner.close()
