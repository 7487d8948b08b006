"""From a spec to a loaded :class:`~lsp_server.embedding.base.Embedder`.

A spec is a profile name (``minilm``, ``jina-code-0.5b``, …), ``auto``, a local folder, a hub id, the
workers at ``remote://host:port[,...]`` or an OpenAI-compatible engine (``openai+http(s)://…``). Local
weights come from a folder or the Hugging Face cache (see :mod:`.hub`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from .base import Embedder, EmbeddingError
from .folders import ConfigAttrs, folder_fingerprint, folder_max_length, folder_pooling, read_json
from .hub import hub_cached_path, hub_snapshot
from .prefixes import PrefixStyle
from .profiles import DEFAULT_PROFILE, GPU_PROFILE, POOLINGS, PROFILES, Pooling, Profile, profile_for_hub_id

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_REMOTE_SCHEMES = ("remote://", "openai+http://", "openai+https://")
WORKER_ENV = "CODEKIN_WORKER"
"""Workers that ``auto`` uses when no GPU here can run the code model (remote://host:port[,...])."""


def load_embedder(
    spec: str = "auto",
    device: str | None = None,
    *,
    max_length: int | None = None,
    pooling: str | None = None,
    precision: str | None = None,
    batch_tokens: int | None = None,
) -> Embedder:
    """Load the embedder named by ``spec``: ``auto``, a profile name, a local folder or a hub id.

    ``device=None`` picks ``cuda`` when torch sees a GPU, else ``cpu``. ``max_length`` and ``pooling``
    override the model's defaults and ``precision`` (``fp32``, ``bf16``, ``fp16``, ``int8``) the device's
    default; whatever changes the vectors shows in the embedder's ``model_id``.
    """
    spec = spec.strip()
    if spec.startswith("remote://"):
        return _load_remote(
            spec,
            device,
            max_length=max_length,
            pooling=pooling,
            precision=precision,
            batch_tokens=batch_tokens,
        )
    if spec.startswith(_REMOTE_SCHEMES):
        from .openai_http import OpenAIEmbedder

        return OpenAIEmbedder(spec)
    if pooling is not None and pooling not in POOLINGS:
        raise EmbeddingError(f"unknown pooling {pooling!r}; expected one of {', '.join(POOLINGS)}")
    options: dict[str, Any] = dict(
        device=device or _default_device(),
        max_length=max_length,
        pooling=pooling,
        precision=precision,
        batch_tokens=batch_tokens,
    )
    if spec == "auto":
        return _load_auto(**options)
    return _load_named(spec, **options)


def quiet_transformers() -> None:
    """transformers draws a progress bar for every weight load; callers report their own progress."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


# --- selection ---------------------------------------------------------------------------------------


def _load_named(spec: str, **options: Any) -> Embedder:
    """A profile, a local folder or a hub id (a known profile's hub id loads as that profile)."""
    if spec in PROFILES:
        profile = PROFILES[spec]
        return _load_profile(profile, reason=f"named: profile {profile.name}", **options)
    folder = Path(spec).expanduser()
    if folder.is_dir():
        return _load_folder(folder, **options)
    if _HUB_ID.match(spec) and not spec.startswith((".", "~")):
        known = profile_for_hub_id(spec)
        if known is not None:
            return _load_profile(known, reason=f"named: hub id {spec} (profile {known.name})", **options)
        path = hub_snapshot(spec)
        return _build(path, base_id=spec, profile=None, reason=f"named: hub id {spec}", **options)
    raise EmbeddingError(
        f"unknown embedder {spec!r}: expected 'auto', a profile ({', '.join(PROFILES)}), "
        "an existing local folder, or a hub id such as 'owner/name'"
    )


def _load_auto(**options: Any) -> Embedder:
    """jina-code-0.5b where it is cached and a GPU here can run it; else the workers named by
    ``CODEKIN_WORKER`` (a team's GPU machine), when one answers; else the embedded minilm."""
    gpu_profile, device = PROFILES[GPU_PROFILE], options["device"]
    cached = hub_cached_path(gpu_profile.hub_id)
    has_gpu = device.startswith("cuda")
    if cached is not None and has_gpu:
        reason = f"auto: {gpu_profile.name}: found in the local cache and a GPU ({device}) is present"
        return _load_profile(gpu_profile, reason=reason, **options)
    why = [f"{gpu_profile.name} not in the local cache"] if cached is None else []
    if not has_gpu:
        why.append("no GPU")
    workers = os.environ.get(WORKER_ENV, "").strip()
    if workers:
        try:
            return _load_remote(workers, reason=f"auto: {WORKER_ENV}", **options)
        except EmbeddingError as exc:
            why.append(f"{WORKER_ENV}={workers} failed ({exc})")
    else:
        why.append(f"no remote worker ({WORKER_ENV} unset)")
    reason = f"auto: {DEFAULT_PROFILE} (embedded default): {'; '.join(why)}"
    return _load_profile(PROFILES[DEFAULT_PROFILE], reason=reason, **options)


def _load_remote(spec: str, device: str | None, *, reason: str = "", **options: Any) -> Embedder:
    """Workers at ``spec``; where all of them fail, their model is loaded here (a profile or a folder)."""
    from .remote import RemoteEmbedder

    if not spec.startswith("remote://"):
        raise EmbeddingError(f"expected remote://host:port[,host:port...], got {spec!r}")

    def local(model_id: str) -> Embedder:
        return load_embedder(model_id.split("@", 1)[0], device, **options)

    return RemoteEmbedder(spec, local, reason=reason)


# --- building a local embedder -----------------------------------------------------------------------


def _load_profile(profile: Profile, *, reason: str, **options: Any) -> Embedder:
    path = profile.local_path() if profile.local_path is not None else hub_snapshot(profile.hub_id)
    return _build(path, base_id=profile.name, profile=profile, reason=reason, **options)


def _load_folder(folder: Path, **options: Any) -> Embedder:
    """A local folder: named by its folder name and a fingerprint of its files, so that other weights
    under the same name get another id. A folder named like a profile's hub repository (a clone of
    ``jina-code-embeddings-0.5b``, say) takes that profile's pooling, prefixes and length."""
    folder = folder.resolve()
    if not (folder / "config.json").is_file():
        raise EmbeddingError(f"{folder} holds no config.json: not a transformers model folder")
    profile = next((p for p in PROFILES.values() if p.hub_id.split("/")[-1] == folder.name), None)
    name = profile.name if profile is not None else folder.name
    base_id = f"{name}@{folder_fingerprint(folder)}"
    reason = f"named: local folder {folder}"
    return _build(str(folder), base_id=base_id, profile=profile, reason=reason, **options)


def _build(
    path: str,
    *,
    base_id: str,
    profile: Profile | None,
    reason: str,
    device: str,
    max_length: int | None,
    pooling: str | None,
    precision: str | None,
    batch_tokens: int | None,
) -> Embedder:
    """The local embedder for the weights at ``path``; options that change its vectors extend its id."""
    from .local import TransformersEmbedder, is_reduced_precision, resolve_precision

    default_pooling, default_length, prefix_style = _defaults(Path(path), profile)
    use_pooling: Pooling = pooling or default_pooling  # type: ignore[assignment]
    use_length = max_length or default_length
    if use_length < 1:
        raise EmbeddingError(f"max_length must be positive, got {use_length}")
    resolved = resolve_precision(_normalise(device), precision)
    model_id = base_id
    if use_pooling != default_pooling:
        model_id += f"+pooling={use_pooling}"
    if use_length != default_length:
        model_id += f"+max_length={use_length}"
    if is_reduced_precision(_normalise(device), resolved):
        model_id += f"+{resolved}"
    return TransformersEmbedder(
        path,
        model_id=model_id,
        pooling=use_pooling,
        max_length=use_length,
        prefix_style=prefix_style,
        device=device,
        precision=resolved,
        batch_tokens=batch_tokens,
        selection_reason=reason,
    )


def _defaults(folder: Path, profile: Profile | None) -> tuple[Pooling, int, PrefixStyle]:
    """Pooling, length limit and prefixes: the profile's, else what the folder's configs say."""
    if profile is not None:
        return profile.pooling, profile.max_length, profile.prefix_style
    from .local import is_decoder_config

    config = read_json(folder / "config.json")
    decoder = is_decoder_config(ConfigAttrs(config))
    return folder_pooling(folder, decoder), folder_max_length(folder, config), "none"


def _default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _normalise(device: str) -> str:
    return "cuda" if device.startswith("cuda") else device
