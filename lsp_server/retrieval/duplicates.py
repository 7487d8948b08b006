"""Near-duplicate clusters over the code space.

Symmetric by construction: every symbol's stored passage vector is compared with
the others' (no query embedding pass), edges above the threshold are joined with
union-find, and units that share a content hash are exact copies. A symbol nested
inside another member of its cluster (a method of a duplicated class) is dropped,
so a class and its only method never count as a pair.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from lsp_server.index.ann import AnnIndex
from lsp_server.index.indexer import WorkspaceIndex
from lsp_server.index.store import StoredUnit
from lsp_server.retrieval.hits import Hit

NEIGHBOURS = 10


@dataclass(frozen=True, slots=True)
class Cluster:
    score: float
    """Mean cosine over the cluster's edges (exact copies count 1.0); each member's score is its best edge."""
    members: list[Hit]
    exact: frozenset[int]
    """Unit ids of members that are byte-identical (after dedent) to another member."""


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, item: int) -> int:
        parent = self.parent.setdefault(item, item)
        while parent != self.parent[parent]:
            self.parent[parent] = self.parent[self.parent[parent]]
            parent = self.parent[parent]
        self.parent[item] = parent
        return parent

    def union(self, a: int, b: int) -> None:
        self.parent[self.find(a)] = self.find(b)


def find_duplicates(
    index: WorkspaceIndex,
    threshold: float,
    min_lines: int = 4,
    path_prefix: str | None = None,
) -> list[Cluster]:
    """Clusters of near-duplicate symbols, largest first, then by score.

    ``path_prefix`` keeps the clusters that have at least one member under it.
    """
    ann = index.ann("code")
    eligible = _eligible(index, min_lines)
    if not eligible:
        return []
    hash_of = {vid: units[0].hash for vid, units in eligible.items()}
    uf, edge_scores, best = _link(index, ann, eligible, hash_of, threshold)
    groups: dict[int, list[int]] = defaultdict(list)
    for vid in eligible:
        groups[uf.find(vid)].append(vid)
    edges_of: dict[int, list[tuple[int, int, float]]] = defaultdict(list)
    for (a, b), edge_score in edge_scores.items():
        edges_of[uf.find(a)].append((a, b, edge_score))

    clusters = []
    for root, vids in groups.items():
        members = _drop_nested([unit for vid in vids for unit in eligible[vid]])
        if len(members) < 2:
            continue
        if path_prefix and not any(_under(unit.path, path_prefix) for unit in members):
            continue
        clusters.append(_cluster(members, edges_of[root], hash_of, best))
    clusters.sort(key=lambda c: (-len(c.members), -c.score, c.members[0].path, c.members[0].start_line))
    return clusters


def _eligible(index: WorkspaceIndex, min_lines: int) -> dict[int, list[StoredUnit]]:
    """The units of at least ``min_lines`` lines behind each live code vector that has any."""
    live = index.store.live_vector_ids(index.model_id, "code")
    units_of = index.store.units_by_vector_ids(index.model_id, "code", live.tolist())
    eligible = {
        vid: [u for u in units if u.end_line - u.start_line + 1 >= min_lines]
        for vid, units in units_of.items()
    }
    return {vid: units for vid, units in eligible.items() if units}


def _link(
    index: WorkspaceIndex,
    ann: AnnIndex,
    eligible: dict[int, list[StoredUnit]],
    hash_of: dict[int, str],
    threshold: float,
) -> tuple[_UnionFind, dict[tuple[int, int], float], dict[str, float]]:
    """Join each eligible vector with its neighbours at ``threshold`` or above.

    Returns the union-find, the score of each edge (lower id first) and each content's best edge."""
    ids, vectors = index.store.vectors_by_id(list(eligible))
    uf = _UnionFind()
    edge_scores: dict[tuple[int, int], float] = {}
    best: dict[str, float] = {}
    for vid, neighbours in zip(ids.tolist(), ann.query(vectors, NEIGHBOURS + 1), strict=True):
        uf.find(vid)
        for other, score in neighbours:
            if other == vid or other not in eligible or score < threshold:
                continue
            if all(_nested(a, b) for a in eligible[vid] for b in eligible[other]):
                continue  # a class and its own method are alike by construction
            uf.union(vid, other)
            edge_scores[(min(vid, other), max(vid, other))] = score
            for end in (vid, other):
                best[hash_of[end]] = max(best.get(hash_of[end], 0.0), score)
    return uf, edge_scores, best


