"""The remote embedder against real worker processes on loopback: same vectors as local, several
workers, a worker killed mid-indexing, a worker serving another model, tokens, nothing reachable."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from lsp_server.config import Settings
from lsp_server.embedding import load_embedder
from lsp_server.embedding.base import Embedder, EmbeddingError
from lsp_server.embedding.remote import RemoteEmbedder
from lsp_server.index.indexer import WorkspaceIndex
from lsp_server.retrieval import queries
from tests.workspace_fixture import make_workspace

TEXTS = ["def add(a, b):\n    return a + b\n", "sort a list of numbers", "class Stack:\n    pass\n" * 3]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Worker:
    """A ``python -m lsp_server.worker`` process on a free loopback port."""

    def __init__(self, model: str, token_file: Path | None = None) -> None:
        self.port = free_port()
        command = [sys.executable, "-m", "lsp_server.worker", "--model", model, "--device", "cpu"]
        command += ["--host", "127.0.0.1", "--port", str(self.port)]
        if token_file is not None:
            command += ["--token-file", str(token_file)]
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"worker exited: {self.process.stderr.read().decode() if self.process.stderr else ''}"
                )
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("worker did not start listening within 90 s")

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(scope="module")
def minilm() -> Embedder:
    return load_embedder("minilm", "cpu")


@pytest.fixture(scope="module")
def two_workers() -> Iterator[tuple[Worker, Worker]]:
    workers = (Worker("minilm"), Worker("minilm"))
    yield workers
    for worker in workers:
        worker.stop()


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_remote_vectors_equal_local(two_workers: tuple[Worker, Worker], minilm: Embedder) -> None:
    remote = RemoteEmbedder(f"remote://{two_workers[0].address}")
    try:
        assert remote.model_id == minilm.model_id and remote.dim == minilm.dim
        for task, side in (("code2code", "passage"), ("nl2code", "query"), ("code2nl", "query")):
            got = remote.embed(TEXTS, task=task, side=side)  # type: ignore[arg-type]
            want = minilm.embed(TEXTS, task=task, side=side)  # type: ignore[arg-type]
            assert _cosines(got, want).min() >= 0.9999
        half = RemoteEmbedder(f"remote://{two_workers[0].address}?dtype=f16")
        assert (
            _cosines(half.embed(TEXTS, "code2code", "query"), minilm.embed(TEXTS, "code2code", "query")).min()
            >= 0.999
        )
        half.close()
    finally:
        remote.close()


def test_remote_vectors_equal_local_for_a_decoder(tiny_qwen_dir: Path) -> None:
    worker = Worker(str(tiny_qwen_dir))
    try:
        local = load_embedder(str(tiny_qwen_dir), "cpu")
        remote = RemoteEmbedder(f"remote://{worker.address}")
        assert remote.model_id == local.model_id
        assert remote.prefix("code2code", "query") == local.prefix("code2code", "query")
        got, want = (
            remote.embed(TEXTS, "code2code", "query", dim=32),
            local.embed(TEXTS, "code2code", "query", dim=32),
        )
        assert got.shape == want.shape == (3, 32) and _cosines(got, want).min() >= 0.9999
        remote.close()
    finally:
        worker.stop()


def test_several_clients_at_once(two_workers: tuple[Worker, Worker], minilm: Embedder) -> None:
    spec = f"remote://{two_workers[0].address},{two_workers[1].address}"
    texts = [f"def f{i}(x):\n    return x + {i}\n" for i in range(120)]
    want = minilm.embed(texts, "code2code", "passage")
    results: list[np.ndarray] = []
    errors: list[BaseException] = []

    def client() -> None:
        remote = RemoteEmbedder(spec)
        try:
            results.append(remote.embed(texts, "code2code", "passage"))
        except BaseException as exc:
            errors.append(exc)
        finally:
            remote.close()

    threads = [threading.Thread(target=client) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors and len(results) == 4
    for got in results:
        assert _cosines(got, want).min() >= 0.9999


def test_a_worker_killed_mid_indexing_loses_nothing(tmp_path: Path, minilm: Embedder) -> None:
    root = make_workspace(tmp_path / "ws")
    for number in range(120):
        (root / f"gen_{number}.py").write_text(
            f"def generated_{number}(values):\n    total = {number}\n    for v in values:\n"
            f"        total += v * {number % 7}\n    return total\n"
        )
    doomed, survivor = Worker("minilm"), Worker("minilm")
    try:
        remote = RemoteEmbedder(f"remote://{doomed.address},{survivor.address}")
        index = WorkspaceIndex(root, Settings(index_dir=str(tmp_path / "remote-index")), remote)
        killed = threading.Event()

        def progress(phase: str, done: int, total: int) -> None:
            if phase.startswith("embed") and done > 0 and not killed.is_set():
                doomed.kill()
                killed.set()

        summary = index.update(("code", "docs", "completions"), progress)
        assert killed.is_set() and summary.embedded > 0
        assert all(index.pending_count(space) == 0 for space in ("code", "docs", "completions"))
        local = WorkspaceIndex(root, Settings(index_dir=str(tmp_path / "local-index")), minilm)
        local.update(("code",))
        assert [(h.path, h.name) for h in queries.search(index, "add up values", 5)] == [
            (h.path, h.name) for h in queries.search(local, "add up values", 5)
        ]
        index.close()
        local.close()
        remote.close()
    finally:
        doomed.stop()
        survivor.stop()


def test_every_worker_gone_falls_back_or_fails_and_keeps_units_pending(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    worker = Worker("minilm")
    strict = load_embedder(f"remote://{worker.address}?fallback=error")
    lenient = load_embedder(f"remote://{worker.address}")  # falls back to the same model, loaded here
    worker.kill()
    index = WorkspaceIndex(root, Settings(index_dir=str(tmp_path / "index")), strict)
    with pytest.raises(EmbeddingError, match="no worker could embed"):
        index.update(("code",))
    pending = index.pending_count("code")
    assert pending > 0  # nothing stored for the failed batches
    index.close()
    index = WorkspaceIndex(root, Settings(index_dir=str(tmp_path / "index")), lenient)
    summary = index.update(("code",))  # the same model, loaded here
    assert summary.embedded == pending and index.pending_count("code") == 0
    index.close()
    strict.close()
    lenient.close()


def test_a_worker_with_another_model_is_refused(
    two_workers: tuple[Worker, Worker], tiny_qwen_dir: Path
) -> None:
    other = Worker(str(tiny_qwen_dir))
    try:
        remote = RemoteEmbedder(f"remote://{two_workers[0].address},{other.address}")
        assert remote.model_id == "minilm"
        for _ in range(4):  # every batch lands on the minilm worker
            assert remote.embed(TEXTS, "code2code", "query").shape == (3, 384)
        remote.close()
        reverse = RemoteEmbedder(
            f"remote://{other.address},{two_workers[0].address}"
        )  # the first one names it
        assert reverse.model_id != "minilm"
        for _ in range(4):
            assert reverse.embed(TEXTS, "code2code", "query").shape == (3, reverse.dim)
        reverse.close()
    finally:
        other.stop()


def test_auto_takes_the_workers_in_codekin_worker(
    two_workers: tuple[Worker, Worker], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEKIN_WORKER", f"remote://{two_workers[0].address}")
    emb = load_embedder("auto", "cpu")
    try:
        assert emb.device == f"remote://{two_workers[0].address}" and emb.model_id == "minilm"
        assert emb.selection_reason.startswith("auto: CODEKIN_WORKER: remote worker(s) 127.0.0.1:")
    finally:
        emb.close()
    unusable_specs = (
        (f"remote://127.0.0.1:{free_port()}", "no worker could be reached"),
        ("127.0.0.1:7878", "expected remote://host:port"),
    )
    for unusable, why in unusable_specs:
        monkeypatch.setenv("CODEKIN_WORKER", unusable)
        emb = load_embedder("auto", "cpu")
        assert emb.device == "cpu" and emb.model_id == "minilm"
        assert f"CODEKIN_WORKER={unusable} failed" in emb.selection_reason and why in emb.selection_reason


def test_tokens(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("s3cret-token\n")
    wrong = tmp_path / "wrong"
    wrong.write_text("not-it")
    worker = Worker("minilm", token_file)
    try:
        with pytest.raises(EmbeddingError, match="token"):
            RemoteEmbedder(f"remote://{worker.address}")
        with pytest.raises(EmbeddingError, match="refused the token"):
            RemoteEmbedder(f"remote://{worker.address}?token_file={wrong}")
        remote = RemoteEmbedder(f"remote://{worker.address}?token_file={token_file}")
        assert remote.embed(TEXTS, "code2code", "query").shape == (3, 384)
        remote.close()
    finally:
        worker.stop()


def test_nothing_reachable_fails_fast() -> None:
    started = time.monotonic()
    with pytest.raises(EmbeddingError, match="no worker could be reached"):
        load_embedder(f"remote://127.0.0.1:{free_port()}")
    assert time.monotonic() - started < 10
    with pytest.raises(EmbeddingError, match="host:port"):
        load_embedder("remote://nohostport")
    with pytest.raises(EmbeddingError, match="unknown option"):
        load_embedder("remote://127.0.0.1:1?colour=blue")
