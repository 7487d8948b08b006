"""Language-server latency and memory, measured against the real server process over stdio.

    nice -n 10 .venv/bin/python bench/lsp_latency.py --symbols 10000
    nice -n 10 .venv/bin/python bench/lsp_latency.py --symbols 100000 --spaces code

Steps, each against ``python -m lsp_server`` driven by a pytest-lsp client with VS Code's capabilities:

1. a seeded synthetic workspace: ``--symbols`` functions, methods and classes, about 20 a file, Python with
   some JavaScript, bodies 5-30 lines built from templates with random identifiers, constants and
   statements, plus a few deliberate near-duplicate pairs;
2. cold index: from spawning the server to ``codekin.status`` saying every folder is indexed, and the
   server's peak RSS (``VmHWM`` of its process);
3. ``codekin.findSimilar`` round trips (client wall time) at random unedited symbols, and at functions
   of unsaved buffers whose text is new (so the query's embedding is always computed), beside two
   baselines: ``codekin.showSimilar`` with no locations (the LSP transport and pygls dispatch alone)
   and ``codekin.status``;
4. edit to updated lens: a function is replaced by a pasted copy of a function of another file plus a
   ``# copied`` comment line (so its text is new and must be embedded; see ``edited_text`` for why the
   copy keeps the original's name), then restored; timed until ``workspace/codeLens/refresh`` arrives
   and a following ``textDocument/codeLens`` shows (or no longer shows) the lens on that line. Two
   paths: didChange then didSave at once (the file written to disk before didSave, as an editor saves;
   the save path skips ``indexDelayMs``) and didChange alone (which waits ``indexDelayMs`` of no typing,
   200 ms by default);
5. restart to ready: a new server process on the same workspace and index, timed to ``codekin.status``
   saying indexing is done (the server log's "N embedded" is recorded: it must be 0) and to the first
   findSimilar answer (sent right after ``initialized``; the server holds it until it can answer);
6. peak RSS of the first server after all of the above, and of each restarted one;
7. attribution: the MiniLM query embedding alone, timed in this process after the servers are gone.

Results are merged into ``--out`` (default ``bench/out/lsp_latency.json``) under ``--key`` (default: the
symbol count), the server's stderr goes to ``<out stem>_server_<key>.log`` beside it, and a short
table is printed. ``--phases`` runs a subset; ``--reuse`` keeps an existing index so that the later
phases can be re-run without a cold index. ``--probe-store SQLITE`` only times, read-only, the store
queries that every edit runs (to see how they grow with the workspace). Other processes' CPU use during
each phase is recorded as ``other_processes_cores``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lsprotocol import types  # noqa: E402
from pytest_lsp import LanguageClient, client_capabilities  # noqa: E402
from pytest_lsp.client import make_test_lsp_client  # noqa: E402

SERVER_ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
SUMMARY_LINE = re.compile(
    r"(\d+) files, (\d+) units, (\d+) embedded, (\d+) reused, (\d+) files changed in ([\d.]+) s"
)


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# -- 1. the synthetic workspace -------------------------------------------------------------------------

NOUNS = words(
    "user account order item price config cache path token count total buffer record node edge score "
    "limit offset page request response session event queue task result value key name index batch row "
    "column file line text payload header status error retry timeout delay client server host port metric "
    "sample window graph tree matrix vector invoice customer product stock warehouse shipment address "
    "email message channel topic schema table query cursor snapshot version release build artifact "
    "report chart label layer frame pixel image thumbnail upload download chunk segment block region zone"
)
VERBS = words(
    "load save parse build compute merge filter normalize validate render fetch update sync resolve "
    "collect split format encode decode apply check find group sort scale count emit flush read write "
    "prepare dispatch schedule register lookup refresh convert extract summarize aggregate reconcile "
    "estimate allocate release archive restore"
)
ADJECTIVES = words(
    "raw clean active pending stale cached local remote default current previous next max min first last "
    "total partial valid invalid"
)
EXCEPTIONS = ("ValueError", "KeyError", "OSError", "TypeError", "RuntimeError", "LookupError")
SEPARATORS = (",", ";", ":", "|", "/", "-", " ")
PATTERNS = (r"\s+", r"[^a-z0-9]", r"_+", r"\d+")


def camel(words: Sequence[str]) -> str:
    return words[0] + "".join(word.capitalize() for word in words[1:])


@dataclass
class GenSymbol:
    """One generated symbol: its lines (at column 0 for top-level ones) and, once placed, where it is."""

    name: str
    kind: str
    language: str
    lines: list[str]
    params: list[str] = field(default_factory=list)
    top_level: bool = True
    start: int = 0
    """0-based line of the first line, set when the file is assembled."""
    children: list[GenSymbol] = field(default_factory=list)

    @property
    def symbol_count(self) -> int:
        return 1 + len(self.children)


class Writer:
    """Random but well-formed Python and JavaScript, from statement and expression templates."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used_names: set[str] = set()

    # identifiers
    def noun_phrase(self) -> list[str]:
        rng = self.rng
        shape = rng.random()
        if shape < 0.45:
            return [rng.choice(NOUNS)]
        if shape < 0.75:
            return [rng.choice(ADJECTIVES), rng.choice(NOUNS)]
        return [rng.choice(NOUNS), rng.choice(NOUNS)]

    def unique(self, words: list[str], style: str) -> str:
        base = "_".join(words) if style == "snake" else camel(words)
        name, number = base, 2
        while name in self.used_names:
            name, number = f"{base}{number}" if style == "camel" else f"{base}_{number}", number + 1
        self.used_names.add(name)
        return name

    def function_name(self, style: str) -> str:
        return self.unique([self.rng.choice(VERBS), *self.noun_phrase()], style)

    def local(self, taken: list[str], style: str, avoid_functions: bool = False) -> str:
        for _ in range(20):
            words = self.noun_phrase()
            name = "_".join(words) if style == "snake" else camel(words)
            clash = name in taken or name in ("self", "this") or (avoid_functions and name in self.used_names)
            if not clash:
                return name
        return f"tmp{len(taken) + (len(self.used_names) if avoid_functions else 0)}"

    def number(self) -> int:
        return self.rng.choice((0, 1, 2, 3, 4, 5, 8, 10, 16, 32, 60, 100, 128, 255, 1000, 1024, 3600)) + (
            self.rng.randint(0, 9) if self.rng.random() < 0.3 else 0
        )

    def word(self) -> str:
        return self.rng.choice(NOUNS)

    # Python
    def py_expr(self, names: list[str], helpers: list[str]) -> str:
        rng = self.rng
        a = rng.choice(names)
        b = rng.choice(names)
        n, m, w = self.number(), self.number(), self.word()
        options: list[Callable[[], str]] = [
            lambda: f"{a} + {n}",
            lambda: f"{a} * {rng.choice((0.5, 1.5, 2.0, 0.25, 0.9, 1.1))}",
            lambda: f"len({a})",
            lambda: f"{a}.get({w!r}, {n})",
            lambda: f"[item for item in {a} if item]",
            lambda: f"[entry * {n} for entry in {a}]",
            lambda: f"{{key: value for key, value in {a}.items() if value is not None}}",
            lambda: f"sorted({a}, key=lambda item: item[{rng.randint(0, 3)}])",
            lambda: f"str({a}).strip().lower()",
            lambda: f"str({a}).split({rng.choice(SEPARATORS)!r})",
            lambda: f"min({a}, {b})",
            lambda: f"max({a}, {n})",
            lambda: f"sum({a}) / max(len({a}), 1)",
            lambda: f"{rng.choice(helpers)}({a}, {b})" if helpers else f"abs({a})",
            lambda: f"os.path.join(str({a}), {w!r})",
            lambda: f"json.dumps({a}, sort_keys=True)",
            lambda: f"re.sub({rng.choice(PATTERNS)!r}, {w!r}, str({a}))",
            lambda: f"dict({a} or {{}})",
            lambda: f"set({a} or ())",
            lambda: f"list({a})[{min(n, m)}:{max(n, m) + 1}]",
            lambda: f"{a} if {b} else {n}",
            lambda: f"({a} or 0) // {max(n, 1)}",
            lambda: f"round({a} * {rng.random():.3f}, {rng.randint(1, 4)})",
            lambda: f"'{w}-{{}}'.format({a})",
            lambda: f'f"{w}:{{{a}}}"',
            lambda: f"{a} is not None and {b} > {n}",
            lambda: f"any(item == {w!r} for item in {a})",
            lambda: f"DEFAULT_{w.upper()} + {a}",
            lambda: f"getattr({a}, {w!r}, None)",
            lambda: f"isinstance({a}, (int, float))",
            lambda: f"{a}[{w!r}]",
        ]
        return rng.choice(options)()

    def py_condition(self, names: list[str]) -> str:
        rng = self.rng
        a, b, n, w = rng.choice(names), rng.choice(names), self.number(), self.word()
        return rng.choice(
            (
                f"{a} > {n}",
                f"not {a}",
                f"{a} is None",
                f"{w!r} in {a}",
                f"len({a}) >= {n}",
                f"{a} and {b}",
                f"{a} != {b}",
                f"isinstance({a}, dict)",
            )
        )

    def py_block(self, names: list[str], helpers: list[str], budget: int, depth: int) -> list[str]:
        """Statements of about ``budget`` lines; names assigned here are appended to ``names``."""
        rng = self.rng
        out: list[str] = []
        while len(out) < budget:
            room = budget - len(out)
            a, b, w, n = rng.choice(names), rng.choice(names), self.word(), self.number()
            kind = rng.random()
            if depth < 2 and room >= 3 and kind < 0.12:
                cond = self.py_condition(names)
                inner = self.py_block(names, helpers, rng.randint(1, min(4, room - 1)), depth + 1)
                out += [f"if {cond}:", *("    " + line for line in inner)]
                if room - len(inner) >= 3 and rng.random() < 0.3:
                    out += ["else:", f"    {rng.choice(names)} = {self.py_expr(names, helpers)}"]
            elif depth < 2 and room >= 3 and kind < 0.22:
                var = rng.choice(("item", "entry", "row", "element", "part", w))
                inner_names = [*names, var]
                inner = self.py_block(inner_names, helpers, rng.randint(1, min(4, room - 1)), depth + 1)
                names += [x for x in inner_names if x not in names and x != var]
                out += [f"for {var} in {a}:", *("    " + line for line in inner)]
            elif depth < 2 and room >= 5 and kind < 0.28:
                inner = self.py_block(names, helpers, rng.randint(1, 2), depth + 1)
                exc = rng.choice(EXCEPTIONS)
                new = self.local(names, "snake")
                out += [
                    "try:",
                    *("    " + line for line in inner),
                    f"except {exc} as exc:",
                    f"    log.warning({f'{w} failed: %s'!r}, exc)",
                    f"    {new} = None",
                ]
                names.append(new)
            elif room >= 2 and kind < 0.33:
                new = self.local(names, "snake")
                mode = rng.choice(("r", "rb", "w", "a"))
                call = "handle.read()" if mode.startswith("r") else f"handle.write(str({b}))"
                out += [f"with open({a}, {mode!r}) as handle:", f"    {new} = {call}"]
                names.append(new)
            elif room >= 2 and kind < 0.38:
                out += [
                    f"if not {a}:",
                    f"    return {rng.choice(('None', '[]', '{}', '0', 'False', repr(w)))}",
                ]
            elif room >= 2 and kind < 0.42:
                exc = rng.choice(EXCEPTIONS)
                out += [f"if {a} is None:", f'    raise {exc}(f"{w} missing: {{{b}!r}}")']
            elif kind < 0.48:
                out.append(f"{a}.append({self.py_expr(names, helpers)})")
            elif kind < 0.53:
                out.append(f"log.debug({f'{w} %s'!r}, {a})")
            elif kind < 0.57:
                out.append(f"{a}[{w!r}] = {self.py_expr(names, helpers)}")
            elif kind < 0.6:
                out.append(f"{a} += {n}")
            elif kind < 0.62:
                out.append(f"assert {a} is not None, {f'{w} expected'!r}")
            else:
                new = self.local(names, "snake") if rng.random() < 0.7 else rng.choice(names)
                out.append(f"{new} = {self.py_expr(names, helpers)}")
                if new not in names:
                    names.append(new)
        return out

    def py_function(self, helpers: list[str], method: bool = False, length: int | None = None) -> GenSymbol:
        rng = self.rng
        name = self.function_name("snake")
        params = []
        for _ in range(rng.randint(1, 3)):
            params.append(self.local(params, "snake"))
        length = length or max(5, min(30, round(rng.triangular(5, 30, 10))))
        lines = [f"def {name}({', '.join((['self'] if method else []) + params)}):"]
        if rng.random() < 0.5:
            what = " ".join(self.noun_phrase())
            doc = f"{rng.choice(VERBS).capitalize()} the {what} of the given {self.word()}."
            lines.append(f'    """{doc}"""')
        names = list(params) + (["self"] if method else [])
        body = self.py_block(names, helpers, max(1, length - len(lines) - 1), 0)
        ret = rng.choice(
            (
                f"return {self.py_expr(names, helpers)}",
                f"return {rng.choice(names)}",
                f"return {rng.choice(names)}, {rng.choice(names)}",
            )
        )
        lines += ["    " + line for line in body] + ["    " + ret]
        return GenSymbol(name, "method" if method else "function", "python", lines, params)

    def py_class(self, helpers: list[str]) -> GenSymbol:
        rng = self.rng
        suffix = rng.choice(("Manager", "Store", "Builder", "Client", "Handler", "Service", "Index", "Pool"))
        name = self.unique([w.capitalize() for w in self.noun_phrase()] + [suffix], "camel")
        methods = [
            self.py_function(helpers, method=True, length=rng.randint(5, 12))
            for _ in range(rng.randint(2, 3))
        ]
        lines = [
            f"class {name}:",
            f'    """{" ".join(self.noun_phrase()).capitalize()} {rng.choice(VERBS)}er."""',
        ]
        for method in methods:
            lines.append("")
            lines += ["    " + line if line else "" for line in method.lines]
            method.top_level = False
        return GenSymbol(name, "class", "python", lines, children=methods)

    # JavaScript
    def js_expr(self, names: list[str], helpers: list[str]) -> str:
        rng = self.rng
        a, b, n, w = rng.choice(names), rng.choice(names), self.number(), self.word()
        options: list[Callable[[], str]] = [
            lambda: f"{a} + {n}",
            lambda: f"{a}.length",
            lambda: f"{a}.map((x) => x * {n})",
            lambda: f"{a}.filter(Boolean)",
            lambda: f"Object.keys({a})",
            lambda: f"JSON.stringify({a})",
            lambda: f"Math.max({a}, {n})",
            lambda: f"{rng.choice(helpers)}({a}, {b})" if helpers else f"Math.abs({a})",
            lambda: f"String({a}).trim().toLowerCase()",
            lambda: f"{a} ?? {n}",
            lambda: f"{a}.slice({n}, {n + self.number() + 1})",
            lambda: f"{a}['{w}']",
            lambda: f"`{w}-${{{a}}}`",
            lambda: f"{a} && {b}",
            lambda: f"{a}.reduce((acc, x) => acc + x, {n})",
            lambda: f"new Map(Object.entries({a}))",
        ]
        return rng.choice(options)()

    def js_block(self, names: list[str], helpers: list[str], budget: int, depth: int) -> list[str]:
        rng = self.rng
        out: list[str] = []
        while len(out) < budget:
            room = budget - len(out)
            a, b, w, n = rng.choice(names), rng.choice(names), self.word(), self.number()
            kind = rng.random()
            if depth < 2 and room >= 3 and kind < 0.15:
                inner = self.js_block(names, helpers, rng.randint(1, min(3, room - 2)), depth + 1)
                out += [f"if ({a} > {n}) {{", *("  " + line for line in inner), "}"]
            elif depth < 2 and room >= 3 and kind < 0.27:
                var = rng.choice(("item", "entry", "row", w))
                inner = self.js_block([*names, var], helpers, rng.randint(1, min(3, room - 2)), depth + 1)
                out += [f"for (const {var} of {a}) {{", *("  " + line for line in inner), "}"]
            elif room >= 5 and kind < 0.33:
                out += [
                    "try {",
                    f"  {a}.push({self.js_expr(names, helpers)});",
                    "} catch (err) {",
                    f"  console.warn('{w} failed', err);",
                    "}",
                ]
            elif room >= 3 and kind < 0.4:
                out += [f"if (!{a}) {{", f"  return {rng.choice(('null', '[]', '0', 'false'))};", "}"]
            elif kind < 0.5:
                out.append(f"{a}.push({self.js_expr(names, helpers)});")
            elif kind < 0.55:
                out.append(f"console.debug('{w}', {b});")
            else:
                new = self.local(names, "camel", avoid_functions=True)
                out.append(f"const {new} = {self.js_expr(names, helpers)};")
                names.append(new)
        return out

    def js_function(self, helpers: list[str]) -> GenSymbol:
        rng = self.rng
        name = self.function_name("camel")
        params: list[str] = []
        for _ in range(rng.randint(1, 3)):
            params.append(self.local(params, "camel"))
        length = max(5, min(30, round(rng.triangular(5, 30, 10))))
        lines = [f"{'async ' if rng.random() < 0.2 else ''}function {name}({', '.join(params)}) {{"]
        body = self.js_block(list(params), helpers, max(1, length - 3), 0)
        lines += ["  " + line for line in body] + [f"  return {self.js_expr(params, helpers)};", "}"]
        return GenSymbol(name, "function", "javascript", lines, params)


