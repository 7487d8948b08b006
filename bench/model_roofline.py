"""How much of the device the embedder uses: tokens/s with the exact Qwen2.5-Coder-0.5B shape, as a
fraction of the dense matrix throughput the same device reaches in the same process.

Tokens/s alone cannot be compared across machines; divided into what the device's matrix units do on
a large product (and on the model's own MLP product at the embedder's batch size), it says how much of
the hardware is left unused ("model FLOP utilisation"). Three paths embed the same texts: codekin's
in-process embedder, and one ``codekin worker`` on loopback serving 1, 4 and 16 concurrent clients.

- The model is jina-code-embeddings-0.5b's architecture with random weights, built here (no hub), in a
  folder named like the profile's repository, so that both paths take the profile's prefixes,
  last-token pooling and 8,192-token limit. It costs exactly what the real model costs.
- The texts are real functions from the standard library (repeated with a numbered comment when more
  are asked for than exist), embedded as code2code passages (what indexing sends).
- Useful FLOPs per text of n tokens (prefix and special tokens included): 2·P·n for the P weights of
  the linear layers, plus 2·L·d·n(n+1) for causal attention scores and values (L layers, width d).
  Padding and the masked half of attention count as waste, not work.
- The device's default precision: bf16 on a GPU, fp32 on a CPU; the peak is measured in that dtype.

    python bench/model_roofline.py --device cuda [--texts 20000] [--clients 1,4,16] [--repeats 3]
    python bench/model_roofline.py --device cpu --texts 48 --clients 1,4 --repeats 1

Prints a markdown table; writes JSON to bench/out/model_roofline.json (or --out).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))  # the offline Qwen builders are test fixtures

from embed_throughput import QWEN_DIR, cpu_name, stdlib_functions  # noqa: E402
from qwen_offline import build_random_qwen2  # noqa: E402
from worker_throughput import free_port, remote_round, start_worker  # noqa: E402

from lsp_server.embedding import Side, Task, load_embedder  # noqa: E402
from lsp_server.embedding.local import TransformersEmbedder, token_budget_batches  # noqa: E402

# Named like the profile's hub repository, a local folder takes jina-code-0.5b's prefixes and pooling.
MODEL_DIR = ROOT / "bench" / "out" / "random-weights" / "jina-code-embeddings-0.5b"
TASK: Task = "code2code"
SIDE: Side = "passage"


def model_folder() -> Path:
    """The random-weight 0.5B model; linked from embed_throughput's copy when there is one (2 GB)."""
    if (MODEL_DIR / "model.safetensors").is_file():
        return MODEL_DIR
    MODEL_DIR.mkdir(parents=True, exist_ok=True)
    if (QWEN_DIR / "model.safetensors").is_file():
        for source in QWEN_DIR.iterdir():
            try:
                os.link(source, MODEL_DIR / source.name)
            except OSError:
                shutil.copy2(source, MODEL_DIR / source.name)
    else:
        print(f"building {MODEL_DIR} (random weights, about 2 GB)", file=sys.stderr, flush=True)
        build_random_qwen2(MODEL_DIR, shape="0.5b", seed=0)
    return MODEL_DIR


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)


def matmul_flops(device: str, dtype: torch.dtype, m: int, k: int, n: int, seconds: float = 2.0) -> float:
    """Best FLOP/s of an (m×k)·(k×n) product over three rounds of about ``seconds / 3`` each."""
    gen = torch.Generator(device=device).manual_seed(0)
    a = torch.randn(m, k, device=device, dtype=dtype, generator=gen)
    b = torch.randn(k, n, device=device, dtype=dtype, generator=gen)
    with torch.inference_mode():
        for _ in range(3):
            a @ b
        synchronize(device)
        started = time.perf_counter()
        a @ b
        synchronize(device)
        per_product = max(time.perf_counter() - started, 1e-6)
        iterations = max(1, int(seconds / 3 / per_product))
        best = 0.0
        for _ in range(3):
            synchronize(device)
            started = time.perf_counter()
            for _ in range(iterations):
                a @ b
            synchronize(device)
            best = max(best, 2 * m * k * n * iterations / (time.perf_counter() - started))
    return best


