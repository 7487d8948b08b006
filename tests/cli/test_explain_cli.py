"""``codekin explain FILE:LINE FILE:LINE``: text and JSON, file lines, and the mistakes it reports."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path
from typing import Any

import pytest

from lsp_server.cli import explain

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


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text(A)
    (tmp_path / "src" / "b.py").write_text(B)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="codekin explain")
    explain.add_arguments(parser)
    out = io.StringIO()
    status = explain.run(parser.parse_args(list(argv)), out)
    return status, out.getvalue()


def as_json(*argv: str) -> dict[str, Any]:
    status, out = run(*argv, "--json")
    assert status == 0
    found: dict[str, Any] = json.loads(out)
    return found


def test_json_names_the_pair_and_gives_file_lines(files: Path) -> None:
    found = as_json("src/a.py:6", "src/b.py:3")
    assert found["a"] == {"path": "src/a.py", "name": "layout", "start_line": 4, "end_line": 9}
    assert found["b"] == {"path": "src/b.py", "name": "Row.arrange", "start_line": 2, "end_line": 7}
    assert found["renames"][0] == {"before": "margin", "after": "shared", "count": 2}
    assert {"before": "layout", "after": "arrange", "count": 1} in found["renames"]
    assert found["only_in_a"] == [5]  # the docstring
    assert found["only_in_b"] == [6]  # self.log(item)
    # The parameters (self came in, so margin faces items there) and the operator (* became -).
    assert found["changed"] == [{"a_line": 4, "b_line": 2}, {"a_line": 9, "b_line": 7}]
    assert 0.7 < found["similarity"] < 1.0
    diff = found["diff"].splitlines()  # of the units as if at column 0: the method is dedented
    assert diff[:3] == ["--- src/a.py:4-9 (layout)", "+++ src/b.py:2-7 (Row.arrange)", "@@ -4,6 +2,6 @@"]
    assert "-    return total * 2" in diff and "+    return total - 2" in diff


def test_absolute_paths_work_too(files: Path) -> None:
    found = as_json(f"{files}/src/b.py:5", f"{files}/src/a.py:8")
    assert (found["a"]["name"], found["b"]["name"]) == ("Row.arrange", "layout")
    assert found["renames"][0] == {"before": "shared", "after": "margin", "count": 2}


def test_text_shows_the_header_the_rename_map_and_the_diff(files: Path) -> None:
    status, out = run("src/a.py:4", "src/b.py:2")
    assert status == 0
    lines = out.splitlines()
    assert lines[:2] == ["a: layout (src/a.py:4-9)", "b: Row.arrange (src/b.py:2-7)"]
    assert lines[2].startswith("similarity: 0.")
    assert "  margin → shared (2×)" in lines and "  layout → arrange (1×)" in lines
    assert (
        "only in a: line 5" in lines and "only in b: line 6" in lines and "changed: lines 4↔2, 9↔7" in lines
    )
    assert "--- src/a.py:4-9 (layout)" in lines
    assert "+        self.log(item)" in lines


def test_a_renamed_copy_has_an_empty_diff(files: Path) -> None:
    (files / "src" / "c.py").write_text(A.replace("margin", "pad").replace("layout", "place"))
    status, out = run("src/a.py:5", "src/c.py:5")
    assert status == 0
    assert "  margin → pad (3×)" in out.splitlines()
    assert out.endswith("(the texts are the same once renamed)\n")
    found = as_json("src/a.py:5", "src/c.py:5")
    assert (found["changed"], found["only_in_a"], found["only_in_b"], found["diff"]) == ([], [], [], "")
    assert found["similarity"] == 1.0


@pytest.mark.parametrize(
    ("first", "message"),
    [
        ("src/a.py", "expected FILE:LINE"),
        ("src/a.py:0", "expected FILE:LINE"),
        ("src/a.py:x", "expected FILE:LINE"),
        ("src/missing.py:3", "src/missing.py: no such file"),
        ("src/a.py:1", "src/a.py:1 is not inside a function"),
        ("src/notes.txt:1", "src/notes.txt: not a language codekin reads"),
    ],
)
def test_mistakes_exit_2_with_a_message(
    files: Path, capsys: pytest.CaptureFixture[str], first: str, message: str
) -> None:
    (files / "src" / "notes.txt").write_text("def f():\n    pass\n")
    status, out = run(first, "src/b.py:3")
    assert (status, out) == (2, "")
    err = capsys.readouterr().err
    assert err.startswith("codekin: ") and message in err


def test_the_second_location_is_checked_too(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _ = run("src/a.py:6", "src/b.py:99")
    assert status == 2
    assert "src/b.py:99 is not inside a function" in capsys.readouterr().err
