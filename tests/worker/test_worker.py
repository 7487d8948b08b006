"""The remote embedding worker, end to end: real worker processes, real sockets, the real minilm.

A tiny blocking client lives here (a socket and ``lsp_server.embedding.remote.wire``), independent of
the client half in ``lsp_server.embedding.remote.client``, so that the worker is checked against
docs/worker-protocol.md and not against another implementation's habits. Each worker is started
once per module.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lsp_server.embedding import TASKS, Embedder, Side, Task, load_embedder
from lsp_server.embedding.remote.wire import (
    HEADER,
    PROTOCOL_VERSION,
    Limits,
    auth_mac,
    decode_body,
    encode_frame,
    vectors_from_bytes,
)

REPO = Path(__file__).resolve().parents[2]
LIMITS = Limits()
TEXTS = [
    "def add(a, b):\n    return a + b\n",
    "sort a list in place",
    "class Stack:\n    def push(self, v):\n        self.items.append(v)\n",
    "x",
    "read a file line by line and count the words",
]
START_TIMEOUT_S = 180.0
# One intra-op thread: on a small shared machine, OpenMP threads spinning against each other make a
# two-text minilm call 25 times slower.
WORKER_ENV = os.environ | {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

# A self-signed P-256 certificate for 127.0.0.1 and localhost, valid 2000-2099: a fixture, not a secret.
TLS_CERT = """-----BEGIN CERTIFICATE-----
MIIBajCCARCgAwIBAgIBATAKBggqhkjOPQQDAjAXMRUwEwYDVQQDDAxjb2Rla2lu
LXRlc3QwIBcNMDAwMTAxMDAwMDAwWhgPMjA5OTEyMzEwMDAwMDBaMBcxFTATBgNV
BAMMDGNvZGVraW4tdGVzdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABAIqSTOK
XJY3UgygKk/JxJTZGs+mVBDuaaoYskCmo+akf92MXU81miv7kZ9uat+DPjyTkvdi
jCM32ZLsk0VacrWjSzBJMBoGA1UdEQQTMBGHBH8AAAGCCWxvY2FsaG9zdDAMBgNV
HRMBAf8EAjAAMB0GA1UdDgQWBBS6vC0MnHQnKdMT4FVmQDb538kYHzAKBggqhkjO
PQQDAgNIADBFAiA4a+T08sMmJ9DrACeLDFQjq+wnXMf2IAi1LiaU+NotcQIhAMGz
h76gIhYY5ey7IvrJKlk92Pegw3xbXB2FOy+tQBg2
-----END CERTIFICATE-----
"""
TLS_KEY = """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgeEK/07jFVyM/V2x+
+HyD0+UV4KJAHO2SQ4Y7EUcQ21ahRANCAAQCKkkzilyWN1IMoCpPycSU2RrPplQQ
7mmqGLJApqPmpH/djF1PNZor+5Gfbmrfgz48k5L3YowjN9mS7JNFWnK1
-----END PRIVATE KEY-----
"""


# --- a tiny blocking client --------------------------------------------------------------------------


class Client:
    """One connection: reads the hello on connect; frames in, frames out."""

    def __init__(self, port: int, *, tls: ssl.SSLContext | None = None, timeout: float = 60.0) -> None:
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock: socket.socket = tls.wrap_socket(sock, server_hostname="127.0.0.1") if tls else sock
        hello = self.recv()
        assert hello is not None and hello["t"] == "hello", hello
        self.hello = hello

    def send(self, message: dict[str, Any]) -> None:
        self.sock.sendall(encode_frame(message))

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _exactly(self, n: int) -> bytes | None:
        chunks, got = [], 0
        while got < n:
            try:
                chunk = self.sock.recv(min(n - got, 1 << 20))
            except (ConnectionResetError, ssl.SSLError):
                return None
            if not chunk:
                return None
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def recv(self) -> dict[str, Any] | None:
        """The next frame, or None once the worker has closed the connection."""
        header = self._exactly(HEADER.size)
        if header is None:
            return None
        (length,) = HEADER.unpack(header)
        body = self._exactly(length)
        assert body is not None, "the worker closed in the middle of a frame"
        return decode_body(body, LIMITS)

    def request(self, request_id: int, texts: list[str], **fields: Any) -> dict[str, Any]:
        message = {"t": "embed", "id": request_id, "texts": texts, "task": "nl2code", "side": "passage"}
        message.update({"dim": None, "dtype": "f32"} | fields)
        return message

    def embed(self, texts: list[str], request_id: int = 1, **fields: Any) -> np.ndarray:
        self.send(self.request(request_id, texts, **fields))
        return vectors_of(self.recv(), request_id)

    def closed(self) -> bool:
        """True when the worker closes this connection (after any frames still on their way)."""
        return self.recv() is None

    def close(self) -> None:
        self.sock.close()


def vectors_of(reply: dict[str, Any] | None, request_id: int) -> np.ndarray:
    assert reply is not None and reply["t"] == "vectors", reply
    assert reply["id"] == request_id
    return vectors_from_bytes(reply["data"], reply["rows"], reply["dim"], reply["dtype"])


def error_of(reply: dict[str, Any] | None) -> tuple[int | None, str]:
    assert reply is not None and reply["t"] == "error", reply
    assert isinstance(reply["message"], str) and reply["message"]
    return reply["id"], reply["code"]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    assert a.shape == b.shape, (a.shape, b.shape)
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


# --- worker processes --------------------------------------------------------------------------------


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    port: int
    log_file: Path
    stderr_file: Path

    def log(self) -> str:
        return self.log_file.read_text(encoding="utf-8") if self.log_file.exists() else ""

    def terminate(self) -> None:
        """SIGTERM, as a service manager would."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def stop(self) -> int:
        """SIGTERM, then the exit status."""
        self.terminate()
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def worker_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "lsp_server.worker", "--model", "minilm", "--device", "cpu", *args]


