"""From a file's extracted symbols and doc units to the records the store keeps for each space.

One code unit per symbol (serves nl2code and code2code, whose passages are the
same text with the same prefix), one completion unit per symbol with a body, and
one docs unit per docstring, leading comment or documentation section.
"""

from __future__ import annotations

import logging
import textwrap

from lsp_server.embedding.base import Task
from lsp_server.index.store import NewUnit
from lsp_server.units.extract import extract
from lsp_server.units.model import FileUnits, Symbol

log = logging.getLogger(__name__)

PASSAGE_TASK: dict[str, Task] = {"code": "code2code", "docs": "code2nl", "completions": "code2completion"}
"""The task whose passage side embeds each space (nl2code shares code2code's passages)."""


def file_records(path: str, data: bytes) -> list[NewUnit] | None:
    """The units of every space for ``data``, the content of ``path``; None when extraction failed
    (the file is left out). Problems are logged, not raised: one file must not stop the index."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        log.info("%s: invalid UTF-8 at byte %d; undecodable bytes replaced", path, exc.start)
    try:
        file_units = extract(path, data)
    except Exception:  # a bug in one grammar's handling must not stop the whole index
        log.exception("%s: extraction failed; file left out", path)
        return None
    if file_units is None:
        return []
    for warning in file_units.warnings:
        log.info("%s: %s", path, warning)
    return units_for_file(file_units, data.decode("utf-8", errors="replace").splitlines())


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
