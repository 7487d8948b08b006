"""The remote worker's wire format, shared by the worker and its client (docs/worker-protocol.md).

It lives with the engine rather than the worker so that the worker imports the engine and never
the other way round.

A frame is a 4-byte big-endian unsigned length followed by that many bytes of one
msgpack map. Every map has a type ``t``. Both sides unpack with limits, so a
hostile peer can make a frame be refused, never make a process allocate without
bound. This module is pure (no sockets, no torch, no pygls).
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import asdict, dataclass
from typing import Any

import msgpack
import numpy as np

PROTOCOL_VERSION = 1
HEADER = struct.Struct(">I")


@dataclass(frozen=True)
class Limits:
    """What a worker accepts; announced in its hello so that clients split their work to fit."""

    max_frame: int = 16 * 1024 * 1024
    max_texts: int = 256
    max_text_chars: int = 32_768
    max_inflight: int = 8
    """Requests one connection may have outstanding before the worker stops reading from it."""

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class ProtocolError(Exception):
    """A frame that breaks the protocol; the connection it came on is closed."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def encode_frame(message: dict[str, Any]) -> bytes:
    """One map as a frame: its length, then its msgpack bytes."""
    body: bytes = msgpack.packb(message, use_bin_type=True)
    return HEADER.pack(len(body)) + body


def frame_length(header: bytes, limits: Limits) -> int:
    """The body length a header announces, refused before anything is allocated for it."""
    (length,) = HEADER.unpack(header)
    if length == 0 or length > limits.max_frame:
        raise ProtocolError("frame_too_large", f"frame of {length} bytes; the limit is {limits.max_frame}")
    return int(length)


def decode_body(body: bytes, limits: Limits) -> dict[str, Any]:
    """One frame's msgpack map, unpacked with limits; anything else is a ProtocolError."""
    try:
        message = msgpack.unpackb(
            body,
            raw=False,
            strict_map_key=True,
            max_str_len=limits.max_frame,
            max_bin_len=limits.max_frame,
            max_array_len=max(limits.max_texts, 64),
            max_map_len=64,
            max_ext_len=0,
        )
    except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as exc:
        raise ProtocolError("bad_frame", f"not one msgpack map within the limits: {exc}") from exc
    if not isinstance(message, dict) or not isinstance(message.get("t"), str):
        raise ProtocolError("bad_frame", "a frame must be a map with a string 't'")
    return message


def vectors_to_bytes(vectors: np.ndarray, dtype: str) -> bytes:
    """Row-major little-endian float16 (``f16``) or float32 (``f32``)."""
    kind = {"f16": "<f2", "f32": "<f4"}[dtype]
    return np.ascontiguousarray(vectors, dtype=kind).tobytes()


def vectors_from_bytes(data: bytes, rows: int, dim: int, dtype: str) -> np.ndarray:
    """The inverse of :func:`vectors_to_bytes`, checked against the announced shape; always float32."""
    kind = {"f16": "<f2", "f32": "<f4"}.get(dtype)
    if kind is None:
        raise ProtocolError("bad_frame", f"unknown dtype {dtype!r}")
    if len(data) != rows * dim * np.dtype(kind).itemsize:
        raise ProtocolError("bad_frame", f"{len(data)} bytes do not hold {rows}×{dim} {dtype} values")
    return np.frombuffer(data, dtype=kind).reshape(rows, dim).astype(np.float32)


def auth_mac(token: bytes, nonce: bytes) -> bytes:
    """The challenge's answer: HMAC-SHA256 of the worker's nonce under the shared token.

    The token itself never crosses the wire, and a recorded answer is useless for another nonce.
    """
    return hmac.new(token, b"codekin-worker-v1:" + nonce, hashlib.sha256).digest()


def check_mac(token: bytes, nonce: bytes, mac: object) -> bool:
    """Whether a peer's answer is right, compared in constant time."""
    return isinstance(mac, bytes) and hmac.compare_digest(auth_mac(token, nonce), mac)
