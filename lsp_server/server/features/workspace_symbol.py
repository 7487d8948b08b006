"""``workspace/symbol``: symbols whose name contains the query, then natural-language matches."""

from __future__ import annotations

import logging

from lsprotocol import types

from lsp_server.index.store import StoredUnit
from lsp_server.retrieval import queries
from lsp_server.server.app import CodekinServer
from lsp_server.server.convert import lines_range, symbol_kind
from lsp_server.server.folders import Folder

log = logging.getLogger(__name__)

MIN_SEMANTIC_CHARS = 3
"""Shorter queries are names being typed; meaning starts with a word or two."""


def _symbol(folder: Folder, unit: StoredUnit, container: str) -> types.SymbolInformation:
    return types.SymbolInformation(
        name=unit.name,
        kind=symbol_kind(unit.kind),
        location=types.Location(
            uri=folder.uri_of(unit.path), range=lines_range(unit.start_line, unit.end_line)
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
    out = [_symbol(folder, unit, unit.path) for unit in named]
    seen = {unit.id for unit in named}
    if len(needle) >= MIN_SEMANTIC_CHARS:
        for hit in queries.search(index, needle, limit):
            if hit.unit_id in seen:
                continue
            seen.add(hit.unit_id)
            unit = StoredUnit(
                hit.unit_id, hit.path, "code", hit.kind, hit.name, hit.language, hit.start_line, hit.end_line,
                hit.content_hash,
            )  # fmt: skip
            out.append(_symbol(folder, unit, f"{hit.path} · matches “{needle}” ({hit.score:.2f})"))
    return out[:limit]


def register(server: CodekinServer) -> None:
    @server.feature(types.WORKSPACE_SYMBOL)
    async def workspace_symbol(
        ls: CodekinServer, params: types.WorkspaceSymbolParams
    ) -> list[types.SymbolInformation]:
        if not ls.options.features.workspace_symbol or not ls.started:
            return []
        if ls.ready_event is None or not ls.ready_event.is_set():
            return []
        out: list[types.SymbolInformation] = []
        for folder in ls.folders:
            try:
                out += await ls.in_query_thread(symbols_for, folder, params.query, ls.options.max_results)
            except Exception:
                log.exception("workspace/symbol in %s failed", folder.root)
        return out
