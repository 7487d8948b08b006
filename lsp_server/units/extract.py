"""Extract code symbols and documentation units from one source file.

Per language, a table of rules says which tree-sitter nodes define symbols (and of what
kind), how to read their names and where their bodies are. All rules of a language are
compiled into one tree-sitter Query, so finding definitions is a single pass in C; the
qualified names come from sorting the definitions by position and keeping a stack of the
enclosing ones, which avoids walking the tree from Python. Leading comments are looked up
by line in a map of the file's stand-alone comments.

Adding a language means adding an entry to ``_SPECS`` (and its grammar to ``languages``).
"""

from __future__ import annotations

import functools
import inspect
import itertools
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass

from tree_sitter import Node, Query, QueryCursor

from lsp_server.units.docs import doc_sections
from lsp_server.units.languages import DOC_LANGUAGES, get_language, get_parser, language_for_path
from lsp_server.units.model import DocUnit, FileUnits, Symbol

_log = logging.getLogger(__name__)

NameFn = Callable[[Node], list[str] | None]
"""Reads a definition's name from its node: the name's parts (a C++ ``Foo::bar`` gives two)."""

CLASS_LIKE: frozenset[str] = frozenset({"class", "interface", "struct", "enum", "trait", "impl", "module"})
"""Kinds whose directly contained functions are methods."""

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


# --------------------------------------------------------------------------- names


def _text(node: Node | None) -> str:
    if node is None:
        return ""
    raw = node.text
    return raw.decode("utf-8", "replace") if raw else ""


def _named_child(node: Node, index: int) -> Node | None:
    """``node.named_child(index)`` that returns None out of range (tree-sitter raises IndexError)."""
    count = node.named_child_count
    if index < 0:
        index += count
    return node.named_child(index) if 0 <= index < count else None


def _name_field(*fields: str) -> NameFn:
    """A NameFn reading the first present field among ``fields``."""

    def read(node: Node) -> list[str] | None:
        for field in fields:
            child = node.child_by_field_name(field)
            if child is not None:
                name = _text(child).strip()
                return [name] if name else None
        return None

    return read


_by_name = _name_field("name")
_SPLIT_QUALIFIED = re.compile(r"::|\\|\.")


def _qualified_field(field: str = "name") -> NameFn:
    """A NameFn for dotted/``::``/backslash-qualified names (namespaces, Ruby ``A::B``)."""

    def read(node: Node) -> list[str] | None:
        child = node.child_by_field_name(field)
        if child is None:
            return None
        text = re.sub(r"\s+", "", _text(child)).strip("\"'`")
        parts = [p for p in _SPLIT_QUALIFIED.split(text) if p]
        return parts or None

    return read


def _optional_qualified(node: Node) -> list[str] | None:
    """Namespace names; an anonymous namespace contributes nothing but is not an error."""
    return _qualified_field()(node) or []


def _type_name(node: Node | None) -> str | None:
    """The bare name of a type: ``Foo`` for ``&mut Foo<T>``, ``*Foo``, ``pkg::Foo``, ``Foo[T]``."""
    for _ in range(8):
        if node is None:
            return None
        if node.type in ("generic_type", "reference_type", "pointer_type", "parenthesized_type"):
            inner = node.child_by_field_name("type")
            node = inner if inner is not None else _named_child(node, -1)
        elif node.type in ("scoped_type_identifier", "qualified_type"):
            node = node.child_by_field_name("name")
        else:
            text = _text(node).strip()
            return text or None
    return None


def _rust_impl_name(node: Node) -> list[str] | None:
    name = _type_name(node.child_by_field_name("type"))
    return [name] if name else None


def _go_method_name(node: Node) -> list[str] | None:
    name = _text(node.child_by_field_name("name")).strip()
    if not name:
        return None
    receiver = node.child_by_field_name("receiver")
    param = _named_child(receiver, 0) if receiver is not None else None
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
            parts.append(_text(scope).strip())
        cur = cur.child_by_field_name("name")
    if cur is not None:
        if cur.type in ("template_function", "template_method"):
            cur = cur.child_by_field_name("name")
        parts.append(re.sub(r"\s+", " ", _text(cur)).strip())
    return [p for p in parts if p]


_C_NAME_TYPES = frozenset({"identifier", "field_identifier", "destructor_name", "operator_name"})