@dataclass
class GenFile:
    path: str
    language: str
    symbols: list[GenSymbol]
    text: str = ""


def assemble(file: GenFile, rng: random.Random) -> None:
    """Lay the file out and set each symbol's start line."""
    if file.language == "python":
        constants = sorted({rng.choice(NOUNS).upper() for _ in range(3)})
        lines = [
            f'"""{file.path}: {" ".join(rng.choice(NOUNS) for _ in range(3))} helpers."""',
            "",
            "from __future__ import annotations",
            "",
            "import json",
            "import logging",
            "import os",
            "import re",
            "",
            "log = logging.getLogger(__name__)",
            "",
            *(f"DEFAULT_{c} = {rng.randint(1, 500)}" for c in constants),
        ]
        gap = ["", ""]
    else:
        lines = [f"// {file.path}", "'use strict';", "", f"const LIMIT = {rng.randint(10, 900)};"]
        gap = [""]
    for symbol in file.symbols:
        lines += gap
        symbol.start = len(lines)
        offset = 1
        for child in symbol.children:
            # Methods sit inside the class text: find their def line.
            while not symbol.lines[offset].lstrip().startswith(f"def {child.name}("):
                offset += 1
            child.start = symbol.start + offset
        lines += symbol.lines
    file.text = "\n".join(lines) + "\n"


