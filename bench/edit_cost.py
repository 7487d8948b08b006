"""What one edit costs the index: ``update_paths`` for a single changed file, at workspace scale.

Every keystroke pause (after ``indexDelayMs``) and every save runs ``update_paths`` on the index thread,
and a code lens or a query waits behind it. This opens a workspace that ``bench/lsp_latency.py`` built
and indexed (its seeded synthetic Python, 10k symbols by default, MiniLM, spaces code, docs and
completions) on a scratch copy of its index, then edits random files, one at a time: each edit appends
a new, distinct function, so each update parses one file, embeds its new units and brings the three
ANN spaces up to date. Beside it, in the same process and in alternation, the same kind of edit is
followed by the full re-sync of the ANN spaces that a full ``update`` does (a scan of every live
vector id per space): that baseline is what each edit cost before the targeted path.

Reports the median and p95 per path, their ratio, and where the time goes (cProfile, cumulative, over
the targeted edits).

    python bench/lsp_latency.py --symbols 10000 --phases index    # once: builds the workspace and index
    python bench/edit_cost.py [--workdir /tmp/codekin-lsp-bench] [--symbols 10000] [--edits 40]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import random
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lsp_server.config import Settings  # noqa: E402
from lsp_server.embedding import load_embedder  # noqa: E402
from lsp_server.index import spaces  # noqa: E402
from lsp_server.index.indexer import WorkspaceIndex  # noqa: E402

SPACES = ("code", "docs", "completions")
BEFORE = "before: + full ANN re-sync, saved each edit"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def edit(workspace: Path, path: str, serial: int) -> None:
    """Append a distinct function (a docstring too, so the docs space changes as well)."""
    with (workspace / path).open("a", encoding="utf-8") as out:
        out.write(
            f"\n\ndef bench_edit_{serial}(values, limit={serial}):\n"
            f'    """Keep the values below {serial} and sum them."""\n'
            f"    return sum(v for v in values if v < limit) + {serial}\n"
        )


def resync_anns(index: WorkspaceIndex, names: tuple[str, ...]) -> None:
    """The baseline: re-sync ``names`` with a scan of all their live vectors, what a full update ends with."""
    for space in names:
        index.anns.sync(space)


def open_scratch(work: Path, symbols: int) -> WorkspaceIndex | None:
    """A scratch copy of the workspace and index that bench/lsp_latency.py built, opened; None if absent."""
    built_ws = work / f"ws-{symbols}"
    # the server keeps one subfolder per workspace folder under its indexDir
    built_index = next((work / f"index-{symbols}-{'-'.join(SPACES)}").glob("*/index.sqlite3"), None)
    if not built_ws.is_dir() or built_index is None:
        print(f"no indexed workspace under {work}: run bench/lsp_latency.py --symbols {symbols} first")
        return None
    scratch = work / f"edit-cost-{symbols}"
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(built_ws, scratch / "ws")
    shutil.copytree(built_index.parent, scratch / "index")
    settings = Settings(model="minilm", spaces=SPACES, index_dir=str(scratch / "index"))
    return WorkspaceIndex(scratch / "ws", settings, load_embedder("minilm", "cpu"))


def time_edits(
    index: WorkspaceIndex, edits: int, seed: int, profiler: cProfile.Profile
) -> dict[str, list[float]]:
    """Seconds per edit, targeted and baseline in alternation; the targeted ones run under ``profiler``."""
    files = sorted(index.store.files())
    rng = random.Random(seed)
    timings: dict[str, list[float]] = {"targeted": [], BEFORE: []}
    interval = spaces.ANN_SAVE_INTERVAL_S
    for serial in range(edits * 2):
        path = rng.choice(files)
        edit(index.root, path, serial)
        targeted = serial % 2 == 0
        started = time.perf_counter()
        if targeted:
            spaces.ANN_SAVE_INTERVAL_S = interval
            profiler.enable()
            index.update_paths([path], SPACES)
            profiler.disable()
        else:
            spaces.ANN_SAVE_INTERVAL_S = 0.0
            index.update_paths([path], SPACES)
            resync_anns(index, SPACES)
        timings["targeted" if targeted else BEFORE].append(time.perf_counter() - started)
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workdir", default="/tmp/codekin-lsp-bench")
    parser.add_argument("--symbols", type=int, default=10000)
    parser.add_argument("--edits", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(ROOT / "bench" / "out" / "edit_cost.json"))
    args = parser.parse_args()
    index = open_scratch(Path(args.workdir), args.symbols)
    if index is None:
        return 2
    opened = time.perf_counter()
    first = index.update(SPACES)
    print(f"opened and checked in {time.perf_counter() - opened:.1f} s: {first}", file=sys.stderr)
    profiler = cProfile.Profile()
    timings = time_edits(index, args.edits, args.seed, profiler)
    files = len(index.store.files())
    index.close()
    stats = io.StringIO()
    pstats.Stats(profiler, stream=stats).sort_stats("cumulative").print_stats(25)
    rows = {
        name: {
            "median_ms": round(1000 * statistics.median(values), 1),
            "p95_ms": round(1000 * percentile(values, 0.95), 1),
        }
        for name, values in timings.items()
    }
    ratio = round(rows[BEFORE]["median_ms"] / rows["targeted"]["median_ms"], 2)
    report: dict[str, Any] = {
        "symbols": args.symbols,
        "units": first.units,
        "edits": args.edits,
        "rows": rows,
        "baseline_over_targeted_median": ratio,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1))
    print(stats.getvalue())
    print(f"{first.units} units in {files} files, {args.edits} edits per path\n")
    print("| path | median ms | p95 ms |\n|---|---|---|")
    for name, row in rows.items():
        print(f"| {name} | {row['median_ms']} | {row['p95_ms']} |")
    print(f"\nfull re-sync / targeted (median): {ratio}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
