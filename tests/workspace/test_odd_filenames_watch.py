"""Odd file names in discovery and in the watcher, against the real filesystem and watchdog."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import pytest

from lsp_server.config import Settings
from lsp_server.workspace.discovery import Skipped, discover
from lsp_server.workspace.names import name_problem, shown
from lsp_server.workspace.watcher import DebouncedWatcher

pytestmark = pytest.mark.filterwarnings("ignore:Callback with id .* already exists:RuntimeWarning")

GOOD = ("new\nline.py", "-rf.py", " lead space.py", "caf\u00e9.py", "cafe\u0301.py", "l" * 252 + ".py")
BAD = (b"bad\xff.py", b"sur\xed\xa0\x80.py")


def _write_raw(root: Path, name: bytes, text: str = "x = 1\n") -> None:
    with open(os.fsencode(root) + b"/" + name, "w", encoding="utf-8") as handle:
        handle.write(text)


def test_names_and_how_a_log_line_shows_them() -> None:
    assert name_problem("new\nline.py") is None and name_problem("caf\u00e9.py") is None
    assert name_problem(os.fsdecode(b"bad\xff.py")) is not None
    assert shown(os.fsdecode(b"bad\xff.py")) == "bad\\xff.py"
    assert shown("new\nline\r\x01.py") == "new\\nline\\r\\x01.py"
    assert shown("caf\u00e9 \U0001f600.py") == "caf\u00e9 \U0001f600.py"


def test_discovery_skips_bad_names_with_a_report_and_keeps_the_rest(tmp_path: Path) -> None:
    for name in GOOD:
        (tmp_path / name).write_text("x = 1\n", encoding="utf-8")
    for raw in BAD:
        _write_raw(tmp_path, raw)
    os.mkdir(os.fsencode(tmp_path) + b"/pkg\xfe")
    _write_raw(tmp_path, b"pkg\xfe/inner.py")
    _write_raw(tmp_path, b"notes\xff.txt")  # not wanted anyway: no report
    skipped: list[Skipped] = []
    found = discover(tmp_path, Settings(), wanted=lambda rel: rel.endswith(".py"), on_skip=skipped.append)
    assert sorted(f.path for f in found) == sorted(GOOD)
    assert sorted(os.fsencode(s.path) for s in skipped) == sorted([*BAD, b"pkg\xfe/"])
    assert all("not valid UTF-8" in s.reason for s in skipped)


def test_the_watcher_passes_odd_names_and_drops_bad_ones_with_a_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="lsp_server.workspace.watcher")
    seen: set[str] = set()
    arrived = threading.Condition()

    def on_batch(batch: set[str]) -> None:
        with arrived:
            seen.update(batch)
            arrived.notify_all()

    watcher = DebouncedWatcher(tmp_path, on_batch, quiet=0.1, max_wait=1.0)
    watcher.start()
    try:
        assert watcher.active
        for raw in BAD:
            _write_raw(tmp_path, raw)
        for name in GOOD:
            (tmp_path / name).write_text("x = 2\n", encoding="utf-8")
        with arrived:
            assert arrived.wait_for(lambda: set(GOOD) <= seen, timeout=30), sorted(seen)
    finally:
        watcher.stop()
    assert all(name_problem(path) is None for path in seen)
    dropped = [m for m in caplog.messages if "not valid UTF-8" in m]
    assert any("bad\\xff.py" in m for m in dropped) and any("sur\\xed\\xa0\\x80.py" in m for m in dropped)
