"""Clone detection: syntactic pairs from stored fingerprints, semantic pairs from code vectors, one answer.

Syntactic pairs need no model: units whose exact streams agree are ``exact``; among the
rest, those whose renamed streams agree are ``renamed``; among one representative of
each renamed group, MinHash bands propose candidates and a token alignment confirms
``near-miss`` pairs. Semantic pairs come from the code space's nearest neighbours above
the model's calibrated threshold, ``cross-language`` when the languages differ. A pair
keeps the strongest kind its evidence shows; union-find joins pairs into classes.
A unit and a unit nested in it (a class and its method) are never a pair.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from lsp_server.index.fingerprints import StoredPrint
from lsp_server.index.indexer import WorkspaceIndex
from lsp_server.index.store import StoredUnit
from lsp_server.retrieval.clone_edges import Edge, line_count, nested
from lsp_server.retrieval.clone_model import (
    SEMANTIC_KINDS,
    SYNTACTIC_KINDS,
    CloneClass,
    CloneKind,
    CloneOptions,
    ClonePair,
    strength,
)
from lsp_server.retrieval.hits import Hit
from lsp_server.retrieval.semantic_clones import semantic_edges
from lsp_server.units.fingerprint import BANDS, band_keys, similarity

MAX_BUCKET = 64
"""A band value shared by more units than this is a common idiom, not evidence: it proposes no pairs."""
MIN_BANDS = 1
"""Bands a candidate pair must agree on: a pair at 4-gram Jaccard 0.6 agrees on two of 32 with
probability 0.997, an unrelated pair sharing one idiom rarely does."""
MIN_ESTIMATED_JACCARD = 0.4
AGREEMENT_SLICE = 8192
"""Candidates whose signatures agree less than this are dropped before the (costlier) alignment."""


def find_clones(
    index: WorkspaceIndex, options: CloneOptions, path_prefix: str | None = None
) -> list[CloneClass]:
    """Every clone class of the code space, largest first, then by score.

    ``path_prefix`` keeps the classes with at least one member under it.
    """
    units, prints = index.fingerprints.units()
    eligible = [unit for unit in units if line_count(unit) >= options.min_lines]
    edges: list[Edge] = []
    if options.kinds & SYNTACTIC_KINDS:
        edges += syntactic_edges(index, eligible, prints, options)
    if options.kinds & SEMANTIC_KINDS:
        edges += semantic_edges(index, eligible, options, {(e.a.id, e.b.id) for e in edges})
    edges = [edge for edge in edges if edge.kind in options.kinds]
    classes = clone_classes(edges)
    if path_prefix:
        classes = [c for c in classes if any(_under(hit.path, path_prefix) for hit in c.members)]
    return classes


def clones_of(
    index: WorkspaceIndex, path: str, options: CloneOptions
) -> list[tuple[StoredUnit, list[ClonePair]]]:
    """Each unit of ``path`` that has clones, with them (strongest kind first, then by score).

    Stored fingerprints and vectors only, no embedding: cheap enough for lenses and diagnostics.
    """
    units, prints = index.fingerprints.units()
    eligible = [unit for unit in units if line_count(unit) >= options.min_lines]
    mine = [unit for unit in eligible if unit.path == path]
    if not mine:
        return []
    edges: list[Edge] = []
    if options.kinds & SYNTACTIC_KINDS:
        edges += _syntactic_edges_of(index, mine, eligible, prints, options)
    if options.kinds & SEMANTIC_KINDS:
        linked = {(edge.a.id, edge.b.id) for edge in edges}
        edges += semantic_edges(index, eligible, options, linked, queries=mine)
    found: dict[int, list[ClonePair]] = defaultdict(list)
    for edge in edges:
        if edge.kind in options.kinds:
            found[edge.a.id].append(
                ClonePair(Hit.of(edge.a, edge.score), Hit.of(edge.b, edge.score), edge.kind, edge.score)
            )
    out = []
    for unit in mine:
        if unit.id in found:
            pairs = sorted(
                found[unit.id], key=lambda p: (strength(p.kind), -p.score, p.b.path, p.b.start_line)
            )
            out.append((unit, pairs))
    return out


def _syntactic_edges_of(
    index: WorkspaceIndex,
    mine: Sequence[StoredUnit],
    eligible: Sequence[StoredUnit],
    prints: dict[str, StoredPrint],
    options: CloneOptions,
) -> list[Edge]:
    """Edges from each of ``mine`` to its syntactic clones among ``eligible`` (``a`` is always mine)."""
    sized = [u for u in eligible if (p := prints.get(u.hash)) is not None and p.tokens >= options.min_tokens]
    by_exact: dict[str, list[StoredUnit]] = defaultdict(list)
    by_renamed: dict[str, list[StoredUnit]] = defaultdict(list)
    by_hash: dict[str, list[StoredUnit]] = defaultdict(list)
    for unit in sized:
        by_exact[prints[unit.hash].exact].append(unit)
        by_renamed[prints[unit.hash].renamed].append(unit)
        by_hash[unit.hash].append(unit)
    rows_of, _ = index.fingerprints.signatures()
    edges: list[Edge] = []
    for unit in mine:
        own = prints.get(unit.hash)
        if own is None or own.tokens < options.min_tokens:
            continue
        exact = [other for other in by_exact[own.exact] if other.id != unit.id]
        renamed = [other for other in by_renamed[own.renamed] if prints[other.hash].exact != own.exact]
        edges += [Edge(unit, other, "exact", 1.0) for other in exact if not nested(unit, other)]
        edges += [Edge(unit, other, "renamed", 1.0) for other in renamed if not nested(unit, other)]
        if "near-miss" in options.kinds and unit.hash in rows_of:
            edges += _near_misses_of(index, unit, by_hash, options.near_miss)
    return edges


def near_miss_scores(
    index: WorkspaceIndex, signature: np.ndarray, stream: Sequence[str], threshold: float
) -> dict[str, float]:
    """The stored contents that are near-misses of one unit (by its signature and renamed stream):
    content hash → alignment, for those aligning at ``threshold`` or more but not wholly."""
    rows_of, matrix = index.fingerprints.signatures()
    if not rows_of:
        return {}
    agreeing = np.flatnonzero((matrix == signature).mean(axis=1) >= MIN_ESTIMATED_JACCARD)
    by_row = {row: digest for digest, row in rows_of.items()}
    streams = index.fingerprints.streams([by_row[int(row)] for row in agreeing])
    scores = {digest: round(similarity(stream, other), 6) for digest, other in streams.items()}
    return {digest: score for digest, score in scores.items() if threshold <= score < 1.0}


def _near_misses_of(
    index: WorkspaceIndex, unit: StoredUnit, by_hash: dict[str, list[StoredUnit]], threshold: float
) -> list[Edge]:
    rows_of, matrix = index.fingerprints.signatures()
    if unit.hash not in rows_of:  # changed by an edit since the units were read
        return []
    own_stream = index.fingerprints.streams([unit.hash]).get(unit.hash, ())
    scores = near_miss_scores(index, matrix[rows_of[unit.hash]], own_stream, threshold)
    return [
        Edge(unit, other, "near-miss", score)
        for digest, score in scores.items()
        if digest != unit.hash
        for other in by_hash.get(digest, [])
        if not nested(unit, other)
    ]


def syntactic_edges(
    index: WorkspaceIndex,
    eligible: Sequence[StoredUnit],
    prints: dict[str, StoredPrint],
    options: CloneOptions,
) -> list[Edge]:
    """Exact and renamed pairs by hash, near-miss pairs by MinHash bands and a token alignment."""
    sized = [u for u in eligible if (p := prints.get(u.hash)) is not None and p.tokens >= options.min_tokens]
    edges: list[Edge] = []
    exact_groups = _groups(sized, lambda unit: prints[unit.hash].exact)
    edges += _chains(exact_groups, "exact")
    renamed_groups = _groups([group[0] for group in exact_groups], lambda unit: prints[unit.hash].renamed)
    edges += _chains(renamed_groups, "renamed")
    if "near-miss" in options.kinds:
        edges += near_miss_edges(index, [group[0] for group in renamed_groups], options.near_miss)
    return edges


def near_miss_edges(index: WorkspaceIndex, units: Sequence[StoredUnit], threshold: float) -> list[Edge]:
    """Pairs among ``units`` (one per renamed group) whose token streams align at ``threshold``."""
    rows_of, matrix = index.fingerprints.signatures()
    units = [unit for unit in units if unit.hash in rows_of]
    if len(units) < 2:
        return []
    signatures = matrix[[rows_of[unit.hash] for unit in units]]
    candidates = _band_candidates(band_keys(signatures))
    if not len(candidates):
        return []
    left, right = candidates[:, 0], candidates[:, 1]
    keep = _agreement(signatures, left, right) >= MIN_ESTIMATED_JACCARD
    agreeing = list(zip(left[keep].tolist(), right[keep].tolist(), strict=True))
    streams = index.fingerprints.streams(sorted({units[k].hash for pair in agreeing for k in pair}))
    edges = []
    for i, j in agreeing:
        a, b = units[i], units[j]
        if nested(a, b):
            continue
        score = similarity(streams.get(a.hash, ()), streams.get(b.hash, ()))
        if score >= threshold:
            edges.append(Edge(a, b, "near-miss", round(score, 6)))
    return edges


def _agreement(signatures: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """The share of equal MinHash rows of each (left, right) pair, in slices that stay in the cache."""
    out = np.empty(len(left), dtype=np.float32)
    for start in range(0, len(left), AGREEMENT_SLICE):
        a, b = left[start : start + AGREEMENT_SLICE], right[start : start + AGREEMENT_SLICE]
        out[start : start + len(a)] = np.count_nonzero(signatures[a] == signatures[b], axis=1)
    return out / signatures.shape[1]


def _band_candidates(keys: np.ndarray) -> np.ndarray:
    """Row pairs (i < j, one per row of the result) that agree on at least one band; buckets larger
    than MAX_BUCKET are left out."""
    found: list[np.ndarray] = []
    for band in range(BANDS):
        column = keys[:, band]
        order = np.argsort(column, kind="stable")
        values = column[order]
        starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
        sizes = np.diff(np.r_[starts, len(values)])
        for start, size in zip(
            starts[(sizes >= 2) & (sizes <= MAX_BUCKET)].tolist(),
            sizes[(sizes >= 2) & (sizes <= MAX_BUCKET)].tolist(),
            strict=True,
        ):
            members = np.sort(order[start : start + size])
            first, second = _upper_pairs(size)
            found.append(members[first] * len(keys) + members[second])
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    codes, bands = np.unique(np.concatenate(found), return_counts=True)
    codes = codes[bands >= MIN_BANDS]
    return np.stack([codes // len(keys), codes % len(keys)], axis=1)


@functools.lru_cache(maxsize=MAX_BUCKET + 1)
def _upper_pairs(size: int) -> tuple[np.ndarray, np.ndarray]:
    first, second = np.triu_indices(size, k=1)
    return first, second


def _groups(units: Sequence[StoredUnit], key: Callable[[StoredUnit], str]) -> list[list[StoredUnit]]:
    by_key: dict[str, list[StoredUnit]] = defaultdict(list)
    for unit in units:
        by_key[key(unit)].append(unit)
    return list(by_key.values())


def _chains(groups: Iterable[list[StoredUnit]], kind: CloneKind) -> list[Edge]:
    """Each group's first unit paired with each of the others (a star, not every pair)."""
    return [
        Edge(group[0], other, kind, 1.0)
        for group in groups
        for other in group[1:]
        if not nested(group[0], other)
    ]


