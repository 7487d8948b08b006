"""``textDocument/codeLens``: "N similar" on each symbol with near-duplicates above the threshold.

The lens list compares stored vectors only (no embedding), so it is cheap; the
locations are filled in ``codeLens/resolve``. The lens command carries them as
``[uri, position, locations]`` so that each client can show them its own way
(VS Code: a references peek; Neovim: the quickfix list).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

from lsprotocol import types

from lsp_server.retrieval.duplicates import duplicates_of
from lsp_server.retrieval.hits import Hit
from lsp_server.server.app import CodekinServer
from lsp_server.server.convert import location
from lsp_server.server.features.commands import SHOW_SIMILAR
from lsp_server.server.folders import Folder

log = logging.getLogger(__name__)

CACHE_SIZE = 2048


class LensCache:
    """The hits behind the lenses handed out last, so that resolve does not search again."""

    def __init__(self) -> None:
        self._items: OrderedDict[tuple[str, int], list[Hit]] = OrderedDict()

    def put(self, uri: str, unit_id: int, hits: list[Hit]) -> None:
        self._items[(uri, unit_id)] = hits
        self._items.move_to_end((uri, unit_id))
        while len(self._items) > CACHE_SIZE:
            self._items.popitem(last=False)

    def get(self, uri: str, unit_id: int) -> list[Hit] | None:
        return self._items.get((uri, unit_id))


def similar_in_file(folder: Folder, path: str) -> list[tuple[int, int, list[Hit]]]:
    """(unit id, start line, near-duplicates) of each symbol of ``path`` that has some."""
    index = folder.index
    if index is None:
        return []
    settings = folder.settings
    found = duplicates_of(index, path, settings.duplicate_threshold, settings.duplicate_min_lines)
    return [(unit.id, unit.start_line, hits) for unit, hits in found]


def lens_command(folder: Folder, uri: str, line: int, hits: list[Hit]) -> types.Command:
    title = f"{len(hits)} similar" + (f" (best {hits[0].score:.2f})" if hits else "")
    locations = [location(folder, hit) for hit in hits]
    return types.Command(
        title=title,
        command=SHOW_SIMILAR,
        arguments=[uri, types.Position(line=line - 1, character=0), locations],
    )


def register(server: CodekinServer) -> None:
    cache = LensCache()

    @server.feature(types.TEXT_DOCUMENT_CODE_LENS, types.CodeLensOptions(resolve_provider=True))
    async def code_lens(ls: CodekinServer, params: types.CodeLensParams) -> list[types.CodeLens]:
        if not ls.options.features.code_lens or not ls.started:
            return []
        uri = params.text_document.uri
        located = ls.locate(uri)
        if located is None or located.folder.index is None:
            return []
        try:
            found = await ls.in_query_thread(similar_in_file, located.folder, located.path)
        except Exception:  # one failing feature must not take the others down
            log.exception("code lenses for %s failed", uri)
            return []
        lenses = []
        for unit_id, line, hits in found:
            cache.put(uri, unit_id, hits)
            position = types.Position(line=line - 1, character=0)
            lenses.append(
                types.CodeLens(
                    range=types.Range(start=position, end=position),
                    data={"uri": uri, "unit": unit_id, "line": line},
                )
            )
        return lenses

    @server.feature(types.CODE_LENS_RESOLVE)
    async def resolve(ls: CodekinServer, lens: types.CodeLens) -> types.CodeLens:
        data: Any = lens.data
        if not isinstance(data, dict) or not isinstance(data.get("uri"), str):
            return lens
        uri, unit_id, line = data["uri"], data.get("unit"), data.get("line")
        located = ls.locate(uri)
        if located is None or not isinstance(unit_id, int) or not isinstance(line, int):
            return lens
        hits = cache.get(uri, unit_id)
        if hits is None:
            found = await ls.in_query_thread(similar_in_file, located.folder, located.path)
            hits = next((h for uid, _, h in found if uid == unit_id), [])
        lens.command = lens_command(located.folder, uri, line, hits)
        return lens
