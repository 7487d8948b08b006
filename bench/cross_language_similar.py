"""Java ↔ C# find-similar through codekin's own path, beside MiniLM's exact ranking and BM25, in one run.

Each of the 499 CodeXGLUE method translations (``../shared/data/code2code_java_cs_valid.jsonl``)
is written as a Java file and a C# file of a real workspace, which codekin indexes. Every Java
method then asks ``similar_with_copies`` (what ``codekin.findSimilar`` answers: copies first, then
the code space's neighbours) for its C# translation, and the other way round; the baselines rank
the same candidates by exact MiniLM cosine and by BM25. Reported: Recall@1 and MRR@10.

``--suite humanevalx``: the 984 HumanEval-X solutions (164 tasks in Python, C++, Java, JavaScript,
Go and Rust, written independently per language) as one file each; each file's longest function asks
codekin's find-similar for 100 results, ranked by file (first hit per file, the query's own file left
out); relevant: the same task's five other files. MAP and Recall@5 beside MiniLM's exact ranking and
BM25 of the whole files (as ``bench/retrieval_eval.py`` scores the suite).

    HF_HUB_OFFLINE=1 python bench/cross_language_similar.py [--limit 499] [--suite java-cs|humanevalx]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from lexical import LexicalIndex  # noqa: E402

from lsp_server.config import load_settings  # noqa: E402
from lsp_server.embedding import load_embedder  # noqa: E402
from lsp_server.index.indexer import WorkspaceIndex  # noqa: E402
from lsp_server.retrieval.clone_model import CloneOptions  # noqa: E402
from lsp_server.retrieval.similar import similar_with_copies  # noqa: E402
from lsp_server.units.extract import extract_text  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "code2code_java_cs_valid.jsonl"
HUMANEVALX = REPO.parent / "shared" / "data" / "code2code_humanevalx_flat.jsonl"
EXTENSIONS = {"python": "py", "cpp": "cpp", "java": "java", "js": "js", "go": "go", "rust": "rs"}
SIDES = (("java", "cs"), ("cs", "java"))


def write_workspace(root: Path, limit: int) -> list[dict[str, str]]:
    with DATA.open() as lines:
        records = [json.loads(line) for line in lines][:limit]
    for n, record in enumerate(records):
        for side in ("java", "cs"):
            folder = root / side
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"M{n}.{side}").write_text(f"class C{n} {{\n{record[side]}\n}}\n")
    return records


def ranks_codekin(index: WorkspaceIndex, n: int, query: str, target: str, k: int) -> int | None:
    """The rank (1-based) of the translation among the target language's results, or None."""
    _, found = similar_with_copies(index, f"{query}/M{n}.{query}", 2, 50, None, [index], CloneOptions())
    methods = [s.hit for s in found if s.hit.path.startswith(f"{target}/") and s.hit.kind != "class"]
    names = [hit.path for hit in methods[:k]]
    expected = f"{target}/M{n}.{target}"
    return names.index(expected) + 1 if expected in names else None


def summary(ranks: list[int | None]) -> tuple[float, float]:
    r1 = sum(1 for rank in ranks if rank == 1) / len(ranks)
    mrr = sum(1 / rank for rank in ranks if rank is not None and rank <= 10) / len(ranks)
    return r1, mrr


def dense_and_bm25(records: list[dict[str, str]], model: str) -> dict[str, list[int | None]]:
    embedder = load_embedder(model, "cpu")
    out: dict[str, list[int | None]] = {}
    for query, target in SIDES:
        queries = [r[query] for r in records]
        documents = [r[target] for r in records]
        q = embedder.embed(queries, task="code2code", side="query")
        d = embedder.embed(documents, task="code2code", side="passage")
        order = np.argsort(-(q @ d.T), axis=1)
        out[f"minilm exact {query}->{target}"] = [
            int(np.flatnonzero(order[i] == i)[0]) + 1 for i in range(len(records))
        ]
        lexical = LexicalIndex(documents)
        bm25 = []
        for i, text in enumerate(queries):
            hits = [doc for doc, _ in lexical.search(text, 10)]
            bm25.append(hits.index(i) + 1 if i in hits else None)
        out[f"BM25 {query}->{target}"] = bm25
    return out


def humanevalx_workspace(root: Path) -> list[dict[str, str]]:
    records = [json.loads(line) for line in HUMANEVALX.open()]
    for record in records:
        record["path"] = f"{record['lang']}/T{record['task'].split('/')[1]}.{EXTENSIONS[record['lang']]}"
        (root / record["path"]).parent.mkdir(parents=True, exist_ok=True)
        (root / record["path"]).write_text(record["code"])
    return records


