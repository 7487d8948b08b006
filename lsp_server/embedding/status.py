"""What the model is doing, for status reports: loading, loaded (and as what), or failed.

The server wraps its embedder (a :class:`PriorityEmbedder` around a :class:`DeferredEmbedder` around
the real one); these functions look through the wrappers so that callers need not know them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .base import Embedder, EmbeddingError
from .deferred import DeferredEmbedder
from .priority import PriorityEmbedder


@dataclass(frozen=True)
class ModelStatus:
    model_id: str | None
    """The model's id; while it loads, the id the index already answers under (if one is known)."""
    reason: str | None
    """Why this model was chosen; ``loading`` while it loads; the error when it could not load."""
    device: str | None
    loading: bool


def model_status(embedder: Embedder) -> ModelStatus:
    """The model behind ``embedder`` without waiting for it: a model still loading says so."""
    deferred = _deferred(embedder)
    if deferred is not None and not deferred.ready:
        expected = deferred.expected
        return ModelStatus(expected.model_id if expected is not None else None, "loading", None, True)
    try:
        return ModelStatus(embedder.model_id, embedder.selection_reason, embedder.device, False)
    except EmbeddingError as exc:
        return ModelStatus(None, str(exc), None, False)


def identity_mismatch(embedder: Embedder) -> str | None:
    """How the model that loaded differs from the identity it was expected to have; None if it does
    not, if it is still loading, or if no identity was expected."""
    deferred = _deferred(embedder)
    return deferred.mismatch() if deferred is not None else None


def _deferred(embedder: Embedder) -> DeferredEmbedder | None:
    """The :class:`DeferredEmbedder` under any :class:`PriorityEmbedder` wrappers, if there is one."""
    while isinstance(embedder, PriorityEmbedder):
        embedder = embedder.inner
    return embedder if isinstance(embedder, DeferredEmbedder) else None
