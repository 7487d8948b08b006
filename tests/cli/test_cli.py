"""The codekin command, in process (fast) and once as the installed console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lsp_server.entry import main
from tests.workspace_fixture import PY_UTILS, make_workspace


@pytest.fixture
def ws(tmp_path: Path) -> tuple[Path, list[str]]:
    root = make_workspace(tmp_path / "ws")
    (root / "src" / "exact_copy.py").write_text(PY_UTILS)
    (root / ".git").mkdir()  # FILE:LINE commands find the workspace root by it
    return root, ["--model", "minilm", "--device", "cpu", "--index-dir", str(tmp_path / "index")]


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict:  # type: ignore[type-arg]
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_index_summary_json(ws, capsys) -> None:  # type: ignore[no-untyped-def]
    root, opts = ws
    first = _json(capsys, ["index", str(root), "--json", *opts])
    assert set(first) == {"files", "units", "embedded", "reused", "seconds", "changed_files"}
    assert first["files"] == 6 and first["embedded"] > 0 and first["changed_files"] == 6
    second = _json(capsys, ["index", str(root), "--json", *opts])
    assert second["embedded"] == 0 and second["units"] == first["units"] and second["changed_files"] == 0


def test_query_commands_json(ws, capsys) -> None:  # type: ignore[no-untyped-def]
    root, opts = ws
    found = _json(
        capsys, ["search", "add up the price of everything in the cart", "--path", str(root), "--json", *opts]
    )
    assert found["model"] == "minilm"
    top = found["results"][0]
    assert set(top) == {"path", "name", "kind", "start_line", "end_line", "score"}
    assert (top["path"], top["name"], top["kind"], top["start_line"]) == (
        "web/cart.js",
        "cartTotal",
        "function",
        2,
    )

    similar = _json(capsys, ["similar", f"{root}/src/copy_of_utils.py:5", "--json", "-k", "3", *opts])
    names = [(r["path"], r["name"]) for r in similar["results"]]
    assert ("src/utils.py", "load_json_config") in names and (
        "src/exact_copy.py",
        "load_json_config",
    ) in names

    docs = _json(capsys, ["docs", f"{root}/src/utils.py:20", "--path", str(root), "--json", "-k", "3", *opts])
    assert docs["results"][0]["name"] == "slugify"

    complete = _json(
        capsys, ["complete", f"{root}/src/copy_of_utils.py:7", "--path", str(root), "--json", *opts]
    )
    after_the_cursor = (
        r["path"] != "src/copy_of_utils.py" or r["start_line"] > 7 for r in complete["results"]
    )
    assert complete["results"] and all(after_the_cursor)
    assert complete["results"][0]["name"] == "load_json_config"


def test_duplicates_clusters_and_exact_marks(ws, capsys) -> None:  # type: ignore[no-untyped-def]
    root, opts = ws
    result = _json(capsys, ["duplicates", str(root), "--json", "--threshold", "0.8", *opts])
    clusters = result["clusters"]
    assert clusters and all(len(c["members"]) >= 2 for c in clusters)
    sizes = [len(c["members"]) for c in clusters]
    assert sizes == sorted(sizes, reverse=True)
    by_name = {frozenset((m["path"], m["name"]) for m in c["members"]): c for c in clusters}
    config = next(c for key, c in by_name.items() if ("src/copy_of_utils.py", "read_settings") in key)
    members = {(m["path"], m["name"]): m for m in config["members"]}
    assert members[("src/utils.py", "load_json_config")]["exact"] is True
    assert members[("src/exact_copy.py", "load_json_config")]["exact"] is True
    assert members[("src/copy_of_utils.py", "read_settings")]["exact"] is False
    # a class and its own method are never a cluster
    assert not any({m["name"] for m in c["members"]} == {"Cache", "Cache.get"} for c in clusters)


def test_text_output_and_errors(ws, capsys) -> None:  # type: ignore[no-untyped-def]
    root, opts = ws
    assert main(["duplicates", str(root), "--threshold", "0.8", *opts]) == 0
    out = capsys.readouterr()
    assert "class 1:" in out.out and "exact" in out.out
    assert "codekin: model minilm on cpu" in out.err
    assert main(["similar", "nowhere.py:3", *opts]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["similar", f"{root}/src/utils.py:zero", *opts]) == 2
    assert main(["similar", f"{root}/src/utils.py:3", "--path", str(root), *opts]) == 1  # an import line
    assert "not inside a function" in capsys.readouterr().err


def test_console_script(ws) -> None:  # type: ignore[no-untyped-def]
    root, opts = ws
    script = Path(sys.executable).parent / "codekin"
    argv = [str(script), "search", "fibonacci", "--path", str(root), "--json", "-k", "1", *opts]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["results"][0]["name"] == "fibonacci"
