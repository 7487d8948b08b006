"""From engine results to LSP values and command results: 1-based inclusive lines become 0-based ranges."""

from __future__ import annotations

from typing import Any

from lsprotocol import types

from lsp_server.retrieval.clone_model import CloneClass
from lsp_server.retrieval.hits import Hit
from lsp_server.server.folders import Folder
from lsp_server.server.positions import whole_lines

SYMBOL_KINDS: dict[str, types.SymbolKind] = {
    "function": types.SymbolKind.Function,
    "method": types.SymbolKind.Method,
    "class": types.SymbolKind.Class,
    "interface": types.SymbolKind.Interface,
    "struct": types.SymbolKind.Struct,
    "enum": types.SymbolKind.Enum,
    "trait": types.SymbolKind.Interface,
    "impl": types.SymbolKind.Class,
    "module": types.SymbolKind.Module,
}


def range_json(start_line: int, end_line: int) -> dict[str, Any]:
    """:func:`whole_lines` as plain JSON, for command results."""
    return {
        "start": {"line": start_line - 1, "character": 0},
        "end": {"line": end_line, "character": 0},
    }


def location(folder: Folder, hit: Hit) -> types.Location:
    return types.Location(uri=folder.uri_of(hit.path), range=whole_lines(hit.start_line, hit.end_line))


def hit_json(folder: Folder, hit: Hit, **extra: Any) -> dict[str, Any]:
    return {
        "uri": folder.uri_of(hit.path),
        "range": range_json(hit.start_line, hit.end_line),
        "name": hit.name,
        "kind": hit.kind,
        "score": hit.score,
        **extra,
    }


def symbol_kind(kind: str) -> types.SymbolKind:
    return SYMBOL_KINDS.get(kind, types.SymbolKind.Function)


def clone_class_json(folder: Folder, cls: CloneClass) -> dict[str, Any]:
    """A clone class as codekin.findDuplicates answers: members with their kinds, pairs by member index."""
    kinds = cls.member_kinds
    return {
        "score": cls.score,
        "kind": cls.kind,
        "kinds": dict(cls.kinds),
        "members": [
            hit_json(folder, hit, exact=kinds.get(hit.unit_id) == "exact", clone=kinds.get(hit.unit_id))
            for hit in cls.members
        ],
        "pairs": [{"a": a, "b": b, "kind": p.kind, "score": p.score} for a, b, p in cls.indexed_pairs()],
    }
