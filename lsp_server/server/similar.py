"""The near-duplicates of each symbol of a file, as code lenses and diagnostics both show them."""

from __future__ import annotations

from lsp_server.retrieval.duplicates import duplicates_of
from lsp_server.retrieval.hits import Hit
from lsp_server.server.folders import Folder


def similar_in_file(folder: Folder, path: str) -> list[tuple[int, int, list[Hit]]]:
    """(unit id, start line, near-duplicates) of each symbol of ``path`` that has some."""
    index = folder.index
    if index is None:
        return []
    settings = folder.settings
    found = duplicates_of(index, path, settings.duplicate_threshold, settings.duplicate_min_lines)
    return [(unit.id, unit.start_line, hits) for unit, hits in found]