def _c_function_name(node: Node) -> list[str] | None:
    """Follows the declarator chain (pointers, references, parentheses) to the function's name."""
    decl = node.child_by_field_name("declarator")
    for _ in range(12):
        if decl is None:
            return None
        if decl.type in _C_NAME_TYPES:
            name = re.sub(r"\s+", " ", _text(decl)).strip()
            return [name] if name else None
        if decl.type == "qualified_identifier":
            return _cpp_qualified(decl) or None
        if decl.type in ("template_function", "template_method"):
            name = _text(decl.child_by_field_name("name")).strip()
            return [name] if name else None
        nxt = decl.child_by_field_name("declarator")
        decl = nxt if nxt is not None else _named_child(decl, 0)
    return None


def _c_type_name(node: Node) -> list[str] | None:
    """struct/class/enum name; ``typedef struct {...} Foo;`` is named by its typedef."""
    name = node.child_by_field_name("name")
    if name is not None:
        if name.type == "qualified_identifier":
            return _cpp_qualified(name) or None
        text = _text(name).strip()
        return [text] if text else None
    parent = node.parent
    if parent is not None and parent.type == "type_definition":
        decl = parent.child_by_field_name("declarator")
        if decl is not None and decl.type == "type_identifier":
            return [_text(decl)]
    return None


def _js_declarator_name(node: Node) -> list[str] | None:
    name = node.child_by_field_name("name")
    if name is None or name.type != "identifier":
        return None  # destructuring patterns define no single symbol
    return [_text(name)]


def _js_assignment_name(node: Node) -> list[str] | None:
    """``exports.foo = ...`` gives foo, ``Foo.prototype.bar = ...`` gives Foo.bar."""
    left = node.child_by_field_name("left")
    if left is None or left.type != "member_expression":
        return None
    parts = [p for p in re.sub(r"\s+", "", _text(left)).split(".") if p]
    if parts[:2] == ["module", "exports"]:
        parts = parts[2:]
    elif parts[:1] == ["exports"]:
        parts = parts[1:]
    parts = [p for p in parts if p != "prototype"]
    if not parts or not all(re.fullmatch(r"[\w$#]+", p) for p in parts):
        return None
    return parts


def _ruby_singleton_name(node: Node) -> list[str] | None:
    name = _text(node.child_by_field_name("name")).strip()
    return [name] if name else None


# --------------------------------------------------------------------------- tables


@dataclass(frozen=True, slots=True)
class _Rule:
    """One kind of definition node."""

    pattern: str
    """Query pattern matching the definition node, e.g. ``(function_definition)``."""
    kind: str
    """Symbol kind; "function" becomes "method" directly inside a class-like symbol."""
    name: NameFn = _by_name
    body: tuple[str, ...] = ("body",)
    """Path to the body node: each step a field name, or else a child node type."""


@dataclass(frozen=True, slots=True)
class _Scope:
    """A namespace-like node: it qualifies the names inside it but is not a symbol itself."""

    pattern: str
    name: NameFn = _optional_qualified
    file_scoped: bool = False
    """``namespace X;`` without braces: it covers everything up to the next one / end of file."""


@dataclass(frozen=True, slots=True)
class _LangSpec:
    rules: tuple[_Rule, ...]
    scopes: tuple[_Scope, ...] = ()
    comments: tuple[str, ...] = ("comment",)
    attributes: frozenset[str] = frozenset()
    """Node types of attributes/decorators that precede a definition as siblings (Rust ``#[..]``)."""
    wrappers: frozenset[str] = frozenset()
    """Parent node types that belong to the definition (``export``, ``const x =``, decorators)."""
    docstrings: bool = False


_JS_FUNCTION_VALUES = "[(arrow_function) (function_expression) (generator_function)]"


