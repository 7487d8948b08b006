"""Server-initiated work-done progress: create, and only once the client accepted, begin → report → end.

The indexer reports from its own thread; reports are throttled and handed to the
event loop. A client's cancel sets the threading.Event that the indexer checks.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING

from lsprotocol import types

if TYPE_CHECKING:
    from lsp_server.server.core import CodekinServer

log = logging.getLogger(__name__)

REPORT_INTERVAL_S = 0.2


class IndexProgress:
    """One indexing run's progress; a no-op where the client has no work-done progress or refused it."""

    def __init__(self, server: CodekinServer, title: str, spaces: tuple[str, ...]) -> None:
        self.server = server
        self.title = title
        self.spaces = spaces
        self.token = f"codekin-{uuid.uuid4().hex[:12]}"
        self.active = False
        self._last_sent = 0.0
        self._last_percentage = -1

    async def begin(self, cancel: threading.Event) -> None:
        capabilities = self.server.client_capabilities
        if not (capabilities.window and capabilities.window.work_done_progress):
            return
        try:
            await self.server.work_done_progress.create_async(self.token)
        except Exception as exc:  # refused or failed: indexing goes on without a progress bar
            log.info("client did not accept work-done progress: %s", exc)
            return
        self.active = True
        future: Future[object] | None = self.server.work_done_progress.tokens.get(self.token)
        if future is not None:
            future.add_done_callback(lambda done: cancel.set() if done.cancelled() else None)
        self.server.work_done_progress.begin(
            self.token,
            types.WorkDoneProgressBegin(title=self.title, cancellable=True, message="scanning", percentage=0),
        )

    def threadsafe_reporter(self, loop: asyncio.AbstractEventLoop) -> Callable[[str, int, int], None]:
        """A callable for the indexer's thread that forwards (phase, done, total) to the loop."""

        def report(phase: str, done: int, total: int) -> None:
            if self.active:
                loop.call_soon_threadsafe(self.report, phase, done, total)

        return report

    def report(self, phase: str, done: int, total: int) -> None:
        if not self.active:
            return
        percentage, message = self._describe(phase, done, total)
        now = time.monotonic()
        final = done >= total
        if percentage == self._last_percentage and not final:
            return
        if now - self._last_sent < REPORT_INTERVAL_S and not final:
            return
        self._last_sent, self._last_percentage = now, percentage
        self.server.work_done_progress.report(
            self.token, types.WorkDoneProgressReport(message=message, percentage=percentage, cancellable=True)
        )

    def _describe(self, phase: str, done: int, total: int) -> tuple[int, str]:
        """Overall percentage (parse is the first tenth, then each space an equal share) and a message."""
        fraction = done / total if total else 1.0
        if phase == "scan":
            return 0, f"{total} files found"
        if phase == "parse":
            return int(10 * fraction), f"{done}/{total} files"
        space = phase.removeprefix("embed ")
        position = self.spaces.index(space) if space in self.spaces else 0
        share = 90 / max(1, len(self.spaces))
        percentage = int(10 + share * (position + fraction))
        return min(100, percentage), f"{done}/{total} {space} units"

    def end(self, message: str) -> None:
        if not self.active:
            return
        self.active = False
        self.server.work_done_progress.end(self.token, types.WorkDoneProgressEnd(message=message))
        self.server.work_done_progress.tokens.pop(self.token, None)
