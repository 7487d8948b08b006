"""Retrieval quality on ../shared/data: dense (an embedder), BM25, and their fusion (hybrid).

Every file of the data folder, scored the way its README says:
nl2code, code2doc and completion: nDCG@10, MRR@10, Recall@1/@10 (one relevant document);
code2code: MAP and Recall@5 over all 984 solutions, and per language pair.

    python bench/retrieval_eval.py [--model minilm] [--precision int8] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from lexical import LexicalIndex, reciprocal_rank_fusion  # bench/lexical.py, beside this script

from lsp_server.embedding import load_embedder
from lsp_server.embedding.base import Embedder, Task

Ranker = Callable[[Sequence[str], Sequence[str], Task], np.ndarray]
"""(queries, documents, task) -> for each query, document numbers best first (at least 100 of them)."""

DEPTH = 100


def load_jsonl(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def dense_ranker(embedder: Embedder) -> Ranker:
    """Exact cosine ranking; embeddings are cached so that the hybrid does not embed twice."""
    cache: dict[tuple[str, str, int], np.ndarray] = {}

    def vectors(texts: Sequence[str], task: Task, side: str) -> np.ndarray:
        key = (task, side, hash(tuple(texts)))
        if key not in cache:
            cache[key] = embedder.embed(list(texts), task=task, side=side)  # type: ignore[arg-type]
        return cache[key]

    def rank(queries: Sequence[str], docs: Sequence[str], task: Task) -> np.ndarray:
        q, d = vectors(queries, task, "query"), vectors(docs, task, "passage")
        return np.argsort(-(q @ d.T), axis=1, kind="stable")[:, :DEPTH]

    return rank


def bm25_rank(queries: Sequence[str], docs: Sequence[str], task: Task) -> np.ndarray:
    index = LexicalIndex(docs)
    out = np.full((len(queries), DEPTH), -1, dtype=np.int64)
    for row, query in enumerate(queries):
        hits = [i for i, _ in index.search(query, DEPTH)]
        out[row, : len(hits)] = hits
    return out


def hybrid_ranker(dense: Ranker) -> Ranker:
    def rank(queries: Sequence[str], docs: Sequence[str], task: Task) -> np.ndarray:
        a, b = dense(queries, docs, task), bm25_rank(queries, docs, task)
        out = np.full((len(queries), DEPTH), -1, dtype=np.int64)
        for row in range(len(queries)):
            fused = reciprocal_rank_fusion([[i for i in a[row] if i >= 0], [i for i in b[row] if i >= 0]])
            ids = [i for i, _ in fused[:DEPTH]]
            out[row, : len(ids)] = ids
        return out

    return rank


def single_relevant_metrics(ranking: np.ndarray, relevant: Sequence[int]) -> dict[str, float]:
    ndcg = mrr = r1 = r10 = 0.0
    for row, rel in zip(ranking, relevant, strict=True):
        hits = np.nonzero(row[:10] == rel)[0]
        if len(hits):
            rank = int(hits[0]) + 1
            ndcg += 1.0 / math.log2(rank + 1)
            mrr += 1.0 / rank
            r10 += 1.0
            r1 += rank == 1
    n = len(relevant)
    return {"nDCG@10": 100 * ndcg / n, "MRR@10": 100 * mrr / n, "R@1": 100 * r1 / n, "R@10": 100 * r10 / n}


def eval_pairs(rank: Ranker, queries: list[str], docs: list[str], task: Task) -> dict[str, float]:
    return single_relevant_metrics(rank(queries, docs, task), list(range(len(queries))))


def eval_code2code(rank: Ranker, records: list[dict]) -> dict[str, float]:  # type: ignore[type-arg]
    """Each solution queries all 984; relevant: the same task in the five other languages."""
    codes = [r["code"] for r in records]
    tasks = [r["task"] for r in records]
    langs = [r["lang"] for r in records]
    ranking = rank(codes, codes, "code2code")
    aps, r5 = [], []
    for qi, row in enumerate(ranking):
        row = [int(d) for d in row if d >= 0 and d != qi]
        relevant = {d for d in range(len(records)) if tasks[d] == tasks[qi] and d != qi}
        found, precision_sum = 0, 0.0
        for position, doc in enumerate(row, start=1):
            if doc in relevant:
                found += 1
                precision_sum += found / position
        aps.append(precision_sum / len(relevant))
        r5.append(len(set(row[:5]) & relevant) / len(relevant))
    out = {"MAP": 100 * float(np.mean(aps)), "R@5": 100 * float(np.mean(r5))}
    pair_maps = []
    for a in sorted(set(langs)):
        for b in sorted(set(langs)):
            if a == b:
                continue
            qs = [r for r in records if r["lang"] == a]
            ds = {r["task"]: r["code"] for r in records if r["lang"] == b}
            order = [r["task"] for r in qs]
            metrics = eval_pairs(rank, [r["code"] for r in qs], [ds[t] for t in order], "code2code")
            pair_maps.append(metrics["MRR@10"])
            out[f"{a}->{b} MRR@10"] = metrics["MRR@10"]
    out["pairs mean MRR@10"] = float(np.mean(pair_maps))
    return out


def run(data: Path, rankers: dict[str, Ranker]) -> dict[str, dict[str, dict[str, float]]]:
    he = load_jsonl(data / "nl2code_humaneval.jsonl")
    mbpp = load_jsonl(data / "nl2code_mbpp.jsonl")
    c2d = load_jsonl(data / "code2doc_humaneval.jsonl")
    comp = load_jsonl(data / "completion_humanevalx.jsonl")
    flat = load_jsonl(data / "code2code_humanevalx_flat.jsonl")
    suites: dict[str, Callable[[Ranker], dict[str, float]]] = {
        "nl2code HumanEval": lambda r: eval_pairs(
            r, [x["query"] for x in he], [x["code"] for x in he], "nl2code"
        ),
        "nl2code MBPP": lambda r: eval_pairs(
            r, [x["query"] for x in mbpp], [x["code"] for x in mbpp], "nl2code"
        ),
        "code2doc HumanEval": lambda r: eval_pairs(
            r, [x["code"] for x in c2d], [x["doc"] for x in c2d], "code2nl"
        ),
        "completion HumanEval-X": lambda r: eval_pairs(
            r, [x["query"] for x in comp], [x["code"] for x in comp], "code2completion"
        ),
        "code2code HumanEval-X": lambda r: eval_code2code(r, flat),
    }
    results: dict[str, dict[str, dict[str, float]]] = {}
    for name, ranker in rankers.items():
        results[name] = {}
        for suite, evaluate in suites.items():
            started = time.perf_counter()
            results[name][suite] = evaluate(ranker)
            print(f"  {name:>14} {suite:<24} {time.perf_counter() - started:6.1f} s", file=sys.stderr)
    return results


def markdown(results: dict[str, dict[str, dict[str, float]]]) -> str:
    lines = ["| suite | metric | " + " | ".join(results) + " |", "|---|---|" + "---|" * len(results)]
    first = next(iter(results.values()))
    for suite, metrics in first.items():
        for metric in metrics:
            if "->" in metric:
                continue
            row = " | ".join(f"{results[name][suite][metric]:.1f}" for name in results)
            lines.append(f"| {suite} | {metric} | {row} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data"
    )
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--precision", action="append", default=[], help="also evaluate these precisions")
    parser.add_argument("--out", type=Path, default=Path("bench/out/retrieval.json"))
    args = parser.parse_args()

    embedder = load_embedder(args.model, "cpu")
    dense = dense_ranker(embedder)
    rankers: dict[str, Ranker] = {
        "BM25": bm25_rank,
        args.model: dense,
        f"hybrid ({args.model}+BM25)": hybrid_ranker(dense),
    }
    for precision in args.precision:
        other = dense_ranker(load_embedder(args.model, "cpu", precision=precision))
        rankers[f"{args.model} {precision}"] = other
        rankers[f"hybrid ({args.model} {precision}+BM25)"] = hybrid_ranker(other)
    results = run(args.data, rankers)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(markdown(results))


if __name__ == "__main__":
    main()
