"""The base protocol's framing under abuse, against a real server over stdio.

Each case sends its bytes and then a well-formed ``workspace/symbol`` request, which must be
answered: the server skips what it cannot read, answers what it can (a parse error, an invalid
request, with id null), logs it, and reads on from the next ``Content-Length:`` header.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.raw_lsp import RawServer, frame, request

PROBE = {"query": "probe"}


def body(msg_id: int) -> bytes:
    return json.dumps(request(msg_id, "workspace/symbol", PROBE)).encode()


# name: (bytes sent before the probe, the error codes answered with id null, a phrase the log has)
CASES: dict[str, tuple[bytes, list[int], str]] = {
    "non-numeric length": (b"Content-Length: abc\r\n\r\n" + body(900), [], "not a non-negative integer"),
    "negative length": (b"Content-Length: -5\r\n\r\n" + body(901), [], "not a non-negative integer"),
    "huge length": (b"Content-Length: 99999999999\r\n\r\n" + body(902), [], "over the limit"),
    "absurd length": (b"Content-Length: " + b"9" * 5000 + b"\r\n\r\n" + body(903), [], "over the limit"),
    "empty length": (b"Content-Length: \r\n\r\n" + body(904), [], "not a non-negative integer"),
    "conflicting lengths": (
        b"Content-Length: 3\r\nContent-Length: 4\r\n\r\n" + body(905),
        [],
        "disagree",
    ),
    "no length": (b"Content-Type: application/vscode-jsonrpc\r\n\r\n" + body(906), [], "not part of a frame"),
    "a header line without a colon": (b"Content-Length: 5\r\nbogus\r\n\r\nhello", [], "not 'Name: value'"),
    "headers that never end": (
        b"Content-Length: 5\r\nX-Pad: " + b"a" * 20000 + b"\r\n\r\n",
        [],
        "longer than",
    ),
    "stray bytes between frames": (b"\x00\xff garbage \r\n\r\n", [], "not part of a frame"),
    "body not JSON": (frame("{this is not json"), [-32700], "not JSON"),
    "body not UTF-8": (b"Content-Length: 4\r\n\r\n\xff\xfe\xfa\xfb", [-32700], "not JSON"),
    "empty body": (b"Content-Length: 0\r\n\r\n", [-32700], "not JSON"),
    "nested too deep": (frame("[" * 200_000 + "]" * 200_000), [-32700], "not JSON"),
    "a JSON array (a batch)": (frame([request(907, "workspace/symbol", PROBE)]), [-32600], "list"),
    "a JSON number": (frame("42"), [-32600], "int"),
    "a JSON string": (frame('"hello"'), [-32600], "str"),
    "JSON null": (frame("null"), [-32600], "NoneType"),
    "an object without jsonrpc": (frame({"id": 908, "method": "x"}), [], "without jsonrpc"),
    "a frame cut short, then more frames": (
        b"Content-Length: 100\r\n\r\n" + body(909)[:30] + frame(request(910, "workspace/symbol", PROBE)),
        [-32700],
        "not JSON",
    ),
    "a length too small": (b"Content-Length: 10\r\n\r\n" + body(911), [-32700], "not part of a frame"),
}

# Frames that are not what a client usually sends but are well formed: the probe in them is answered.
VARIANTS: dict[str, bytes] = {
    "lower-case header": b"content-length: %d\r\n\r\n",
    "Content-Type first": b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n"
    b"Content-Length: %d\r\n\r\n",
    "Content-Type after": b"Content-Length: %d\r\nContent-Type: application/vscode-jsonrpc\r\n\r\n",
    "bare newlines": b"Content-Length: %d\n\n",
    "no space after the colon": b"Content-Length:%d\r\n\r\n",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RawServer]:
    tmp = tmp_path_factory.mktemp("frames")
    process = RawServer(tmp)
    assert "result" in process.initialize(tmp)
    yield process
    process.close()


def answered_after(server: RawServer, probe_id: int) -> list[int]:
    """Read up to the probe's answer (which must be a result); the codes of errors with id null."""
    codes = []
    while True:
        message = server.next_message()
        assert message is not None, f"the server closed:\n{server.log()}"
        if "method" in message:
            continue
        if message.get("id") is None:
            codes.append(message["error"]["code"])
        elif message["id"] == probe_id:
            assert message.get("result") == [], message
            return codes


@pytest.mark.parametrize("case", list(CASES))
def test_a_malformed_frame_is_skipped_and_the_next_request_answered(server: RawServer, case: str) -> None:
    data, null_id_errors, logged = CASES[case]
    probe_id = 1000 + list(CASES).index(case)
    before = len(server.log())
    server.send(data + frame(request(probe_id, "workspace/symbol", PROBE)))
    assert answered_after(server, probe_id) == null_id_errors
    assert logged in server.log()[before:]
    assert server.process.poll() is None


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_well_formed_variants_are_read(server: RawServer, variant: str) -> None:
    probe_id = 2000 + list(VARIANTS).index(variant)
    data = body(probe_id)
    server.send(VARIANTS[variant] % len(data) + data)
    assert answered_after(server, probe_id) == []


def test_no_traceback_was_logged(server: RawServer) -> None:
    assert "Traceback" not in server.log()


def test_a_stream_that_ends_inside_a_frame_stops_the_server_with_a_log_line(tmp_path: Path) -> None:
    server = RawServer(tmp_path)
    try:
        server.initialize(tmp_path)
        server.send(b"Content-Length: 500\r\n\r\n" + body(1)[:40])
        assert server.process.stdin is not None
        server.process.stdin.close()  # the client died mid-message: nothing to resynchronise on
        assert server.wait() == 1  # no shutdown request came: exit status 1, as the LSP says
        assert "the stream ended 40 bytes into a 500-byte body" in server.log()
        assert "stopping" in server.log()
    finally:
        server.close()
