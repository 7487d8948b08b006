"""An embedder that is still loading: the work that needs no model goes ahead meanwhile.

Loading a model costs seconds (torch and transformers imports, weights). A language
server restarted on an indexed workspace needs the model for nothing but embeddings of
new text, so its folders open and rescan while the model loads. Given the identity the
model had the last time (id, dimension, prefixes), the index opens and answers from
stored vectors before the model is there; only vectors wait for it. A model that loads
with another identity embeds nothing under the expected one: its ``embed`` fails until
whoever made this embedder replaces it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import Future

from .base import Embedder, EmbeddingError, Side, Task, Vectors
from .identity import Identity

log = logging.getLogger(__name__)


class DeferredEmbedder:
    """Stands for the :class:`Embedder` that ``future`` will hold; every use waits for it, except
    the id, dimension and prefixes when the ``expected`` identity is given."""

    def __init__(self, future: Future[Embedder], expected: Identity | None = None) -> None:
        self._future = future
        self.expected = expected
        self._checked: tuple[str | None] | None = None
        self._handed_over = False

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

    def mismatch(self) -> str | None:
        """Once loaded: how the model differs from the expected identity; None if it does not."""
        if self.expected is None or not self.ready:
            return None
        if self._checked is None:
            try:
                actual = Identity.of(self.resolved())
            except EmbeddingError:
                return None
            problem = None
            if actual != self.expected:
                problem = (
                    f"the model loaded as {actual.model_id} ({actual.dim} dimensions), not as "
                    f"{self.expected.model_id} ({self.expected.dim}) like the last time"
                )
            self._checked = (problem,)
        return self._checked[0]

    @property
    def model_id(self) -> str:
        return self.expected.model_id if self.expected is not None else self.resolved().model_id

    @property
    def dim(self) -> int:
        return self.expected.dim if self.expected is not None else self.resolved().dim

    @property
    def device(self) -> str:
        return self.resolved().device

    @property
    def selection_reason(self) -> str:
        return self.resolved().selection_reason

    def prefix(self, task: Task, side: Side) -> str:
        if self.expected is not None:
            return self.expected.prefix(task, side)
        return self.resolved().prefix(task, side)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.resolved().count_tokens(texts)

    def embed(self, texts: Sequence[str], task: Task, side: Side, dim: int | None = None) -> Vectors:
        embedder = self.resolved()
        problem = self.mismatch()
        if problem is not None:  # its vectors would be stored under the expected id: refuse
            raise EmbeddingError(problem)
        return embedder.embed(texts, task=task, side=side, dim=dim)

    def hand_over(self) -> Embedder:
        """The loaded model, for another owner: closing this wrapper no longer closes it."""
        embedder = self.resolved()
        self._handed_over = True
        return embedder

    def close(self) -> None:
        """Close the model once it is there (at once if it is), without waiting for it."""
        if self._handed_over:
            return

        def close_loaded(done: Future[Embedder]) -> None:
            if not done.cancelled() and done.exception() is None:
                done.result().close()

        self._future.add_done_callback(close_loaded)
