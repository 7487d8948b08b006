"""The language server while things change: edits, files deleted or written on disk, cancellation,
settings changed at run time, several folders, diagnostics. Each test runs its own server process.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled
from pytest_lsp import ClientServerConfig, LanguageClient

from lsp_server.embedding.base import SIDES, TASKS
from lsp_server.embedding.identity import Identity, IdentityCache, identity_key
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
)
from tests.workspace_fixture import PY_UTILS, make_workspace

pytestmark = pytest.mark.asyncio

BASE = {"model": "minilm", "device": "cpu"}

SLUGIFY = PY_UTILS[PY_UTILS.index("def slugify") : PY_UTILS.index("class Cache")].rstrip() + "\n"
NOTES = 'def greet(name):\n    """Say hello."""\n    return "hello " + name\n'


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient) -> Any:
    yield
    await asyncio.wait_for(lsp_client.shutdown_session(), 60)


LOG_FILE = Path(tempfile.gettempdir()) / f"codekin-test-{os.getpid()}.log"
LOGGED_SERVER = ClientServerConfig(
    server_command=[
        *(sys.executable, "-m", "lsp_server.entry", "serve"),
        *("--stdio", "--log-file", str(LOG_FILE)),
    ],
    server_env=SERVER.server_env,
)


@pytest_lsp.fixture(config=LOGGED_SERVER)
async def logged_client(lsp_client: LanguageClient) -> Any:
    """The server as ``codekin serve --stdio --log-file F`` starts it."""
    yield
    await asyncio.wait_for(lsp_client.shutdown_session(), 60)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = make_workspace(tmp_path / "ws")
    (root / "src" / "notes.py").write_text(NOTES)
    return root


CACHE_HOME = Path(tempfile.gettempdir()) / f"codekin-test-cache-{os.getpid()}"
OWN_CACHE_SERVER = ClientServerConfig(
    server_command=SERVER.server_command,
    server_env={**SERVER.server_env, "XDG_CACHE_HOME": str(CACHE_HOME)},
)


@pytest_lsp.fixture(config=OWN_CACHE_SERVER)
async def own_cache_client(lsp_client: LanguageClient) -> Any:
    """The server with a user cache folder of its own (where it remembers model identities)."""
    yield
    await asyncio.wait_for(lsp_client.shutdown_session(), 60)


def _options(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {**BASE, "indexDir": str(tmp_path / "index"), **extra}


async def _lenses(client: LanguageClient, path: Path) -> list[types.CodeLens]:
    document = types.TextDocumentIdentifier(uri=uri(path))
    return list(
        await client.text_document_code_lens_async(types.CodeLensParams(text_document=document)) or []
    )


async def test_an_edit_that_creates_a_duplicate_gets_its_lens(
    client: LanguageClient, workspace: Path, tmp_path: Path
) -> None:
    await initialize(client, [workspace], _options(tmp_path, indexDelayMs=50))
    await wait_indexed(client)
    notes = workspace / "src" / "notes.py"
    assert await _lenses(client, notes) == []
    refreshes: list[float] = client.code_lens_refreshes  # type: ignore[attr-defined]
    seen = len(refreshes)

    open_document(client, notes, NOTES)
    edited = NOTES + "\n\n" + SLUGIFY  # unsaved: the disk still has the old text
    replace_document(client, notes, edited, version=2)
    await wait_until(lambda: len(refreshes) > seen, 60, "workspace/codeLens/refresh")
    lenses = await wait_until(lambda: _lenses(client, notes), 30, "a lens on the new copy")
    assert [lens.range.start.line for lens in lenses] == [line_of(edited, "def slugify")]
    resolved = await client.code_lens_resolve_async(lenses[0])
    assert resolved.command is not None and resolved.command.title == "1 copy: 1 exact"
    locations = (resolved.command.arguments or [])[2]
    assert [loc["uri"] for loc in locations] == [uri(workspace / "src" / "utils.py")]
    assert notes.read_text() == NOTES

    # The copy in utils.py sees the new one too; undoing the edit takes both lenses away.
    utils_lenses = await _lenses(client, workspace / "src" / "utils.py")
    assert line_of(PY_UTILS, "def slugify") in [lens.range.start.line for lens in utils_lenses]
    seen = len(refreshes)
    replace_document(client, notes, NOTES, version=3)
    await wait_until(lambda: len(refreshes) > seen, 60, "the refresh after the undo")
    assert await wait_until(lambda: _no_lenses(client, notes), 30, "the lens to go")


async def _no_lenses(client: LanguageClient, path: Path) -> bool:
    return not await _lenses(client, path)


async def test_a_file_deleted_on_disk_leaves_the_results(
    client: LanguageClient, workspace: Path, tmp_path: Path
) -> None:
    await initialize(client, [workspace], _options(tmp_path, duplicateThreshold=0.8))
    await wait_indexed(client)
    utils = workspace / "src" / "utils.py"
    at = {"uri": uri(utils), "position": {"line": line_of(PY_UTILS, "def load_json_config"), "character": 4}}
    copy_uri = uri(workspace / "src" / "copy_of_utils.py")
    assert (await command(client, "codekin.findSimilar", at))[0]["uri"] == copy_uri

    (workspace / "src" / "copy_of_utils.py").unlink()

    async def gone() -> bool:
        hits = await command(client, "codekin.findSimilar", at)
        return all(hit["uri"] != copy_uri for hit in hits)

    await wait_until(gone, 60, "the deleted file to leave the results")
    status = await command(client, "codekin.status")
    assert status["files"] == 5  # 4 from the fixture plus notes.py
    assert await _lenses(client, utils) == []


async def test_a_branch_switch_burst_is_one_batch(
    client: LanguageClient, workspace: Path, tmp_path: Path
) -> None:
    await initialize(client, [workspace], _options(tmp_path, spaces=["code"]))
    await wait_indexed(client)
    runs_before = len(progress_kinds(client))
    generated = workspace / "generated"
    generated.mkdir()
    for number in range(400):  # as fast as a checkout writes them
        (generated / f"mod_{number}.py").write_text(
            f"def function_{number}(x):\n    return x * {number} + 1\n"
        )

    async def all_indexed() -> bool:
        status = await command(client, "codekin.status")
        return status["files"] == 406 and not status["indexing"] and status["pending"] == 0

    await wait_until(all_indexed, 120, "the 400 new files to be indexed")
    runs = progress_kinds(client)
    assert 1 <= len(runs) - runs_before <= 2, runs  # one batch (two if the burst straddled a flush)

    shutil.rmtree(generated)  # and back to the other branch
    await wait_until(lambda: _files_are(client, 6), 120, "the files to go")


async def _files_are(client: LanguageClient, count: int) -> bool:
    status = await command(client, "codekin.status")
    return status["files"] == count and not status["indexing"]


async def test_cancel_request_and_cancel_indexing(
    client: LanguageClient, workspace: Path, tmp_path: Path
) -> None:
    for number in range(150):
        body = f'    """Helper number {number}."""\n    return [i + {number} for i in items]\n'
        (workspace / f"extra_{number}.py").write_text(f"def helper_{number}(items):\n{body}")
    await initialize(client, [workspace], _options(tmp_path))
    # A request sent while the model still loads waits for it: cancel it there.
    utils = uri(workspace / "src" / "utils.py")
    request_id = "find-similar-to-cancel"
    pending = asyncio.ensure_future(
        client.protocol.send_request_async(
            types.WORKSPACE_EXECUTE_COMMAND,
            types.ExecuteCommandParams(
                command="codekin.findSimilar",
                arguments=[{"uri": utils, "position": {"line": 5, "character": 4}}],
            ),
            msg_id=request_id,
        )
    )
    await asyncio.sleep(0.2)
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=request_id))
    with pytest.raises(JsonRpcRequestCancelled):
        await pending

    # Cancel the indexing run from the client's progress UI.
    token = await wait_until(lambda: next(iter(client.progress_reports), None), 60, "progress to begin")
    client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
    await wait_until(lambda: progress_kinds(client)[str(token)][-1] == "end", 60, "progress to end")
    end = client.progress_reports[token][-1]
    assert isinstance(end, types.WorkDoneProgressEnd) and "cancelled" in (end.message or "")
    status = await command(client, "codekin.status")
    assert status["pending"] > 0 or status["files"] < 156  # stopped part-way

    # Edits still reach the index after the user cancelled a full run.
    scratch = workspace / "src" / "scratch.py"
    scratch.write_text("")
    open_document(client, scratch, "")
    rotate = "def rotate_matrix_clockwise(grid):\n    return [list(row) for row in zip(*grid[::-1])]\n"
    replace_document(client, scratch, rotate, 2)

    async def edit_found() -> bool:
        hits = await command(client, "codekin.searchCode", {"query": "rotate a matrix clockwise"})
        return any(hit["name"] == "rotate_matrix_clockwise" for hit in hits)

    await wait_until(edit_found, 60, "the edited buffer to be indexed")

    await command(client, "codekin.reindex")
    status = await wait_indexed(client)
    assert status["files"] == 157 and status["pending"] == 0


async def test_settings_change_at_run_time(
    client: LanguageClient, workspace: Path, tmp_path: Path, tiny_qwen_dir: Path
) -> None:
    configuration = {"model": "minilm", "indexDir": str(tmp_path / "index")}
    await initialize(client, [workspace], {}, configuration=configuration)
    first = await wait_indexed(client)
    assert first["model"] == "minilm"
    runs = len(progress_kinds(client))

    # Another model: a re-index under its id, with progress.
    client.set_configuration({**configuration, "model": str(tiny_qwen_dir)}, section="codekin")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    await wait_until(lambda: len(progress_kinds(client)) > runs, 60, "a new indexing run")
    status = await wait_indexed(client)
    assert status["model"] != "minilm" and "tiny-qwen2" in status["model"]
    assert status["files"] == first["files"] and status["pending"] == 0
    assert all(kinds[-1] == "end" for kinds in progress_kinds(client).values())

    # An invalid value: a warning, and the default.
    client.set_configuration({**configuration, "duplicateThreshold": "high"}, section="codekin")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))

    def warned() -> bool:
        return any("duplicateThreshold" in m.message for m in client.messages)

    await wait_until(warned, 60, "a warning about the invalid setting")
    status = await wait_indexed(client)
    assert status["model"] == "minilm"


async def test_several_workspace_folders(logged_client: LanguageClient, tmp_path: Path) -> None:
    client = logged_client
    first = make_workspace(tmp_path / "first")
    second = tmp_path / "second"
    second.mkdir()
    (second / "fib.go").write_text(
        "package fib\n\n// Fib returns the n-th Fibonacci number.\nfunc Fib(n int) int {\n"
        "\ta, b := 0, 1\n\tfor i := 0; i < n; i++ {\n\t\ta, b = b, a+b\n\t}\n\treturn a\n}\n"
    )
    await initialize(client, [first, second], _options(tmp_path))
    status = await wait_indexed(client)
    assert [f["uri"] for f in status["folders"]] == [uri(first), uri(second)]
    assert [f["files"] for f in status["folders"]] == [5, 1]
    found = await command(client, "codekin.searchCode", {"query": "n-th fibonacci number"})
    assert {hit["name"] for hit in found[:2]} == {"fibonacci", "Fib"}
    similar = await command(
        client,
        "codekin.findSimilar",
        {"uri": uri(second / "fib.go"), "position": {"line": 4, "character": 1}},
    )
    assert similar[0]["name"] == "fibonacci"  # found in the other folder
    assert similar[0]["uri"] == uri(first / "src" / "copy_of_utils.py")
    log = LOG_FILE.read_text()
    assert "model minilm on cpu" in log and str(second) in log
    assert any("model minilm on cpu" in m.message for m in client.log_messages)  # window/logMessage too


async def test_near_duplicate_hints_when_switched_on(
    client: LanguageClient, workspace: Path, tmp_path: Path
) -> None:
    options = _options(tmp_path, duplicateThreshold=0.8, features={"diagnostics": True})
    await initialize(client, [workspace], options)
    await wait_indexed(client)
    utils = workspace / "src" / "utils.py"
    open_document(client, utils, PY_UTILS)
    diagnostics = await wait_until(lambda: client.diagnostics.get(uri(utils)), 60, "diagnostics for utils.py")
    assert len(diagnostics) == 1
    hint = diagnostics[0]
    assert hint.severity == types.DiagnosticSeverity.Hint and hint.source == "codekin"
    assert hint.message == "renamed copy of read_settings" and hint.code == "clone/renamed"
    assert hint.range.start.line == line_of(PY_UTILS, "def load_json_config")
    related = hint.related_information or []
    assert [info.location.uri for info in related] == [uri(workspace / "src" / "copy_of_utils.py")]


async def test_a_stale_remembered_model_identity_is_replaced(
    own_cache_client: LanguageClient, workspace: Path, tmp_path: Path
) -> None:
    """The identity remembered from the last start lets the index open before the model loads; when
    the model turns out different (a folder whose weights changed, say), nothing is stored under the
    stale identity and the index re-opens under the real one, without an error for the user."""
    client = own_cache_client
    shutil.rmtree(CACHE_HOME, ignore_errors=True)
    # What a local model folder whose weights changed since the last start looks like.
    stale = Identity("minilm-before", 384, tuple((task, side, "") for task in TASKS for side in SIDES))
    key = identity_key(spec="minilm", device="cpu", batch_tokens=None, workers=None)
    IdentityCache(CACHE_HOME / "codekin" / "model-identities.json").put(key, stale)

    await initialize(client, [workspace], _options(tmp_path))

    def reopened() -> bool:
        return any("re-opening the index" in m.message for m in client.messages)

    await wait_until(reopened, 120, "the server to notice the model's real identity")
    status = await wait_indexed(client)
    assert status["model"] == "minilm" and status["pending"] == 0 and status["files"] == 6
    hits = await command(client, "codekin.searchCode", {"query": "n-th fibonacci number"})
    assert hits and hits[0]["name"] == "fibonacci"
    assert not [m.message for m in client.messages if m.type == types.MessageType.Error]
    stores = list((tmp_path / "index").glob("*/index.sqlite3"))
    with sqlite3.connect(stores[0]) as db:  # nothing embedded under the stale identity
        assert {row[0] for row in db.execute("SELECT DISTINCT model FROM vectors")} == {"minilm"}
    remembered = IdentityCache(CACHE_HOME / "codekin" / "model-identities.json").get(key)
    assert remembered is not None and remembered.model_id == "minilm"
    shutil.rmtree(CACHE_HOME, ignore_errors=True)


async def test_a_copy_that_did_not_get_an_edit_is_named_at_once(
    client: LanguageClient, workspace: Path, tmp_path: Path
) -> None:
    await initialize(client, [workspace], _options(tmp_path, indexDelayMs=50))
    await wait_indexed(client)
    utils = workspace / "src" / "utils.py"
    open_document(client, utils, PY_UTILS)
    fixed = PY_UTILS.replace("        data = json.load(handle)\n", "        data = json.load(handle) or {}\n")
    assert fixed != PY_UTILS
    replace_document(client, utils, fixed, version=2)  # the fix lands in one copy only

    def hint() -> types.Diagnostic | None:
        shown = client.diagnostics.get(uri(utils)) or []
        return next((d for d in shown if d.code == "clone/diverged"), None)

    diverged = await wait_until(hint, 60, "the diverging-copy hint")
    assert diverged.message == "1 copy of this function did not get this change"
    assert diverged.range.start.line == line_of(PY_UTILS, "def load_json_config")
    related = diverged.related_information or []
    assert [info.location.uri for info in related] == [uri(workspace / "src" / "copy_of_utils.py")]

    asked = types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri(utils)),
        range=diverged.range,
        context=types.CodeActionContext(diagnostics=[diverged]),
    )
    # raw: lsprotocol's client side reads any action that has a command as a bare Command
    actions = await raw_request(
        client, types.TEXT_DOCUMENT_CODE_ACTION, client.protocol._converter.unstructure(asked)
    )
    assert actions and actions[0]["kind"] == "quickfix"
    compare = actions[0]["command"]
    assert compare["command"] == "codekin.compareSimilar"
    explained = await command(client, compare["command"], *compare["arguments"])
    assert explained["b"]["name"] == "read_settings" and explained["changed"]

    replace_document(client, utils, PY_UTILS, version=3)  # changed back: the copies agree again
    await wait_until(lambda: hint() is None, 60, "the hint to go")
