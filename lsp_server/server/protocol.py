"""pygls's protocol, made to answer a request whose params do not parse.

pygls raises InvalidParams while parsing such a request, before any handler runs,
and its read loop only logs it: the client never gets a response and waits
forever. Here the request gets its JSON-RPC error response and nothing else happens.
"""

from __future__ import annotations

import logging
from typing import Any

from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.protocol import LanguageServerProtocol

log = logging.getLogger(__name__)


class _Answered:
    """Stands in for a message already answered with an error; pygls skips it as an unknown message."""

    jsonrpc = "answered"


class CodekinProtocol(LanguageServerProtocol):
    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if not (isinstance(data, dict) and "id" in data and "method" in data):
                raise  # a notification or a response: there is no one to answer
            method = data["method"]
            cause = exc.__cause__ or exc
            error = JsonRpcInvalidParams(f"invalid params for {method}: {_first_line(cause)}")
            log.warning("%s", error.message)
            self._send_response(data["id"], error=error.to_response_error())
            return _Answered()


def _first_line(exc: BaseException) -> str:
    exceptions = getattr(exc, "exceptions", None)
    while exceptions:  # cattrs nests the real cause in exception groups
        exc = exceptions[0]
        exceptions = getattr(exc, "exceptions", None)
    return (str(exc).splitlines() or [type(exc).__name__])[0]
