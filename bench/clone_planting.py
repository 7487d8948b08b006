"""Planted clones in real code: a workspace and its ground truth, for ``bench/clones_vs_jscpd.py``.

The background is real code, written untouched: a seeded sample of the Python standard library
(``sysconfig.get_path("stdlib")`` minus site-packages and the test suites) and the HumanEval-X
solutions of ``../shared/data/code2code_humanevalx_flat.jsonl`` (Python, Java, Go, JavaScript and
C++; Go files get a ``package`` line). From it the generator picks functions of at least 6 lines
and 40 tokens (seeded), leaving out any whose renamed token stream occurs twice in the background
(a copy of it would have more than one true partner), and writes one planted copy per file under
``planted/<language>/``, per language and per kind:

- ``exact`` (Type-1): the same tokens, laid out differently: existing comments rewritten, comments
  added (own line and trailing), a line re-wrapped after a comma inside brackets, blank lines
  added, the indentation changed (halved in Python; tabs or two spaces elsewhere);
- ``renamed`` (Type-2): every local identifier and parameter renamed consistently (found with
  tree-sitter: declared names only, never attributes, fields, keyword-argument names or
  ``self``) and some literals changed (numbers, words in strings, characters);
- ``near-miss`` (Type-3): a Type-2 copy with one statement added, removed or changed.

Every copy is checked: it parses without error (and compiles, for Python), and its token stream
(``lsp_server/units/tokens.py``) is what its kind promises. The ground truth (``truth.json``) lists
each planted pair: the original's file and lines, the copy's file and lines, kind, language, and
for HumanEval-X originals the task (the same task in another language is a true semantic clone).

    python bench/clone_planting.py --out bench/out/clones [--seed 7] [--per-kind 20] [--stdlib-files 60]
"""

from __future__ import annotations

import argparse
import difflib
import json
import random
import re
import shutil
import sys
import sysconfig
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tree_sitter import Node  # noqa: E402

from lsp_server.units.extract import extract  # noqa: E402
from lsp_server.units.languages import get_parser  # noqa: E402
from lsp_server.units.tokens import Token, source_tokens  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
HUMANEVALX = DATA / "code2code_humanevalx_flat.jsonl"
EXCLUDE_DIRS = frozenset({"site-packages", "test", "tests", "idle_test", "__pycache__"})
KINDS = ("exact", "renamed", "near-miss")
LANGUAGES = ("python", "java", "go", "javascript", "cpp")
EXTENSIONS = {"python": ".py", "java": ".java", "go": ".go", "javascript": ".js", "cpp": ".cpp"}
HUMANEVALX_LANGS = {"python": "python", "java": "java", "go": "go", "js": "javascript", "cpp": "cpp"}
MIN_LINES, MIN_TOKENS, MAX_LINES = 6, 40, 60
NEAR_MISS_RATIO = 0.8
"""The least token alignment (difflib ratio of renamed streams) of a near-miss copy and its original."""


@dataclass(frozen=True, slots=True)
class Unit:
    """A function of the background: where it is and its text (whole lines)."""

    language: str
    path: str
    name: str
    start_line: int
    end_line: int
    lines: tuple[str, ...]
    task: str | None = None

    @property
    def indent(self) -> int:
        first = self.lines[0]
        return len(first) - len(first.lstrip(" "))


@dataclass(slots=True)
class Workspace:
    files: dict[str, str] = field(default_factory=dict)
    tasks: dict[str, str] = field(default_factory=dict)


def stdlib_files(rng: random.Random, count: int) -> dict[str, str]:
    """``count`` standard-library modules (seeded), by path relative to the workspace."""
    stdlib = Path(sysconfig.get_path("stdlib"))
    paths = sorted(
        p
        for p in stdlib.rglob("*.py")
        if not EXCLUDE_DIRS.intersection(p.relative_to(stdlib).parts) and p.stat().st_size < 150_000
    )
    chosen: dict[str, str] = {}
    for path in rng.sample(paths, min(count, len(paths))):
        try:
            chosen[f"stdlib/{path.relative_to(stdlib).as_posix()}"] = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
    return dict(sorted(chosen.items()))


