"""Documentation of a definition: a Python docstring, or the comment block right above it.

Comment markers are stripped and tool directives, banners and licence headers dropped, so
that what is kept reads as prose.
"""

from __future__ import annotations

import inspect
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from tree_sitter import Node

from lsp_server.units.nodes import alone_on_lines, decode, end_row, named_child

_MIN_DOC_WORD_CHARS = 3
_WORD = re.compile(r"\w")
# Leading comments that are licence boilerplate say nothing about the symbol below them.
_LICENSE = re.compile(r"^\s*(copyright\b|spdx-license-identifier|\(c\)\s|©)", re.IGNORECASE)
# Tool directives written as comments (Go's //go:generate, //nolint, a shebang, Python's
# coding line and linter pragmas) are not documentation.
_DIRECTIVE = re.compile(
    r"^(//(go:|\+build|nolint|lint:|export |line )"
    r"|#!|#\s*-\*-|#\s*(type:|noqa|pragma:|fmt:|pylint:|mypy:|isort:|ruff:|rubocop:))"
)
_BANNER = re.compile(r"^[\s*/=#\-+~]*$")

_ESCAPES = {
    "\n": "",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
}
_ESCAPE_RE = re.compile(r"\\(\n|[\\'\"abfnrtv]|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{1,3})")
_STRING_PREFIX = re.compile(r"([A-Za-z]*)('''|\"\"\"|'|\")")


def meaningful(doc: str) -> bool:
    """Whether ``doc`` has enough word characters to be worth keeping (stops counting early)."""
    found = itertools.islice(_WORD.finditer(doc), _MIN_DOC_WORD_CHARS)
    return sum(1 for _ in found) >= _MIN_DOC_WORD_CHARS


# --------------------------------------------------------------------------- docstrings


def python_docstring(block: Node | None, src: bytes) -> tuple[Node, str] | None:
    """The string node that is ``block``'s docstring and its text, cleaned by ``inspect.cleandoc``.

    None when the block does not open with a plain string: bytes and f-strings are no docstrings.
    """
    string = _docstring_node(block)
    if string is None:
        return None
    value = _python_string_value(decode(src[string.start_byte : string.end_byte]))
    if value is None:
        return None
    return string, inspect.cleandoc(value)


def _docstring_node(block: Node | None) -> Node | None:
    """The string node of a docstring: the first statement of ``block`` when it is a plain string."""
    if block is None:
        return None
    stmt = named_child(block, 0)
    while stmt is not None and stmt.type == "comment":
        stmt = stmt.next_named_sibling
    if stmt is None or stmt.type != "expression_statement" or stmt.named_child_count != 1:
        return None
    string = named_child(stmt, 0)
    return string if string is not None and string.type == "string" else None


def _python_string_value(raw: str) -> str | None:
    """The value of a Python string literal as a docstring, or None for bytes/f-strings.

    Invalid escapes stay as written, as in Python; no ast/eval so no SyntaxWarnings.
    """
    match = _STRING_PREFIX.match(raw)
    if match is None:
        return None
    prefix, quote = match.group(1).lower(), match.group(2)
    if "b" in prefix or "f" in prefix or "t" in prefix:
        return None
    inner = raw[match.end() :]
    if inner.endswith(quote) and len(inner) >= len(quote):
        inner = inner[: len(inner) - len(quote)]
    if "r" not in prefix and "\\" in inner:
        inner = _ESCAPE_RE.sub(_unescape, inner)
    return inner


def _unescape(match: re.Match[str]) -> str:
    """The character one escape sequence stands for; an invalid one stays as written."""
    seq = match.group(1)
    if seq in _ESCAPES:
        return _ESCAPES[seq]
    try:
        code = int(seq[1:], 16) if seq[0] in "xuU" else int(seq, 8)
        return chr(code)
    except (ValueError, OverflowError):
        return match.group(0)


# --------------------------------------------------------------------------- comments


@dataclass(slots=True)
class Comment:
    """Where a stand-alone comment lies; its text is only decoded when it documents something."""

    start_row: int
    start: int
    end: int


def stand_alone_comments(nodes: Iterable[Node], src: bytes) -> dict[int, Comment]:
    """The comments that have their lines to themselves, keyed by their last row.

    Keyed so that ``leading_comment`` finds the block above a definition by line number.
    """
    comments: dict[int, Comment] = {}
    for node in nodes:
        if alone_on_lines(src, node.start_byte, node.end_byte):
            comments[end_row(node)] = Comment(node.start_point[0], node.start_byte, node.end_byte)
    return comments


def leading_comment(comments: dict[int, Comment], row: int, src: bytes) -> tuple[str, int, int] | None:
    """The contiguous block of stand-alone comments ending on the line above ``row``.

    Returns the cleaned text with its first and last line (1-based), or None when there is
    no block or it says nothing (licence headers, directives, banners).
    """
    last_row = cur = row - 1
    found: list[Comment] = []
    while cur in comments:
        comment = comments[cur]
        found.append(comment)
        cur = comment.start_row - 1
    if not found:
        return None
    found.reverse()
    texts = [decode(src[c.start : c.end]) for c in found]
    # Rust `//!` / `/*!` document the enclosing module, not what follows.
    texts = [t for t in texts if not t.startswith(("//!", "/*!"))]
    if not texts:
        return None
    doc = _clean_comment(texts)
    if not meaningful(doc) or _LICENSE.match(doc):
        return None
    return doc, found[0].start_row + 1, last_row + 1


def _clean_comment(texts: list[str]) -> str:
    """Strip comment markers (``//``, ``///``, ``#``, ``/* */``, leading `` * ``, ``=begin``)."""
    lines: list[str] = []
    for text in texts:
        text = text.rstrip("\n")
        if text.startswith("/*"):
            lines.extend(_block_comment_lines(text))
        elif text.startswith("=begin"):
            lines.extend(_ruby_block_lines(text))
        else:
            lines.extend(_line_comment_lines(text))
    while lines and _BANNER.match(lines[0]):
        lines.pop(0)
    while lines and _BANNER.match(lines[-1]):
        lines.pop()
    return inspect.cleandoc("\n".join(line.rstrip() for line in lines))


def _block_comment_lines(text: str) -> list[str]:
    """The lines of a ``/* ... */`` (or ``/** */``, ``/*! */``) comment, without the `` * `` gutter."""
    body = text[2:]
    body = body[:-2] if body.endswith("*/") else body
    if body[:1] in ("*", "!"):
        body = body[1:]
    lines: list[str] = []
    for line in body.split("\n"):
        stripped = line.lstrip()
        if stripped.startswith("*"):
            line = stripped[1:]
            line = line[1:] if line.startswith(" ") else line
        lines.append(line)
    return lines


def _ruby_block_lines(text: str) -> list[str]:
    """The lines between Ruby's ``=begin`` and ``=end``."""
    inner = text.split("\n")[1:]
    if inner and inner[-1].startswith("=end"):
        inner = inner[:-1]
    return inner


def _line_comment_lines(text: str) -> list[str]:
    """Lines of ``//``, ``///``, ``//!`` or ``#`` comments without their markers or directives."""
    lines: list[str] = []
    for line in text.split("\n"):
        line = line.strip()
        if _DIRECTIVE.match(line):
            continue
        if line.startswith("//"):
            line = line[3:] if line[2:3] in ("/", "!") else line[2:]
        elif line.startswith("#"):
            line = line.lstrip("#")
        lines.append(line)
    return lines
