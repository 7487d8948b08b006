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
from lsp_server.retrieval.duplicates import Cluster
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


def cluster_json(cluster: Cluster) -> dict[str, object]:
    members = [{**hit_json(hit), "exact": hit.unit_id in cluster.exact} for hit in cluster.members]
    return {"score": round(cluster.score, 6), "members": members}


def print_summary(summary: IndexSummary, as_json: bool, out: TextIO) -> None:
    if as_json:
        out.write(json.dumps(summary_json(summary)) + "\n")
        return
    out.write(
        f"{summary.files} files, {summary.units} units: {summary.embedded} embedded, "
        f"{summary.reused} reused, {summary.seconds:.1f} s\n"
    )


def print_hits(model: str, header: str, hits: list[Hit], as_json: bool, out: TextIO) -> None:
    if as_json:
        out.write(json.dumps({"model": model, "results": [hit_json(hit) for hit in hits]}) + "\n")
        return
    out.write(f"{header}:\n")
    if not hits:
        out.write("  (nothing found)\n")
    for hit in hits:
        out.write(f"  {hit.score:.3f}  {hit.path}:{hit.start_line}-{hit.end_line}  {hit.name} ({hit.kind})\n")


def print_clusters(model: str, clusters: list[Cluster], as_json: bool, out: TextIO) -> None:
    if as_json:
        out.write(json.dumps({"model": model, "clusters": [cluster_json(c) for c in clusters]}) + "\n")
        return
    if not clusters:
        out.write("no near-duplicates above the threshold\n")
    for number, cluster in enumerate(clusters, start=1):
        out.write(f"cluster {number}: {len(cluster.members)} symbols, score {cluster.score:.3f}\n")
        for hit in cluster.members:
            mark = "exact" if hit.unit_id in cluster.exact else f"{hit.score:.3f}"
            out.write(f"  {mark:>5}  {hit.path}:{hit.start_line}-{hit.end_line}  {hit.name} ({hit.kind})\n")


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
