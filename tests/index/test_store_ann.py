"""The SQLite store and the derived HNSW index, without a model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lsp_server.embedding.base import normalize_rows
from lsp_server.index.ann import AnnIndex
from lsp_server.index.store import NewUnit, Store, content_hash


def _unit(name: str, text: str, space: str = "code", start: int = 1) -> NewUnit:
    return NewUnit(space, "function", name, "python", start, start + 2, text)


def test_units_share_vectors_by_content(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    both = [_unit("f", "def f(): pass"), _unit("g", "def g(): pass", start=5)]
    store.replace_file("a.py", size=1, mtime_ns=1, file_hash="h1", language="python", units=both)
    store.replace_file("b.py", size=1, mtime_ns=1, file_hash="h2", language="python", units=both[:1])
    pending = store.pending_hashes("m", "code")
    assert sorted(pending) == sorted({content_hash("def f(): pass"), content_hash("def g(): pass")})
    store.add_vectors("m", "code", pending, normalize_rows(np.eye(2, 4, dtype=np.float32)))
    assert store.pending_hashes("m", "code") == []
    assert store.pending_hashes("other-model", "code") != []
    live = store.live_vector_ids("m", "code")
    units = store.units_by_vector_ids("m", "code", live.tolist())
    assert sorted(len(v) for v in units.values()) == [1, 2]  # f is in two files, one vector

    store.remove_files(["a.py", "b.py"])
    assert store.count_units() == 0
    assert len(store.live_vector_ids("m", "code")) == 0
    assert len(store.pending_hashes("m", "code")) == 0
    store.drop_unreferenced_texts()
    assert store.texts([content_hash("def f(): pass")]) == {}


def test_replace_file_is_atomic(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    store.replace_file("a.py", size=1, mtime_ns=1, file_hash="h1", language="python", units=[_unit("f", "x")])
    bad = NewUnit("code", "function", "g", "python", 1, 2, None)  # type: ignore[arg-type]
    with pytest.raises((TypeError, AttributeError)):
        store.replace_file("a.py", size=2, mtime_ns=2, file_hash="h2", language="python", units=[bad])
    assert store.files()["a.py"].hash == "h1"
    assert [u.name for u in store.units_of_file("a.py")] == ["f"]


def _vectors(n: int, dim: int, seed: int = 0) -> np.ndarray:
    return normalize_rows(np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32))


def _fetcher(table: dict[int, np.ndarray]):  # type: ignore[no-untyped-def]
    def fetch(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return ids, np.stack([table[int(i)] for i in ids])

    return fetch


def test_units_of_a_few_vectors_are_looked_up_not_scanned(tmp_path: Path) -> None:
    """What a find-similar answer costs must not grow with the space: count SQLite's VM steps."""
    store = Store(tmp_path / "index.sqlite3")
    for count in (200, 4000):
        units = [_unit(f"f{i}", f"def f{i}(): return {i}", start=3 * i + 1) for i in range(count)]
        store.replace_file(
            f"m{count}.py", size=1, mtime_ns=1, file_hash=str(count), language="python", units=units
        )
        hashes = store.pending_hashes("m", "code")
        store.add_vectors("m", "code", hashes, np.ones((len(hashes), 4), dtype=np.float32))
    ids = store.live_vector_ids("m", "code")[:3].tolist()
    steps = 0

    def step() -> int:
        nonlocal steps
        steps += 1
        return 0

    store._db.set_progress_handler(step, 100)
    found = store.units_by_vector_ids("m", "code", ids)
    store._db.set_progress_handler(None, 100)
    assert sorted(found) == sorted(ids)
    assert steps < 20, f"{steps} x 100 VM steps for 3 ids among 4,200 vectors: a scan"


