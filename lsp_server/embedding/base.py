"""The Embedder contract shared by the local, remote and HTTP embedders.

Callers name the task and the side; the embedder owns the prefixes, the pooling
and the normalisation (as sentence-transformers' ``encode_query`` /
``encode_document`` do), so nothing above this layer knows where the model runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol, get_args, runtime_checkable

import numpy as np
import numpy.typing as npt

Task = Literal["nl2code", "qa", "code2code", "code2nl", "code2completion"]
Side = Literal["query", "passage"]
TASKS: tuple[Task, ...] = get_args(Task)
SIDES: tuple[Side, ...] = get_args(Side)

Vectors = npt.NDArray[np.float32]


class EmbeddingError(RuntimeError):
    """An embedder could not be loaded or could not embed; the message says why and what to do."""


def check_task_side(task: str, side: str) -> None:
    """Refuse a task or side no embedder knows, before it reaches a prefix table as a KeyError."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    if side not in SIDES:
        raise ValueError(f"unknown side {side!r}; expected 'query' or 'passage'")


def check_embed_request(task: str, side: str, dim: int | None, full_dim: int, model_id: str) -> None:
    """What every embedder checks before embedding: a known task and side, a dim it can give."""
    check_task_side(task, side)
    if dim is not None and not 0 < dim <= full_dim:
        raise ValueError(f"dim must be between 1 and {full_dim} for {model_id}, got {dim}")


def estimate_tokens(texts: Sequence[str]) -> list[int]:
    """Four characters a token: for embedders whose tokenizer lives elsewhere (a worker, an engine)."""
    return [max(1, len(text) // 4) for text in texts]


def normalize_rows(vectors: npt.NDArray[np.floating]) -> Vectors:
    """L2-normalise each row (zero rows stay zero) as float32."""
    out = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)


def truncate_dim(vectors: npt.NDArray[np.floating], dim: int | None) -> Vectors:
    """Matryoshka truncation: keep the leading ``dim`` components, then normalise again."""
    if dim is None or dim >= vectors.shape[1]:
        return normalize_rows(vectors)
    if dim <= 0:
        raise ValueError(f"dim must be positive, got {dim}")
    return normalize_rows(vectors[:, :dim])


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors for a task and side."""

    @property
    def model_id(self) -> str:
        """A stable id of the model and of everything that changes its vectors; indexes are keyed by it."""
        ...

    @property
    def dim(self) -> int:
        """The full embedding dimension."""
        ...

    @property
    def device(self) -> str:
        """Where the model runs, e.g. ``cpu``, ``cuda:0`` or a worker address."""
        ...

    @property
    def selection_reason(self) -> str:
        """Why this model was chosen (for ``auto``) or how it was named, for logs and status."""
        ...

    def prefix(self, task: Task, side: Side) -> str:
        """The exact text prepended to every input of this task and side."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Token counts after the prefix is applied, for batching by a token budget."""
        ...

    def embed(self, texts: Sequence[str], task: Task, side: Side, dim: int | None = None) -> Vectors:
        """Embed ``texts``: an array (len(texts), dim or self.dim), rows L2-normalised, in input order."""
        ...

    def close(self) -> None:
        """Release the model and any connections."""
        ...