def clone_classes(edges: Sequence[Edge]) -> list[CloneClass]:
    """Union-find over the edges; each class with its pairs, members' best scores and kinds."""
    parent: dict[int, int] = {}

    def find(item: int) -> int:
        root = parent.setdefault(item, item)
        while root != parent[root]:
            parent[root] = parent[parent[root]]
            root = parent[root]
        parent[item] = root
        return root

    for edge in edges:
        parent[find(edge.a.id)] = find(edge.b.id)
    by_root: dict[int, list[Edge]] = defaultdict(list)
    for edge in edges:
        by_root[find(edge.a.id)].append(edge)
    classes = [_clone_class(group) for group in by_root.values()]
    classes.sort(key=lambda c: (-len(c.members), -c.score, c.members[0].path, c.members[0].start_line))
    return classes


def _clone_class(edges: list[Edge]) -> CloneClass:
    units: dict[int, StoredUnit] = {}
    best: dict[int, float] = defaultdict(float)
    kinds: dict[int, CloneKind] = {}
    for edge in edges:
        for unit in (edge.a, edge.b):
            units[unit.id] = unit
            best[unit.id] = max(best[unit.id], edge.score)
            if unit.id not in kinds or strength(edge.kind) < strength(kinds[unit.id]):
                kinds[unit.id] = edge.kind
    hits = {uid: Hit.of(unit, best[uid]) for uid, unit in units.items()}
    pairs = [ClonePair(hits[e.a.id], hits[e.b.id], e.kind, e.score) for e in edges]
    pairs.sort(key=lambda pair: (strength(pair.kind), -pair.score))
    members = sorted(hits.values(), key=lambda hit: (hit.path, hit.start_line))
    score = sum(pair.score for pair in pairs) / len(pairs)
    return CloneClass(members, pairs, round(score, 6), kinds)


def _under(path: str, prefix: str) -> bool:
    prefix = prefix.strip("/")
    return not prefix or prefix == "." or path == prefix or path.startswith(prefix + "/")
