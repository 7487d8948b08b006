"""Where a definition's code begins, and where its signature ends and its body begins.

A definition's node is often not all of it: ``export``, ``const f =``, decorators and
attributes belong to it too, and the signature ("head") is what precedes the body.
"""

from __future__ import annotations

from tree_sitter import Node

from lsp_server.units.nodes import end_row


def with_wrappers(node: Node, wrappers: frozenset[str]) -> Node:
    """The definition plus the wrappers that belong to it (``export``, ``const f =``, decorators)."""
    cur = node
    parent = cur.parent
    while parent is not None and parent.type in wrappers:
        if parent.type != "export_statement" and parent.type != "decorated_definition":
            same = sum(1 for child in parent.named_children if child.type == cur.type)
            if same != 1:
                break  # `const a = () => 1, b = () => 2;` keeps each declarator separate
        cur = parent
        parent = cur.parent
    return cur


def start_with_attributes(
    node: Node, attributes: frozenset[str], comments: tuple[str, ...]
) -> tuple[int, int]:
    """Start byte and row including attribute siblings directly above (``#[derive]``, ``@Input()``)."""
    start, start_row = node.start_byte, node.start_point[0]
    top_row = start_row
    sib = node.prev_named_sibling
    while sib is not None and (sib.type in attributes or sib.type in comments):
        if end_row(sib) < top_row - 1:
            break
        if sib.type in attributes:
            start, start_row = sib.start_byte, sib.start_point[0]
        top_row = sib.start_point[0]
        sib = sib.prev_named_sibling
    return start, start_row


def signature_end(node: Node, body_path: tuple[str, ...]) -> int | None:
    """Byte offset where the signature ends: after the body's ``{``, or before a brace-less body."""
    body = _follow(node, body_path)
    if body is None:
        last = node.child(node.child_count - 1) if node.child_count else None
        if last is not None and last.type == "end":
            body = last  # Ruby `def m; end`: the signature is what precedes `end`
        else:
            return None
    token = _opening_brace(body)
    if token is None:
        token = _token_before(body)
        if token is None:
            return None
    # A comment on the signature's line (`def f():  # why`) belongs to the signature.
    end, row = token.end_byte, token.end_point[0]
    nxt = token.next_sibling
    while nxt is not None and nxt.is_extra and nxt.start_point[0] == row:
        end = nxt.end_byte
        nxt = nxt.next_sibling
    return end


def _follow(node: Node, path: tuple[str, ...]) -> Node | None:
    """Follow ``path`` (field names, or else child types) as far as it goes."""
    cur = node
    for step in path:
        nxt = cur.child_by_field_name(step)
        if nxt is None:
            for child in cur.named_children:
                if child.type == step:
                    nxt = child
                    break
        if nxt is None:
            return None if cur is node else cur
        cur = nxt
    return cur


def _opening_brace(body: Node) -> Node | None:
    """The body's ``{`` when it comes before any of the body's own content."""
    for i in range(body.child_count):  # indexed: a large body's children are never all built
        child = body.child(i)
        if child is None or (child.is_named and not child.is_extra):
            break
        if child.type == "{":
            return child
    return None


def _token_before(body: Node) -> Node | None:
    """The last token before a brace-less body (Python block, Ruby body, arrow expression)."""
    token = body.prev_sibling
    while token is not None and token.is_extra:
        token = token.prev_sibling
    return token
