"""``textDocument/hover`` on a symbol's name: the documentation that best matches its code (code2nl).

Only on the name where the symbol is defined, and only above ``hoverThreshold``:
a hover that shows a poor match is worse than none. The symbol's own docstring
is never the answer (the editor shows that already).
"""

from __future__ import annotations

import re

from lsprotocol import types
from pygls.workspace import PositionCodec

from lsp_server.retrieval import queries
from lsp_server.retrieval.hits import hit_texts
from lsp_server.server.core import CodekinServer, Located
from lsp_server.server.guard import guarded
from lsp_server.server.positions import client_range

DOC_CHARS = 1500
NAME_SEARCH_LINES = 6
"""Decorators and attributes come first: look this far below a symbol's start for its name."""


def name_range(
    codec: PositionCodec, text: str, symbol: queries.QuerySymbol, line: int, column: int
) -> types.Range | None:
    """The range of the symbol's own name if the cursor (0-based line, Python column) is on it."""
    short = symbol.name.rsplit(".", 1)[-1]
    lines = text.splitlines()
    last = min(symbol.end_line, symbol.start_line - 1 + NAME_SEARCH_LINES)
    if not symbol.start_line - 1 <= line < last or line >= len(lines):
        return None
    for match in re.finditer(rf"(?<![\w$]){re.escape(short)}(?![\w$])", lines[line]):
        if match.start() <= column <= match.end():
            return client_range(codec, line, lines[line], match.start(), match.end())
    return None


def hover_for(
    located: Located, codec: PositionCodec, threshold: float, line: int, column: int
) -> types.Hover | None:
    index = located.folder.index
    if index is None:
        return None
    text = located.text if located.text is not None else queries.read_text(index, located.path)
    try:
        symbol = queries.symbol_at(located.path, text, line + 1)
    except queries.NoSymbolError:
        return None
    where = name_range(codec, text, symbol, line, column)
    if where is None:
        return None
    hits = queries.docs_for_symbol(index, symbol, 1)
    if not hits or hits[0].score < threshold:
        return None
    best = hits[0]
    doc = hit_texts(index, [best])[0].strip()
    if len(doc) > DOC_CHARS:
        doc = doc[:DOC_CHARS].rstrip() + " …"
    link = f"[{best.name}]({located.folder.uri_of(best.path)}#L{best.start_line})"
    header = f"**codekin** · documentation for `{symbol.name}` ({best.score:.2f}): {link}"
    return types.Hover(
        contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=f"{header}\n\n{doc}"), range=where
    )


async def hover(ls: CodekinServer, params: types.HoverParams) -> types.Hover | None:
    located = ls.locate(params.text_document.uri)
    if located is None:
        return None
    line = params.position.line
    column = ls.to_python_column(located.text, line, params.position.character)
    codec = ls.workspace.position_codec
    return await ls.in_query_thread(hover_for, located, codec, ls.options.hover_threshold, line, column)


def register(server: CodekinServer) -> None:
    server.feature(types.TEXT_DOCUMENT_HOVER)(guarded("hover", lambda: None)(hover))
