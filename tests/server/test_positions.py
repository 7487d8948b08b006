"""Columns through each position encoding a client can negotiate, on lines with non-ASCII and emoji."""

from __future__ import annotations

import pytest
from lsprotocol import types
from pygls.workspace import PositionCodec

from lsp_server.server.positions import client_column, client_range, python_column, whole_lines

LINE = 's = "héllo"; foo'
EMOJI = 'x = "😋"; bar'


@pytest.mark.parametrize(
    ("encoding", "foo", "bar"),
    [("utf-8", 14, 12), ("utf-16", 13, 10), ("utf-32", 13, 9)],
)
def test_columns_both_ways(encoding: str, foo: int, bar: int) -> None:
    codec = PositionCodec(encoding)
    assert client_column(codec, LINE, LINE.index("foo")) == foo
    assert client_column(codec, EMOJI, EMOJI.index("bar")) == bar
    assert python_column(codec, LINE, 0, foo) == LINE.index("foo")
    assert python_column(codec, f"first\n{EMOJI}\n", 1, bar) == EMOJI.index("bar")


def test_a_range_on_one_line_is_in_client_units() -> None:
    codec = PositionCodec("utf-8")
    assert client_range(codec, 3, EMOJI, EMOJI.index("bar"), len(EMOJI)) == types.Range(
        start=types.Position(line=3, character=12), end=types.Position(line=3, character=15)
    )


def test_columns_outside_the_text_pass_through() -> None:
    codec = PositionCodec("utf-16")
    assert python_column(codec, None, 0, 7) == 7  # no buffer: nothing to convert against
    assert python_column(codec, "one line", 5, 3) == 3


def test_whole_lines_end_at_the_start_of_the_next_line() -> None:
    assert whole_lines(3, 5) == types.Range(types.Position(2, 0), types.Position(5, 0))