def humanevalx_files(languages: tuple[str, ...]) -> Workspace:
    """One file per HumanEval-X solution of the chosen languages."""
    found = Workspace()
    with HUMANEVALX.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            language = HUMANEVALX_LANGS.get(record["lang"])
            if language not in languages:
                continue
            number = record["task"].split("/")[1]
            path = f"humanevalx/{language}/HumanEval_{number}{EXTENSIONS[language]}"
            code = record["code"].rstrip() + "\n"
            found.files[path] = f"package humaneval\n\n{code}" if language == "go" else code
            found.tasks[path] = record["task"]
    return found


def background_units(workspace: Workspace) -> list[Unit]:
    """Every function or method of the background that is long enough to plant."""
    units: list[Unit] = []
    for path, text in workspace.files.items():
        extracted = extract(path, text.encode("utf-8"))
        if extracted is None or not parses(extracted.language, text):
            continue
        lines = text.split("\n")
        for symbol in extracted.symbols:
            length = symbol.end_line - symbol.start_line + 1
            if symbol.kind not in ("function", "method") or not MIN_LINES <= length <= MAX_LINES:
                continue
            body = tuple(lines[symbol.start_line - 1 : symbol.end_line])
            unit = Unit(
                extracted.language,
                path,
                symbol.name,
                symbol.start_line,
                symbol.end_line,
                body,
                workspace.tasks.get(path),
            )
            if _plantable(unit):
                units.append(unit)
    return units


def _plantable(unit: Unit) -> bool:
    if unit.language == "python" and (unit.indent not in (0, 4) or any("\t" in x for x in unit.lines)):
        return False
    try:
        return len(unit_tokens(unit.language, "\n".join(unit.lines))) >= MIN_TOKENS
    except PlantError:
        return False


def without_repeats(units: list[Unit]) -> list[Unit]:
    """Leave out units whose renamed stream occurs more than once: their copies' partners are many."""

    def key(unit: Unit) -> tuple[str, ...]:
        return tuple(t.renamed for t in unit_tokens(unit.language, "\n".join(unit.lines)))

    counts = Counter(key(unit) for unit in units)
    return [unit for unit in units if counts[key(unit)] == 1]


def wrap(unit: Unit, serial: int) -> tuple[str, int]:
    """The copy file's text (the unit as it stands, in a wrapper where the language needs one)
    and the 0-based row where the unit starts in it."""
    body = "\n".join(unit.lines)
    if unit.language == "java" or (unit.language == "python" and unit.indent > 0):
        head = f"class Planted{serial}:\n" if unit.language == "python" else f"class Planted{serial} {{\n"
        tail = "\n" if unit.language == "python" else "\n}\n"
        return head + body + tail, 1
    if unit.language == "go":
        return f"package planted\n\n{body}\n", 2
    return body + "\n", 0


def make_copy(unit: Unit, kind: str, serial: int, rng: random.Random) -> tuple[str, tuple[int, int], Any]:
    """The copy file's text, the unit's 0-based rows in it, and the edit of a near-miss copy."""
    text, start = wrap(unit, serial)
    rows = (start, start + len(unit.lines) - 1)
    if kind == "exact":
        text, rows = reformat(unit.language, text, rows, rng)
        return text, rows, None
    text, renames = rename(unit.language, text, rows, rng)
    if kind == "renamed":
        return text, rows, {"renames": renames}
    text, rows, edit = edit_statement(unit.language, text, rows, rng)
    return text, rows, {"renames": renames, **edit}


def plant(
    dest: Path, seed: int, per_kind: int, stdlib_count: int, languages: tuple[str, ...] = LANGUAGES
) -> dict[str, Any]:
    """Write the workspace under ``dest/workspace`` and its ground truth to ``dest/truth.json``."""
    rng = random.Random(seed)
    workspace = humanevalx_files(languages)
    if "python" in languages:
        workspace.files.update(stdlib_files(rng, stdlib_count))
    pools: dict[str, list[Unit]] = {language: [] for language in languages}
    for unit in without_repeats(background_units(workspace)):
        pools[unit.language].append(unit)
    pairs: list[dict[str, Any]] = []
    for language in languages:
        pairs.extend(_plant_language(workspace, pools[language], language, per_kind, rng))
    root = dest / "workspace"
    if root.exists():
        shutil.rmtree(root)
    for path, text in workspace.files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    truth = {"seed": seed, "per_kind": per_kind, "languages": list(languages), "pairs": pairs}
    truth["tasks"] = workspace.tasks
    (dest / "truth.json").write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    return truth


