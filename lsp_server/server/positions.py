"""Columns in the position encoding the client and server agreed on (UTF-16, UTF-8 or UTF-32).

pygls negotiates the encoding at ``initialize`` (Neovim 0.11 offers UTF-8 first, VS Code
speaks UTF-16); every column read from or written to the client goes through the
workspace's :class:`PositionCodec`, never through a fixed encoding.
"""

from __future__ import annotations

from lsprotocol import types
from pygls.workspace import PositionCodec


def python_column(codec: PositionCodec, text: str | None, line: int, character: int) -> int:
    """The client's ``character`` on ``line`` of ``text`` as an index into that line's Python string."""
    if text is None:
        return character
    lines = text.splitlines()
    if not 0 <= line < len(lines):
        return character
    position = codec.position_from_client_units(lines, types.Position(line=line, character=character))
    return int(position.character)


def client_column(codec: PositionCodec, line_text: str, column: int) -> int:
    """A Python index into ``line_text`` as the client's code units."""
    return int(codec.client_num_units(line_text[:column]))


def client_range(codec: PositionCodec, line: int, line_text: str, start: int, end: int) -> types.Range:
    """Python columns ``start``..``end`` of ``line`` (0-based) as a range in the client's units."""
    return types.Range(
        start=types.Position(line=line, character=client_column(codec, line_text, start)),
        end=types.Position(line=line, character=client_column(codec, line_text, end)),
    )


def whole_lines(start_line: int, end_line: int) -> types.Range:
    """Lines ``start_line``..``end_line`` (1-based, inclusive), up to the start of the next line.

    Column 0 is the same in every encoding, so line ranges need no codec.
    """
    return types.Range(types.Position(start_line - 1, 0), types.Position(end_line, 0))
