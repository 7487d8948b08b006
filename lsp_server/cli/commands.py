"""The CLI's commands: their arguments, and running one against a workspace's index."""

from __future__ import annotations

import argparse
import logging
import sqlite3
import sys
from pathlib import Path
from typing import Any, TextIO

import platformdirs

from lsp_server.cli import duplicates, explain
from lsp_server.cli.output import print_hits, print_summary, progress_bar
from lsp_server.cli.workspace import (
    UsageError,
    find_root,
    lazy_embedder,
    parse_location,
    relative_to_root,
    workspace_settings,
)
from lsp_server.config import Settings
from lsp_server.embedding.base import EmbeddingError
from lsp_server.index.database import IndexUnavailable, ReadOnlyIndex, explain_fault
from lsp_server.index.indexer import Cancelled, WorkspaceIndex
from lsp_server.retrieval import queries
from lsp_server.retrieval.clone_model import options_for
from lsp_server.retrieval.similar import similar_with_copies

log = logging.getLogger(__name__)

DEFAULT_TOP = 10

SPACES_NEEDED: dict[str, tuple[str, ...]] = {
    "search": ("code",),
    "similar": ("code",),
    "docs": ("code", "docs"),
    "complete": ("code", "completions"),
}
"""The index spaces each query command reads (``index`` builds the configured ones)."""