def start_worker(folder: Path, *args: str) -> WorkerProcess:
    """Start a worker and wait until its port accepts connections (it listens once the model is loaded)."""
    port = free_port()
    log_file, stderr_file = folder / "worker.log", folder / "worker.stderr"
    with stderr_file.open("wb") as err:
        process = subprocess.Popen(
            worker_command("--host", "127.0.0.1", "--port", str(port), "--log-file", str(log_file), *args),
            cwd=REPO,
            env=WORKER_ENV,
            stdin=subprocess.DEVNULL,
            stdout=err,
            stderr=err,
        )
    worker = WorkerProcess(process, port, log_file, stderr_file)
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if process.poll() is not None:
            pytest.fail(f"the worker exited with {process.returncode}:\n{stderr_file.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return worker
        except OSError:
            if time.monotonic() > deadline:
                worker.stop()
                pytest.fail(
                    f"the worker did not listen within {START_TIMEOUT_S} s:\n{stderr_file.read_text()}"
                )
            time.sleep(0.1)


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    process = start_worker(tmp_path_factory.mktemp("worker"))
    yield process
    assert process.stop() == 0, process.stderr_file.read_text()


@pytest.fixture(scope="module")
def local() -> Iterator[Embedder]:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield load_embedder("minilm", "cpu")
    torch.set_num_threads(threads)


# --- tests ---------------------------------------------------------------------------------------------


def test_hello_names_the_model_limits_and_prefixes(worker: WorkerProcess, local: Embedder) -> None:
    client = Client(worker.port)
    hello = client.hello
    assert hello["v"] == PROTOCOL_VERSION == 1
    assert hello["model"] == local.model_id == "minilm"
    assert hello["dim"] == local.dim == 384
    assert hello["device"] == "cpu"
    assert "minilm" in hello["reason"]
    assert hello["limits"] == LIMITS.as_dict()
    assert hello["auth"] == "none" and "nonce" not in hello
    assert set(hello["prefixes"]) == set(TASKS)
    for task in TASKS:
        assert hello["prefixes"][task] == {side: local.prefix(task, side) for side in ("query", "passage")}
    client.close()


def test_vectors_equal_local_embedding(worker: WorkerProcess, local: Embedder) -> None:
    client = Client(worker.port)
    cases: list[tuple[Task, Side, int | None]] = [
        ("nl2code", "passage", None),
        ("nl2code", "query", None),
        ("code2code", "query", 128),
    ]
    for request_id, (task, side, dim) in enumerate(cases, start=1):
        expected = local.embed(TEXTS, task=task, side=side, dim=dim)
        client.send(client.request(request_id, TEXTS, task=task, side=side, dim=dim, dtype="f32"))
        reply = client.recv()
        assert reply is not None
        assert (reply["rows"], reply["dim"], reply["dtype"]) == (len(TEXTS), dim or 384, "f32")
        assert len(reply["data"]) == len(TEXTS) * (dim or 384) * 4
        assert cosines(vectors_of(reply, request_id), expected).min() >= 0.9999
        half = client.embed(TEXTS, request_id=100 + request_id, task=task, side=side, dim=dim, dtype="f16")
        assert cosines(half, expected).min() >= 0.999
    # No texts: no vectors, the right width.
    empty = client.embed([], request_id=7, dim=64)
    assert empty.shape == (0, 64)
    client.close()


def test_pipelined_requests_are_answered_by_id_and_merged(worker: WorkerProcess, local: Embedder) -> None:
    """More requests than max_inflight in one write: the worker stops reading, answers, reads on."""
    client = Client(worker.port)
    shapes: list[tuple[Task, Side, int | None, str]] = [
        ("nl2code", "passage", None, "f32"),
        ("qa", "query", 64, "f16"),
        ("code2nl", "passage", 200, "f32"),
    ]
    requests = {}
    for n in range(3 * LIMITS.max_inflight):
        task, side, dim, dtype = shapes[n % len(shapes)]
        texts = [f"{TEXTS[n % len(TEXTS)]} # variant {n}", TEXTS[(n + 1) % len(TEXTS)]]
        requests[1000 + n] = (texts, task, side, dim, dtype)
    client.send_raw(
        b"".join(
            encode_frame(client.request(rid, texts, task=task, side=side, dim=dim, dtype=dtype))
            for rid, (texts, task, side, dim, dtype) in requests.items()
        )
    )
    answered: dict[int, np.ndarray] = {}
    for _ in requests:
        reply = client.recv()
        assert reply is not None and reply["t"] == "vectors", reply
        assert reply["id"] in requests and reply["id"] not in answered
        assert reply["dtype"] == requests[reply["id"]][4]
        answered[reply["id"]] = vectors_of(reply, reply["id"])
    for rid, (texts, task, side, dim, dtype) in requests.items():
        expected = local.embed(texts, task=task, side=side, dim=dim)
        assert cosines(answered[rid], expected).min() >= (0.999 if dtype == "f16" else 0.9999)
    client.close()
    merged = [
        int(line.split("merged ")[1].split()[0]) for line in worker.log().splitlines() if "merged " in line
    ]
    assert merged and max(merged) >= 2, worker.log()


def test_several_clients_at_once(worker: WorkerProcess, local: Embedder) -> None:
    errors: list[BaseException] = []
    results: dict[tuple[int, int], np.ndarray] = {}

    def texts_for(c: int, r: int) -> list[str]:
        return [f"client {c} request {r}: {text}" for text in TEXTS[: 1 + (c + r) % len(TEXTS)]]

    def run(c: int) -> None:
        try:
            client = Client(worker.port)
            for r in range(4):
                client.send(client.request(r, texts_for(c, r), side="query" if c % 2 else "passage"))
            for _ in range(4):
                reply = client.recv()
                assert reply is not None
                results[(c, reply["id"])] = vectors_of(reply, reply["id"])
            client.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(c,)) for c in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    assert len(results) == 20
    for (c, r), vectors in results.items():
        expected = local.embed(texts_for(c, r), task="nl2code", side="query" if c % 2 else "passage")
        assert cosines(vectors, expected).min() >= 0.9999


