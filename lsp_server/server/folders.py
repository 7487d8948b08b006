"""Workspace folders as the server tracks them: where each one is, its index and its indexing state."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from pathlib import Path

from pygls.uris import from_fs_path, to_fs_path

from lsp_server.config import Settings
from lsp_server.index.indexer import IndexSummary, WorkspaceIndex
from lsp_server.workspace.watcher import DebouncedWatcher


@dataclass(eq=False)
class Folder:
    """One workspace folder: its own settings (its config files under the client's), index and jobs."""

    uri: str
    root: Path
    settings: Settings
    index: WorkspaceIndex | None = None
    watcher: DebouncedWatcher | None = None
    pending_paths: set[str] = field(default_factory=set)
    unembedded_paths: set[str] = field(default_factory=set)
    """Updated beside a full run without their embedding: updated again once it ends."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    full_task: asyncio.Task[None] | None = None
    full_again: bool = False
    paths_task: asyncio.Task[None] | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    """Stops the running full update (the client's cancel, a reload, closing)."""
    closed: threading.Event = field(default_factory=threading.Event)
    """Stops every job of the folder; unlike ``cancel``, never set by the client's progress UI, so
    edits keep reaching the index after the user cancelled a full run."""
    indexing: bool = False
    """A full update is queued or running: answers may be partial."""
    partial_told: bool = False
    last_update: float | None = None
    last_summary: IndexSummary | None = None
    error: str | None = None

    def relative(self, path: Path) -> str | None:
        """``path`` relative to this folder (POSIX), or None when it lies outside."""
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return None

    def uri_of(self, rel: str) -> str:
        return from_fs_path(str(self.root / rel)) or f"file://{self.root / rel}"


def path_of_uri(uri: str) -> Path | None:
    """The local path of a ``file:`` URI, resolved; None for other schemes (untitled:, git:, …)."""
    if not uri.startswith("file:"):
        return None
    fs_path = to_fs_path(uri)
    return Path(fs_path).resolve() if fs_path else None


def folder_for(folders: list[Folder], uri: str) -> tuple[Folder, str] | None:
    """The innermost folder holding ``uri`` and the path relative to it."""
    path = path_of_uri(uri)
    if path is None:
        return None
    best: tuple[Folder, str] | None = None
    for folder in folders:
        rel = folder.relative(path)
        if rel is not None and (best is None or len(folder.root.parts) > len(best[0].root.parts)):
            best = (folder, rel)
    return best
