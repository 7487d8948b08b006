"""The BM25 baseline and rank fusion used by the retrieval benchmark."""

from __future__ import annotations

import sys
from pathlib import Path

# The BM25 baseline is a benchmark's module, not the package's.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from lexical import LexicalIndex, reciprocal_rank_fusion, tokenize


def test_identifiers_split_like_words() -> None:
    assert tokenize("parseJSONFile(path)") == ["parse", "json", "file", "parsejsonfile", "path"]
    assert tokenize("def read_http_response(self):") == ["read", "http", "response", "read_http_response"]
    assert tokenize("Write a function to return the sum") == ["sum"]


def test_bm25_ranks_by_matching_words() -> None:
    docs = ["def parse_json(text): ...", "def send_email(to): ...", "class JsonParser: ..."]
    hits = LexicalIndex(docs).search("parse json", k=3)
    assert [i for i, _ in hits][:2] == [0, 2]
    assert all(score > 0 for _, score in hits) and 1 not in [i for i, _ in hits]
    assert LexicalIndex(docs).search("the a of", k=3) == []
    assert LexicalIndex([]).search("json", k=3) == []


def test_reciprocal_rank_fusion() -> None:
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1]])
    assert [item for item, _ in fused] == [1, 3, 2]
    assert fused[0][1] == 1 / 61 + 1 / 62
