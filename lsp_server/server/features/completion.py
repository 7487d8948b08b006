"""``textDocument/completion``: snippets retrieved for the code before the cursor (code2completion).

It must never slow typing: the answer comes within ``completionBudgetMs`` or not at
all (an empty, incomplete list, so that the client asks again as the user types).
"""

from __future__ import annotations

import asyncio
import logging
import re

from lsprotocol import types
from pygls.workspace import PositionCodec

from lsp_server.retrieval import queries
from lsp_server.retrieval.hits import Hit, hit_texts
from lsp_server.server.core import CodekinServer, Located
from lsp_server.server.guard import guarded
from lsp_server.server.positions import client_range

log = logging.getLogger(__name__)

ITEMS = 5
LABEL_CHARS = 60
_WORD_BEFORE = re.compile(r"[\w$]*$")


def snippet_item(hit: Hit, snippet: str, rank: int, word: str, replace: types.Range) -> types.CompletionItem:
    """One retrieved snippet as an item that replaces the word typed so far (``replace``)."""
    first = next((text.strip() for text in snippet.splitlines() if text.strip()), "")
    label = first if len(first) <= LABEL_CHARS else first[: LABEL_CHARS - 1] + "…"
    return types.CompletionItem(
        label=label,
        kind=types.CompletionItemKind.Snippet,
        detail=f"codekin: {hit.name} — {hit.path}:{hit.start_line} ({hit.score:.2f})",
        documentation=types.MarkupContent(
            kind=types.MarkupKind.Markdown, value=f"```{hit.language}\n{snippet}\n```"
        ),
        # Retrieved by meaning, not by the word typed: filter on that word so the client keeps it.
        filter_text=word or label,
        sort_text=f"~codekin{rank:03d}",
        insert_text_format=types.InsertTextFormat.PlainText,
        text_edit=types.TextEdit(range=replace, new_text=snippet),
    )


def items_for(located: Located, codec: PositionCodec, line: int, column: int) -> list[types.CompletionItem]:
    """Completion items for the cursor at ``line`` (0-based) and Python ``column``."""
    index = located.folder.index
    if index is None or located.text is None:
        return []
    hits = queries.complete(index, located.path, line + 1, ITEMS, located.text, column)
    lines = located.text.splitlines()
    current = lines[line] if line < len(lines) else ""
    typed = _WORD_BEFORE.search(current[:column])
    word = typed.group(0) if typed else ""
    replace = client_range(codec, line, current, column - len(word), column)
    snippets = hit_texts(index, hits)
    return [
        snippet_item(hit, snippet, rank, word, replace)
        for rank, (hit, snippet) in enumerate(zip(hits, snippets, strict=True))
        if snippet.strip()
    ]


def _empty() -> types.CompletionList:
    return types.CompletionList(is_incomplete=True, items=[])


async def completion(ls: CodekinServer, params: types.CompletionParams) -> types.CompletionList:
    located = ls.locate(params.text_document.uri)
    if located is None or located.folder.index is None or located.text is None:
        return _empty()
    line = params.position.line
    column = ls.to_python_column(located.text, line, params.position.character)
    budget = ls.options.completion_budget_ms / 1000
    codec = ls.workspace.position_codec
    try:
        items = await asyncio.wait_for(ls.in_query_thread(items_for, located, codec, line, column), budget)
    except TimeoutError:
        log.debug("completion took longer than %.0f ms; answered with nothing", budget * 1000)
        return _empty()
    return types.CompletionList(is_incomplete=located.folder.indexing, items=items)


def register(server: CodekinServer) -> None:
    handler = guarded("completion", _empty, quiet=(queries.NoSymbolError,))(completion)
    server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(resolve_provider=False))(handler)
