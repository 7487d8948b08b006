"""A workspace's ANN spaces: one HNSW index per space, derived from the store's vectors.

Each is loaded from its saved file or rebuilt from stored vectors, re-synced only
when the store was written since, brought up to date by the few vectors an edit
touched, and saved on a timer: the saved file is a cache, never the truth.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lsp_server.index.ann import AnnIndex
from lsp_server.index.store import Store

log = logging.getLogger(__name__)

ANN_SAVE_INTERVAL_S = 30.0
"""How long a synced ANN space may wait before it is written again. The saved file is a cache: one
that missed the last edits is re-synced from the store when it is loaded, and vector ids are never
reused, so waiting is safe; writing the whole HNSW file after every keystroke's update is not cheap."""


class AnnSpaces:
    """The ANN index of each space of one store, kept in step with it.

    ``model_id`` and ``dim`` are asked when needed, not when this is made: an index
    opens (and answers from its saved files) while its model is still loading.
    """

    def __init__(
        self, store: Store, index_dir: Path, model_id: Callable[[], str], dim: Callable[[], int]
    ) -> None:
        self._store = store
        self._index_dir = index_dir
        self._model_id = model_id
        self._dim = dim
        self._anns: dict[str, AnnIndex] = {}
        self._generation: dict[str, int] = {}
        """The store generation each space was last synced with."""
        self._unsaved: dict[str, dict[str, Any]] = {}
        """Spaces changed since their last save, with the metadata to save them with."""
        self._saved_at: dict[str, float] = {}
        self._lock = threading.Lock()
        self._as_is: frozenset[str] = frozenset()

    def path(self, space: str) -> Path:
        """Where ``space``'s index is saved: one file per model and dimension."""
        model = hashlib.sha1(self._model_id().encode()).hexdigest()[:12]
        return self._index_dir / f"{space}-{model}-{self._dim()}.hnsw"

    def meta(self, space: str) -> dict[str, Any]:
        """What a saved ANN file must have been made for to be loaded for ``space``."""
        return {
            "store_id": self._store.store_id,
            "model": self._model_id(),
            "space": space,
            "dim": self._dim(),
        }

    def get(self, space: str) -> AnnIndex:
        """The space's ANN index, loaded or rebuilt from stored vectors and synced with the store.

        Syncing costs a scan of the space's vector ids, so it happens only when the store
        was written since the last sync.
        """
        ann = self._anns.get(space)
        if ann is not None and (
            space in self._as_is or self._generation.get(space) == self._store.generation
        ):
            return ann
        with self._lock:
            ann = self._anns.get(space)
            if ann is not None and self._generation.get(space) == self._store.generation:
                return ann
            return self._sync(space)

    def sync(self, space: str) -> AnnIndex:
        """Sync ``space`` with a scan of all its live vectors, whether or not the store changed."""
        with self._lock:
            return self._sync(space)

    def _sync(self, space: str) -> AnnIndex:
        """Load ``space`` if needed and make its live set the store's; holds ``_lock``."""
        generation = self._store.generation
        path = self.path(space)
        expect = self.meta(space)
        ann = self._anns.get(space)
        if ann is None:
            ann = AnnIndex.load(path, expect) or AnnIndex(self._dim())
            self._anns[space] = ann
        live = self._store.live_vector_ids(self._model_id(), space)
        added, removed = ann.sync(live, self._store.vectors_by_id)
        if added or removed or not path.exists():
            self._unsaved[space] = expect
        self._save(space, force=not path.exists())
        self._generation[space] = generation
        return ann

    def in_sync(self, space: str) -> bool:
        """Whether ``space``'s ANN index is loaded and matches the store as it is now."""
        return space in self._anns and self._generation.get(space) == self._store.generation

    def update(self, space: str, hashes: Iterable[str]) -> None:
        """Bring an in-sync ANN index up to date after a change that touched only ``hashes``."""
        with self._lock:
            ann = self._anns[space]
            live, dead = self._store.vector_liveness(self._model_id(), space, hashes)
            added, removed = ann.update(live, dead, self._store.vectors_by_id)
            if added or removed:
                self._unsaved[space] = self.meta(space)
            self._generation[space] = self._store.generation

    @contextmanager
    def as_is(self, spaces: Iterable[str]) -> Iterator[None]:
        """Meanwhile ``get`` takes these spaces as they are (what is indexed so far) instead of
        re-syncing them with a scan: an edit in progress brings them up to date when it ends."""
        self._as_is = frozenset(spaces)
        try:
            yield
        finally:
            self._as_is = frozenset()

    def flush(self, *, due_only: bool = False) -> None:
        """Write the spaces changed since their last save (with ``due_only``, those whose
        ANN_SAVE_INTERVAL_S has passed)."""
        with self._lock:
            for space in list(self._unsaved):
                self._save(space, force=not due_only)

    def _save(self, space: str, *, force: bool) -> None:
        """Save ``space`` if it changed and ``force`` or ANN_SAVE_INTERVAL_S passed; holds ``_lock``."""
        expect = self._unsaved.get(space)
        if expect is None:
            return
        now = time.monotonic()
        if not force and now - self._saved_at.get(space, -ANN_SAVE_INTERVAL_S) < ANN_SAVE_INTERVAL_S:
            return
        try:
            self._anns[space].save(self.path(space), expect)
        except OSError as exc:  # the file is a cache: say so, and try again at the next change
            log.warning("could not save the %s ANN index to %s: %s", space, self.path(space), exc)
            self._saved_at[space] = now
            return
        self._saved_at[space] = now
        del self._unsaved[space]
