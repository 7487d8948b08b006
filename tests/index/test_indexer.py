"""The incremental indexer end to end on the embedded default model: real files, SQLite, HNSW."""

from __future__ import annotations

import logging
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lsp_server.config import Settings
from lsp_server.embedding import load_embedder
from lsp_server.embedding.base import Embedder
from lsp_server.embedding.deferred import DeferredEmbedder
from lsp_server.embedding.identity import Identity
from lsp_server.index.indexer import Cancelled, WorkspaceIndex
from lsp_server.retrieval import queries
from tests.workspace_fixture import PY_UTILS, make_workspace


@pytest.fixture(scope="module")
def minilm() -> Embedder:
    return load_embedder("minilm", "cpu")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return make_workspace(tmp_path / "ws")


@pytest.fixture
def open_index(tmp_path: Path, minilm: Embedder) -> Iterator[callable]:  # type: ignore[valid-type]
    opened: list[WorkspaceIndex] = []

    def open_(root: Path, **settings: object) -> WorkspaceIndex:
        index = WorkspaceIndex(root, Settings(index_dir=str(tmp_path / "index"), **settings), minilm)  # type: ignore[arg-type]
        opened.append(index)
        return index

    yield open_
    for index in opened:
        index.close()


ALL = ("code", "docs", "completions")


def test_second_run_embeds_nothing(workspace: Path, open_index) -> None:  # type: ignore[no-untyped-def]
    index = open_index(workspace)
    first = index.update(ALL)
    assert first.files == 5 and first.embedded > 0 and first.units >= first.embedded
    assert first.reused == 0
    second = index.update(ALL)
    assert (second.embedded, second.reused, second.units) == (0, 0, first.units)
    reopened = open_index(workspace)
    third = reopened.update(ALL)
    assert (third.embedded, third.units) == (0, first.units)


def test_edit_one_function_embeds_one(workspace: Path, open_index) -> None:  # type: ignore[no-untyped-def]
    index = open_index(workspace)
    index.update(("code",))
    path = workspace / "src" / "utils.py"
    path.write_text(path.read_text().replace('out.append("-")', 'out.append("_")'))
    summary = index.update(("code",))
    assert summary.embedded == 1
    hits = queries.search(index, "turn a title into a url slug", k=3)
    assert hits[0].name == "slugify"


def test_edit_method_embeds_method_and_class(workspace: Path, open_index) -> None:  # type: ignore[no-untyped-def]
    index = open_index(workspace)
    index.update(("code",))
    path = workspace / "src" / "utils.py"
    path.write_text(path.read_text().replace("self.items[key] = value", "self.items[key] = value  # touch"))
    assert index.update(("code",)).embedded == 2  # Cache.get and the class Cache that contains it


def test_rename_reuses_everything(workspace: Path, open_index) -> None:  # type: ignore[no-untyped-def]
    index = open_index(workspace)
    before = index.update(ALL)
    (workspace / "web" / "cart.js").rename(workspace / "web" / "basket.js")
    shutil.move(workspace / "src", workspace / "lib")
    after = index.update(ALL)
    assert after.embedded == 0 and after.reused > 0 and after.units == before.units
    hits = queries.search(index, "total price of a shopping cart with tax", k=1)
    assert hits[0].path == "web/basket.js"


def test_delete_removes_from_results(workspace: Path, open_index) -> None:  # type: ignore[no-untyped-def]
    index = open_index(workspace)
    index.update(("code",))
    assert any(hit.path == "go/area.go" for hit in queries.search(index, "area of a rectangle", k=3))
    (workspace / "go" / "area.go").unlink()
    summary = index.update(("code",))
    assert summary.files == 4 and summary.embedded == 0
    assert all(hit.path != "go/area.go" for hit in queries.search(index, "area of a rectangle", k=10))


def test_query_vectors_reuse_stored_passages_exactly(workspace: Path, open_index, minilm) -> None:  # type: ignore[no-untyped-def]
    index = open_index(workspace)
    index.update(("code",))
    unit = next(u for u in index.store.units_of_file("src/utils.py", "code") if u.name == "slugify")
    text = index.store.texts([unit.hash])[unit.hash]
    computed = minilm.embed([text, "a query never stored"], task="code2code", side="query")
    for _ in range(2):  # from the store, then from the cache
        reused = index.query_vectors([text, "a query never stored"], "code2code")
        assert np.allclose(reused, computed, atol=1e-5)
    code2nl = index.query_vectors([text], "code2nl")  # another task's vector is never reused for it
    assert np.allclose(code2nl, minilm.embed([text], task="code2nl", side="query"), atol=1e-5)


