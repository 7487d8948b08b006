"""``textDocument/hover`` on a symbol's name: the documentation that best matches its code (code2nl).

Only on the name where the symbol is defined, and only above ``hoverThreshold``:
a hover that shows a poor match is worse than none. The symbol's own docstring
is never the answer (the editor shows that already).
"""

from __future__ import annotations

import logging
import re

from lsprotocol import types

from lsp_server.retrieval import queries
from lsp_server.server.app import CodekinServer, Located
from lsp_server.server.convert import utf16_column

log = logging.getLogger(__name__)

DOC_CHARS = 1500
NAME_SEARCH_LINES = 6
"""Decorators and attributes come first: look this far below a symbol's start for its name."""


def name_range(text: str, symbol: queries.QuerySymbol, line: int, column: int) -> types.Range | None:
    """The range of the symbol's own name if the cursor (0-based line, Python column) is on it."""
    short = symbol.name.rsplit(".", 1)[-1]
    lines = text.splitlines()
    for number in range(
        symbol.start_line - 1, min(symbol.end_line, symbol.start_line - 1 + NAME_SEARCH_LINES)
    ):
        if number != line or number >= len(lines):
            continue
        for match in re.finditer(rf"(?<![\w$]){re.escape(short)}(?![\w$])", lines[number]):
            if match.start() <= column <= match.end():
                return types.Range(
                    start=types.Position(line=number, character=utf16_column(lines[number], match.start())),
                    end=types.Position(line=number, character=utf16_column(lines[number], match.end())),
                )
    return None


def hover_for(ls: CodekinServer, located: Located, line: int, column: int) -> types.Hover | None:
    index = located.folder.index
    if index is None:
        return None
    text = located.text if located.text is not None else queries.read_text(index, located.path)
    try:
        symbol = queries.symbol_at(located.path, text, line + 1)
    except queries.NoSymbolError:
        return None
    where = name_range(text, symbol, line, column)
    if where is None:
        return None
    _, hits = queries.docs_for(index, located.path, line + 1, 1, text)
    if not hits or hits[0].score < ls.options.hover_threshold:
        return None
    best = hits[0]
    doc = index.store.texts([best.content_hash]).get(best.content_hash, "").strip()
    if len(doc) > DOC_CHARS:
        doc = doc[:DOC_CHARS].rstrip() + " …"
    uri = located.folder.uri_of(best.path)
    link = f"[{best.name}]({uri}#L{best.start_line})"
    header = f"**codekin** · documentation for `{symbol.name}` ({best.score:.2f}): {link}"
    return types.Hover(
        contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=f"{header}\n\n{doc}"), range=where
    )


def register(server: CodekinServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def hover(ls: CodekinServer, params: types.HoverParams) -> types.Hover | None:
        if not ls.options.features.hover or not ls.started:
            return None
        if ls.ready_event is None or not ls.ready_event.is_set():
            return None
        located = ls.locate(params.text_document.uri)
        if located is None:
            return None
        column = ls.to_python_column(located.text, params.position.line, params.position.character)
        try:
            return await ls.in_query_thread(hover_for, ls, located, params.position.line, column)
        except Exception:
            log.exception("hover failed")
            return None
