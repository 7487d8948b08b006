"""Planted clones: codekin's clone kinds beside jscpd 5, in the same run, on the same workspace.

The workspace comes from ``bench/clone_planting.py`` (real code, plus planted Type-1/2/3 copies of
real functions and their ground truth). Then, one after another:

(a) ``codekin duplicates WORKSPACE --json --model minilm --device cpu`` with every kind (exact,
    renamed, near-miss, semantic, cross-language), a fresh index folder;
(b) jscpd 5 with its best flags per kind: defaults for Type-1; ``--ignore-identifiers
    --ignore-literals --max-gap-lines 3`` for Type-2 and Type-3; both with ``--min-tokens 30
    --min-lines 4 -r json``. Each timed by the wall clock.

Scores:
- recall per kind and language: codekin finds a planted pair when both units are members of one
  cluster; jscpd when one reported clone's two fragments overlap the two units. Matching is by
  file and lines: a member or fragment matches a unit when they overlap by at least half of the
  shorter unit of the pair (for a member, the shorter of member and unit).
- precision on the planted copies: of the reported pairs with one side in a planted file, those
  whose other side is not a true partner: the original, another copy of the same original, or
  (HumanEval-X) the same task in another file, which is a true semantic clone.
- cross-language recall (codekin only): the HumanEval-X tasks' solutions in two languages.
- a seeded sample of reported pairs among the background (no planted file), printed with both
  excerpts for a person to judge (also in ``bench/out/clones_sample.md``).

(c) The syntactic channel alone (``--kinds exact,renamed,near-miss``: no model) on the whole
standard library, cold (fresh index) and warm (same index, nothing changed), against jscpd on the
same files; each run ``--repeats`` times (default 2), the best kept.

    bash bench/install_jscpd.sh
    python bench/clones_vs_jscpd.py [--planted /tmp/codekin-clones] [--per-kind 20] [--sample 50]
    python bench/clones_vs_jscpd.py --codekin-json hand.json --skip-stdlib   # develop the scoring
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from clone_planting import EXCLUDE_DIRS, KINDS, plant  # noqa: E402

OUT = ROOT / "bench" / "out"
CODEKIN = ROOT / ".venv" / "bin" / "codekin"
ALL_KINDS = "exact,renamed,near-miss,semantic,cross-language"
SYNTACTIC = "exact,renamed,near-miss"
COMMON = ["--min-tokens", "30", "--min-lines", "4"]
JSCPD_CONFIGS = {
    "jscpd default": [],
    "jscpd -ii -il -gap3": ["--ignore-identifiers", "--ignore-literals", "--max-gap-lines", "3"],
    "jscpd --mode weak": ["--mode", "weak"],
}
"""The first two are the brief's best flags per kind; ``--mode weak`` (comments skipped) is shown
beside them because jscpd's default mode counts comments as tokens, which a Type-1 copy changes."""
BEST_JSCPD = {"exact": "jscpd default", "renamed": "jscpd -ii -il -gap3", "near-miss": "jscpd -ii -il -gap3"}
Span = tuple[str, int, int]
"""A path relative to the workspace and a 1-based, inclusive line range."""


def jscpd_binary(given: str | None) -> str:
    if given:
        return given
    for candidate in (
        OUT / "jscpd" / "node_modules" / ".bin" / "jscpd",
        Path("/tmp/jscpd/node_modules/.bin/jscpd"),
    ):
        if candidate.exists():
            return str(candidate)
    done = subprocess.run(["bash", str(ROOT / "bench" / "install_jscpd.sh")], capture_output=True, text=True)
    return done.stdout.strip().splitlines()[-1]


def timed(command: list[str], cwd: Path | None = None) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    return done, time.perf_counter() - start


class CodekinFailed(RuntimeError):
    """codekin exited non-zero: the run goes on with jscpd alone, the error in the figures."""


