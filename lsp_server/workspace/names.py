"""File names as the filesystem allows them and as the index can keep them.

POSIX allows any bytes in a name but ``/`` and NUL. Python hands names that are not valid UTF-8 over
as strings with lone surrogates (``surrogateescape``); SQLite, JSON and LSP URIs take only real
Unicode, so such a file cannot be stored, printed or named to an editor: it is skipped, with a log line.
Every other name (newlines, spaces, leading dashes, NFC and NFD spellings, 255 bytes) is a name like any
other, and only ``shown`` escapes it for a log line.
"""

from __future__ import annotations

NOT_UTF8 = "its name is not valid UTF-8 (the index, JSON and editors need UTF-8 names)"


def name_problem(rel: str) -> str | None:
    """Why a workspace-relative path cannot be indexed by its name, or None when it can."""
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return NOT_UTF8
    return None


def shown(rel: str) -> str:
    """``rel`` for one log line: bytes that are not UTF-8 as ``\\xNN``, control characters escaped
    (a newline in a name must not start a second, forged line)."""
    text = rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)
