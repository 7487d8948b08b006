"""The arguments of codekin's commands, as attrs classes that pygls's converter structures.

A command's handler declares its parameter class; pygls structures ``arguments[0]``
with its cattrs converter and answers InvalidParams on a mismatch. The NewTypes below
get strict hooks (cattrs would otherwise turn ``3`` into ``"3"``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NewType

import attrs
from cattrs import ClassValidationError, Converter, transform_error
from cattrs.gen import make_dict_structure_fn
from cattrs.v import format_exception
from lsprotocol import types

DocumentUri = NewType("DocumentUri", str)
"""A non-empty string; whether it is a file inside a workspace folder is checked by the handler."""
QueryText = NewType("QueryText", str)
"""Words to search for: a string with something besides white space."""


@attrs.define(frozen=True)
class PositionArgs:
    """``{"uri": …, "position": {"line": …, "character": …}}``: a place in a document."""

    uri: DocumentUri
    position: types.Position


@attrs.define(frozen=True)
class QueryArgs:
    """``{"query": …}``: natural-language search."""

    query: QueryText


@attrs.define(frozen=True)
class ScopeArgs:
    """``{"uri": …}`` or ``{}``: a file or folder to limit a command to, or everything."""

    uri: DocumentUri | None = None


class ArgumentError(ValueError):
    """A value of the wrong kind; its message is what the client is told."""


def _document_uri(value: Any, _: type) -> DocumentUri:
    if not isinstance(value, str) or not value:
        raise ArgumentError("must be a non-empty string (a file: URI)")
    return DocumentUri(value)


def _query_text(value: Any, _: type) -> QueryText:
    if not isinstance(value, str) or not value.strip():
        raise ArgumentError("must be a non-empty string")
    return QueryText(value)


def _describe(exc: BaseException, type_: Any) -> str:
    return str(exc) if isinstance(exc, ArgumentError) else format_exception(exc, type_)


COMMAND_ARGS: tuple[type, ...] = (PositionArgs, QueryArgs, ScopeArgs)


def install_hooks(converter: Converter) -> None:
    """Teach the server's converter the strict argument types (done once, at start-up)."""
    converter.register_structure_hook(DocumentUri, _document_uri)
    converter.register_structure_hook(QueryText, _query_text)
    for cls in COMMAND_ARGS:
        converter.register_structure_hook(cls, readable_errors(cls, converter))


def readable_errors(cls: type, converter: Converter) -> Any:
    """cattrs's structuring of ``cls``, whose failure says which field is wrong and why."""
    structure: Callable[[Any, type], Any] = make_dict_structure_fn(cls, converter)

    def hook(value: Any, _: type) -> Any:
        if not isinstance(value, dict):
            raise TypeError(f"expected one object with {', '.join(f.name for f in attrs.fields(cls))}")
        try:
            return structure(value, cls)
        except ClassValidationError as exc:
            raise ValueError(
                "; ".join(transform_error(exc, path="arguments", format_exception=_describe))
            ) from None

    return hook


def structure_optional(converter: Converter, arguments: tuple[Any, ...], cls: type[ScopeArgs]) -> ScopeArgs:
    """Arguments of a command whose one object may be left out: none, ``{}`` or ``{"uri": …}``.

    pygls requires every declared argument, so such commands take ``*arguments`` and call this.
    """
    if not arguments:
        return cls()
    if len(arguments) > 1:
        raise TypeError(f"expected at most one object, got {len(arguments)} arguments")
    return converter.structure(arguments[0], cls)
