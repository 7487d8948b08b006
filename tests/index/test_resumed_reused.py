"""A resumed run counts the vectors an unfinished run stored as reused (it said ``reused: 0``)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lsp_server.config import Settings
from lsp_server.embedding import load_embedder
from lsp_server.embedding.base import Embedder
from lsp_server.index.indexer import Cancelled, WorkspaceIndex
from tests.workspace_fixture import make_workspace

ALL = ("code", "docs", "completions")
CODEKIN = str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "codekin")

OpenIndex = Callable[[Path], WorkspaceIndex]


@pytest.fixture(scope="module")
def minilm() -> Embedder:
    return load_embedder("minilm", "cpu")


@pytest.fixture
def open_index(tmp_path: Path, minilm: Embedder) -> Iterator[OpenIndex]:
    opened: list[WorkspaceIndex] = []

    def open_(root: Path) -> WorkspaceIndex:
        opened.append(WorkspaceIndex(root, Settings(index_dir=str(tmp_path / "index")), minilm))
        return opened[-1]

    yield open_
    for index in opened:
        index.close()


def _vectors(index_dir: Path) -> int:
    with sqlite3.connect(index_dir / "index.sqlite3") as db:
        return int(db.execute("SELECT count(*) FROM vectors").fetchone()[0])


def _contents(index_dir: Path) -> int:
    with sqlite3.connect(index_dir / "index.sqlite3") as db:
        return int(db.execute("SELECT count(DISTINCT space || hash) FROM units").fetchone()[0])


def _stop_before_docs(index: WorkspaceIndex) -> None:
    """A run that embeds the code space, then stops (as a kill or a cancel would) before the docs."""
    cancel = threading.Event()

    def progress(phase: str, done: int, total: int) -> None:
        if phase == "embed docs":
            cancel.set()

    with pytest.raises(Cancelled):
        index.update(ALL, progress=progress, cancel=cancel)


def test_a_resumed_run_reports_what_the_unfinished_one_embedded(
    tmp_path: Path, open_index: OpenIndex
) -> None:
    index = open_index(make_workspace(tmp_path / "ws"))
    _stop_before_docs(index)
    stored = _vectors(tmp_path / "index")
    assert stored > 0
    resumed = index.update(ALL)
    assert resumed.reused == stored and resumed.embedded > 0
    assert resumed.reused + resumed.embedded == _contents(tmp_path / "index")
    again = index.update(ALL)  # reported once: a finished run leaves nothing to count again
    assert (again.embedded, again.reused) == (0, 0)


def test_an_edit_between_does_not_swallow_the_count(tmp_path: Path, open_index: OpenIndex) -> None:
    root = make_workspace(tmp_path / "ws")
    index = open_index(root)
    _stop_before_docs(index)
    stored = _vectors(tmp_path / "index")
    utils = root / "src" / "utils.py"
    utils.write_text(utils.read_text() + "\n\ndef quadruple(x):\n    return 4 * x\n")
    edit = index.update_paths(["src/utils.py"], ALL)  # an editor's save, between the two runs
    assert edit.embedded > 0 and edit.reused > 0
    resumed = index.update(ALL)  # what the edit reported is not reported again; the rest is
    assert resumed.reused + edit.reused == stored
    assert edit.embedded + resumed.embedded + stored == _vectors(tmp_path / "index")
    assert _vectors(tmp_path / "index") == _contents(tmp_path / "index")


def test_the_cli_json_counts_vectors_an_earlier_run_stored(tmp_path: Path, open_index: OpenIndex) -> None:
    root = make_workspace(tmp_path / "ws")
    _stop_before_docs(open_index(root))
    stored = _vectors(tmp_path / "index")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    cmd = [CODEKIN, "index", str(root), "--model", "minilm", "--device", "cpu", "--json"]
    done = subprocess.run(
        [*cmd, "--index-dir", str(tmp_path / "index")], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["reused"] == stored > 0
    assert summary["reused"] + summary["embedded"] == _contents(tmp_path / "index")
