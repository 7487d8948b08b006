"""What an index reports of itself (an update's summary, its status) and where it lives by default.

Reused vectors are counted for the units an update stored and, on a resumed run, for those an
unfinished run (killed, cancelled) embedded before it stopped. To tell the latter from vectors that a
finished run already reported, the store keeps, per model and space, the highest vector id accounted
for (``meta``; ids only grow): every vector above it was stored by a run that never finished. An edit
(``update_paths``) does not report them, but passes their number on to the next full run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from lsp_server.config import index_name

if TYPE_CHECKING:
    from lsp_server.index.store import Store


@dataclass
class IndexSummary:
    files: int
    units: int
    embedded: int
    reused: int
    seconds: float
    changed_files: int = 0
    """Files whose units were replaced or removed by this update."""


@dataclass(frozen=True, slots=True)
class IndexStatus:
    """What a status report shows of one index."""

    files: int
    units: int
    pending: int | None
    """Contents of the asked spaces still waiting for a vector; None when not asked."""


def default_index_dir(root: Path) -> Path:
    """The user cache folder for a workspace: readable name plus a hash of its absolute path."""
    return Path(platformdirs.user_cache_dir("codekin")) / "workspaces" / index_name(root)


def _keys(model: str, space: str) -> tuple[str, str]:
    return f"vectors_accounted:{space}:{model}", f"vectors_unreported:{space}:{model}"


def unreported_vectors(store: Store, model: str, space: str) -> tuple[int, set[str]]:
    """What no finished full run has reported yet of the vectors of ``model`` in ``space``: how many
    earlier runs passed on, and the contents (still held by a unit) of those stored since the last
    run finished. The latter is a range of ids, so this costs no scan of the vectors."""
    accounted, unreported = (store.meta(key) for key in _keys(model, space))
    rows = store.read(
        "SELECT DISTINCT v.hash FROM vectors v JOIN units u ON u.space = v.space AND u.hash = v.hash"
        " WHERE v.id > ? AND +v.model = ? AND +v.space = ?",  # the id range, not the model's index
        (int(accounted or 0), model, space),
    )
    return int(unreported or 0), {str(row[0]) for row in rows}


def mark_accounted(store: Store, model: str, space: str, unreported: int) -> None:
    """A run finished: every vector stored so far is reported, but for ``unreported`` of them."""
    top = store.read("SELECT max(id) FROM vectors")[0][0] or 0
    values = dict(zip(_keys(model, space), (str(top), str(unreported)), strict=True))
    if getattr(store, "read_only", False) or all(store.meta(k) == v for k, v in values.items()):
        return
    with store.transaction(units=False) as db:
        db.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", list(values.items()))
