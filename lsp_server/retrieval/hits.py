"""Search results, as every front end (CLI, language server) reports them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lsp_server.index.indexer import WorkspaceIndex
from lsp_server.index.store import StoredUnit


@dataclass(frozen=True, slots=True)
class Hit:
    path: str
    name: str
    kind: str
    language: str
    start_line: int
    end_line: int
    score: float
    unit_id: int
    content_hash: str

    @classmethod
    def of(cls, unit: StoredUnit, score: float) -> Hit:
        return cls(
            path=unit.path,
            name=unit.name,
            kind=unit.kind,
            language=unit.language,
            start_line=unit.start_line,
            end_line=unit.end_line,
            score=round(float(score), 6),
            unit_id=unit.id,
            content_hash=unit.hash,
        )


def hit_texts(index: WorkspaceIndex, hits: Sequence[Hit]) -> list[str]:
    """The text of each hit's unit, in order ("" where the index no longer has it): the docs a hover
    shows, the snippet a completion inserts."""
    texts = index.store.texts([hit.content_hash for hit in hits])
    return [texts.get(hit.content_hash, "") for hit in hits]