def test_request_errors_answer_their_id_and_keep_the_connection(worker: WorkerProcess) -> None:
    client = Client(worker.port)
    bad: dict[int, tuple[dict[str, Any], str]] = {
        1: ({"task": "translate"}, "bad_task"),
        2: ({"side": "both"}, "bad_side"),
        3: ({"dim": 0}, "bad_dim"),
        4: ({"dim": 385}, "bad_dim"),
        5: ({"dtype": "f64"}, "bad_dtype"),
        6: ({"texts": ["a"] * (LIMITS.max_texts + 1)}, "too_many_texts"),
        7: ({"texts": ["ok", "y" * (LIMITS.max_text_chars + 1)]}, "text_too_long"),
    }
    for request_id, (fields, code) in bad.items():
        message = client.request(request_id, ["a text"])
        message.update(fields)
        client.send(message)
        reply = client.recv()
        assert reply is not None and reply["t"] == "error", reply
        assert (reply["id"], reply["code"]) == (request_id, code)
        assert isinstance(reply["message"], str) and reply["message"]
    assert client.embed(["still served"], request_id=8).shape == (1, 384)
    client.close()


def test_half_close_still_delivers_answers(worker: WorkerProcess) -> None:
    client = Client(worker.port)
    client.send_raw(encode_frame(client.request(1, ["one"])) + encode_frame(client.request(2, ["two", "2"])))
    client.sock.shutdown(socket.SHUT_WR)
    replies = [client.recv(), client.recv()]
    assert sorted((r["id"], r["rows"]) for r in replies if r is not None) == [(1, 1), (2, 2)]
    assert client.closed()
    client.close()


