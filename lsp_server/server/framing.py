"""The LSP base protocol's framing (``Content-Length: N`` headers, a blank line, N bytes), read robustly.

pygls's reader only knows well-formed frames: after ``Content-Length: abc`` it never finds a header
again (the body of the bad frame runs into the next header line) and the server goes deaf without a
word. This reader logs a malformed frame and resynchronises on the next ``Content-Length:`` header,
wherever it starts; the bytes in between are skipped with one log line. Only the end of the stream
ends it. ``serve_stdio`` and ``serve_tcp`` are pygls's ``start_io`` and ``start_tcp`` over it.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, BinaryIO, Protocol

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 << 20
"""A larger Content-Length is refused (the frame skipped) rather than buffered."""
MAX_HEADER_BYTES = 8 << 10
"""Headers longer than this are not headers."""
READ_BYTES = 1 << 20
HEADER_START = re.compile(rb"content-length[ \t]*:", re.IGNORECASE)
HEADERS_END = re.compile(rb"\r?\n\r?\n")
HEADER_LINE = re.compile(rb"[A-Za-z0-9!#$%&'*+.^_`|~-]+:[^\r\n]*\r?\n?")
"""A header line (RFC 9110 token characters in its name)."""
TAIL_KEPT = 32
"""Bytes kept from skipped input, in case a header was cut between two reads."""


def content_length(header: bytes) -> tuple[int, str | None]:
    """The length a header block declares, or (-1, why the frame is malformed)."""
    length: int | None = None
    for raw in header.split(b"\n"):
        line = raw.rstrip(b"\r")
        name, sep, value = line.partition(b":")
        if not sep or not name.strip():
            return -1, f"a header line that is not 'Name: value': {line[:60]!r}"
        if name.strip().lower() != b"content-length":
            continue
        text = value.strip()
        if not text.isdigit():
            return -1, f"Content-Length is not a non-negative integer: {text[:40]!r}"
        if len(text) > 12 or int(text) > MAX_BODY_BYTES:
            return -1, f"Content-Length {text[:40].decode()} is over the limit of {MAX_BODY_BYTES} bytes"
        if length is not None and int(text) != length:
            return -1, f"two Content-Length headers disagree ({length} and {int(text)})"
        length = int(text)
    if length is None:
        return -1, "no Content-Length header"
    return length, None


def only_headers(data: bytes) -> bool:
    """True for bytes that are blank or header lines (a Content-Type before the Content-Length)."""
    return all(not line.strip() or HEADER_LINE.fullmatch(line) for line in data.splitlines(keepends=True))


class FrameReader:
    """Frame bodies from a byte stream, given ``read(n)`` (up to n bytes, b'' at its end)."""

    def __init__(self, read: Callable[[int], Awaitable[bytes]]) -> None:
        self._read = read
        self._buffer = bytearray()
        self._skipped = 0
        self._after_bad_frame = False

    async def next_body(self) -> bytes | None:
        """The next frame's body, or None at the end of the stream; malformed frames are skipped."""
        while True:
            if not await self._skip_to_header():
                return None
            end = await self._headers_end()
            if end is None:
                log.warning("the stream ended inside a frame's headers")
                return None
            if end < 0:
                self._bad_frame(f"headers longer than {MAX_HEADER_BYTES} bytes")
                del self._buffer[:1]  # past this Content-Length, to the next one
                continue
            length, problem = content_length(bytes(self._buffer[:end]))
            del self._buffer[: HEADERS_END.match(self._buffer, end).end()]  # type: ignore[union-attr]
            if problem is not None:
                self._bad_frame(problem)
                continue
            if not await self._fill_to(length):
                log.warning("the stream ended %d bytes into a %d-byte body", len(self._buffer), length)
                return None
            body = bytes(self._buffer[:length])
            del self._buffer[:length]
            return body

    def _bad_frame(self, problem: str) -> None:
        log.warning("skipped a malformed frame (%s); reading on from the next Content-Length header", problem)
        self._after_bad_frame = True

    async def _skip_to_header(self) -> bool:
        """Drop whatever precedes the next ``Content-Length:``; False at the end of the stream."""
        while True:
            found = HEADER_START.search(self._buffer)
            cut = found.start() if found is not None else max(0, len(self._buffer) - TAIL_KEPT)
            self._count_skipped(bytes(self._buffer[:cut]))
            del self._buffer[:cut]
            if found is not None:
                self._report_skipped("before the next header")
                return True
            if not await self._fill():
                self._count_skipped(bytes(self._buffer))
                self._report_skipped("before the end of the stream")
                return False

    def _count_skipped(self, junk: bytes) -> None:
        if junk.strip() and not only_headers(junk):
            self._skipped += len(junk)

    def _report_skipped(self, where: str) -> None:
        """One line for the bytes skipped since the last header (part of a malformed frame, or stray)."""
        if self._skipped and self._after_bad_frame:
            log.info("skipped %d bytes of the malformed frame %s", self._skipped, where)
        elif self._skipped:
            log.warning("skipped %d bytes that were not part of a frame %s", self._skipped, where)
        self._skipped = 0
        self._after_bad_frame = False

    async def _headers_end(self) -> int | None:
        """Where the header block at the buffer's start ends; -1 when too long; None at the end."""
        while True:
            found = HEADERS_END.search(self._buffer, 0, MAX_HEADER_BYTES + 4)
            if found is not None:
                return found.start()
            if len(self._buffer) > MAX_HEADER_BYTES:
                return -1
            if not await self._fill():
                return None

    async def _fill_to(self, size: int) -> bool:
        while len(self._buffer) < size:
            if not await self._fill():
                return False
        return True

    async def _fill(self) -> bool:
        chunk = await self._read(READ_BYTES)
        self._buffer += chunk
        return bool(chunk)


