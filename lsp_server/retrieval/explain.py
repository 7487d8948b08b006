"""Why two code units are alike: a token alignment, the renames it implies, and what is left over.

Both units become token streams (comments and layout gone, :mod:`lsp_server.units.tokens`); their
*renamed* streams (identifiers as ``$``, literals as ``#``) are aligned with difflib, so a copy
with other names still aligns token for token. At aligned positions an identifier of one unit
faces an identifier of the other. Where a name faces one other name at most of its places, and
that name faces it back, it is a rename (``margin → shared``); at the odd place where it faces
another, or where no partner has a majority (a conflict), the code changed. Literals are treated
the same way and reported apart, as changed values.

What is left: lines whose tokens found no partner (only in one unit), and lines that align but
differ beyond the renames (changed). A unified diff of the two texts, with the renames applied
to the first, shows the rest to a person.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lsp_server.units.tokens import Token, code_tokens

_SAME, _DIFFERS, _UNMATCHED = 0, 1, 2
"""Each token's fate: it faces the same token (or its rename), a different one, or none."""
_HUNK = re.compile(r"@@ -(\d+)((?:,\d+)?) \+(\d+)((?:,\d+)?) @@")


@dataclass(frozen=True, slots=True)
class Rename:
    """``before`` (in unit a) stands where ``after`` stands in unit b, ``count`` times."""

    before: str
    after: str
    count: int


@dataclass(frozen=True, slots=True)
class LineChange:
    """A line of a and the line of b it aligns with (1-based within each unit); None: no partner."""

    a_line: int | None
    b_line: int | None


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why two units are alike and where they differ; lines are 1-based within each unit."""

    similarity: float
    """How much of the renamed streams aligns: 2·matched / (len a + len b), from 0 to 1."""
    renames: list[Rename]
    """Identifiers that map one to one at aligned positions, most frequent first."""
    values: list[Rename]
    """Literals that map one to one at aligned positions (changed constants), most frequent first."""
    only_in_a: list[int]
    """1-based lines of a whose tokens all lack a partner in b."""
    only_in_b: list[int]
    changed: list[LineChange]
    """Lines that align but differ beyond the renames (or replace each other outright)."""
    unified_diff: str
    """The texts' unified diff, with the renames and values applied to a so that they do not show."""


def explain(
    language_a: str,
    text_a: str,
    language_b: str,
    text_b: str,
    *,
    name_a: str = "a",
    name_b: str = "b",
    first_line_a: int = 1,
    first_line_b: int = 1,
) -> Explanation:
    """Align unit ``text_a`` (in ``language_a``) with ``text_b`` and say how they differ.

    ``name_*`` head the diff; ``first_line_*`` (where each unit starts in its file) number its
    hunks, so that they read as file lines. Every other line number is unit-relative.
    """
    tokens_a, tokens_b = code_tokens(language_a, text_a), code_tokens(language_b, text_b)
    matcher = difflib.SequenceMatcher(
        None, [t.renamed for t in tokens_a], [t.renamed for t in tokens_b], autojunk=False
    )
    opcodes = matcher.get_opcodes()
    pairs = aligned_pairs(opcodes)
    renames = consistent_renames(tokens_a, tokens_b, pairs, "identifier")
    values = consistent_renames(tokens_a, tokens_b, pairs, "literal")
    mapping = {(r.before, r.after) for r in (*renames, *values)}
    fate_a, fate_b = token_fates(tokens_a, tokens_b, pairs, mapping)
    only_a, changed_a = line_kinds(tokens_a, fate_a)
    only_b, changed_b = line_kinds(tokens_b, fate_b)
    replaced = replaced_lines(tokens_a, tokens_b, opcodes, only_a, only_b)
    changed = changed_lines(tokens_a, tokens_b, pairs, changed_a, changed_b) | replaced
    paired_a = {c.a_line for c in replaced}
    paired_b = {c.b_line for c in replaced}
    applied = apply_renames(text_a, tokens_a, _as_map(renames, values))
    return Explanation(
        similarity=matcher.ratio() if tokens_a or tokens_b else 1.0,
        renames=renames,
        values=values,
        only_in_a=sorted(line + 1 for line in only_a if line + 1 not in paired_a),
        only_in_b=sorted(line + 1 for line in only_b if line + 1 not in paired_b),
        changed=sorted(changed, key=_line_change_order),
        unified_diff=unified_diff(applied, text_b, (name_a, first_line_a), (name_b, first_line_b)),
    )


def aligned_pairs(opcodes: Iterable[tuple[str, int, int, int, int]]) -> list[tuple[int, int]]:
    """The (index in a, index in b) of every pair of tokens the alignment matched."""
    return [(i1 + k, j1 + k) for tag, i1, i2, j1, _ in opcodes if tag == "equal" for k in range(i2 - i1)]


def consistent_renames(
    tokens_a: Sequence[Token], tokens_b: Sequence[Token], pairs: Iterable[tuple[int, int]], category: str
) -> list[Rename]:
    """The pairs of names (of ``category``) that face each other at most of their aligned places.

    A name of a is renamed to the one name of b it faces more often than all others together,
    provided that name faces it more often than all others together too: so the map is one to
    one, and the odd place where it faces another name is a change. Facing itself counts, and
    a tie is a conflict: ``x`` facing ``x`` once and ``y`` once is no rename. A strict rule
    (always the same partner) would lose a method's renames to ``self`` shifting its parameters.
    """
    faced: Counter[tuple[str, str]] = Counter(
        (tokens_a[i].text, tokens_b[j].text) for i, j in pairs if tokens_a[i].category == category
    )
    seen_a: Counter[str] = Counter()
    seen_b: Counter[str] = Counter()
    for (before, after), count in faced.items():
        seen_a[before] += count
        seen_b[after] += count
    renames = [
        Rename(before, after, count)
        for (before, after), count in faced.items()
        if before != after and 2 * count > seen_a[before] and 2 * count > seen_b[after]
    ]
    return sorted(renames, key=lambda r: (-r.count, r.before, r.after))