def hostile_payloads() -> dict[str, tuple[bytes, set[str]]]:
    """Frames a broken or hostile client might send, with the error codes each may get."""
    rng = random.Random(20240917)
    noise = rng.randbytes(4096)
    garbage_body = rng.randbytes(300)
    embed = {"t": "embed", "id": 1, "texts": ["a"], "task": "nl2code", "side": "query", "dim": None}
    return {
        "random bytes": (noise, {"frame_too_large", "bad_frame"}),
        "random body in a valid header": (HEADER.pack(len(garbage_body)) + garbage_body, {"bad_frame"}),
        "4 GB declared length": (HEADER.pack(0xFFFFFFFF) + b"\x80" * 64, {"frame_too_large"}),
        "empty frame": (HEADER.pack(0), {"frame_too_large"}),
        "not a map": (encode_frame([1, 2, 3]), {"bad_frame"}),  # type: ignore[arg-type]
        "map without t": (encode_frame({"id": 1, "texts": ["a"]}), {"bad_frame"}),
        "id is a string": (encode_frame(embed | {"id": "x"}), {"bad_request"}),
        "id is a bool": (encode_frame(embed | {"id": True}), {"bad_request"}),
        "texts not strings": (encode_frame(embed | {"texts": [1, 2]}), {"bad_request"}),
        "dim is a float": (encode_frame(embed | {"dim": 3.5}), {"bad_request"}),
        "unknown t": (encode_frame({"t": "shutdown", "id": 1}), {"unknown_type"}),
        "auth without a token": (encode_frame({"t": "auth", "mac": b"0" * 32}), {"unexpected"}),
        "two frames, second bad": (encode_frame(embed) + encode_frame({"t": 3}), {"bad_frame"}),
        "array far past max_texts": (
            encode_frame(embed | {"texts": ["a"] * (LIMITS.max_texts * 5)}),
            {"bad_frame"},
        ),
    }


def test_hostile_frames_close_only_their_connection(worker: WorkerProcess, local: Embedder) -> None:
    expected = local.embed(TEXTS, task="nl2code", side="passage")
    stop = threading.Event()
    served: list[int] = []
    failures: list[BaseException] = []

    def well_behaved() -> None:
        try:
            client = Client(worker.port)
            n = 0
            while not stop.is_set():
                n += 1
                assert cosines(client.embed(TEXTS, request_id=n), expected).min() >= 0.9999
                served.append(n)
            client.close()
        except BaseException as exc:
            failures.append(exc)

    bystander = threading.Thread(target=well_behaved)
    bystander.start()
    try:
        for name, (payload, codes) in hostile_payloads().items():
            client = Client(worker.port)
            client.send_raw(payload)
            reply = client.recv()
            if name == "two frames, second bad":  # the good request before the bad frame may be answered
                while reply is not None and reply["t"] == "vectors":
                    reply = client.recv()
            assert reply is not None and reply["t"] == "error", (name, reply)
            assert reply["id"] is None and reply["code"] in codes, (name, reply)
            assert client.closed(), name
            client.close()
        # A frame cut short, then the client goes away: nothing to answer, nothing breaks.
        client = Client(worker.port)
        client.send_raw(encode_frame({"t": "embed", "id": 1, "texts": ["abc"] * 50})[:40])
        client.sock.shutdown(socket.SHUT_WR)
        assert client.closed()
        client.close()
        before = len(served)
        deadline = time.monotonic() + 30
        while len(served) < before + 2 and time.monotonic() < deadline and not failures:
            time.sleep(0.05)
    finally:
        stop.set()
        bystander.join(60)
    assert not failures, failures
    assert len(served) >= before + 2
    assert worker.process.poll() is None
    assert Client(worker.port).embed(["after the storm"]).shape == (1, 384)


