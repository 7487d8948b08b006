"""Search results, as every front end (CLI, language server) reports them."""

from __future__ import annotations

from dataclasses import dataclass

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
            unit.path, unit.name, unit.kind, unit.language, unit.start_line, unit.end_line,
            round(float(score), 6), unit.id, unit.hash,
        )  # fmt: skip

    def as_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "name": self.name,
            "kind": self.kind,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "score": self.score,
        }
