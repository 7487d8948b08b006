"""Per-language tables: which tree-sitter nodes define symbols, and of what kind.

A language's rules say how to read each definition's name and where its body is; all its
patterns are compiled into one tree-sitter Query so that finding definitions is a single
pass in C. Adding a language means adding an entry to ``_SPECS`` (and its grammar to
``languages``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from tree_sitter import Query

from lsp_server.units.languages import get_language
from lsp_server.units.naming import (
    NameFn,
    c_function_name,
    c_type_name,
    go_method_name,
    js_assignment_name,
    js_declarator_name,
    name_field,
    namespace_name,
    qualified_field,
    ruby_singleton_name,
    rust_impl_name,
)

CLASS_LIKE: frozenset[str] = frozenset({"class", "interface", "struct", "enum", "trait", "impl", "module"})
"""Kinds whose directly contained functions are methods."""

_BY_NAME = name_field("name")


@dataclass(frozen=True, slots=True)
class Rule:
    """One kind of definition node."""

    pattern: str
    """Query pattern matching the definition node, e.g. ``(function_definition)``."""
    kind: str
    """Symbol kind; "function" becomes "method" directly inside a class-like symbol."""
    name: NameFn = _BY_NAME
    body: tuple[str, ...] = ("body",)
    """Path to the body node: each step a field name, or else a child node type."""


@dataclass(frozen=True, slots=True)
class Scope:
    """A namespace-like node: it qualifies the names inside it but is not a symbol itself."""

    pattern: str
    name: NameFn = namespace_name
    file_scoped: bool = False
    """``namespace X;`` without braces: it covers everything up to the next one / end of file."""


@dataclass(frozen=True, slots=True)
class LanguageSpec:
    """Everything extraction needs to know about one language."""

    rules: tuple[Rule, ...]
    scopes: tuple[Scope, ...] = ()
    comments: tuple[str, ...] = ("comment",)
    attributes: frozenset[str] = frozenset()
    """Node types of attributes/decorators that precede a definition as siblings (Rust ``#[..]``)."""
    wrappers: frozenset[str] = frozenset()
    """Parent node types that belong to the definition (``export``, ``const x =``, decorators)."""
    docstrings: bool = False


_JS_FUNCTION_VALUES = "[(arrow_function) (function_expression) (generator_function)]"


def _js_rules(*, typescript: bool) -> tuple[Rule, ...]:
    """JavaScript's rules; TypeScript shares them and adds its type-level declarations."""
    field_def = "public_field_definition" if typescript else "field_definition"
    field_name = "name" if typescript else "property"
    rules = [
        Rule("(function_declaration)", "function"),
        Rule("(generator_function_declaration)", "function"),
        Rule("(class_declaration)", "class"),
        Rule("(class_body (method_definition) @def)", "method"),
        Rule(
            f"({field_def} {field_name}: (_) value: {_JS_FUNCTION_VALUES})",
            "method",
            name_field(field_name),
            ("value", "body"),
        ),
        Rule(
            f"(variable_declarator name: (identifier) value: {_JS_FUNCTION_VALUES})",
            "function",
            js_declarator_name,
            ("value", "body"),
        ),
        Rule(
            "(variable_declarator name: (identifier) value: (class))",
            "class",
            js_declarator_name,
            ("value", "body"),
        ),
        Rule(
            f"(expression_statement (assignment_expression left: (member_expression)"
            f" right: {_JS_FUNCTION_VALUES}) @def)",
            "function",
            js_assignment_name,
            ("right", "body"),
        ),
    ]
    if typescript:
        rules += [
            Rule("(abstract_class_declaration)", "class"),
            Rule("(interface_declaration)", "interface"),
            Rule("(enum_declaration)", "enum"),
            Rule("(type_alias_declaration value: (object_type))", "interface", body=("value",)),
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
_TS_SCOPES = (Scope("(internal_module)"), Scope("(module)"))

_C_RULES = (
    Rule("(function_definition)", "function", c_function_name),
    Rule("(struct_specifier body: (_))", "struct", c_type_name),
    Rule("(union_specifier body: (_))", "struct", c_type_name),
    Rule("(enum_specifier body: (_))", "enum", c_type_name),
)

_SPECS: dict[str, LanguageSpec] = {
    "python": LanguageSpec(
        rules=(
            Rule("(function_definition)", "function"),
            Rule("(class_definition)", "class"),
        ),
        wrappers=frozenset({"decorated_definition"}),
        docstrings=True,
    ),
    "javascript": LanguageSpec(
        rules=_js_rules(typescript=False), attributes=frozenset({"decorator"}), wrappers=_JS_WRAPPERS
    ),
    "typescript": LanguageSpec(
        rules=_js_rules(typescript=True),
        scopes=_TS_SCOPES,
        attributes=frozenset({"decorator"}),
        wrappers=_JS_WRAPPERS,
    ),
    "tsx": LanguageSpec(
        rules=_js_rules(typescript=True),
        scopes=_TS_SCOPES,
        attributes=frozenset({"decorator"}),
        wrappers=_JS_WRAPPERS,
    ),
    "go": LanguageSpec(
        rules=(
            Rule("(function_declaration)", "function"),
            Rule("(method_declaration)", "method", go_method_name),
            Rule("(type_spec type: (struct_type))", "struct", body=("type", "field_declaration_list")),
            Rule("(type_spec type: (interface_type))", "interface", body=("type",)),
        ),
        wrappers=frozenset({"type_declaration"}),
    ),
    "rust": LanguageSpec(
        rules=(
            Rule("(function_item)", "function"),
            Rule("(function_signature_item)", "function"),
            Rule("(struct_item)", "struct"),
            Rule("(union_item)", "struct"),
            Rule("(enum_item)", "enum"),
            Rule("(trait_item)", "trait"),
            Rule("(impl_item)", "impl", rust_impl_name),
        ),
        scopes=(Scope("(mod_item body: (_))"),),
        comments=("line_comment", "block_comment"),
        attributes=frozenset({"attribute_item"}),
    ),
    "java": LanguageSpec(
        rules=(
            Rule("(class_declaration)", "class"),
            Rule("(record_declaration)", "class"),
            Rule("(interface_declaration)", "interface"),
            Rule("(annotation_type_declaration)", "interface"),
            Rule("(enum_declaration)", "enum"),
            Rule("(method_declaration)", "method"),
            Rule("(constructor_declaration)", "method"),
        ),
        comments=("line_comment", "block_comment"),
    ),
    "c": LanguageSpec(rules=_C_RULES, wrappers=frozenset({"type_definition"})),
    "cpp": LanguageSpec(
        rules=(*_C_RULES, Rule("(class_specifier body: (_))", "class", c_type_name)),
        scopes=(Scope("(namespace_definition)"),),
        wrappers=frozenset({"type_definition", "template_declaration"}),
    ),
    "csharp": LanguageSpec(
        rules=(
            Rule("(class_declaration)", "class"),
            Rule("(record_declaration)", "class"),
            Rule("(struct_declaration)", "struct"),
            Rule("(interface_declaration)", "interface"),
            Rule("(enum_declaration)", "enum"),
            Rule("(method_declaration)", "method"),
            Rule("(constructor_declaration)", "method"),
            Rule("(destructor_declaration)", "method"),
            Rule("(local_function_statement)", "function"),
        ),
        scopes=(
            Scope("(namespace_declaration)"),
            Scope("(file_scoped_namespace_declaration)", file_scoped=True),
        ),
    ),
    "ruby": LanguageSpec(
        rules=(
            Rule("(class)", "class", qualified_field()),
            Rule("(module)", "module", qualified_field()),
            Rule("(method)", "function"),
            Rule("(singleton_method)", "method", ruby_singleton_name),
        ),
    ),
    "php": LanguageSpec(
        rules=(
            Rule("(class_declaration)", "class"),
            Rule("(interface_declaration)", "interface"),
            Rule("(trait_declaration)", "trait"),
            Rule("(enum_declaration)", "enum"),
            Rule("(function_definition)", "function"),
            Rule("(method_declaration)", "method"),
        ),
        scopes=(
            Scope("(namespace_definition body: (_))"),
            Scope("(namespace_definition !body)", file_scoped=True),
        ),
    ),
}

SUPPORTED_CODE_LANGUAGES: frozenset[str] = frozenset(_SPECS)
"""Languages with a spec here, i.e. whose symbols can be extracted."""

COMMENT_CAPTURE = "comment"
"""Capture name of comment nodes in a compiled query."""


@dataclass(frozen=True, slots=True)
class CompiledSpec:
    """A spec with its query; captures are named by ``rule_capture``, ``scope_capture``."""

    spec: LanguageSpec
    query: Query


def rule_capture(index: int) -> str:
    """Capture name of the definitions matched by ``spec.rules[index]``."""
    return f"r{index}"


def scope_capture(index: int) -> str:
    """Capture name of the scopes matched by ``spec.scopes[index]``."""
    return f"s{index}"


def _capture(pattern: str, capture: str) -> str:
    # A pattern may name its own @def (when the definition is nested in context nodes).
    return pattern.replace("@def", f"@{capture}") if "@def" in pattern else f"{pattern} @{capture}"


@functools.cache
def compiled_spec(language: str) -> CompiledSpec:
    """The language's spec with all its patterns compiled into one Query (cached)."""
    spec = _SPECS[language]
    parts = [_capture(rule.pattern, rule_capture(i)) for i, rule in enumerate(spec.rules)]
    parts += [_capture(scope.pattern, scope_capture(i)) for i, scope in enumerate(spec.scopes)]
    parts += [f"({comment}) @{COMMENT_CAPTURE}" for comment in spec.comments]
    return CompiledSpec(spec, Query(get_language(language), "\n".join(parts)))