def test_refuses_to_listen_beyond_loopback_without_a_token(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            worker_command("--port", str(free_port()), *args),
            cwd=REPO,
            env=WORKER_ENV,
            capture_output=True,
            text=True,
            timeout=120,
        )

    refused = run("--host", "0.0.0.0")
    assert refused.returncode == 2, refused.stderr
    assert "without --token-file" in refused.stderr and "0.0.0.0" in refused.stderr
    empty = tmp_path / "empty-token"
    empty.write_text("\n")
    refused = run("--host", "0.0.0.0", "--token-file", str(empty))
    assert refused.returncode == 2 and "empty" in refused.stderr
    refused = run("--tls-cert", str(tmp_path / "cert.pem"))
    assert refused.returncode == 2 and "--tls-key" in refused.stderr


def test_worker_never_imports_the_language_server() -> None:
    code = (
        "import sys\n"
        "import lsp_server.worker.cli as s\n"
        "s.add_arguments(__import__('argparse').ArgumentParser())\n"
        "names = ('pygls', 'lsp_server.server')\n"
        "bad = sorted(m for m in sys.modules if m in names or m.startswith(tuple(n + '.' for n in names)))\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


def test_token_challenge_over_tls(tmp_path: Path, local: Embedder) -> None:
    """With a token, nothing is served before the mac of the nonce; TLS carries it all; SIGTERM ends it."""
    token = b"s3cret-token-for-tests"
    (tmp_path / "token").write_bytes(token + b"\n")
    os.chmod(tmp_path / "token", 0o600)
    (tmp_path / "cert.pem").write_text(TLS_CERT)
    (tmp_path / "key.pem").write_text(TLS_KEY)
    worker = start_worker(
        tmp_path,
        "--token-file",
        str(tmp_path / "token"),
        "--tls-cert",
        str(tmp_path / "cert.pem"),
        "--tls-key",
        str(tmp_path / "key.pem"),
    )
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    tls.load_verify_locations(cadata=TLS_CERT)
    try:
        # A request before auth.
        client = Client(worker.port, tls=tls)
        assert client.hello["auth"] == "hmac-sha256"
        assert isinstance(client.hello["nonce"], bytes) and len(client.hello["nonce"]) == 16
        client.send(client.request(1, ["a"]))
        reply = client.recv()
        assert error_of(reply) == (None, "unauthorized")
        assert client.closed()
        client.close()
        # A wrong mac, and a right mac for another connection's nonce.
        other = Client(worker.port, tls=tls)
        for mac in (b"\0" * 32, auth_mac(token, other.hello["nonce"])):
            client = Client(worker.port, tls=tls)
            assert client.hello["nonce"] != other.hello["nonce"]
            client.send({"t": "auth", "mac": mac})
            reply = client.recv()
            assert reply is not None and (reply["t"], reply["code"]) == ("error", "unauthorized")
            assert client.closed()
            client.close()
        # The right mac: ready, then served.
        other.send({"t": "auth", "mac": auth_mac(token, other.hello["nonce"])})
        assert other.recv() == {"t": "ready"}
        vectors = other.embed(TEXTS, request_id=5, task="qa", side="query")
        assert cosines(vectors, local.embed(TEXTS, task="qa", side="query")).min() >= 0.9999
        # SIGTERM with the connection open: the client is told, then the connection closes.
        worker.terminate()
        reply = other.recv()
        assert error_of(reply) == (None, "shutting_down")
        assert other.closed()
        other.close()
    finally:
        status = worker.stop()
    assert status == 0, worker.stderr_file.read_text()
    log = worker.log()
    assert "with TLS" in log and "token required" in log
    assert log.count(" opened") >= 4 and log.count(" closed after ") >= 4
    assert "unauthorized" in log and "worker stopped" in log
