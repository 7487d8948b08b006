"""An edge of the clone graph between two stored units, and the rule that keeps nested units apart."""

from __future__ import annotations

from dataclasses import dataclass

from lsp_server.index.store import StoredUnit
from lsp_server.retrieval.clone_model import CloneKind


@dataclass(frozen=True, slots=True)
class Edge:
    a: StoredUnit
    b: StoredUnit
    kind: CloneKind
    score: float


def line_count(unit: StoredUnit) -> int:
    return unit.end_line - unit.start_line + 1


def nested(a: StoredUnit, b: StoredUnit) -> bool:
    """Whether one unit lies inside the other (same file, lines within): a class and its own method
    are alike by construction, never clones."""
    if a.path != b.path:
        return False
    a_in_b = b.start_line <= a.start_line and a.end_line <= b.end_line
    b_in_a = a.start_line <= b.start_line and b.end_line <= a.end_line
    return a_in_b or b_in_a