def useful_flops(model: torch.nn.Module, config: Any, lengths: list[int]) -> tuple[int, float]:
    """(weights in linear layers, useful FLOPs for texts of ``lengths`` tokens)."""
    linear = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))
    layers, width = int(config.num_hidden_layers), int(config.hidden_size)
    total = sum(2.0 * linear * n + 2.0 * layers * width * n * (n + 1) for n in lengths)
    return linear, total


def corpus(count: int) -> list[str]:
    """``count`` stdlib functions; beyond the distinct ones, copies made distinct by a numbered comment."""
    distinct = stdlib_functions(10**9)
    return [
        distinct[i % len(distinct)] + (f"\n# copy {i // len(distinct)}" if i >= len(distinct) else "")
        for i in range(count)
    ]


def timed_in_process(
    embedder: TransformersEmbedder, texts: list[str], repeats: int
) -> tuple[list[float], Any]:
    seconds, vectors = [], None
    for _ in range(repeats):
        synchronize(embedder.device)
        started = time.perf_counter()
        vectors = embedder.embed(texts, TASK, SIDE)
        seconds.append(time.perf_counter() - started)
    return seconds, vectors


@dataclass
class Workload:
    """What one run embeds, what that costs in useful FLOPs, and the device peaks it is measured by."""

    texts: list[str]
    lengths: list[int]
    tokenize_seconds: float
    padded: int
    linear_weights: int
    flops: float
    square: int
    peak_square: float
    mlp_shape: tuple[int, int, int]
    peak_mlp: float
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def tokens(self) -> int:
        return sum(self.lengths)

    def add(self, path: str, seconds: list[float], cosine: float | None) -> None:
        """A table row for one path, shown at once (a worker run takes minutes)."""
        best = min(seconds)
        self.rows.append(
            {
                "path": path,
                "seconds_best": round(best, 3),
                "seconds_median": round(statistics.median(seconds), 3),
                "tokens_per_s": round(self.tokens / best, 1),
                "texts_per_s": round(len(self.texts) / best, 1),
                "mfu_vs_square": round(self.flops / best / self.peak_square, 4),
                "mfu_vs_mlp_shape": round(self.flops / best / self.peak_mlp, 4),
                "cosine_min_vs_in_process": None if cosine is None else round(cosine, 6),
            }
        )
        print(json.dumps(self.rows[-1]), file=sys.stderr, flush=True)


def measure(embedder: TransformersEmbedder, texts: list[str], on_gpu: bool) -> Workload:
    """Tokenize the texts, count their useful FLOPs, and measure the device's matrix peaks."""
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(embedder.precision, torch.float32)
    config = embedder.model.config
    started = time.perf_counter()
    ids = embedder.tokenize([embedder.prefix(TASK, SIDE) + text for text in texts])
    tokenize_s = time.perf_counter() - started
    lengths = [len(x) for x in ids]
    padded = sum(len(b) * lengths[b[0]] for b in token_budget_batches(lengths, embedder.batch_tokens))
    linear_weights, flops = useful_flops(embedder.model, config, lengths)

    square = 8192 if on_gpu else 2048
    peak_square = matmul_flops(embedder.device, dtype, square, square, square)
    mlp_shape = (min(embedder.batch_tokens, 32768), int(config.hidden_size), int(config.intermediate_size))
    peak_mlp = matmul_flops(embedder.device, dtype, *mlp_shape)
    print(
        f"peak {peak_square / 1e12:.2f} TFLOP/s ({square}³), MLP-shaped {peak_mlp / 1e12:.2f} TFLOP/s",
        file=sys.stderr,
        flush=True,
    )
    return Workload(
        texts, lengths, tokenize_s, padded, linear_weights, flops, square, peak_square, mlp_shape, peak_mlp
    )


def run_workers(work: Workload, folder: Path, args: argparse.Namespace, counts: list[int], want: Any) -> None:
    """One worker on loopback, timed with each number of concurrent clients; vectors checked."""
    port = free_port()
    extra = ["--batch-tokens", str(args.worker_batch_tokens)] if args.worker_batch_tokens else []
    worker = start_worker(str(folder), port, device=args.device, extra=extra)
    spec = f"remote://127.0.0.1:{port}"
    try:
        remote_round(spec, work.texts[: min(len(work.texts), 256)], 1)  # warm-up
        for clients in counts:
            seconds, cosine = [], 1.0
            for _ in range(args.repeats):
                spent, got = remote_round(spec, work.texts, clients)
                seconds.append(spent)
                cosine = min(cosine, float(np.min(np.sum(got * want, axis=1))))
            work.add(f"worker, {clients} client{'s' if clients > 1 else ''}", seconds, cosine)
    finally:
        worker.terminate()
        worker.wait(60)


