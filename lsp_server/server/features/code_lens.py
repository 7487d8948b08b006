"""``textDocument/codeLens``: "2 copies: 1 renamed, 1 near-miss" on each symbol that has clones.

The lens list compares stored fingerprints and vectors only (no embedding), so it is cheap
and there before the model loads; the
locations are filled in ``codeLens/resolve``. The lens command carries them as
``[uri, position, locations]`` so that each client can show them its own way
(VS Code: a references peek; Neovim: the quickfix list). When the index or the
settings change, clients that support it are asked to refresh their lenses.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

from lsprotocol import types

from lsp_server.retrieval.clone_model import ClonePair
from lsp_server.server.command_ids import SHOW_SIMILAR
from lsp_server.server.convert import location
from lsp_server.server.core import CodekinServer
from lsp_server.server.file_clones import clones_in_file, describe
from lsp_server.server.folders import Folder
from lsp_server.server.guard import guarded

log = logging.getLogger(__name__)

CACHE_SIZE = 2048


class LensCache:
    """The hits behind the lenses handed out last, so that resolve does not search again."""

    def __init__(self) -> None:
        self._items: OrderedDict[tuple[str, int], list[ClonePair]] = OrderedDict()

    def put(self, uri: str, unit_id: int, hits: list[ClonePair]) -> None:
        self._items[(uri, unit_id)] = hits
        self._items.move_to_end((uri, unit_id))
        while len(self._items) > CACHE_SIZE:
            self._items.popitem(last=False)

    def get(self, uri: str, unit_id: int) -> list[ClonePair] | None:
        return self._items.get((uri, unit_id))


def lens_command(folder: Folder, uri: str, line: int, pairs: list[ClonePair]) -> types.Command:
    title = describe(pairs) if pairs else "no clones any more"
    locations = [location(folder, pair.b) for pair in pairs]
    return types.Command(
        title=title,
        command=SHOW_SIMILAR,
        arguments=[uri, types.Position(line=line - 1, character=0), locations],
    )


def unresolved_lens(uri: str, unit_id: int, line: int) -> types.CodeLens:
    position = types.Position(line=line - 1, character=0)
    return types.CodeLens(
        range=types.Range(start=position, end=position), data={"uri": uri, "unit": unit_id, "line": line}
    )


class CodeLenses:
    def __init__(self) -> None:
        self.cache = LensCache()

    async def lenses(self, ls: CodekinServer, params: types.CodeLensParams) -> list[types.CodeLens]:
        uri = params.text_document.uri
        located = ls.locate(uri)
        if located is None or located.folder.index is None:
            return []
        found = await ls.in_query_thread(clones_in_file, located.folder, located.path)
        for unit_id, _, hits in found:
            self.cache.put(uri, unit_id, hits)
        return [unresolved_lens(uri, unit_id, line) for unit_id, line, _ in found]

    async def resolve(self, ls: CodekinServer, lens: types.CodeLens) -> types.CodeLens:
        data: Any = lens.data
        if not isinstance(data, dict) or not isinstance(data.get("uri"), str):
            return lens
        uri, unit_id, line = data["uri"], data.get("unit"), data.get("line")
        located = ls.locate(uri)
        if located is None or not isinstance(unit_id, int) or not isinstance(line, int):
            return lens
        hits = self.cache.get(uri, unit_id)
        if hits is None:
            found = await ls.in_query_thread(clones_in_file, located.folder, located.path)
            hits = next((h for uid, _, h in found if uid == unit_id), [])
        lens.command = lens_command(located.folder, uri, line, hits)
        return lens


def refresh_lenses(ls: CodekinServer) -> None:
    """Ask the client to fetch its lenses again, where it can be asked (Neovim 0.11 cannot)."""
    workspace = ls.client_capabilities.workspace
    code_lens = workspace.code_lens if workspace else None
    if ls.options.features.code_lens and code_lens is not None and code_lens.refresh_support:
        ls.spawn(_refresh(ls))


async def _refresh(ls: CodekinServer) -> None:
    try:
        await ls.workspace_code_lens_refresh_async(None)
    except Exception as exc:
        log.info("workspace/codeLens/refresh failed: %s", exc)


def register(server: CodekinServer) -> None:
    feature = CodeLenses()

    async def resolve(ls: CodekinServer, lens: types.CodeLens) -> types.CodeLens:
        return await feature.resolve(ls, lens)  # pygls marks its handlers: a function, not a method

    lenses = guarded("code_lens", list)(feature.lenses)
    server.feature(types.TEXT_DOCUMENT_CODE_LENS, types.CodeLensOptions(resolve_provider=True))(lenses)
    server.feature(types.CODE_LENS_RESOLVE)(resolve)
    server.events.index_changed.subscribe(lambda _: refresh_lenses(server))
    server.events.settings_changed.subscribe(lambda _: refresh_lenses(server))
