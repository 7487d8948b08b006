"""The real language server on a workspace with odd file names, at start-up and as files change on disk."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.uris import to_fs_path
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.lsp_helpers import SERVER, command, initialize, wait_indexed, wait_until

pytestmark = pytest.mark.asyncio

NAMES = ("ok.py", "new\nline.py", "a b#c%41?.py", "-dash.py", "caf\u00e9.py", "cafe\u0301.py")


def _source(number: int) -> str:
    return f"def odd_function_{number}(x):\n    return x * {number} + 7\n"


def _write_raw(root: Path, name: bytes, text: str) -> None:
    with open(os.fsencode(root) + b"/" + name, "w", encoding="utf-8") as handle:
        handle.write(text)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "odd ws"
    root.mkdir()
    for number, name in enumerate(NAMES):
        (root / name).write_text(_source(number), encoding="utf-8")
    _write_raw(root, b"bad\xff.py", _source(50))
    return root


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "lsp_server.entry", "serve", "--stdio"],
        server_env=SERVER.server_env,
    )
)
async def client(lsp_client: LanguageClient) -> Any:
    yield
    await asyncio.wait_for(lsp_client.shutdown_session(), 60)


async def _files(client: LanguageClient) -> int:
    status = await command(client, "codekin.status")
    return int(status["files"]) if not status["indexing"] else -1


async def test_odd_names_at_start_and_from_the_watcher(
    client: LanguageClient, workspace: Path, tmp_path: Path
) -> None:
    options = {"model": "minilm", "device": "cpu", "indexDir": str(tmp_path / "index")}
    await initialize(client, [workspace], options)
    status = await wait_indexed(client)
    assert status["files"] == len(NAMES)
    for number, name in enumerate(NAMES):
        found = await client.workspace_symbol_async(
            types.WorkspaceSymbolParams(query=f"odd_function_{number}")
        )
        uris = {symbol.location.uri for symbol in found or [] if symbol.name == f"odd_function_{number}"}
        assert {to_fs_path(uri) for uri in uris} == {str(workspace / name)}, name
    _write_raw(workspace, b"late\xfe.py", _source(60))  # changed on disk: the watcher's path
    (workspace / "late\n-dash.py").write_text(_source(61), encoding="utf-8")
    await wait_until(lambda: _files_are(client, len(NAMES) + 1), 120, "the watcher's new file")
    found = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="odd_function_61"))
    assert any(to_fs_path(s.location.uri) == str(workspace / "late\n-dash.py") for s in found or [])
    logged = " ".join(message.message for message in client.log_messages)
    assert "bad\\xff.py" in logged and "late\\xfe.py" in logged
    assert not [m for m in client.messages if m.type == types.MessageType.Error]


async def _files_are(client: LanguageClient, count: int) -> bool:
    return await _files(client) == count