class Receiver(Protocol):
    """What the reader hands bodies to (``CodekinProtocol``)."""

    def receive(self, body: bytes) -> None: ...

    def set_writer(self, writer: Any, include_headers: bool = True) -> None: ...


class Server(Protocol):
    """The part of pygls's ``JsonRPCServer`` that serving needs."""

    _stop_event: threading.Event | None

    @property
    def protocol(self) -> Any: ...

    def shutdown(self) -> None: ...


async def receive_all(frames: FrameReader, receiver: Receiver, stop: threading.Event) -> None:
    while not stop.is_set():
        body = await frames.next_body()
        if body is None:
            return
        receiver.receive(body)


class _StdoutWriter:
    def __init__(self, stdout: BinaryIO) -> None:
        self._stdout = stdout

    def close(self) -> None:
        self._stdout.close()

    def write(self, data: bytes) -> None:
        self._stdout.write(data)
        self._stdout.flush()


def serve_stdio(server: Server, stdin: BinaryIO, stdout: BinaryIO) -> None:
    """pygls's ``start_io`` with this reader: until the stream ends or ``exit``."""
    server._stop_event = stop = threading.Event()  # pygls's shutdown() sets it
    server.protocol.set_writer(_StdoutWriter(stdout))
    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="codekin-stdin")
    read1 = getattr(stdin, "read1", stdin.read)

    async def read(size: int) -> bytes:
        return await asyncio.get_running_loop().run_in_executor(reader, read1, size)

    try:
        asyncio.run(receive_all(FrameReader(read), server.protocol, stop))
    except BrokenPipeError:
        log.error("the connection to the client is lost; stopping")
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()
        reader.shutdown(wait=False)


def serve_tcp(server: Server, host: str, port: int) -> None:
    """pygls's ``start_tcp`` with this reader, for one client: a second one is refused while it is there."""
    server._stop_event = stop = threading.Event()

    async def listen() -> None:
        busy, done = asyncio.Event(), asyncio.Event()

        async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            peer = writer.get_extra_info("peername")
            if busy.is_set():
                log.warning("refused a second client from %s: this server serves one", peer)
                writer.close()
                return
            busy.set()
            log.info("client connected from %s", peer)
            server.protocol.set_writer(writer)
            try:
                await receive_all(FrameReader(reader.read), server.protocol, stop)
            finally:
                done.set()

        listener = await asyncio.start_server(client, host, port)
        names = ", ".join(str(sock.getsockname()[:2]) for sock in listener.sockets)
        log.info("codekin server listening on %s", names)
        async with listener:
            await done.wait()

    try:
        asyncio.run(listen())
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()
