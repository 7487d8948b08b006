"""Search, find-similar, docs lookup and completion snippets: a query embedding, then the ANN space."""

from __future__ import annotations

from collections.abc import Callable

from lsp_server.embedding.base import Task
from lsp_server.index.indexer import WorkspaceIndex
from lsp_server.index.store import StoredUnit
from lsp_server.retrieval.hits import Hit

COMPLETION_CONTEXT_LINES = 30
"""How much code before the cursor a completion query sees."""


class NoSymbolError(LookupError):
    """The position is not inside any indexed symbol."""


def nearest(
    index: WorkspaceIndex,
    space: str,
    query: str,
    task: Task,
    k: int,
    keep: Callable[[StoredUnit], bool] = lambda unit: True,
) -> list[Hit]:
    """The ``k`` best units of ``space`` for ``query`` embedded as ``task``'s query side."""
    if k <= 0:
        return []
    vector = index.query_vectors([query], task)
    ann = index.ann(space)
    fetch = k
    while True:
        found = ann.query(vector, fetch)[0]
        units = index.store.units_by_vector_ids(index.model_id, space, [vid for vid, _ in found])
        hits = [Hit.of(unit, score) for vid, score in found for unit in units.get(vid, []) if keep(unit)]
        if len(hits) >= k or len(found) < fetch:
            return sorted(hits, key=lambda hit: (-hit.score, hit.path, hit.start_line))[:k]
        fetch *= 4


def search(index: WorkspaceIndex, query: str, k: int = 10) -> list[Hit]:
    """Natural-language code search (nl2code)."""
    return nearest(index, "code", query, "nl2code", k)


def enclosing_symbol(index: WorkspaceIndex, path: str, line: int) -> StoredUnit:
    """The innermost code unit of ``path`` whose lines contain ``line``."""
    units = [u for u in index.store.units_of_file(path, "code") if u.start_line <= line <= u.end_line]
    if not units:
        raise NoSymbolError(f"{path}:{line} is not inside a function, method or class that codekin indexed")
    return min(units, key=lambda unit: (unit.end_line - unit.start_line, -unit.start_line))


def symbol_text(index: WorkspaceIndex, unit: StoredUnit) -> str:
    return index.store.texts([unit.hash])[unit.hash]


def similar(index: WorkspaceIndex, path: str, line: int, k: int = 10) -> tuple[StoredUnit, list[Hit]]:
    """Code like the symbol at ``path:line`` (code2code); the symbol is left out, its exact copies are not."""
    unit = enclosing_symbol(index, path, line)
    hits = nearest(
        index, "code", symbol_text(index, unit), "code2code", k, keep=lambda other: other.id != unit.id
    )
    return unit, hits


def docs_for(index: WorkspaceIndex, path: str, line: int, k: int = 10) -> tuple[StoredUnit, list[Hit]]:
    """The documentation most relevant to the symbol at ``path:line`` (code2nl)."""
    unit = enclosing_symbol(index, path, line)
    return unit, nearest(index, "docs", symbol_text(index, unit), "code2nl", k)


def code_before(index: WorkspaceIndex, path: str, line: int) -> str:
    """The code a completion query sees: up to COMPLETION_CONTEXT_LINES lines before ``line``."""
    text = (index.root / path).read_text(encoding="utf-8", errors="replace")
    lines = text.splitlines()
    if not 1 <= line <= len(lines) + 1:
        raise NoSymbolError(f"{path} has {len(lines)} lines; line {line} is outside it")
    return "\n".join(lines[max(0, line - 1 - COMPLETION_CONTEXT_LINES) : line - 1])


def complete(index: WorkspaceIndex, path: str, line: int, k: int = 10) -> list[Hit]:
    """Completion candidates for the code before ``path:line`` (code2completion).

    Units of the same file that contain ``line`` are left out: their body is the
    code being written, not a suggestion.
    """
    prefix = code_before(index, path, line)
    if not prefix.strip():
        return []

    def keep(unit: StoredUnit) -> bool:
        return not (unit.path == path and unit.start_line <= line <= unit.end_line)

    return nearest(index, "completions", prefix, "code2completion", k, keep=keep)