def token_fates(
    tokens_a: Sequence[Token],
    tokens_b: Sequence[Token],
    pairs: Iterable[tuple[int, int]],
    mapping: set[tuple[str, str]],
) -> tuple[list[int], list[int]]:
    """For each token of a and of b: the same as its partner (renames allowed), different, or alone."""
    fate_a = [_UNMATCHED] * len(tokens_a)
    fate_b = [_UNMATCHED] * len(tokens_b)
    for i, j in pairs:
        before, after = tokens_a[i].text, tokens_b[j].text
        fate = _SAME if before == after or (before, after) in mapping else _DIFFERS
        fate_a[i] = fate_b[j] = fate
    return fate_a, fate_b


def line_kinds(tokens: Sequence[Token], fates: Sequence[int]) -> tuple[set[int], set[int]]:
    """The 0-based lines whose tokens are all alone, and those with some token alone or different."""
    by_line: defaultdict[int, set[int]] = defaultdict(set)
    for token, fate in zip(tokens, fates, strict=True):
        by_line[token.line].add(fate)
    alone = {line for line, kinds in by_line.items() if kinds == {_UNMATCHED}}
    changed = {line for line, kinds in by_line.items() if kinds != {_SAME} and line not in alone}
    return alone, changed


def changed_lines(
    tokens_a: Sequence[Token],
    tokens_b: Sequence[Token],
    pairs: Sequence[tuple[int, int]],
    changed_a: set[int],
    changed_b: set[int],
) -> set[LineChange]:
    """Each changed line with the line of the other unit that most of its matched tokens face."""
    faces_b: defaultdict[int, Counter[int]] = defaultdict(Counter)
    faces_a: defaultdict[int, Counter[int]] = defaultdict(Counter)
    for i, j in pairs:
        faces_b[tokens_a[i].line][tokens_b[j].line] += 1
        faces_a[tokens_b[j].line][tokens_a[i].line] += 1
    found = {LineChange(a + 1, _most_faced(faces_b[a])) for a in changed_a}
    found |= {LineChange(_most_faced(faces_a[b]), b + 1) for b in changed_b}
    return found


def replaced_lines(
    tokens_a: Sequence[Token],
    tokens_b: Sequence[Token],
    opcodes: Iterable[tuple[str, int, int, int, int]],
    only_a: set[int],
    only_b: set[int],
) -> set[LineChange]:
    """Lines wholly unmatched on both sides of one replaced stretch, paired in order: a change."""
    found: set[LineChange] = set()
    for tag, i1, i2, j1, j2 in opcodes:
        if tag != "replace":
            continue
        lines_a = sorted({t.line for t in tokens_a[i1:i2]} & only_a)
        lines_b = sorted({t.line for t in tokens_b[j1:j2]} & only_b)
        found |= {LineChange(a + 1, b + 1) for a, b in zip(lines_a, lines_b, strict=False)}
    return found


def apply_renames(text: str, tokens: Sequence[Token], mapping: dict[tuple[str, str], str]) -> str:
    """``text`` with each renamed identifier or changed literal written as the other unit has it."""
    source = text.encode("utf-8", "surrogatepass")
    out: list[bytes] = []
    at = 0
    for token in tokens:
        after = mapping.get((token.category, token.text))
        if after is None:
            continue
        end = token.offset + len(token.text.encode("utf-8", "surrogatepass"))
        if token.offset < at or source[token.offset : end] != token.text.encode("utf-8", "surrogatepass"):
            continue
        out += [source[at : token.offset], after.encode("utf-8", "surrogatepass")]
        at = end
    out.append(source[at:])
    return b"".join(out).decode("utf-8", "surrogatepass")


def unified_diff(text_a: str, text_b: str, a: tuple[str, int], b: tuple[str, int]) -> str:
    """difflib's unified diff of two texts, each named and numbered from its first line, as one string."""
    (name_a, first_a), (name_b, first_b) = a, b
    lines = difflib.unified_diff(
        text_a.splitlines(), text_b.splitlines(), fromfile=name_a, tofile=name_b, lineterm=""
    )
    return "".join(f"{_shifted(line, first_a - 1, first_b - 1)}\n" for line in lines)


def _shifted(line: str, shift_a: int, shift_b: int) -> str:
    """A hunk header ``@@ -s,n +s,n @@`` with its start lines moved down the file; other lines as they are."""
    match = _HUNK.fullmatch(line)
    if match is None or not (shift_a or shift_b):
        return line
    start_a, rest_a, start_b, rest_b = match.groups()
    return f"@@ -{int(start_a) + shift_a}{rest_a} +{int(start_b) + shift_b}{rest_b} @@"


def _as_map(renames: Iterable[Rename], values: Iterable[Rename]) -> dict[tuple[str, str], str]:
    """The renames and values keyed by (category, text in a)."""
    mapping = {("identifier", r.before): r.after for r in renames}
    return mapping | {("literal", r.before): r.after for r in values}


def _most_faced(counter: Counter[int]) -> int | None:
    """The 1-based line faced most often (the first of equals); None where nothing is faced."""
    if not counter:
        return None
    return min(counter.items(), key=lambda item: (-item[1], item[0]))[0] + 1


def _line_change_order(change: LineChange) -> tuple[int, int]:
    return (change.a_line or 0, change.b_line or 0)
