"""A renamed copy's code lens on a first run, while the model loads and the workspace is still embedding.

The syntactic channel needs no model, so the lens on a pasted, renamed copy should not wait for the
first index's embedding. This starts the real server (``python -m lsp_server``, MiniLM on the CPU) on
``bench/lsp_latency.py``'s seeded synthetic workspace with an empty index folder, and from the moment
``initialize`` returns edits one file after another through ``didChange`` alone (no save): a function
is replaced by a renamed copy of a function of another file (its name and parameters renamed), then
the file is restored. Each edit is timed from ``didChange`` to the ``textDocument/codeLens`` answer that
shows (or no longer shows) the lens on that line, as ``lsp_latency.py`` does; ``codekin.status`` after
each edit records how far the first index was (units stored, units still waiting for a vector).

The budget is the edit-to-lens target: 300 ms p95 at 10k symbols; didChange waits ``indexDelayMs``
(200 ms by default) for typing to pause, set lower here with ``--delay-ms`` to see the server's own
share.

    python bench/lens_while_loading.py [--symbols 10000] [--edits 12] [--delay-ms 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from lsp_latency import (  # noqa: E402
    GenFile,
    GenSymbol,
    Server,
    edit_targets,
    generate,
    lens_lines,
    summary_ms,
    uri,
    wait_lens,
)
from lsprotocol import types  # noqa: E402


def renamed_copy(file: GenFile, target: GenSymbol, source: GenSymbol) -> str:
    """``file`` with ``target`` replaced by ``source`` under another name, its parameters renamed."""
    body = "\n".join(source.lines)
    for old in [source.name, *source.params]:
        body = re.sub(rf"\b{re.escape(old)}\b", f"{old}_copy", body)
    lines = file.text.split("\n")
    return "\n".join(lines[: target.start] + body.split("\n") + lines[target.start + len(target.lines) :])


async def one_edit(server: Server, path: Path, text: str, version: int, line: int, present: bool) -> Any:
    since = time.perf_counter()
    server.client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri(path), version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )
    return await wait_lens(server, path, line, present=present, since=since)


async def measure(server: Server, workspace: Path, targets: list[Any]) -> list[dict[str, Any]]:
    runs = []
    for file, target, source in targets:
        path = workspace / file.path
        server.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri(path), language_id="python", version=1, text=file.text
                )
            )
        )
        if target.start in await lens_lines(server, path):
            continue
        for version, present in ((2, True), (3, False)):
            text = renamed_copy(file, target, source) if present else file.text
            result = await one_edit(server, path, text, version, target.start, present)
            status = await server.status()
            result.update(
                file=file.path,
                create=present,
                units=status["units"],
                pending=status["pending"],
                since_start_s=round(time.perf_counter() - server.spawned, 1),
            )
            runs.append(result)
            lens = "TIMEOUT" if not result["ok"] else f"{result['lens_s'] * 1000:.0f} ms"
            print(
                f"  {'create' if present else 'remove'} {file.path}: {lens}, {status['units']} units, "
                f"{status['pending']} pending",
                flush=True,
            )
        server.client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri(path)))
        )
    return runs


async def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(args.workdir)
    workspace, index_dir = work / f"ws-{args.symbols}", work / f"index-loading-{args.symbols}"
    files, pairs = generate(workspace, args.symbols, args.seed)
    shutil.rmtree(index_dir, ignore_errors=True)
    targets = edit_targets(files, pairs, random.Random(args.seed), args.edits)
    options = {
        "model": "minilm",
        "device": "cpu",
        "indexDir": str(index_dir),
        "spaces": ["code"],
        "indexDelayMs": args.delay_ms,
        "features": {"codeLens": True},
    }
    server = Server(workspace, options, Path(args.out).with_suffix(".log"))
    await server.start()
    try:
        runs = await measure(server, workspace, targets)
    finally:
        await server.stop()
    ok = [r for r in runs if r["ok"]]
    return {
        "symbols": args.symbols,
        "index_delay_ms": args.delay_ms,
        "edits": len(runs),
        "failures": len(runs) - len(ok),
        "lens": summary_ms([r["lens_s"] for r in ok]),
        "still_embedding": sum(1 for r in runs if r["pending"]),
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--symbols", type=int, default=10_000)
    parser.add_argument("--edits", type=int, default=12)
    parser.add_argument("--delay-ms", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", default="/tmp/codekin-lsp-bench")
    parser.add_argument("--out", default=str(ROOT / "bench" / "out" / "lens_while_loading.json"))
    args = parser.parse_args()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    result = asyncio.run(run(args))
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=1))


if __name__ == "__main__":
    main()
