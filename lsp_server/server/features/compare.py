"""``codekin.compareSimilar``: why the symbol at a position is like another one, for a diff view.

Arguments: ``{"uri", "position", "other": {"uri", "range"}}`` (``other`` as findSimilar or a
code lens gives it). Both symbols are read from the unsaved buffer when the document is open,
else from the file; no index and no model are asked, so the answer does not wait for indexing.
The answer has both symbols, the similarity, the renames and changed values, the lines only in
one of them and the lines changed (as whole-line LSP ranges), and a unified diff.
"""

from __future__ import annotations

from typing import Any

import attrs
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from lsp_server.retrieval import queries
from lsp_server.retrieval.explain import Explanation, Rename, explain
from lsp_server.server import command_ids
from lsp_server.server.convert import range_json
from lsp_server.server.core import CodekinServer, Located
from lsp_server.server.features.commands import about_a_symbol, ready
from lsp_server.server.params import DocumentUri, readable_errors
from lsp_server.units.languages import language_for_path


@attrs.define(frozen=True)
class CompareArgs:
    """``{"uri": …, "position": …, "other": {"uri": …, "range": …}}``: a symbol, and one to compare."""

    uri: DocumentUri
    position: types.Position
    other: types.Location


@attrs.define(frozen=True)
class Side:
    """One symbol of the pair, as it stands in the text the client sees."""

    uri: str
    symbol: queries.QuerySymbol
    language: str


async def compare_similar(ls: CodekinServer, args: CompareArgs) -> dict[str, Any]:
    await ready(ls)
    here, there = _located(ls, args.uri), _located(ls, args.other.uri)
    line_a, line_b = args.position.line + 1, args.other.range.start.line + 1

    def run() -> dict[str, Any]:
        a, b = _side(args.uri, here, line_a), _side(args.other.uri, there, line_b)
        found = explain(
            a.language,
            a.symbol.code,
            b.language,
            b.symbol.code,
            name_a=_title(a.symbol),
            name_b=_title(b.symbol),
            first_line_a=a.symbol.start_line,
            first_line_b=b.symbol.start_line,
        )
        return comparison_json(a, b, found)

    return await about_a_symbol(ls, run)


def _located(ls: CodekinServer, uri: str) -> Located:
    found = ls.locate(uri)
    if found is None:
        raise JsonRpcInvalidParams(f"{uri} is not inside a workspace folder that codekin indexes")
    return found


def _side(uri: str, where: Located, line: int) -> Side:
    """The symbol at ``line`` (1-based) of the buffer, or of the file when no buffer is open."""
    text = where.text
    if text is None:
        try:
            text = (where.folder.root / where.path).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise queries.NoSymbolError(f"{where.path}: {exc.strerror or exc}") from None
    symbol = queries.symbol_at(where.path, text, line)
    language = language_for_path(where.path)
    if language is None:  # symbol_at found a symbol, so the path has a language
        raise queries.NoSymbolError(f"{where.path}: not a language codekin reads")
    return Side(uri, symbol, language)


def _title(symbol: queries.QuerySymbol) -> str:
    return f"{symbol.path}:{symbol.start_line}-{symbol.end_line} ({symbol.name})"


def comparison_json(a: Side, b: Side, found: Explanation) -> dict[str, Any]:
    """The command's answer: unit-relative lines become whole-line ranges of each file."""

    def lines(side: Side, line: int | None) -> dict[str, Any] | None:
        if line is None:
            return None
        at = line + side.symbol.start_line - 1
        return range_json(at, at)

    return {
        "a": _symbol_json(a),
        "b": _symbol_json(b),
        "similarity": round(found.similarity, 6),
        "renames": [_rename_json(r) for r in found.renames],
        "values": [_rename_json(r) for r in found.values],
        "onlyInA": [lines(a, line) for line in found.only_in_a],
        "onlyInB": [lines(b, line) for line in found.only_in_b],
        "changed": [{"a": lines(a, c.a_line), "b": lines(b, c.b_line)} for c in found.changed],
        "diff": found.unified_diff,
    }


def _symbol_json(side: Side) -> dict[str, Any]:
    symbol = side.symbol
    return {"uri": side.uri, "range": range_json(symbol.start_line, symbol.end_line), "name": symbol.name}


def _rename_json(rename: Rename) -> dict[str, Any]:
    return {"before": rename.before, "after": rename.after, "count": rename.count}


def register(server: CodekinServer) -> None:
    server.converter.register_structure_hook(CompareArgs, readable_errors(CompareArgs, server.converter))
    server.command(command_ids.COMPARE_SIMILAR)(compare_similar)
