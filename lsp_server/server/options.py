"""What an editor can set under the ``codekin`` section, checked and split into engine and server parts.

Clients send camelCase keys (``duplicateThreshold``); engine settings are validated by
:meth:`Settings.merged`, server-only options here. Every problem becomes a message
the server shows, and the value falls back to its default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from typing import Any

from lsp_server.config import Settings

ENGINE_KEYS = frozenset(f.name for f in fields(Settings))

RELOAD_KEYS = frozenset({"model", "device", "batch_tokens"})
"""Engine settings whose change means another embedder (and so a re-index under its model id)."""


@dataclass(frozen=True)
class Features:
    """Which editor features are on; each can be switched off without touching the others."""

    code_lens: bool = True
    completion: bool = True
    hover: bool = True
    workspace_symbol: bool = True
    diagnostics: bool = False
    """Hint diagnostics for near-duplicates: off by default, as they can be many."""


@dataclass(frozen=True)
class ServerOptions:
    engine: dict[str, Any] = field(default_factory=dict)
    """Engine settings (snake_case keys) laid over each folder's config files."""
    worker: str | None = None
    """``remote://host:port`` (comma-separated for several) or an ``openai+https://`` address;
    when set it is the embedder, in place of ``model``."""
    features: Features = Features()
    hover_threshold: float = 0.3
    """Least cosine for hover to show a documentation match."""
    index_delay_ms: int = 200
    """Pause in typing after which the index takes an edited buffer's units (on save: at once)."""
    completion_budget_ms: int = 250
    """Completion answers within this or returns nothing: it must never slow typing."""
    max_results: int = 20
    """Results per query for commands and workspace/symbol."""

    @property
    def embedder_spec(self) -> str:
        return self.worker or str(self.engine.get("model", "auto"))


def snake(key: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).replace("-", "_").lower()


def parse_options(raw: Any, source: str) -> tuple[ServerOptions, list[str]]:
    """Options from an initializationOptions or workspace/configuration value; and the problems found."""
    problems: list[str] = []
    if raw is None:
        return ServerOptions(), problems
    if not isinstance(raw, dict):
        return ServerOptions(), [f"{source}: expected an object of settings, got {type(raw).__name__}"]
    if isinstance(raw.get("codekin"), dict):
        raw = raw["codekin"]
    options = ServerOptions()
    engine: dict[str, tuple[str, Any]] = {}
    for raw_key, value in raw.items():
        key = snake(str(raw_key))
        if key in ENGINE_KEYS:
            engine[key] = (str(raw_key), value)
        elif key == "features":
            options = replace(options, features=_features(value, source, problems))
        elif key == "worker":
            if value is None or (isinstance(value, str) and value.strip()):
                options = replace(options, worker=value.strip() if value else None)
            else:
                problems.append(f"{source}: 'worker' must be an address such as remote://host:7878")
        elif key == "hover_threshold":
            if isinstance(value, int | float) and not isinstance(value, bool) and -1 <= value <= 1:
                options = replace(options, hover_threshold=float(value))
            else:
                problems.append(f"{source}: 'hoverThreshold' must be a number between -1 and 1")
        elif key in ("index_delay_ms", "completion_budget_ms", "max_results"):
            if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 60_000:
                numbers: dict[str, Any] = {key: value}
                options = replace(options, **numbers)
            else:
                problems.append(f"{source}: {raw_key!r} must be a whole number from 0 to 60000")
        else:
            problems.append(f"{source}: unknown setting {raw_key!r} ignored")
    # Validate engine values now, so that a bad one is reported once and dropped.
    valid: dict[str, Any] = {}
    for key, (raw_key, value) in engine.items():
        found: list[str] = []
        checked = Settings().merged({key: value}, source, found)
        problems += [problem.replace(repr(key), repr(raw_key)) for problem in found]
        if not found:
            valid[key] = getattr(checked, key)
    return replace(options, engine=valid), problems


def _features(value: Any, source: str, problems: list[str]) -> Features:
    if not isinstance(value, dict):
        problems.append(f"{source}: 'features' must be an object such as {{\"diagnostics\": true}}")
        return Features()
    known = {f.name for f in fields(Features)}
    changes: dict[str, bool] = {}
    for raw_key, on in value.items():
        key = snake(str(raw_key))
        if key not in known:
            problems.append(f"{source}: unknown feature {raw_key!r} ignored")
        elif not isinstance(on, bool):
            problems.append(f"{source}: feature {raw_key!r} must be true or false")
        else:
            changes[key] = on
    return replace(Features(), **changes)
