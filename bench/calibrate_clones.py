"""Calibrate a model's semantic-clone threshold: cosines of true clone pairs against random pairs.

True pairs are the same program written twice: Java ↔ C# method translations (CodeXGLUE) and
HumanEval-X solutions of one task in two languages; random pairs are every pair of two
different programs among the same texts (about 800,000). The threshold is the cosine above
which at most ``--fpr`` of random pairs fall; the recall of true pairs at it is printed beside,
for every model asked, in one run.

    python bench/calibrate_clones.py --models minilm --fpr 0.01
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

DATA = REPO.parent / "shared" / "data"


def pairs(seed: int) -> tuple[list[tuple[str, str]], list[str]]:
    """The true pairs, and the name of each one's source."""
    rng = random.Random(seed)
    true: list[tuple[str, str]] = []
    source: list[str] = []
    with (DATA / "code2code_java_cs_valid.jsonl").open() as lines:
        java_cs = [json.loads(line) for line in lines]
    true += [(r["java"], r["cs"]) for r in java_cs]
    source += ["java-cs"] * len(java_cs)
    with (DATA / "code2code_humanevalx_grouped.jsonl").open() as lines:
        tasks = [json.loads(line)["solutions"] for line in lines]
    for solutions in tasks:
        langs = sorted(solutions)
        a, b = rng.sample(langs, 2)
        true.append((solutions[a], solutions[b]))
        source.append("humaneval-x")
    return true, source


def cosines(model: str, device: str, true: list[tuple[str, str]]) -> tuple[np.ndarray, np.ndarray]:
    """Cosines of the true pairs, and of every pair of two different programs among their texts."""
    embedder = load_embedder(model, device)
    texts = sorted({text for pair in true for text in pair})
    row = {text: n for n, text in enumerate(texts)}
    vectors = embedder.embed(texts, task="code2code", side="passage")
    positive = np.array([float(vectors[row[a]] @ vectors[row[b]]) for a, b in true])
    same = np.zeros((len(texts), len(texts)), dtype=bool)
    for a, b in true:  # a translation of a program is no random pair
        same[row[a], row[b]] = same[row[b], row[a]] = True
    upper = np.triu(np.ones_like(same), k=1) & ~same
    return positive, (vectors @ vectors.T)[upper]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", default="minilm")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--fpr", type=float, default=0.01, help="share of random pairs allowed above")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    true, source = pairs(args.seed)
    for model in args.models.split(","):
        positive, negative = cosines(model, args.device, true)
        threshold = float(np.quantile(negative, 1 - args.fpr))
        kinds = np.array(source)
        print(f"{model}: threshold {threshold:.3f} at FPR {args.fpr:.2%} over {len(negative)} random pairs")
        for name in ("java-cs", "humaneval-x"):
            recall = float(np.mean(positive[kinds == name] >= threshold))
            print(f"  recall of {name} true pairs: {recall:.3f} (n={int(np.sum(kinds == name))})")
        print(f"  true pairs: median {np.median(positive):.3f}; random: median {np.median(negative):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
