"""The units that codekin indexes: code symbols and documentation units.

These are plain values produced by extraction (``lsp_server.units.extract``) and
consumed by the indexer; they know nothing about embeddings or storage.
Lines are 1-based and inclusive, as editors and the CLI show them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Symbol:
    """A function, method, class or type definition found in a source file."""

    name: str
    """Qualified name: enclosing classes/namespaces joined by ".", e.g. ``Parser.parse``."""
    kind: str
    """One of: function, method, class, interface, struct, enum, trait, impl, module."""
    language: str
    start_line: int
    end_line: int
    code: str
    """The symbol's full source text (decorators/attributes included), as it stands in the file."""
    head: str
    """Signature plus docstring: the start of the symbol that a completion query would see."""
    body: str
    """What completes ``head``: the code after the signature and docstring (may be empty)."""
    doc: str | None = None
    """The docstring or leading comment, with comment markers stripped; None when there is none."""
    doc_start_line: int | None = None
    doc_end_line: int | None = None


@dataclass(frozen=True, slots=True)
class DocUnit:
    """A piece of documentation: a docstring, a leading comment or a Markdown/RST section."""

    name: str
    """For docstrings and comments the qualified name of the symbol they document;
    for sections the heading path, e.g. ``Install > From source``."""
    kind: str
    """One of: docstring, comment, section."""
    language: str
    start_line: int
    end_line: int
    text: str


@dataclass(frozen=True, slots=True)
class FileUnits:
    """Everything extracted from one file."""

    language: str
    symbols: list[Symbol] = field(default_factory=list)
    docs: list[DocUnit] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """Problems worth a log line that did not stop extraction (syntax errors, undecodable bytes)."""
