"""Does code2code serve better with or without the unit's docstring and comments?  Measured per model.

On ``bench/clone_planting.py``'s workspace (real standard-library and HumanEval-X code with planted
copies), every Python function and method is embedded twice for code2code: as it stands (what the code
space holds today) and with its docstring and comment-only lines taken out. Two measurements per text:

- **copies found**: each planted Python copy (exact: re-commented; renamed and near-miss: names and
  literals changed, docstrings among them) asks for its original among all Python units; Recall@1 and
  MRR@10 of the original;
- **semantic pairs above the profile's threshold** among the standard-library units that are not
  copies (their renamed token streams differ): how many pairs a duplicates run would call semantic
  clones, and a sample printed for reading — fewer, where the sample is no worse, is better.

Also the cost of keeping both texts (a second vector per unit for code2code): the tokens of the
doc-free texts as a share of today's.

    python bench/clone_planting.py --out /tmp/codekin-clones   # once (clones_vs_jscpd.py does it too)
    HF_HUB_OFFLINE=1 python bench/docstring_code2code.py [--planted /tmp/codekin-clones] [--model minilm]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lsp_server.embedding import load_embedder  # noqa: E402
from lsp_server.embedding.profiles import profile_for_model_id  # noqa: E402
from lsp_server.units.extract import extract_text  # noqa: E402
from lsp_server.units.fingerprint import fingerprint  # noqa: E402
from lsp_server.units.model import Symbol  # noqa: E402


def without_docs(symbol: Symbol) -> str:
    """The symbol's code without its docstring lines and comment-only lines."""
    lines = symbol.code.split("\n")
    if (
        symbol.doc_start_line is not None
        and symbol.doc_end_line is not None
        and symbol.doc_start_line > symbol.start_line
    ):
        first, last = symbol.doc_start_line - symbol.start_line, symbol.doc_end_line - symbol.start_line
        lines = lines[:first] + lines[last + 1 :]
    return "\n".join(line for line in lines if not line.strip().startswith("#"))


def python_units(root: Path) -> list[tuple[str, Symbol]]:
    units = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        found = extract_text(relative, path.read_text(encoding="utf-8", errors="replace"))
        units += [(relative, s) for s in (found.symbols if found else []) if s.kind in ("function", "method")]
    return units


def locate(units: list[tuple[str, Symbol]], where: dict[str, object]) -> int | None:
    """The unit of ``where`` (path and lines): the one starting there, or the first inside it."""
    inside = [
        n
        for n, (path, s) in enumerate(units)
        if path == where["path"]
        and int(str(where["start_line"])) <= s.start_line <= int(str(where["end_line"]))
    ]
    return inside[0] if inside else None


def copies_found(vectors: np.ndarray, pairs: list[tuple[int, int, str]]) -> dict[str, tuple[float, float]]:
    out = {}
    for kind in ("exact", "renamed", "near-miss"):
        chosen = [(c, o) for c, o, k in pairs if k == kind]
        ranks = []
        for copy, original in chosen:
            scores = vectors @ vectors[copy]
            scores[copy] = -2.0
            ranks.append(int(np.count_nonzero(scores > scores[original])) + 1)
        r1 = sum(r == 1 for r in ranks) / len(ranks)
        mrr = sum(1 / r for r in ranks if r <= 10) / len(ranks)
        out[kind] = (r1, mrr)
    return out


def semantic_pairs(
    vectors: np.ndarray, rows: list[int], renamed: list[str], threshold: float
) -> list[tuple[int, int, float]]:
    sub = vectors[rows]
    scores = sub @ sub.T
    found = []
    for i, j in zip(*np.nonzero(np.triu(scores, 1) >= threshold), strict=True):
        if renamed[rows[i]] != renamed[rows[j]]:
            found.append((rows[int(i)], rows[int(j)], float(scores[i, j])))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--planted", type=Path, default=Path("/tmp/codekin-clones"))
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--sample", type=int, default=8)
    args = parser.parse_args()
    root = args.planted / "workspace"
    truth = json.loads((args.planted / "truth.json").read_text())
    units = python_units(root)
    pairs = []
    for pair in truth["pairs"]:
        if pair["language"] == "python":
            copy, original = locate(units, pair["copy"]), locate(units, pair["original"])
            if copy is not None and original is not None:
                pairs.append((copy, original, pair["kind"]))
    embedder = load_embedder(args.model, "cpu")
    threshold = profile_for_model_id(embedder.model_id).clone_threshold or 0.95
    texts = {
        "with docstring": [s.code for _, s in units],
        "without docstring": [without_docs(s) for _, s in units],
    }
    renamed = [(fp.renamed if (fp := fingerprint("python", s.code)) else s.code) for _, s in units]
    stdlib = [n for n, (path, _) in enumerate(units) if path.startswith("stdlib/")]
    print(
        f"{len(units)} Python units, {len(pairs)} planted pairs, "
        f"model {embedder.model_id}, threshold {threshold}"
    )
    tokens = {name: sum(len(t.split()) for t in values) for name, values in texts.items()}
    print(
        "whitespace tokens without docstrings: "
        f"{tokens['without docstring'] / tokens['with docstring']:.2f} of those with"
    )
    rng = random.Random(3)
    for name, values in texts.items():
        vectors = embedder.embed(values, task="code2code", side="passage")
        found = copies_found(vectors, pairs)
        print(f"\n## {name}\n")
        for kind, (r1, mrr) in found.items():
            print(f"- {kind}: original R@1 {r1:.3f}, MRR@10 {mrr:.3f}")
        semantic = semantic_pairs(vectors, stdlib, renamed, threshold)
        print(f"- semantic pairs among {len(stdlib)} stdlib units at >= {threshold}: {len(semantic)}")
        for a, b, score in rng.sample(semantic, min(args.sample, len(semantic))):
            print(f"  - {score:.3f} {units[a][0]}:{units[a][1].name} ~ {units[b][0]}:{units[b][1].name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
