"""``codekin worker`` and ``python -m lsp_server.worker``: arguments, their checks, and serving.

Refuses to listen beyond loopback without a token, since anyone who can reach the port could use the
model otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import ssl
import stat
import sys
from collections.abc import Sequence
from pathlib import Path

from lsp_server.addresses import bare_host, is_loopback
from lsp_server.embedding import EmbeddingError, load_embedder
from lsp_server.logs import setup_logging
from lsp_server.worker.server import DEFAULT_IDLE_TIMEOUT_S, DEFAULT_MAX_CONNECTIONS, Worker

log = logging.getLogger("lsp_server.worker")


class UsageError(Exception):
    """A mistake on the command line: printed as is, exit status 2."""


def read_token(path: str) -> bytes:
    """The shared token: the file's content, stripped. A command line would show it to every user."""
    file = Path(path).expanduser()
    try:
        token = file.read_bytes().strip()
    except OSError as exc:
        raise UsageError(f"cannot read the token file {file}: {exc.strerror or exc}") from exc
    if not token:
        raise UsageError(f"the token file {file} is empty")
    with contextlib.suppress(OSError):
        if file.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            log.warning("the token file %s can be read by other users; chmod 600 it", file)
    return token


def tls_context(cert: str | None, key: str | None) -> ssl.SSLContext | None:
    """A TLS 1.2+ server context from ``--tls-cert`` and ``--tls-key``, or None for plain TCP."""
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise UsageError("--tls-cert and --tls-key go together")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"cannot load the TLS certificate {cert} and key {key}: {exc}") from exc
    return context


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The worker's options, shared by ``codekin worker`` and ``python -m lsp_server.worker``."""
    parser.add_argument(
        "--model", default="auto", help="profile, 'auto', a folder or a hub id (default auto)"
    )
    parser.add_argument("--device", help="cpu, cuda, cuda:N (default: a GPU if there is one)")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; [::1] for IPv6)"
    )
    parser.add_argument("--port", type=int, default=7878, help="port to listen on (default 7878)")
    parser.add_argument(
        "--token-file",
        help="file holding the shared token clients must prove (required to listen beyond loopback)",
    )
    parser.add_argument("--tls-cert", help="PEM certificate (chain) to serve TLS with")
    parser.add_argument("--tls-key", help="PEM private key of --tls-cert")
    parser.add_argument(
        "--batch-window-ms", type=float, default=5.0, help="how long a request waits for others (default 5)"
    )
    parser.add_argument(
        "--batch-tokens", type=int, default=16_384, help="approximate tokens per merged batch (default 16384)"
    )
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=DEFAULT_IDLE_TIMEOUT_S,
        help="seconds a new connection may stay silent (no auth, no request) before it is closed "
        f"(default {DEFAULT_IDLE_TIMEOUT_S:g})",
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        default=DEFAULT_MAX_CONNECTIONS,
        help="open connections at most; more are refused with a 'busy' error "
        f"(default {DEFAULT_MAX_CONNECTIONS})",
    )
    parser.add_argument("--log-file", help="also write the log to this file")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv: debug)")


def serve(args: argparse.Namespace) -> int:
    """Check the arguments, load the model and serve until stopped; the exit status."""
    setup_logging(args.verbose, args.log_file)
    try:
        if not 0 <= args.port <= 65535:
            raise UsageError(f"--port must be between 0 and 65535, got {args.port}")
        if args.batch_window_ms < 0 or args.batch_tokens < 1:
            raise UsageError("--batch-window-ms must not be negative and --batch-tokens must be positive")
        if not args.idle_timeout > 0 or args.max_connections < 1:
            raise UsageError("--idle-timeout and --max-connections must be positive")
        token = read_token(args.token_file) if args.token_file else None
        if token is None and not is_loopback(args.host):
            raise UsageError(
                f"refusing to listen on {args.host!r} without --token-file: beyond loopback anyone who can "
                "reach the port could use the model; give a token file (and TLS), or use 127.0.0.1"
            )
        context = tls_context(args.tls_cert, args.tls_key)
    except UsageError as exc:
        print(f"codekin worker: {exc}", file=sys.stderr)
        return 2
    try:
        embedder = load_embedder(args.model, args.device)
    except EmbeddingError as exc:
        print(f"codekin worker: error: {exc}", file=sys.stderr)
        return 1
    log.info("loaded %s on %s (%s)", embedder.model_id, embedder.device, embedder.selection_reason)
    worker = Worker(
        embedder,
        host=bare_host(args.host),
        port=args.port,
        token=token,
        ssl_context=context,
        window_s=args.batch_window_ms / 1000,
        budget_tokens=args.batch_tokens,
        idle_timeout_s=args.idle_timeout,
        max_connections=args.max_connections,
    )
    try:
        asyncio.run(worker.run())
    except OSError as exc:
        print(f"codekin worker: error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        embedder.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m lsp_server.worker``."""
    parser = argparse.ArgumentParser(
        prog="python -m lsp_server.worker",
        description="Serve an embedding model to codekin clients over TCP.",
    )
    add_arguments(parser)
    return serve(parser.parse_args(argv))
