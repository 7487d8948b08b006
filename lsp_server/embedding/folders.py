"""Local model folders: what their own config files say, and a fingerprint that names their weights.

A folder is known by its name and a hash of its files, so that other weights under the same folder name
get another model id (and so another index). Without a profile, its pooling and length limit come from
the sentence-transformers and transformers configs it ships.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .base import EmbeddingError
from .profiles import Pooling

_WEIGHT_SUFFIXES = {".safetensors", ".bin", ".pt", ".pth", ".gguf", ".onnx"}
_TEXT_SUFFIXES = {".json", ".txt", ".model", ".tiktoken"}
_MAX_LENGTH_CAP = 8192


def folder_fingerprint(folder: Path, sample: int = 1 << 20) -> str:
    """A short hash of a model folder's configs and tokenizer files, and of samples of its weights.

    Weights are sampled (size, then head, middle and tail) rather than read whole: different weights
    differ there, and a 1 GB file is not hashed on every start.
    """
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel.startswith(".") or "/." in rel:
            continue
        size = path.stat().st_size
        digest.update(f"{rel}\0{size}\0".encode())
        with path.open("rb") as f:
            if path.suffix in _WEIGHT_SUFFIXES:
                for offset in (0, max(0, size // 2 - sample // 2), max(0, size - sample)):
                    f.seek(offset)
                    digest.update(f.read(sample))
            elif path.suffix in _TEXT_SUFFIXES:
                digest.update(f.read())
    return digest.hexdigest()[:12]


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``; a missing, unreadable or non-object file reads as empty."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def folder_pooling(folder: Path, decoder: bool) -> Pooling:
    """Pooling from a sentence-transformers Pooling config when there is one, else by architecture."""
    for candidate in sorted(folder.glob("*Pooling/config.json")):
        config = read_json(candidate)
        if config.get("pooling_mode_lasttoken"):
            return "last"
        if config.get("pooling_mode_mean_tokens"):
            return "mean"
        raise EmbeddingError(
            f"{candidate} names a pooling this embedder lacks; pass pooling='last' or 'mean'"
        )
    return "last" if decoder else "mean"


def folder_max_length(folder: Path, config: dict[str, Any]) -> int:
    """sentence-transformers' max_seq_length, else the tokenizer's or the model's limit, at most 8192."""
    st_length = read_json(folder / "sentence_bert_config.json").get("max_seq_length")
    if st_length:
        return int(st_length)
    limits = [
        read_json(folder / "tokenizer_config.json").get("model_max_length"),
        config.get("max_position_embeddings"),
    ]
    sane = [int(x) for x in limits if isinstance(x, int | float) and 0 < x < 1_000_000]
    return min(min(sane, default=512), _MAX_LENGTH_CAP)


class ConfigAttrs:
    """A config dict seen as attributes, enough for ``is_decoder_config`` without loading the model."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.__dict__.update(data)
