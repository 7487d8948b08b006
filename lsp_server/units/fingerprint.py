"""Fingerprints of a code unit for syntactic clone detection, computed once per content hash.

- ``exact``: a hash of the token stream without comments and layout (Type-1 clones:
  the same code, reformatted or re-commented);
- ``renamed``: a hash of the stream with identifiers and literals abstracted (Type-2:
  the same code with other names and values);
- ``signature``: a MinHash of the renamed stream's token 4-grams (Type-3, near-miss:
  statements added, removed or changed). Units whose signatures agree on a band of rows
  are candidates; a token alignment of their renamed streams (:func:`similarity`) decides.

The hash family is fixed (seeded), so fingerprints stored by one run compare with the next.
"""

from __future__ import annotations

import functools
import hashlib
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from rapidfuzz.distance import Indel

from lsp_server.units.tokens import Token, code_tokens

SHINGLE = 4
"""Tokens per shingle: long enough to be specific, short enough that one edit spoils few."""
BANDS = 32
ROWS = 3
PERMUTATIONS = BANDS * ROWS
"""32 bands of 3 rows: a pair with 4-gram Jaccard 0.5 is a candidate with probability 0.99, 0.3 with 0.58."""

_RANDOM = np.random.default_rng(20261201)
_MULTIPLIERS = _RANDOM.integers(1, 2**63, size=PERMUTATIONS, dtype=np.uint64) | np.uint64(1)
_OFFSETS = _RANDOM.integers(0, 2**63, size=PERMUTATIONS, dtype=np.uint64)
_SHINGLE_BASE = np.uint64(1_000_003)
STREAM_SEPARATOR = "\x1f"

Signature = npt.NDArray[np.uint32]


@dataclass(frozen=True, slots=True)
class Fingerprint:
    tokens: int
    exact: str
    renamed: str
    signature: Signature
    stream: tuple[str, ...]
    """The renamed token stream, kept for verifying near-miss candidates."""

    def signature_bytes(self) -> bytes:
        return self.signature.astype("<u4").tobytes()


def fingerprint(language: str, text: str) -> Fingerprint | None:
    """The fingerprint of ``text``, a code unit of ``language``; None where there is no grammar."""
    tokens = code_tokens(language, text)
    return fingerprint_of_tokens(tokens) if tokens else None


MEMBER_ACCESS = frozenset({".", "->", "::", "?."})
"""After these, a name is an API's (a method, a field), not one the copier chose: it stays concrete."""


def renamed_stream(tokens: Sequence[Token]) -> tuple[str, ...]:
    """Identifiers and literals abstracted, except member names (``x.append`` keeps ``append``):
    a copy renames its variables, not the API it calls."""
    out = []
    previous = ""
    for token in tokens:
        out.append(
            token.text if previous in MEMBER_ACCESS and token.category == "identifier" else token.renamed
        )
        previous = token.text
    return tuple(out)


def fingerprint_of_tokens(tokens: Sequence[Token]) -> Fingerprint:
    stream = renamed_stream(tokens)
    return Fingerprint(
        tokens=len(tokens),
        exact=_digest(token.text for token in tokens),
        renamed=_digest(stream),
        signature=minhash(stream),
        stream=stream,
    )


def minhash(stream: Sequence[str]) -> Signature:
    """The MinHash signature of the stream's ``SHINGLE``-grams (the whole stream when shorter)."""
    hashes = np.fromiter((_token_hash(token) for token in stream), dtype=np.uint64, count=len(stream))
    if len(hashes) == 0:
        return np.zeros(PERMUTATIONS, dtype=np.uint32)
    width = min(SHINGLE, len(hashes))
    shingles = np.zeros(len(hashes) - width + 1, dtype=np.uint64)
    for offset in range(width):  # a polynomial over the window, wrapping at 2**64
        shingles = shingles * _SHINGLE_BASE + hashes[offset : len(hashes) - width + 1 + offset]
    shingles = np.unique(shingles)
    with np.errstate(over="ignore"):
        mixed = _MULTIPLIERS[:, None] * shingles[None, :] + _OFFSETS[:, None]
    return (mixed >> np.uint64(32)).min(axis=1).astype(np.uint32)


@functools.lru_cache(maxsize=1 << 16)
def _token_hash(token: str) -> int:
    return zlib.crc32(token.encode("utf-8", "surrogatepass"))


def band_keys(signatures: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint64]:
    """One 64-bit key per band and row of ``signatures`` (n × PERMUTATIONS): equal keys, a candidate."""
    rows = signatures.reshape(len(signatures), BANDS, ROWS).astype(np.uint64)
    keys = np.zeros((len(signatures), BANDS), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for row in range(ROWS):
            keys = keys * np.uint64(0x9E3779B97F4A7C15) + rows[:, :, row] + np.uint64(row + 1)
    return keys


def estimated_jaccard(a: Signature, b: Signature) -> float:
    return float(np.mean(a == b))


def similarity(a: Sequence[str], b: Sequence[str]) -> float:
    """How much of two token streams aligns: 2·(longest common subsequence) / (len a + len b), 0 to 1.

    rapidfuzz's Indel distance computes it in C++ (microseconds, where difflib takes a millisecond).
    """
    if not a and not b:
        return 1.0
    return float(Indel.normalized_similarity(a, b))


def signature_from_bytes(blob: bytes) -> Signature:
    return np.frombuffer(blob, dtype="<u4").astype(np.uint32)


def stream_from_text(text: str) -> tuple[str, ...]:
    return tuple(text.split(STREAM_SEPARATOR)) if text else ()


def stream_text(stream: Sequence[str]) -> str:
    return STREAM_SEPARATOR.join(stream)


def _digest(parts: Iterable[str]) -> str:
    joined = STREAM_SEPARATOR.join(parts)
    return hashlib.blake2b(joined.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
