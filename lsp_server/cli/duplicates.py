"""``codekin duplicates``: every clone class of a workspace, with kinds, for a person or for CI.

Syntactic clones come first and need no model: in text mode they are printed as soon as
the files are parsed; semantic ones follow once the code is embedded (with a progress bar
on a terminal). ``--format sarif`` writes SARIF 2.1.0 for code-scanning; a baseline file
keeps the clones a project has accepted, and ``--fail-on-new`` exits 1 when another appears.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import TextIO

from lsp_server import __version__
from lsp_server.cli.output import clone_classes_json, print_clone_classes, progress_bar
from lsp_server.cli.report import new_pairs, read_baseline, sarif_report, write_baseline
from lsp_server.cli.workspace import UsageError
from lsp_server.index.indexer import WorkspaceIndex
from lsp_server.retrieval.clone_model import (
    KINDS,
    SEMANTIC_KINDS,
    SYNTACTIC_KINDS,
    CloneClass,
    CloneKind,
    CloneOptions,
)
from lsp_server.retrieval.clones import find_clones


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", default=".", help="the workspace (default: the current folder)")
    parser.add_argument(
        "--kinds",
        default=",".join(KINDS),
        help=f"comma-separated clone kinds to report (default: all of {','.join(KINDS)}); "
        "syntactic kinds alone load no model",
    )
    parser.add_argument("--min-lines", type=int, help="leave out symbols shorter than this (default 4)")
    parser.add_argument("--min-tokens", type=int, help="leave out symbols with fewer tokens (default 30)")
    parser.add_argument(
        "--near-miss", type=float, help="least token alignment of a near-miss clone, 0 to 1 (default 0.87)"
    )
    parser.add_argument("--format", choices=("text", "json", "sarif"), help="output format (--json: json)")
    parser.add_argument("--baseline", metavar="FILE", help="clones accepted before: report which are new")
    parser.add_argument("--update-baseline", action="store_true", help="write the clones found to --baseline")
    parser.add_argument(
        "--fail-on-new", action="store_true", help="exit 1 when a clone not in --baseline appears"
    )


def clone_options(args: argparse.Namespace, index: WorkspaceIndex) -> CloneOptions:
    kinds = {kind.strip() for kind in args.kinds.split(",") if kind.strip()}
    if unknown := kinds - set(KINDS):
        raise UsageError(f"unknown clone kinds {sorted(unknown)}; expected some of {', '.join(KINDS)}")
    settings = index.settings
    defaults = CloneOptions()
    return CloneOptions(
        kinds=frozenset(kind for kind in KINDS if kind in kinds),
        min_lines=args.min_lines or settings.duplicate_min_lines,
        min_tokens=args.min_tokens or defaults.min_tokens,
        near_miss=args.near_miss if args.near_miss is not None else defaults.near_miss,
        semantic=args.threshold if args.threshold is not None else settings.duplicate_threshold,
    )


def run(args: argparse.Namespace, index: WorkspaceIndex, out: TextIO) -> int:
    if (args.update_baseline or args.fail_on_new) and not args.baseline:
        raise UsageError("--update-baseline and --fail-on-new need --baseline FILE")
    form = args.format or ("json" if args.json else "text")
    options = clone_options(args, index)
    syntactic_only = dataclasses.replace(options, kinds=options.kinds & SYNTACTIC_KINDS)
    wants_semantic = bool(options.kinds & SEMANTIC_KINDS)
    with progress_bar(enabled=sys.stderr.isatty() and form == "text") as progress:
        if not args.no_update:
            index.update((), progress)  # parse and fingerprint: no model needed
        classes = find_clones(index, syntactic_only)
        if form == "text" and wants_semantic:
            print_clone_classes(classes, out, header="syntactic clones (no model needed)", top=args.top)
            out.flush()
        if wants_semantic:
            if not args.no_update:
                index.update(("code",), progress)
            classes = find_clones(index, options)
    if form == "text" and wants_semantic:
        semantic = [c for c in classes if any(pair.kind in SEMANTIC_KINDS for pair in c.pairs)]
        print_clone_classes(
            semantic, out, header="classes with semantic clones (by code embeddings)", top=args.top
        )
    elif form == "text":
        print_clone_classes(classes, out, header="syntactic clones", top=args.top)
    else:
        write_report(form, classes, index, options.kinds, args.top, out)
    return baseline_step(args, classes)


def write_report(
    form: str,
    classes: list[CloneClass],
    index: WorkspaceIndex,
    kinds: frozenset[CloneKind],
    top: int | None,
    out: TextIO,
) -> None:
    if form == "sarif":
        report = sarif_report(classes, tool_version=__version__, root_uri=index.root.as_uri())
        out.write(json.dumps(report, indent=2) + "\n")
        return
    model = index.embedder.model_id if kinds & SEMANTIC_KINDS else None
    out.write(json.dumps(clone_classes_json(model, kinds, classes, top)) + "\n")


def baseline_step(args: argparse.Namespace, classes: list[CloneClass]) -> int:
    """Write or compare the baseline; 1 when ``--fail-on-new`` and a clone is new."""
    if not args.baseline:
        return 0
    path = Path(args.baseline)
    if args.update_baseline:
        write_baseline(path, classes)
        print(f"codekin: baseline {path} written with the clones found", file=sys.stderr)
        return 0
    try:
        known = read_baseline(path)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such baseline (write one with --update-baseline)") from None
    new = new_pairs(classes, known)
    for pair in new:
        print(
            f"codekin: new {pair.kind} clone: {pair.a.path}:{pair.a.start_line} {pair.a.name}"
            f" ~ {pair.b.path}:{pair.b.start_line} {pair.b.name} ({pair.score:.2f})",
            file=sys.stderr,
        )
    print(f"codekin: {len(new)} clone pairs not in the baseline {path}", file=sys.stderr)
    return 1 if new and args.fail_on_new else 0
