"""Logging for the long-running processes (language server, worker): stderr, optionally a file."""

from __future__ import annotations

import logging
import sys


def setup_logging(verbose: int, log_file: str | None) -> None:
    """INFO for codekin's own loggers (DEBUG at -vv), WARNING for libraries; to stderr and ``log_file``."""
    level = [logging.INFO, logging.INFO, logging.DEBUG][min(verbose, 2)]
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s: %(message)s", handlers=handlers
    )
    logging.getLogger("lsp_server").setLevel(level)
