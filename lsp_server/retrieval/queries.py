"""Search, find-similar, docs lookup and completion snippets: a query embedding, then the ANN space.

Position-based queries read the symbol from the text the caller has: the file on
disk for the CLI, the unsaved buffer for the language server. So a query about code
that was just typed does not wait for the index to take it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lsp_server.embedding.base import Task, Vectors
from lsp_server.index.indexer import WorkspaceIndex
from lsp_server.index.records import dedented
from lsp_server.index.store import StoredUnit
from lsp_server.retrieval.hits import Hit
from lsp_server.units.extract import extract

COMPLETION_CONTEXT_LINES = 30
"""How much code before the cursor a completion query sees."""


class NoSymbolError(LookupError):
    """The position is not inside any symbol that codekin can extract."""


@dataclass(frozen=True, slots=True)
class QuerySymbol:
    """The symbol a position-based query is about, as it stands in the caller's text."""

    path: str
    name: str
    kind: str
    start_line: int
    end_line: int
    code: str

    def overlaps(self, unit: StoredUnit) -> bool:
        """Whether ``unit`` is this symbol, encloses it or lies inside it (same file, lines overlap)."""
        same_file = unit.path == self.path
        return same_file and unit.start_line <= self.end_line and self.start_line <= unit.end_line


def nearest(
    index: WorkspaceIndex,
    space: str,
    query: str | Vectors,
    task: Task,
    k: int,
    keep: Callable[[StoredUnit], bool] = lambda unit: True,
) -> list[Hit]:
    """The ``k`` best units of ``space`` for ``query`` embedded as ``task``'s query side.

    ``query`` may be its embedding already (one row), to ask several indexes with one embedding.
    """
    if k <= 0:
        return []
    vector = index.query_vectors([query], task) if isinstance(query, str) else query
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


def read_text(index: WorkspaceIndex, path: str) -> str:
    return (index.root / path).read_text(encoding="utf-8", errors="replace")


def symbol_at(path: str, text: str, line: int) -> QuerySymbol:
    """The innermost symbol of ``text`` (the content of ``path``) whose lines contain ``line`` (1-based)."""
    file_units = extract(path, text.encode("utf-8", "surrogatepass"))
    symbols = [s for s in (file_units.symbols if file_units else []) if s.start_line <= line <= s.end_line]
    if not symbols:
        raise NoSymbolError(f"{path}:{line} is not inside a function, method or class that codekin indexes")
    best = min(symbols, key=lambda s: (s.end_line - s.start_line, -s.start_line))
    code = dedented(best.code, text.splitlines(), best.start_line)
    return QuerySymbol(path, best.name, best.kind, best.start_line, best.end_line, code)


def similar(
    index: WorkspaceIndex,
    path: str,
    line: int,
    k: int = 10,
    text: str | None = None,
    others: Sequence[WorkspaceIndex] = (),
) -> tuple[QuerySymbol, list[tuple[WorkspaceIndex, Hit]]]:
    """Code like the symbol at ``path:line`` (code2code), in ``index`` and any ``others``.

    The symbol itself, the symbols around it and those inside it are left out; its
    copies elsewhere are not. One query embedding serves every index.
    """
    symbol = symbol_at(path, read_text(index, path) if text is None else text, line)
    vector = index.query_vectors([symbol.code], "code2code")
    found = [
        (index, hit)
        for hit in nearest(index, "code", vector, "code2code", k, keep=lambda unit: not symbol.overlaps(unit))
    ]
    for other in others:
        if other is not index and other.model_id == index.model_id and other.dim == index.dim:
            found += [(other, hit) for hit in nearest(other, "code", vector, "code2code", k)]
    found.sort(key=lambda pair: -pair[1].score)
    return symbol, found[:k]


def docs_for(
    index: WorkspaceIndex, path: str, line: int, k: int = 10, text: str | None = None
) -> tuple[QuerySymbol, list[Hit]]:
    """The documentation most relevant to the symbol at ``path:line`` (code2nl)."""
    symbol = symbol_at(path, read_text(index, path) if text is None else text, line)
    return symbol, docs_for_symbol(index, symbol, k)


def docs_for_symbol(index: WorkspaceIndex, symbol: QuerySymbol, k: int = 10) -> list[Hit]:
    """``docs_for`` a symbol the caller has found already (a hover has, to place its range).

    The symbol's own docstring is not a finding: doc units inside the symbol are left out.
    """
    return nearest(index, "docs", symbol.code, "code2nl", k, keep=lambda unit: not symbol.overlaps(unit))


def code_before(text: str, line: int, character: int | None = None) -> str:
    """What a completion query sees: up to COMPLETION_CONTEXT_LINES lines before the cursor.

    ``line`` is 1-based; with ``character`` the cursor's own line counts up to it, without
    it the query ends at the end of the line before.
    """
    lines = text.splitlines()
    if not 1 <= line <= len(lines) + 1:
        raise NoSymbolError(f"the text has {len(lines)} lines; line {line} is outside it")
    before = lines[max(0, line - 1 - COMPLETION_CONTEXT_LINES) : line - 1]
    if character is not None and line <= len(lines):
        before.append(lines[line - 1][:character])
    return "\n".join(before)


def complete(
    index: WorkspaceIndex,
    path: str,
    line: int,
    k: int = 10,
    text: str | None = None,
    character: int | None = None,
) -> list[Hit]:
    """Completion candidates for the code before ``path:line`` (code2completion).

    Units of the same file that contain ``line`` are left out: their body is the
    code being written, not a suggestion.
    """
    prefix = code_before(read_text(index, path) if text is None else text, line, character)
    if not prefix.strip():
        return []

    def keep(unit: StoredUnit) -> bool:
        return not (unit.path == path and unit.start_line <= line <= unit.end_line)

    return nearest(index, "completions", prefix, "code2completion", k, keep=keep)