def report(work: Workload, embedder: TransformersEmbedder, device_name: str) -> dict[str, Any]:
    return {
        "device": device_name,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "precision": embedder.precision,
        "model": "Qwen2.5-Coder-0.5B shape, random weights (jina-code-0.5b profile)",
        "linear_weights": work.linear_weights,
        "texts": len(work.texts),
        "tokens": work.tokens,
        "tokens_mean": round(work.tokens / len(work.texts), 1),
        "padded_tokens_in_process": work.padded,
        "useful_gflop_per_token": round(work.flops / work.tokens / 1e9, 4),
        "tokenize_seconds": round(work.tokenize_seconds, 3),
        "peak_square_tflops": round(work.peak_square / 1e12, 3),
        "peak_mlp_shape_tflops": round(work.peak_mlp / 1e12, 3),
        "mlp_shape": list(work.mlp_shape),
        "batch_tokens_in_process": embedder.batch_tokens,
        "rows": work.rows,
    }


def print_summary(work: Workload, result: dict[str, Any]) -> None:
    rows, hidden, intermediate = work.mlp_shape
    print(
        f"{result['device']}, {result['precision']}: {len(work.texts)} texts, {work.tokens} tokens (mean "
        f"{result['tokens_mean']}), {result['useful_gflop_per_token']} GFLOP/token, padding "
        f"{work.padded / work.tokens:.2f}x in process, tokenizing {work.tokenize_seconds:.2f} s; peak "
        f"{work.peak_square / 1e12:.2f} TFLOP/s ({work.square}³), {work.peak_mlp / 1e12:.2f} at the MLP's "
        f"shape {rows}×{hidden}×{intermediate}\n"
    )
    print("| path | tokens/s | texts/s | best s | median s | of peak | of MLP-shape peak | cosine min |")
    print("|---|---|---|---|---|---|---|---|")
    for r in work.rows:
        similar = r["cosine_min_vs_in_process"]
        cells = [
            r["path"],
            f"{r['tokens_per_s']:,.0f}",
            f"{r['texts_per_s']:,.1f}",
            r["seconds_best"],
            r["seconds_median"],
            f"{r['mfu_vs_square']:.1%}",
            f"{r['mfu_vs_mlp_shape']:.1%}",
            "—" if similar is None else f"{similar:.6f}",
        ]
        print("| " + " | ".join(map(str, cells)) + " |")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--texts", type=int, default=None, help="default: 20000 on a GPU, 48 on a CPU")
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker-batch-tokens", type=int, default=None, help="the worker's --batch-tokens")
    parser.add_argument("--out", default=str(ROOT / "bench" / "out" / "model_roofline.json"))
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    on_gpu = args.device.startswith("cuda")
    texts = corpus(args.texts or (20000 if on_gpu else 48))
    counts = [int(c) for c in args.clients.split(",") if c]
    folder = model_folder()

    embedder = load_embedder(str(folder), args.device)
    assert isinstance(embedder, TransformersEmbedder)
    print(
        f"{embedder.model_id} on {embedder.device} ({embedder.precision}), batches of "
        f"{embedder.batch_tokens} tokens",
        file=sys.stderr,
        flush=True,
    )
    work = measure(embedder, texts, on_gpu)
    embedder.embed(texts[: min(len(texts), 256)], TASK, SIDE)  # warm-up (kernels, allocator)
    local_seconds, want = timed_in_process(embedder, texts, args.repeats)
    work.add("in-process", local_seconds, None)
    if counts:
        if on_gpu:
            embedder.close()  # the worker needs the GPU memory more than this process does
        run_workers(work, folder, args, counts, want)

    device_name = torch.cuda.get_device_name(args.device) if on_gpu else cpu_name()
    result = report(work, embedder, device_name)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print_summary(work, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
