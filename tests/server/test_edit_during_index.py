"""An edit during the first index: its copy's lens comes at once, not after every unit is embedded.

Edits run on their own thread beside a full update, store their units and fingerprints, and refresh the
lenses before any embedding (syntactic clones need no model); their vectors follow once the full run
ends. Before, an edit queued behind the whole first index (minutes on a real workspace).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.lsp_helpers import (
    SERVER,
    command,
    initialize,
    open_document,
    replace_document,
    uri,
    wait_indexed,
    wait_until,
)

pytestmark = pytest.mark.asyncio

SLOW_INDEX = ClientServerConfig(
    server_command=SERVER.server_command,
    server_env={**SERVER.server_env, "CODEKIN_EMBED_CHUNK": "4"},  # many small commits: a long first run
)
ORIGINAL = '''def weighted_total(prices, weights):
    """Sum of prices scaled by their weights, skipping missing ones."""
    total = 0.0
    for price, weight in zip(prices, weights):
        if price is None or weight is None:
            continue
        total += price * weight
    return round(total, 2)
'''
COPY = ORIGINAL.replace("weighted_total", "scaled_sum").replace("price", "cost").replace("total", "acc")


@pytest_lsp.fixture(config=SLOW_INDEX)
async def client(lsp_client: LanguageClient) -> Any:
    yield
    await asyncio.wait_for(lsp_client.shutdown_session(), 60)


def make_workspace(root: Path) -> None:
    (root / "src").mkdir(parents=True)
    (root / "src" / "money.py").write_text(ORIGINAL)
    for number in range(60):
        body = "\n".join(
            f"def helper_{number}_{i}(x):\n    return x * {number} + {i} - len(str(x))\n" for i in range(8)
        )
        (root / "src" / f"gen_{number}.py").write_text(body)
    (root / "src" / "notes.py").write_text("def note(text):\n    return text.strip()\n")


async def test_a_copy_typed_during_the_first_index_gets_its_lens_before_it_ends(
    client: LanguageClient, tmp_path: Path
) -> None:
    root = tmp_path / "ws"
    make_workspace(root)
    await initialize(
        client, [root], {"model": "minilm", "device": "cpu", "indexDir": str(tmp_path / "index")}
    )

    async def embedding() -> dict[str, Any] | None:
        status: dict[str, Any] = await command(client, "codekin.status")
        return status if status["indexing"] and (status.get("pending") or 0) > 0 and status["units"] else None

    await wait_until(embedding, 120, "the first index to be embedding")
    notes = root / "src" / "notes.py"
    open_document(client, notes, notes.read_text())
    replace_document(client, notes, notes.read_text() + "\n\n" + COPY, version=2)
    document = types.TextDocumentIdentifier(uri=uri(notes))

    async def copy_lens() -> list[types.CodeLens] | None:
        lenses = await client.text_document_code_lens_async(types.CodeLensParams(text_document=document))
        return [lens for lens in lenses or [] if lens.range.start.line == 4] or None

    await wait_until(copy_lens, 60, "the lens on the pasted copy")
    status = await command(client, "codekin.status")
    assert status["indexing"] and status["pending"] > 0, "the first index ended before the lens came"
    resolved = await client.code_lens_resolve_async((await copy_lens() or [])[0])
    assert resolved.command is not None and "renamed" in resolved.command.title
    final = await wait_indexed(client, 300)
    assert final["pending"] == 0  # the edit's own units were embedded once the full run ended
