"""``workspace/symbol``: symbols whose name contains the query, then natural-language matches."""

from __future__ import annotations

import logging

from lsprotocol import types

from lsp_server.index.store import StoredUnit
from lsp_server.retrieval import queries
from lsp_server.retrieval.hits import Hit
from lsp_server.server.convert import symbol_kind
from lsp_server.server.core import CodekinServer
from lsp_server.server.folders import Folder
from lsp_server.server.guard import guarded
from lsp_server.server.positions import whole_lines

log = logging.getLogger(__name__)

MIN_SEMANTIC_CHARS = 3
"""Shorter queries are names being typed; meaning starts with a word or two."""
MAX_QUERY_CHARS = 256
"""Longer queries are cut to this: no name is that long, and SQLite refuses huge LIKE patterns."""


def bounded_query(query: str) -> str:
    """The query as searched: stripped, and cut to ``MAX_QUERY_CHARS`` with a log line."""
    needle = query.strip()
    if len(needle) > MAX_QUERY_CHARS:
        log.info("workspace/symbol: a %d-character query, cut to its first %d", len(needle), MAX_QUERY_CHARS)
        needle = needle[:MAX_QUERY_CHARS]
    return needle


def symbol_information(folder: Folder, found: StoredUnit | Hit, container: str) -> types.SymbolInformation:
    """A stored unit (a name match) or a hit (a match by meaning) as the client shows symbols."""
    return types.SymbolInformation(
        name=found.name,
        kind=symbol_kind(found.kind),
        location=types.Location(
            uri=folder.uri_of(found.path), range=whole_lines(found.start_line, found.end_line)
        ),
        container_name=container,
    )


def symbols_for(folder: Folder, query: str, limit: int) -> list[types.SymbolInformation]:
    index = folder.index
    if index is None:
        return []
    needle = query.strip()
    named = index.store.units_named(needle, "code", limit) if needle else []
    lowered = needle.lower()

    def rank(unit: StoredUnit) -> tuple[int, int]:
        short = unit.name.rsplit(".", 1)[-1].lower()
        return (0 if short == lowered else 1 if short.startswith(lowered) else 2, len(unit.name))

    named.sort(key=rank)
    out = [symbol_information(folder, unit, unit.path) for unit in named]
    seen = {unit.id for unit in named}
    if len(needle) >= MIN_SEMANTIC_CHARS:
        for hit in queries.search(index, needle, limit):
            if hit.unit_id not in seen:
                seen.add(hit.unit_id)
                container = f"{hit.path} · matches “{needle}” ({hit.score:.2f})"
                out.append(symbol_information(folder, hit, container))
    return out[:limit]


async def workspace_symbol(
    ls: CodekinServer, params: types.WorkspaceSymbolParams
) -> list[types.SymbolInformation]:
    out: list[types.SymbolInformation] = []
    query = bounded_query(params.query)
    for folder in ls.folders:
        try:
            out += await ls.in_query_thread(symbols_for, folder, query, ls.options.max_results)
        except Exception:  # one folder's failure leaves the others' answers
            log.exception("workspace/symbol in %s failed", folder.root)
    return out


def register(server: CodekinServer) -> None:
    server.feature(types.WORKSPACE_SYMBOL)(guarded("workspace_symbol", list)(workspace_symbol))
