"""The ``openai+http(s)://host[:port]/v1?model=NAME&…`` spec, checked and with its defaults filled in.

Every error names the part of the spec that is wrong, since a spec is typed by hand into a setting or
a command line. The options (percent-encode ``+`` and ``&`` in values):

* ``model=NAME``: the model as the engine names it (required unless ``profile=`` is given, whose hub
  id is then the name);
* ``key_env=VAR``: the environment variable that holds the API key (default ``OPENAI_API_KEY``; when
  that one is unset no key is sent; a ``key_env`` that is named but unset is an error). The key goes
  in ``Authorization: Bearer …`` and nowhere else: never in a log line or an error message;
* ``prefixes=jina|qwen3|none``: the instruction prefixes the client puts in front of each text
  (these engines apply none of codekin's). Else ``profile=`` (``jina-code-0.5b``, …) gives its
  prefixes; else a model name that is a profile's hub id (or the last part of one) gives that
  profile's; else none;
* ``dim=N``: serve N-dimensional (Matryoshka-truncated) vectors only; it shows in the model id;
* ``dimensions=1|0``: whether to ask the engine for truncated vectors with the request's
  ``dimensions`` field (default 1). An engine that refuses it (HTTP 400/422) is asked without it
  from then on and the vectors are truncated here instead (the same vectors: the leading k
  components, normalised again);
* ``batch=N`` texts per request (default 64), ``concurrency=N`` requests in flight (default 2),
  ``timeout=S`` seconds to wait for an answer (default 60; connecting waits at most 5),
  ``attempts=N`` (default 5), ``max_chars=N`` characters kept of each text (default 32768),
  ``ca_file=F`` to trust another certificate authority over HTTPS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import ParseResult, parse_qs, urlparse

from .base import EmbeddingError
from .prefixes import PREFIX_STYLES, PrefixStyle
from .profiles import PROFILES, Profile, profile_for_hub_id

OPTIONS = (
    "model",
    "key_env",
    "dim",
    "prefixes",
    "profile",
    "dimensions",
    "batch",
    "timeout",
    "attempts",
    "concurrency",
    "max_chars",
    "ca_file",
)
DEFAULT_KEY_ENV = "OPENAI_API_KEY"
_FLAGS = ("0", "1", "true", "false")


@dataclass(frozen=True)
class OpenAISpec:
    url: str
    """``http(s)://host:port/path`` of the API base, without the options (shown in logs and status)."""
    tls: bool
    host: str
    port: int
    endpoint: str
    """The request path: the base's path and ``/embeddings``."""
    model: str
    key_env: str
    key_required: bool
    dim: int | None
    prefix_style: PrefixStyle
    prefix_source: str
    profile: Profile | None
    send_dimensions: bool
    batch: int
    concurrency: int
    timeout: float
    attempts: int
    max_chars: int
    ca_file: str | None


def parse_openai_spec(spec: str) -> OpenAISpec:
    """Check an ``openai+http(s)://`` spec and fill in the defaults; errors name the bad part."""
    parsed, tls, port = _address(spec)
    options = _options(parsed, spec)
    profile = _profile_option(options, spec)
    model = options.get("model", "").strip() or (profile.hub_id if profile is not None else "")
    if not model:
        raise EmbeddingError(f"{spec!r} names no model: add ?model=NAME (the engine's name for it)")
    style, source = _prefix_style(options, profile, model)
    if options.get("dimensions", "1") not in _FLAGS:
        raise EmbeddingError(f"{spec!r}: dimensions is 1 or 0, got {options['dimensions']!r}")
    path = parsed.path.rstrip("/")
    host = cast(str, parsed.hostname)
    netloc = f"[{host}]" if ":" in host else host
    return OpenAISpec(
        url=f"{'https' if tls else 'http'}://{netloc}:{port}{path}",
        tls=tls,
        host=host,
        port=port,
        endpoint=f"{path}/embeddings",
        model=model,
        key_env=options.get("key_env") or DEFAULT_KEY_ENV,
        key_required="key_env" in options,
        dim=_number(options, spec, "dim", None),
        prefix_style=style,
        prefix_source=source,
        profile=profile,
        send_dimensions=options.get("dimensions", "1") in ("1", "true"),
        batch=_number(options, spec, "batch", 64),
        concurrency=_number(options, spec, "concurrency", 2),
        timeout=_number(options, spec, "timeout", 60.0, float),
        attempts=_number(options, spec, "attempts", 5),
        max_chars=_number(options, spec, "max_chars", 32_768),
        ca_file=options.get("ca_file") or None,
    )


