"""The real language server on a cloned workspace whose ``.codekin.toml`` names its own index folder:
ignored with a warning, unless the client's ``trustWorkspaceSettings`` allows it."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.lsp_helpers import SERVER, command, initialize, wait_indexed

pytestmark = pytest.mark.asyncio

CONFIG_HOME = tempfile.mkdtemp(prefix="codekin-test-config-")
"""The user's config folder for these servers: empty, never the developer's own."""


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=SERVER.server_command,
        server_env={**SERVER.server_env, "XDG_CONFIG_HOME": CONFIG_HOME},
    )
)
async def client(lsp_client: LanguageClient) -> Any:
    yield
    await asyncio.wait_for(lsp_client.shutdown_session(), 60)


@pytest.fixture
def cloned(tmp_path: Path) -> Path:
    root = tmp_path / "cloned"
    root.mkdir()
    (root / "a.py").write_text("def f(x):\n    return x + 1\n")
    evil = tmp_path / "their-index"
    (root / ".codekin.toml").write_text(f'index_dir = "{evil}"\ntrust_workspace_settings = true\n')
    return root


async def test_a_workspace_index_dir_is_ignored_with_a_warning(client: LanguageClient, cloned: Path) -> None:
    await initialize(client, [cloned], {"model": "minilm", "device": "cpu"})
    status = await wait_indexed(client)
    evil = cloned.parent / "their-index"
    assert status["files"] == 1 and not evil.exists()
    assert not Path(status["indexPath"]).is_relative_to(evil)
    shown = [m.message for m in client.messages if m.type == types.MessageType.Warning]
    assert any("'index_dir' ignored" in message for message in shown), shown
    assert any("only you can trust" in message for message in shown), shown


async def test_trusted_by_the_client_it_applies(client: LanguageClient, cloned: Path) -> None:
    options = {"model": "minilm", "device": "cpu", "trustWorkspaceSettings": True}
    await initialize(client, [cloned], options)
    status = await wait_indexed(client)
    assert Path(status["indexPath"]) == cloned.parent / "their-index"
    assert (cloned.parent / "their-index" / "index.sqlite3").is_file()
    assert (await command(client, "codekin.status"))["files"] == 1
