"""An embedder that is still loading: the work that needs no model goes ahead meanwhile.

Loading a model costs seconds (torch and transformers imports, weights). A language
server restarted on an indexed workspace needs the model for nothing but query
embeddings, so its folders open and rescan while the model loads; only what needs
the model (its id, dimension or vectors) waits for it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import Future

from .base import Embedder, EmbeddingError, Side, Task, Vectors

log = logging.getLogger(__name__)


class DeferredEmbedder:
    """Stands for the :class:`Embedder` that ``future`` will hold; every use waits for it."""

    def __init__(self, future: Future[Embedder]) -> None:
        self._future = future

    @property
    def ready(self) -> bool:
        """Loaded (or failed): using it will not wait."""
        return self._future.done()

    def resolved(self) -> Embedder:
        try:
            return self._future.result()
        except EmbeddingError:
            raise
        except Exception as exc:
            raise EmbeddingError(f"the model could not be loaded: {exc}") from exc

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
        """Close the model once it is there (at once if it is), without waiting for it."""

        def close_loaded(done: Future[Embedder]) -> None:
            if not done.cancelled() and done.exception() is None:
                done.result().close()

        self._future.add_done_callback(close_loaded)
