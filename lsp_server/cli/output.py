"""What the CLI prints: text for a person, one JSON object with ``--json``, progress on stderr."""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from lsp_server.index.indexer import IndexSummary, Progress
from lsp_server.retrieval.clone_model import KINDS, CloneClass, CloneKind
from lsp_server.retrieval.hits import Hit

log = logging.getLogger(__name__)


# -- output --------------------------------------------------------------------------------------------


def summary_json(summary: IndexSummary) -> dict[str, float | int]:
    return dataclasses.asdict(summary)


def hit_json(hit: Hit) -> dict[str, object]:
    return {
        "path": hit.path,
        "name": hit.name,
        "kind": hit.kind,
        "start_line": hit.start_line,
        "end_line": hit.end_line,
        "score": hit.score,
    }


def clone_class_json(cls: CloneClass) -> dict[str, Any]:
    members = [
        {
            **hit_json(hit),
            "exact": cls.member_kinds.get(hit.unit_id) == "exact",
            "clone": cls.member_kinds.get(hit.unit_id),
        }
        for hit in cls.members
    ]
    pairs = [{"a": a, "b": b, "kind": p.kind, "score": p.score} for a, b, p in cls.indexed_pairs()]
    kinds = {kind: count for kind, count in cls.kinds.items()}
    return {"score": cls.score, "kind": cls.kind, "kinds": kinds, "members": members, "pairs": pairs}


def clone_classes_json(
    model: str | None, kinds: frozenset[CloneKind], classes: list[CloneClass], top: int | None
) -> dict[str, Any]:
    """Every class (or the first ``top``, and then ``shown`` says so) as one JSON object."""
    shown = classes if top is None else classes[:top]
    out: dict[str, Any] = {
        "model": model,
        "kinds": [kind for kind in KINDS if kind in kinds],
        "clusters": [clone_class_json(cls) for cls in shown],
        "total": len(classes),
    }
    if len(shown) < len(classes):
        out["shown"] = len(shown)
    return out


def print_summary(summary: IndexSummary, as_json: bool, out: TextIO) -> None:
    if as_json:
        out.write(json.dumps(summary_json(summary)) + "\n")
        return
    out.write(
        f"{summary.files} files, {summary.units} units: {summary.embedded} embedded, "
        f"{summary.reused} reused, {summary.seconds:.1f} s\n"
    )


def print_hits(
    model: str, header: str, hits: list[Hit], as_json: bool, out: TextIO, clones: dict[int, str] | None = None
) -> None:
    """Search results; ``clones`` names the kind of copy a hit is of the query (find-similar)."""
    clones = clones or {}
    if as_json:
        results = [
            {**hit_json(hit), **({"clone": clones[hit.unit_id]} if hit.unit_id in clones else {})}
            for hit in hits
        ]
        out.write(json.dumps({"model": model, "results": results}) + "\n")
        return
    out.write(f"{header}:\n")
    if not hits:
        out.write("  (nothing found)\n")
    for hit in hits:
        mark = f" [{clones[hit.unit_id]} copy]" if hit.unit_id in clones else ""
        out.write(
            f"  {hit.score:.3f}  {hit.path}:{hit.start_line}-{hit.end_line}  {hit.name} ({hit.kind}){mark}\n"
        )


def print_clone_classes(classes: list[CloneClass], out: TextIO, *, header: str, top: int | None) -> None:
    shown = classes if top is None else classes[:top]
    out.write(
        f"{header}: {len(classes)} classes"
        + (f", the first {len(shown)} shown (-k)" if len(shown) < len(classes) else "")
        + "\n"
    )
    for number, cls in enumerate(shown, start=1):
        kinds = ", ".join(
            f"{count} {kind}" for kind, count in sorted(cls.kinds.items(), key=lambda kc: KINDS.index(kc[0]))
        )
        out.write(f"class {number}: {len(cls.members)} symbols ({kinds}), score {cls.score:.3f}\n")
        for hit in cls.members:
            kind = cls.member_kinds.get(hit.unit_id, "")
            where = f"{hit.path}:{hit.start_line}-{hit.end_line}"
            out.write(f"  {kind:>14}  {hit.score:.3f}  {where}  {hit.name} ({hit.kind})\n")


@contextmanager
def progress_bar(enabled: bool) -> Iterator[Progress]:
    """A tqdm bar per phase on stderr when it is a terminal; otherwise a log line per phase at -v."""
    bars: dict[str, Any] = {}
    lock = threading.Lock()

    def report(phase: str, done: int, total: int) -> None:
        if not enabled:
            if done == total:
                log.info("%s: %d/%d", phase, done, total)
            return
        from tqdm import tqdm

        with lock:
            bar = bars.get(phase)
            if bar is None:
                bar = bars[phase] = tqdm(total=total, desc=phase, unit="", file=sys.stderr, leave=False)
            bar.total = total
            bar.n = done
            bar.refresh()

    try:
        yield report
    finally:
        for bar in bars.values():
            bar.close()