def _js_rules(*, typescript: bool) -> tuple[_Rule, ...]:
    field_def = "public_field_definition" if typescript else "field_definition"
    field_name = "name" if typescript else "property"
    rules = [
        _Rule("(function_declaration)", "function"),
        _Rule("(generator_function_declaration)", "function"),
        _Rule("(class_declaration)", "class"),
        _Rule("(class_body (method_definition) @def)", "method"),
        _Rule(
            f"({field_def} {field_name}: (_) value: {_JS_FUNCTION_VALUES})",
            "method",
            _name_field(field_name),
            ("value", "body"),
        ),
        _Rule(
            f"(variable_declarator name: (identifier) value: {_JS_FUNCTION_VALUES})",
            "function",
            _js_declarator_name,
            ("value", "body"),
        ),
        _Rule(
            "(variable_declarator name: (identifier) value: (class))",
            "class",
            _js_declarator_name,
            ("value", "body"),
        ),
        _Rule(
            f"(expression_statement (assignment_expression left: (member_expression)"
            f" right: {_JS_FUNCTION_VALUES}) @def)",
            "function",
            _js_assignment_name,
            ("right", "body"),
        ),
    ]
    if typescript:
        rules += [
            _Rule("(abstract_class_declaration)", "class"),
            _Rule("(interface_declaration)", "interface"),
            _Rule("(enum_declaration)", "enum"),
            _Rule("(type_alias_declaration value: (object_type))", "interface", body=("value",)),
        ]
    return tuple(rules)


_JS_WRAPPERS = frozenset(
    {
        "export_statement",
        "lexical_declaration",
        "variable_declaration",
        "expression_statement",
        "ambient_declaration",
    }
)
_TS_SCOPES = (_Scope("(internal_module)"), _Scope("(module)"))

_C_RULES = (
    _Rule("(function_definition)", "function", _c_function_name),
    _Rule("(struct_specifier body: (_))", "struct", _c_type_name),
    _Rule("(union_specifier body: (_))", "struct", _c_type_name),
    _Rule("(enum_specifier body: (_))", "enum", _c_type_name),
)

_SPECS: dict[str, _LangSpec] = {
    "python": _LangSpec(
        rules=(
            _Rule("(function_definition)", "function"),
            _Rule("(class_definition)", "class"),
        ),
        wrappers=frozenset({"decorated_definition"}),
        docstrings=True,
    ),
    "javascript": _LangSpec(
        rules=_js_rules(typescript=False), attributes=frozenset({"decorator"}), wrappers=_JS_WRAPPERS
    ),
    "typescript": _LangSpec(
        rules=_js_rules(typescript=True),
        scopes=_TS_SCOPES,
        attributes=frozenset({"decorator"}),
        wrappers=_JS_WRAPPERS,
    ),
    "tsx": _LangSpec(
        rules=_js_rules(typescript=True),
        scopes=_TS_SCOPES,
        attributes=frozenset({"decorator"}),
        wrappers=_JS_WRAPPERS,
    ),
    "go": _LangSpec(
        rules=(
            _Rule("(function_declaration)", "function"),
            _Rule("(method_declaration)", "method", _go_method_name),
            _Rule("(type_spec type: (struct_type))", "struct", body=("type", "field_declaration_list")),
            _Rule("(type_spec type: (interface_type))", "interface", body=("type",)),
        ),
        wrappers=frozenset({"type_declaration"}),
    ),
    "rust": _LangSpec(
        rules=(
            _Rule("(function_item)", "function"),
            _Rule("(function_signature_item)", "function"),
            _Rule("(struct_item)", "struct"),
            _Rule("(union_item)", "struct"),
            _Rule("(enum_item)", "enum"),
            _Rule("(trait_item)", "trait"),
            _Rule("(impl_item)", "impl", _rust_impl_name),
        ),
        scopes=(_Scope("(mod_item body: (_))"),),
        comments=("line_comment", "block_comment"),
        attributes=frozenset({"attribute_item"}),
    ),
    "java": _LangSpec(
        rules=(
            _Rule("(class_declaration)", "class"),
            _Rule("(record_declaration)", "class"),
            _Rule("(interface_declaration)", "interface"),
            _Rule("(annotation_type_declaration)", "interface"),
            _Rule("(enum_declaration)", "enum"),
            _Rule("(method_declaration)", "method"),
            _Rule("(constructor_declaration)", "method"),
        ),
        comments=("line_comment", "block_comment"),
    ),
    "c": _LangSpec(rules=_C_RULES, wrappers=frozenset({"type_definition"})),
    "cpp": _LangSpec(
        rules=(*_C_RULES, _Rule("(class_specifier body: (_))", "class", _c_type_name)),
        scopes=(_Scope("(namespace_definition)"),),
        wrappers=frozenset({"type_definition", "template_declaration"}),
    ),
    "csharp": _LangSpec(
        rules=(
            _Rule("(class_declaration)", "class"),
            _Rule("(record_declaration)", "class"),
            _Rule("(struct_declaration)", "struct"),
            _Rule("(interface_declaration)", "interface"),
            _Rule("(enum_declaration)", "enum"),
            _Rule("(method_declaration)", "method"),
            _Rule("(constructor_declaration)", "method"),
            _Rule("(destructor_declaration)", "method"),
            _Rule("(local_function_statement)", "function"),
        ),
        scopes=(
            _Scope("(namespace_declaration)"),
            _Scope("(file_scoped_namespace_declaration)", file_scoped=True),
        ),
    ),
    "ruby": _LangSpec(
        rules=(
            _Rule("(class)", "class", _qualified_field()),
            _Rule("(module)", "module", _qualified_field()),
            _Rule("(method)", "function"),
            _Rule("(singleton_method)", "method", _ruby_singleton_name),
        ),
    ),
    "php": _LangSpec(
        rules=(
            _Rule("(class_declaration)", "class"),
            _Rule("(interface_declaration)", "interface"),
            _Rule("(trait_declaration)", "trait"),
            _Rule("(enum_declaration)", "enum"),
            _Rule("(function_definition)", "function"),
            _Rule("(method_declaration)", "method"),
        ),
        scopes=(
            _Scope("(namespace_definition body: (_))"),
            _Scope("(namespace_definition !body)", file_scoped=True),
        ),
    ),
}

