"""Validating ``embed`` requests before they reach the batcher (docs/worker-protocol.md).

A malformed field closes the connection (ProtocolError); a bad value of the right type is answered on
the request's id (RequestError), so that one client's mistake never costs it its other requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lsp_server.embedding import SIDES, TASKS, Side, Task
from lsp_server.embedding.remote.wire import Limits, ProtocolError

DTYPES = ("f16", "f32")
DTYPE_SIZES = {"f16": 2, "f32": 4}
RESPONSE_OVERHEAD = 256
"""Bytes of a ``vectors`` answer besides its data, counted against ``max_frame``."""


class RequestError(Exception):
    """A problem with one request: answered on its id, the connection stays."""

    def __init__(self, code: str, message: str, request_id: int) -> None:
        super().__init__(message)
        self.code = code
        self.request_id = request_id


@dataclass(frozen=True)
class EmbedRequest:
    """A validated ``embed`` request."""

    id: int
    texts: list[str]
    task: Task
    side: Side
    dim: int | None
    dtype: str


def brief(value: object, limit: int = 40) -> str:
    """A peer's value quoted in a message or the log, cut short: it may be megabytes long."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_embed(message: dict[str, Any], limits: Limits, full_dim: int) -> EmbedRequest:
    """Check an ``embed`` map: a field of the wrong type is a ProtocolError (the connection closes), a
    wrong value of the right type a RequestError (answered on the request's id)."""
    request_id = message.get("id")
    if type(request_id) is not int:
        raise ProtocolError("bad_request", "'id' must be an integer")
    texts = message.get("texts")
    if not isinstance(texts, list) or not all(isinstance(text, str) for text in texts):
        raise ProtocolError("bad_request", "'texts' must be an array of strings")
    task, side = message.get("task"), message.get("side")
    if not isinstance(task, str) or not isinstance(side, str):
        raise ProtocolError("bad_request", "'task' and 'side' must be strings")
    dim = message.get("dim")
    if dim is not None and type(dim) is not int:
        raise ProtocolError("bad_request", "'dim' must be an integer or nil")
    dtype = message.get("dtype", "f32")
    if not isinstance(dtype, str):
        raise ProtocolError("bad_request", "'dtype' must be a string")

    def fail(code: str, why: str) -> RequestError:
        return RequestError(code, why, request_id)

    if task not in TASKS:
        raise fail("bad_task", f"unknown task {brief(task)}; expected one of {', '.join(TASKS)}")
    if side not in SIDES:
        raise fail("bad_side", f"unknown side {brief(side)}; expected 'query' or 'passage'")
    if dtype not in DTYPES:
        raise fail("bad_dtype", f"unknown dtype {brief(dtype)}; expected 'f16' or 'f32'")
    if dim is not None and not 0 < dim <= full_dim:
        raise fail("bad_dim", f"dim must be between 1 and {full_dim}, got {dim}")
    if len(texts) > limits.max_texts:
        raise fail("too_many_texts", f"{len(texts)} texts; the limit is {limits.max_texts}")
    for index, text in enumerate(texts):
        if len(text) > limits.max_text_chars:
            raise fail(
                "text_too_long",
                f"text {index} has {len(text)} characters; the limit is {limits.max_text_chars}",
            )
    out_dim = dim or full_dim
    if len(texts) * out_dim * DTYPE_SIZES[dtype] + RESPONSE_OVERHEAD > limits.max_frame:
        raise fail("response_too_large", f"{len(texts)}×{out_dim} {dtype} vectors exceed max_frame")
    return EmbedRequest(
        request_id,
        texts,
        task,
        side,
        None if dim == full_dim else dim,
        dtype,
    )
