"""A cloned repository's own config files cannot choose the model, its device or where the index goes,
unless the user trusts workspace settings; the user's own config file and command line can."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from lsp_server.config import USER_ONLY, index_name, load_settings, user_config_path

CODEKIN = str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "codekin")

HOSTILE = {
    "model": "./models/evil",
    "device": "cuda:7",
    "batch_tokens": 99999999,
    "index_dir": "/tmp/somewhere-else",
    "trust_workspace_settings": True,
}
"""What a repository's file might try, one key per USER_ONLY setting."""


def _toml(values: dict[str, object]) -> str:
    return "".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items())


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's config folder, empty to begin with (never the developer's own)."""
    home = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    assert user_config_path() == home / "codekin" / "config.toml"
    return home


def _user_config(home: Path, values: dict[str, object]) -> None:
    (home / "codekin").mkdir(parents=True, exist_ok=True)
    (home / "codekin" / "config.toml").write_text(_toml(values))


@pytest.mark.parametrize("file", [".codekin.toml", "pyproject.toml"])
def test_workspace_files_cannot_set_user_only_settings(tmp_path: Path, config_home: Path, file: str) -> None:
    assert set(HOSTILE) == USER_ONLY
    text = _toml({**HOSTILE, "exclude": ["vendor/"], "duplicate_min_lines": 6})
    (tmp_path / file).write_text(text if file == ".codekin.toml" else "[tool.codekin]\n" + text)
    problems: list[str] = []
    settings = load_settings(tmp_path, None, "test", problems)
    assert (settings.model, settings.device, settings.batch_tokens, settings.index_dir) == (
        "auto",
        None,
        None,
        None,
    )
    assert not settings.trust_workspace_settings
    assert settings.exclude == ("vendor/",) and settings.duplicate_min_lines == 6  # the project's to shape
    assert len(problems) == len(HOSTILE) and all(file in problem for problem in problems)
    assert sum("may not choose" in problem for problem in problems) == len(HOSTILE) - 1
    assert sum("only you can trust" in problem for problem in problems) == 1


def test_trust_comes_from_the_user_and_never_from_the_workspace(tmp_path: Path, config_home: Path) -> None:
    (tmp_path / ".codekin.toml").write_text(_toml(HOSTILE))
    by_flag = load_settings(tmp_path, {"trust_workspace_settings": True}, "--trust-workspace-settings")
    assert (by_flag.model, by_flag.index_dir, by_flag.device) == (
        "./models/evil",
        "/tmp/somewhere-else",
        "cuda:7",
    )
    _user_config(config_home, {"trust_workspace_settings": True})
    by_file = load_settings(tmp_path)
    assert by_file.model == "./models/evil" and by_file.trust_workspace_settings
    withdrawn = load_settings(tmp_path, {"trust_workspace_settings": False})  # the command line wins
    assert withdrawn.model == "auto" and withdrawn.index_dir is None


def test_the_users_own_file_sets_them_and_the_command_line_wins(tmp_path: Path, config_home: Path) -> None:
    _user_config(config_home, {"model": "minilm", "index_dir": str(tmp_path / "mine"), "exclude": ["x/"]})
    (tmp_path / ".codekin.toml").write_text(_toml({"model": "./models/evil", "exclude": ["y/"]}))
    settings = load_settings(tmp_path)
    assert (settings.model, settings.index_dir, settings.exclude) == (
        "minilm",
        str(tmp_path / "mine" / index_name(tmp_path)),  # a parent: one folder per workspace
        ("y/",),
    )
    other = tmp_path / "other"
    other.mkdir()
    assert load_settings(other).index_dir == str(tmp_path / "mine" / index_name(other))
    assert load_settings(tmp_path, {"model": "jina-code-0.5b"}).model == "jina-code-0.5b"


def _codekin(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CODEKIN, *args], env=env, capture_output=True, text=True, timeout=600, check=False)


def test_the_cli_ignores_a_repositorys_model_and_index_dir_unless_trusted(tmp_path: Path) -> None:
    root = tmp_path / "cloned"
    root.mkdir()
    (root / "a.py").write_text("def f(x):\n    return x + 1\n")
    evil_model, evil_index = tmp_path / "evil-model", tmp_path / "evil-index"
    (root / ".codekin.toml").write_text(_toml({"model": str(evil_model), "index_dir": str(evil_index)}))
    home = tmp_path / "config"
    _user_config(home, {"model": "minilm"})
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "XDG_CONFIG_HOME": str(home)}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    done = _codekin("index", str(root), "--device", "cpu", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["files"] == 1 and "model minilm on cpu" in done.stderr
    assert "'model' ignored" in done.stderr and "'index_dir' ignored" in done.stderr
    assert not evil_index.exists() and (tmp_path / "cache" / "codekin" / "workspaces").is_dir()
    trusted = _codekin("index", str(root), "--device", "cpu", "--json", "--trust-workspace-settings", env=env)
    assert trusted.returncode == 1 and str(evil_model) in trusted.stderr  # the repository's model, tried
    trusted = _codekin(
        "index", str(root), "--model", "minilm", "--device", "cpu", "--trust-workspace-settings", env=env
    )
    assert trusted.returncode == 0 and (evil_index / "index.sqlite3").is_file(), trusted.stderr
