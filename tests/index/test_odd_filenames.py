"""Every file name the filesystem allows is indexed, or skipped with one log line: never fatal.

Real files with those names, the real store and model, and the real ``codekin`` command line.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from lsp_server.config import Settings
from lsp_server.embedding import load_embedder
from lsp_server.embedding.base import Embedder
from lsp_server.index.indexer import WorkspaceIndex
from lsp_server.retrieval import queries

CODEKIN = str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "codekin")

NAME_MAX = os.pathconf("/", "PC_NAME_MAX") if hasattr(os, "pathconf") else 255

INDEXED: dict[str, str] = {
    "newline": "new\nline.py",
    "carriage return and tab": "tab\tcr\r.py",
    "control character": "ctl\x01.py",
    "leading dash": "-rf.py",
    "leading double dash": "--help.py",
    "leading space": " lead.py",
    "trailing space before the suffix": "trail .py",
    "NFC": "caf\u00e9.py",
    "NFD": "cafe\u0301.py",
    "longest ASCII name": "l" * (NAME_MAX - 3) + ".py",
    "longest two-byte name": "\u00e9" * ((NAME_MAX - 3) // 2) + ".py",
    "glob and ignore characters": "[ab]*?!.py",
    "hash": "#hash.py",
    "URI characters": "100%41 a#b?c&d.py",
    "colon and a number": "a:1.py",
    "backslash": "back\\slash.py",
    "quotes": 'it\'s "q".py',
    "shell characters": "$HOME `x`;.py",
    "emoji": "\U0001f600.py",
    "right-to-left override": "\u202eyp.txt.py",
}
"""Names the index takes as they are, by the kind of name each tries."""

SKIPPED: dict[str, bytes] = {
    "a byte that is not UTF-8": b"bad\xff.py",
    "a UTF-8-encoded surrogate": b"sur\xed\xa0\x80.py",
    "a truncated UTF-8 sequence": b"cut\xc3.py",
}
"""Names that are not valid UTF-8: SQLite, JSON and editors cannot name them (see workspace/names.py)."""

BAD_FOLDER = b"dir\xfe"

SHARED = (
    "def shared_total(values):\n    total = 0\n    for value in values:\n        total += value\n"
    "    return total\n"
)


def _source(number: int) -> str:
    return f"def function_{number}(x):\n    return x * {number} + 1\n\n\n{SHARED}"


def make_odd_workspace(root: Path) -> Path:
    """Every name of INDEXED and SKIPPED, a non-UTF-8 folder, and ``ok.py``; each file with its own
    function and one shared one (so that ``duplicates`` names every file stored)."""
    root.mkdir(parents=True)
    for number, name in enumerate(INDEXED.values()):
        (root / name).write_text(_source(number), encoding="utf-8")
    for number, raw in enumerate(SKIPPED.values(), start=100):
        with open(os.fsencode(root) + b"/" + raw, "w", encoding="utf-8") as handle:
            handle.write(_source(number))
    folder = os.fsencode(root) + b"/" + BAD_FOLDER
    os.mkdir(folder)
    with open(folder + b"/inner.py", "w", encoding="utf-8") as handle:
        handle.write(_source(200))
    (root / "ok.py").write_text(_source(300), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def minilm() -> Embedder:
    return load_embedder("minilm", "cpu")


@pytest.fixture
def odd_index(tmp_path: Path, minilm: Embedder) -> Iterator[WorkspaceIndex]:
    index = WorkspaceIndex(
        make_odd_workspace(tmp_path / "ws"), Settings(index_dir=str(tmp_path / "i")), minilm
    )
    yield index
    index.close()


def test_every_allowed_name_is_indexed_or_skipped_with_a_line(
    odd_index: WorkspaceIndex, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    summary = odd_index.update(("code",))
    assert set(odd_index.store.files()) == {*INDEXED.values(), "ok.py"}
    assert summary.files == len(INDEXED) + 1
    skips = [r.getMessage() for r in caplog.records if "not valid UTF-8" in r.getMessage()]
    assert len(skips) == len(SKIPPED) + 1, skips  # one line each, the folder's included
    assert any("bad\\xff.py" in line for line in skips) and any("dir\\xfe/" in line for line in skips)
    assert all("\n" not in line and "\r" not in line for line in caplog.messages)
    for number, name in enumerate(INDEXED.values()):
        names = {unit.name for unit in odd_index.store.units_of_file(name, "code")}
        assert names == {f"function_{number}", "shared_total"}, name
        symbol, hits = queries.similar(odd_index, name, 1, 5)
        assert symbol.name == f"function_{number}" and hits
        assert {hit.path for _, hit in hits} <= {*INDEXED.values(), "ok.py"}


def test_a_changed_file_with_a_bad_name_is_passed_over(odd_index: WorkspaceIndex) -> None:
    odd_index.update(("code",))
    paths = [os.fsdecode(raw) for raw in SKIPPED.values()] + ["ok.py", INDEXED["newline"]]
    (odd_index.root / "ok.py").write_text(_source(301), encoding="utf-8")
    summary = odd_index.update_paths(paths, ("code",))  # what the watcher or an editor might name
    assert summary.embedded == 1 and set(odd_index.store.files()) == {*INDEXED.values(), "ok.py"}


def test_a_workspace_folder_whose_own_name_is_not_utf8(tmp_path: Path, minilm: Embedder) -> None:
    root = Path(os.fsdecode(os.fsencode(tmp_path) + b"/ws\xff"))
    os.mkdir(root)
    (root / "ok.py").write_text(_source(1), encoding="utf-8")
    index = WorkspaceIndex(root, Settings(), minilm)  # the default index folder: under XDG_CACHE_HOME
    try:
        assert index.update(("code",)).files == 1
        assert [hit.path for _, hit in queries.similar(index, "ok.py", 5, 3)[1]] == ["ok.py"]
    finally:
        index.close()


def _codekin(*args: str, env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CODEKIN, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )


def test_the_cli_indexes_and_answers_around_names_that_are_not_utf8(tmp_path: Path) -> None:
    root = make_odd_workspace(tmp_path / "w")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    common = ["--model", "minilm", "--device", "cpu", "--index-dir", str(tmp_path / "index"), "--json"]
    done = _codekin("index", str(root), *common, "-v", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["files"] == len(INDEXED) + 1
    assert done.stderr.count("not valid UTF-8") == len(SKIPPED) + 1
    assert "skipped bad\\xff.py: its name is not valid UTF-8" in done.stderr
    done = _codekin("similar", str(root / "ok.py") + ":1", "--path", str(root), *common, env=env)
    assert done.returncode == 0, done.stderr
    assert {hit["path"] for hit in json.loads(done.stdout)["results"]} <= {*INDEXED.values(), "ok.py"}
    dash = _codekin("similar", "--path", str(root), *common, "--", "-rf.py:1", env=env, cwd=root)
    assert dash.returncode == 0 and json.loads(dash.stdout)["results"], dash.stderr
    bad = _codekin("similar", os.fsdecode(os.fsencode(root) + b"/bad\xff.py") + ":1", *common, env=env)
    assert bad.returncode == 2 and "bad\\xff.py is not indexed" in bad.stderr
    done = _codekin("duplicates", str(root), *common, env=env)
    assert done.returncode == 0, done.stderr
    clusters = json.loads(done.stdout)["clusters"]
    members = {member["path"] for cls in clusters for member in cls["members"]}
    assert members == {*INDEXED.values(), "ok.py"}  # every name round-trips through JSON exactly
