"""A cold index killed (SIGKILL) at 20 points, each restart resuming: consistent, nothing lost or doubled.

Seventeen kills land at points of the embedding (as soon as the store exists, then each time another
sixteenth of the vectors is stored); three land inside the HNSW save, before each of its three renames
(the process runs the real CLI, with the ANN module's ``os.replace`` made to kill the process at the
chosen call). After every kill the store must pass SQLite's integrity check and hold no vector twice,
none that belongs to no unit, and never fewer than before; the last run embeds exactly what was still
pending, and the run after it embeds nothing.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "CODEKIN_EMBED_CHUNK": "8"}
KILL_AT_REPLACE = textwrap.dedent(
    """
    import os, signal, sys
    from lsp_server.index import ann
    from lsp_server.entry import main

    kill_at, calls, real = int(sys.argv.pop(1)), [0], os.replace

    class KillingOs:
        def __getattr__(self, name):
            return getattr(os, name)

        def replace(self, source, target):
            calls[0] += 1
            if calls[0] == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            real(source, target)

    ann.os = KillingOs()
    sys.exit(main(sys.argv[1:]))
    """
)


def make_workspace(root: Path) -> int:
    for number in range(40):
        path = root / "src" / f"gen_{number}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "\n".join(f"def f_{number}_{i}(x):\n    return x * {number} + {i}\n" for i in range(5))
        )
    return 40 * 5


def index_command(root: Path, index_dir: Path) -> list[str]:
    return [
        str(root),
        "--model",
        "minilm",
        "--device",
        "cpu",
        "--index-dir",
        str(index_dir),
        "--spaces",
        "code",
    ]


def stored_vectors(db: Path) -> int:
    try:
        with sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute("SELECT count(*) FROM vectors").fetchone()[0])
    except sqlite3.Error:
        return 0


def kill_when_stored(cmd: list[str], db: Path, at_least: int) -> bool:
    """Run ``cmd`` and SIGKILL it once the store holds ``at_least`` vectors; False if it finished first."""
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if db.exists() and (at_least == 0 or stored_vectors(db) >= at_least):
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.01)
    proc.wait()
    return False


def check_consistent(db: Path, before: int) -> int:
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'vectors'").fetchone():
            return before  # killed before its tables were made: an empty file, which the next run fills
        total = conn.execute("SELECT count(*) FROM vectors").fetchone()[0]
        distinct = conn.execute("SELECT count(DISTINCT model || space || hash) FROM vectors").fetchone()[0]
        orphans = conn.execute(
            "SELECT count(*) FROM vectors v WHERE NOT EXISTS (SELECT 1 FROM units u WHERE u.hash = v.hash)"
        ).fetchone()[0]
    assert total == distinct and orphans == 0
    assert total >= before, "a kill lost stored vectors"
    return int(total)


@pytest.mark.timeout(900)
def test_twenty_kills_over_a_cold_index(tmp_path: Path) -> None:
    root, index_dir = tmp_path / "ws", tmp_path / "index"
    units = make_workspace(root)
    db = index_dir / "index.sqlite3"
    cli = [sys.executable, "-m", "lsp_server.entry", "index", *index_command(root, index_dir)]
    stored, killed = 0, 0
    for point in range(17):
        if kill_when_stored(cli, db, at_least=point * units // 16):
            killed += 1
        stored = check_consistent(db, stored)
    assert killed >= 12, f"only {killed} of 17 runs were still embedding when their kill came"
    for kill_at in (1, 2, 3):  # before the first, second and third rename of one ANN save
        (root / "src" / f"edit_{kill_at}.py").write_text(
            f"def edited_{kill_at}(y):\n    return y - {kill_at}\n"
        )
        run = subprocess.run(
            [sys.executable, "-c", KILL_AT_REPLACE, str(kill_at), "index", *index_command(root, index_dir)],
            env=ENV,
            capture_output=True,
            timeout=300,
        )
        assert run.returncode == -signal.SIGKILL, run.stderr.decode()
        stored = check_consistent(db, stored)
    finish = subprocess.run([*cli, "--json"], env=ENV, capture_output=True, text=True, timeout=300)
    assert finish.returncode == 0 and "Traceback" not in finish.stderr, finish.stderr
    final = check_consistent(db, stored)
    assert final == units + 3
    assert f'"embedded": {final - stored}' in finish.stdout  # only what was missing
    again = subprocess.run([*cli, "--json"], env=ENV, capture_output=True, text=True, timeout=300)
    assert '"embedded": 0' in again.stdout and "damaged" not in again.stderr