def _plant_language(
    workspace: Workspace, pool: list[Unit], language: str, per_kind: int, rng: random.Random
) -> list[dict[str, Any]]:
    """``per_kind`` copies of each kind, each of a different original."""
    order = list(pool)
    rng.shuffle(order)
    pairs: list[dict[str, Any]] = []
    for kind in KINDS:
        made = 0
        while made < per_kind and order:
            unit = order.pop()
            serial = len(pairs) + 1
            try:
                text, rows, edit = make_copy(unit, kind, serial, rng)
            except PlantError:
                continue
            path = f"planted/{language}/{kind}_{serial:03d}{EXTENSIONS[language]}"
            workspace.files[path] = text
            if unit.task is not None:
                workspace.tasks[path] = unit.task
            pairs.append(_pair(unit, kind, path, rows, edit, serial))
            made += 1
    return pairs


def _pair(unit: Unit, kind: str, path: str, rows: tuple[int, int], edit: Any, serial: int) -> dict[str, Any]:
    original = {k: v for k, v in asdict(unit).items() if k in ("path", "name", "start_line", "end_line")}
    return {
        "id": f"{unit.language}-{kind}-{serial:03d}",
        "kind": kind,
        "language": unit.language,
        "task": unit.task,
        "original": original,
        "copy": {"path": path, "start_line": rows[0] + 1, "end_line": rows[1] + 1},
        "edit": edit,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "clones")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--per-kind", type=int, default=20, help="copies per language and kind")
    parser.add_argument("--stdlib-files", type=int, default=60, help="standard-library modules sampled")
    parser.add_argument("--languages", default=",".join(LANGUAGES))
    args = parser.parse_args()
    languages = tuple(x for x in args.languages.split(",") if x)
    truth = plant(args.out, args.seed, args.per_kind, args.stdlib_files, languages)
    counts = Counter((p["language"], p["kind"]) for p in truth["pairs"])
    for (language, kind), n in sorted(counts.items()):
        print(f"{language:<11} {kind:<10} {n}")
    print(f"workspace: {args.out / 'workspace'}  truth: {args.out / 'truth.json'}")


# --- the edits: tree-sitter and tokens, in bytes -------------------------------------------------

