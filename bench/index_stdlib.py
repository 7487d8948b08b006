"""Cold index, warm re-index, one-edit re-index and peak memory on the Python standard library.

Each step is a real ``codekin index --json`` process; its peak RSS comes from wait4.
The workspace is a copy of the standard library (minus site-packages and the test
suites), so the one-edit step can edit a file without touching the interpreter's.

    python bench/index_stdlib.py [--model minilm] [--only json,email,...] [--out bench/out/index_stdlib.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

EXCLUDE = ("site-packages", "test", "tests", "idle_test", "__pycache__")


def copy_stdlib(dest: Path, only: list[str]) -> Path:
    source = Path(sysconfig.get_path("stdlib"))
    ignore = shutil.ignore_patterns(*EXCLUDE, "*.pyc")
    if only:
        dest.mkdir(parents=True)
        for name in only:
            path = source / name
            if path.is_dir():
                shutil.copytree(path, dest / name, ignore=ignore)
            else:
                shutil.copy2(path.with_suffix(".py"), dest)
    else:
        shutil.copytree(source, dest, ignore=ignore)
    return dest


def run_index(workspace: Path, index_dir: Path, model: str, spaces: str) -> dict[str, float]:
    cmd = [sys.executable, "-m", "lsp_server.entry", "index", str(workspace), "--json", "--model", model]
    cmd += ["--index-dir", str(index_dir), "--spaces", spaces]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{' '.join(cmd)} failed with status {status}")
    summary = json.loads(out)
    return {**summary, "wall_seconds": round(wall, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--only", default="", help="comma-separated stdlib modules/packages (default: all)")
    parser.add_argument("--out", type=Path, default=Path("bench/out/index_stdlib.json"))
    args = parser.parse_args()

    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workspace = copy_stdlib(Path(tmp) / "stdlib", [m for m in args.only.split(",") if m])
        index_dir = Path(tmp) / "index"
        steps = [
            ("cold: code space", "code"),
            ("+ docs space", "code,docs"),
            ("+ completions space", "code,docs,completions"),
            ("warm re-index, nothing changed", "code,docs,completions"),
        ]
        for name, spaces in steps:
            results[name] = run_index(workspace, index_dir, args.model, spaces)
            print(name, results[name], file=sys.stderr)
        target = (
            workspace / "json" / "decoder.py"
            if (workspace / "json").is_dir()
            else next(workspace.rglob("*.py"))
        )
        text = target.read_text()
        line_start = text.rindex("\n", 0, text.index("    return ")) + 1  # a line inside some function
        line = text[line_start:].split("\n", 1)[0]
        indent = line[: len(line) - len(line.lstrip())]
        target.write_text(text[:line_start] + f"{indent}# edited\n" + text[line_start:])
        results["one function edited"] = run_index(workspace, index_dir, args.model, "code,docs,completions")
        print("one function edited", results["one function edited"], file=sys.stderr)
        shutil.move(workspace / target.relative_to(workspace), workspace / (target.stem + "_renamed.py"))
        results["one file renamed"] = run_index(workspace, index_dir, args.model, "code,docs,completions")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print("| step | files | units | embedded | reused | seconds (in process) | wall s | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        counts = f"{r['files']} | {r['units']} | {r['embedded']} | {r['reused']}"
        times = f"{r['seconds']:.1f} | {r['wall_seconds']:.1f} | {r['peak_rss_mb']:.0f}"
        print(f"| {name} | {counts} | {times} |")


if __name__ == "__main__":
    main()
