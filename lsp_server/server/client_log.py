"""The server's log, forwarded to the client's ``window/logMessage`` as well as to stderr."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, ClassVar

from lsprotocol import types

if TYPE_CHECKING:
    from lsp_server.server.core import CodekinServer


class ClientLogHandler(logging.Handler):
    """Forwards log records to the client's ``window/logMessage``, from any thread."""

    LEVELS: ClassVar[dict[int, types.MessageType]] = {
        logging.ERROR: types.MessageType.Error,
        logging.WARNING: types.MessageType.Warning,
        logging.INFO: types.MessageType.Info,
    }

    def __init__(self, server: CodekinServer) -> None:
        super().__init__(logging.INFO)
        self.server = server

    def emit(self, record: logging.LogRecord) -> None:
        kind = next(
            (kind for level, kind in self.LEVELS.items() if record.levelno >= level), types.MessageType.Log
        )
        try:
            message = self.format(record)
        except Exception:
            return
        self.server.call_in_loop(
            self.server.window_log_message, types.LogMessageParams(type=kind, message=message)
        )