def _cluster(
    members: list[StoredUnit],
    edges: list[tuple[int, int, float]],
    hash_of: dict[int, str],
    best: dict[str, float],
) -> Cluster:
    """One group's cluster: scored over the edges between its kept members, exact copies at 1.0."""
    kept = {unit.hash for unit in members}
    by_hash: dict[str, int] = defaultdict(int)
    for unit in members:
        by_hash[unit.hash] += 1
    exact = frozenset(unit.id for unit in members if by_hash[unit.hash] > 1)
    scores = [score for a, b, score in edges if hash_of[a] in kept and hash_of[b] in kept]
    scores += [1.0] * sum(count - 1 for count in by_hash.values() if count > 1)
    score = sum(scores) / len(scores) if scores else 1.0
    hits = [Hit.of(unit, 1.0 if unit.id in exact else best.get(unit.hash, score)) for unit in members]
    hits.sort(key=lambda hit: (hit.path, hit.start_line))
    return Cluster(score, hits, exact)


def duplicates_of(
    index: WorkspaceIndex, path: str, threshold: float, min_lines: int = 4, k: int = NEIGHBOURS
) -> list[tuple[StoredUnit, list[Hit]]]:
    """Each symbol of ``path`` that has near-duplicates, with them (best first).

    The stored passage vectors are compared, as ``find_duplicates`` does, so no
    embedding is needed: cheap enough for code lenses and diagnostics.
    """
    units = [u for u in index.store.units_of_file(path, "code") if u.end_line - u.start_line + 1 >= min_lines]
    stored = index.store.vectors_for_hashes(index.model_id, "code", [u.hash for u in units])
    units = [u for u in units if u.hash in stored]
    if not units:
        return []
    ann = index.ann("code")
    results = ann.query(np.stack([stored[u.hash] for u in units]), k + 1)
    neighbour_ids = sorted({vid for found in results for vid, score in found if score >= threshold})
    units_of = index.store.units_by_vector_ids(index.model_id, "code", neighbour_ids)
    out = []
    for unit, found in zip(units, results, strict=True):
        hits = [
            Hit.of(other, score)
            for vid, score in found
            if score >= threshold
            for other in units_of.get(vid, [])
            if other.id != unit.id
            and other.end_line - other.start_line + 1 >= min_lines
            and not _nested(unit, other)
        ]
        if hits:
            hits.sort(key=lambda hit: (-hit.score, hit.path, hit.start_line))
            out.append((unit, hits))
    return out


def _contains(outer: StoredUnit, inner: StoredUnit) -> bool:
    """Whether ``inner``'s lines lie within ``outer``'s, in the same file."""
    same_file = outer.path == inner.path
    return same_file and outer.start_line <= inner.start_line and inner.end_line <= outer.end_line


def _nested(a: StoredUnit, b: StoredUnit) -> bool:
    """Whether one of the two units lies inside the other."""
    return _contains(a, b) or _contains(b, a)


def _drop_nested(members: list[StoredUnit]) -> list[StoredUnit]:
    """Leave out members that lie inside another member of the same file."""
    by_path: dict[str, list[StoredUnit]] = defaultdict(list)
    for unit in members:
        by_path[unit.path].append(unit)
    kept = []
    for unit in members:
        inside = any(
            other.id != unit.id
            and _contains(other, unit)
            and (other.end_line - other.start_line) > (unit.end_line - unit.start_line)
            for other in by_path[unit.path]
        )
        if not inside:
            kept.append(unit)
    return kept


def _under(path: str, prefix: str) -> bool:
    prefix = prefix.strip("/")
    return not prefix or prefix == "." or path == prefix or path.startswith(prefix + "/")
