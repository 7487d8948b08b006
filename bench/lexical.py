"""BM25 over code, with identifiers split the way people search for them, and rank fusion: the
lexical baseline of bench/retrieval_eval.py (the product ranks by embeddings alone).

``parseJSONFile`` and ``parse_json_file`` both become ``parse json file``, so a
query in plain words meets code in any naming convention.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import bm25s
import numpy as np

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+")
STOPWORDS = frozenset(
    {
        *("a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "is", "it", "of", "on"),
        *("or", "that", "the", "this", "to", "with", "write", "function", "return", "returns", "given"),
        *("def", "self"),
    }
)
RRF_K = 60
"""The usual reciprocal-rank-fusion constant (Cormack et al.): 1 / (60 + rank)."""


def tokenize(text: str) -> list[str]:
    """Lower-cased words: identifiers split on case changes, underscores and digits; stopwords dropped."""
    tokens: list[str] = []
    for ident in _IDENT.findall(text):
        parts = _WORD.findall(ident)
        tokens.extend(part.lower() for part in parts)
        if len(parts) > 1:
            tokens.append(ident.lower())
    return [token for token in tokens if token not in STOPWORDS and len(token) > 1]


class LexicalIndex:
    """BM25 (bm25s, Lucene variant) over a fixed list of documents."""

    def __init__(self, documents: Sequence[str]) -> None:
        self.size = len(documents)
        self._bm25 = bm25s.BM25()
        corpus = [tokenize(doc) or ["<empty>"] for doc in documents]
        if corpus:
            self._bm25.index(corpus, show_progress=False)

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """(document number, BM25 score) of the best ``k`` documents with a non-zero score."""
        tokens = tokenize(query)
        if not tokens or not self.size:
            return []
        scores = np.asarray(self._bm25.get_scores(tokens))
        k = min(k, self.size)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]


def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]], k: int = RRF_K) -> list[tuple[int, float]]:
    """Fuse ranked lists of ids: score = Σ 1 / (k + rank), rank from 1; best first."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(fused.items(), key=lambda pair: -pair[1])