def near_copy(symbol: GenSymbol, writer: Writer) -> GenSymbol:
    """A copy-pasted helper: the same name and code with one constant changed."""
    text = "\n".join(symbol.lines)
    numbers = list(re.finditer(r"(?<![\w.])(\d+)(?![\w.])", text))
    if numbers:
        hit = writer.rng.choice(numbers)
        text = text[: hit.start()] + str(int(hit.group()) + 7) + text[hit.end() :]
    return GenSymbol(symbol.name, "function", "python", text.split("\n"), list(symbol.params))


def generate(root: Path, symbols: int, seed: int, per_file: int = 20) -> tuple[list[GenFile], list[Any]]:
    """Write the workspace under ``root``; returns its files and the deliberate near-duplicate pairs."""
    rng = random.Random(seed)
    writer = Writer(rng)
    files: list[GenFile] = []
    made = 0
    index = 0
    while made < symbols:
        language = "javascript" if rng.random() < 0.15 else "python"
        package = f"pkg{index // 25:03d}"
        stem = "_".join(writer.noun_phrase())
        path = f"{package}/{stem}_{index:05d}.{'py' if language == 'python' else 'js'}"
        want = min(per_file, symbols - made)
        out: list[GenSymbol] = []
        helpers: list[str] = []
        count = 0
        while count < want:
            if language == "python" and want - count >= 4 and rng.random() < 0.08:
                symbol = writer.py_class(helpers)
            elif language == "python":
                symbol = writer.py_function(helpers)
            else:
                symbol = writer.js_function(helpers)
            out.append(symbol)
            helpers.append(symbol.name)
            count += symbol.symbol_count
        files.append(GenFile(path, language, out))
        made += count
        index += 1
    # Deliberate near-duplicates: a function replaced by a near-copy of one in another file.
    pairs = []
    python_files = [f for f in files if f.language == "python"]
    for _ in range(max(4, symbols // 1000)):
        source_file, target_file = rng.sample(python_files, 2)
        source = rng.choice([s for s in source_file.symbols if s.kind == "function"])
        slot = rng.choice([i for i, s in enumerate(target_file.symbols) if s.kind == "function"])
        copy = near_copy(source, writer)
        target_file.symbols[slot] = copy
        pairs.append((source_file, source, target_file, copy))
    if root.exists():
        shutil.rmtree(root)
    for file in files:
        assemble(file, rng)
        target = root / file.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(file.text)
    return files, pairs


# -- measuring ------------------------------------------------------------------------------------------


def proc_kb(pid: int, field_name: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_jiffies(pids: Sequence[int]) -> tuple[int, int]:
    """(busy jiffies of the whole machine, jiffies used by ``pids``), for measuring contention."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    busy = sum(int(x) for x in fields) - int(fields[3]) - int(fields[4])  # minus idle and iowait
    own = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            own += int(stat[11]) + int(stat[12])  # utime, stime
        except OSError:
            pass
    return busy, own


class Contention:
    """How many cores other processes kept busy while a phase ran (ours: the server and this client)."""

    def __init__(self, pids: Sequence[int]) -> None:
        self.pids = pids
        self.started = time.perf_counter()
        self.before = cpu_jiffies(pids)

    def others_cores(self) -> float:
        busy, own = cpu_jiffies(self.pids)
        ticks = os.sysconf("SC_CLK_TCK")
        seconds = time.perf_counter() - self.started
        return round(max(0, (busy - self.before[0]) - (own - self.before[1])) / ticks / max(seconds, 1e-6), 2)


def mb(kb: int | None) -> float | None:
    return None if kb is None else round(kb / 1024, 1)


def summary_ms(samples: Sequence[float]) -> dict[str, Any]:
    """p50/p95/max/mean in milliseconds of samples in seconds."""
    if not samples:
        return {"n": 0}
    ordered = sorted(samples)

    def pct(q: float) -> float:
        position = q * (len(ordered) - 1)
        low = int(position)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (position - low)

    return {
        "n": len(ordered),
        "p50_ms": round(pct(0.5) * 1000, 1),
        "p95_ms": round(pct(0.95) * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 1),
    }


def uri(path: Path) -> str:
    return path.resolve().as_uri()


class Server:
    """One server process and its client: start-up, stderr capture with arrival times, RSS."""

    def __init__(self, workspace: Path, options: dict[str, Any], log_path: Path) -> None:
        self.workspace = workspace
        self.options = options
        self.log_path = log_path
        self.client: LanguageClient = make_test_lsp_client()
        self.refreshes: list[float] = []
        self.stderr: list[tuple[float, str]] = []
        self.pid = 0
        self.spawned = 0.0
        self._reader: asyncio.Task[None] | None = None

        @self.client.feature(types.WORKSPACE_CODE_LENS_REFRESH)
        def code_lens_refresh(params: None) -> None:
            self.refreshes.append(time.perf_counter())

    async def start(self) -> float:
        """Spawn and initialize; returns the seconds the initialize request took."""
        self.spawned = time.perf_counter()
        await self.client.start_io(sys.executable, "-m", "lsp_server", env=SERVER_ENV, cwd=str(ROOT))
        # pytest-lsp forwards the server's stderr to ours; read it here instead, with arrival times.
        forwarder = self.client._stderr_forwarder
        if forwarder is not None:
            forwarder.cancel()
        server = self.client._server
        assert server is not None
        self.pid = server.pid
        self._reader = asyncio.create_task(self._read_stderr(server))
        started = time.perf_counter()
        await self.client.initialize_session(
            types.InitializeParams(
                capabilities=client_capabilities("visual-studio-code"),
                root_uri=uri(self.workspace),
                workspace_folders=[types.WorkspaceFolder(uri=uri(self.workspace), name=self.workspace.name)],
                initialization_options=self.options,
            )
        )
        return time.perf_counter() - started

    async def _read_stderr(self, server: asyncio.subprocess.Process) -> None:
        assert server.stderr is not None
        with self.log_path.open("a", encoding="utf-8") as log:
            log.write(f"--- server pid {server.pid} spawned\n")
            while line := await server.stderr.readline():
                now = time.perf_counter()
                text = line.decode("utf-8", "replace").rstrip("\n")
                self.stderr.append((now, text))
                log.write(f"[+{now - self.spawned:9.3f} s] {text}\n")
                log.flush()

    async def command(self, name: str, *arguments: Any) -> Any:
        return await self.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=name, arguments=list(arguments))
        )

    async def status(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.command("codekin.status")
        return result

    @staticmethod
    def is_ready(status: dict[str, Any]) -> bool:
        folders = status.get("folders") or []
        return bool(folders) and all(f.get("lastUpdate") for f in folders) and not status["indexing"]

    async def wait_indexed(self, interval: float, timeout: float, echo: bool = False) -> dict[str, Any]:
        deadline = time.perf_counter() + timeout
        last_echo = 0.0
        while True:
            status = await self.status()
            if self.is_ready(status):
                return status
            now = time.perf_counter()
            if echo and now - last_echo > 30:
                last_echo = now
                rss = mb(proc_kb(self.pid, "VmRSS"))
                print(
                    f"  [{now - self.spawned:7.0f} s] units {status['units']} pending {status['pending']} "
                    f"rss {rss} MB",
                    flush=True,
                )
            if now > deadline:
                raise TimeoutError(f"not indexed after {timeout:.0f} s: {status}")
            await asyncio.sleep(interval)

    def rss(self) -> dict[str, float | None]:
        return {"rss_mb": mb(proc_kb(self.pid, "VmRSS")), "peak_rss_mb": mb(proc_kb(self.pid, "VmHWM"))}

    def summaries(self, since: float = 0.0) -> list[dict[str, Any]]:
        """The server log's per-update summary lines that arrived after ``since``."""
        found = []
        for at, text in self.stderr:
            match = SUMMARY_LINE.search(text)
            if at >= since and match:
                files, units, embedded, reused, changed, seconds = match.groups()
                numbers = {"files": int(files), "units": int(units), "embedded": int(embedded)}
                numbers.update(reused=int(reused), changed_files=int(changed))
                found.append({"at": at, **numbers, "seconds": float(seconds)})
        return found

    def first_log(self, needle: str) -> float | None:
        return next((at for at, text in self.stderr if needle in text), None)

    async def stop(self) -> None:
        await self.client.shutdown_session()
        await self.client.stop()
        if self._reader is not None:
            await asyncio.wait([self._reader], timeout=5)


def code_version() -> dict[str, Any]:
    """The commit the server runs from, and the server files that differ from it (others edit too)."""

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            return ""

    return {
        "head": git("rev-parse", "--short", "HEAD").strip(),
        "modified": git("status", "--porcelain", "--", "lsp_server").split("\n")[:-1],
    }


def python_functions(files: list[GenFile], exclude: set[str]) -> list[tuple[GenFile, GenSymbol]]:
    return [
        (file, symbol)
        for file in files
        if file.language == "python"
        for symbol in file.symbols
        if symbol.kind == "function" and symbol.name not in exclude
    ]


def all_symbols(files: list[GenFile]) -> list[tuple[GenFile, GenSymbol]]:
    out = []
    for file in files:
        for symbol in file.symbols:
            out.append((file, symbol))
            out += [(file, child) for child in symbol.children]
    return out


async def find_similar(server: Server, workspace: Path, file: GenFile, symbol: GenSymbol) -> list[Any]:
    at = {"uri": uri(workspace / file.path), "position": {"line": symbol.start + 1, "character": 4}}
    result: list[Any] = await server.command("codekin.findSimilar", at)
    return result


def probe_text(file: GenFile, symbol: GenSymbol, i: int) -> str:
    """``file`` with a ``# probe i`` comment line in ``symbol``: a text no index has seen."""
    lines = file.text.split("\n")
    last = symbol.start + len(symbol.lines) - 1
    return "\n".join([*lines[:last], f"    # probe {i}", *lines[last:]])


async def measure_queries(
    server: Server, workspace: Path, files: list[GenFile], rng: random.Random, n: int, warmup: int, seed: int
) -> dict[str, Any]:
    """Round trips of a no-op command, codekin.status and two kinds of findSimilar.

    ``find_similar`` asks about unedited symbols (a server may re-use their stored vector, as codekin
    does for models whose query and passage prefixes agree); ``find_similar_unsaved`` asks about a
    function in an unsaved buffer whose text no index has seen (a new file opened with didOpen
    alone, never written), so the query's embedding is always computed.
    """
    targets = [rng.choice(all_symbols(files)) for _ in range(n + warmup)]
    own = random.Random(seed + 1)  # its own stream, so that the edit targets stay those of earlier runs
    functions = python_functions(files, set())
    probes = []
    for i in range(n + warmup):
        file, symbol = own.choice(functions)
        path = workspace / Path(file.path).parent / f"_probe_{i:04d}.py"
        probes.append((path, symbol))
        server.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri(path), language_id="python", version=1, text=probe_text(file, symbol, i)
                )
            )
        )

    async def unsaved(i: int) -> Any:
        path, symbol = probes[i]
        at = {"uri": uri(path), "position": {"line": symbol.start + 1, "character": 4}}
        return await server.command("codekin.findSimilar", at)

    out: dict[str, Any] = {}
    trivial_args = [uri(workspace / files[0].path), {"line": 0, "character": 0}, []]
    calls: tuple[tuple[str, Callable[[int], Any]], ...] = (
        ("show_similar_noop", lambda i: server.command("codekin.showSimilar", *trivial_args)),
        ("status", lambda i: server.status()),
        ("find_similar", lambda i: find_similar(server, workspace, *targets[i])),
        ("find_similar_unsaved", unsaved),
    )
    for name, call in calls:
        times: list[float] = []
        empty = 0
        for i in range(n + warmup):
            started = time.perf_counter()
            result = await call(i)
            elapsed = time.perf_counter() - started
            if i >= warmup:
                times.append(elapsed)
                empty += name.startswith("find_similar") and not result
        out[name] = summary_ms(times)
        if name.startswith("find_similar"):
            out[name]["empty_answers"] = empty
        print(f"  {name}: {out[name]}", flush=True)
    closed = time.perf_counter()
    for path, _ in probes:
        server.client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri(path)))
        )
    await asyncio.sleep(1.0)
    await server.wait_indexed(interval=0.5, timeout=600)
    updates = [{k: v for k, v in u.items() if k != "at"} for u in server.summaries(closed)]
    out["after_closing_probes"] = {"seconds": round(time.perf_counter() - closed, 2), "updates": updates}
    return out


