"""What clone detection answers: pairs of units with the kind of their likeness, grouped into classes.

Kinds, strongest first:

- ``exact``: the same tokens; layout and comments may differ (Type-1);
- ``renamed``: the same tokens once identifiers and literals are abstracted (Type-2);
- ``near-miss``: most tokens align after abstraction; statements added, removed or changed (Type-3);
- ``semantic``: written differently, alike by their code embeddings (Type-4);
- ``cross-language``: alike by their embeddings, in two languages.

A pair has the strongest kind its evidence shows; a class's member has the strongest kind
of the pairs it is in.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal, get_args

from lsp_server.config import Settings
from lsp_server.retrieval.hits import Hit

CloneKind = Literal["exact", "renamed", "near-miss", "semantic", "cross-language"]
KINDS: tuple[CloneKind, ...] = get_args(CloneKind)
SYNTACTIC_KINDS: frozenset[CloneKind] = frozenset({"exact", "renamed", "near-miss"})
SEMANTIC_KINDS: frozenset[CloneKind] = frozenset({"semantic", "cross-language"})


def strength(kind: CloneKind) -> int:
    """0 for the strongest kind (exact), higher for weaker evidence."""
    return KINDS.index(kind)


@dataclass(frozen=True)
class CloneOptions:
    """What to look for; the defaults are those the benchmarks in docs/benchmarks.md measured."""

    kinds: frozenset[CloneKind] = frozenset(KINDS)
    min_lines: int = 4
    """Units shorter than this are left out (getters, one-liners)."""
    min_tokens: int = 30
    """Units with fewer tokens are left out of the syntactic kinds: too little to call a copy."""
    near_miss: float = 0.87
    """Least token alignment (2·matched / total, after abstraction) for a near-miss pair."""
    semantic: float | None = None
    """Least cosine for a semantic pair; None takes the model profile's calibrated threshold."""


def options_for(settings: Settings) -> CloneOptions:
    """The clone options a workspace's settings imply (the rest at their measured defaults)."""
    return CloneOptions(min_lines=settings.duplicate_min_lines, semantic=settings.duplicate_threshold)


@dataclass(frozen=True, slots=True)
class ClonePair:
    a: Hit
    b: Hit
    kind: CloneKind
    score: float
    """1.0 for exact and renamed pairs, the token alignment for near-miss, the cosine for semantic."""


@dataclass(frozen=True)
class CloneClass:
    """Units that are clones of each other, joined by the pairs found between them."""

    members: list[Hit]
    """Sorted by path and line; each hit's score is the best score of the pairs it is in."""
    pairs: list[ClonePair]
    score: float
    """The mean score of the pairs."""
    member_kinds: dict[int, CloneKind] = field(default_factory=dict)
    """Unit id → the strongest kind of the pairs that member is in."""

    @property
    def kinds(self) -> Counter[CloneKind]:
        """How many pairs of each kind."""
        return Counter(pair.kind for pair in self.pairs)

    def indexed_pairs(self) -> list[tuple[int, int, ClonePair]]:
        """Each pair with the positions of its two units in ``members`` (how front ends refer to them)."""
        position = {hit.unit_id: n for n, hit in enumerate(self.members)}
        return [(position[pair.a.unit_id], position[pair.b.unit_id], pair) for pair in self.pairs]

    @property
    def kind(self) -> CloneKind:
        """The strongest kind in the class."""
        return min((pair.kind for pair in self.pairs), key=strength)
