"""What the server core announces, so that features subscribe instead of the core calling them.

Handlers run on the event loop, in the order they subscribed. One failing handler is
logged and does not keep the others from running.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from lsp_server.server.folders import Folder
    from lsp_server.server.options import ServerOptions

log = logging.getLogger(__name__)

T = TypeVar("T")


class Event(Generic[T]):
    """A list of handlers called with one value each time the event is emitted."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._handlers: list[Callable[[T], None]] = []

    def subscribe(self, handler: Callable[[T], None]) -> None:
        self._handlers.append(handler)

    def emit(self, value: T) -> None:
        for handler in list(self._handlers):
            try:
                handler(value)
            except Exception:
                log.exception("a handler of %s failed", self.name)


@dataclass
class ServerEvents:
    """The core's events. Values: the folders whose index changed; the new options; a document's URI."""

    index_changed: Event[list[Folder]] = field(default_factory=lambda: Event("index changed"))
    """Stored units or vectors changed: lenses and diagnostics may show something else now."""
    settings_changed: Event[ServerOptions] = field(default_factory=lambda: Event("settings changed"))
    """Options changed without a re-index (a feature switched, a threshold): answers may differ."""
    document_opened: Event[str] = field(default_factory=lambda: Event("document opened"))
    document_closed: Event[str] = field(default_factory=lambda: Event("document closed"))