async def measure_in_process_embedding(files: list[GenFile], rng: random.Random, n: int) -> dict[str, Any]:
    """Attribution: the query embedding alone, in this process, for the same kind of symbols."""
    from lsp_server.embedding import load_embedder
    from lsp_server.retrieval.queries import symbol_at

    embedder = load_embedder("minilm", "cpu")
    targets = [rng.choice(all_symbols(files)) for _ in range(n + 10)]
    times: list[float] = []
    parse_times: list[float] = []
    for i, (file, symbol) in enumerate(targets):
        started = time.perf_counter()
        query = symbol_at(file.path, file.text, symbol.start + 2)
        parsed = time.perf_counter()
        embedder.embed([query.code], task="code2code", side="query")
        done = time.perf_counter()
        if i >= 10:
            parse_times.append(parsed - started)
            times.append(done - parsed)
    embedder.close()
    return {"embed_query": summary_ms(times), "parse_file_for_symbol": summary_ms(parse_times)}


def edit_targets(
    files: list[GenFile], pairs: list[Any], rng: random.Random, count: int
) -> list[tuple[GenFile, GenSymbol, GenSymbol]]:
    """(file, target function, source function): targets in distinct files, sources elsewhere."""
    dup_names = {p[1].name for p in pairs} | {p[3].name for p in pairs}
    dup_files = {p[0].path for p in pairs} | {p[2].path for p in pairs}
    candidates = [(f, s) for f, s in python_functions(files, dup_names) if f.path not in dup_files]
    rng.shuffle(candidates)
    sources = [(f, s) for f, s in python_functions(files, dup_names) if len(s.lines) >= 10]
    chosen: list[tuple[GenFile, GenSymbol, GenSymbol]] = []
    seen: set[str] = set()
    for file, symbol in candidates:
        if file.path in seen or len(symbol.lines) < 6:
            continue
        source_file, source = rng.choice(sources)
        if source_file.path in seen or source_file.path == file.path:
            continue
        chosen.append((file, symbol, source))
        seen.update((file.path, source_file.path))
        if len(chosen) == count:
            break
    return chosen


