"""Read a definition's name from its tree-sitter node, per language.

Each reader returns the name's parts (C++ ``Foo::bar`` gives two, so that the enclosing
qualified name can be built from them), or None when the node defines nothing nameable.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from tree_sitter import Node

from lsp_server.units.nodes import named_child, node_text

NameFn = Callable[[Node], list[str] | None]
"""Reads a definition's name from its node: the name's parts (a C++ ``Foo::bar`` gives two)."""


def name_field(*fields: str) -> NameFn:
    """A NameFn reading the first present field among ``fields``."""

    def read(node: Node) -> list[str] | None:
        for field in fields:
            child = node.child_by_field_name(field)
            if child is not None:
                name = node_text(child).strip()
                return [name] if name else None
        return None

    return read


_SPLIT_QUALIFIED = re.compile(r"::|\\|\.")


def qualified_field(field: str = "name") -> NameFn:
    """A NameFn for dotted/``::``/backslash-qualified names (namespaces, Ruby ``A::B``)."""

    def read(node: Node) -> list[str] | None:
        child = node.child_by_field_name(field)
        if child is None:
            return None
        text = re.sub(r"\s+", "", node_text(child)).strip("\"'`")
        parts = [p for p in _SPLIT_QUALIFIED.split(text) if p]
        return parts or None

    return read


def namespace_name(node: Node) -> list[str] | None:
    """Namespace names; an anonymous namespace contributes nothing but is not an error."""
    return qualified_field()(node) or []


def _type_name(node: Node | None) -> str | None:
    """The bare name of a type: ``Foo`` for ``&mut Foo<T>``, ``*Foo``, ``pkg::Foo``, ``Foo[T]``."""
    for _ in range(8):
        if node is None:
            return None
        if node.type in ("generic_type", "reference_type", "pointer_type", "parenthesized_type"):
            inner = node.child_by_field_name("type")
            node = inner if inner is not None else named_child(node, -1)
        elif node.type in ("scoped_type_identifier", "qualified_type"):
            node = node.child_by_field_name("name")
        else:
            text = node_text(node).strip()
            return text or None
    return None


def rust_impl_name(node: Node) -> list[str] | None:
    """``impl Trait for Foo<T>`` is named by its type, so its methods qualify as ``Foo.m``."""
    name = _type_name(node.child_by_field_name("type"))
    return [name] if name else None


def go_method_name(node: Node) -> list[str] | None:
    """A Go method is qualified by its receiver type (``func (s *Server) Run`` gives Server.Run)."""
    name = node_text(node.child_by_field_name("name")).strip()
    if not name:
        return None
    receiver = node.child_by_field_name("receiver")
    param = named_child(receiver, 0) if receiver is not None else None
    while param is not None and param.type != "parameter_declaration":
        param = param.next_named_sibling
    owner = _type_name(param.child_by_field_name("type")) if param is not None else None
    return [owner, name] if owner else [name]


def _cpp_qualified(node: Node) -> list[str]:
    """``a::B<T>::c`` as ["a", "B", "c"]."""
    parts: list[str] = []
    cur: Node | None = node
    while cur is not None and cur.type == "qualified_identifier":
        scope = cur.child_by_field_name("scope")
        if scope is not None:
            if scope.type == "template_type":
                scope = scope.child_by_field_name("name")
            parts.append(node_text(scope).strip())
        cur = cur.child_by_field_name("name")
    if cur is not None:
        if cur.type in ("template_function", "template_method"):
            cur = cur.child_by_field_name("name")
        parts.append(re.sub(r"\s+", " ", node_text(cur)).strip())
    return [p for p in parts if p]


_C_NAME_TYPES = frozenset({"identifier", "field_identifier", "destructor_name", "operator_name"})


def c_function_name(node: Node) -> list[str] | None:
    """Follows the declarator chain (pointers, references, parentheses) to the function's name."""
    decl = node.child_by_field_name("declarator")
    for _ in range(12):
        if decl is None:
            return None
        if decl.type in _C_NAME_TYPES:
            name = re.sub(r"\s+", " ", node_text(decl)).strip()
            return [name] if name else None
        if decl.type == "qualified_identifier":
            return _cpp_qualified(decl) or None
        if decl.type in ("template_function", "template_method"):
            name = node_text(decl.child_by_field_name("name")).strip()
            return [name] if name else None
        nxt = decl.child_by_field_name("declarator")
        decl = nxt if nxt is not None else named_child(decl, 0)
    return None


def c_type_name(node: Node) -> list[str] | None:
    """struct/class/enum name; ``typedef struct {...} Foo;`` is named by its typedef."""
    name = node.child_by_field_name("name")
    if name is not None:
        if name.type == "qualified_identifier":
            return _cpp_qualified(name) or None
        text = node_text(name).strip()
        return [text] if text else None
    parent = node.parent
    if parent is not None and parent.type == "type_definition":
        decl = parent.child_by_field_name("declarator")
        if decl is not None and decl.type == "type_identifier":
            return [node_text(decl)]
    return None


def js_declarator_name(node: Node) -> list[str] | None:
    """``const f = () => ...`` is named by its identifier."""
    name = node.child_by_field_name("name")
    if name is None or name.type != "identifier":
        return None  # destructuring patterns define no single symbol
    return [node_text(name)]


def js_assignment_name(node: Node) -> list[str] | None:
    """``exports.foo = ...`` gives foo, ``Foo.prototype.bar = ...`` gives Foo.bar."""
    left = node.child_by_field_name("left")
    if left is None or left.type != "member_expression":
        return None
    parts = [p for p in re.sub(r"\s+", "", node_text(left)).split(".") if p]
    if parts[:2] == ["module", "exports"]:
        parts = parts[2:]
    elif parts[:1] == ["exports"]:
        parts = parts[1:]
    parts = [p for p in parts if p != "prototype"]
    if not parts or not all(re.fullmatch(r"[\w$#]+", p) for p in parts):
        return None
    return parts


def ruby_singleton_name(node: Node) -> list[str] | None:
    """``def self.m`` is named ``m``; the object it is defined on is left out."""
    name = node_text(node.child_by_field_name("name")).strip()
    return [name] if name else None