SUPPORTED_CODE_LANGUAGES: frozenset[str] = frozenset(_SPECS)


@dataclass(frozen=True, slots=True)
class _Compiled:
    spec: _LangSpec
    query: Query


def _capture(pattern: str, capture: str) -> str:
    # A pattern may name its own @def (when the definition is nested in context nodes).
    return pattern.replace("@def", f"@{capture}") if "@def" in pattern else f"{pattern} @{capture}"


@functools.cache
def _compiled(language: str) -> _Compiled:
    """The language's spec with all its patterns compiled into one Query (cached)."""
    spec = _SPECS[language]
    parts = [_capture(rule.pattern, f"r{i}") for i, rule in enumerate(spec.rules)]
    parts += [_capture(scope.pattern, f"s{i}") for i, scope in enumerate(spec.scopes)]
    parts += [f"({comment}) @comment" for comment in spec.comments]
    return _Compiled(spec, Query(get_language(language), "\n".join(parts)))


# --------------------------------------------------------------------------- helpers


def _end_row(node: Node) -> int:
    """Last row a node covers; nodes that swallow their trailing newline end on the row before."""
    row, col = node.end_point
    if col == 0 and row > node.start_point[0]:
        return row - 1
    return row


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _starts_line(src: bytes, offset: int) -> bool:
    """True when only whitespace precedes ``offset`` on its line."""
    return not src[src.rfind(b"\n", 0, offset) + 1 : offset].strip()


def _alone_on_lines(src: bytes, start: int, end: int) -> bool:
    """True when nothing but whitespace shares the lines of ``src[start:end]``."""
    if not _starts_line(src, start):
        return False
    if end > start and src[end - 1 : end] == b"\n":
        return True
    line_end = src.find(b"\n", end)
    if line_end < 0:
        line_end = len(src)
    return not src[end:line_end].strip()


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


def _head_end(node: Node, body_path: tuple[str, ...]) -> int | None:
    """Byte offset where the signature ends: after the body's ``{``, or before a brace-less body."""
    body = _follow(node, body_path)
    if body is None:
        last = node.child(node.child_count - 1) if node.child_count else None
        if last is not None and last.type == "end":
            body = last  # Ruby `def m; end`: the signature is what precedes `end`
        else:
            return None
    token: Node | None = None
    for i in range(body.child_count):  # indexed: a large body's children are never all built
        child = body.child(i)
        if child is None or (child.is_named and not child.is_extra):
            break
        if child.type == "{":
            token = child
            break
    if token is None:
        # Brace-less body (Python block, Ruby body, arrow expression): the signature precedes it.
        token = body.prev_sibling
        while token is not None and token.is_extra:
            token = token.prev_sibling
        if token is None:
            return None
    # A comment on the signature's line (`def f():  # why`) belongs to the signature.
    end, row = token.end_byte, token.end_point[0]
    nxt = token.next_sibling
    while nxt is not None and nxt.is_extra and nxt.start_point[0] == row:
        end = nxt.end_byte
        nxt = nxt.next_sibling
    return end