def test_ann_sync_delete_restore_and_recall(tmp_path: Path) -> None:
    dim, n = 32, 3000
    vectors = _vectors(n, dim)
    table = {i + 1: vectors[i] for i in range(n)}
    ann = AnnIndex(dim, capacity=16)  # forces resizes
    added, removed = ann.sync(np.arange(1, n + 1), _fetcher(table))
    assert (added, removed) == (n, 0)

    queries = _vectors(50, dim, seed=1)
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10] + 1
    found = ann.query(queries, 10)
    recall = np.mean(
        [len({i for i, _ in row} & set(ex.tolist())) / 10 for row, ex in zip(found, exact, strict=True)]
    )
    assert recall >= 0.95
    best_id, best_score = found[0][0]
    assert best_score == pytest.approx(float(queries[0] @ table[best_id]), abs=1e-5)

    keep = np.arange(1, n + 1)[np.arange(n) % 2 == 0]  # drop the even ids
    added, removed = ann.sync(keep, _fetcher(table))
    assert (added, removed) == (0, n // 2)
    assert all(i % 2 == 1 for row in ann.query(queries, 10) for i, _ in row)
    added, _ = ann.sync(np.arange(1, n + 1), _fetcher({}))  # restored by unmarking: nothing fetched
    assert added == n // 2


def test_ann_fetches_in_slices_and_updates_a_few_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    from lsp_server.index import ann as ann_module

    monkeypatch.setattr(ann_module, "FETCH_SLICE", 64)
    dim, n = 16, 3000
    table = {i + 1: v for i, v in enumerate(_vectors(n, dim))}
    asked: list[int] = []
    fetch = _fetcher(table)

    def counting(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        asked.append(len(ids))
        return fetch(ids)

    ann = AnnIndex(dim)
    assert ann.sync(np.arange(1, n + 1), counting) == (n, 0)
    assert max(asked) == 64 and sum(asked) == n
    assert ann._index.get_max_elements() == n  # grown once (from 1024), to what was needed
    probe = table[500][None, :]
    assert ann.query(probe, 1)[0][0][0] == 500
    assert ann.update([], [500], counting) == (0, 1)  # only the given ids change
    assert ann.query(probe, 1)[0][0][0] != 500 and len(ann) == n - 1
    assert ann.update([500], [], counting) == (1, 0) and ann.query(probe, 1)[0][0][0] == 500
    assert sum(asked) == n  # restored by unmarking, not fetched again


def test_ann_query_more_than_live(tmp_path: Path) -> None:
    ann = AnnIndex(8)
    table = {i: v for i, v in enumerate(_vectors(3, 8), start=1)}
    ann.sync(np.array([1, 2, 3]), _fetcher(table))
    ann.sync(np.array([2]), _fetcher(table))
    assert [i for i, _ in ann.query(_vectors(1, 8), 10)[0]] == [2]


def test_ann_save_load_and_damage(tmp_path: Path) -> None:
    table = {i: v for i, v in enumerate(_vectors(100, 16), start=1)}
    ann = AnnIndex(16)
    ann.sync(np.arange(1, 101), _fetcher(table))
    ann.sync(np.arange(1, 51), _fetcher(table))
    path = tmp_path / "code.hnsw"
    meta = {"store_id": "s", "model": "m", "space": "code", "dim": 16}
    ann.save(path, meta)
    loaded = AnnIndex.load(path, meta)
    assert loaded is not None and loaded.live == set(range(1, 51)) and loaded.present == set(range(1, 101))
    query = _vectors(1, 16, seed=3)
    assert loaded.query(query, 5) == ann.query(query, 5)
    assert AnnIndex.load(path, {**meta, "model": "other"}) is None
    path.write_bytes(path.read_bytes()[:-100])  # torn write
    assert AnnIndex.load(path, meta) is None
    assert AnnIndex.load(tmp_path / "missing.hnsw", meta) is None

    # A save torn between its renames: the new index file (other delete marks, same size and count)
    # beside the previous save's ids and metadata must not load as whole.
    ann.save(path, meta)
    sidecars = [path.with_name(path.name + suffix) for suffix in (".ids.npz", ".json")]
    previous = [side.read_bytes() for side in sidecars]
    ann.sync(np.arange(1, 41), _fetcher(table))
    ann.save(path, meta)
    assert AnnIndex.load(path, meta) is not None
    for side, data in zip(sidecars, previous, strict=True):
        side.write_bytes(data)
    assert AnnIndex.load(path, meta) is None
