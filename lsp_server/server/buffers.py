"""Open buffers and their unsaved text: an edit reaches the index after a pause in typing, a save at once.

pygls keeps the buffers' text; queries about a position read it from there, so they see
unsaved code even before the index takes it. The index sees an edited buffer through an
overlay, laid over the file on disk until the buffer is saved or closed.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from lsp_server.server.folders import Folder, folder_for

if TYPE_CHECKING:
    from lsp_server.server.core import CodekinServer


class Buffers:
    def __init__(self, server: CodekinServer) -> None:
        self.server = server
        self.edited: set[str] = set()
        """URIs of buffers changed since they were opened or saved: their text, not the disk's, is indexed."""
        self._debounce: dict[str, asyncio.TimerHandle] = {}

    def changed(self, uri: str) -> None:
        """An edit: the overlay now, the index after a pause in typing."""
        server = self.server
        located = server.locate(uri)
        if located is None or located.folder.index is None or located.text is None:
            return
        self.edited.add(uri)
        located.folder.index.set_overlay(located.path, _encoded(located.text))
        self._cancel(uri)
        assert server.loop is not None
        self._debounce[uri] = server.loop.call_later(
            server.options.index_delay_ms / 1000, self._index_buffer, located.folder, located.path, uri
        )

    def _index_buffer(self, folder: Folder, path: str, uri: str) -> None:
        self._debounce.pop(uri, None)
        if folder in self.server.folders:
            self.server.jobs.schedule_paths(folder, [path])

    def saved_or_closed(self, uri: str) -> None:
        """The disk is the truth again for this file (saved), or the unsaved edits are gone (closed)."""
        self._cancel(uri)
        self.edited.discard(uri)
        located = folder_for(self.server.folders, uri)
        if located is None or located[0].index is None:
            return
        folder, rel = located
        assert folder.index is not None
        folder.index.set_overlay(rel, None)
        self.server.jobs.schedule_paths(folder, [rel])

    def lay_overlays(self, folder: Folder) -> None:
        """A folder (re)opened: give its index the unsaved text of the buffers edited in it."""
        assert folder.index is not None
        for uri in self.edited:
            located = folder_for([folder], uri)
            text = self.server.buffer_text(uri)
            if located is not None and text is not None:
                folder.index.set_overlay(located[1], _encoded(text))

    def cancel_pending(self) -> None:
        for handle in self._debounce.values():
            handle.cancel()
        self._debounce.clear()

    def _cancel(self, uri: str) -> None:
        if (handle := self._debounce.pop(uri, None)) is not None:
            handle.cancel()


def _encoded(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")
