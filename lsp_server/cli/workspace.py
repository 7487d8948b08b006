"""Where a CLI command works: the workspace root, its settings, and the model, loaded when first needed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lsp_server.config import Settings, load_settings
from lsp_server.embedding import load_embedder
from lsp_server.embedding.base import Embedder
from lsp_server.embedding.lazy import LazyEmbedder
from lsp_server.embedding.loading import quiet_transformers
from lsp_server.workspace.names import name_problem, shown

ROOT_MARKERS = (".git", ".hg", ".codekin.toml")


class UsageError(Exception):
    """A mistake in what the user asked for: printed as is, exit status 2."""


def workspace_settings(args: argparse.Namespace, root: Path) -> Settings:
    """The workspace's settings under the command line's options."""
    if not root.is_dir():
        raise UsageError(f"{root} is not a folder")
    overrides = {"model": args.model, "device": args.device, "dim": args.dim, "index_dir": args.index_dir}
    overrides["trust_workspace_settings"] = getattr(args, "trust_workspace_settings", False) or None
    settings = load_settings(root, overrides)
    if getattr(args, "spaces", None):
        settings = settings.merged(
            {"spaces": [s.strip() for s in args.spaces.split(",") if s.strip()]}, "--spaces"
        )
    if args.exclude:
        settings = settings.merged({"exclude": [*settings.exclude, *args.exclude]}, "--exclude")
    return settings


def lazy_embedder(args: argparse.Namespace, settings: Settings) -> LazyEmbedder:
    """The model the options name, loaded (and announced on stderr) only when vectors are needed."""
    spec = args.worker or settings.model
    if args.worker and not args.worker.startswith("remote://"):
        raise UsageError(f"--worker expects remote://host:port, got {args.worker!r}")

    def load() -> Embedder:
        quiet_transformers()
        embedder = load_embedder(spec, settings.device, batch_tokens=settings.batch_tokens)
        print(
            f"codekin: model {embedder.model_id} on {embedder.device} ({embedder.selection_reason})",
            file=sys.stderr,
        )
        return embedder

    return LazyEmbedder(load)


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
        rel = file.relative_to(root).as_posix()
    except ValueError:
        raise UsageError(f"{file} is not inside the workspace {root}") from None
    if (problem := name_problem(rel)) is not None:
        raise UsageError(f"{shown(rel)} is not indexed: {problem}")
    return rel
