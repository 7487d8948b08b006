"""What an editor can set under the ``codekin`` section, checked and split into engine and server parts.

Clients send camelCase keys (``duplicateThreshold``). Engine settings are validated by
:meth:`Settings.merged`; server options are attrs classes structured one key at a time by a
strict cattrs converter, so that one invalid value falls back to its default alone and
becomes a message the server shows, while the rest applies.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import fields as dataclass_fields
from typing import Any

import attrs
from cattrs import Converter
from cattrs.errors import BaseValidationError

from lsp_server.config import Settings

ENGINE_KEYS = frozenset(f.name for f in dataclass_fields(Settings))

CLIENT_KEYS = frozenset({"server", "trace"})
"""Keys of the ``codekin`` section that belong to the editor clients (``server.command``,
``trace.server``): VS Code sends the whole section, so the server takes them silently."""

RELOAD_KEYS = frozenset({"model", "device", "batch_tokens"})
"""Engine settings whose change means another embedder (and so a re-index under its model id)."""


@attrs.frozen
class Features:
    """Which editor features are on; each can be switched off without touching the others."""

    code_lens: bool = True
    completion: bool = True
    hover: bool = True
    workspace_symbol: bool = True
    diagnostics: bool = False
    """Hint diagnostics for clones: off by default, as they can be many."""
    diverged_copies: bool = True
    """A hint on an edited symbol whose copies did not get the change (few, and at the moment it matters)."""


def _stripped(value: str | None) -> str | None:
    return value.strip() if value else None


def _milliseconds() -> Any:
    return attrs.validators.and_(attrs.validators.ge(0), attrs.validators.le(60_000))


@attrs.frozen
class ServerOptions:
    engine: dict[str, Any] = attrs.field(factory=dict)
    """Engine settings (snake_case keys) laid over each folder's config files."""
    worker: str | None = attrs.field(default=None, converter=_stripped)
    """``remote://host:port`` (comma-separated for several) or an ``openai+https://`` address;
    when set it is the embedder, in place of ``model``."""
    features: Features = Features()
    hover_threshold: float = attrs.field(
        default=0.3, validator=attrs.validators.and_(attrs.validators.ge(-1), attrs.validators.le(1))
    )
    """Least cosine for hover to show a documentation match."""
    index_delay_ms: int = attrs.field(default=200, validator=_milliseconds())
    """Pause in typing after which the index takes an edited buffer's units (on save: at once)."""
    completion_budget_ms: int = attrs.field(default=250, validator=_milliseconds())
    """Completion answers within this or returns nothing: it must never slow typing."""
    max_results: int = attrs.field(default=20, validator=_milliseconds())
    """Results per query for commands and workspace/symbol."""

    @property
    def embedder_spec(self) -> str:
        return self.worker or str(self.engine.get("model", "auto"))


PROBLEMS: dict[str, str] = {
    "worker": "'worker' must be an address such as remote://host:7878",
    "hover_threshold": "'hoverThreshold' must be a number between -1 and 1",
    "features": "'features' must be an object such as {\"diagnostics\": true}",
}
"""What the user is told for a bad value, by option; the whole numbers share one message."""


def _strict(kind: type, check: Callable[[Any], bool]) -> Callable[[Any, type], Any]:
    def structure(value: Any, _: type) -> Any:
        if not check(value):
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
        return kind(value)

    return structure


def _worker_address(value: Any, _: type) -> str | None:
    if value is None or (isinstance(value, str) and value.strip()):
        return value
    raise TypeError("expected an address")


def options_converter() -> Converter:
    """cattrs, without its lenient casts: ``"yes"`` is no bool and ``True`` is no number."""
    converter = Converter()
    converter.register_structure_hook(bool, _strict(bool, lambda v: isinstance(v, bool)))
    is_number = lambda v: isinstance(v, int | float) and not isinstance(v, bool)  # noqa: E731
    converter.register_structure_hook(int, _strict(int, lambda v: isinstance(v, int) and is_number(v)))
    converter.register_structure_hook(float, _strict(float, is_number))
    converter.register_structure_hook(str | None, _worker_address)
    return converter


CONVERTER = options_converter()
attrs.resolve_types(Features)
attrs.resolve_types(ServerOptions)
SERVER_FIELDS = {field.name: field for field in attrs.fields(ServerOptions) if field.name != "engine"}
FEATURE_FIELDS = {field.name: field for field in attrs.fields(Features)}


def snake(key: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).replace("-", "_").lower()


def parse_options(raw: Any, source: str) -> tuple[ServerOptions, list[str]]:
    """Options from an initializationOptions or workspace/configuration value; and the problems found."""
    if raw is None:
        return ServerOptions(), []
    if not isinstance(raw, dict):
        return ServerOptions(), [f"{source}: expected an object of settings, got {type(raw).__name__}"]
    if isinstance(raw.get("codekin"), dict):
        raw = raw["codekin"]
    problems: list[str] = []
    values: dict[str, Any] = {}
    engine: dict[str, Any] = {}
    for raw_key, value in raw.items():
        key = snake(str(raw_key))
        if key in ENGINE_KEYS:
            engine.update(_engine_value(key, str(raw_key), value, source, problems))
        elif key == "features":
            values["features"] = _features(value, source, problems)
        elif key in SERVER_FIELDS:
            values.update(_server_value(key, str(raw_key), value, source, problems))
        elif key.split(".")[0] not in CLIENT_KEYS:
            problems.append(f"{source}: unknown setting {raw_key!r} ignored")
    return ServerOptions(engine=engine, **values), problems


def _server_value(key: str, raw_key: str, value: Any, source: str, problems: list[str]) -> dict[str, Any]:
    """``{key: value}`` structured and validated as the option's type; ``{}`` and a problem if not."""
    try:
        typed = CONVERTER.structure(value, SERVER_FIELDS[key].type or object)
        ServerOptions(**{key: typed})  # runs the field's validator
    except (BaseValidationError, TypeError, ValueError):
        problems.append(
            f"{source}: {PROBLEMS.get(key, f'{raw_key!r} must be a whole number from 0 to 60000')}"
        )
        return {}
    return {key: typed}


def _engine_value(key: str, raw_key: str, value: Any, source: str, problems: list[str]) -> dict[str, Any]:
    """Checked now through :meth:`Settings.merged`, so that a bad value is reported once and dropped."""
    found: list[str] = []
    checked = Settings().merged({key: value}, source, found)
    problems += [problem.replace(repr(key), repr(raw_key)) for problem in found]
    return {} if found else {key: getattr(checked, key)}


def _features(value: Any, source: str, problems: list[str]) -> Features:
    if not isinstance(value, dict):
        problems.append(f"{source}: {PROBLEMS['features']}")
        return Features()
    switches: dict[str, bool] = {}
    for raw_key, on in value.items():
        key = snake(str(raw_key))
        if key not in FEATURE_FIELDS:
            problems.append(f"{source}: unknown feature {raw_key!r} ignored")
            continue
        try:
            switches[key] = CONVERTER.structure(on, bool)
        except TypeError:
            problems.append(f"{source}: feature {raw_key!r} must be true or false")
    return Features(**switches)
