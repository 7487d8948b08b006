"""What an index needs to know of its model before the model is loaded: id, dimension, prefixes.

A restarted language server can answer from stored vectors (find similar code on an unedited
symbol, lenses, the ANN spaces) without the model; only new text needs it. The index is keyed by
the model's id and dimension and reuses stored vectors as queries where the prefixes allow, so
knowing those three lets everything else start while torch and the weights load. They are
remembered from the last load of the same configuration; the loaded model is checked against them.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import platformdirs

from .base import SIDES, TASKS, Embedder

log = logging.getLogger(__name__)

MAX_REMEMBERED = 64


@dataclass(frozen=True)
class Identity:
    model_id: str
    dim: int
    prefixes: tuple[tuple[str, str, str], ...]
    """(task, side, prefix) for every task and side."""

    @classmethod
    def of(cls, embedder: Embedder) -> Identity:
        prefixes = tuple((task, side, embedder.prefix(task, side)) for task in TASKS for side in SIDES)
        return cls(embedder.model_id, embedder.dim, prefixes)

    def prefix(self, task: str, side: str) -> str:
        for known_task, known_side, prefix in self.prefixes:
            if (known_task, known_side) == (task, side):
                return prefix
        raise KeyError((task, side))


def identity_key(**configuration: Any) -> str:
    """A stable key for everything that decides which model a load gives."""
    return json.dumps(configuration, sort_keys=True, default=str)


class IdentityCache:
    """Identities by configuration key, in one small JSON file; unreadable or damaged means empty."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or Path(platformdirs.user_cache_dir("codekin")) / "model-identities.json"

    def get(self, key: str) -> Identity | None:
        entry = self._read().get(key)
        if not isinstance(entry, dict):
            return None
        try:
            return Identity(
                model_id=str(entry["model_id"]),
                dim=int(entry["dim"]),
                prefixes=tuple((str(t), str(s), str(p)) for t, s, p in entry["prefixes"]),
            )
        except (TypeError, KeyError, ValueError):
            return None

    def put(self, key: str, identity: Identity) -> None:
        entries = self._read()
        entries.pop(key, None)
        entries[key] = asdict(identity)
        while len(entries) > MAX_REMEMBERED:
            entries.pop(next(iter(entries)))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(entries))
            os.replace(tmp, self.path)
        except OSError as exc:
            log.info("could not remember the model's identity in %s: %s", self.path, exc)

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}