PHRASES = (
    "keep the running state up to date",
    "NOTE: the order matters here",
    "TODO: handle the empty case",
    "check the bounds first",
    "fall back to the default",
    "the common case comes first",
    "copied from the original implementation",
    "see the caller for the contract",
)
WORDS = (
    "item",
    "value",
    "entry",
    "node",
    "total",
    "count",
    "index",
    "result",
    "buffer",
    "current",
    "part",
    "chunk",
    "token",
    "record",
    "limit",
    "offset",
    "key",
    "data",
    "elem",
    "flag",
    "state",
    "step",
    "size",
    "word",
    "pair",
    "head",
    "tail",
    "source",
    "target",
    "probe",
)
SNAKE = frozenset({"python", "cpp"})
COMMENT = {"python": "#"}
STRINGY = ("string", "template", "text_block", "heredoc")
KEEP_NAMES = frozenset({"self", "cls", "this", "_", "super"})
SKIP_FIELDS = frozenset(
    {"type", "value", "right", "default", "size", "arguments", "body", "function", "object"}
    | {"attribute", "field", "index", "operator", "condition", "parameters", "alternative"}
)
STOP_KINDS = frozenset(
    {"attribute", "subscript", "call", "member_expression", "subscript_expression"}
    | {"field_expression", "selector_expression", "index_expression", "call_expression"}
    | {"keyword_argument", "lambda", "qualified_identifier"}
)
DECLARATIONS: dict[str, dict[str, tuple[str, ...] | None]] = {
    "python": {
        "parameters": None,
        "lambda_parameters": None,
        "assignment": ("left",),
        "augmented_assignment": ("left",),
        "for_statement": ("left",),
        "for_in_clause": ("left",),
        "as_pattern": ("alias",),
        "named_expression": ("name",),
    },
    "java": {
        "formal_parameter": ("name",),
        "variable_declarator": ("name",),
        "enhanced_for_statement": ("name",),
        "catch_formal_parameter": ("name",),
        "inferred_parameters": None,
    },
    "go": {
        "parameter_declaration": ("name",),
        "variadic_parameter_declaration": ("name",),
        "short_var_declaration": ("left",),
        "var_spec": ("name",),
        "const_spec": ("name",),
        "range_clause": ("left",),
    },
    "javascript": {
        "formal_parameters": None,
        "variable_declarator": ("name",),
        "arrow_function": ("parameter",),
        "for_in_statement": ("left",),
        "catch_clause": ("parameter",),
    },
    "cpp": {
        "parameter_declaration": ("declarator",),
        "init_declarator": ("declarator",),
        "declaration": ("declarator",),
        "for_range_loop": ("declarator",),
    },
}
EXCLUDED_PLACES = frozenset(
    {("keyword_argument", "name"), ("attribute", "attribute"), ("field_access", "field")}
    | {("method_invocation", "name")}
)
PARAMETER_LISTS = frozenset({"parameters", "formal_parameters", "parameter_list"})
BLOCKS = frozenset(
    {"block", "statement_block", "statement_list", "compound_statement", "switch_block_statement_group"}
)
NOT_STATEMENTS = frozenset({"compound_statement", "empty_statement", "labeled_statement"})
DECLARING = frozenset({"local_variable_declaration", "short_var_declaration", "declaration"})
EXTRA_STATEMENTS = DECLARING | {"lexical_declaration", "variable_declaration", "var_declaration"}
TEMPLATES = {
    "python": ("print({v})", "assert {v} is not None"),
    "java": ("System.out.println({v});", "Objects.requireNonNull({v});"),
    "go": ("_ = {v}", "log.Println({v})"),
    "javascript": ("console.log({v});", "console.assert({v} !== undefined);"),
    "cpp": ("(void){v};", "assert(&{v} != nullptr);"),
}
NO_PARAMETER = {
    "python": "print('checkpoint')",
    "java": 'System.out.println("checkpoint");',
    "go": 'log.Println("checkpoint")',
    "javascript": 'console.log("checkpoint");',
    "cpp": 'std::cerr << "checkpoint" << std::endl;',
}
OPERATORS = {
    "+": "-",
    "-": "+",
    "<": "<=",
    "<=": "<",
    ">": ">=",
    ">=": ">",
    "==": "!=",
    "!=": "==",
    "+=": "-=",
    "-=": "+=",
    "&&": "||",
    "||": "&&",
    "and": "or",
    "or": "and",
    "*": "+",
}
Rows = tuple[int, int]


class PlantError(Exception):
    """This unit cannot be planted as this kind (the copy would not parse or keep its promise)."""


def parse(language: str, text: str) -> Node:
    return get_parser(language).parse(text.encode("utf-8")).root_node


def parses(language: str, text: str) -> bool:
    """Parses without an error node (and, for Python, compiles)."""
    if parse(language, text).has_error:
        return False
    if language == "python":
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                compile(text, "<planted>", "exec", dont_inherit=True)
            except (SyntaxError, ValueError):
                return False
    return True


def unit_tokens(language: str, text: str, rows: Rows | None = None) -> list[Token]:
    """The tokens of ``text`` (on 0-based ``rows`` only, when given)."""
    try:
        tokens = source_tokens(language, text.encode("utf-8"))
    except IndexError as error:  # tokens.py meets an ERROR node (kind id 65535)
        raise PlantError(f"tokenizing failed: {error}") from error
    if rows is None:
        return tokens
    return [t for t in tokens if rows[0] <= t.line <= rows[1]]


def exact_stream(language: str, text: str, rows: Rows) -> list[str]:
    return [t.text for t in unit_tokens(language, text, rows)]


