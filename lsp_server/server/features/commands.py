"""``workspace/executeCommand``: codekin.findSimilar, findDuplicates, searchCode, lookupDocs,
completionSnippets, reindex, and showSimilar (the code lenses' command).

Each command declares its argument class (``lsp_server.server.params``); pygls structures
``arguments[0]`` into it and answers InvalidParams when it does not fit. A position
outside every indexed folder, or no symbol there, is InvalidParams too; the server stays up.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from lsprotocol import types
from pygls.exceptions import JsonRpcInternalError, JsonRpcInvalidParams

from lsp_server.retrieval import queries
from lsp_server.retrieval.clone_model import options_for
from lsp_server.retrieval.clones import find_clones
from lsp_server.retrieval.hits import Hit, hit_texts
from lsp_server.retrieval.similar import similar_with_copies
from lsp_server.server import command_ids
from lsp_server.server.convert import clone_class_json, hit_json
from lsp_server.server.core import CodekinServer, Located
from lsp_server.server.folders import Folder, folder_for, path_of_uri
from lsp_server.server.params import PositionArgs, QueryArgs, ScopeArgs, structure_optional

READY_TIMEOUT_S = 60.0

T = TypeVar("T")


async def ready(ls: CodekinServer) -> None:
    if not await ls.wait_ready(READY_TIMEOUT_S):
        raise JsonRpcInternalError("codekin is still starting (loading the model); try again shortly")


async def located(ls: CodekinServer, args: PositionArgs) -> Located:
    """The indexed folder and path of ``args.uri``; an error the client sees when there is none."""
    await ready(ls)
    found = ls.locate(args.uri)
    if found is None:
        raise JsonRpcInvalidParams(f"{args.uri} is not inside a workspace folder that codekin indexes")
    if found.folder.index is None:
        raise JsonRpcInternalError(found.folder.error or "the index of this folder is not open")
    ls.partial_note(found.folder)
    return found


def with_text(folder: Folder, hits: list[Hit]) -> list[dict[str, Any]]:
    """Hits as command results, each with the text of its unit (docs, snippets)."""
    assert folder.index is not None
    texts = hit_texts(folder.index, hits)
    return [hit_json(folder, hit, text=text) for hit, text in zip(hits, texts, strict=True)]


async def about_a_symbol(ls: CodekinServer, run: Callable[[], T]) -> T:
    """``run`` on a query thread; no symbol at the position is the client's mistake (InvalidParams)."""
    try:
        return await ls.in_query_thread(run)
    except queries.NoSymbolError as exc:
        raise JsonRpcInvalidParams(str(exc)) from None


def scoped(ls: CodekinServer, arguments: tuple[Any, ...]) -> ScopeArgs:
    try:
        return structure_optional(ls.converter, arguments, ScopeArgs)
    except (TypeError, ValueError) as exc:
        raise JsonRpcInvalidParams(f"{JsonRpcInvalidParams.MESSAGE}: {exc}") from None


async def find_similar(ls: CodekinServer, args: PositionArgs) -> list[dict[str, Any]]:
    here = await located(ls, args)
    assert here.folder.index is not None
    folder_of = {id(f.index): f for f in ls.open_indexes()}
    indexes = [f.index for f in ls.open_indexes() if f.index is not None]
    line = args.position.line + 1
    options = options_for(here.folder.settings)
    similar = functools.partial(
        similar_with_copies,
        here.folder.index,
        here.path,
        line,
        ls.options.max_results,
        here.text,
        indexes,
        options,
    )
    _, found = await about_a_symbol(ls, similar)
    return [hit_json(folder_of.get(id(s.index), here.folder), s.hit, clone=s.clone) for s in found]


async def lookup_docs(ls: CodekinServer, args: PositionArgs) -> list[dict[str, Any]]:
    here = await located(ls, args)
    index = here.folder.index
    assert index is not None

    def run() -> list[dict[str, Any]]:
        line = args.position.line + 1
        _, hits = queries.docs_for(index, here.path, line, ls.options.max_results, here.text)
        return with_text(here.folder, hits)

    return await about_a_symbol(ls, run)


