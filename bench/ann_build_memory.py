"""Peak memory of building the ANN spaces from the store: vectors fetched in slices, or all at once.

A restart without a usable HNSW file, a model switch or a damaged file rebuilds each space from the
vectors in SQLite. Fetching a whole space at once holds every vector three times (the blobs, their
join, the matrix); ``FETCH_SLICE`` bounds that to one slice. Each configuration builds the spaces of
an existing store in a fresh subprocess (peak RSS is per process), read-only, in alternating order,
and reports the growth of the peak resident set over what the process held before the build.

    python bench/ann_build_memory.py [--store /tmp/codekin-lsp-bench/index-10000-…/*/index.sqlite3]
        [--rounds 2] [--slices 1000000000,8192]
"""

from __future__ import annotations

import argparse
import glob
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STORE = "/tmp/codekin-lsp-bench/index-10000-code-docs-completions/*/index.sqlite3"


def rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def build(store_path: str, fetch_slice: int) -> dict[str, float]:
    """In this process: build every space of ``store_path`` with ``fetch_slice``; memory and time."""
    sys.path.insert(0, str(ROOT))
    from lsp_server.index import ann as ann_module
    from lsp_server.index.store import Store

    ann_module.FETCH_SLICE = fetch_slice
    store = Store(Path(store_path))
    spaces = {}
    with store._lock:
        rows = store._db.execute("SELECT DISTINCT model, space, dim FROM vectors").fetchall()
    before = rss_kb("VmRSS")
    started = time.perf_counter()
    vectors = 0
    for model, space, dim in rows:
        index = ann_module.AnnIndex(int(dim))
        index.sync(store.live_vector_ids(model, space), store.vectors_by_id)
        spaces[space] = index
        vectors += len(index)
    return {
        "vectors": vectors,
        "seconds": time.perf_counter() - started,
        "peak_growth_mb": (rss_kb("VmHWM") - before) / 1024,
        "held_after_mb": (rss_kb("VmRSS") - before) / 1024,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", default=DEFAULT_STORE)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--slices", default="1000000000,8192")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(ROOT / "bench" / "out" / "ann_build_memory.json"))
    args = parser.parse_args()
    stores = sorted(glob.glob(args.store))
    if not stores:
        print(f"no store matches {args.store}: run bench/lsp_latency.py --symbols 10000 first")
        return 2
    if args.child is not None:
        print(json.dumps(build(stores[0], args.child)))
        return 0
    slices = [int(s) for s in args.slices.split(",")]
    results: dict[int, list[dict[str, float]]] = {s: [] for s in slices}
    for round_ in range(args.rounds):
        for fetch_slice in slices if round_ % 2 == 0 else slices[::-1]:
            child = [sys.executable, __file__, "--store", stores[0], "--child", str(fetch_slice)]
            done = subprocess.run(child, capture_output=True, text=True, check=True)
            results[fetch_slice].append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(fetch_slice, results[fetch_slice][-1], file=sys.stderr)
    rows = {
        str(s): {key: round(statistics.median(r[key] for r in runs), 2) for key in runs[0]}
        for s, runs in results.items()
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"store": stores[0], "rounds": args.rounds, "rows": rows}, indent=1))
    print("| fetch slice | vectors | build s | peak growth MB | held after MB |\n|---|---|---|---|---|")
    for s, row in rows.items():
        label = "all at once" if int(s) >= 10**8 else s
        cells = [label, f"{row['vectors']:.0f}", row["seconds"], row["peak_growth_mb"], row["held_after_mb"]]
        print("| " + " | ".join(map(str, cells)) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