def renamed_stream(language: str, text: str, rows: Rows) -> list[str]:
    return [t.renamed for t in unit_tokens(language, text, rows)]


def nodes_in(root: Node, rows: Rows) -> list[Node]:
    """Every node that starts on ``rows``, in document order (and the ones around them)."""
    found: list[Node] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.end_point[0] < rows[0] or node.start_point[0] > rows[1]:
            continue
        if node.start_point[0] >= rows[0]:
            found.append(node)
        stack.extend(reversed(node.children))
    return found


def splice(src: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    for start, end, new in sorted(edits, reverse=True):
        src = src[:start] + new + src[end:]
    return src


# --- Type-1: layout and comments --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Layout:
    lines: list[bytes]
    inside: frozenset[int]
    """Rows that start inside a multi-line token (a string): their indentation is its content."""
    joined: frozenset[int]
    """Rows that must not be followed by a new line: a token or a backslash continues."""


def layout(language: str, text: str) -> Layout:
    inside: set[int] = set()
    joined: set[int] = set()
    stack = [parse(language, text)]
    while stack:
        node = stack.pop()
        first, last = node.start_point[0], node.end_point[0]
        if first == last or "comment" in node.type:
            continue
        if node.child_count == 0 or any(word in node.type for word in STRINGY):
            inside.update(range(first + 1, last + 1))
            joined.update(range(first, last))
            continue
        stack.extend(node.children)
    lines = text.encode("utf-8").split(b"\n")
    joined.update(row for row, line in enumerate(lines) if line.rstrip().endswith(b"\\"))
    return Layout(lines, frozenset(inside), frozenset(joined))


def _marker(language: str) -> bytes:
    return COMMENT.get(language, "//").encode()


def _indent(line: bytes) -> bytes:
    return line[: len(line) - len(line.lstrip())]


def _join(lines: list[bytes]) -> str:
    return b"\n".join(lines).decode("utf-8")


def recomment(language: str, text: str, rows: Rows, rng: random.Random) -> tuple[str, Rows]:
    """Rewrite the unit's one-line comments."""
    marker = _marker(language)
    edits = []
    for node in nodes_in(parse(language, text), rows):
        body = node.text or b""
        one_line = "comment" in node.type and node.start_point[0] == node.end_point[0]
        special = body.startswith((b"#!", b"//go:", b"# type:", b"# noqa"))
        if one_line and body.startswith(marker) and not special:
            edits.append((node.start_byte, node.end_byte, marker + b" " + rng.choice(PHRASES).encode()))
    return splice(text.encode("utf-8"), edits).decode("utf-8"), rows


def add_comments(language: str, text: str, rows: Rows, rng: random.Random) -> tuple[str, Rows]:
    """One or two comments on lines of their own, indented as the line they precede."""
    for _ in range(rng.randint(1, 2)):
        shape = layout(language, text)
        free = [
            r
            for r in range(rows[0] + 1, rows[1] + 1)
            if r - 1 not in shape.joined and r not in shape.inside and shape.lines[r].strip()
        ]
        if not free:
            break
        row = rng.choice(free)
        comment = _indent(shape.lines[row]) + _marker(language) + b" " + rng.choice(PHRASES).encode()
        text = _join([*shape.lines[:row], comment, *shape.lines[row:]])
        rows = (rows[0], rows[1] + 1)
    return text, rows


def trailing_comment(language: str, text: str, rows: Rows, rng: random.Random) -> tuple[str, Rows]:
    shape = layout(language, text)
    free = [r for r in range(rows[0], rows[1] + 1) if r not in shape.joined and shape.lines[r].strip()]
    lines = list(shape.lines)
    for row in rng.sample(free, min(2, len(free))):
        lines[row] = lines[row].rstrip() + b"  " + _marker(language) + b" " + rng.choice(PHRASES).encode()
    return _join(lines), rows


def rewrap(language: str, text: str, rows: Rows, rng: random.Random) -> tuple[str, Rows]:
    """Break one line after a comma inside parentheses or brackets."""
    tokens = unit_tokens(language, text, rows)
    brackets: list[str] = []
    commas: list[Token] = []
    for token, after in zip(tokens, [*tokens[1:], None], strict=True):
        if token.category == "other" and token.text in ("(", "[", "{"):
            brackets.append(token.text)
        elif token.category == "other" and token.text in (")", "]", "}") and brackets:
            brackets.pop()
        elif token.text == "," and brackets and brackets[-1] in "([" and after and after.line == token.line:
            commas.append(token)
    if not commas:
        return text, rows
    comma = rng.choice(commas)
    src = text.encode("utf-8")
    line = src.split(b"\n")[comma.line]
    rest = src[comma.offset + 1 :]
    new = src[: comma.offset + 1] + b"\n" + _indent(line) + b" " * 8 + rest.lstrip(b" ")
    return new.decode("utf-8"), (rows[0], rows[1] + 1)


def blank_lines(language: str, text: str, rows: Rows, rng: random.Random) -> tuple[str, Rows]:
    for _ in range(rng.randint(1, 3)):
        shape = layout(language, text)
        free = [r for r in range(rows[0], rows[1]) if r not in shape.joined]
        if not free:
            break
        row = rng.choice(free)
        text = _join([*shape.lines[: row + 1], b"", *shape.lines[row + 1 :]])
        rows = (rows[0], rows[1] + 1)
    return text, rows


def reindent(language: str, text: str, rows: Rows, rng: random.Random) -> tuple[str, Rows]:
    """Halve Python's indentation; tabs or two spaces elsewhere."""
    shape = layout(language, text)
    tabs = language != "python" and rng.random() < 0.5
    lines = list(shape.lines)
    for row in range(rows[0], rows[1] + 1):
        line = lines[row]
        width = len(line) - len(line.lstrip(b" "))
        if row in shape.inside or not line.strip() or line[width:].startswith(b"\t"):
            continue
        indent = b"\t" * (width // 4) + b" " * (width % 4) if tabs else b" " * (width // 2)
        lines[row] = indent + line[width:]
    return _join(lines), rows


def reformat(language: str, text: str, rows: Rows, rng: random.Random) -> tuple[str, Rows]:
    """A Type-1 copy: the same tokens, other layout and comments."""
    before = exact_stream(language, text, rows)
    steps = [recomment, add_comments]
    steps += [op for op, p in ((trailing_comment, 0.5), (rewrap, 0.6)) if rng.random() < p]
    steps += [blank_lines] + ([reindent] if rng.random() < 0.7 else [])
    new, new_rows = text, rows
    for step in steps:
        new, new_rows = step(language, new, new_rows, rng)
    if not parses(language, new) or exact_stream(language, new, new_rows) != before:
        raise PlantError("reformatting changed the tokens")
    return new, new_rows


# --- Type-2: consistent renaming, other literals ----------------------------------------------


def _collect(node: Node, out: set[str]) -> None:
    """The names a declaration's target binds (patterns followed, values and types not)."""
    if node.type == "identifier":
        out.add((node.text or b"").decode())
        return
    if node.type in STOP_KINDS:
        return
    for index, child in enumerate(node.children):
        if node.field_name_for_child(index) not in SKIP_FIELDS:
            _collect(child, out)


def declared_names(language: str, root: Node, rows: Rows) -> set[str]:
    """Parameters and local variables declared in the unit."""
    table = DECLARATIONS[language]
    names: set[str] = set()
    kept: set[str] = set(KEEP_NAMES)
    for node in nodes_in(root, rows):
        if node.type in ("global_statement", "nonlocal_statement"):
            kept.update((c.text or b"").decode() for c in node.named_children)
        if node.type not in table:
            continue
        fields = table[node.type]
        if fields is None:
            targets = node.named_children
        else:
            targets = [child for name in fields for child in node.children_by_field_name(name)]
        for target in targets:
            _collect(target, names)
    return names - kept


def _fresh(language: str, taken: set[str], rng: random.Random) -> str:
    while True:
        first, second = rng.sample(WORDS, 2)
        name = f"{first}_{second}" if language in SNAKE else first + second.capitalize()
        if name not in taken:
            taken.add(name)
            return name


def new_literal(language: str, text: str, rng: random.Random) -> str | None:
    """Another value of the same type for a literal token, or None where that is not simple."""
    if re.fullmatch(r"0|[1-9][0-9]*", text):
        return str(int(text) + rng.randint(1, 9))
    if re.fullmatch(r"[0-9]+\.[0-9]+", text):
        whole, fraction = text.split(".")
        return f"{int(whole) + rng.randint(1, 9)}.{fraction}"
    match = re.fullmatch(r"([A-Za-z]{0,3})(\"\"\"|'''|\"|'|`)(.*)\2", text, re.S)
    if match is None or "f" in match[1].lower() or "${" in match[3]:
        return None
    prefix, quote, body = match.groups()
    if quote == "'" and language in ("java", "cpp", "go"):
        letter = rng.choice([c for c in "abcdefghkmnpqrstuvwxyz" if c != body])
        return f"{prefix}'{letter}'"
    words = list(re.finditer(r"(?<![\\A-Za-z])[A-Za-z]{3,}(?![A-Za-z])", body))
    if not words:
        return f"{prefix}{quote}{body}x{quote}"
    word = rng.choice(words)
    other = rng.choice([w for w in WORDS if w != word[0]])
    return f"{prefix}{quote}{body[: word.start()]}{other}{body[word.end() :]}{quote}"


def _name_edits(
    language: str, root: Node, rows: Rows, rng: random.Random
) -> tuple[list[tuple[int, int, bytes]], dict[str, str]]:
    names = declared_names(language, root, rows)
    nodes = nodes_in(root, rows)
    taken = {(n.text or b"").decode() for n in nodes if n.child_count == 0}
    renames = {name: _fresh(language, taken, rng) for name in sorted(names)}
    edits = []
    for node in nodes:
        name = (node.text or b"").decode() if node.type == "identifier" else None
        if name not in renames or node.parent is None:
            continue
        place = node.parent.type, node.parent.field_name_for_child(_child_index(node))
        if place not in EXCLUDED_PLACES:
            edits.append((node.start_byte, node.end_byte, renames[name].encode()))
    return edits, renames


def _child_index(node: Node) -> int:
    parent = node.parent
    assert parent is not None
    return next(i for i, child in enumerate(parent.children) if child.start_byte == node.start_byte)


def rename(language: str, text: str, rows: Rows, rng: random.Random) -> tuple[str, dict[str, str]]:
    """A Type-2 copy: locals and parameters renamed consistently, some literals changed."""
    root = parse(language, text)
    edits, renames = _name_edits(language, root, rows, rng)
    if not edits:
        raise PlantError("nothing to rename")
    touched = [start for start, _, _ in edits]
    literals = []
    for token in unit_tokens(language, text, rows):
        end = token.offset + len(token.text.encode("utf-8"))
        new = new_literal(language, token.text, rng) if token.category == "literal" else None
        if new is not None and not any(token.offset <= at < end for at in touched):
            literals.append((token.offset, end, new.encode("utf-8")))
    chosen = [edit for edit in literals if rng.random() < 0.35] or literals[:1]
    new_text = splice(text.encode("utf-8"), edits + chosen).decode("utf-8")
    if not parses(language, new_text):
        raise PlantError("the renamed copy does not parse")
    if renamed_stream(language, new_text, rows) != renamed_stream(language, text, rows):
        raise PlantError("renaming changed the token structure")
    return new_text, renames


# --- Type-3: one statement added, removed or changed --------------------------------------------


def _is_statement(node: Node) -> bool:
    if node.type in NOT_STATEMENTS:
        return False
    if not (node.type.endswith("_statement") or node.type in EXTRA_STATEMENTS):
        return False
    docstring = node.type == "expression_statement" and [c.type for c in node.named_children] == ["string"]
    return not docstring


def statements(language: str, text: str, rows: Rows) -> list[Node]:
    """Statements of the unit's body that stand first on their line, directly in a block."""
    lines = text.encode("utf-8").split(b"\n")
    found = []
    for node in nodes_in(parse(language, text), rows):
        row, column = node.start_point
        if row <= rows[0] or node.end_point[0] > rows[1] or not _is_statement(node):
            continue
        if node.parent is not None and node.parent.type in BLOCKS and not lines[row][:column].strip():
            found.append(node)
    return found


def _one_line(node: Node, lines: list[bytes]) -> bool:
    row = node.start_point[0]
    return row == node.end_point[0] and not lines[row][node.end_point[1] :].strip()


def _removal(language: str, text: str, rows: Rows, rng: random.Random) -> list[tuple[str, Rows, Any]]:
    lines = text.encode("utf-8").split(b"\n")
    found = []
    for node in statements(language, text, rows):
        parent = node.parent
        siblings = [c for c in parent.named_children if "comment" not in c.type] if parent else []
        if _one_line(node, lines) and len(siblings) >= 2:
            row = node.start_point[0]
            new = _join([*lines[:row], *lines[row + 1 :]])
            edit = {"op": "remove", "original_line": row - rows[0] + 1, "text": lines[row].strip().decode()}
            plain = node.type not in DECLARING and node.type != "return_statement"
            found.append((new, (rows[0], rows[1] - 1), edit, plain))
    found.sort(key=lambda item: not item[3])
    preferred = [item[:3] for item in found if item[3]] or [item[:3] for item in found]
    rng.shuffle(preferred)
    return preferred


def _parameters(language: str, text: str, rows: Rows) -> list[str]:
    names: set[str] = set()
    for node in nodes_in(parse(language, text), rows):
        if node.type in PARAMETER_LISTS:
            _collect(node, names)
            break
    return sorted(names - KEEP_NAMES)


def _addition(language: str, text: str, rows: Rows, rng: random.Random) -> list[tuple[str, Rows, Any]]:
    lines = text.encode("utf-8").split(b"\n")
    parameters = _parameters(language, text, rows)
    found = []
    for node in statements(language, text, rows):
        row = node.start_point[0]
        if parameters:
            line = rng.choice(TEMPLATES[language]).format(v=rng.choice(parameters))
        else:
            line = NO_PARAMETER[language]
        new = _join([*lines[:row], _indent(lines[row]) + line.encode(), *lines[row:]])
        found.append(
            (new, (rows[0], rows[1] + 1), {"op": "add", "copy_line": row - rows[0] + 1, "text": line})
        )
    rng.shuffle(found)
    return found


def _change(language: str, text: str, rows: Rows, rng: random.Random) -> list[tuple[str, Rows, Any]]:
    src = text.encode("utf-8")
    lines = src.split(b"\n")
    tokens = unit_tokens(language, text, rows)
    found = []
    for node in statements(language, text, rows):
        if not _one_line(node, lines):
            continue
        row = node.start_point[0]
        for token in tokens:
            if token.line == row and token.category == "other" and token.text in OPERATORS:
                end = token.offset + len(token.text)
                new = splice(src, [(token.offset, end, OPERATORS[token.text].encode())]).decode("utf-8")
                edit = {"op": "change", "line": row - rows[0] + 1, "from": token.text}
                found.append((new, rows, {**edit, "to": OPERATORS[token.text]}))
    rng.shuffle(found)
    return found


def _similar(before: list[str], after: list[str]) -> bool:
    """A near miss, not a rewrite: the statement edited is a small part of the unit."""
    return difflib.SequenceMatcher(None, before, after, autojunk=False).ratio() >= NEAR_MISS_RATIO


def edit_statement(language: str, text: str, rows: Rows, rng: random.Random) -> tuple[str, Rows, Any]:
    """A Type-3 copy of a Type-2 copy: one statement added, removed or changed (the first kind of
    edit, in a seeded order, that has a place in the unit and leaves it parseable)."""
    before = renamed_stream(language, text, rows)
    kinds = [_addition, _removal, _change]
    rng.shuffle(kinds)
    for kind in kinds:
        for new, new_rows, edit in kind(language, text, rows, rng)[:8]:
            if not parses(language, new):
                continue
            after = renamed_stream(language, new, new_rows)
            if after != before and _similar(before, after):
                return new, new_rows, edit
    raise PlantError("no statement to add, remove or change")


if __name__ == "__main__":
    main()
