"""Watching the workspace for changes made outside the editor (git checkout, code generators, other editors).

The editor tells us about the buffers it owns; everything else only shows up on disk. A ``git checkout``
can touch thousands of files in a fraction of a second, so raw filesystem events are debounced and
coalesced into *batches*: one set of paths per burst, handed to ``on_batch`` from the watcher's own thread.

What a batch contains (workspace-relative POSIX paths, relative to ``root.resolve()``):

* ``"pkg/mod.py"``: a file that was created, modified, deleted, or was the source or destination of a move.
  The consumer is expected to ``stat`` it to learn which (the event type is deliberately not kept:
  after coalescing, "created then deleted" and "deleted then recreated" both just mean "look again").
* ``"pkg/sub/"`` (trailing ``/``): a *directory* that was deleted or moved (source and destination). The
  files inside a directory moved out of the workspace, or deleted in one go, are not always reported one
  by one, so the consumer should rescan (or forget) everything below that prefix.
* ``RESCAN_ALL`` (``"./"``): the kernel dropped events (inotify queue overflow); rescan the whole workspace.

A path whose name is not valid UTF-8 is never reported (discovery skips such files; see ``names.py``):
a log line says so instead.

Other directory events (created, modified, attribute changes) are not reported: the files inside a new
directory are reported individually, which is what an indexer needs.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from watchdog.events import (
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from lsp_server.workspace.names import name_problem, shown

log = logging.getLogger(__name__)

RESCAN_ALL = "./"
"""Batch entry meaning "events were lost, rescan the whole workspace"."""

# Only what changes file contents or names. Leaving out opened/closed-no-write/dir-modified events keeps
# them out of the inotify mask entirely, so reading files (our own indexer included) costs nothing here.
_EVENT_FILTER: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileClosedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    DirDeletedEvent,
    DirMovedEvent,
]
_FILE_EVENTS = frozenset({"created", "modified", "closed", "deleted", "moved"})
_DIR_EVENTS = frozenset({"deleted", "moved"})

# watchdog's inotify backend recovers from a kernel queue overflow (IN_Q_OVERFLOW) by rebuilding its
# watches, but does not tell the event handler; the only trace is this warning. Lost events must become
# a full rescan, so the watcher listens for it.
_OVERFLOW_LOGGER = "watchdog.observers.inotify_c"
_OVERFLOW_MARK = "queue overflowed"


def _is_git_internal(rel: str) -> bool:
    """Git rewrites files under ``.git/`` constantly (index, refs, objects); none of them are source."""
    return rel == ".git" or rel.startswith(".git/") or "/.git/" in rel or rel.endswith("/.git")


class _Handler(FileSystemEventHandler):
    """Forwards every watchdog event to the watcher; kept separate so the watcher's API stays small."""

    def __init__(self, sink: Callable[[FileSystemEvent], None]) -> None:
        super().__init__()
        self._sink = sink

    def on_any_event(self, event: FileSystemEvent) -> None:
        self._sink(event)


class _OverflowSpy(logging.Filter):
    """Turns watchdog's "inotify queue overflowed" warning into a callback (it has no other signal)."""

    def __init__(self, on_overflow: Callable[[], None]) -> None:
        super().__init__()
        self._on_overflow = on_overflow

    def filter(self, record: logging.LogRecord) -> bool:
        if _OVERFLOW_MARK in str(record.msg):
            self._on_overflow()
        return True


