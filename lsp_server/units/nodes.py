"""Small helpers over tree-sitter nodes and the source bytes they point into.

Every extraction module reads node text, rows and line context the same way; these
helpers keep that consistent (UTF-8 with replacement, rows that ignore a swallowed newline).
"""

from __future__ import annotations

from tree_sitter import Node


def decode(raw: bytes) -> str:
    """Source bytes as text; invalid UTF-8 is replaced rather than failing the file."""
    return raw.decode("utf-8", "replace")


def node_text(node: Node | None) -> str:
    """A node's text, or "" for a missing node so that name readers need no None checks."""
    if node is None:
        return ""
    raw = node.text
    return raw.decode("utf-8", "replace") if raw else ""


def named_child(node: Node, index: int) -> Node | None:
    """``node.named_child(index)`` that returns None out of range (tree-sitter raises IndexError)."""
    count = node.named_child_count
    if index < 0:
        index += count
    return node.named_child(index) if 0 <= index < count else None


def end_row(node: Node) -> int:
    """Last row a node covers; nodes that swallow their trailing newline end on the row before."""
    row, col = node.end_point
    if col == 0 and row > node.start_point[0]:
        return row - 1
    return row


def starts_line(src: bytes, offset: int) -> bool:
    """True when only whitespace precedes ``offset`` on its line."""
    return not src[src.rfind(b"\n", 0, offset) + 1 : offset].strip()


def alone_on_lines(src: bytes, start: int, end: int) -> bool:
    """True when nothing but whitespace shares the lines of ``src[start:end]``."""
    if not starts_line(src, start):
        return False
    if end > start and src[end - 1 : end] == b"\n":
        return True
    line_end = src.find(b"\n", end)
    if line_end < 0:
        line_end = len(src)
    return not src[end:line_end].strip()