def profile_for_model(model: str) -> Profile | None:
    """The profile whose hub id is ``model``, or ends with it (engines often serve a short name)."""
    known = profile_for_hub_id(model)
    if known is not None:
        return known
    return next((p for p in PROFILES.values() if p.hub_id.split("/")[-1].lower() == model.lower()), None)


def _address(spec: str) -> tuple[ParseResult, bool, int]:
    """The parsed spec, whether it speaks TLS, and its port; an address with credentials is refused."""
    parsed = urlparse(spec.strip())
    if parsed.scheme not in ("openai+http", "openai+https") or not parsed.hostname:
        raise EmbeddingError(f"expected openai+http(s)://host[:port]/v1?model=NAME, got {spec!r}")
    if parsed.username or parsed.password:
        raise EmbeddingError(
            f"{parsed.scheme}:// takes no credentials in the address: put the API key in an environment "
            f"variable and name it with ?key_env=VAR (default {DEFAULT_KEY_ENV})"
        )
    tls = parsed.scheme == "openai+https"
    try:
        port = parsed.port or (443 if tls else 80)
    except ValueError as exc:
        raise EmbeddingError(f"bad port in {spec!r}: {exc}") from None
    return parsed, tls, port


def _options(parsed: ParseResult, spec: str) -> dict[str, str]:
    """The query's options, the last value of each winning; unknown names are an error."""
    raw = parse_qs(parsed.query, keep_blank_values=True)
    options = {key: values[-1] for key, values in raw.items()}
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise EmbeddingError(f"unknown option(s) {unknown} in {spec!r}; known: {', '.join(OPTIONS)}")
    return options


def _profile_option(options: dict[str, str], spec: str) -> Profile | None:
    if "profile" not in options:
        return None
    profile = PROFILES.get(options["profile"])
    if profile is None:
        raise EmbeddingError(
            f"unknown profile {options['profile']!r} in {spec!r}; expected one of {', '.join(PROFILES)}"
        )
    return profile


def _prefix_style(options: dict[str, str], profile: Profile | None, model: str) -> tuple[PrefixStyle, str]:
    """The prefixes to send and where they come from: named, the profile's, inferred, or none."""
    if "prefixes" in options:
        style = options["prefixes"]
        if style not in PREFIX_STYLES:
            raise EmbeddingError(f"prefixes must be one of {', '.join(PREFIX_STYLES)}, got {style!r}")
        return style, "named with prefixes="
    if profile is not None:
        return profile.prefix_style, f"those of profile {profile.name}"
    known = profile_for_model(model)
    if known is not None:
        return known.prefix_style, f"those of profile {known.name}, inferred from the model name"
    return "none", "none: the model name matches no profile (set prefixes= to change)"


def _number(options: dict[str, str], spec: str, name: str, default: float | None, kind: type = int) -> Any:
    """The positive number option ``name`` as ``kind``, else ``default``."""
    if name not in options:
        return default
    try:
        value = kind(options[name])
    except ValueError:
        raise EmbeddingError(f"{spec!r}: {name} must be a number, got {options[name]!r}") from None
    if value <= 0:
        raise EmbeddingError(f"{spec!r}: {name} must be positive, got {options[name]!r}")
    return value
