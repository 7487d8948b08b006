"""DebouncedWatcher against the real filesystem and the real watchdog observer (no mocks).

Timing is only ever asserted as "arrives within N seconds" with generous N: the CI machine is small and
shared, and inotify delivery latency is not something these tests should depend on.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lsp_server.workspace.watcher import RESCAN_ALL, DebouncedWatcher

# watchdog 7.1 warns (RuntimeWarning, from its inotify reader thread) when `mkdir -p a/b` makes it add
# the same watch twice: once while walking the new `a`, once for b's own IN_CREATE. Harmless, but under
# `-W error` the warning would kill watchdog's reader thread and every later event would be lost.
pytestmark = pytest.mark.filterwarnings("ignore:Callback with id .* already exists:RuntimeWarning")

TIMEOUT = 10.0
MakeWatcher = Callable[..., DebouncedWatcher]


class Collector:
    """An ``on_batch`` that records batches and lets the test wait for paths to show up."""

    def __init__(self, fail_first: int = 0) -> None:
        self.cond = threading.Condition()
        self.batches: list[set[str]] = []
        self.thread_names: set[str] = set()
        self.fail_first = fail_first
        self.calls = 0
        self._running = 0
        self.max_concurrent = 0

    def __call__(self, batch: set[str]) -> None:
        with self.cond:
            self._running += 1
            self.max_concurrent = max(self.max_concurrent, self._running)
            self.calls += 1
            self.thread_names.add(threading.current_thread().name)
        try:
            time.sleep(0.01)  # widen the window in which a concurrent call would be caught
            with self.cond:
                if self.calls <= self.fail_first:
                    raise RuntimeError("on_batch failure injected by the test")
                self.batches.append(set(batch))
        finally:
            with self.cond:
                self._running -= 1
                self.cond.notify_all()

    def seen(self, since: int = 0) -> set[str]:
        with self.cond:
            return set().union(*self.batches[since:])

    def wait_for(self, paths: set[str], *, since: int = 0, timeout: float = TIMEOUT) -> set[str]:
        """Wait until every path has been reported in batches[since:]; return what was reported."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                seen: set[str] = set().union(*self.batches[since:])
                if paths <= seen:
                    return seen
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"not reported within {timeout}s: {sorted(paths - seen)[:10]}")
                self.cond.wait(left)

    def mark(self) -> int:
        with self.cond:
            return len(self.batches)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    return root


@pytest.fixture
def make_watcher() -> Iterator[MakeWatcher]:
    """Build and start a watcher (asserting it is live); stop every one of them at teardown."""
    watchers: list[DebouncedWatcher] = []

    def make(
        root: Path,
        on_batch: Callable[[set[str]], None],
        *,
        quiet: float = 0.2,
        max_wait: float = 2.0,
        ignored: Callable[[str], bool] = lambda rel: False,
    ) -> DebouncedWatcher:
        w = DebouncedWatcher(root, on_batch, quiet=quiet, max_wait=max_wait, ignored=ignored)
        watchers.append(w)
        w.start()
        assert w.active
        return w

    yield make
    for w in watchers:
        w.stop()


def test_create_modify_delete(ws: Path, make_watcher: MakeWatcher) -> None:
    got = Collector()
    make_watcher(ws, got)
    (ws / "src").mkdir()
    f = ws / "src" / "a.py"

    f.write_text("x = 1\n")
    got.wait_for({"src/a.py"})

    mark = got.mark()
    with f.open("a") as fh:
        fh.write("y = 2\n")
    got.wait_for({"src/a.py"}, since=mark)

    mark = got.mark()
    f.unlink()
    got.wait_for({"src/a.py"}, since=mark)
    # a directory creation is not itself reported; only files are
    assert "src/" not in got.seen() and "src" not in got.seen()


def test_burst_of_1000_files_is_coalesced(ws: Path, make_watcher: MakeWatcher) -> None:
    got = Collector()
    make_watcher(ws, got, quiet=0.3, max_wait=5.0)
    expected = set()
    for d in range(10):
        sub = ws / "gen" / f"d{d}"
        sub.mkdir(parents=True)  # new directories mid-burst: their files must not be missed
        for i in range(100):
            (sub / f"f{i}.py").write_text(f"v = {i}\n")
            expected.add(f"gen/d{d}/f{i}.py")

    got.wait_for(expected)
    time.sleep(0.6)  # let any straggler batch land before counting
    batches = [b for b in got.batches if b & expected]
    assert len(batches) <= 3, [len(b) for b in batches]
    assert got.max_concurrent == 1
    assert got.thread_names and all(n.startswith("codekin-watcher") for n in got.thread_names)


