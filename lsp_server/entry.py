"""The ``codekin`` console script: one parser over the three front ends, each run on its own.

``codekin serve`` is the language server, ``codekin worker`` the remote embedding
worker, and every other command the command-line tool. This module is the only one
that knows all three; they never import each other.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from lsp_server import __version__, cli
from lsp_server.server import main as server_main
from lsp_server.worker import cli as worker_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="codekin", description="Semantic code search, similar code, docs and completion snippets."
    )
    parser.add_argument("--version", action="version", version=f"codekin {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cli.add_commands(sub)
    worker_cli.add_arguments(
        sub.add_parser("worker", help="serve an embedding model to codekin clients over TCP")
    )
    server_main.add_arguments(sub.add_parser("serve", help="run the language server (what editors launch)"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return server_main.serve(args)
    if args.command == "worker":
        return worker_cli.serve(args)
    return cli.main(args)


if __name__ == "__main__":
    sys.exit(main())
