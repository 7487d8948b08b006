"""Which language a file is in, and the tree-sitter grammar that parses it.

Grammars are imported lazily (only the languages a workspace actually contains pay the
import cost) and cached; parsers are kept per thread because a ``tree_sitter.Parser`` must
not be shared between threads that parse concurrently.
"""

from __future__ import annotations

import functools
import importlib
import os
import threading

from tree_sitter import Language, Parser

# language name -> (grammar module, function returning the language pointer)
_GRAMMARS: dict[str, tuple[str, str]] = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "java": ("tree_sitter_java", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
    "csharp": ("tree_sitter_c_sharp", "language"),
    "ruby": ("tree_sitter_ruby", "language"),
    # language_php parses files that mix HTML and <?php ... ?>, which plain .php files may.
    "php": ("tree_sitter_php", "language_php"),
}

CODE_LANGUAGES: frozenset[str] = frozenset(_GRAMMARS)
"""Languages whose symbols are extracted with a tree-sitter grammar."""

DOC_LANGUAGES: frozenset[str] = frozenset({"markdown", "rst"})
"""Documentation languages, split into sections by ``lsp_server.units.docs``."""

ALL_LANGUAGES: frozenset[str] = CODE_LANGUAGES | DOC_LANGUAGES

_EXTENSIONS: dict[str, str] = {
    ".py": "python",
    ".pyi": "python",
    ".pyw": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "c",
    # .h is ambiguous; C is the conservative choice (the C++ grammar rejects some valid C).
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".c++": "cpp",
    ".hh": "cpp",
    ".hpp": "cpp",
    ".hxx": "cpp",
    ".h++": "cpp",
    ".ipp": "cpp",
    ".tpp": "cpp",
    ".inl": "cpp",
    ".cs": "csharp",
    ".rb": "ruby",
    ".rake": "ruby",
    ".gemspec": "ruby",
    ".php": "php",
    ".phtml": "php",
    ".md": "markdown",
    ".markdown": "markdown",
    ".mdown": "markdown",
    ".mkd": "markdown",
    ".mdx": "markdown",
    ".rst": "rst",
    ".rest": "rst",
}

_FILENAMES: dict[str, str] = {
    "Rakefile": "ruby",
    "Gemfile": "ruby",
    "Guardfile": "ruby",
    "Vagrantfile": "ruby",
}


def language_for_path(path: str) -> str | None:
    """The language name for a file path (by extension or well-known file name), or None."""
    base = os.path.basename(path)
    by_name = _FILENAMES.get(base)
    if by_name is not None:
        return by_name
    ext = os.path.splitext(base)[1].lower()
    return _EXTENSIONS.get(ext)


def is_code_language(language: str) -> bool:
    """True when ``language`` is parsed with tree-sitter (as opposed to a doc language)."""
    return language in CODE_LANGUAGES


@functools.cache
def get_language(language: str) -> Language:
    """The tree-sitter Language for ``language``; imports its grammar on first use.

    Raises KeyError for a language without a grammar (including markdown and rst).
    """
    module_name, func_name = _GRAMMARS[language]
    module = importlib.import_module(module_name)
    return Language(getattr(module, func_name)())


_local = threading.local()


def get_parser(language: str) -> Parser:
    """A parser for ``language`` owned by the calling thread (parsers are not thread-safe)."""
    parsers: dict[str, Parser] | None = getattr(_local, "parsers", None)
    if parsers is None:
        parsers = {}
        _local.parsers = parsers
    parser = parsers.get(language)
    if parser is None:
        parser = Parser(get_language(language))
        parsers[language] = parser
    return parser