def test_similar_finds_the_copy_across_files(workspace: Path, open_index) -> None:  # type: ignore[no-untyped-def]
    index = open_index(workspace)
    index.update(("code",))
    unit, found = queries.similar(index, "src/utils.py", 8, k=3)
    hits = [hit for _, hit in found]
    assert unit.name == "load_json_config"
    assert (hits[0].path, hits[0].name) == ("src/copy_of_utils.py", "read_settings")
    assert all(not (hit.path == unit.path and hit.start_line == unit.start_line) for hit in hits)


def test_damaged_ann_is_rebuilt_without_embedding(workspace: Path, open_index) -> None:  # type: ignore[no-untyped-def]
    index = open_index(workspace)
    index.update(("code",))
    expected = queries.search(index, "fibonacci number", k=3)
    ann_file = index.anns.path("code")
    ann_file.write_bytes(b"garbage")
    reopened = open_index(workspace)
    assert reopened.update(("code",)).embedded == 0
    assert queries.search(reopened, "fibonacci number", k=3) == expected
    assert ann_file.stat().st_size > 100  # saved again, whole


def test_ann_saves_wait_for_the_interval_and_close(
    workspace: Path, open_index, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from lsp_server.index import spaces
    from lsp_server.index.ann import AnnIndex

    monkeypatch.setattr(spaces, "ANN_SAVE_INTERVAL_S", 3600.0)
    index = open_index(workspace)
    index.update(("code",))
    ann_file = index.anns.path("code")
    first = ann_file.stat().st_mtime_ns  # the first sync writes at once
    for rel in ("src/fresh.py", "src/utils.py"):  # a new file (through a scan), a known one (targeted)
        with (workspace / rel).open("a") as out:
            out.write(f"\n\ndef median_of_three_{rel[4:9]}(a, b, c):\n    return sorted([a, b, c])[1]\n")
        index.update_paths([rel], ("code",))
    found = {hit.name for hit in queries.search(index, "median of three values", k=3)}
    assert {"median_of_three_fresh", "median_of_three_utils"} <= found
    assert ann_file.stat().st_mtime_ns == first  # synced in memory, not rewritten
    monkeypatch.setattr(spaces, "ANN_SAVE_INTERVAL_S", 0.0)
    with (workspace / "src" / "utils.py").open("a") as out:
        out.write("\n\ndef quarter(x):\n    return x / 4\n")
    index.update_paths(["src/utils.py"], ("code",))
    assert ann_file.stat().st_mtime_ns == first  # an edit never writes: its lens should not wait
    monkeypatch.setattr(spaces, "ANN_SAVE_INTERVAL_S", 3600.0)
    index.flush(due_only=True)
    assert ann_file.stat().st_mtime_ns == first  # not due yet
    expect = {"store_id": index.store.store_id, "model": index.model_id, "space": "code", "dim": index.dim}
    live = set(index.ann("code").live)
    stale = AnnIndex.load(ann_file, expect)
    assert stale is not None and stale.live < live  # a stale save: re-synced from the store on load
    index.close()
    saved = AnnIndex.load(ann_file, expect)
    assert saved is not None and saved.live == live


def test_queries_during_an_edit_take_the_ann_as_is(workspace: Path, open_index) -> None:  # type: ignore[no-untyped-def]
    """A query between an edit's first write and its ANN update answers from what is indexed so far,
    instead of re-syncing the space with a scan of every live vector."""
    index = open_index(workspace)
    index.update(ALL)
    scans: list[str] = []
    real_scan = index.store.live_vector_ids

    def counted_scan(model: str, space: str) -> np.ndarray:
        scans.append(space)
        return real_scan(model, space)

    index.store.live_vector_ids = counted_scan
    answered: list[list[str]] = []

    def query_meanwhile(phase: str, done: int, total: int) -> None:
        if phase == "embed code" and done == 0:  # the file is re-parsed and stored, not yet in the ANN
            answered.append([hit.name for hit in queries.search(index, "cube of a number", k=3)])

    with (workspace / "src" / "utils.py").open("a") as out:
        out.write("\n\ndef cube(x):\n    return x * x * x\n")
    index.update_paths(["src/utils.py"], ALL, progress=query_meanwhile)
    assert answered and "cube" not in answered[0] and scans == []
    assert "cube" in [hit.name for hit in queries.search(index, "cube of a number", k=3)] and scans == []


def test_pending_counts_are_remembered_until_the_store_changes(workspace: Path, open_index) -> None:  # type: ignore[no-untyped-def]
    index = open_index(workspace)
    index.update(("code",))
    scans: list[str] = []
    real_scan = index.store.pending_hashes

    def counted_scan(model: str, space: str) -> list[str]:
        scans.append(space)
        return real_scan(model, space)

    index.store.pending_hashes = counted_scan
    assert [index.pending_count("docs") for _ in range(3)] == [len(real_scan(index.model_id, "docs"))] * 3
    assert scans == ["docs"]
    (workspace / "go" / "area.go").unlink()
    index.update_paths(["go/area.go"], ("code",))
    assert index.pending_count("docs") == len(real_scan(index.model_id, "docs")) and scans == ["docs"] * 2


def test_targeted_updates_agree_with_a_full_resync(workspace: Path, open_index) -> None:  # type: ignore[no-untyped-def]
    """Edits through update_paths touch only their files' hashes; after each, the ANN spaces, the
    pending sets and the texts must be what a scan of the whole store says."""
    index = open_index(workspace)
    index.update(ALL)
    originals = {
        rel: (workspace / rel).read_text() for rel in ("src/utils.py", "src/copy_of_utils.py", "web/cart.js")
    }
    rng = random.Random(7)
    for step in range(16):
        rel = rng.choice(sorted(originals))
        path = workspace / rel
        action = rng.choice(["append", "copy", "empty", "delete", "restore"])
        if action == "append" and path.exists():
            with path.open("a") as out:
                out.write(f'\n\ndef step_{step}(x):\n    """Step {step}."""\n    return x * {step}\n')
        elif action == "copy":  # the same units in two files: their vectors stay while one holds them
            other = rng.choice(sorted(originals))
            path.write_text(originals[other] if other.endswith(rel[-3:]) else originals[rel])
        elif action == "empty":
            path.write_text("")
        elif action == "delete" and path.exists():
            path.unlink()
        else:
            path.write_text(originals[rel])
        if not path.exists() and rel not in index.store.files():
            continue  # a path the index does not know goes through a full scan: not this test's subject
        index.update_paths([rel], ALL)
        for space in ALL:
            assert index.anns.in_sync(space), (step, action, space)
            full = set(index.store.live_vector_ids(index.model_id, space).tolist())
            assert index.ann(space).live == full, (step, action, space)
            assert index.store.pending_hashes(index.model_id, space) == []
        with sqlite3.connect(index.store.path) as db:
            orphans = db.execute("SELECT count(*) FROM texts WHERE hash NOT IN (SELECT hash FROM units)")
            missing = db.execute("SELECT count(*) FROM units WHERE hash NOT IN (SELECT hash FROM texts)")
            assert (orphans.fetchone()[0], missing.fetchone()[0]) == (0, 0), (step, action)


def test_a_reopened_index_answers_from_stored_vectors_before_the_model_loads(
    workspace: Path, tmp_path: Path, minilm: Embedder
) -> None:
    settings = Settings(index_dir=str(tmp_path / "index"))
    first = WorkspaceIndex(workspace, settings, minilm)
    first.update(ALL)
    want = queries.similar(first, "src/utils.py", 8, k=3)
    first.close()

    loading: Future[Embedder] = Future()  # a model that has not loaded (yet)
    reopened = WorkspaceIndex(workspace, settings, DeferredEmbedder(loading, Identity.of(minilm)))
    answered: list[Any] = []

    def restart() -> None:
        answered.append(reopened.update(ALL))
        answered.append(queries.similar(reopened, "src/utils.py", 8, k=3))

    worker = threading.Thread(target=restart, daemon=True)
    worker.start()
    worker.join(60)
    assert not worker.is_alive(), "the restart waited for the model"
    summary, got = answered
    assert summary.embedded == 0 and summary.files == 5 and not loading.done()
    assert [(h.path, h.name) for _, h in got[1]] == [(h.path, h.name) for _, h in want[1]]
    loading.set_result(minilm)
    reopened.close()


def test_after_a_cancelled_run_an_edit_embeds_only_its_own_units(workspace: Path, open_index) -> None:  # type: ignore[no-untyped-def]
    index = open_index(workspace)
    cancel = threading.Event()

    def stop_at_the_first_embedding(phase: str, done: int, total: int) -> None:
        if phase.startswith("embed"):
            cancel.set()

    with pytest.raises(Cancelled):
        index.update(ALL, progress=stop_at_the_first_embedding, cancel=cancel)
    before = {space: set(index.store.pending_hashes(index.model_id, space)) for space in ALL}
    assert sum(map(len, before.values())) > 10
    edited = {
        "src/new_helper.py": "def triple(x):\n    return 3 * x\n",  # unknown: through a scan
        "src/utils.py": PY_UTILS + "\n\ndef halve(x):\n    return x / 2\n",
    }
    for rel, text in edited.items():
        (workspace / rel).write_text(text)
        assert index.update_paths([rel], ALL).embedded > 0
    theirs = {(u.space, u.hash) for rel in edited for u in index.store.units_of_file(rel)}
    for space in ALL:  # what the cancelled run left elsewhere waits for the next full update
        after = set(index.store.pending_hashes(index.model_id, space))
        assert after == {h for h in before[space] if (space, h) not in theirs}, space
    remaining = sum(index.pending_count(space) for space in ALL)
    assert remaining > 0 and index.update(ALL).embedded == remaining


def test_bad_files_are_logged_and_skipped(
    workspace: Path,
    open_index,
    caplog: pytest.LogCaptureFixture,  # type: ignore[no-untyped-def]
) -> None:
    (workspace / "blob.py").write_bytes(b"\x00\x01\x02binary" * 100)
    (workspace / "huge.py").write_text("x = 1\n" * 900_000)  # 5.4 MB
    (workspace / "latin1.py").write_bytes("def caf\xe9():\n    return 'd\xe9j\xe0 vu'\n".encode("latin-1"))
    (workspace / "broken.py").write_text("def ok():\n    return 1\n\ndef broken(:\n    pass\n")
    os.symlink(workspace / "src", workspace / "src" / "loop")
    caplog.set_level(logging.INFO)
    index = open_index(workspace)
    index.update(("code",))
    log = caplog.text
    assert "blob.py: binary" in log
    assert "huge.py: larger than max_file_bytes" in log
    assert "latin1.py: invalid UTF-8" in log
    assert "src/loop: symlink loop" in log
    names = {u.name for path in ("latin1.py", "broken.py") for u in index.store.units_of_file(path, "code")}
    assert "ok" in names and any(name.startswith("caf") for name in names)


def test_file_vanishing_mid_scan(workspace: Path, open_index) -> None:  # type: ignore[no-untyped-def]
    index = open_index(workspace)
    victim = workspace / "go" / "area.go"

    def delete_after_discovery(phase: str, done: int, total: int) -> None:
        if phase == "scan" and victim.exists():
            victim.unlink()

    summary = index.update(("code",), progress=delete_after_discovery)
    assert summary.files == 4
    assert index.store.units_of_file("go/area.go") == []


def test_killed_during_indexing_resumes(workspace: Path, tmp_path: Path, open_index) -> None:  # type: ignore[no-untyped-def]
    for number in range(60):  # enough units that the kill lands mid-way
        (workspace / "src" / f"gen_{number}.py").write_text(
            "\n".join(f"def f_{number}_{i}(x):\n    return x * {number} + {i}\n" for i in range(5))
        )
    index_dir = tmp_path / "index"
    env = {**os.environ, "CODEKIN_EMBED_CHUNK": "8", "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "lsp_server.entry", "index", str(workspace), "--model", "minilm"]
    cmd += ["--index-dir", str(index_dir), "--json"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    db = index_dir / "index.sqlite3"
    deadline = time.monotonic() + 120
    stored = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists():
            try:
                with sqlite3.connect(db, timeout=1) as conn:
                    stored = conn.execute("SELECT count(*) FROM vectors").fetchone()[0]
            except sqlite3.OperationalError:
                stored = 0
            if stored >= 16:
                break
        time.sleep(0.05)
    assert proc.poll() is None, "indexing finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    index = open_index(workspace, spaces=ALL)
    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT count(*) FROM vectors").fetchone()[0]
    pending = sum(index.pending_count(space) for space in ALL)
    summary = index.update(ALL)
    assert stored > 0 and summary.embedded == pending > 0
    assert all(index.pending_count(space) == 0 for space in ALL)
    with sqlite3.connect(db) as conn:
        total = conn.execute("SELECT count(*) FROM vectors").fetchone()[0]
        distinct = conn.execute("SELECT count(DISTINCT space || hash) FROM units").fetchone()[0]
    assert total == distinct == stored + summary.embedded
    assert index.update(ALL).embedded == 0
