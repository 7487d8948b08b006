"""The CLI's commands: their arguments, and running one against a workspace's index."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any, TextIO

from lsp_server.cli.output import print_clusters, print_hits, print_summary, progress_bar
from lsp_server.config import Settings, load_settings
from lsp_server.embedding import load_embedder
from lsp_server.embedding.base import EmbeddingError
from lsp_server.embedding.loading import quiet_transformers
from lsp_server.index.indexer import Cancelled, WorkspaceIndex
from lsp_server.retrieval import queries
from lsp_server.retrieval.duplicates import find_duplicates

log = logging.getLogger(__name__)

ROOT_MARKERS = (".git", ".hg", ".codekin.toml")

SPACES_NEEDED: dict[str, tuple[str, ...]] = {
    "search": ("code",),
    "similar": ("code",),
    "duplicates": ("code",),
    "docs": ("code", "docs"),
    "complete": ("code", "completions"),
}
"""The index spaces each query command reads (``index`` builds the configured ones)."""


class UsageError(Exception):
    """A mistake in what the user asked for: printed as is, exit status 2."""


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
    common.add_argument("-k", "--top", type=int, default=10, help="how many results (default 10)")
    common.add_argument("--threshold", type=float, help="minimum cosine (duplicates: default 0.95)")
    common.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    common.add_argument("--no-update", action="store_true", help="query the index as it is, without updating")
    common.add_argument("--index-dir", help="where the index lives (default: the user cache folder)")
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
    p = sub.add_parser("duplicates", parents=[common], help="clusters of near-duplicate symbols")
    p.add_argument("path", nargs="?", default=".", help="the workspace (default: the current folder)")
    p.add_argument("--min-lines", type=int, help="leave out symbols shorter than this (default 4)")


def main(args: argparse.Namespace) -> int:
    """Run one of the CLI's commands; the exit status (2: a usage mistake, 1: an error, 130: interrupted)."""
    logging.basicConfig(
        level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)],
        format="codekin: %(levelname)s: %(message)s" if args.verbose else "codekin: %(message)s",
        stream=sys.stderr,
    )
    try:
        return run(args, sys.stdout)
    except UsageError as exc:
        print(f"codekin: {exc}", file=sys.stderr)
        return 2
    except (EmbeddingError, queries.NoSymbolError, ValueError, OSError) as exc:
        print(f"codekin: error: {exc}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, Cancelled):
        print("codekin: interrupted; what was indexed so far is kept", file=sys.stderr)
        return 130


def run(args: argparse.Namespace, out: TextIO) -> int:
    target: tuple[str, int] | None = None
    if args.command in ("similar", "docs", "complete"):
        file, line = parse_location(args.location)
        root = Path(args.path).resolve() if args.path else find_root(file)
        target = (relative_to_root(file, root), line)
    else:
        root = Path(args.path).resolve()
    if not root.is_dir():
        raise UsageError(f"{root} is not a folder")
    if args.top <= 0:
        raise UsageError("-k/--top must be positive")

    settings = load_settings(
        root,
        {"model": args.model, "device": args.device, "dim": args.dim, "index_dir": args.index_dir},
    )
    if getattr(args, "spaces", None):
        settings = settings.merged(
            {"spaces": [s.strip() for s in args.spaces.split(",") if s.strip()]}, "--spaces"
        )
    if args.exclude:
        settings = settings.merged({"exclude": [*settings.exclude, *args.exclude]}, "--exclude")
    quiet_transformers()
    spec = args.worker or settings.model
    if args.worker and not args.worker.startswith("remote://"):
        raise UsageError(f"--worker expects remote://host:port, got {args.worker!r}")
    embedder = load_embedder(spec, settings.device, batch_tokens=settings.batch_tokens)
    print(
        f"codekin: model {embedder.model_id} on {embedder.device} ({embedder.selection_reason})",
        file=sys.stderr,
    )
    index = WorkspaceIndex(root, settings, embedder)
    try:
        return dispatch(args, index, settings, target, out)
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
    if args.command == "duplicates":
        threshold = args.threshold if args.threshold is not None else settings.duplicate_threshold
        min_lines = args.min_lines or settings.duplicate_min_lines
        clusters = find_duplicates(index, threshold, min_lines)[: args.top]
        print_clusters(model, clusters, args.json, out)
        return 0
    if args.command == "search":
        hits = queries.search(index, args.query, args.top)
        header = f"code for {args.query!r}"
    else:
        assert target is not None
        path, line = target
        if args.command == "similar":
            unit, found = queries.similar(index, path, line, args.top)
            hits = [hit for _, hit in found]
            header = f"code similar to {unit.name} ({unit.path}:{unit.start_line}-{unit.end_line})"
        elif args.command == "docs":
            unit, hits = queries.docs_for(index, path, line, args.top)
            header = f"documentation for {unit.name} ({unit.path}:{unit.start_line}-{unit.end_line})"
        else:
            hits = queries.complete(index, path, line, args.top)
            header = f"completions for the code before {path}:{line}"
    if args.threshold is not None:
        hits = [hit for hit in hits if hit.score >= args.threshold]
    print_hits(model, header, hits, args.json, out)
    return 0


# -- locations and roots ---------------------------------------------------------------------------


def parse_location(location: str) -> tuple[Path, int]:
    file, sep, line = location.rpartition(":")
    if not sep or not line.isdigit() or int(line) < 1:
        raise UsageError(f"expected FILE:LINE with a line number from 1, got {location!r}")
    path = Path(file).resolve()
    if not path.is_file():
        raise UsageError(f"{file}: no such file")
    return path, int(line)


def find_root(file: Path) -> Path:
    """The nearest folder above ``file`` with a repository or codekin marker; else the current
    folder if it holds the file; else the file's own folder."""
    for folder in file.parents:
        if any((folder / marker).exists() for marker in ROOT_MARKERS):
            return folder
    cwd = Path.cwd().resolve()
    return cwd if file.is_relative_to(cwd) else file.parent


def relative_to_root(file: Path, root: Path) -> str:
    try:
        return file.relative_to(root).as_posix()
    except ValueError:
        raise UsageError(f"{file} is not inside the workspace {root}") from None
