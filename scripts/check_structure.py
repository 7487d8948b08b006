"""The size rules of docs/architecture.md, checked in CI: no module over 400 lines, no function over 60.

A function whose body is one data literal (a table) is exempt; so is nothing else. Run from
the repository's root: ``python scripts/check_structure.py [PACKAGE ...]`` (default: lsp_server).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
DATA = (ast.Dict, ast.List, ast.Tuple, ast.Set)


def is_table(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A function that only returns a literal (after its docstring)."""
    body = [node for node in function.body if not _is_docstring(node)]
    return len(body) == 1 and isinstance(body[0], ast.Return) and isinstance(body[0].value, DATA)


def _is_docstring(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def problems_in(path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    found = []
    lines = source.count("\n") + (not source.endswith("\n") and bool(source))
    if lines > MAX_MODULE_LINES:
        found.append(f"{path}: {lines} lines (at most {MAX_MODULE_LINES})")
    for node in ast.walk(ast.parse(source, str(path))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno is not None:
            length = node.end_lineno - node.lineno + 1
            if length > MAX_FUNCTION_LINES and not is_table(node):
                found.append(
                    f"{path}:{node.lineno}: {node.name} is {length} lines (at most {MAX_FUNCTION_LINES})"
                )
    if "# fmt: skip" in source:
        found.append(f"{path}: a '# fmt: skip' marker (let the formatter lay the code out)")
    return found


def main(packages: list[str]) -> int:
    found = [
        problem
        for package in packages
        for path in sorted(Path(package).rglob("*.py"))
        for problem in problems_in(path)
    ]
    for problem in found:
        print(problem, file=sys.stderr)
    if found:
        print(f"check_structure: {len(found)} problem(s)", file=sys.stderr)
        return 1
    print(f"check_structure: {', '.join(packages)}: every module and function within its size")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["lsp_server"]))