def query_line(record: dict[str, str]) -> int:
    """The first line of the file's longest function or method (what a user would ask about)."""
    units = extract_text(record["path"], record["code"])
    symbols = [s for s in units.symbols if s.kind in ("function", "method")] if units else []
    assert symbols, record["path"]
    return max(symbols, key=lambda s: s.end_line - s.start_line).start_line


def average_precision(ranked: list[int], relevant: set[int]) -> tuple[float, float]:
    found, total = 0, 0.0
    for position, doc in enumerate(ranked, start=1):
        if doc in relevant:
            found += 1
            total += found / position
    return total / len(relevant), len(set(ranked[:5]) & relevant) / len(relevant)


def humanevalx_codekin(index: WorkspaceIndex, records: list[dict[str, str]]) -> list[tuple[float, float]]:
    file_of = {r["path"]: n for n, r in enumerate(records)}
    scores = []
    for n, record in enumerate(records):
        _, found = similar_with_copies(
            index, record["path"], query_line(record), 100, None, [index], CloneOptions()
        )
        ranked = list(dict.fromkeys(file_of[s.hit.path] for s in found if file_of.get(s.hit.path, n) != n))
        relevant = {d for d, other in enumerate(records) if other["task"] == record["task"] and d != n}
        scores.append(average_precision(ranked, relevant))
    return scores


def humanevalx_baselines(records: list[dict[str, str]], model: str) -> dict[str, list[tuple[float, float]]]:
    """Exact cosine and BM25, over whole files and over each file's longest function."""
    embedder = load_embedder(model, "cpu")
    out: dict[str, list[tuple[float, float]]] = {}
    for what, codes in (
        ("whole files", [r["code"] for r in records]),
        ("longest functions", longest(records)),
    ):
        q = embedder.embed(codes, task="code2code", side="query")
        d = embedder.embed(codes, task="code2code", side="passage")
        dense = np.argsort(-(q @ d.T), axis=1)
        lexical = LexicalIndex(codes)
        exact, bm25 = out.setdefault(f"MiniLM exact ({what})", []), out.setdefault(f"BM25 ({what})", [])
        for n, record in enumerate(records):
            relevant = {i for i, other in enumerate(records) if other["task"] == record["task"] and i != n}
            exact.append(average_precision([int(i) for i in dense[n] if i != n][:50], relevant))
            found = [doc for doc, _ in lexical.search(codes[n], 51) if doc != n]
            bm25.append(average_precision(found[:50], relevant))
    return out


def longest(records: list[dict[str, str]]) -> list[str]:
    out = []
    for record in records:
        units = extract_text(record["path"], record["code"])
        assert units is not None
        line = query_line(record)
        out.append(next(s.code for s in units.symbols if s.start_line == line))
    return out


def run_humanevalx(model: str) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "ws"
        records = humanevalx_workspace(root)
        settings = load_settings(root, {"index_dir": str(Path(scratch) / "index"), "spaces": ["code"]})
        index = WorkspaceIndex(root, settings, load_embedder(model, "cpu"))
        try:
            index.update(("code",))
            results = {"codekin findSimilar (longest function)": humanevalx_codekin(index, records)}
        finally:
            index.close()
    results.update(humanevalx_baselines(records, model))
    print(f"HumanEval-X code2code, {len(records)} solutions; ranked lists cut at 50 files")
    print("| ranking | MAP | R@5 |\n|---|---|---|")
    for name, scores in results.items():
        maps, r5 = zip(*scores, strict=True)
        print(f"| {name} | {100 * np.mean(maps):.1f} | {100 * np.mean(r5):.1f} |")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--limit", type=int, default=499)
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--suite", choices=("java-cs", "humanevalx"), default="java-cs")
    args = parser.parse_args()
    if args.suite == "humanevalx":
        run_humanevalx(args.model)
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "ws"
        records = write_workspace(root, args.limit)
        settings = load_settings(root, {"index_dir": str(Path(scratch) / "index"), "spaces": ["code"]})
        index = WorkspaceIndex(root, settings, load_embedder(args.model, "cpu"))
        try:
            index.update(("code",))
            results = {
                f"codekin findSimilar {q}->{t}": [
                    ranks_codekin(index, n, q, t, 10) for n in range(len(records))
                ]
                for q, t in SIDES
            }
        finally:
            index.close()
    results.update(dense_and_bm25(records, args.model))
    print(f"Java <-> C# find-similar, {len(records)} translations each way")
    print("| ranking | direction | R@1 | MRR@10 |\n|---|---|---|---|")
    for name, ranks in results.items():
        label, direction = name.rsplit(" ", 1)
        r1, mrr = summary(ranks)
        print(f"| {label} | {direction} | {r1:.3f} | {mrr:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
