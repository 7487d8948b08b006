"""From extracted symbols and doc units to the units stored for each space.

One code unit per symbol (serves nl2code and code2code, whose passages are the
same text with the same prefix), one completion unit per symbol with a body, and
one docs unit per docstring, leading comment or documentation section.
"""

from __future__ import annotations

import textwrap

from lsp_server.index.store import NewUnit
from lsp_server.units.model import FileUnits, Symbol


def units_for_file(file_units: FileUnits, lines: list[str]) -> list[NewUnit]:
    """The units of every space for one file; ``lines`` is the file's text split into lines."""
    units: list[NewUnit] = []
    for symbol in file_units.symbols:
        code = dedented(symbol.code, lines, symbol.start_line)
        if not code.strip():
            continue
        units.append(
            NewUnit(
                "code", symbol.kind, symbol.name, symbol.language, symbol.start_line, symbol.end_line, code
            )
        )
        completion = _completion(symbol)
        if completion is not None:
            units.append(completion)
    for doc in file_units.docs:
        if doc.text.strip():
            units.append(
                NewUnit("docs", doc.kind, doc.name, doc.language, doc.start_line, doc.end_line, doc.text)
            )
    return units


def _completion(symbol: Symbol) -> NewUnit | None:
    body = textwrap.dedent(symbol.body).strip("\n")
    if not body.strip():
        return None
    body_lines = body.count("\n") + 1
    start = max(symbol.start_line, symbol.end_line - body_lines + 1)
    return NewUnit("completions", symbol.kind, symbol.name, symbol.language, start, symbol.end_line, body)


def dedented(code: str, lines: list[str], start_line: int) -> str:
    """The symbol's code as if it stood at column 0, so an indented copy hashes and embeds the same."""
    if 0 < start_line <= len(lines):
        first = lines[start_line - 1]
        indent = first[: len(first) - len(first.lstrip())]
        if indent and not code.startswith(indent):
            return textwrap.dedent(indent + code)
    return textwrap.dedent(code)
