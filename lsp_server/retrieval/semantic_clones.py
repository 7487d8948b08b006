"""Semantic and cross-language clone pairs: code vectors that are nearest neighbours above a threshold.

The threshold belongs to the model: its profile's calibrated value (true clone pairs
against random pairs, at a stated false-positive rate: bench/calibrate_clones.py), else
DEFAULT_THRESHOLD. Stored passage vectors are compared, so no embedding is needed; while
the model loads and its identity is unknown, there are no semantic pairs yet.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lsp_server.embedding.profiles import profile_for_model_id
from lsp_server.embedding.status import model_status
from lsp_server.index.indexer import WorkspaceIndex
from lsp_server.index.store import StoredUnit
from lsp_server.retrieval.clone_edges import Edge, nested
from lsp_server.retrieval.clone_model import CloneKind, CloneOptions

NEIGHBOURS = 10
DEFAULT_THRESHOLD = 0.95
"""For a model without a calibrated threshold: only the closest pairs."""


def semantic_threshold(index: WorkspaceIndex, options: CloneOptions) -> float:
    if options.semantic is not None:
        return options.semantic
    profile = profile_for_model_id(index.model_id)
    if profile is not None and profile.clone_threshold is not None:
        return profile.clone_threshold
    return DEFAULT_THRESHOLD


def model_known(index: WorkspaceIndex) -> bool:
    """Whether the index's model id is known without waiting for the model to load."""
    return model_status(index.embedder).model_id is not None


def semantic_edges(
    index: WorkspaceIndex,
    eligible: Sequence[StoredUnit],
    options: CloneOptions,
    linked: set[tuple[int, int]],
    queries: Sequence[StoredUnit] | None = None,
) -> list[Edge]:
    """Neighbour pairs at the threshold or above between ``queries`` (default: all of ``eligible``)
    and ``eligible``, that ``linked`` lacks."""
    if not model_known(index):
        return []
    threshold = semantic_threshold(index, options)
    by_hash: dict[str, list[StoredUnit]] = {}
    for unit in eligible:
        by_hash.setdefault(unit.hash, []).append(unit)
    asked: dict[str, list[StoredUnit]] = {}
    for unit in eligible if queries is None else queries:
        asked.setdefault(unit.hash, []).append(unit)
    stored = index.store.vectors_for_hashes(index.model_id, "code", list(asked))
    hashes = [digest for digest in by_hash if digest in stored]
    if not hashes:
        return []
    found = index.ann("code").query(np.stack([stored[digest] for digest in hashes]), NEIGHBOURS + 1)
    neighbour_ids = sorted({vid for row in found for vid, score in row if score >= threshold})
    units_of = index.store.units_by_vector_ids(index.model_id, "code", neighbour_ids)
    edges: list[Edge] = []
    seen = {tuple(sorted(pair)) for pair in linked}
    for digest, row in zip(hashes, found, strict=True):
        for vid, score in row:
            if score < threshold:
                continue
            for a in asked[digest]:
                for b in units_of.get(vid, []):
                    edges += _edge(a, b, score, by_hash, seen)
    return edges


def _edge(
    a: StoredUnit,
    b: StoredUnit,
    score: float,
    by_hash: dict[str, list[StoredUnit]],
    seen: set[tuple[int, ...]],
) -> list[Edge]:
    key = tuple(sorted((a.id, b.id)))
    if a.id == b.id or key in seen or b.hash not in by_hash or nested(a, b):
        return []
    if not any(unit.id == b.id for unit in by_hash[b.hash]):
        return []  # too short, or otherwise not eligible
    seen.add(key)
    kind: CloneKind = "cross-language" if a.language != b.language else "semantic"
    return [Edge(a, b, kind, round(float(score), 6))]
