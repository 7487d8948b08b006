"""Worker throughput with 1, 4 and 16 concurrent clients, beside one in-process embedder.

One ``codekin worker`` process serves the model on this machine; each client is a
``RemoteEmbedder`` in its own thread, embedding its share of the same texts as
passages (what indexing sends). The baseline embeds all the texts in this process
with the same model, before and after the remote rounds, and the ratios compare the
two in the same run, so a noisy machine slows both alike.

    python bench/worker_throughput.py [--model minilm] [--texts 960] [--clients 1,4,16]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from embed_throughput import stdlib_functions

from lsp_server.embedding import load_embedder
from lsp_server.embedding.remote import RemoteEmbedder


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_worker(
    model: str, port: int, *, device: str = "cpu", extra: list[str] | None = None
) -> subprocess.Popen[bytes]:
    """A worker process on loopback, once it listens; its log goes to this process's stderr."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    command = [sys.executable, "-m", "lsp_server.worker", "--model", model, "--device", device]
    command += ["--port", str(port), *(extra or [])]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the worker exited with status {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the worker did not start")


def remote_round(spec: str, texts: list[str], clients: int) -> tuple[float, np.ndarray]:
    """Seconds for ``clients`` threads to embed ``texts`` between them (each its own connection)."""
    shares = [texts[i::clients] for i in range(clients)]
    embedders = [RemoteEmbedder(spec) for _ in range(clients)]
    results: list[np.ndarray | None] = [None] * clients
    barrier = threading.Barrier(clients + 1)

    def run(index: int) -> None:
        barrier.wait()
        results[index] = embedders[index].embed(shares[index], task="code2code", side="passage")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    for embedder in embedders:
        embedder.close()
    ordered = np.empty((len(texts), results[0].shape[1]), dtype=np.float32)  # type: ignore[union-attr]
    for i, part in enumerate(results):
        ordered[i::clients] = part
    return seconds, ordered


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--texts", type=int, default=960)
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--out", default="bench/out/worker_throughput.json")
    args = parser.parse_args()
    texts = stdlib_functions(args.texts)
    counts = [int(c) for c in args.clients.split(",")]
    local = load_embedder(args.model, "cpu")
    port = free_port()
    worker = start_worker(args.model, port)
    spec = f"remote://127.0.0.1:{port}"
    rows = []
    try:
        local.embed(texts[:32], task="code2code", side="passage")  # warm-up, both sides
        remote_round(spec, texts[:32], 1)
        baseline = []
        for clients in counts:
            started = time.perf_counter()
            want = local.embed(texts, task="code2code", side="passage")
            baseline.append(time.perf_counter() - started)
            seconds, got = remote_round(spec, texts, clients)
            cosine = float(np.min(np.sum(got * want, axis=1)))
            rows.append(
                {
                    "clients": clients,
                    "seconds": round(seconds, 3),
                    "texts_per_s": round(len(texts) / seconds, 1),
                    "local_seconds": round(baseline[-1], 3),
                    "ratio_vs_in_process": round(baseline[-1] / seconds, 3),
                    "cosine_min": round(cosine, 6),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    finally:
        worker.terminate()
        worker.wait(30)
    report = {"model": args.model, "texts": len(texts), "cpus": os.cpu_count(), "rows": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1))
    print(f"{'clients':>8} {'texts/s':>9} {'in-process s':>13} {'worker s':>9} {'ratio':>6}")
    for row in rows:
        counts = f"{row['clients']:>8} {row['texts_per_s']:>9}"
        times = f"{row['local_seconds']:>13} {row['seconds']:>9} {row['ratio_vs_in_process']:>6}"
        print(f"{counts} {times}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