async def completion_snippets(ls: CodekinServer, args: PositionArgs) -> list[dict[str, Any]]:
    here = await located(ls, args)
    index = here.folder.index
    assert index is not None
    line, character = args.position.line, args.position.character
    column = ls.to_python_column(here.text, line, character)

    def run() -> list[dict[str, Any]]:
        hits = queries.complete(index, here.path, line + 1, ls.options.max_results, here.text, column)
        return with_text(here.folder, hits)

    return await about_a_symbol(ls, run)


async def search_code(ls: CodekinServer, args: QueryArgs) -> list[dict[str, Any]]:
    await ready(ls)
    results: list[tuple[float, dict[str, Any]]] = []
    for folder in ls.open_indexes():
        assert folder.index is not None
        ls.partial_note(folder)
        hits = await ls.in_query_thread(queries.search, folder.index, args.query, ls.options.max_results)
        results += [(hit.score, hit_json(folder, hit)) for hit in hits]
    results.sort(key=lambda pair: -pair[0])
    return [result for _, result in results[: ls.options.max_results]]


def duplicate_targets(ls: CodekinServer, uri: str | None) -> list[tuple[Folder, str | None]]:
    """The folders to search and the path prefix within each (None: the whole folder)."""
    if uri is None:
        return [(folder, None) for folder in ls.folders]
    path = path_of_uri(uri)
    targets = [(folder, folder.relative(path)) for folder in ls.folders] if path is not None else []
    found: list[tuple[Folder, str | None]] = [(folder, rel) for folder, rel in targets if rel is not None]
    if not found:
        raise JsonRpcInvalidParams(f"{uri} is not inside a workspace folder that codekin indexes")
    return found


async def find_duplicates_command(ls: CodekinServer, *arguments: Any) -> list[dict[str, Any]]:
    args = scoped(ls, arguments)
    await ready(ls)
    out: list[dict[str, Any]] = []
    for folder, prefix in duplicate_targets(ls, args.uri):
        index, settings = folder.index, folder.settings
        if index is None:
            continue
        ls.partial_note(folder)
        classes = await ls.in_query_thread(find_clones, index, options_for(settings), prefix)
        out += [clone_class_json(folder, cls) for cls in classes]
    return out


async def reindex(ls: CodekinServer, *arguments: Any) -> dict[str, Any]:
    uri = scoped(ls, arguments).uri
    await ready(ls)
    chosen = [f for f in ls.folders if uri is None or f.uri == uri or folder_for([f], uri) is not None]
    for folder in chosen:
        if folder.index is not None:
            ls.jobs.schedule_full(folder, "codekin: re-indexing")
    return {"scheduled": [folder.uri for folder in chosen if folder.index is not None]}


async def show_similar(
    ls: CodekinServer, uri: str, position: types.Position, locations: list[types.Location]
) -> list[types.Location]:
    """The lens command, for clients that run it on the server: shows the first location."""
    window = ls.client_capabilities.window
    can_show = window is not None and window.show_document is not None and window.show_document.support
    if locations and can_show:
        first = locations[0]
        await ls.window_show_document_async(
            types.ShowDocumentParams(uri=first.uri, selection=first.range, take_focus=True)
        )
    return locations


def register(server: CodekinServer) -> None:
    server.command(command_ids.FIND_SIMILAR)(find_similar)
    server.command(command_ids.LOOKUP_DOCS)(lookup_docs)
    server.command(command_ids.COMPLETION_SNIPPETS)(completion_snippets)
    server.command(command_ids.SEARCH_CODE)(search_code)
    server.command(command_ids.FIND_DUPLICATES)(find_duplicates_command)
    server.command(command_ids.REINDEX)(reindex)
    server.command(command_ids.SHOW_SIMILAR)(show_similar)
