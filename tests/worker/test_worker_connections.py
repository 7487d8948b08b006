"""Connection abuse against a real worker: silent connections, too many connections, loopback names.

One worker (minilm on the CPU) with a one-second idle timeout and a limit of three connections serves
the module; the clients are plain sockets speaking docs/worker-protocol.md, and codekin's own
``RemoteEmbedder`` for what a real client sees.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lsp_server.addresses import bare_host, is_loopback, split_host_port
from lsp_server.embedding import EmbeddingError
from lsp_server.embedding.remote.client import RemoteEmbedder
from lsp_server.embedding.remote.wire import HEADER, Limits, decode_body, encode_frame
from tests.worker.test_worker import REPO, WORKER_ENV, WorkerProcess, free_port, start_worker, worker_command

IDLE_S = 1.0
LIMIT = 3


class Peer:
    """A raw connection: the first frame (hello, or the refusal) is read on connect."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.sock = socket.create_connection((host, port), timeout=60)
        self.first = self.recv()

    def recv(self) -> dict[str, Any] | None:
        header = self._exactly(HEADER.size)
        if header is None:
            return None
        body = self._exactly(HEADER.unpack(header)[0])
        assert body is not None, "closed in the middle of a frame"
        return decode_body(body, Limits())

    def _exactly(self, n: int) -> bytes | None:
        data = b""
        while len(data) < n:
            try:
                chunk = self.sock.recv(n - len(data))
            except ConnectionResetError:
                return None
            if not chunk:
                return None
            data += chunk
        return data

    def embed(self, request_id: int, text: str) -> np.ndarray:
        message = {"t": "embed", "id": request_id, "texts": [text], "task": "nl2code", "side": "query"}
        self.sock.sendall(encode_frame(message | {"dim": None, "dtype": "f32"}))
        reply = self.recv()
        assert reply is not None and reply["t"] == "vectors" and reply["id"] == request_id, reply
        return np.frombuffer(reply["data"], dtype=np.float32)

    def close(self) -> None:
        self.sock.close()


def wait_for(check: Any, what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return result


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    folder = tmp_path_factory.mktemp("worker-connections")
    process = start_worker(folder, "--idle-timeout", str(IDLE_S), "--max-connections", str(LIMIT))
    yield process
    assert process.stop() == 0, process.stderr_file.read_text()


def test_a_silent_connection_is_closed_with_an_error(worker: WorkerProcess) -> None:
    peer = Peer(worker.port)
    assert peer.first is not None and peer.first["t"] == "hello"
    reply = peer.recv()  # it sends nothing: the worker gives up on it
    assert reply is not None and (reply["t"], reply["id"], reply["code"]) == ("error", None, "idle_timeout")
    assert peer.recv() is None
    peer.close()
    wait_for(lambda: "protocol error idle_timeout" in worker.log(), "the close in the log")


def test_a_connection_that_spoke_is_not_timed_out(worker: WorkerProcess) -> None:
    peer = Peer(worker.port)
    first = peer.embed(1, "sort a list")
    time.sleep(IDLE_S * 2.5)  # idle after its first request: still served
    assert np.array_equal(peer.embed(2, "sort a list"), first)
    peer.close()


def test_connections_beyond_the_limit_are_refused(worker: WorkerProcess) -> None:
    held = [Peer(worker.port) for _ in range(LIMIT)]
    for number, peer in enumerate(held):
        peer.embed(number, "hold this connection open")
    extra = Peer(worker.port)  # one too many: told why, then closed
    assert extra.first is not None and (extra.first["t"], extra.first["code"]) == ("error", "busy")
    assert extra.recv() is None
    extra.close()
    with pytest.raises(EmbeddingError, match="refused the connection: busy"):
        RemoteEmbedder(f"remote://127.0.0.1:{worker.port}?fallback=error")
    assert worker.log().count("refusing new ones") == 1  # one line for the whole episode
    held.pop().close()

    def served() -> bool:
        peer = Peer(worker.port)
        ok = peer.first is not None and peer.first["t"] == "hello"
        if ok:
            held.append(peer)
            peer.embed(9, "back in")
        else:
            peer.close()
        return ok

    wait_for(served, "a free slot once a connection closed")
    assert "accepting connections again" in worker.log()
    for peer in held:
        peer.close()


def test_the_remote_client_outlives_the_idle_close_of_its_pooled_connection(worker: WorkerProcess) -> None:
    closed_before = worker.log().count("protocol error idle_timeout")

    def connected() -> RemoteEmbedder | None:  # the previous test's closes may not have reached the worker
        try:
            return RemoteEmbedder(f"remote://127.0.0.1:{worker.port}?fallback=error")
        except EmbeddingError as exc:
            if "busy" not in str(exc):
                raise
            return None

    embedder = wait_for(connected, "a free connection slot")
    try:  # its first connection sits in the pool, silent, and the worker closes it
        wait_for(lambda: worker.log().count("protocol error idle_timeout") > closed_before, "the idle close")
        vectors = embedder.embed(["read a file line by line"], task="nl2code", side="query")
    finally:
        embedder.close()
    assert vectors.shape == (1, embedder.dim)


def test_loopback_names() -> None:
    for host in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", " 127.0.0.1 ", "::ffff:127.0.0.1"):
        assert is_loopback(host), host
    for host in ("", "*", "0.0.0.0", "::", "[::]", "192.168.1.10", "8.8.8.8"):
        assert not is_loopback(host), host
    assert bare_host("[::1]") == "::1"
    assert split_host_port("[::1]:2087") == ("::1", 2087)
    assert split_host_port("2087") == split_host_port(":2087") == ("127.0.0.1", 2087)
    assert split_host_port("0.0.0.0:1") == ("0.0.0.0", 1)
    for bad in ("host:", "host:port", "[::1:2087", "1:99999"):
        with pytest.raises(ValueError):
            split_host_port(bad)


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback here")
def test_the_worker_listens_on_bracketed_ipv6_loopback(tmp_path: Path) -> None:
    port = free_port()
    log_file = tmp_path / "worker.log"
    command = worker_command("--host", "[::1]", "--port", str(port), "--log-file", str(log_file))
    process = subprocess.Popen(command, cwd=REPO, env=WORKER_ENV, stderr=subprocess.PIPE)
    try:

        def connected() -> Peer | None:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            try:
                return Peer(port, host="::1")
            except OSError:
                return None

        peer = wait_for(connected, "the worker on [::1]", timeout=180)
        assert peer.first is not None and peer.first["t"] == "hello"
        assert peer.embed(1, "x").shape == (384,)
        peer.close()
    finally:
        process.terminate()
        process.wait(timeout=60)
