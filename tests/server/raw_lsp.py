"""A real server process driven byte by byte over stdio or TCP, for what no LSP client library sends.

The server's messages are read on a thread into a queue; requests from the server (progress tokens,
say) are answered with null so that it never waits on this client.
"""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
WAIT_S = 120.0


def frame(message: Any) -> bytes:
    body = (message if isinstance(message, str) else json.dumps(message)).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def request(msg_id: Any, method: str, params: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}


def read_frames(stream: BinaryIO, out: queue.Queue[dict[str, Any] | None]) -> None:
    """Parse the server's (well-formed) frames until the stream ends, then put None."""
    try:
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    return
                if not line.strip():
                    break
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            assert length is not None
            out.put(json.loads(stream.read(length)))
    finally:
        out.put(None)


class RawServer:
    """``python -m lsp_server`` (or ``codekin serve`` with ``args``), its log in ``log_file``."""

    def __init__(self, tmp: Path, *args: str, tcp: tuple[str, int] | None = None) -> None:
        self.log_file = tmp / f"server-{time.monotonic_ns()}.log"
        command = [sys.executable, "-m", "lsp_server", "--log-file", str(self.log_file)]
        if args:
            command = [
                sys.executable,
                "-m",
                "lsp_server.entry",
                "serve",
                *args,
                "--log-file",
                str(self.log_file),
            ]
        self.stderr_file = self.log_file.with_suffix(".stderr")
        with self.stderr_file.open("wb") as err:  # a pipe nobody reads would fill up and stall the server
            pipe = subprocess.PIPE
            self.process = subprocess.Popen(command, stdin=pipe, stdout=pipe, stderr=err, env=ENV)
        self.messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.sock: socket.socket | None = None
        if tcp is None:
            assert self.process.stdout is not None
            self._start_reader(self.process.stdout)

    def connect(self, address: tuple[str, int]) -> None:
        """Connect to the server's TCP port, once it listens."""
        deadline = time.monotonic() + WAIT_S
        while True:
            assert self.process.poll() is None, self.stderr()
            try:
                self.sock = socket.create_connection(address, timeout=WAIT_S)
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not listen"
                time.sleep(0.1)
        self._start_reader(self.sock.makefile("rb"))

    def _start_reader(self, stream: BinaryIO) -> None:
        threading.Thread(target=read_frames, args=(stream, self.messages), daemon=True).start()

    def send(self, data: bytes) -> None:
        if self.sock is not None:
            self.sock.sendall(data)
            return
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def next_message(self) -> dict[str, Any] | None:
        """The server's next response or notification (None: its stream ended); its requests answered."""
        while True:
            message = self.messages.get(timeout=WAIT_S)
            if message is not None and "method" in message and "id" in message:
                self.send(frame({"jsonrpc": "2.0", "id": message["id"], "result": None}))
                continue
            return message

    def response(self, msg_id: Any) -> dict[str, Any]:
        """The response with this id (None: a response whose id is null), skipping notifications."""
        while True:
            message = self.next_message()
            assert message is not None, f"the server closed before answering {msg_id!r}:\n{self.log()}"
            if "method" not in message and message.get("id") == msg_id:
                return message

    def call(self, msg_id: Any, method: str, params: Any) -> dict[str, Any]:
        self.send(frame(request(msg_id, method, params)))
        return self.response(msg_id)

    def initialize(self, tmp: Path, root: Path | None = None) -> dict[str, Any]:
        options = {"model": "minilm", "device": "cpu", "indexDir": str(tmp / "index")}
        params = {
            "processId": None,
            "rootUri": root.as_uri() if root else None,
            "capabilities": {},
            "initializationOptions": options,
        }
        answer = self.call("init", "initialize", params)
        self.send(frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
        return answer

    def log(self) -> str:
        return self.log_file.read_text(encoding="utf-8") if self.log_file.exists() else ""

    def stderr(self) -> str:
        return self.stderr_file.read_text(encoding="utf-8", errors="replace")

    def wait(self) -> int:
        return self.process.wait(timeout=WAIT_S)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.sock is not None:
            self.sock.close()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