class DebouncedWatcher:
    """Recursive watchdog observer whose events are coalesced into debounced batches of relative paths.

    A batch is flushed once no event arrived for ``quiet`` seconds, or at the latest ``max_wait``
    seconds after its first event, so a continuous stream of changes still makes progress.
    ``on_batch`` runs on the watcher's own thread, never concurrently with itself; if it raises, the
    error is logged and watching goes on. ``ignored(rel)`` receives each path exactly as it would be
    reported (directories with their trailing ``/``); anything under a ``.git`` directory and anything
    outside ``root`` is always ignored.

    If the OS refuses to watch (inotify instance/watch limits, missing root), ``start()`` logs a warning
    and returns with ``active`` False: the server keeps working, it just won't see outside changes.
    A watcher is single-use: once stopped it cannot be started again.
    """

    def __init__(
        self,
        root: Path,
        on_batch: Callable[[set[str]], None],
        *,
        quiet: float = 0.3,
        max_wait: float = 2.0,
        ignored: Callable[[str], bool] = lambda rel: False,
    ) -> None:
        if quiet <= 0 or max_wait <= 0:
            raise ValueError("quiet and max_wait must be positive")
        self.root = root.resolve()
        self.active: bool = False
        self._on_batch = on_batch
        self._quiet = quiet
        self._max_wait = max(max_wait, quiet)
        self._ignored = ignored
        root_str = str(self.root)
        self._prefix = root_str if root_str.endswith(os.sep) else root_str + os.sep

        self._cond = threading.Condition()
        self._pending: set[str] = set()
        self._first = 0.0  # monotonic time of the batch's first event
        self._last = 0.0  # monotonic time of the batch's latest event
        self._started = False
        self._stopping = False
        self._observer: BaseObserver | None = None
        self._thread: threading.Thread | None = None
        self._spy = _OverflowSpy(lambda: self._add((RESCAN_ALL,)))

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start watching. Never raises for OS-level failures: logs a warning and leaves ``active`` False."""
        with self._cond:
            if self._started:
                if self._stopping:
                    raise RuntimeError("DebouncedWatcher cannot be restarted after stop()")
                return
            self._started = True

        observer: BaseObserver | None = None
        try:
            observer = Observer()  # inotify: this already opens an inotify instance (EMFILE possible)
            observer.schedule(
                _Handler(self._on_event), str(self.root), recursive=True, event_filter=_EVENT_FILTER
            )
            observer.start()  # adds the recursive watches synchronously: OSError surfaces here
        except OSError as exc:
            log.warning(
                "Not watching %s for outside changes: %s. Files changed outside the editor will only be "
                "noticed on the next full scan. On Linux, raise fs.inotify.max_user_watches / "
                "max_user_instances if this is a watch limit.",
                self.root,
                exc,
            )
            self._dispose_unstarted(observer)
            return
        except Exception:
            log.exception("Not watching %s for outside changes: the file watcher failed to start", self.root)
            self._dispose_unstarted(observer)
            return

        thread = threading.Thread(target=self._run, name=f"codekin-watcher:{self.root.name}", daemon=True)
        with self._cond:
            # stop() may have run while the observer was starting; it found nothing to stop then.
            raced_stop = self._stopping
            if not raced_stop:
                logging.getLogger(_OVERFLOW_LOGGER).addFilter(self._spy)
                self._observer = observer
                self._thread = thread
                self.active = True
                thread.start()  # under the lock, so stop() never sees an unstarted thread to join
        if raced_stop:
            observer.stop()  # outside the lock: the dispatcher may be waiting for it in _add()
            observer.join(timeout=5.0)

    def stop(self) -> None:
        """Stop the observer and the batching thread and wait for both; pending paths are dropped.

        Idempotent. When it returns, no ``on_batch`` call is running or will start (unless called from
        inside ``on_batch`` itself, which then simply returns first).
        """
        with self._cond:
            self._started = True  # a never-started watcher must not start later either
            if self._stopping:
                return
            self._stopping = True
            self._pending.clear()
            self.active = False
            observer, thread = self._observer, self._thread
            self._cond.notify_all()

        logging.getLogger(_OVERFLOW_LOGGER).removeFilter(self._spy)
        current = threading.current_thread()
        if observer is not None:
            try:
                observer.stop()
                if observer is not current:
                    observer.join(timeout=5.0)
            except Exception:
                log.exception("Error while stopping the file watcher for %s", self.root)
        if thread is not None and thread is not current:
            thread.join()

    @staticmethod
    def _dispose_unstarted(observer: BaseObserver | None) -> None:
        """Release what a half-started observer holds (the inotify fd and its reader thread)."""
        if observer is None:
            return
        try:
            observer.stop()
        except Exception:
            log.debug("Error while disposing of an unstarted observer", exc_info=True)

    # -- event intake (watchdog's dispatcher thread) ---------------------------------------------------

    def _on_event(self, event: FileSystemEvent) -> None:
        """Called by watchdog's dispatcher; must not raise, since that would kill the dispatcher thread."""
        try:
            paths = self._paths_for(event)
        except Exception:
            log.exception("Could not handle file event %r", event)
            return
        if paths:
            self._add(paths)

    def _add(self, paths: Iterable[str]) -> None:
        with self._cond:
            if self._stopping:
                return
            now = time.monotonic()
            if not self._pending:
                self._first = now
                self._cond.notify()  # only the empty→non-empty transition needs to wake the flusher
            self._pending.update(paths)
            self._last = now

    def _paths_for(self, event: FileSystemEvent) -> list[str]:
        """The batch entries an event contributes: relative, filtered, directories marked with ``/``."""
        kind = event.event_type
        if event.is_directory:
            if kind not in _DIR_EVENTS:
                return []
        elif kind not in _FILE_EVENTS:
            return []
        raw = [event.src_path, event.dest_path] if kind == "moved" else [event.src_path]
        out: list[str] = []
        for p in raw:
            if not p:
                continue
            rel = self._relative(os.fsdecode(p))
            if rel is None or _is_git_internal(rel):
                continue
            if event.is_directory:
                rel += "/"
            if self._is_ignored(rel):
                continue
            if (problem := name_problem(rel)) is not None:  # never indexed: nothing to look at again
                log.info("change to %s not taken: %s", shown(rel), problem)
                continue
            out.append(rel)
        return out

    def _relative(self, path: str) -> str | None:
        """Workspace-relative POSIX path, or None for the root itself and anything outside it."""
        if not path.startswith(self._prefix):
            return None
        rel = path[len(self._prefix) :]
        if os.sep != "/":
            rel = rel.replace(os.sep, "/")
        return rel or None

    def _is_ignored(self, rel: str) -> bool:
        try:
            return self._ignored(rel)
        except Exception:
            log.exception("ignored(%r) raised; treating the path as not ignored", rel)
            return False

    # -- flushing (the watcher's own thread) -----------------------------------------------------------

    def _run(self) -> None:
        """Wait for a batch to go quiet (or hit max_wait), hand it over, repeat; sleeps when idle."""
        while True:
            with self._cond:
                while True:
                    if self._stopping:
                        return
                    if not self._pending:
                        self._cond.wait()
                        continue
                    now = time.monotonic()
                    due = min(self._last + self._quiet, self._first + self._max_wait)
                    if now >= due:
                        break
                    self._cond.wait(due - now)
                batch, self._pending = self._pending, set()
            try:
                self._on_batch(batch)
            except Exception:
                log.exception("File watcher batch handler failed (%d paths); still watching", len(batch))
