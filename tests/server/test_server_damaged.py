"""The language server on a damaged or unusable index: told once, status says so, no request hangs."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsp_server.config import Settings
from lsp_server.embedding import load_embedder
from lsp_server.index.indexer import WorkspaceIndex, default_index_dir
from tests.lsp_helpers import SERVER, command, initialize, wait_indexed, wait_until
from tests.workspace_fixture import make_workspace

pytestmark = pytest.mark.asyncio


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient) -> Any:
    yield
    await asyncio.wait_for(lsp_client.shutdown_session(), 60)


def messages(client: LanguageClient) -> list[str]:
    return [message.message for message in client.messages]


async def test_a_garbage_store_is_rebuilt_and_the_user_told_once(
    client: LanguageClient, tmp_path: Path
) -> None:
    root = make_workspace(tmp_path / "ws")
    own = tmp_path / "index" / default_index_dir(root).name
    index = WorkspaceIndex(root, Settings(index_dir=str(own)), load_embedder("minilm", "cpu"))
    index.update(("code",))
    index.close()
    (own / "index.sqlite3").write_bytes(os.urandom(16384))
    await initialize(
        client, [root], {"model": "minilm", "device": "cpu", "indexDir": str(tmp_path / "index")}
    )
    status = await wait_indexed(client)
    assert status["folders"][0]["error"] is None and status["units"] > 0
    told = [text for text in messages(client) if "was damaged" in text]
    assert len(told) == 1 and "index.sqlite3.damaged-" in told[0] and "is being rebuilt" in told[0]
    found = await command(client, "codekin.searchCode", {"query": "fibonacci number"})
    assert found and found[0]["name"] == "fibonacci"


async def test_an_index_that_cannot_be_opened_is_an_error_not_a_hang(
    client: LanguageClient, tmp_path: Path
) -> None:
    root = make_workspace(tmp_path / "ws")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the index folder should go\n")
    await initialize(client, [root], {"model": "minilm", "device": "cpu", "indexDir": str(blocker)})

    async def failed() -> dict[str, Any] | None:
        status: dict[str, Any] = await command(client, "codekin.status")
        folders = status.get("folders") or []
        return status if folders and folders[0]["error"] else None

    status = await wait_until(failed, 60, "a folder error in codekin.status")
    assert "could not be opened" in status["folders"][0]["error"]
    assert any(
        m.type == types.MessageType.Error and "could not be opened" in m.message for m in client.messages
    )
    found = await asyncio.wait_for(command(client, "codekin.searchCode", {"query": "fibonacci number"}), 20)
    assert found == []
