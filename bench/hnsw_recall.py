"""HNSW recall@10 against exact search, on the vectors of a real index, per ef_search and M.

Reads one space's stored vectors from an index built by codekin (for example the README's main job on
the standard library), builds hnswlib indexes over samples of ``--sizes`` vectors with each ``--m``
(ef_construction as codekin's, 200), and asks ``--queries`` held-out vectors of the same space (never
inserted) for their 10 nearest neighbours at each ``--ef``. Exact search is a matrix product over the
same sample, in the same process. Reported per (size, M, ef): recall@10, query latency p50 / p95 (one
query at a time, as find-similar asks), build seconds and the index's bytes.

    python bench/hnsw_recall.py --index INDEX_DIR [--space code] [--sizes 10000,25000] [--m 16,32]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import hnswlib
import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def stored_vectors(index_dir: Path, space: str) -> np.ndarray:
    with sqlite3.connect(f"{(index_dir / 'index.sqlite3').as_uri()}?mode=ro", uri=True) as db:
        blobs = [
            row[0] for row in db.execute("SELECT vec FROM vectors WHERE space = ? ORDER BY id", (space,))
        ]
    vectors = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), -1).copy()
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def measure(base: np.ndarray, queries: np.ndarray, m: int, efs: list[int]) -> list[dict[str, Any]]:
    started = time.perf_counter()
    index = hnswlib.Index(space="ip", dim=base.shape[1])
    index.init_index(max_elements=len(base), ef_construction=200, M=m)
    index.add_items(base, np.arange(len(base)))
    build_s = time.perf_counter() - started
    truth = np.argsort(-(queries @ base.T), axis=1)[:, :10]
    rows = []
    for ef in efs:
        index.set_ef(max(ef, 10))
        latencies, found = [], []
        for query in queries:
            t = time.perf_counter()
            labels, _ = index.knn_query(query[None, :], k=10)
            latencies.append((time.perf_counter() - t) * 1000)
            found.append(labels[0])
        recall = float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)]))
        ordered = sorted(latencies)
        rows.append(
            {
                "size": len(base),
                "M": m,
                "ef": ef,
                "recall@10": round(recall, 4),
                "p50_ms": round(statistics.median(latencies), 3),
                "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
                "build_s": round(build_s, 1),
                "bytes": int(index.index_file_size()),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--index", type=Path, required=True, help="an index folder (holds index.sqlite3)")
    parser.add_argument("--space", default="code")
    parser.add_argument("--sizes", default="10000,25000")
    parser.add_argument("--m", default="16,32")
    parser.add_argument("--ef", default="16,32,64,128,256")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "hnsw_recall.json")
    args = parser.parse_args()
    vectors = stored_vectors(args.index, args.space)
    order = np.random.default_rng(0).permutation(len(vectors))
    queries, pool = vectors[order[: args.queries]], vectors[order[args.queries :]]
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        if size > len(pool):
            print(f"only {len(pool)} vectors besides the queries: size {size} left out", file=sys.stderr)
            continue
        for m in (int(x) for x in args.m.split(",")):
            rows += measure(pool[:size], queries, m, [int(e) for e in args.ef.split(",")])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"space": args.space, "vectors": len(vectors), "rows": rows}, indent=1))
    print(f"{args.space} space, {len(vectors)} stored vectors, {args.queries} held-out queries, k = 10")
    print(
        "| vectors | M | ef | recall@10 | p50 ms | p95 ms | build s | MB |\n|---|---|---|---|---|---|---|---|"
    )
    for r in rows:
        print(
            f"| {r['size']} | {r['M']} | {r['ef']} | {r['recall@10']:.4f} | {r['p50_ms']} | {r['p95_ms']} | "
            f"{r['build_s']} | {r['bytes'] / 1e6:.1f} |"
        )


if __name__ == "__main__":
    main()