_ESCAPES = {
    "\n": "", "\\": "\\", "'": "'", '"': '"', "a": "\a", "b": "\b", "f": "\f",
    "n": "\n", "r": "\r", "t": "\t", "v": "\v",
}  # fmt: skip
_ESCAPE_RE = re.compile(r"\\(\n|[\\'\"abfnrtv]|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{1,3})")


def _unescape(match: re.Match[str]) -> str:
    seq = match.group(1)
    if seq in _ESCAPES:
        return _ESCAPES[seq]
    try:
        code = int(seq[1:], 16) if seq[0] in "xuU" else int(seq, 8)
        return chr(code)
    except (ValueError, OverflowError):
        return match.group(0)


_STRING_PREFIX = re.compile(r"([A-Za-z]*)('''|\"\"\"|'|\")")


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


def _python_docstring(block: Node | None) -> Node | None:
    """The string node of a docstring: the first statement of ``block`` when it is a plain string."""
    if block is None:
        return None
    stmt = _named_child(block, 0)
    while stmt is not None and stmt.type == "comment":
        stmt = stmt.next_named_sibling
    if stmt is None or stmt.type != "expression_statement" or stmt.named_child_count != 1:
        return None
    string = _named_child(stmt, 0)
    return string if string is not None and string.type == "string" else None


_BANNER = re.compile(r"^[\s*/=#\-+~]*$")


def _clean_comment(texts: list[str]) -> str:
    """Strip comment markers (``//``, ``///``, ``#``, ``/* */``, leading `` * ``, ``=begin``)."""
    lines: list[str] = []
    for text in texts:
        text = text.rstrip("\n")
        if text.startswith("/*"):
            body = text[2:]
            body = body[:-2] if body.endswith("*/") else body
            if body[:1] in ("*", "!"):
                body = body[1:]
            for line in body.split("\n"):
                stripped = line.lstrip()
                if stripped.startswith("*"):
                    line = stripped[1:]
                    line = line[1:] if line.startswith(" ") else line
                lines.append(line)
        elif text.startswith("=begin"):
            inner = text.split("\n")[1:]
            if inner and inner[-1].startswith("=end"):
                inner = inner[:-1]
            lines.extend(inner)
        else:
            for line in text.split("\n"):
                line = line.strip()
                if _DIRECTIVE.match(line):
                    continue
                if line.startswith("//"):
                    line = line[3:] if line[2:3] in ("/", "!") else line[2:]
                elif line.startswith("#"):
                    line = line.lstrip("#")
                lines.append(line)
    while lines and _BANNER.match(lines[0]):
        lines.pop(0)
    while lines and _BANNER.match(lines[-1]):
        lines.pop()
    return inspect.cleandoc("\n".join(line.rstrip() for line in lines))


def _meaningful(doc: str) -> bool:
    """Whether ``doc`` has enough word characters to be worth keeping (stops counting early)."""
    found = itertools.islice(_WORD.finditer(doc), _MIN_DOC_WORD_CHARS)
    return sum(1 for _ in found) >= _MIN_DOC_WORD_CHARS


def _module_name(path: str) -> str:
    stem = os.path.splitext(os.path.basename(path))[0]
    if stem in ("__init__", "__main__", "mod", "index"):
        parent = os.path.basename(os.path.dirname(os.path.abspath(path)))
        return parent or stem
    return stem


@dataclass(slots=True)
class _Def:
    """A definition or scope found by the query, before its qualified name is known."""

    node: Node
    start: int
    end: int
    start_row: int
    end_row: int
    parts: list[str]
    rule: _Rule | None  # None for a scope
    qualname: str = ""
    kind: str = ""


# --------------------------------------------------------------------------- extraction


def _normalize(source: bytes) -> bytes:
    """Drop a UTF-8 BOM and turn CRLF into LF; neither changes line numbers."""
    if source.startswith(b"\xef\xbb\xbf"):
        source = source[3:]
    if b"\r\n" in source:
        source = source.replace(b"\r\n", b"\n")
    return source


def _outer(node: Node, wrappers: frozenset[str]) -> Node:
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