def test_file_and_directory_moves(tmp_path: Path, ws: Path, make_watcher: MakeWatcher) -> None:
    (ws / "old.py").write_text("a = 1\n")
    (ws / "pkg").mkdir()
    (ws / "pkg" / "m.py").write_text("b = 2\n")
    (ws / "gone").mkdir()
    (ws / "gone" / "g.py").write_text("c = 3\n")
    got = Collector()
    make_watcher(ws, got)

    (ws / "old.py").rename(ws / "new.py")
    got.wait_for({"old.py", "new.py"})

    mark = got.mark()
    (ws / "pkg").rename(ws / "lib")
    # the directory itself (trailing "/"), both ends, plus the file now inside it
    got.wait_for({"pkg/", "lib/", "lib/m.py"}, since=mark)

    mark = got.mark()
    outside = tmp_path / "outside"
    (ws / "gone").rename(outside)  # moved out of the workspace: only a directory-level event exists
    seen = got.wait_for({"gone/"}, since=mark)
    assert not any(p.startswith("outside") or p.startswith("..") for p in seen)


def test_git_and_ignored_paths_never_reported(ws: Path, make_watcher: MakeWatcher) -> None:
    (ws / ".git" / "refs" / "heads").mkdir(parents=True)
    (ws / "vendor" / "dep" / ".git").mkdir(parents=True)
    got = Collector()
    make_watcher(ws, got, ignored=lambda rel: rel.startswith("build/") or rel.endswith(".log"))

    (ws / ".git" / "index").write_bytes(b"\0" * 64)
    (ws / ".git" / "refs" / "heads" / "main").write_text("0" * 40)
    (ws / ".git" / "index.lock").write_text("")
    (ws / ".git" / "index.lock").rename(ws / ".git" / "index2")
    (ws / ".git" / "objects").mkdir()
    (ws / ".git" / "objects" / "ab").write_bytes(b"blob")
    (ws / "vendor" / "dep" / ".git" / "HEAD").write_text("ref: x\n")
    (ws / "build").mkdir()
    (ws / "build" / "out.o").write_bytes(b"\x7fELF")
    (ws / "debug.log").write_text("noise\n")
    # Events are delivered in order, so once the sentinel is in, everything above has been processed.
    (ws / "sentinel.py").write_text("ok = True\n")
    seen = got.wait_for({"sentinel.py"})

    assert not [p for p in seen if ".git" in p.split("/")], seen
    assert not [p for p in seen if p.startswith("build/") or p.endswith(".log")], seen


def test_on_batch_raising_keeps_watching(
    ws: Path, make_watcher: MakeWatcher, caplog: pytest.LogCaptureFixture
) -> None:
    got = Collector(fail_first=1)
    make_watcher(ws, got)
    with caplog.at_level(logging.ERROR, logger="lsp_server.workspace.watcher"):
        (ws / "first.py").write_text("1\n")
        deadline = time.monotonic() + TIMEOUT
        while got.calls < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert got.calls >= 1

        (ws / "second.py").write_text("2\n")
        got.wait_for({"second.py"})
    assert "still watching" in caplog.text
    assert "on_batch failure injected by the test" in caplog.text


def test_stop_is_idempotent_and_final(ws: Path) -> None:
    DebouncedWatcher(ws, lambda b: None).stop()  # never started: fine

    got = Collector()
    w = DebouncedWatcher(ws, got, quiet=0.2)
    w.start()
    assert w.active
    (ws / "a.py").write_text("1\n")
    got.wait_for({"a.py"})

    (ws / "pending.py").write_text("2\n")  # still inside the quiet window when stop() drops it
    w.stop()
    calls_at_stop = got.calls
    w.stop()
    assert not w.active
    for i in range(20):
        (ws / f"after{i}.py").write_text("3\n")
    time.sleep(0.8)  # several quiet periods: nothing may arrive
    assert got.calls == calls_at_stop
    assert not [p for p in got.seen() if p.startswith("after")]
    with pytest.raises(RuntimeError):
        w.start()


def test_stop_waits_for_running_batch(ws: Path) -> None:
    entered = threading.Event()
    finished: list[bool] = []

    def slow(batch: set[str]) -> None:
        entered.set()
        time.sleep(0.3)
        finished.append(True)

    w = DebouncedWatcher(ws, slow, quiet=0.1)
    w.start()
    (ws / "a.py").write_text("1\n")
    assert entered.wait(TIMEOUT)
    w.stop()
    assert finished == [True]


def test_unwatchable_root_degrades(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    got = Collector()
    w = DebouncedWatcher(tmp_path / "does-not-exist", got)
    with caplog.at_level(logging.WARNING, logger="lsp_server.workspace.watcher"):
        w.start()  # must not raise
    assert not w.active
    assert "Not watching" in caplog.text
    w.stop()
    w.stop()


def test_inotify_overflow_requests_full_rescan(ws: Path, make_watcher: MakeWatcher) -> None:
    """watchdog only *logs* IN_Q_OVERFLOW; the watcher turns that log record into RESCAN_ALL.

    Overflowing the real kernel queue (16k events by default) is too slow and flaky for a unit test, so
    this emits the record watchdog's inotify reader emits on overflow.
    """
    got = Collector()
    make_watcher(ws, got)
    logging.getLogger("watchdog.observers.inotify_c").warning(
        "Inotify queue overflowed; filesystem events were lost"
    )
    got.wait_for({RESCAN_ALL})
    assert os.path.normpath(ws / RESCAN_ALL) == str(ws)  # the marker joins back to the root