def edited_text(file: GenFile, target: GenSymbol, source: GenSymbol) -> str:
    """``file`` with ``target`` replaced by a pasted copy of ``source`` plus a ``# copied`` comment line.

    The copy keeps ``source``'s name: with MiniLM the same body under another name scores only
    0.65-0.95 against the original (the name weighs that much), often below the default 0.95 lens
    threshold. The comment makes the text new, so the edit has to embed its code unit (and its
    completion unit) instead of re-using the original's vectors, as a paste-and-adapt would.
    """
    lines = file.text.split("\n")
    new = [*source.lines[:-1], "    # copied", source.lines[-1]]
    return "\n".join(lines[: target.start] + new + lines[target.start + len(target.lines) :])


async def lens_lines(server: Server, path: Path) -> set[int]:
    lenses = await server.client.text_document_code_lens_async(
        types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=uri(path)))
    )
    return {lens.range.start.line for lens in lenses or []}


async def wait_lens(
    server: Server, path: Path, line: int, present: bool, since: float, timeout: float = 20.0
) -> dict[str, Any]:
    """Wait for a refresh after ``since``, then ask for lenses until ``line`` has one (or none)."""
    deadline = since + timeout
    seen = len([t for t in server.refreshes if t < since])
    first_refresh: float | None = None
    lens_requests = 0
    while time.perf_counter() < deadline:
        fresh = [t for t in server.refreshes[seen:] if t >= since]
        if not fresh:
            await asyncio.sleep(0.002)
            continue
        seen = len(server.refreshes)
        first_refresh = first_refresh or fresh[0]
        lens_requests += 1
        if (line in await lens_lines(server, path)) == present:
            done = time.perf_counter()
            refreshes = len([t for t in server.refreshes if t >= since])
            return {
                "ok": True,
                "refresh_s": first_refresh - since,
                "lens_s": done - since,
                "refreshes": refreshes,
                "lens_requests": lens_requests,
            }
    return {
        "ok": False,
        "refresh_s": None if first_refresh is None else first_refresh - since,
        "lens_s": None,
        "lens_requests": lens_requests,
    }


