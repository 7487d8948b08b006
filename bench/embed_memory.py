"""Resident memory while embedding many passages: does it come back between chunks?

A cold index embeds for minutes in chunks of 256 texts, 8 at a time on the model (the server's
``PriorityEmbedder`` slices), and the server's resident set grew with the units embedded (0.73 →
1.1 GB over 100k code units in ``bench/lsp_latency.py``). Each mode runs in a fresh process on the
same texts (real standard-library functions, MiniLM, CPU) and records the resident set after each
chunk:

- ``plain``: what the server did;
- ``trim``: ``malloc_trim(0)`` after each chunk (glibc gives freed heap pages back to the system);
- ``arenas2``: ``MALLOC_ARENA_MAX=2`` (fewer per-thread heaps to fragment).

    python bench/embed_memory.py [--texts 4096] [--modes plain,trim,arenas2]
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHUNK = 256


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(mode: str, count: int) -> dict[str, object]:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    from embed_throughput import stdlib_functions

    from lsp_server.embedding import load_embedder
    from lsp_server.embedding.priority import PriorityEmbedder

    distinct = stdlib_functions(10**9)
    texts = [distinct[i % len(distinct)] + f"\n# {i}" for i in range(count)]
    embedder = PriorityEmbedder(load_embedder("minilm", "cpu"))
    libc = ctypes.CDLL("libc.so.6") if mode == "trim" else None
    embedder.embed(texts[:64], "code2code", "passage")
    start_rss = rss_mb()
    curve = []
    started = time.perf_counter()
    for begin in range(0, count, CHUNK):
        embedder.embed(texts[begin : begin + CHUNK], "code2code", "passage")
        if libc is not None:
            libc.malloc_trim(0)
        curve.append(round(rss_mb(), 1))
    return {
        "mode": mode,
        "seconds": round(time.perf_counter() - started, 1),
        "rss_start_mb": round(start_rss, 1),
        "rss_end_mb": curve[-1],
        "rss_max_mb": max(curve),
        "curve": curve,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--texts", type=int, default=4096)
    parser.add_argument("--modes", default="plain,trim,arenas2")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(ROOT / "bench" / "out" / "embed_memory.json"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.texts)))
        return 0
    rows = []
    for mode in args.modes.split(","):
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        if mode == "arenas2":
            env["MALLOC_ARENA_MAX"] = "2"
        done = subprocess.run(
            [sys.executable, __file__, "--child", mode, "--texts", str(args.texts)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        row = rows[-1]
        print(
            f"{mode}: {row['seconds']} s, RSS {row['rss_start_mb']} → {row['rss_end_mb']} MB "
            f"(max {row['rss_max_mb']})",
            file=sys.stderr,
            flush=True,
        )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"texts": args.texts, "chunk": CHUNK, "rows": rows}, indent=1))
    print("| mode | seconds | RSS after warm-up MB | RSS at the end MB | max MB | growth MB |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        growth = round(float(row["rss_end_mb"]) - float(row["rss_start_mb"]), 1)  # type: ignore[arg-type]
        cells = [
            row["mode"],
            row["seconds"],
            row["rss_start_mb"],
            row["rss_end_mb"],
            row["rss_max_mb"],
            growth,
        ]
        print("| " + " | ".join(map(str, cells)) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
