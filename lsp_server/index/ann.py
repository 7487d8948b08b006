"""One HNSW index over the live vectors of a space, derived from the store and saved beside it.

Labels are the store's vector ids. A vector that no unit refers to any more is
marked deleted, not removed, so that switching a branch back only un-marks it.
A saved index carries the store id and the vector ids it holds; whatever does not
match on load is rebuilt from stored vectors, never re-embedded.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import hnswlib
import numpy as np

from lsp_server.embedding.base import Vectors, truncate_dim
from lsp_server.index.rwlock import RWLock

log = logging.getLogger(__name__)

FetchVectors = Callable[[np.ndarray], tuple[np.ndarray, Vectors]]

M = 16
EF_CONSTRUCTION = 200
EF_SEARCH = 128
FETCH_SLICE = 8192
"""Vectors read from the store and added per step while building or syncing."""
GROWTH = 1.25
"""Capacity growth when the index is full: doubling a 100k-vector index would allocate ~170 MB at once."""


class AnnIndex:
    """hnswlib with cosine (inner product on normalised vectors), live/present bookkeeping and a lock."""

    def __init__(
        self, dim: int, capacity: int = 1024, ef_search: int = EF_SEARCH, saved: Path | None = None
    ) -> None:
        self.dim = dim
        self.ef_search = ef_search
        self.lock = RWLock()
        self._index = hnswlib.Index(space="ip", dim=dim)
        if saved is None:
            self._index.init_index(max_elements=max(capacity, 16), ef_construction=EF_CONSTRUCTION, M=M)
        else:
            self._index.load_index(str(saved), max_elements=max(capacity, 16))
        self._index.set_num_threads(max(1, (os.cpu_count() or 1)))
        self.live: set[int] = set()
        self.present: set[int] = set()

    def __len__(self) -> int:
        return len(self.live)

    def sync(self, live_ids: np.ndarray, fetch: FetchVectors) -> tuple[int, int]:
        """Make the live set equal ``live_ids``; ``fetch`` loads vectors for ids never added.

        Returns (added or restored, removed)."""
        wanted = set(live_ids.tolist())
        return self._apply(wanted - self.live, self.live - wanted, fetch)

    def update(
        self, live_ids: Iterable[int], dead_ids: Iterable[int], fetch: FetchVectors
    ) -> tuple[int, int]:
        """Make ``live_ids`` live and ``dead_ids`` not, leaving every other id as it is: an edit's
        few changed vectors, without a scan of the whole space. Returns (added or restored, removed)."""
        return self._apply(set(live_ids) - self.live, set(dead_ids) & self.live, fetch)

    def _apply(self, coming: set[int], gone: set[int], fetch: FetchVectors) -> tuple[int, int]:
        back = coming & self.present
        new = np.fromiter(sorted(coming - self.present), dtype=np.int64)
        with self.lock.write():
            for label in gone:
                with contextlib.suppress(RuntimeError):  # already marked: the mark is what we want
                    self._index.mark_deleted(label)
            for label in back:
                with contextlib.suppress(RuntimeError):
                    self._index.unmark_deleted(label)
            self.live = (self.live - gone) | back
            needed = self._index.get_current_count() + len(new)
            if needed > self._index.get_max_elements():
                self._index.resize_index(max(needed, int(GROWTH * self._index.get_max_elements())))
        added = 0
        # In slices, so that a build holds one slice of vectors at a time (not every vector of the
        # space, as blobs and as a matrix), and queries already holding this index search between them.
        for start in range(0, len(new), FETCH_SLICE):
            ids, vectors = fetch(new[start : start + FETCH_SLICE])
            if not len(ids):
                continue
            with self.lock.write():
                self._index.add_items(_fit(vectors, self.dim), ids)
                self.live |= set(ids.tolist())
                self.present |= set(ids.tolist())
            added += len(ids)
        return added + len(back), len(gone)

    def query(self, vectors: Vectors, k: int) -> list[list[tuple[int, float]]]:
        """The ``k`` nearest live vectors of each row: [(vector id, cosine), ...], best first."""
        with self.lock.read():
            k = min(k, len(self.live))
            if k <= 0 or len(vectors) == 0:
                return [[] for _ in range(len(vectors))]
            query = _fit(vectors, self.dim)
            for ef in (max(self.ef_search, 2 * k), len(self.present) + k):
                self._index.set_ef(ef)
                try:
                    labels, distances = self._index.knn_query(query, k=k)
                    break
                except RuntimeError:  # too few reachable live items at this ef: widen to exhaustive
                    continue
            else:
                return [[] for _ in range(len(vectors))]
        return [
            [(int(label), float(1.0 - dist)) for label, dist in zip(row_labels, row_dists, strict=True)]
            for row_labels, row_dists in zip(labels, distances, strict=True)
        ]

    # -- persistence -------------------------------------------------------------------------

    def save(self, path: Path, meta: dict[str, Any]) -> None:
        """Write ``path`` (hnswlib), ``path.ids.npz`` and ``path.json`` so that a torn save is detected."""
        token = secrets.token_hex(8)
        tmp, ids_tmp, meta_tmp = (
            path.with_name(path.name + end) for end in (".tmp", ".ids.tmp.npz", ".json.tmp")
        )
        try:
            with self.lock.read():
                self._index.save_index(str(tmp))
                expected = self._index.index_file_size()
                live = np.fromiter(self.live, dtype=np.int64)
                present = np.fromiter(self.present, dtype=np.int64)
            stat = tmp.stat()
            if stat.st_size != expected:  # hnswlib does not check its writes: a full disk cuts it short
                raise OSError(errno.ENOSPC, f"{tmp.name}: {stat.st_size} of {expected} bytes written")
            np.savez(ids_tmp, live=live, present=present, token=np.array([token]))
            # The file's size and modification time tie it to these ids: a save torn between the renames
            # below leaves a new index file beside the previous ids, and the mismatch is seen on load.
            meta = {
                **meta,
                "dim": self.dim,
                "token": token,
                "size": stat.st_size,
                "mtime_ns": stat.st_mtime_ns,
            }
            meta_tmp.write_text(json.dumps(meta))
            for written in (tmp, ids_tmp, meta_tmp):
                written.chmod(0o600)  # derived from the store, which holds every unit's text
        except BaseException:
            for written in (tmp, ids_tmp, meta_tmp):  # the previous save stays whole and in place
                written.unlink(missing_ok=True)
            raise
        os.replace(tmp, path)
        os.replace(ids_tmp, path.with_name(path.name + ".ids.npz"))
        os.replace(meta_tmp, path.with_name(path.name + ".json"))

    @classmethod
    def load(cls, path: Path, expect: dict[str, Any], ef_search: int = EF_SEARCH) -> AnnIndex | None:
        """The saved index if it is whole and was made for ``expect`` (store id, model, dim); else None."""
        try:
            meta = json.loads(path.with_name(path.name + ".json").read_text())
            if any(meta.get(key) != value for key, value in expect.items()):
                log.info("%s: made for another store, model or dimension; rebuilding", path.name)
                return None
            stat = path.stat()
            if (stat.st_size, stat.st_mtime_ns) != (meta["size"], meta["mtime_ns"]):
                raise ValueError("size or modification time differs from its metadata")
            with np.load(path.with_name(path.name + ".ids.npz")) as ids:
                if str(ids["token"][0]) != meta["token"]:
                    raise ValueError("ids file belongs to another save")
                live, present = ids["live"], ids["present"]
            ann = cls(int(meta["dim"]), capacity=len(present), ef_search=ef_search, saved=path)
            if ann._index.get_current_count() != len(present):
                raise ValueError("element count differs from its ids")
        except FileNotFoundError:
            return None
        except Exception as exc:  # a derived file that cannot be read is rebuilt, whatever the cause
            log.warning("%s: damaged (%s); rebuilding from stored vectors", path.name, describe(exc))
            return None
        ann.present = set(present.tolist())
        ann.live = set(live.tolist())
        return ann


def describe(exc: BaseException) -> str:
    """One line for a log: numpy's EOFError says only "No data left in file"."""
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _fit(vectors: Vectors, dim: int) -> Vectors:
    """Matryoshka-truncate stored full-dimension vectors to the index dimension and renormalise."""
    if vectors.shape[1] == dim:
        return np.ascontiguousarray(vectors, dtype=np.float32)
    return truncate_dim(vectors, dim)
