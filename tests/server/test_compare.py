"""``codekin.compareSimilar`` through the real server over stdio: a pair explained for a diff view."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from pygls.exceptions import JsonRpcInvalidParams
from pytest_lsp import LanguageClient

from tests.lsp_helpers import SERVER, command, initialize, open_document, uri

pytestmark = pytest.mark.asyncio

COMPARE = "codekin.compareSimilar"

A = '''import os


def layout(items, margin):
    """Place the items side by side."""
    total = margin
    for item in items:
        total += item.width + margin
    return total * 2
'''
B = """class Row:
    def arrange(self, items, shared):
        total = shared
        for item in items:
            total += item.width + shared
            self.log(item)
        return total - 2
"""


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient) -> Any:
    yield
    await asyncio.wait_for(lsp_client.shutdown_session(), 60)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "src").mkdir(parents=True)
    (root / "src" / "a.py").write_text(A)
    (root / "src" / "b.py").write_text(B)
    return root


def lines(first: int, last: int) -> dict[str, Any]:
    """The whole-line range of 1-based lines ``first``..``last``, as the command answers it."""
    return {"start": {"line": first - 1, "character": 0}, "end": {"line": last, "character": 0}}


def arguments(a: Path, line: int, b: Path, other: dict[str, Any]) -> dict[str, Any]:
    return {
        "uri": uri(a),
        "position": {"line": line, "character": 4},
        "other": {"uri": uri(b), "range": other},
    }


async def test_compare_explains_the_pair_in_file_lines(
    client: LanguageClient, workspace: Path, tmp_path: Path
) -> None:
    await initialize(
        client, [workspace], {"model": "minilm", "device": "cpu", "indexDir": str(tmp_path / "i")}
    )
    a, b = workspace / "src" / "a.py", workspace / "src" / "b.py"
    found = await command(client, COMPARE, arguments(a, 5, b, lines(2, 7)))  # from the lens: b's range

    assert found["a"] == {"uri": uri(a), "range": lines(4, 9), "name": "layout"}
    assert found["b"] == {"uri": uri(b), "range": lines(2, 7), "name": "Row.arrange"}
    assert 0.7 < found["similarity"] < 1.0
    assert {"before": "margin", "after": "shared", "count": 2} in found["renames"]
    assert {"before": "layout", "after": "arrange", "count": 1} in found["renames"]
    assert found["onlyInA"] == [lines(5, 5)]  # the docstring
    assert found["onlyInB"] == [lines(6, 6)]  # self.log(item)
    assert found["changed"] == [
        {"a": lines(4, 4), "b": lines(2, 2)},  # self came in
        {"a": lines(9, 9), "b": lines(7, 7)},  # * became -
    ]
    diff = found["diff"].splitlines()
    assert diff[:3] == ["--- src/a.py:4-9 (layout)", "+++ src/b.py:2-7 (Row.arrange)", "@@ -4,6 +2,6 @@"]
    assert "-    return total * 2" in diff and "+    return total - 2" in diff

    # An open document is read from its buffer, unsaved edits and all.
    edited = B.replace("total - 2", "total * 2").replace("            self.log(item)\n", "")
    open_document(client, b, edited)
    found = await command(client, COMPARE, arguments(b, 3, a, lines(4, 9)))
    assert (found["a"]["name"], found["a"]["range"]) == ("Row.arrange", lines(2, 6))
    assert found["changed"] == [{"a": lines(2, 2), "b": lines(4, 4)}]
    assert (found["onlyInA"], found["onlyInB"]) == ([], [lines(5, 5)])
    assert b.read_text() == B


async def test_compare_rejects_what_it_cannot_explain(
    client: LanguageClient, workspace: Path, tmp_path: Path
) -> None:
    await initialize(
        client, [workspace], {"model": "minilm", "device": "cpu", "indexDir": str(tmp_path / "i")}
    )
    a, b = workspace / "src" / "a.py", workspace / "src" / "b.py"
    outside = tmp_path / "elsewhere.py"
    outside.write_text(A)
    bad_calls = [
        arguments(outside, 5, b, lines(2, 7)),  # not in a workspace folder
        arguments(a, 5, outside, lines(4, 9)),
        arguments(a, 0, b, lines(2, 7)),  # `import os`: no symbol there
        arguments(a, 5, workspace / "src" / "gone.py", lines(1, 1)),  # no such file
        {"uri": uri(a), "position": {"line": 5, "character": 4}},  # no other
        {**arguments(a, 5, b, lines(2, 7)), "uri": 42},
    ]
    for bad in bad_calls:
        with pytest.raises(JsonRpcInvalidParams):
            await command(client, COMPARE, bad)
    found = await command(client, COMPARE, arguments(a, 5, b, lines(2, 7)))
    assert found["a"]["name"] == "layout"  # the server is still up
