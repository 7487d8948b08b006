"""Start the language server: ``python -m lsp_server`` or ``codekin serve --stdio | --tcp HOST:PORT``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from lsp_server.addresses import is_loopback, split_host_port
from lsp_server.logs import setup_logging

if TYPE_CHECKING:
    from lsp_server.server.core import CodekinServer

log = logging.getLogger(__name__)


def build_server() -> CodekinServer:
    """The server with every feature registered: the one place that knows them all."""
    from lsp_server.server.core import CodekinServer
    from lsp_server.server.features import FEATURES

    server = CodekinServer()
    for feature in FEATURES:
        feature.register(server)
    return server


def add_arguments(parser: argparse.ArgumentParser) -> None:
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--stdio", action="store_true", help="talk LSP over stdin/stdout (the default)")
    mode.add_argument(
        "--tcp",
        metavar="[HOST:]PORT",
        help="listen for one LSP client on HOST:PORT (HOST 127.0.0.1 when left out; [::1] for IPv6)",
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="let --tcp listen beyond loopback: the server has no authentication, so anyone who can "
        "reach the port can read the workspace's code through it",
    )
    parser.add_argument("--log-file", help="also write the log to this file")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv: debug)")


def tcp_address(spec: str, allow_remote: bool) -> tuple[str, int]:
    """Where ``--tcp`` listens; ValueError when malformed or, without ``allow_remote``, beyond loopback."""
    host, port = split_host_port(spec)
    if not allow_remote and not is_loopback(host):
        raise ValueError(
            f"refusing to listen on {host!r} without --allow-remote: the language server has no "
            "authentication, and anyone who can reach the port could read the workspace's code through "
            "it; use 127.0.0.1 (with an SSH tunnel for another machine), or pass --allow-remote"
        )
    return host, port


def serve(args: argparse.Namespace) -> int:
    setup_logging(args.verbose, args.log_file)
    if args.tcp:
        try:
            host, port = tcp_address(args.tcp, args.allow_remote)
        except ValueError as exc:
            print(f"codekin serve: --tcp: {exc}", file=sys.stderr)
            return 2
        if not is_loopback(host):
            log.warning("listening on %s beyond loopback (--allow-remote): no authentication", host)
    from lsp_server.server.client_log import ClientLogHandler  # lsprotocol: only for a server
    from lsp_server.server.framing import serve_stdio, serve_tcp

    server = build_server()
    client_log = ClientLogHandler(server)
    client_log.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    logging.getLogger("lsp_server").addHandler(client_log)
    try:
        if args.tcp:
            serve_tcp(server, host, port)
        else:
            # stdout is the protocol channel: give pygls its own handle and point fd 1 at stderr, so
            # that a stray print from any library cannot corrupt the stream.
            protocol_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
            os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
            serve_stdio(server, sys.stdin.buffer, protocol_out)
    finally:
        stop_now(server)
    return 0


def stop_now(server: CodekinServer) -> None:
    """The client is gone (exit, or its end of the pipe closed): stop, without finishing any indexing.

    Python would otherwise wait at exit for the indexing thread to finish a whole update for
    nobody. Every write is a committed transaction and every index file an atomic rename, so
    leaving mid-way loses nothing that the next start would not redo.
    """
    for folder in server.folders:
        folder.cancel.set()
        folder.closed.set()
    for pool in (server.index_pool, server.query_pool, server.loader_pool):
        pool.shutdown(wait=False, cancel_futures=True)
    code = 0 if server.shutting_down else 1
    log.info("codekin server stopping (exit status %d)", code)
    logging.shutdown()
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lsp_server", description="The codekin language server.")
    add_arguments(parser)
    return serve(parser.parse_args(argv))
