"""``textDocument/completion``: snippets retrieved for the code before the cursor (code2completion).

It must never slow typing: the answer comes within ``completionBudgetMs`` or not at
all (an empty, incomplete list, so that the client asks again as the user types).
"""

from __future__ import annotations

import asyncio
import logging
import re

from lsprotocol import types

from lsp_server.retrieval import queries
from lsp_server.server.app import CodekinServer, Located
from lsp_server.server.convert import utf16_column

log = logging.getLogger(__name__)

ITEMS = 5
LABEL_CHARS = 60
_WORD_BEFORE = re.compile(r"[\w$]*$")


def items_for(ls: CodekinServer, located: Located, line: int, column: int) -> list[types.CompletionItem]:
    """Completion items for the cursor at ``line`` (0-based) and Python ``column``."""
    index = located.folder.index
    if index is None or located.text is None:
        return []
    hits = queries.complete(index, located.path, line + 1, ITEMS, located.text, column)
    texts = index.store.texts([hit.content_hash for hit in hits])
    lines = located.text.splitlines()
    current = lines[line] if line < len(lines) else ""
    typed = _WORD_BEFORE.search(current[:column])
    word = typed.group(0) if typed else ""
    items = []
    for rank, hit in enumerate(hits):
        snippet = texts.get(hit.content_hash, "")
        first = next((text.strip() for text in snippet.splitlines() if text.strip()), "")
        if not first:
            continue
        label = first if len(first) <= LABEL_CHARS else first[: LABEL_CHARS - 1] + "…"
        items.append(
            types.CompletionItem(
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
                text_edit=types.TextEdit(
                    range=types.Range(
                        start=types.Position(line=line, character=utf16_column(current, column - len(word))),
                        end=types.Position(line=line, character=utf16_column(current, column)),
                    ),
                    new_text=snippet,
                ),
            )
        )
    return items


def register(server: CodekinServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(resolve_provider=False))
    async def completion(ls: CodekinServer, params: types.CompletionParams) -> types.CompletionList:
        empty = types.CompletionList(is_incomplete=True, items=[])
        if not ls.options.features.completion or not ls.started or ls.ready_event is None:
            return empty
        if not ls.ready_event.is_set():
            return empty
        located = ls.locate(params.text_document.uri)
        if located is None or located.folder.index is None or located.text is None:
            return empty
        line = params.position.line
        column = ls.to_python_column(located.text, line, params.position.character)
        budget = ls.options.completion_budget_ms / 1000
        try:
            items = await asyncio.wait_for(ls.in_query_thread(items_for, ls, located, line, column), budget)
        except TimeoutError:
            log.debug("completion took longer than %.0f ms; answered with nothing", budget * 1000)
            return empty
        except queries.NoSymbolError:
            return empty
        except Exception:
            log.exception("completion failed")
            return empty
        return types.CompletionList(is_incomplete=located.folder.indexing, items=items)
