"""``codekin explain FILE:LINE FILE:LINE``: why two symbols are alike, as renames and a diff.

It reads the two files and nothing else: no index, no model, so it answers at once, in any
folder. Lines are printed as file lines; the diff is of the two units as if each stood at column 0.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from lsp_server.cli.workspace import UsageError, parse_location
from lsp_server.retrieval import queries
from lsp_server.retrieval.explain import Explanation, LineChange, Rename, explain
from lsp_server.units.languages import language_for_path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("first", metavar="FILE:LINE", help="the symbol at this line ...")
    parser.add_argument("second", metavar="FILE:LINE", help="... compared with the symbol at this one")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv: debug)")


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Explain the pair; exit status 2, with a message on stderr, for a mistake in what was asked."""
    try:
        a, language_a = _symbol(args.first)
        b, language_b = _symbol(args.second)
    except (UsageError, queries.NoSymbolError) as exc:
        print(f"codekin: {exc}", file=sys.stderr)
        return 2
    found = explain(
        language_a,
        a.code,
        language_b,
        b.code,
        name_a=_title(a),
        name_b=_title(b),
        first_line_a=a.start_line,
        first_line_b=b.start_line,
    )
    if args.json:
        out.write(json.dumps(explanation_json(a, b, found)) + "\n")
    else:
        print_explanation(a, b, found, out)
    return 0


def _symbol(location: str) -> tuple[queries.QuerySymbol, str]:
    """The symbol at ``FILE:LINE`` and its language."""
    file, line = parse_location(location)
    shown = _shown(file)
    language = language_for_path(shown)
    if language is None:
        raise UsageError(f"{shown}: not a language codekin reads")
    try:
        text = file.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise UsageError(f"{shown}: {exc.strerror or exc}") from None
    return queries.symbol_at(shown, text, line), language


def _shown(file: Path) -> str:
    """``file`` relative to the current folder when it lies below it, else absolute."""
    cwd = Path.cwd().resolve()
    return file.relative_to(cwd).as_posix() if file.is_relative_to(cwd) else str(file)


def _title(symbol: queries.QuerySymbol) -> str:
    return f"{symbol.path}:{symbol.start_line}-{symbol.end_line} ({symbol.name})"


def _file_line(symbol: queries.QuerySymbol, line: int | None) -> int | None:
    return None if line is None else line + symbol.start_line - 1


def explanation_json(a: queries.QuerySymbol, b: queries.QuerySymbol, found: Explanation) -> dict[str, Any]:
    """The ``--json`` object: lines as file lines."""
    return {
        "a": _symbol_json(a),
        "b": _symbol_json(b),
        "similarity": round(found.similarity, 6),
        "renames": [_rename_json(r) for r in found.renames],
        "values": [_rename_json(r) for r in found.values],
        "only_in_a": [_file_line(a, line) for line in found.only_in_a],
        "only_in_b": [_file_line(b, line) for line in found.only_in_b],
        "changed": [
            {"a_line": _file_line(a, c.a_line), "b_line": _file_line(b, c.b_line)} for c in found.changed
        ],
        "diff": found.unified_diff,
    }


def _symbol_json(symbol: queries.QuerySymbol) -> dict[str, Any]:
    return {
        "path": symbol.path,
        "name": symbol.name,
        "start_line": symbol.start_line,
        "end_line": symbol.end_line,
    }


def _rename_json(rename: Rename) -> dict[str, Any]:
    return {"before": rename.before, "after": rename.after, "count": rename.count}


def print_explanation(
    a: queries.QuerySymbol, b: queries.QuerySymbol, found: Explanation, out: TextIO
) -> None:
    """The pair for a person: a header, the rename map, the lines that differ, the diff."""
    out.write(f"a: {a.name} ({a.path}:{a.start_line}-{a.end_line})\n")
    out.write(f"b: {b.name} ({b.path}:{b.start_line}-{b.end_line})\n")
    out.write(f"similarity: {found.similarity:.2f} (tokens aligned, names and values abstracted)\n")
    for title, renames in (("renames", found.renames), ("values", found.values)):
        if renames:
            out.write(f"{title}:\n")
            out.writelines(f"  {r.before} → {r.after} ({r.count}×)\n" for r in renames)
    if not found.renames:
        out.write("renames: none\n")
    _lines(out, "only in a", [_file_line(a, line) for line in found.only_in_a])
    _lines(out, "only in b", [_file_line(b, line) for line in found.only_in_b])
    _lines(out, "changed", [_change(a, b, c) for c in found.changed])
    out.write("\n" + (found.unified_diff or "(the texts are the same once renamed)\n"))


def _change(a: queries.QuerySymbol, b: queries.QuerySymbol, change: LineChange) -> str:
    line_a, line_b = _file_line(a, change.a_line), _file_line(b, change.b_line)
    return f"{line_a or '-'}↔{line_b or '-'}"


def _lines(out: TextIO, title: str, lines: list[Any]) -> None:
    if lines:
        label = "line" if len(lines) == 1 else "lines"
        out.write(f"{title}: {label} {', '.join(str(line) for line in lines)}\n")
