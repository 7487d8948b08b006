"""A server whose client vanished (its stdin closed, no shutdown) stops at once, even mid-indexing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.workspace_fixture import make_workspace


def _frame(message: dict[str, object]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def test_a_vanished_client_stops_the_server_mid_indexing(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    for number in range(1000):  # a minute of embedding here
        body = f"    total = {number}\n    for v in values:\n        total += v * {number % 7}\n"
        body += "    return total\n"
        (root / f"gen_{number}.py").write_text(f"def generated_{number}(values):\n{body}")
    log_file = tmp_path / "server.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    command = [sys.executable, "-m", "lsp_server", "--log-file", str(log_file)]
    pipe, quiet = subprocess.PIPE, subprocess.DEVNULL
    server = subprocess.Popen(command, stdin=pipe, stdout=pipe, stderr=quiet, env=env)
    assert server.stdin is not None
    options = {"model": "minilm", "device": "cpu", "indexDir": str(tmp_path / "index")}
    params = {
        "processId": None,
        "rootUri": root.as_uri(),
        "capabilities": {},
        "initializationOptions": options,
    }
    server.stdin.write(
        _frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params})
        + _frame({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    )
    server.stdin.flush()
    deadline = time.monotonic() + 120
    while "model minilm on cpu" not in (log_file.read_text() if log_file.exists() else ""):
        assert time.monotonic() < deadline and server.poll() is None, "the server did not start indexing"
        time.sleep(0.2)
    time.sleep(1.0)  # indexing is under way
    server.stdin.close()  # the editor crashed
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        raise AssertionError("the server kept running after its client went away") from None
    assert "stopping" in log_file.read_text()
