"""Extract code symbols and documentation units from one source file.

A language's spec (``specs``) is compiled into one tree-sitter Query, so finding its
definitions is a single pass in C; the qualified names come from sorting the definitions by
position and keeping a stack of the enclosing ones, which avoids walking the tree from
Python. Leading comments are looked up by line in a map of the file's stand-alone comments.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from tree_sitter import Node, QueryCursor

from lsp_server.units.comments import (
    Comment,
    leading_comment,
    meaningful,
    python_docstring,
    stand_alone_comments,
)
from lsp_server.units.docs import doc_sections
from lsp_server.units.extent import signature_end, start_with_attributes, with_wrappers
from lsp_server.units.languages import DOC_LANGUAGES, get_parser, language_for_path
from lsp_server.units.model import DocUnit, FileUnits, Symbol
from lsp_server.units.nodes import decode, end_row, starts_line
from lsp_server.units.specs import (
    CLASS_LIKE,
    COMMENT_CAPTURE,
    SUPPORTED_CODE_LANGUAGES,
    LanguageSpec,
    Rule,
    compiled_spec,
    rule_capture,
    scope_capture,
)

_log = logging.getLogger(__name__)

_Captures = dict[str, list[Node]]


@dataclass(slots=True)
class _Def:
    """A definition or scope found by the query, before its qualified name is known."""

    node: Node
    start: int
    end: int
    start_row: int
    end_row: int
    parts: list[str]
    rule: Rule | None  # None for a scope
    qualname: str = ""
    kind: str = ""


@dataclass(frozen=True, slots=True)
class _Doc:
    """A symbol's documentation and the lines (1-based) it was read from."""

    text: str
    kind: str  # "docstring" or "comment"
    first_line: int
    last_line: int


def extract(path: str, source: bytes) -> FileUnits | None:
    """Symbols and doc units of one file; None when the path's language is not supported.

    Never raises on malformed input: syntax errors, invalid UTF-8, CRLF, empty files.
    """
    language = language_for_path(path)
    if language is None:
        return None
    if language not in DOC_LANGUAGES and language not in SUPPORTED_CODE_LANGUAGES:
        return None
    try:
        if language in DOC_LANGUAGES:
            text = decode(_normalize(source))
            return FileUnits(language=language, docs=doc_sections(path, language, text))
        return _extract_code(path, language, _normalize(source))
    except Exception as exc:
        # A bug here must cost one file's units, not the indexing of a whole workspace.
        _log.exception("extracting units from %s failed", path)
        return FileUnits(language=language, warnings=[f"extraction failed: {exc!r}"])


def extract_text(path: str, text: str) -> FileUnits | None:
    """``extract`` for text already decoded (e.g. an unsaved editor buffer)."""
    return extract(path, text.encode("utf-8", "surrogatepass"))


def _normalize(source: bytes) -> bytes:
    """Drop a UTF-8 BOM and turn CRLF into LF; neither changes line numbers."""
    if source.startswith(b"\xef\xbb\xbf"):
        source = source[3:]
    if b"\r\n" in source:
        source = source.replace(b"\r\n", b"\n")
    return source


def _extract_code(path: str, language: str, src: bytes) -> FileUnits:
    """Units of a code file: one query pass finds definitions, scopes and comments."""
    compiled = compiled_spec(language)
    spec = compiled.spec
    root = get_parser(language).parse(src).root_node
    captures = QueryCursor(compiled.query).captures(root)
    comments = stand_alone_comments(captures.get(COMMENT_CAPTURE, ()), src)

    defs = _definitions(spec, captures) + _scopes(spec, captures, len(src))
    defs.sort(key=lambda d: (d.start, -d.end))
    docs: list[DocUnit] = []
    if spec.docstrings:
        module_doc = _module_docstring(path, language, root, src)
        if module_doc is not None:
            docs.append(module_doc)
    _qualify(defs)

    symbols: list[Symbol] = []
    for item in defs:
        if item.rule is None:
            continue
        symbol, doc_unit = _make_symbol(item, language, spec, src, comments)
        symbols.append(symbol)
        if doc_unit is not None:
            docs.append(doc_unit)
    return FileUnits(language=language, symbols=symbols, docs=docs, warnings=_syntax_warnings(root))


def _definitions(spec: LanguageSpec, captures: _Captures) -> list[_Def]:
    """The nameable definitions the query matched, each once even if several rules match it."""
    defs: list[_Def] = []
    seen: set[int] = set()
    for i, rule in enumerate(spec.rules):
        for node in captures.get(rule_capture(i), ()):
            if node.id in seen or node.is_missing:
                continue
            seen.add(node.id)
            parts = rule.name(node)
            if not parts:
                continue  # anonymous or broken: nothing to name it by
            defs.append(_definition(node, parts, rule, spec))
    return defs


def _definition(node: Node, parts: list[str], rule: Rule, spec: LanguageSpec) -> _Def:
    """A definition spanning the wrappers and attributes that belong to it."""
    outer = with_wrappers(node, spec.wrappers) if spec.wrappers else node
    if spec.attributes:
        start, start_row = start_with_attributes(outer, spec.attributes, spec.comments)
    else:
        start, start_row = outer.start_byte, outer.start_point[0]
    return _Def(node, start, outer.end_byte, start_row, end_row(outer), parts, rule)


