"""Two real ``codekin index`` processes on one index: one embeds, the other waits and reuses its vectors."""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import subprocess
import time
from pathlib import Path

from lsp_server.index.lock import LOCK_NAME

CODEKIN = str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "codekin")
WAITING = "waiting for another codekin process indexing"


def _workspace(root: Path) -> Path:
    for number in range(30):
        path = root / "src" / f"module_{number}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "\n\n".join(f"def f_{number}_{i}(x):\n    return x * {number} + {i}\n" for i in range(4)) + "\n"
        )
    return root


def _start(root: Path, index_dir: Path, stderr: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    cmd = [CODEKIN, "index", str(root), "--model", "minilm", "--device", "cpu"]
    with stderr.open("wb") as err:
        return subprocess.Popen(
            [*cmd, "--index-dir", str(index_dir), "--json"], env=env, stdout=subprocess.PIPE, stderr=err
        )


def _wait_for_text(paths: list[Path], text: str, procs: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + 300  # a generous bound on model loading, not a timing claim
    while not all(text in path.read_text(errors="replace") for path in paths):
        assert all(proc.poll() is None for proc in procs), [p.read_text() for p in paths]
        assert time.monotonic() < deadline, [p.read_text() for p in paths]
        time.sleep(0.2)


def test_two_processes_embed_each_content_once(tmp_path: Path) -> None:
    root = _workspace(tmp_path / "ws")
    index_dir = tmp_path / "index"
    index_dir.mkdir()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    env["CODEKIN_EMBED_CHUNK"] = "16"
    errs = [tmp_path / "a.err", tmp_path / "b.err"]
    holder = os.open(index_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(holder, fcntl.LOCK_EX)  # a third process in the embedding phase: both must wait
    try:
        procs = [_start(root, index_dir, err, env) for err in errs]
        _wait_for_text(errs, WAITING, procs)
    finally:
        fcntl.flock(holder, fcntl.LOCK_UN)
        os.close(holder)
    summaries = []
    for proc, err in zip(procs, errs, strict=True):
        out, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, err.read_text()
        summaries.append(json.loads(out))
    with sqlite3.connect(index_dir / "index.sqlite3") as db:
        contents = db.execute("SELECT count(DISTINCT space || hash) FROM units").fetchone()[0]
        vectors = db.execute("SELECT count(*) FROM vectors").fetchone()[0]
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    embedded = sorted(summary["embedded"] for summary in summaries)
    assert embedded[0] == 0 and sum(embedded) == contents == vectors == summaries[0]["units"]
    assert all(summary["units"] == contents for summary in summaries)
