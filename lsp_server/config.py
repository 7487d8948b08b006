"""Settings: defaults < the user's own config file < the workspace's files < explicit overrides.

The user's file is ``config.toml`` in the user config folder (``~/.config/codekin/config.toml`` on
Linux, through platformdirs); the workspace's are ``[tool.codekin]`` in its ``pyproject.toml`` and its
``.codekin.toml``. A cloned repository's files are the repository author's word, not the user's: they
shape what is indexed, but the settings that choose what runs and where files are written
(``USER_ONLY``: the model, its device and batch size, the index folder) are taken from them only when
the user trusts workspace settings (``trust_workspace_settings``, which no workspace file can set);
otherwise each is ignored with a warning. The language server (next layer) adds initializationOptions
and ``workspace/configuration`` on top as overrides, through the same ``Settings.merged``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tomllib
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import platformdirs

log = logging.getLogger(__name__)

SPACES: tuple[str, ...] = ("code", "docs", "completions")

DEFAULT_EXCLUDES: tuple[str, ...] = (
    ".git/",
    ".hg/",
    ".svn/",
    "node_modules/",
    "__pycache__/",
    ".venv/",
    "venv/",
    ".tox/",
    ".mypy_cache/",
    ".pytest_cache/",
    "*.min.js",
    "*.min.css",
    "*_pb2.py",
    "*.pb.go",
)


@dataclass(frozen=True)
class Settings:
    """Everything a user can set; each field documents its unit."""

    model: str = "auto"
    """A profile name (minilm, jina-code-0.5b, ...), ``auto``, a local folder or a hub id."""
    device: str | None = None
    """``cpu``, ``cuda``, ``cuda:1``; None picks a GPU when there is one."""
    dim: int | None = None
    """Matryoshka dimension for the ANN indexes; None means the model's full dimension."""
    spaces: tuple[str, ...] = SPACES
    """Which spaces ``codekin index`` builds; a query command builds the one it needs."""
    include: tuple[str, ...] = ()
    """gitignore-style patterns; when set, only matching files are indexed."""
    exclude: tuple[str, ...] = ()
    """gitignore-style patterns added to .gitignore, .codekinignore and the defaults."""
    max_file_bytes: int = 1_000_000
    """Files larger than this are skipped (logged), never read whole."""
    follow_symlinks: bool = True
    """Follow symlinked files and folders; loops and links out of the workspace are never followed."""
    duplicate_threshold: float | None = None
    """Least cosine for a semantic clone; None takes the model's calibrated threshold (its profile)."""
    duplicate_min_lines: int = 4
    """Symbols shorter than this are left out of duplicate detection (getters, one-liners)."""
    batch_tokens: int | None = None
    """Token budget of one embedding batch; None lets the embedder pick for its device."""
    index_dir: str | None = None
    """Where the index lives; None means the user cache directory, keyed by workspace."""
    trust_workspace_settings: bool = False
    """Take ``USER_ONLY`` settings from the workspace's own files too; only the user can set this."""

    def merged(self, values: dict[str, Any], source: str, problems: list[str] | None = None) -> Settings:
        """A copy with ``values`` applied; unknown keys and wrong types are logged and ignored.

        Each problem is also appended to ``problems``, for front ends that show them."""
        known = {f.name: f for f in fields(self)}
        changes: dict[str, Any] = {}
        for raw_key, value in values.items():
            key = raw_key.replace("-", "_")
            if key not in known:
                problem = f"{source}: unknown setting {raw_key!r} ignored"
            else:
                try:
                    changes[key] = _coerce(key, value, getattr(self, key))
                    continue
                except (TypeError, ValueError) as exc:
                    problem = f"{source}: setting {raw_key!r} ignored: {exc}"
            log.warning("%s", problem)
            if problems is not None:
                problems.append(problem)
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _coerce(key: str, value: Any, default: Any) -> Any:
    if key in ("spaces", "include", "exclude"):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise TypeError("expected a list of strings")
        if key == "spaces" and (unknown := set(value) - set(SPACES)):
            raise ValueError(f"unknown spaces {sorted(unknown)}; expected some of {list(SPACES)}")
        return tuple(value)
    if key in ("device", "dim", "batch_tokens", "index_dir", "duplicate_threshold") and value is None:
        return None
    if key in ("dim", "batch_tokens", "max_file_bytes", "duplicate_min_lines"):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError("expected a positive integer")
        return value
    if key == "duplicate_threshold":
        if isinstance(value, bool) or not isinstance(value, int | float) or not -1.0 <= value <= 1.0:
            raise ValueError("expected a number between -1 and 1")
        return float(value)
    if key in ("follow_symlinks", "trust_workspace_settings"):
        if not isinstance(value, bool):
            raise TypeError("expected true or false")
        return value
    if not isinstance(value, str) or not value:
        raise TypeError("expected a non-empty string")
    return value


