"""What a full update has to re-read: the files found that are new or changed, and those gone.

Size and modification time decide, without reading a byte; an open buffer is always
re-read, since its text is not the disk's.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from lsp_server.config import Settings
from lsp_server.index.store import StoredFile
from lsp_server.units.languages import language_for_path
from lsp_server.workspace.discovery import FileStat, Skipped, discover
from lsp_server.workspace.names import shown

log = logging.getLogger(__name__)


def indexable_files(root: Path, settings: Settings) -> list[FileStat]:
    """The workspace's files in a language codekin extracts; what is left out is logged."""
    return list(
        discover(root, settings, wanted=lambda rel: language_for_path(rel) is not None, on_skip=_log_skip)
    )


def stale_files(
    found: list[FileStat], known: Mapping[str, StoredFile], open_buffers: set[str]
) -> tuple[list[FileStat], list[str]]:
    """(the files ``found`` to re-read, the stored paths gone: neither found nor open in a buffer)."""
    changed = [
        f
        for f in found
        if (k := known.get(f.path)) is None
        or (k.size, k.mtime_ns) != (f.size, f.mtime_ns)
        or f.path in open_buffers
    ]
    seen = {f.path for f in found}
    gone = [path for path in known if path not in seen and path not in open_buffers]
    return changed, gone


def _log_skip(skipped: Skipped) -> None:
    log.info("skipped %s: %s", shown(skipped.path), skipped.reason)