async def measure_edits(
    server: Server, workspace: Path, targets: list[tuple[GenFile, GenSymbol, GenSymbol]], save: bool
) -> dict[str, Any]:
    """Each target: create the duplicate, then remove it (two repetitions), via save or didChange only."""
    reps: list[dict[str, Any]] = []
    for file, target, source in targets:
        path = workspace / file.path
        doc = types.TextDocumentIdentifier(uri=uri(path))
        before = await lens_lines(server, path)
        if target.start in before:
            print(f"  skipped {file.path}:{target.name}: already has a lens", flush=True)
            continue
        original, duplicated = file.text, edited_text(file, target, source)
        server.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=doc.uri, language_id="python", version=1, text=original
                )
            )
        )
        version = 1
        for create in (True, False):
            await asyncio.sleep(1.0)  # let the watcher's echo of the previous save and any refresh pass
            text = duplicated if create else original
            version += 1
            since = time.perf_counter()
            server.client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=doc.uri, version=version),
                    content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
                )
            )
            if save:
                path.write_text(text)
                server.client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=doc))
            result = await wait_lens(server, path, target.start, present=create, since=since)
            result.update(create=create, file=file.path, symbol=target.name)
            await asyncio.sleep(0.3)
            updates = server.summaries(since)
            result["embedded"] = [u["embedded"] for u in updates]
            result["server_update_s"] = [u["seconds"] for u in updates]
            reps.append(result)
            status = "ok" if result["ok"] else "TIMEOUT"
            lens = "-" if result["lens_s"] is None else f"{result['lens_s'] * 1000:.0f} ms"
            what = f"{'save' if save else 'change'} {'create' if create else 'remove'} {file.path}"
            print(
                f"  {what}: {status} lens {lens} embedded {result['embedded']} "
                f"server {result['server_update_s']}",
                flush=True,
            )
        server.client.text_document_did_close(types.DidCloseTextDocumentParams(text_document=doc))
    ok = [r for r in reps if r["ok"]]
    return {
        "repetitions": len(reps),
        "failures": len(reps) - len(ok),
        "lens": summary_ms([r["lens_s"] for r in ok]),
        "refresh": summary_ms([r["refresh_s"] for r in ok]),
        "lens_create": summary_ms([r["lens_s"] for r in ok if r["create"]]),
        "lens_remove": summary_ms([r["lens_s"] for r in ok if not r["create"]]),
        "server_update": summary_ms([r["server_update_s"][0] for r in reps if r["server_update_s"]]),
        "embedded_per_edit": sorted({sum(r["embedded"]) for r in reps}),
        "runs": reps,
    }


