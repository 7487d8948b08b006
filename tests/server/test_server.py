"""The language server end to end: the real server process over stdio, driven by pytest-lsp with the
client capabilities of VS Code and of Neovim, on a small real workspace and the real MiniLM model.

One server per editor serves the read-only tests of this module; the tests that change files
start their own (tests/test_server_live.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pytest_lsp import LanguageClient

from tests.lsp_helpers import (
    SERVER,
    command,
    initialize,
    line_of,
    open_document,
    progress_kinds,
    raw_request,
    replace_document,
    uri,
    wait_indexed,
    wait_until,
    write_raw,
)
from tests.workspace_fixture import PY_COPY, PY_UTILS, make_workspace

pytestmark = pytest.mark.asyncio(loop_scope="module")

OPTIONS = {"model": "minilm", "device": "cpu", "duplicateThreshold": 0.8, "bogusSetting": 1}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_workspace(tmp_path_factory.mktemp("ws"))


@pytest_lsp.fixture(config=SERVER, scope="module", params=["vscode", "neovim"])
async def client(lsp_client: LanguageClient, request: pytest.FixtureRequest, workspace: Path) -> Any:
    index_dir = workspace.parent / f"index-{request.param}"
    lsp_client.editor = request.param  # type: ignore[attr-defined]
    await initialize(lsp_client, [workspace], {**OPTIONS, "indexDir": str(index_dir)}, editor=request.param)
    await wait_indexed(lsp_client)
    yield
    await lsp_client.shutdown_session()


def _position(text: str, needle: str) -> dict[str, int]:
    line = line_of(text, needle)
    return {"line": line, "character": text.splitlines()[line].index(needle.split()[-1])}


async def test_indexing_reports_progress_begin_to_end(client: LanguageClient) -> None:
    runs = list(progress_kinds(client).values())
    assert runs, "no work-done progress was created"
    assert all(kinds[0] == "begin" and kinds[-1] == "end" for kinds in runs)
    assert all(set(kinds[1:-1]) <= {"report"} for kinds in runs)


async def test_invalid_setting_is_shown_and_the_rest_applies(client: LanguageClient) -> None:
    shown = [m.message for m in client.messages if m.type == types.MessageType.Warning]
    assert any("bogusSetting" in message for message in shown)
    status = await command(client, "codekin.status")
    assert status["model"] == "minilm"  # the valid settings still took effect


async def test_status_names_model_reason_and_index(client: LanguageClient, workspace: Path) -> None:
    status = await command(client, "codekin.status")
    assert status["model"] == "minilm" and status["device"] == "cpu"
    assert "minilm" in status["reason"]
    assert status["files"] == 5 and status["units"] > 10 and status["pending"] == 0
    assert status["lastUpdate"] and Path(status["indexPath"]).is_dir()
    assert [f["uri"] for f in status["folders"]] == [uri(workspace)]


async def test_find_similar_finds_the_copy_in_another_file(client: LanguageClient, workspace: Path) -> None:
    target = workspace / "src" / "utils.py"
    at = {"uri": uri(target), "position": _position(PY_UTILS, "def load_json_config")}
    found = await command(client, "codekin.findSimilar", at)
    assert found, "no similar code"
    best = found[0]
    assert best["uri"] == uri(workspace / "src" / "copy_of_utils.py") and best["name"] == "read_settings"
    assert set(best) >= {"uri", "range", "name", "score"} and best["clone"] == "renamed"  # a copy leads
    assert best["range"]["start"] == {"line": line_of(PY_COPY, "def read_settings"), "character": 0}
    assert all(hit["uri"] != uri(target) or hit["name"] != "load_json_config" for hit in found)


async def test_find_duplicates_clusters_the_pair(client: LanguageClient, workspace: Path) -> None:
    clusters = await command(client, "codekin.findDuplicates", {})
    pairs = [{m["name"] for m in c["members"]} for c in clusters]
    assert {"load_json_config", "read_settings"} in pairs
    renamed = next(
        c for c in clusters if {m["name"] for m in c["members"]} == {"load_json_config", "read_settings"}
    )
    assert renamed["kind"] == "renamed" and [m["clone"] for m in renamed["members"]] == ["renamed", "renamed"]
    scoped = await command(client, "codekin.findDuplicates", {"uri": uri(workspace / "web")})
    assert scoped == []


async def test_search_code(client: LanguageClient) -> None:
    found = await command(client, "codekin.searchCode", {"query": "fibonacci number"})
    assert found[0]["name"] == "fibonacci"


async def test_lookup_docs_skips_the_symbols_own_docstring(client: LanguageClient, workspace: Path) -> None:
    target = workspace / "src" / "utils.py"
    at = {"uri": uri(target), "position": _position(PY_UTILS, "def load_json_config")}
    docs = await command(client, "codekin.lookupDocs", at)
    assert docs and all("text" in doc for doc in docs)
    own = line_of(PY_UTILS, "Read a JSON configuration file")
    assert not any(d["uri"] == uri(target) and d["range"]["start"]["line"] == own for d in docs)
    assert any(d["name"] in ("Sample project > Configuration", "read_settings") for d in docs[:3])


async def test_completion_snippets_command(client: LanguageClient, workspace: Path) -> None:
    target = workspace / "src" / "copy_of_utils.py"
    line = line_of(PY_COPY, "with open(filename")
    at = {"uri": uri(target), "position": {"line": line, "character": 4}}
    found = await command(client, "codekin.completionSnippets", at)
    assert found and all({"uri", "range", "name", "score", "text"} <= set(hit) for hit in found)
    assert found[0]["name"] == "load_json_config"


async def test_code_lens_is_resolved_lazily(client: LanguageClient, workspace: Path) -> None:
    target = workspace / "src" / "utils.py"
    lenses = await client.text_document_code_lens_async(
        types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=uri(target)))
    )
    assert lenses and all(lens.command is None for lens in lenses)
    lens = next(lens for lens in lenses if lens.range.start.line == line_of(PY_UTILS, "def load_json_config"))
    resolved = await client.code_lens_resolve_async(lens)
    assert resolved.command is not None
    assert resolved.command.title == "1 copy: 1 renamed"
    assert resolved.command.command == "codekin.showSimilar"
    target_uri, position, locations = resolved.command.arguments or []
    assert target_uri == uri(target) and position["line"] == lens.range.start.line
    assert [loc["uri"] for loc in locations] == [uri(workspace / "src" / "copy_of_utils.py")]
    go_file = types.TextDocumentIdentifier(uri=uri(workspace / "go" / "area.go"))
    no_copies = await client.text_document_code_lens_async(types.CodeLensParams(text_document=go_file))
    assert not no_copies


async def test_completion_for_an_unsaved_buffer(client: LanguageClient, workspace: Path) -> None:
    path = workspace / "src" / "draft.py"  # never written to disk: the buffer is all there is
    text = 'import json\n\n\ndef parse_config_file(path):\n    """Load a JSON config."""\n    \n'
    open_document(client, path, text)
    cursor = types.Position(line=5, character=4)
    document = types.TextDocumentIdentifier(uri=uri(path))
    result = await client.text_document_completion_async(types.CompletionParams(document, cursor))
    assert isinstance(result, types.CompletionList) and result.items
    item = result.items[0]
    assert item.kind == types.CompletionItemKind.Snippet
    assert any(name in (item.detail or "") for name in ("load_json_config", "read_settings"))
    assert isinstance(item.documentation, types.MarkupContent) and "json.load" in item.documentation.value
    assert item.text_edit is not None and "json.load" in item.text_edit.new_text


async def test_workspace_symbol_merges_names_and_meaning(client: LanguageClient) -> None:
    by_name = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="Cache"))
    assert by_name and by_name[0].name == "Cache" and by_name[0].kind == types.SymbolKind.Class
    by_meaning = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="nth fibonacci"))
    assert "fibonacci" in [symbol.name for symbol in by_meaning or []]


async def test_hover_on_a_symbol_name_shows_matching_docs(client: LanguageClient, workspace: Path) -> None:
    target = workspace / "src" / "utils.py"
    identifier = types.TextDocumentIdentifier(uri=uri(target))
    line = line_of(PY_UTILS, "def load_json_config")
    on_name = await client.text_document_hover_async(
        types.HoverParams(text_document=identifier, position=types.Position(line=line, character=6))
    )
    assert on_name is not None and isinstance(on_name.contents, types.MarkupContent)
    assert "documentation for `load_json_config`" in on_name.contents.value
    in_body = await client.text_document_hover_async(
        types.HoverParams(text_document=identifier, position=types.Position(line=line + 3, character=8))
    )
    assert in_body is None


async def test_bad_params_get_an_error_and_the_server_lives(client: LanguageClient, workspace: Path) -> None:
    origin = {"line": 0, "character": 0}
    bad_calls: list[tuple[str, list[Any]]] = [
        ("codekin.findSimilar", [{"uri": 3, "position": origin}]),
        ("codekin.findSimilar", [{"uri": uri(workspace / "src" / "utils.py"), "position": {"line": -1}}]),
        ("codekin.findSimilar", [{"uri": "file:///elsewhere/x.py", "position": origin}]),
        ("codekin.findSimilar", [{"uri": uri(workspace / "README.md"), "position": origin}]),
        ("codekin.searchCode", [{"query": ""}]),
        ("codekin.searchCode", ["a", "b", "c"]),
        # One object per command; the positional [uri, position] form is not taken (no client sends it).
        ("codekin.lookupDocs", [uri(workspace / "src" / "utils.py"), origin]),
        ("codekin.findDuplicates", [{"uri": 7}]),
        ("codekin.reindex", [{}, {}]),
        ("codekin.showSimilar", [uri(workspace / "src" / "utils.py"), origin, "not locations"]),
        ("codekin.noSuchCommand", []),
    ]
    for name, arguments in bad_calls:
        with pytest.raises(JsonRpcInvalidParams):
            await command(client, name, *arguments)
    with pytest.raises(JsonRpcInvalidParams):  # params that do not even have the LSP shape
        await raw_request(client, types.TEXT_DOCUMENT_CODE_LENS, {"textDocument": 42})
    with pytest.raises(JsonRpcInvalidParams):
        await raw_request(client, types.TEXT_DOCUMENT_HOVER, [1, 2, 3])
    write_raw(client, "{this is not json")
    status = await command(client, "codekin.status")
    assert status["files"] == 5


ENCODED = '''import json


def load_jsön_config(path):
    """Read a JSON configuration file (naïve 😋) and return its settings as a dict."""
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    return data


def parse_config_file(path):
    label = "héllo 😋"; handle = open
'''


def _units(text: str, encoding: str) -> int:
    """The length of ``text`` in the code units of a position encoding."""
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    if encoding == "utf-16":
        return len(text.encode("utf-16-le")) // 2
    return len(text)


async def test_positions_in_the_negotiated_encoding(client: LanguageClient, workspace: Path) -> None:
    """Neovim 0.11 offers UTF-8 first, VS Code speaks UTF-16: every column goes both ways through the
    encoding negotiated at initialize, on lines holding non-ASCII characters and emoji."""
    encoding = client.position_encoding  # type: ignore[attr-defined]
    assert encoding == {"vscode": "utf-16", "neovim": "utf-8"}[client.editor]  # type: ignore[attr-defined]
    path = workspace / "src" / "encoded_draft.py"  # a buffer only: the disk never sees it
    open_document(client, path, ENCODED)
    document = types.TextDocumentIdentifier(uri=uri(path))
    lines = ENCODED.splitlines()

    def_line = line_of(ENCODED, "def load_jsön_config")
    name_start, name_end = lines[def_line].index("load"), lines[def_line].index("(")
    on_name = types.Position(line=def_line, character=_units(lines[def_line][: name_end - 1], encoding))
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=document, position=on_name)
    )
    assert hover is not None and hover.range is not None
    assert hover.range.start.character == _units(lines[def_line][:name_start], encoding)
    assert hover.range.end.character == _units(lines[def_line][:name_end], encoding)

    last = len(lines) - 1
    cursor = types.Position(line=last, character=_units(lines[last], encoding))
    completion = await client.text_document_completion_async(types.CompletionParams(document, cursor))
    assert isinstance(completion, types.CompletionList) and completion.items
    edit = completion.items[0].text_edit
    assert isinstance(edit, types.TextEdit)
    word_start = len(lines[last]) - len("open")
    assert edit.range.start == types.Position(line=last, character=_units(lines[last][:word_start], encoding))
    assert edit.range.end == cursor

    found = await command(client, "codekin.findSimilar", {"uri": uri(path), "position": on_name})
    assert found and found[0]["name"] == "load_json_config"
    assert all(hit["range"]["start"]["character"] == 0 == hit["range"]["end"]["character"] for hit in found)
    replace_document(client, path, ENCODED, 2)  # an edit: the buffer's units reach the index

    async def lenses() -> list[types.CodeLens] | None:
        return await client.text_document_code_lens_async(types.CodeLensParams(text_document=document))

    shown = await wait_until(lenses, 60, "a lens on the edited buffer")
    assert [lens.range.start for lens in shown] == [types.Position(line=def_line, character=0)]
    client.text_document_did_close(types.DidCloseTextDocumentParams(text_document=document))
