"""Copies that diverge: an edit changed one member of a clone class, and its copies kept the old code.

When a document opens, its symbols' exact and renamed copies are remembered (a baseline).
After each index change, a symbol whose code changed since then is checked: each copy
that still holds the code it had at the baseline, and is no longer an exact or renamed
copy of the symbol, "did not get this change". A copy that got the same change becomes
a copy again and drops out; so does the symbol when it is changed back.
"""

from __future__ import annotations

from dataclasses import dataclass

from lsp_server.index.indexer import WorkspaceIndex
from lsp_server.index.store import StoredUnit
from lsp_server.retrieval.clone_model import CloneKind, CloneOptions
from lsp_server.retrieval.clones import clones_of

STRONG: frozenset[CloneKind] = frozenset({"exact", "renamed"})


@dataclass(frozen=True, slots=True)
class Baseline:
    """A file's symbols as they were: each one's content hash and its strong copies then."""

    symbols: dict[str, tuple[str, tuple[StoredUnit, ...]]]
    """Symbol name → (its content hash, its exact and renamed copies, each with its hash then)."""


@dataclass(frozen=True, slots=True)
class Divergence:
    unit: StoredUnit
    """The edited symbol, as stored now."""
    stale: tuple[StoredUnit, ...]
    """Its former copies that still hold the old code."""


def baseline_of(index: WorkspaceIndex, path: str, options: CloneOptions) -> Baseline:
    strong = CloneOptions(kinds=STRONG, min_lines=options.min_lines, min_tokens=options.min_tokens)
    found = {unit.id: pairs for unit, pairs in clones_of(index, path, strong)}
    units = index.store.units_of_file(path, "code")
    by_id = _units_by_id(index, {pair.b.unit_id for pairs in found.values() for pair in pairs})
    symbols = {
        unit.name: (
            unit.hash,
            tuple(by_id[pair.b.unit_id] for pair in found.get(unit.id, []) if pair.b.unit_id in by_id),
        )
        for unit in units
    }
    return Baseline(symbols)


def divergences(
    index: WorkspaceIndex, path: str, baseline: Baseline, options: CloneOptions
) -> list[Divergence]:
    """The symbols of ``path`` changed since ``baseline`` whose former copies did not change with them."""
    changed = [
        unit
        for unit in index.store.units_of_file(path, "code")
        if unit.name in baseline.symbols
        and baseline.symbols[unit.name][0] != unit.hash
        and baseline.symbols[unit.name][1]
    ]
    if not changed:
        return []
    strong = CloneOptions(kinds=STRONG, min_lines=options.min_lines, min_tokens=options.min_tokens)
    now = {unit.id: {pair.b.unit_id for pair in pairs} for unit, pairs in clones_of(index, path, strong)}
    copies = {copy.id for unit in changed for copy in baseline.symbols[unit.name][1]}
    current = _units_by_id(index, copies)
    out = []
    for unit in changed:
        stale = tuple(
            copy
            for copy in baseline.symbols[unit.name][1]
            if copy.id in current
            and current[copy.id].hash == copy.hash
            and copy.id not in now.get(unit.id, set())
        )
        if stale:
            out.append(Divergence(unit, stale))
    return out


def _units_by_id(index: WorkspaceIndex, ids: set[int]) -> dict[int, StoredUnit]:
    units, _ = index.fingerprints.units()
    return {unit.id: unit for unit in units if unit.id in ids}
