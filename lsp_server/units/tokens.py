"""A code unit as tree-sitter tokens, with comments and layout gone: what syntactic clones compare.

Each token is the source text of a leaf of the syntax tree (a whole string literal counts
as one), with its category: an identifier, a literal, or anything else (keywords,
operators, punctuation), kept as written. Comments never become tokens, and neither does
white space, so a reformatted copy has the same stream. The *renamed* stream replaces every
identifier with ``$`` and every literal with ``#`` (jscpd's ``--ignore-identifiers
--ignore-literals``), so a copy with other names and values has the same stream too.
"""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass
from typing import Literal

from lsp_server.units.languages import get_language, get_parser, is_code_language

Category = Literal["identifier", "literal", "other"]

IDENTIFIER = "$"
LITERAL = "#"

_IDENTIFIER_TYPES = frozenset({"name", "constant", "variable_name", "simple_identifier"})
_LITERAL_WORDS = ("string", "literal", "number", "integer", "float", "char", "rune", "heredoc")
_WHOLE_WORDS = ("string", "char_literal", "rune_literal", "heredoc")


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    category: Category
    line: int
    """0-based line of the token's start within the unit's text."""
    offset: int
    """Byte offset of the token's start in the source it was read from."""

    @property
    def renamed(self) -> str:
        """The token as the renamed stream has it."""
        if self.category == "identifier":
            return IDENTIFIER
        if self.category == "literal":
            return LITERAL
        return self.text


def code_tokens(language: str, text: str) -> list[Token]:
    """The tokens of ``text``, a unit of ``language``; empty for a language without a grammar.

    A unit is parsed on its own (a method outside its class): where the grammar reports an
    error there, its leaves are still the unit's tokens.
    """
    return source_tokens(language, text.encode("utf-8", "surrogatepass"))


def source_tokens(language: str, source: bytes) -> list[Token]:
    """The tokens of a whole file (or unit) in order; lines and columns as in ``source``."""
    if not is_code_language(language):
        return []
    actions = _actions(language)
    tree = get_parser(language).parse(source)
    tokens: list[Token] = []
    cursor = tree.walk()
    while True:
        node = cursor.node
        assert node is not None
        action, category, fixed = actions[node.kind_id] if node.kind_id < len(actions) else _ERROR
        if action == _SKIP:
            pass
        elif action == _WHOLE or node.child_count == 0:
            if node.end_byte > node.start_byte:
                text = fixed if fixed is not None else node.text.decode("utf-8", "replace")  # type: ignore[union-attr]
                tokens.append(Token(text, category, node.start_point[0], node.start_byte))
        elif cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return tokens


def line_span(token_lines: list[int], start_line: int, end_line: int) -> slice:
    """Where the tokens of 1-based lines ``start_line``..``end_line`` are in a file's token list,
    given each token's 0-based line (``token_lines``, ascending)."""
    first = bisect.bisect_left(token_lines, start_line - 1)
    return slice(first, bisect.bisect_right(token_lines, end_line - 1, lo=first))


_SKIP, _LEAF, _WHOLE = 0, 1, 2
Action = tuple[int, Category, str | None]
_ERROR: Action = (1, "other", None)
"""For ERROR nodes (a kind id past the grammar's): walked, or a token of their own text when a leaf."""


@functools.cache
def _actions(language: str) -> list[Action]:
    """For each node kind of the grammar: skip it (comments), take it whole (strings), or walk it;
    its token category; and, for anonymous kinds (keywords, punctuation), the token's fixed text."""
    grammar = get_language(language)
    actions: list[Action] = []
    for kind_id in range(grammar.node_kind_count):
        kind = grammar.node_kind_for_id(kind_id) or ""
        named = grammar.node_kind_is_named(kind_id)
        if "comment" in kind:
            actions.append((_SKIP, "other", None))
        elif not named:
            actions.append((_LEAF, "other", kind))
        elif any(word in kind for word in _WHOLE_WORDS):
            actions.append((_WHOLE, "literal", None))
        else:
            actions.append((_LEAF, _category(kind), None))
    return actions


def _category(kind: str) -> Category:
    if "identifier" in kind or kind in _IDENTIFIER_TYPES:
        return "identifier"
    if "boolean" not in kind and any(word in kind for word in _LITERAL_WORDS):
        return "literal"
    return "other"