def _attributes_start(node: Node, attributes: frozenset[str], comments: tuple[str, ...]) -> tuple[int, int]:
    """Start byte and row including attribute siblings directly above (``#[derive]``, ``@Input()``)."""
    start, start_row = node.start_byte, node.start_point[0]
    top_row = start_row
    sib = node.prev_named_sibling
    while sib is not None and (sib.type in attributes or sib.type in comments):
        if _end_row(sib) < top_row - 1:
            break
        if sib.type in attributes:
            start, start_row = sib.start_byte, sib.start_point[0]
        top_row = sib.start_point[0]
        sib = sib.prev_named_sibling
    return start, start_row


@dataclass(slots=True)
class _Comment:
    start_row: int
    start: int
    end: int


def _leading_comment(comments: dict[int, _Comment], row: int, src: bytes) -> tuple[str, int, int] | None:
    """The contiguous block of stand-alone comments ending on the line above ``row``."""
    last_row = cur = row - 1
    found: list[_Comment] = []
    while cur in comments:
        comment = comments[cur]
        found.append(comment)
        cur = comment.start_row - 1
    if not found:
        return None
    found.reverse()
    texts = [_decode(src[c.start : c.end]) for c in found]
    # Rust `//!` / `/*!` document the enclosing module, not what follows.
    texts = [t for t in texts if not t.startswith(("//!", "/*!"))]
    if not texts:
        return None
    doc = _clean_comment(texts)
    if not _meaningful(doc) or _LICENSE.match(doc):
        return None
    return doc, found[0].start_row + 1, last_row + 1


def extract(path: str, source: bytes) -> FileUnits | None:
    """Symbols and doc units of one file; None when the path's language is not supported.

    Never raises on malformed input: syntax errors, invalid UTF-8, CRLF, empty files.
    """
    language = language_for_path(path)
    if language is None:
        return None
    if language not in DOC_LANGUAGES and language not in _SPECS:
        return None
    try:
        if language in DOC_LANGUAGES:
            text = _decode(_normalize(source))
            return FileUnits(language=language, docs=doc_sections(path, language, text))
        return _extract_code(path, language, _normalize(source))
    except Exception as exc:
        # A bug here must cost one file's units, not the indexing of a whole workspace.
        _log.exception("extracting units from %s failed", path)
        return FileUnits(language=language, warnings=[f"extraction failed: {exc!r}"])


def extract_text(path: str, text: str) -> FileUnits | None:
    """``extract`` for text already decoded (e.g. an unsaved editor buffer)."""
    return extract(path, text.encode("utf-8", "surrogatepass"))


def _extract_code(path: str, language: str, src: bytes) -> FileUnits:
    compiled = _compiled(language)
    spec = compiled.spec
    tree = get_parser(language).parse(src)
    root = tree.root_node
    captures = QueryCursor(compiled.query).captures(root)

    # Stand-alone comments by their last row, for leading-comment lookup.
    comments: dict[int, _Comment] = {}
    for node in captures.get("comment", ()):
        if _alone_on_lines(src, node.start_byte, node.end_byte):
            comments[_end_row(node)] = _Comment(node.start_point[0], node.start_byte, node.end_byte)

    defs: list[_Def] = []
    seen: set[int] = set()
    for i, rule in enumerate(spec.rules):
        for node in captures.get(f"r{i}", ()):
            if node.id in seen or node.is_missing:
                continue
            seen.add(node.id)
            parts = rule.name(node)
            if not parts:
                continue  # anonymous or broken: nothing to name it by
            outer = _outer(node, spec.wrappers) if spec.wrappers else node
            if spec.attributes:
                start, start_row = _attributes_start(outer, spec.attributes, spec.comments)
            else:
                start, start_row = outer.start_byte, outer.start_point[0]
            defs.append(_Def(node, start, outer.end_byte, start_row, _end_row(outer), parts, rule))

    file_scoped: list[_Def] = []
    for i, scope in enumerate(spec.scopes):
        for node in captures.get(f"s{i}", ()):
            scope_parts = scope.name(node)
            if scope_parts is None:
                continue
            item = _Def(
                node, node.start_byte, node.end_byte, node.start_point[0], _end_row(node), scope_parts, None
            )
            (file_scoped if scope.file_scoped else defs).append(item)
    if file_scoped:
        file_scoped.sort(key=lambda d: d.start)
        for k, item in enumerate(file_scoped):
            item.end = file_scoped[k + 1].start if k + 1 < len(file_scoped) else len(src)
        defs.extend(file_scoped)

    defs.sort(key=lambda d: (d.start, -d.end))
    symbols: list[Symbol] = []
    docs: list[DocUnit] = []
    if spec.docstrings:
        module_doc = _python_docstring(root)
        if module_doc is not None:
            value = _python_string_value(_decode(src[module_doc.start_byte : module_doc.end_byte]))
            if value is not None and _meaningful(cleaned := inspect.cleandoc(value)):
                docs.append(
                    DocUnit(
                        _module_name(path),
                        "docstring",
                        language,
                        module_doc.start_point[0] + 1,
                        _end_row(module_doc) + 1,
                        cleaned,
                    )
                )

    stack: list[_Def] = []
    for item in defs:
        while stack and not (item.start >= stack[-1].start and item.end <= stack[-1].end):
            stack.pop()
        parent = stack[-1] if stack else None
        prefix = parent.qualname if parent is not None else ""
        own = ".".join(item.parts)
        item.qualname = f"{prefix}.{own}" if prefix and own else (prefix or own)
        stack.append(item)
        if item.rule is None:
            continue
        kind = item.rule.kind
        if kind == "function":
            # The nearest enclosing symbol (scopes do not count) decides function vs method.
            owner = next((d for d in reversed(stack[:-1]) if d.rule is not None), None)
            if len(item.parts) > 1 or (owner is not None and owner.kind in CLASS_LIKE):
                kind = "method"
        item.kind = kind
        symbol, doc_unit = _make_symbol(item, kind, language, spec, src, comments)
        symbols.append(symbol)
        if doc_unit is not None:
            docs.append(doc_unit)
    warnings = []
    if root.has_error:
        row = _first_error_row(root)
        warnings.append(f"syntax error near line {row + 1}; units taken from the parts that parsed")
    return FileUnits(language=language, symbols=symbols, docs=docs, warnings=warnings)