def _scopes(spec: LanguageSpec, captures: _Captures, src_len: int) -> list[_Def]:
    """The scopes the query matched; a file-scoped one runs up to the next one or the end of file."""
    nested: list[_Def] = []
    file_scoped: list[_Def] = []
    for i, scope in enumerate(spec.scopes):
        for node in captures.get(scope_capture(i), ()):
            parts = scope.name(node)
            if parts is None:
                continue
            item = _Def(node, node.start_byte, node.end_byte, node.start_point[0], end_row(node), parts, None)
            (file_scoped if scope.file_scoped else nested).append(item)
    file_scoped.sort(key=lambda d: d.start)
    for k, item in enumerate(file_scoped):
        item.end = file_scoped[k + 1].start if k + 1 < len(file_scoped) else src_len
    return nested + file_scoped


def _qualify(defs: list[_Def]) -> None:
    """Set each definition's qualified name and kind from those enclosing it.

    ``defs`` is sorted by position (outer before inner), so the enclosing ones form a stack.
    """
    stack: list[_Def] = []
    for item in defs:
        while stack and not (item.start >= stack[-1].start and item.end <= stack[-1].end):
            stack.pop()
        prefix = stack[-1].qualname if stack else ""
        own = ".".join(item.parts)
        item.qualname = f"{prefix}.{own}" if prefix and own else (prefix or own)
        if item.rule is not None:
            item.kind = _kind(item.rule, item.parts, stack)
        stack.append(item)


def _kind(rule: Rule, parts: list[str], enclosing: list[_Def]) -> str:
    """The rule's kind, but a function that is qualified or inside a class-like symbol is a method."""
    if rule.kind != "function":
        return rule.kind
    # The nearest enclosing symbol (scopes do not count) decides function vs method.
    owner = next((d for d in reversed(enclosing) if d.rule is not None), None)
    if len(parts) > 1 or (owner is not None and owner.kind in CLASS_LIKE):
        return "method"
    return rule.kind


def _module_docstring(path: str, language: str, root: Node, src: bytes) -> DocUnit | None:
    """A Python module's docstring as a doc unit named after the module."""
    found = python_docstring(root, src)
    if found is None:
        return None
    string, text = found
    if not meaningful(text):
        return None
    first, last = string.start_point[0] + 1, end_row(string) + 1
    return DocUnit(_module_name(path), "docstring", language, first, last, text)


def _module_name(path: str) -> str:
    """The module's name; a package's ``__init__`` (or ``mod.rs``, ``index.js``) is named by its folder."""
    stem = os.path.splitext(os.path.basename(path))[0]
    if stem in ("__init__", "__main__", "mod", "index"):
        parent = os.path.basename(os.path.dirname(os.path.abspath(path)))
        return parent or stem
    return stem


def _syntax_warnings(root: Node) -> list[str]:
    """Says where the first syntax error is, so a user knows why units may be missing."""
    if not root.has_error:
        return []
    row = _first_error_row(root)
    return [f"syntax error near line {row + 1}; units taken from the parts that parsed"]


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
    item: _Def, language: str, spec: LanguageSpec, src: bytes, comments: dict[int, Comment]
) -> tuple[Symbol, DocUnit | None]:
    """The symbol of one definition, and a doc unit when it is documented."""
    rule = item.rule
    assert rule is not None
    doc, head_end = _definition_docstring(item.node, src) if spec.docstrings else (None, None)
    if doc is None and starts_line(src, item.start):
        doc = _comment_doc(comments, item.start_row, src)
    if head_end is None:
        head_end = signature_end(item.node, rule.body)
    if head_end is None or not item.start <= head_end <= item.end:
        head_end = item.end

    head = decode(src[item.start : head_end])
    rest = decode(src[head_end : item.end])
    symbol = Symbol(
        name=item.qualname,
        kind=item.kind,
        language=language,
        start_line=item.start_row + 1,
        end_line=item.end_row + 1,
        code=head + rest,
        head=head,
        body=_body(rest),
        doc=doc.text if doc is not None else None,
        doc_start_line=doc.first_line if doc is not None else None,
        doc_end_line=doc.last_line if doc is not None else None,
    )
    if doc is None:
        return symbol, None
    return symbol, DocUnit(item.qualname, doc.kind, language, doc.first_line, doc.last_line, doc.text)


def _definition_docstring(node: Node, src: bytes) -> tuple[_Doc | None, int | None]:
    """A Python definition's docstring (if meaningful) and the byte where the docstring ends.

    Even a trivial docstring ends the signature, so its end is returned either way.
    """
    found = python_docstring(node.child_by_field_name("body"), src)
    if found is None:
        return None, None
    string, text = found
    if not meaningful(text):
        return None, string.end_byte
    return _Doc(text, "docstring", string.start_point[0] + 1, end_row(string) + 1), string.end_byte


def _comment_doc(comments: dict[int, Comment], row: int, src: bytes) -> _Doc | None:
    """The comment block right above ``row`` as documentation."""
    leading = leading_comment(comments, row, src)
    if leading is None:
        return None
    text, first, last = leading
    return _Doc(text, "comment", first, last)


def _body(rest: str) -> str:
    """The code after the signature, from the next line when nothing else follows it on its line."""
    newline = rest.find("\n")
    return rest[newline + 1 :] if newline >= 0 and not rest[:newline].strip() else rest
