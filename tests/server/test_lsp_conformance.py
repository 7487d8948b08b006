"""What JSON-RPC and the LSP require of a server, and where ``--tcp`` listens, against real processes.

Requests before ``initialize``, ids that are neither integers nor strings, ``$/cancelRequest``
without a usable id, a 20 MB ``workspace/symbol`` query; ``codekin serve --tcp`` on loopback, beyond
it (refused without ``--allow-remote``), on IPv6 loopback, and with a second client knocking.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.server.raw_lsp import ENV, RawServer, frame, request
from tests.workspace_fixture import make_workspace

PROBE = {"query": "probe"}


def error_code(answer: dict[str, Any]) -> int:
    assert "error" in answer, answer
    return int(answer["error"]["code"])


def test_requests_before_initialize_get_server_not_initialized(tmp_path: Path) -> None:
    server = RawServer(tmp_path)
    try:
        assert error_code(server.call(1, "workspace/symbol", PROBE)) == -32002
        assert error_code(server.call(2, "shutdown", None)) == -32002
        document = {"uri": (tmp_path / "a.py").as_uri(), "languageId": "python", "version": 1, "text": ""}
        server.send(
            frame({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": document}})
        )
        assert "capabilities" in server.initialize(tmp_path)["result"]
        assert (
            error_code(server.call(3, "initialize", {"processId": None, "rootUri": None, "capabilities": {}}))
            == -32600
        )
        assert server.call(4, "workspace/symbol", PROBE)["result"] == []
        log = server.log()
        assert "workspace/symbol request before initialize" in log
        assert "dropped a textDocument/didOpen notification" in log
    finally:
        server.close()


def test_an_id_that_is_not_an_integer_or_a_string_is_an_invalid_request(tmp_path: Path) -> None:
    server = RawServer(tmp_path)
    try:
        server.initialize(tmp_path)
        for bad_id in ({"a": 1}, [1], None, True, 1.5):
            server.send(frame(request(bad_id, "workspace/symbol", PROBE)))
            answer = server.response(None)
            assert error_code(answer) == -32600 and answer["id"] is None
        server.send(frame({"jsonrpc": "2.0", "id": 5, "method": 7}))
        assert error_code(server.response(5)) == -32600
        server.send(frame({"jsonrpc": "1.0", "id": 6, "method": "workspace/symbol", "params": PROBE}))
        assert error_code(server.response(6)) == -32600
        assert server.call(7, "workspace/symbol", PROBE)["result"] == []
        assert "Traceback" not in server.log()
    finally:
        server.close()


def test_a_cancel_without_a_usable_id_is_dropped_in_one_line(tmp_path: Path) -> None:
    server = RawServer(tmp_path)
    try:
        server.initialize(tmp_path)
        cancels: list[dict[str, Any]] = [
            {"params": {"id": None}},
            {"params": {"id": {"x": 1}}},
            {"params": {}},
            {"params": None},
            {},
            {"params": {"id": 12345}},  # a request that is not running (long answered, say): quietly
        ]
        before = len(server.log().splitlines())
        for number, cancel in enumerate(cancels):
            server.send(frame({"jsonrpc": "2.0", "method": "$/cancelRequest"} | cancel))
            assert server.call(100 + number, "workspace/symbol", PROBE)["result"] == []
        log = server.log()
        assert "Traceback" not in log
        assert len(log.splitlines()) - before <= len(cancels) - 1
    finally:
        server.close()


def test_a_twenty_megabyte_symbol_query_is_cut_and_answered(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    server = RawServer(tmp_path)
    try:
        server.initialize(tmp_path, root)
        deadline = time.monotonic() + 180
        while True:
            status = server.call(
                f"s{time.monotonic_ns()}", "workspace/executeCommand", {"command": "codekin.status"}
            )
            folders = status["result"]["folders"]
            if folders and all(f.get("lastUpdate") for f in folders) and not status["result"]["indexing"]:
                break
            assert time.monotonic() < deadline, "indexing did not finish"
            time.sleep(0.2)
        answer = server.call(1, "workspace/symbol", {"query": "load_json_config" * 1_250_000})
        assert isinstance(answer.get("result"), list), answer
        named = server.call(2, "workspace/symbol", {"query": "load_json_config"})["result"]
        assert any(symbol["name"].endswith("load_json_config") for symbol in named)
        log = server.log()
        assert "a 20000000-character query, cut to its first 256" in log
        assert "too complex" not in log and "Traceback" not in log
    finally:
        server.close()


# --- codekin serve --tcp -------------------------------------------------------------------------------


def free_port(family: socket.AddressFamily = socket.AF_INET, host: str = "127.0.0.1") -> int:
    with socket.socket(family) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def serve(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "lsp_server.entry", "serve", *args]
    return subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("address", ["0.0.0.0:{port}", "[::]:{port}", ":{port}x", "host:"])
def test_tcp_beyond_loopback_or_malformed_is_refused(address: str) -> None:
    done = serve("--tcp", address.format(port=free_port()))
    assert done.returncode == 2, done.stderr
    if "0.0.0.0" in address or "[::]" in address:
        assert "without --allow-remote" in done.stderr
    else:
        assert "HOST:PORT" in done.stderr


def talk_over_tcp(tmp_path: Path, connect_to: tuple[str, int], *args: str) -> RawServer:
    """Start ``codekin serve`` with ``args``, connect, and check it answers (before initialize: -32002)."""
    server = RawServer(tmp_path, *args, tcp=connect_to)
    server.connect(connect_to)
    assert error_code(server.call(1, "workspace/symbol", PROBE)) == -32002
    return server


def test_tcp_with_only_a_port_listens_on_loopback_for_one_client(tmp_path: Path) -> None:
    port = free_port()
    server = talk_over_tcp(tmp_path, ("127.0.0.1", port), "--tcp", str(port))
    try:
        second = socket.create_connection(("127.0.0.1", port), timeout=60)
        assert second.recv(1) == b""  # closed at once: the first client keeps the server
        second.close()
        assert server.call(2, "workspace/symbol", PROBE)["error"]["code"] == -32002
        server.send(frame({"jsonrpc": "2.0", "method": "exit"}))
        assert server.wait() == 1  # exit without shutdown
        log = server.log()
        assert "listening on ('127.0.0.1'" in log and "refused a second client" in log
    finally:
        server.close()


def test_tcp_beyond_loopback_with_allow_remote_listens_and_warns(tmp_path: Path) -> None:
    port = free_port(host="0.0.0.0")
    server = talk_over_tcp(tmp_path, ("127.0.0.1", port), "--tcp", f"0.0.0.0:{port}", "--allow-remote")
    try:
        assert "beyond loopback (--allow-remote)" in server.log()
    finally:
        server.close()


def _ipv6_loopback() -> bool:
    try:
        free_port(socket.AF_INET6, "::1")
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback here")
def test_tcp_on_bracketed_ipv6_loopback(tmp_path: Path) -> None:
    port = free_port(socket.AF_INET6, "::1")
    server = talk_over_tcp(tmp_path, ("::1", port), "--tcp", f"[::1]:{port}")
    server.close()
