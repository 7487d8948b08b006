"""Embedding models behind one interface: ``load_embedder(spec)`` → an :class:`Embedder`.

A spec is a profile name (``minilm``, ``jina-code-0.5b``, …), ``auto``, a local folder, a hub id, the
workers at ``remote://host:port`` or an OpenAI-compatible engine. Weights come from a local folder or
the Hugging Face cache; the hub is asked only when a model is not cached, and only after a quick
reachability check, so that loading fails fast offline and never hangs.
"""

from __future__ import annotations

from .base import SIDES, TASKS, Embedder, EmbeddingError, Side, Task, Vectors, normalize_rows, truncate_dim
from .folders import folder_fingerprint
from .hub import hub_cached_path, hub_reachable
from .loading import WORKER_ENV, load_embedder, quiet_transformers
from .profiles import PROFILES, Profile

__all__ = [
    "PROFILES",
    "SIDES",
    "TASKS",
    "WORKER_ENV",
    "Embedder",
    "EmbeddingError",
    "Profile",
    "Side",
    "Task",
    "Vectors",
    "folder_fingerprint",
    "hub_cached_path",
    "hub_reachable",
    "load_embedder",
    "normalize_rows",
    "quiet_transformers",
    "truncate_dim",
]
