"""Every file of an index damaged in every way, a read-only index and a full disk: a message and a recovery.

The store (``index.sqlite3``) is the truth, but the workspace is its source: a damaged one is moved
aside (kept for inspection) and rebuilt. The ANN files derive from the store: any failure to read one
means it is rebuilt from the stored vectors, with nothing embedded again. The mounts (a read-only bind
mount, a small tmpfs) are real; they need root, and are skipped with that reason without it.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lsp_server.config import Settings
from lsp_server.embedding import load_embedder
from lsp_server.embedding.base import Embedder
from lsp_server.index.database import ReadOnlyIndex
from lsp_server.index.indexer import WorkspaceIndex
from lsp_server.retrieval import queries
from tests.workspace_fixture import make_workspace

CODEKIN = [sys.executable, "-m", "lsp_server.entry"]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="mounting a read-only or a full filesystem needs root"
)

Damage = Callable[[Path], None]


def garbage(path: Path) -> None:
    path.write_bytes(os.urandom(8192))


def zero_length(path: Path) -> None:
    path.write_bytes(b"")


def truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: max(1, path.stat().st_size // 2)])


def wrong_header(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[:100] = b"\x00" * 100
    path.write_bytes(bytes(data))


STORE_DAMAGE: dict[str, Damage] = {"garbage": garbage, "wrong header": wrong_header, "truncated": truncated}
FILE_DAMAGE: dict[str, Damage] = {**STORE_DAMAGE, "zero-length": zero_length}


@pytest.fixture(scope="module")
def minilm() -> Embedder:
    return load_embedder("minilm", "cpu")


@pytest.fixture
def indexed(tmp_path: Path, minilm: Embedder) -> Iterator[tuple[Path, Path, list[str]]]:
    """A workspace indexed once (code space) and closed: (workspace, index folder, search answer)."""
    root, index_dir = make_workspace(tmp_path / "ws"), tmp_path / "index"
    index = WorkspaceIndex(root, Settings(index_dir=str(index_dir)), minilm)
    index.update(("code",))
    answer = [hit.name for hit in queries.search(index, "fibonacci number", k=3)]
    index.close()
    yield root, index_dir, answer


def reopen(root: Path, index_dir: Path, minilm: Embedder) -> WorkspaceIndex:
    return WorkspaceIndex(root, Settings(index_dir=str(index_dir)), minilm)


@pytest.mark.parametrize("damage", list(STORE_DAMAGE), ids=list(STORE_DAMAGE))
def test_a_damaged_store_is_moved_aside_and_rebuilt(
    indexed: tuple[Path, Path, list[str]], minilm: Embedder, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    root, index_dir, answer = indexed
    STORE_DAMAGE[damage](index_dir / "index.sqlite3")
    index = reopen(root, index_dir, minilm)
    try:
        aside = index.store.moved_aside
        assert aside is not None and aside.exists() and aside.name.startswith("index.sqlite3.damaged-")
        assert str(aside) in caplog.text and "is being rebuilt" in caplog.text
        assert index.update(("code",)).embedded > 0  # rebuilt from the workspace
        assert [hit.name for hit in queries.search(index, "fibonacci number", k=3)] == answer
    finally:
        index.close()


def test_a_store_of_another_schema_is_kept_aside_too(
    indexed: tuple[Path, Path, list[str]], minilm: Embedder
) -> None:
    root, index_dir, answer = indexed
    with sqlite3.connect(index_dir / "index.sqlite3") as db:
        db.execute("UPDATE meta SET value = '0-old' WHERE key = 'schema'")
    index = reopen(root, index_dir, minilm)
    try:
        assert index.store.moved_aside is not None
        index.update(("code",))
        assert [hit.name for hit in queries.search(index, "fibonacci number", k=3)] == answer
    finally:
        index.close()


@pytest.mark.parametrize("suffix", [".hnsw", ".hnsw.ids.npz", ".hnsw.json"])
@pytest.mark.parametrize("damage", list(FILE_DAMAGE), ids=list(FILE_DAMAGE))
def test_every_damaged_ann_file_is_rebuilt_without_embedding(
    indexed: tuple[Path, Path, list[str]], minilm: Embedder, suffix: str, damage: str
) -> None:
    root, index_dir, answer = indexed
    (target,) = index_dir.glob(f"code-*{suffix}")
    FILE_DAMAGE[damage](target)
    index = reopen(root, index_dir, minilm)
    try:
        assert index.update(("code",)).embedded == 0
        assert [hit.name for hit in queries.search(index, "fibonacci number", k=3)] == answer
    finally:
        index.close()


def test_index_files_are_private_and_loose_ones_are_tightened(
    indexed: tuple[Path, Path, list[str]], minilm: Embedder, caplog: pytest.LogCaptureFixture
) -> None:
    root, index_dir, _ = indexed
    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in [index_dir, *index_dir.iterdir()]}
    assert modes[index_dir.name] == 0o700
    assert all(mode & 0o077 == 0 for mode in modes.values()), modes
    for path in [index_dir, *index_dir.iterdir()]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    reopen(root, index_dir, minilm).close()
    assert all(stat.S_IMODE(p.stat().st_mode) & 0o077 == 0 for p in [index_dir, *index_dir.iterdir()])
    assert "were readable by others" in caplog.text


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CODEKIN, *args, "--model", "minilm", "--device", "cpu"],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def mounts() -> Iterator[list[Path]]:
    mounted: list[Path] = []
    yield mounted
    for point in reversed(mounted):
        subprocess.run(["umount", "-l", str(point)], check=False)


@needs_root
def test_a_read_only_index_answers_queries_and_refuses_to_index(
    indexed: tuple[Path, Path, list[str]], tmp_path: Path, mounts: list[Path]
) -> None:
    root, index_dir, answer = indexed
    view = tmp_path / "read-only"
    view.mkdir()
    subprocess.run(["mount", "--bind", str(index_dir), str(view)], check=True)
    mounts.append(view)
    subprocess.run(["mount", "-o", "remount,ro,bind", str(view)], check=True)
    for extra in ([], ["--no-update"]):
        found = run_cli("search", "fibonacci number", "--path", str(root), "--index-dir", str(view), *extra)
        assert found.returncode == 0, found.stderr
        assert "read-only" in found.stderr and "Traceback" not in found.stderr
        assert answer[0] in found.stdout
    refused = run_cli("index", str(root), "--index-dir", str(view))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "is read-only; it cannot be updated" in refused.stderr
    with pytest.raises(ReadOnlyIndex):
        WorkspaceIndex(
            root, Settings(index_dir=str(view)), load_embedder("minilm", "cpu")
        ).store.transaction().__enter__()


@needs_root
def test_a_full_disk_stops_with_one_line_and_the_rerun_resumes(tmp_path: Path, mounts: list[Path]) -> None:
    root = tmp_path / "ws"
    stdlib = Path(sys.base_prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    shutil.copytree(stdlib / "json", root / "json", ignore=shutil.ignore_patterns("__pycache__"))
    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(small)], check=True)
    mounts.append(small)
    full = run_cli("index", str(root), "--index-dir", str(small / "idx"), "--spaces", "code")
    assert full.returncode == 1 and "Traceback" not in full.stderr, full.stderr
    assert (
        f"the disk holding {small / 'idx'} is full" in full.stderr
        and "free space and run again" in full.stderr
    )
    shutil.copytree(small / "idx", tmp_path / "idx")  # the same files, now on a disk with room
    resumed = run_cli("index", str(root), "--index-dir", str(tmp_path / "idx"), "--spaces", "code", "--json")
    assert resumed.returncode == 0, resumed.stderr
    again = run_cli("index", str(root), "--index-dir", str(tmp_path / "idx"), "--spaces", "code", "--json")
    assert '"embedded": 0' in again.stdout


@needs_root
def test_an_ann_save_on_a_full_disk_leaves_the_previous_file_whole(
    tmp_path: Path, mounts: list[Path]
) -> None:
    import numpy as np

    from lsp_server.index.ann import AnnIndex

    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(small)], check=True)
    mounts.append(small)
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((800, 128)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ann, meta, path = (
        AnnIndex(128, capacity=800),
        {"store_id": "s", "model": "m", "space": "code"},
        small / "c.hnsw",
    )
    ann.sync(np.arange(1, 101), lambda ids: (ids, vectors[ids - 1]))
    ann.save(path, meta)
    before = {p.name: p.read_bytes() for p in small.iterdir()}
    ann.sync(np.arange(1, 801), lambda ids: (ids, vectors[ids - 1]))  # now larger than the space left
    with pytest.raises(OSError):
        ann.save(path, meta)
    assert {p.name: p.read_bytes() for p in small.iterdir()} == before  # no temporary file left either
    loaded = AnnIndex.load(path, {**meta, "dim": 128})
    assert loaded is not None and loaded.live == set(range(1, 101))


def test_an_index_in_a_folder_of_the_users_own_leaves_their_files_alone(
    tmp_path: Path, minilm: Embedder
) -> None:
    """``--index-dir .`` in a repository: only codekin's files are made private, not the folder."""
    root, shared = make_workspace(tmp_path / "ws"), tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    notes = shared / "notes.txt"
    notes.write_text("mine\n")
    notes.chmod(0o644)
    index = WorkspaceIndex(root, Settings(index_dir=str(shared)), minilm)
    index.update(("code",))
    index.close()
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755 and stat.S_IMODE(notes.stat().st_mode) == 0o644
    assert stat.S_IMODE((shared / "index.sqlite3").stat().st_mode) == 0o600
