"""pygls's protocol, made to answer every request and to survive any bytes a client sends.

pygls raises InvalidParams while parsing a request whose params do not parse, before any handler
runs, and its read loop only logs it: the client never gets a response and waits forever. Here the
request gets its JSON-RPC error response. Beyond that, codekin answers what JSON-RPC and the LSP ask
of a server and pygls leaves out: a request before ``initialize`` gets ServerNotInitialized (-32002)
and a notification then is dropped; a message that is not a valid JSON-RPC object (an ``id`` that is an
object, a ``method`` that is not a string, a list, a number) gets Invalid Request (-32600) with id
null; a body that is not JSON gets Parse error (-32700) with id null; a notification whose params do
not parse (``$/cancelRequest`` with a null id) is dropped with one log line. The framing of the stream
is read by ``framing.FrameReader``, which skips a malformed frame instead of going deaf.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from lsprotocol import types
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcParseError,
    JsonRpcServerNotInitialized,
)
from pygls.protocol import LanguageServerProtocol

log = logging.getLogger(__name__)


class _Answered:
    """Stands in for a message already answered with an error (or dropped); handle_message skips it."""

    jsonrpc = "answered"


def _quiet_deserialize_errors(record: logging.LogRecord) -> bool:
    """pygls logs a traceback for every message it cannot structure; CodekinProtocol logs one line."""
    return not str(record.msg).startswith("Unable to deserialize message")


logging.getLogger("pygls.protocol.json_rpc").addFilter(_quiet_deserialize_errors)


def valid_id(value: object) -> bool:
    """An LSP message id is an integer or a string (JSON-RPC's null and fractions are not taken)."""
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def invalid_message(data: dict[str, Any]) -> str | None:
    """Why a decoded JSON object is not a JSON-RPC 2.0 message, or None when it is one."""
    if data.get("jsonrpc") != "2.0":
        return "its jsonrpc member is not '2.0'"
    if "method" in data and not isinstance(data["method"], str):
        return f"its method is {type(data['method']).__name__}, not a string"
    if "id" in data and not valid_id(data["id"]):
        return f"its id is {json.dumps(data['id'])[:40]}, not an integer or a string"
    if "method" not in data and "id" not in data:
        return "it has neither a method nor an id"
    return None


def answer_id(data: object) -> int | str | None:
    """The id an error response to ``data`` carries: its own when it is a request with a valid id."""
    if isinstance(data, dict) and "method" in data and valid_id(data.get("id")):
        return data["id"]
    return None


class CodekinProtocol(LanguageServerProtocol):
    initialize_seen = False

    def receive(self, body: bytes) -> None:
        """One frame's body: decoded, checked, then handed to pygls; whatever goes wrong is answered."""
        try:
            message = json.loads(body, object_hook=self.structure_message)
        except (ValueError, RecursionError) as exc:  # not JSON, not UTF-8, nested too deep
            log.warning("a frame's body is not JSON (%s): answered with a parse error", _first_line(exc))
            self.send_error(None, JsonRpcParseError(f"the message is not JSON: {_first_line(exc)}"))
            return
        if not hasattr(message, "jsonrpc"):  # a list, a number, a string, an object without jsonrpc
            kind = "an object without jsonrpc" if isinstance(message, dict) else type(message).__name__
            log.warning("a frame's body is %s, not a JSON-RPC message: answered Invalid Request", kind)
            self.send_error(answer_id(message), JsonRpcInvalidRequest(f"not a JSON-RPC message: {kind}"))
            return
        try:
            self.handle_message(message)
        except Exception:
            log.exception("failed to handle %s", getattr(message, "method", "a response"))

    def send_error(self, msg_id: int | str | None, error: JsonRpcException) -> None:
        """An error response; with a null id written out (pygls's converter would drop the member)."""
        if msg_id is not None:
            self._send_response(msg_id, error=error.to_response_error())
            return
        self._send_data(
            {"jsonrpc": "2.0", "id": None, "error": {"code": error.code, "message": error.message}}
        )

    def structure_message(self, data: dict[str, Any]) -> Any:
        if "jsonrpc" not in data:
            return data  # a nested object, or not a message (receive answers that)
        problem = invalid_message(data)
        if problem is not None:
            return self._refuse(data, JsonRpcInvalidRequest(f"invalid request: {problem}"))
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            method = data.get("method", "a response")
            error = JsonRpcInvalidParams(f"invalid params for {method}: {_first_line(exc.__cause__ or exc)}")
            return self._refuse(data, error)

    def _refuse(self, data: dict[str, Any], error: JsonRpcException) -> _Answered:
        """Answer a broken request with ``error``; drop a broken notification or response, in one line."""
        if "method" in data and "id" in data:
            log.warning("%s", error.message)
            self.send_error(answer_id(data), error)
        else:
            log.warning("ignored a message: %s", error.message)
        return _Answered()

    def handle_message(self, message: Any) -> None:
        if isinstance(message, _Answered):
            return
        method = getattr(message, "method", None)
        is_request = method is not None and hasattr(message, "id")
        if method == types.INITIALIZE and is_request:
            if self.initialize_seen:
                log.warning("a second initialize request: answered Invalid Request")
                self.send_error(message.id, JsonRpcInvalidRequest("initialize was already received"))
                return
            self.initialize_seen = True
        elif not self.initialize_seen and method is not None and method != types.EXIT:
            if is_request:
                log.warning("a %s request before initialize: answered ServerNotInitialized", method)
                error = JsonRpcServerNotInitialized(f"{method} before initialize")
                self.send_error(message.id, error)
            else:
                log.info("dropped a %s notification that came before initialize", method)
            return
        elif method == types.CANCEL_REQUEST and not self._cancels_something(message):
            return
        super().handle_message(message)

    def _cancels_something(self, message: Any) -> bool:
        """False, with one line, for a ``$/cancelRequest`` without a usable id; quietly for a finished one."""
        msg_id = getattr(getattr(message, "params", None), "id", None)
        if not valid_id(msg_id):
            log.info("ignored a $/cancelRequest whose id is %s", json.dumps(msg_id, default=repr)[:40])
            return False
        if msg_id not in self._request_futures:
            log.debug("ignored a $/cancelRequest for %r, which is not running", msg_id)
            return False
        return True


def _first_line(exc: BaseException) -> str:
    exceptions = getattr(exc, "exceptions", None)
    while exceptions:  # cattrs nests the real cause in exception groups
        exc = exceptions[0]
        exceptions = getattr(exc, "exceptions", None)
    return (str(exc).splitlines() or [type(exc).__name__])[0]
