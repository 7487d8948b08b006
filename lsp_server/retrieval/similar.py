"""Find-similar with clones first: a copy of the code, however renamed, ranks above related code.

The query symbol's code (from the caller's text, so an unsaved buffer counts) is
fingerprinted on the spot and matched against the stored fingerprints: exact, renamed
and near-miss copies lead, strongest first; the embedding neighbours follow by cosine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lsp_server.index.indexer import WorkspaceIndex
from lsp_server.index.store import StoredUnit
from lsp_server.retrieval import queries
from lsp_server.retrieval.clone_edges import line_count
from lsp_server.retrieval.clone_model import CloneKind, CloneOptions, strength
from lsp_server.retrieval.clones import near_miss_scores
from lsp_server.retrieval.hits import Hit
from lsp_server.units.fingerprint import fingerprint
from lsp_server.units.languages import language_for_path


@dataclass(frozen=True, slots=True)
class SimilarHit:
    index: WorkspaceIndex
    """The index the hit is from (find-similar searches every folder)."""
    hit: Hit
    clone: CloneKind | None
    """The kind of copy it is of the query's code, or None for code that is only alike."""


def copies_of_code(
    index: WorkspaceIndex,
    language: str,
    code: str,
    options: CloneOptions,
    query: queries.QuerySymbol | None = None,
) -> list[tuple[StoredUnit, CloneKind, float]]:
    """Stored code units that are syntactic clones of ``code``; ``query``, the symbol the code is
    from in this index, and what encloses it or lies in it, are left out."""
    own = fingerprint(language, code)
    if own is None or own.tokens < options.min_tokens:
        return []
    units, prints = index.fingerprints.units()
    found: list[tuple[StoredUnit, CloneKind, float]] = []
    wants_near = "near-miss" in options.kinds
    near = near_miss_scores(index, own.signature, own.stream, options.near_miss) if wants_near else {}
    for unit in units:
        stored = prints.get(unit.hash)
        if stored is None or stored.tokens < options.min_tokens or line_count(unit) < options.min_lines:
            continue
        if query is not None and query.overlaps(unit):
            continue
        if stored.exact == own.exact:
            found.append((unit, "exact", 1.0))
        elif stored.renamed == own.renamed:
            found.append((unit, "renamed", 1.0))
        elif unit.hash in near:
            found.append((unit, "near-miss", near[unit.hash]))
    found.sort(key=lambda item: (strength(item[1]), -item[2], item[0].path, item[0].start_line))
    return found


def similar_with_copies(
    index: WorkspaceIndex,
    path: str,
    line: int,
    k: int,
    text: str | None,
    indexes: Sequence[WorkspaceIndex],
    options: CloneOptions,
) -> tuple[queries.QuerySymbol, list[SimilarHit]]:
    """Up to ``k`` results for the symbol at ``line``: its copies in every index, then its neighbours."""
    symbol, neighbours = queries.similar(index, path, line, k, text, indexes)
    language = language_for_path(path)
    out: list[SimilarHit] = []
    seen: set[tuple[int, int]] = set()
    if language is not None:
        for where in indexes or [index]:
            mine = symbol if where is index else None
            for unit, kind, score in copies_of_code(where, language, symbol.code, options, mine):
                out.append(SimilarHit(where, Hit.of(unit, score), kind))
                seen.add((id(where), unit.id))
    out.sort(key=lambda s: (strength(s.clone or "semantic"), -s.hit.score))
    out += [SimilarHit(where, hit, None) for where, hit in neighbours if (id(where), hit.unit_id) not in seen]
    return symbol, out[:k]