def run_codekin(workspace: Path, index_dir: Path, kinds: str, model: str) -> tuple[dict[str, Any], float]:
    command = [str(CODEKIN), "duplicates", str(workspace), "--json", "--kinds", kinds, "--index-dir"]
    command += [str(index_dir), "--device", "cpu", *COMMON]
    if "semantic" in kinds or "cross-language" in kinds:
        command += ["--model", model]
    done, seconds = timed(command)
    if done.returncode != 0:
        raise CodekinFailed(f"codekin failed ({done.returncode}): {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout), seconds


def run_jscpd(binary: str, workspace: Path, flags: list[str]) -> tuple[list[dict[str, Any]], float]:
    with tempfile.TemporaryDirectory(prefix="jscpd-") as report:
        command = [binary, ".", *COMMON, *flags, "-r", "json", "-o", report, "--silent", "--no-tips"]
        done, seconds = timed([*command, "--no-gitignore"], cwd=workspace)
        if done.returncode != 0:
            raise SystemExit(f"jscpd failed ({done.returncode}):\n{done.stderr[-3000:]}")
        found = json.loads((Path(report) / "jscpd-report.json").read_text(encoding="utf-8"))
    return found["duplicates"], seconds


# --- reported pairs, as spans --------------------------------------------------------------------


def _norm(path: str) -> str:
    return path[2:] if path.startswith("./") else path


def codekin_pairs(report: dict[str, Any]) -> list[dict[str, Any]]:
    pairs = []
    for number, cluster in enumerate(report["clusters"]):
        members = cluster["members"]
        for pair in cluster.get("pairs", []):
            a, b = members[pair["a"]], members[pair["b"]]
            pairs.append(
                {
                    "a": (_norm(a["path"]), a["start_line"], a["end_line"]),
                    "b": (_norm(b["path"]), b["start_line"], b["end_line"]),
                    "kind": pair.get("kind", cluster.get("kind")),
                    "score": pair.get("score"),
                    "cluster": number,
                }
            )
    return pairs


def jscpd_pairs(duplicates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def span(side: dict[str, Any]) -> Span:
        return (_norm(side["name"]), side["start"], side["end"])

    return [
        {"a": span(d["firstFile"]), "b": span(d["secondFile"]), "kind": d.get("kind"), "score": None}
        for d in duplicates
    ]


def overlap(x: Span, y: Span) -> int:
    if x[0] != y[0]:
        return 0
    return max(0, min(x[2], y[2]) - max(x[1], y[1]) + 1)


def length(span: Span) -> int:
    return span[2] - span[1] + 1


def matches(found: Span, unit: Span, shorter: int) -> bool:
    """``found`` (a member or fragment) stands for ``unit``: overlap of half the shorter unit."""
    return overlap(found, unit) * 2 >= max(1, shorter)


# --- scores ----------------------------------------------------------------------------------------


def planted_spans(truth: dict[str, Any]) -> list[dict[str, Any]]:
    """The planted pairs, as spans, each with the spans of its copy's true partners."""

    def span(side: dict[str, Any]) -> Span:
        return (side["path"], side["start_line"], side["end_line"])

    groups: dict[Span, list[Span]] = {}
    for pair in truth["pairs"]:
        groups.setdefault(span(pair["original"]), []).append(span(pair["copy"]))
    found = []
    for pair in truth["pairs"]:
        original, copy = span(pair["original"]), span(pair["copy"])
        partners = [original, *(c for c in groups[original] if c != copy)]
        found.append({**pair, "o": original, "c": copy, "partners": partners})
    return found


def codekin_found(planted: list[dict[str, Any]], report: dict[str, Any]) -> list[bool]:
    clusters = [
        [(_norm(m["path"]), m["start_line"], m["end_line"]) for m in cluster["members"]]
        for cluster in report["clusters"]
    ]

    def holds(members: list[Span], unit: Span) -> bool:
        return any(matches(m, unit, min(length(m), length(unit))) for m in members)

    return [any(holds(ms, p["o"]) and holds(ms, p["c"]) for ms in clusters) for p in planted]


def jscpd_found(planted: list[dict[str, Any]], pairs: list[dict[str, Any]]) -> list[bool]:
    result = []
    for p in planted:
        shorter = min(length(p["o"]), length(p["c"]))
        result.append(
            any(
                (matches(q["a"], p["o"], shorter) and matches(q["b"], p["c"], shorter))
                or (matches(q["b"], p["o"], shorter) and matches(q["a"], p["c"], shorter))
                for q in pairs
            )
        )
    return result


def judge(pair: dict[str, Any], planted: list[dict[str, Any]], tasks: dict[str, str]) -> str | None:
    """``partner``, ``same task`` or ``false`` for a pair touching a planted file; None otherwise."""
    sides = (pair["a"], pair["b"])
    if not any(side[0].startswith("planted/") for side in sides):
        return None
    for side, other in (sides, sides[::-1]):
        for p in planted:
            if overlap(side, p["c"]) and any(overlap(other, partner) for partner in p["partners"]):
                return "partner"
    task_a, task_b = tasks.get(sides[0][0]), tasks.get(sides[1][0])
    if task_a is not None and task_a == task_b and sides[0][0] != sides[1][0]:
        return "same task"
    return "false"


def precision(
    pairs: list[dict[str, Any]], planted: list[dict[str, Any]], tasks: dict[str, str]
) -> dict[str, Any]:
    verdicts = [(pair, judge(pair, planted, tasks)) for pair in pairs]
    counts = {v: sum(1 for _, x in verdicts if x == v) for v in ("partner", "same task", "false")}
    touching = sum(counts.values())
    true = counts["partner"] + counts["same task"]
    false_pairs = [pair for pair, v in verdicts if v == "false"]
    return {
        "touching": touching,
        **counts,
        "precision": true / touching if touching else None,
        "false_examples": [[list(p["a"]), list(p["b"]), p["kind"]] for p in false_pairs[:20]],
    }


def recall_rows(planted: list[dict[str, Any]], found: dict[str, list[bool]]) -> list[dict[str, Any]]:
    languages = sorted({p["language"] for p in planted})
    rows = []
    for kind in KINDS:
        for language in [*languages, "all"]:
            chosen = [
                i for i, p in enumerate(planted) if p["kind"] == kind and language in ("all", p["language"])
            ]
            row: dict[str, Any] = {"kind": kind, "language": language, "planted": len(chosen)}
            for system, hits in found.items():
                row[system] = sum(hits[i] for i in chosen)
            row["jscpd best"] = row[BEST_JSCPD[kind]]
            rows.append(row)
    return rows


def codekin_labels(planted: list[dict[str, Any]], pairs: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """For each planted kind, the kind of the reported pair that links copy and original directly."""
    labels: dict[str, dict[str, int]] = {kind: {} for kind in KINDS}
    for p in planted:
        shorter = min(length(p["o"]), length(p["c"]))
        label = "not paired directly"
        for q in pairs:
            forward = matches(q["a"], p["o"], shorter) and matches(q["b"], p["c"], shorter)
            if forward or (matches(q["b"], p["o"], shorter) and matches(q["a"], p["c"], shorter)):
                label = str(q["kind"])
                break
        labels[p["kind"]][label] = labels[p["kind"]].get(label, 0) + 1
    return labels


def cross_language(report: dict[str, Any], tasks: dict[str, str]) -> dict[str, Any]:
    """HumanEval-X: the same task in two languages, found when one cluster has members of both files."""
    clusters_of: dict[str, set[int]] = {}
    for number, cluster in enumerate(report["clusters"]):
        for member in cluster["members"]:
            clusters_of.setdefault(_norm(member["path"]), set()).add(number)
    by_task: dict[str, list[str]] = {}
    for path, task in tasks.items():
        if path.startswith("humanevalx/"):
            by_task.setdefault(task, []).append(path)
    total = found = 0
    for paths in by_task.values():
        for i, a in enumerate(sorted(paths)):
            for b in sorted(paths)[i + 1 :]:
                total += 1
                found += bool(clusters_of.get(a, set()) & clusters_of.get(b, set()))
    return {"pairs": total, "found": found, "recall": found / total if total else None}


# --- the background sample, the standard-library timing, the report --------------------------------


def excerpt(workspace: Path, span: Span, most: int = 30) -> str:
    lines = (workspace / span[0]).read_text(encoding="utf-8", errors="replace").split("\n")
    body = lines[span[1] - 1 : span[2]]
    cut = len(body) > most
    return "\n".join(body[:most]) + (f"\n… ({len(body) - most} more lines)" if cut else "")


def background_sample(
    workspace: Path, pairs: list[dict[str, Any]], tasks: dict[str, str], size: int, seed: int
) -> list[dict[str, Any]]:
    background = [
        p for p in pairs if not p["a"][0].startswith("planted/") and not p["b"][0].startswith("planted/")
    ]
    chosen = random.Random(seed).sample(background, min(size, len(background)))
    sample = []
    for number, pair in enumerate(chosen, 1):
        same_task = tasks.get(pair["a"][0]) is not None and tasks.get(pair["a"][0]) == tasks.get(pair["b"][0])
        sample.append(
            {
                "n": number,
                "kind": pair["kind"],
                "score": pair["score"],
                "a": list(pair["a"]),
                "b": list(pair["b"]),
                "same_humanevalx_task": same_task,
                "a_code": excerpt(workspace, pair["a"]),
                "b_code": excerpt(workspace, pair["b"]),
            }
        )
    return sample


def sample_markdown(sample: list[dict[str, Any]], background_total: int) -> str:
    out = [f"# codekin: {len(sample)} of {background_total} reported pairs among the background\n"]
    for item in sample:
        a, b = item["a"], item["b"]
        note = " (the same HumanEval-X task)" if item["same_humanevalx_task"] else ""
        out.append(f"## {item['n']}. {item['kind']} score {item['score']}{note}\n")
        out.append(f"`{a[0]}:{a[1]}-{a[2]}`\n\n```\n{item['a_code']}\n```\n")
        out.append(f"`{b[0]}:{b[1]}-{b[2]}`\n\n```\n{item['b_code']}\n```\n")
    return "\n".join(out)


def copy_stdlib(dest: Path) -> int:
    stdlib = Path(sysconfig.get_path("stdlib"))
    count = 0
    for path in sorted(stdlib.rglob("*.py")):
        relative = path.relative_to(stdlib)
        if EXCLUDE_DIRS.intersection(relative.parts):
            continue
        (dest / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest / relative)
        count += 1
    return count


def stdlib_timing(binary: str, repeats: int) -> dict[str, Any]:
    """The syntactic channel (no model) on the whole standard library against jscpd, best of ``repeats``."""
    with tempfile.TemporaryDirectory(prefix="codekin-stdlib-") as scratch:
        workspace = Path(scratch) / "stdlib"
        files = copy_stdlib(workspace)
        result: dict[str, Any] = {"files": files}
        try:
            result.update(_codekin_stdlib(workspace, Path(scratch), repeats))
        except CodekinFailed as error:
            result["codekin error"] = str(error)
        for name, flags in JSCPD_CONFIGS.items():
            runs = [run_jscpd(binary, workspace, flags) for _ in range(repeats)]
            result[f"{name} s"] = min(seconds for _, seconds in runs)
            result[f"{name} clones"] = len(runs[0][0])
    for name in JSCPD_CONFIGS:
        for state in ("cold", "warm"):
            if f"codekin {state} s" in result:
                result[f"codekin {state} / {name}"] = result[f"codekin {state} s"] / result[f"{name} s"]
    return result


def _codekin_stdlib(workspace: Path, scratch: Path, repeats: int) -> dict[str, Any]:
    cold, warm, clusters = [], [], 0
    for attempt in range(repeats):
        index = scratch / f"index-{attempt}"
        report, seconds = run_codekin(workspace, index, SYNTACTIC, "minilm")
        cold.append(seconds)
        clusters = len(report["clusters"])
    for _ in range(repeats):
        warm.append(run_codekin(workspace, index, SYNTACTIC, "minilm")[1])
    return {"codekin clusters": clusters, "codekin cold s": min(cold), "codekin warm s": min(warm)}


def _cell(found: int, total: int) -> str:
    return f"{found}/{total} ({100 * found / total:.0f} %)" if total else "–"


def markdown(figures: dict[str, Any]) -> str:
    systems = ["codekin", *JSCPD_CONFIGS, "jscpd best"]
    out = ["## Recall on planted pairs (found / planted)\n"]
    if figures.get("codekin_error"):
        out.append(f"**codekin did not run:** {figures['codekin_error']}\n")
    out.append("| kind | language | " + " | ".join(systems) + " |")
    out.append("|---|---|" + "---|" * len(systems))
    for row in figures["recall"]:
        cells = [_cell(row[s], row["planted"]) for s in systems]
        out.append(f"| {row['kind']} | {row['language']} | " + " | ".join(cells) + " |")
    out.append("\n## Precision on pairs touching a planted copy\n")
    out.append("| system | pairs | true partner | same task (Type-4) | false | precision |")
    out.append("|---|---|---|---|---|---|")
    for system, p in figures["precision"].items():
        value = f"{100 * p['precision']:.1f} %" if p["precision"] is not None else "–"
        row = f"| {system} | {p['touching']} | {p['partner']} | {p['same task']} | {p['false']} | {value} |"
        out.append(row)
    cross = figures["cross_language"]
    found = _cell(cross["found"], cross["pairs"])
    out.append(f"\nCross-language (HumanEval-X, one task in two languages): codekin {found}.\n")
    out.append("## Wall-clock seconds on the planted workspace\n")
    out.extend(f"- {name}: {seconds:.1f} s" for name, seconds in figures["seconds"].items())
    timing = figures.get("stdlib")
    if timing:
        out.append(f"\n## Whole standard library ({timing['files']} files), best of {figures['repeats']}\n")
        out.extend(
            f"- {key}: {value:.2f}" if isinstance(value, float) else f"- {key}: {value}"
            for key, value in timing.items()
        )
    return "\n".join(out) + "\n"


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--planted", type=Path, default=Path(tempfile.gettempdir()) / "codekin-clones")
    parser.add_argument("--reuse", action="store_true", help="take the workspace already in --planted")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--per-kind", type=int, default=20)
    parser.add_argument("--stdlib-files", type=int, default=60)
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--kinds", default=ALL_KINDS)
    parser.add_argument("--codekin-json", type=Path, help="score this report instead of running codekin")
    parser.add_argument("--jscpd", help="the jscpd binary (default: bench/install_jscpd.sh's)")
    parser.add_argument("--sample", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--skip-stdlib", action="store_true", help="leave out the standard-library timing")
    parser.add_argument("--out", type=Path, default=OUT)
    return parser.parse_args()


def run_all(args: argparse.Namespace) -> dict[str, Any]:
    if args.reuse:
        truth = json.loads((args.planted / "truth.json").read_text(encoding="utf-8"))
    else:
        truth = plant(args.planted, args.seed, args.per_kind, args.stdlib_files)
    workspace = args.planted / "workspace"
    planted, tasks = planted_spans(truth), truth["tasks"]
    seconds: dict[str, float] = {}
    if args.codekin_json:
        report = json.loads(args.codekin_json.read_text(encoding="utf-8"))
    else:
        with tempfile.TemporaryDirectory(prefix="codekin-index-") as index:
            try:
                report, seconds["codekin (cold, all kinds)"] = run_codekin(
                    workspace, Path(index), args.kinds, args.model
                )
            except CodekinFailed as error:
                print(error, file=sys.stderr)
                report = {"model": None, "kinds": [], "clusters": [], "error": str(error)}
    binary = jscpd_binary(args.jscpd)
    reported = {"codekin": codekin_pairs(report)}
    for name, flags in JSCPD_CONFIGS.items():
        duplicates, seconds[name] = run_jscpd(binary, workspace, flags)
        reported[name] = jscpd_pairs(duplicates)
    found = {"codekin": codekin_found(planted, report)}
    found.update({name: jscpd_found(planted, reported[name]) for name in JSCPD_CONFIGS})
    background = [p for p in reported["codekin"] if "planted/" not in p["a"][0] + p["b"][0]]
    figures: dict[str, Any] = {
        "model": report.get("model"),
        "codekin_error": report.get("error"),
        "kinds": report.get("kinds"),
        "codekin_clusters": len(report["clusters"]),
        "reported_pairs": {name: len(pairs) for name, pairs in reported.items()},
        "codekin_background_pairs": len(background),
        "recall": recall_rows(planted, found),
        "precision": {name: precision(pairs, planted, tasks) for name, pairs in reported.items()},
        "codekin_labels": codekin_labels(planted, reported["codekin"]),
        "cross_language": cross_language(report, tasks),
        "seconds": seconds,
        "repeats": args.repeats,
        "missed": {
            name: [p["id"] for p, hit in zip(planted, hits, strict=True) if not hit]
            for name, hits in found.items()
        },
    }
    figures["sample"] = background_sample(workspace, reported["codekin"], tasks, args.sample, args.seed)
    if not args.skip_stdlib:
        figures["stdlib"] = stdlib_timing(binary, args.repeats)
    return figures


def main() -> None:
    args = arguments()
    figures = run_all(args)
    args.out.mkdir(parents=True, exist_ok=True)
    sample = sample_markdown(figures["sample"], figures["codekin_background_pairs"])
    (args.out / "clones_sample.md").write_text(sample, encoding="utf-8")
    table = markdown(figures)
    (args.out / "clones_vs_jscpd.md").write_text(table, encoding="utf-8")
    (args.out / "clones_vs_jscpd.json").write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
    print(sample)
    print(table)
    print("codekin's label of the direct pair, per planted kind:", json.dumps(figures["codekin_labels"]))
    for name, p in figures["precision"].items():
        for a, b, kind in p["false_examples"][:10]:
            print(f"false ({name}, {kind}): {a} ~ {b}")
    print(f"written: {args.out / 'clones_vs_jscpd.md'}, .json, {args.out / 'clones_sample.md'}")


if __name__ == "__main__":
    main()
