"""Command arguments structured by the server's own converter: strict types, readable errors."""

from __future__ import annotations

import pytest
from lsprotocol import types

from lsp_server.server.core import command_converter
from lsp_server.server.params import PositionArgs, QueryArgs, ScopeArgs, structure_optional

CONVERTER = command_converter()
ORIGIN = {"line": 0, "character": 0}


def test_a_position_argument() -> None:
    args = CONVERTER.structure({"uri": "file:///a.py", "position": {"line": 3, "character": 4}}, PositionArgs)
    assert args == PositionArgs(uri="file:///a.py", position=types.Position(line=3, character=4))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"uri": 3, "position": ORIGIN}, "must be a non-empty string (a file: URI) @ arguments.uri"),
        ({"uri": "", "position": ORIGIN}, "must be a non-empty string (a file: URI) @ arguments.uri"),
        ({"uri": "file:///a", "position": {"line": 0}}, "@ arguments.position.character"),
        ("file:///a", "expected one object with uri, position"),
    ],
)
def test_wrong_arguments_say_what_is_wrong(value: object, message: str) -> None:
    with pytest.raises((TypeError, ValueError), match=message.replace("(", r"\(").replace(")", r"\)")):
        CONVERTER.structure(value, PositionArgs)


def test_a_query_needs_words() -> None:
    assert CONVERTER.structure({"query": "parse json"}, QueryArgs).query == "parse json"
    with pytest.raises(ValueError, match="must be a non-empty string"):
        CONVERTER.structure({"query": "   "}, QueryArgs)


def test_an_optional_scope() -> None:
    assert structure_optional(CONVERTER, (), ScopeArgs) == ScopeArgs()
    assert structure_optional(CONVERTER, ({},), ScopeArgs) == ScopeArgs()
    assert structure_optional(CONVERTER, ({"uri": "file:///w"},), ScopeArgs).uri == "file:///w"
    with pytest.raises(TypeError, match="at most one object"):
        structure_optional(CONVERTER, ({}, {}), ScopeArgs)
    with pytest.raises(ValueError, match=r"arguments\.uri"):
        structure_optional(CONVERTER, ({"uri": 7},), ScopeArgs)
