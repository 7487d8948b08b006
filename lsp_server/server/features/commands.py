"""``workspace/executeCommand``: codekin.findSimilar, findDuplicates, searchCode, lookupDocs,
completionSnippets, reindex, status, and showSimilar (the code lenses' command).

Arguments are one object (``{"uri": …, "position": {"line": …, "character": …}}``) or the
same values positionally (``[uri, position]``). Anything else is a JSON-RPC InvalidParams
error; the server stays up.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Sequence
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInternalError, JsonRpcInvalidParams

from lsp_server.embedding.base import EmbeddingError
from lsp_server.embedding.deferred import DeferredEmbedder
from lsp_server.retrieval import queries
from lsp_server.retrieval.duplicates import find_duplicates
from lsp_server.retrieval.hits import Hit
from lsp_server.server.app import CodekinServer, Located
from lsp_server.server.convert import hit_json
from lsp_server.server.folders import Folder, folder_for, path_of_uri

log = logging.getLogger(__name__)

FIND_SIMILAR = "codekin.findSimilar"
FIND_DUPLICATES = "codekin.findDuplicates"
SEARCH_CODE = "codekin.searchCode"
LOOKUP_DOCS = "codekin.lookupDocs"
COMPLETION_SNIPPETS = "codekin.completionSnippets"
REINDEX = "codekin.reindex"
STATUS = "codekin.status"
SHOW_SIMILAR = "codekin.showSimilar"

READY_TIMEOUT_S = 60.0


# -- argument checking ------------------------------------------------------------------------------


def _object(args: Sequence[Any], names: tuple[str, ...]) -> dict[str, Any]:
    if len(args) == 1 and isinstance(args[0], dict):
        return args[0]
    if len(args) <= len(names):
        return dict(zip(names, args, strict=False))
    raise JsonRpcInvalidParams(f"expected one object with {', '.join(names)}, got {len(args)} arguments")


def _uri(value: Any, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise JsonRpcInvalidParams("'uri' must be a non-empty string (a file: URI)")
    return value


def _position(value: Any) -> types.Position:
    if (
        not isinstance(value, dict)
        or not all(isinstance(value.get(key), int) and not isinstance(value.get(key), bool) for key in
                   ("line", "character"))
        or value["line"] < 0
        or value["character"] < 0
    ):  # fmt: skip
        raise JsonRpcInvalidParams('\'position\' must be {"line": int >= 0, "character": int >= 0}')
    return types.Position(line=value["line"], character=value["character"])


async def _located(ls: CodekinServer, args: Sequence[Any]) -> tuple[Located, types.Position]:
    params = _object(args, ("uri", "position"))
    uri = _uri(params.get("uri"))
    assert uri is not None
    position = _position(params.get("position"))
    await _ready(ls)
    located = ls.locate(uri)
    if located is None:
        raise JsonRpcInvalidParams(f"{uri} is not inside a workspace folder that codekin indexes")
    if located.folder.index is None:
        raise JsonRpcInternalError(located.folder.error or "the index of this folder is not open")
    ls.partial_note(located.folder)
    return located, position


async def _ready(ls: CodekinServer) -> None:
    if not await ls.wait_ready(READY_TIMEOUT_S):
        raise JsonRpcInternalError("codekin is still starting (loading the model); try again shortly")


def _with_text(folder: Folder, hits: list[Hit]) -> list[dict[str, Any]]:
    """Hits as command results, each with the text of its unit (docs, snippets)."""
    assert folder.index is not None
    texts = folder.index.store.texts([hit.content_hash for hit in hits])
    return [hit_json(folder, hit, text=texts.get(hit.content_hash, "")) for hit in hits]


def _not_found(exc: queries.NoSymbolError) -> JsonRpcInvalidParams:
    return JsonRpcInvalidParams(str(exc))


# -- the commands -----------------------------------------------------------------------------------


def register(server: CodekinServer) -> None:
    @server.command(FIND_SIMILAR)
    async def find_similar(ls: CodekinServer, *args: Any) -> list[dict[str, Any]]:
        located, position = await _located(ls, args)
        folder, index = located.folder, located.folder.index
        assert index is not None
        folder_of = {id(f.index): f for f in ls.folders if f.index is not None}
        try:
            _, found = await ls.in_query_thread(
                queries.similar, index, located.path, position.line + 1, ls.options.max_results, located.text,
                [f.index for f in ls.folders if f.index is not None],
            )  # fmt: skip
        except queries.NoSymbolError as exc:
            raise _not_found(exc) from None
        return [hit_json(folder_of.get(id(where), folder), hit) for where, hit in found]

    @server.command(LOOKUP_DOCS)
    async def lookup_docs(ls: CodekinServer, *args: Any) -> list[dict[str, Any]]:
        located, position = await _located(ls, args)
        folder, index = located.folder, located.folder.index
        assert index is not None

        def run() -> list[dict[str, Any]]:
            _, hits = queries.docs_for(
                index, located.path, position.line + 1, ls.options.max_results, located.text
            )
            return _with_text(folder, hits)

        try:
            return await ls.in_query_thread(run)
        except queries.NoSymbolError as exc:
            raise _not_found(exc) from None

    @server.command(COMPLETION_SNIPPETS)
    async def completion_snippets(ls: CodekinServer, *args: Any) -> list[dict[str, Any]]:
        located, position = await _located(ls, args)
        folder, index = located.folder, located.folder.index
        assert index is not None
        column = ls.to_python_column(located.text, position.line, position.character)

        def run() -> list[dict[str, Any]]:
            hits = queries.complete(
                index, located.path, position.line + 1, ls.options.max_results, located.text, column
            )
            return _with_text(folder, hits)

        try:
            return await ls.in_query_thread(run)
        except queries.NoSymbolError as exc:
            raise _not_found(exc) from None

    @server.command(SEARCH_CODE)
    async def search_code(ls: CodekinServer, *args: Any) -> list[dict[str, Any]]:
        params = _object(args, ("query",))
        query = params.get("query")
        if not isinstance(query, str) or not query.strip():
            raise JsonRpcInvalidParams("'query' must be a non-empty string")
        await _ready(ls)
        results: list[tuple[float, dict[str, Any]]] = []
        for folder in ls.folders:
            if folder.index is None:
                continue
            ls.partial_note(folder)
            hits = await ls.in_query_thread(queries.search, folder.index, query, ls.options.max_results)
            results += [(hit.score, hit_json(folder, hit)) for hit in hits]
        results.sort(key=lambda pair: -pair[0])
        return [result for _, result in results[: ls.options.max_results]]

    @server.command(FIND_DUPLICATES)
    async def find_duplicates_command(ls: CodekinServer, *args: Any) -> list[dict[str, Any]]:
        params = _object(args, ("uri",))
        uri = _uri(params.get("uri"), required=False)
        await _ready(ls)
        targets: list[tuple[Folder, str | None]] = []
        if uri is None:
            targets = [(folder, None) for folder in ls.folders]
        else:
            path = path_of_uri(uri)
            for folder in ls.folders:
                rel = folder.relative(path) if path is not None else None
                if rel is not None:
                    targets.append((folder, rel))
            if not targets:
                raise JsonRpcInvalidParams(f"{uri} is not inside a workspace folder that codekin indexes")
        out: list[dict[str, Any]] = []
        for folder, prefix in targets:
            index = folder.index
            if index is None:
                continue
            ls.partial_note(folder)
            settings = folder.settings
            clusters = await ls.in_query_thread(
                find_duplicates, index, settings.duplicate_threshold, settings.duplicate_min_lines, prefix
            )
            for cluster in clusters:
                out.append(
                    {
                        "score": round(cluster.score, 6),
                        "members": [
                            hit_json(folder, hit, exact=hit.unit_id in cluster.exact)
                            for hit in cluster.members
                        ],
                    }
                )
        return out

    @server.command(REINDEX)
    async def reindex(ls: CodekinServer, *args: Any) -> dict[str, Any]:
        params = _object(args, ("uri",))
        uri = _uri(params.get("uri"), required=False)
        await _ready(ls)
        chosen = [f for f in ls.folders if uri is None or f.uri == uri or folder_for([f], uri) is not None]
        for folder in chosen:
            if folder.index is not None:
                ls.schedule_full(folder, "codekin: re-indexing")
        return {"scheduled": [folder.uri for folder in chosen if folder.index is not None]}

    @server.command(STATUS)
    async def status(ls: CodekinServer, *args: Any) -> dict[str, Any]:
        return await ls.in_query_thread(status_report, ls)

    @server.command(SHOW_SIMILAR)
    async def show_similar(ls: CodekinServer, *args: Any) -> list[Any]:
        """The lens command, for clients that run it on the server: shows the first location."""
        if len(args) != 3 or not isinstance(args[2], list):
            raise JsonRpcInvalidParams("expected [uri, position, locations]")
        locations = args[2]
        if locations and isinstance(locations[0], dict) and isinstance(locations[0].get("uri"), str):
            first = locations[0]
            try:
                selection = types.Range(
                    start=types.Position(**first["range"]["start"]),
                    end=types.Position(**first["range"]["end"]),
                )
            except (KeyError, TypeError):
                selection = None
            window = ls.client_capabilities.window
            if window is not None and window.show_document is not None and window.show_document.support:
                await ls.window_show_document_async(
                    types.ShowDocumentParams(uri=first["uri"], selection=selection, take_focus=True)
                )
        return locations


def status_report(ls: CodekinServer) -> dict[str, Any]:
    """Where the model runs, why it was chosen, and each folder's index: files, units, pending, path."""
    model: dict[str, Any] = {"model": None, "reason": ls.embedder_problem, "device": None}
    if ls.embedder is not None:
        inner = ls.embedder.inner
        if isinstance(inner, DeferredEmbedder) and not inner.ready:
            model["reason"] = "loading"
            if inner.expected is not None:  # the index already answers under this id
                model["model"] = inner.expected.model_id
        else:
            try:
                embedder = ls.embedder
                model = {
                    "model": embedder.model_id,
                    "reason": embedder.selection_reason,
                    "device": embedder.device,
                }
            except EmbeddingError as exc:
                model["reason"] = str(exc)
    folders = []
    for folder in ls.folders:
        entry: dict[str, Any] = {"uri": folder.uri, "indexing": folder.indexing, "error": folder.error}
        index = folder.index
        if index is not None:
            entry.update(
                files=index.store.count_files(),
                units=index.store.count_units(),
                lastUpdate=_iso(folder.last_update),
                indexPath=str(index.index_dir),
            )
            if model["model"] is not None:  # pending is per model: known once the model is
                entry["pending"] = sum(index.pending_count(space) for space in folder.settings.spaces)
        folders.append(entry)
    worker = ls.options.worker
    return {
        **model,
        "worker": worker,
        "problem": ls.embedder_problem,
        "files": sum(entry.get("files", 0) for entry in folders),
        "units": sum(entry.get("units", 0) for entry in folders),
        "pending": sum(entry.get("pending", 0) for entry in folders),
        "indexing": ls.reconfiguring or any(folder.indexing for folder in ls.folders),
        "lastUpdate": max((e["lastUpdate"] for e in folders if e.get("lastUpdate")), default=None),
        "indexPath": folders[0].get("indexPath") if folders else None,
        "folders": folders,
    }


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).isoformat(timespec="seconds")