USER_ONLY: frozenset[str] = frozenset(
    {"model", "device", "batch_tokens", "index_dir", "trust_workspace_settings"}
)
"""Settings a workspace's own files may not choose unless the user trusts them: which model runs (a
folder or hub id is code and weights from elsewhere), on what, and where the index is written."""


def user_config_path() -> Path:
    """The user's own settings file: ``$XDG_CONFIG_HOME/codekin/config.toml`` on Linux."""
    return Path(platformdirs.user_config_dir("codekin")) / "config.toml"


def index_name(root: Path) -> str:
    """A workspace's own index folder name: readable, plus a hash of its absolute path."""
    root = root.resolve()
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", root.name)[:40] or "root"
    return f"{slug}-{hashlib.sha1(os.fsencode(root)).hexdigest()[:12]}"  # any name the filesystem allows


def load_settings(
    root: Path,
    overrides: dict[str, Any] | None = None,
    source: str = "options",
    problems: list[str] | None = None,
) -> Settings:
    """Settings for a workspace: defaults, the user's config file, the workspace's config files (less
    what they may not set), then ``overrides`` (non-None values: the command line, the editor)."""
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    user_file = user_config_path()
    settings = Settings().merged(_read_toml_table(user_file, ()), str(user_file), problems)
    if settings.index_dir:  # the user's file names a parent: one folder per workspace under it
        settings = replace(settings, index_dir=str(Path(settings.index_dir).expanduser() / index_name(root)))
    trusted = given.get("trust_workspace_settings", settings.trust_workspace_settings) is True
    pyproject = root / "pyproject.toml"
    for path, table in ((pyproject, ("tool", "codekin")), (root / ".codekin.toml", ())):
        values = _read_toml_table(path, table)
        if values:
            values = _workspace_values(values, str(path), trusted, problems)
            settings = settings.merged(values, str(path), problems)
    if given:
        settings = settings.merged(given, source, problems)
    return settings


def _workspace_values(
    values: dict[str, Any], source: str, trusted: bool, problems: list[str] | None
) -> dict[str, Any]:
    """``values`` of a workspace file without the ``USER_ONLY`` ones it may not set (each a warning)."""
    kept: dict[str, Any] = {}
    for raw_key, value in values.items():
        key = raw_key.replace("-", "_")
        if key not in USER_ONLY or (trusted and key != "trust_workspace_settings"):
            kept[raw_key] = value
            continue
        if key == "trust_workspace_settings":
            problem = f"{source}: {raw_key!r} ignored: only you can trust a workspace's settings"
        else:
            problem = (
                f"{source}: {raw_key!r} ignored: a workspace's files may not choose the model or where "
                f"the index goes; set it yourself (command line, editor settings, {user_config_path()}) "
                "or trust this workspace's settings (--trust-workspace-settings, trustWorkspaceSettings)"
            )
        log.warning("%s", problem)
        if problems is not None:
            problems.append(problem)
    return kept


def _read_toml_table(path: Path, table: tuple[str, ...]) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data: Any = tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        log.warning("%s: not read: %s", path, exc)
        return {}
    for key in table:
        data = data.get(key, {}) if isinstance(data, dict) else {}
    return data if isinstance(data, dict) else {}
