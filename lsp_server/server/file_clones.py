"""The clones of each symbol of a file, as code lenses and diagnostics both show them."""

from __future__ import annotations

from collections import Counter

from lsp_server.retrieval.clone_model import KINDS, SYNTACTIC_KINDS, ClonePair, options_for
from lsp_server.retrieval.clones import clones_of
from lsp_server.server.folders import Folder


def clones_in_file(folder: Folder, path: str) -> list[tuple[int, int, list[ClonePair]]]:
    """(unit id, start line, its clone pairs, strongest first) of each symbol of ``path`` that has some."""
    index = folder.index
    if index is None:
        return []
    found = clones_of(index, path, options_for(folder.settings))
    return [(unit.id, unit.start_line, pairs) for unit, pairs in found]


def describe(pairs: list[ClonePair]) -> str:
    """What a lens says: "2 copies: 1 renamed, 1 near-miss", or "3 similar: 1 exact, 2 semantic"."""
    counts = Counter(pair.kind for pair in pairs)
    breakdown = ", ".join(f"{counts[kind]} {kind}" for kind in KINDS if counts[kind])
    total = len(pairs)
    if set(counts) <= SYNTACTIC_KINDS:
        return f"{total} {'copy' if total == 1 else 'copies'}: {breakdown}"
    return f"{total} similar: {breakdown}"