def common_options() -> argparse.ArgumentParser:
    """The options every query command takes (a parent parser)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--model", help="profile (minilm, jina-code-0.5b, ...), 'auto', a folder or a hub id")
    common.add_argument("--device", help="cpu, cuda, cuda:N (default: a GPU if there is one)")
    common.add_argument(
        "--worker",
        metavar="remote://HOST:PORT[,...]",
        help="embed on codekin workers instead of here (see docs/worker-protocol.md)",
    )
    common.add_argument("--dim", type=int, help="Matryoshka dimension of the index (default: the model's)")
    common.add_argument(
        "-k", "--top", type=int, help="how many results (default 10; duplicates: every clone class)"
    )
    common.add_argument(
        "--threshold",
        type=float,
        help="minimum cosine (duplicates: of a semantic clone; default: the model's)",
    )
    common.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    common.add_argument("--no-update", action="store_true", help="query the index as it is, without updating")
    common.add_argument("--index-dir", help="where the index lives (default: the user cache folder)")
    common.add_argument(
        "--trust-workspace-settings",
        action="store_true",
        help="let the workspace's own config files choose the model, device and index folder too",
    )
    common.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="PATTERN",
        help="gitignore-style pattern to leave out (repeatable), on top of .gitignore and .codekinignore",
    )
    common.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv: debug)")
    return common


def add_commands(sub: Any) -> None:
    """The CLI's commands (index, search, similar, docs, complete, duplicates) on ``sub``, argparse's
    subparsers of the ``codekin`` command."""
    common = common_options()
    p = sub.add_parser("index", parents=[common], help="build or update the index of a workspace")
    p.add_argument("path", nargs="?", default=".", help="the workspace (default: the current folder)")
    p.add_argument("--spaces", help="comma-separated spaces to build: code,docs,completions (default: all)")
    p = sub.add_parser("search", parents=[common], help="natural-language code search")
    p.add_argument("query", help="what the code does, in your words")
    p.add_argument("--path", default=".", help="the workspace (default: the current folder)")
    for name, what in (
        ("similar", "code similar to the symbol at FILE:LINE"),
        ("docs", "documentation relevant to the symbol at FILE:LINE"),
        ("complete", "completion snippets for the code before FILE:LINE"),
    ):
        p = sub.add_parser(name, parents=[common], help=what)
        p.add_argument("location", metavar="FILE:LINE")
        p.add_argument("--path", help="the workspace (default: the repository or folder holding FILE)")
    duplicates.add_arguments(
        sub.add_parser(
            "duplicates", parents=[common], help="clone classes: exact, renamed, near-miss, semantic"
        )
    )
    explain.add_arguments(
        sub.add_parser("explain", help="how two symbols differ: renames, changed lines, a diff")
    )


def main(args: argparse.Namespace) -> int:
    """Run one of the CLI's commands; the exit status (2: a usage mistake, 1: an error, 130: interrupted)."""
    logging.basicConfig(
        level=[logging.WARNING, logging.INFO, logging.DEBUG][min(getattr(args, "verbose", 0), 2)],
        format="codekin: %(levelname)s: %(message)s"
        if getattr(args, "verbose", 0)
        else "codekin: %(message)s",
        stream=sys.stderr,
    )
    try:
        return run(args, sys.stdout)
    except UsageError as exc:
        print(f"codekin: {exc}", file=sys.stderr)
        return 2
    except (EmbeddingError, queries.NoSymbolError, ValueError, OSError, RuntimeError, sqlite3.Error) as exc:
        print(f"codekin: error: {describe_failure(exc, args)}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, Cancelled):
        print("codekin: interrupted; what was indexed so far is kept", file=sys.stderr)
        return 130


def describe_failure(exc: BaseException, args: argparse.Namespace) -> str:
    """The error in words; for a full disk, where and how much is free."""
    folder = getattr(args, "index_dir", None) or platformdirs.user_cache_dir("codekin")
    return explain_fault(exc, Path(folder)) or str(exc)


def run(args: argparse.Namespace, out: TextIO) -> int:
    if args.command == "explain":
        return explain.run(args, out)
    target: tuple[str, int] | None = None
    if args.command in ("similar", "docs", "complete"):
        file, line = parse_location(args.location)
        root = Path(args.path).resolve() if args.path else find_root(file)
        target = (relative_to_root(file, root), line)
    else:
        root = Path(args.path).resolve()
    if args.top is not None and args.top <= 0:
        raise UsageError("-k/--top must be positive")
    settings = workspace_settings(args, root)
    embedder = lazy_embedder(args, settings)
    if args.command != "duplicates":
        embedder.resolved()  # every other command needs the model: say which at once
    index = WorkspaceIndex(root, settings, embedder)
    if index.store.read_only:
        if args.command == "index":
            index.close()
            raise ReadOnlyIndex(f"the index at {index.store.path} is read-only; it cannot be updated")
        args.no_update = True  # the warning said so: answer from what is stored
    try:
        if args.command == "duplicates":
            return duplicates.run(args, index, out)
        return dispatch(args, index, settings, target, out)
    except (sqlite3.OperationalError, OSError) as exc:
        explained = explain_fault(exc, index.index_dir, index.store.count_vectors)
        if explained is None:
            raise
        raise IndexUnavailable(explained) from exc
    finally:
        index.close()


def dispatch(
    args: argparse.Namespace,
    index: WorkspaceIndex,
    settings: Settings,
    target: tuple[str, int] | None,
    out: TextIO,
) -> int:
    needed = settings.spaces if args.command == "index" else SPACES_NEEDED[args.command]
    if args.command == "index" or not args.no_update:
        with progress_bar(enabled=sys.stderr.isatty() and not args.json) as progress:
            summary = index.update(needed, progress)
        if args.command == "index":
            print_summary(summary, args.json, out)
            return 0
    pending = sum(index.pending_count(space) for space in needed)
    if pending:
        log.warning("%d units are not embedded yet; results are partial (run without --no-update)", pending)

    model = index.model_id
    top = args.top or DEFAULT_TOP
    clones: dict[int, str] = {}
    if args.command == "search":
        hits = queries.search(index, args.query, top)
        header = f"code for {args.query!r}"
    else:
        assert target is not None
        path, line = target
        if args.command == "similar":
            options = options_for(settings)
            unit, found = similar_with_copies(index, path, line, top, None, [index], options)
            hits = [similar.hit for similar in found]
            clones = {similar.hit.unit_id: similar.clone for similar in found if similar.clone}
            header = f"code similar to {unit.name} ({unit.path}:{unit.start_line}-{unit.end_line})"
        elif args.command == "docs":
            unit, hits = queries.docs_for(index, path, line, top)
            header = f"documentation for {unit.name} ({unit.path}:{unit.start_line}-{unit.end_line})"
        else:
            hits = queries.complete(index, path, line, top)
            header = f"completions for the code before {path}:{line}"
    if args.threshold is not None:
        hits = [hit for hit in hits if hit.score >= args.threshold]
    print_hits(model, header, hits, args.json, out, clones)
    return 0