async def measure_restart(
    workspace: Path, options: dict[str, Any], log_path: Path, probe: tuple[GenFile, GenSymbol]
) -> dict[str, Any]:
    server = Server(workspace, options, log_path)
    initialize_s = await server.start()
    spawned = server.spawned
    ready_at: float | None = None
    answer_at: float | None = None
    attempts = 0

    async def first_answer() -> None:
        nonlocal answer_at, attempts
        while answer_at is None:
            attempts += 1
            try:
                found = await find_similar(server, workspace, *probe)
            except Exception:
                await asyncio.sleep(0.05)
                continue
            if found:
                answer_at = time.perf_counter()
            else:
                await asyncio.sleep(0.05)

    answering = asyncio.create_task(first_answer())
    while ready_at is None:
        if server.is_ready(await server.status()):
            ready_at = time.perf_counter()
        else:
            await asyncio.sleep(0.05)
    await asyncio.wait_for(answering, 120)
    await asyncio.sleep(0.5)
    updates = server.summaries()
    model_at = server.first_log("lsp_server.server.configuration INFO: model ")
    memory = server.rss()
    await server.stop()
    assert answer_at is not None
    return {
        "initialize_s": round(initialize_s, 3),
        "model_loaded_s": None if model_at is None else round(model_at - spawned, 3),
        "ready_s": round(ready_at - spawned, 3),
        "first_find_similar_s": round(answer_at - spawned, 3),
        "find_similar_attempts": attempts,
        "embedded": [u["embedded"] for u in updates],
        "server_update_s": [u["seconds"] for u in updates],
        "code": code_version(),
        **memory,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(args.workdir)
    workspace = work / f"ws-{args.symbols}"
    index_dir = work / f"index-{args.symbols}-{'-'.join(args.spaces)}"
    out_dir = Path(args.out).parent
    out_dir.mkdir(parents=True, exist_ok=True)
    log_path = out_dir / f"{Path(args.out).stem}_server_{args.key}.log"
    rng = random.Random(args.seed)
    phases = set(args.phases.split(","))
    result: dict[str, Any] = {
        "symbols_requested": args.symbols,
        "seed": args.seed,
        "spaces": args.spaces,
        "model": "minilm",
        "device": "cpu",
        "cpus": os.cpu_count(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "code": code_version(),
    }

    started = time.perf_counter()
    files, pairs = generate(workspace, args.symbols, args.seed)
    result["workspace"] = {
        "path": str(workspace),
        "files": len(files),
        "python_files": sum(f.language == "python" for f in files),
        "javascript_files": sum(f.language == "javascript" for f in files),
        "symbols": sum(s.symbol_count for f in files for s in f.symbols),
        "lines": sum(f.text.count("\n") for f in files),
        "near_duplicate_pairs": len(pairs),
        "generate_s": round(time.perf_counter() - started, 2),
    }
    print(f"workspace: {result['workspace']}", flush=True)
    if not args.reuse and index_dir.exists():
        shutil.rmtree(index_dir)
    log_path.write_text("")
    options = {
        "model": "minilm",
        "device": "cpu",
        "indexDir": str(index_dir),
        "spaces": list(args.spaces),
        "features": {"codeLens": True, "diagnostics": False},
    }

    server = Server(workspace, options, log_path)
    cold_cpu = Contention([os.getpid()])
    await server.start()
    cold_cpu.pids = [os.getpid(), server.pid]
    status = await server.wait_indexed(interval=args.poll, timeout=args.index_timeout, echo=True)
    index_s = time.perf_counter() - server.spawned
    first = server.summaries()
    # With --reuse an index that is missing or of another layout is still built from scratch.
    embedded_at_start = sum(u["embedded"] for u in first)
    result["cold_index" if embedded_at_start else "warm_start"] = {
        "seconds": round(index_s, 1),
        "server_update_s": [u["seconds"] for u in first],
        "embedded": embedded_at_start,
        "units": status["units"],
        "files": status["files"],
        "pending": status["pending"],
        "model_loaded_s": round((server.first_log("INFO: model ") or server.spawned) - server.spawned, 2),
        "other_processes_cores": cold_cpu.others_cores(),
        **server.rss(),
    }
    print(f"indexed: {result.get('cold_index') or result.get('warm_start')}", flush=True)
    await asyncio.sleep(2.0)

    if "query" in phases:
        print("find-similar round trips:", flush=True)
        cpu = Contention([os.getpid(), server.pid])
        result["queries"] = await measure_queries(
            server, workspace, files, rng, args.queries, args.warmup, args.seed
        )
        result["queries"]["after"] = server.rss()
        result["queries"]["other_processes_cores"] = cpu.others_cores()
    if "edit" in phases:
        targets = edit_targets(files, pairs, rng, args.edits)
        cpu = Contention([os.getpid(), server.pid])
        print("edits, save path:", flush=True)
        result["edit_save"] = await measure_edits(server, workspace, targets[: args.edits // 2], save=True)
        print("edits, didChange only:", flush=True)
        result["edit_change"] = await measure_edits(server, workspace, targets[args.edits // 2 :], save=False)
        result["edit_change"]["index_delay_ms"] = 200
        result["edit_after"] = server.rss()
        result["edit_after"]["other_processes_cores"] = cpu.others_cores()
    result["first_server_peak_rss_mb"] = server.rss()["peak_rss_mb"]
    await server.stop()

    if "restart" in phases:
        print("restarts:", flush=True)
        probe = python_functions(files, set())[0]
        restarts = []
        # With --compare-identity, every other restart first forgets the model identity the server
        # remembers from its last load (forgotten first, so that each remembered run follows a load).
        identities = Path(platformdirs.user_cache_dir("codekin")) / "model-identities.json"
        for i in range(args.restarts * (2 if args.compare_identity else 1)):
            forget = args.compare_identity and i % 2 == 0
            if forget:
                identities.unlink(missing_ok=True)
            await asyncio.sleep(1.0)
            restarts.append(await measure_restart(workspace, options, log_path, probe))
            restarts[-1]["identity"] = "forgotten" if forget else "remembered"
            print(f"  {restarts[-1]}", flush=True)
        result["restart"] = {
            "runs": restarts,
            "ready_s_max": max(r["ready_s"] for r in restarts),
            "ready_s_median": statistics.median(r["ready_s"] for r in restarts),
            "first_find_similar_s_median": statistics.median(r["first_find_similar_s"] for r in restarts),
            "peak_rss_mb_max": max(r["peak_rss_mb"] or 0 for r in restarts),
            "by_identity": {
                kind: {
                    "ready_s_median": statistics.median(r["ready_s"] for r in runs),
                    "first_find_similar_s_median": statistics.median(r["first_find_similar_s"] for r in runs),
                    # None: the server answered and was stopped before its model finished loading
                    "model_loaded_s": [r["model_loaded_s"] for r in runs],
                }
                for kind in ("remembered", "forgotten")
                if (runs := [r for r in restarts if r["identity"] == kind])
            },
        }
    if "attribution" in phases:
        print("in-process attribution:", flush=True)
        result["attribution"] = await measure_in_process_embedding(files, rng, 100)
        print(f"  {result['attribution']}", flush=True)
    result["index_bytes"] = sum(p.stat().st_size for p in index_dir.rglob("*") if p.is_file())
    result["total_s"] = round(time.perf_counter() - started, 1)
    return result


STORE_QUERIES = {
    # The bookkeeping queries that lsp_server.index.store runs on every edit (read-only forms).
    "pending_hashes": "SELECT DISTINCT u.hash FROM units u LEFT JOIN vectors v ON v.model = ?"
    " AND v.space = u.space AND v.hash = u.hash WHERE u.space = ? AND v.id IS NULL",
    "live_vector_ids": "SELECT v.id FROM vectors v WHERE v.model = ? AND v.space = ?"
    " AND EXISTS (SELECT 1 FROM units u WHERE u.space = v.space AND u.hash = v.hash)",
    "drop_unreferenced_texts (as a SELECT)": "SELECT count(*) FROM texts"
    " WHERE hash NOT IN (SELECT hash FROM units)",
}


def probe_store(path: Path) -> dict[str, Any]:
    """Best-of-3 milliseconds of each per-edit bookkeeping query on an existing store, opened read-only."""
    import sqlite3

    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    counts = dict(db.execute("SELECT space, count(*) FROM units GROUP BY space").fetchall())
    model_row = db.execute("SELECT model FROM vectors LIMIT 1").fetchone()
    out: dict[str, Any] = {
        "store": str(path),
        "units": counts,
        "vectors": db.execute("SELECT count(*) FROM vectors").fetchone()[0],
    }
    for space in counts:
        for name, sql in STORE_QUERIES.items():
            args = () if "?" not in sql else (model_row[0] if model_row else "", space)
            if not args and space != next(iter(counts)):
                continue  # not per space
            best = min(_timed(db, sql, args) for _ in range(3))
            out[f"{name}[{space}]" if args else name] = round(best * 1000, 1)
    db.close()
    return out


def _timed(db: Any, sql: str, args: tuple[Any, ...]) -> float:
    started = time.perf_counter()
    db.execute(sql, args).fetchall()
    return time.perf_counter() - started


def table(result: dict[str, Any]) -> str:
    rows = [("figure", "value", "target")]
    n = result["workspace"]["symbols"]
    if "cold_index" in result:
        cold = result["cold_index"]
        rows.append(
            (
                f"cold index, {n} symbols ({'+'.join(result['spaces'])})",
                f"{cold['seconds']:.0f} s, {cold['embedded']} embedded",
                "",
            )
        )
        rows.append(("peak RSS during cold index", f"{cold['peak_rss_mb']} MB", "< 1 GB at 100k"))
    if "queries" in result:
        q = result["queries"]
        labels = (
            ("find_similar", "findSimilar, unedited symbol"),
            ("find_similar_unsaved", "findSimilar, unsaved new text"),
            ("status", "codekin.status round trip"),
            ("show_similar_noop", "trivial command round trip"),
        )
        for name, label in labels:
            if name not in q:
                continue
            s = q[name]
            target = "p95 < 50 ms at 100k" if name.startswith("find_similar") else "(baseline)"
            rows.append((label, f"p50 {s['p50_ms']} / p95 {s['p95_ms']} / max {s['max_ms']} ms", target))
    for key, label in (
        ("edit_save", "edit -> lens (didChange+didSave)"),
        ("edit_change", "edit -> lens (didChange only, +200 ms delay)"),
    ):
        if key in result:
            e = result[key]
            figure = f"p50 {e['lens'].get('p50_ms')} / p95 {e['lens'].get('p95_ms')} ms"
            rows.append(
                (label, f"{figure} ({e['repetitions']} reps, {e['failures']} failed)", "p95 < 300 ms at 10k")
            )
    if "restart" in result:
        r = result["restart"]
        ready = f"{r['ready_s_median']:.2f} / {r['ready_s_max']:.2f} s"
        rows.append(("restart -> indexed (median / max)", ready, "< 5 s at 100k"))
        rows.append(
            ("restart -> first findSimilar (median)", f"{r['first_find_similar_s_median']:.2f} s", "")
        )
        rows.append(("peak RSS after restart", f"{r['peak_rss_mb_max']} MB", "< 1 GB at 100k"))
    if "first_server_peak_rss_mb" in result:
        rows.append(
            ("peak RSS after all steps", f"{result['first_server_peak_rss_mb']} MB", "< 1 GB at 100k")
        )
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--symbols", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--spaces",
        type=lambda s: s.split(","),
        default=["code", "docs", "completions"],
        help="comma-separated spaces the server indexes (default: all three)",
    )
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--edits", type=int, default=30, help="targets: half via save, half didChange-only")
    parser.add_argument("--restarts", type=int, default=3)
    parser.add_argument(
        "--compare-identity",
        action="store_true",
        help="alternate restarts without and with the remembered model identity (2x --restarts)",
    )
    parser.add_argument("--phases", default="query,edit,restart,attribution")
    parser.add_argument("--reuse", action="store_true", help="keep an existing index (no cold index)")
    parser.add_argument("--poll", type=float, default=2.0, help="status poll interval while indexing (s)")
    parser.add_argument("--index-timeout", type=float, default=4 * 3600)
    parser.add_argument("--workdir", default="/tmp/codekin-lsp-bench")
    parser.add_argument("--out", default=str(ROOT / "bench" / "out" / "lsp_latency.json"))
    parser.add_argument("--key", help="the entry of --out to write (default: the symbol count, +'-reuse')")
    parser.add_argument("--probe-store", metavar="SQLITE", help="only time the per-edit store queries on it")
    args = parser.parse_args()
    if args.probe_store:
        print(json.dumps(probe_store(Path(args.probe_store)), indent=2))
        return
    args.key = args.key or f"{args.symbols}" + ("-reuse" if args.reuse else "")
    result = asyncio.run(run(args))
    out = Path(args.out)
    merged: dict[str, Any] = json.loads(out.read_text()) if out.exists() else {}
    merged[args.key] = result
    out.write_text(json.dumps(merged, indent=2) + "\n")
    print(table(result))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