def _first_error_row(root: Node) -> int:
    """Row of the first ERROR or MISSING node, descending only into subtrees that contain one."""
    node = root
    for _ in range(10_000):
        if node.is_error or node.is_missing:
            return node.start_point[0]
        for child in node.children:
            if child.has_error or child.is_missing:
                node = child
                break
        else:
            return node.start_point[0]
    return node.start_point[0]


def _make_symbol(
    item: _Def, kind: str, language: str, spec: _LangSpec, src: bytes, comments: dict[int, _Comment]
) -> tuple[Symbol, DocUnit | None]:
    node = item.node
    rule = item.rule
    assert rule is not None
    start, end, start_row = item.start, item.end, item.start_row

    doc: str | None = None
    doc_kind = "comment"
    doc_lines: tuple[int, int] | None = None
    head_end: int | None = None
    if spec.docstrings:
        string = _python_docstring(node.child_by_field_name("body"))
        value = None
        if string is not None:
            value = _python_string_value(_decode(src[string.start_byte : string.end_byte]))
        if string is not None and value is not None:
            head_end = string.end_byte  # even a trivial docstring is part of the signature
            if _meaningful(cleaned := inspect.cleandoc(value)):
                doc, doc_kind = cleaned, "docstring"
                doc_lines = (string.start_point[0] + 1, _end_row(string) + 1)
    if doc is None and _starts_line(src, start):
        leading = _leading_comment(comments, start_row, src)
        if leading is not None:
            doc, first, last = leading
            doc_lines = (first, last)
    if head_end is None:
        head_end = _head_end(node, rule.body)
    if head_end is None or not start <= head_end <= end:
        head_end = end

    head = _decode(src[start:head_end])
    rest = _decode(src[head_end:end])
    code = head + rest
    # The body starts on the line after the signature when nothing else follows it there.
    newline = rest.find("\n")
    body = rest[newline + 1 :] if newline >= 0 and not rest[:newline].strip() else rest

    symbol = Symbol(
        name=item.qualname,
        kind=kind,
        language=language,
        start_line=start_row + 1,
        end_line=item.end_row + 1,
        code=code,
        head=head,
        body=body,
        doc=doc,
        doc_start_line=doc_lines[0] if doc_lines else None,
        doc_end_line=doc_lines[1] if doc_lines else None,
    )
    doc_unit = None
    if doc is not None and doc_lines is not None:
        doc_unit = DocUnit(item.qualname, doc_kind, language, doc_lines[0], doc_lines[1], doc)
    return symbol, doc_unit
