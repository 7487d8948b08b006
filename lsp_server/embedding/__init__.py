"""Embedding models behind one interface: ``load_embedder(spec)`` → an :class:`Embedder`.

A spec is a profile name (``minilm``, ``jina-code-0.5b``, …), ``auto``, a local folder or a hub id.
Weights come from a local folder or the Hugging Face cache; the hub is asked only when a model is not
cached, and only after a quick reachability check, so that loading fails fast offline and never hangs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from .base import (
    JINA_PREFIXES,
    QWEN3_TASK_DESCRIPTIONS,
    SIDES,
    TASKS,
    Embedder,
    EmbeddingError,
    Side,
    Task,
    Vectors,
    normalize_rows,
    truncate_dim,
)
from .profiles import DEFAULT_PROFILE, GPU_PROFILE, POOLINGS, PROFILES, Pooling, Profile, profile_for_hub_id

__all__ = [
    "JINA_PREFIXES",
    "PROFILES",
    "QWEN3_TASK_DESCRIPTIONS",
    "SIDES",
    "TASKS",
    "WORKER_ENV",
    "Embedder",
    "EmbeddingError",
    "Profile",
    "Side",
    "Task",
    "Vectors",
    "folder_fingerprint",
    "hub_cached_path",
    "hub_reachable",
    "load_embedder",
    "normalize_rows",
    "truncate_dim",
]

HUB_CONNECT_TIMEOUT_S = 3.0
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_REMOTE_SCHEMES = ("remote://", "openai+http://", "openai+https://")
# Workers that ``auto`` uses when no GPU here can run the code model (remote://host:port[,...]).
WORKER_ENV = "CODEKIN_WORKER"
_WEIGHT_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.model", "*.tiktoken"]


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
        return _load_remote(spec, device, max_length=max_length, pooling=pooling, precision=precision,
                            batch_tokens=batch_tokens)  # fmt: skip
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
        path = _hub_snapshot(spec)
        return _build(path, base_id=spec, profile=None, reason=f"named: hub id {spec}", **options)
    raise EmbeddingError(
        f"unknown embedder {spec!r}: expected 'auto', a profile ({', '.join(PROFILES)}), "
        "an existing local folder, or a hub id such as 'owner/name'"
    )


# --- selection ---------------------------------------------------------------------------------------


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


# --- loading -----------------------------------------------------------------------------------------


def _load_profile(profile: Profile, *, reason: str, **options: Any) -> Embedder:
    path = profile.local_path() if profile.local_path is not None else _hub_snapshot(profile.hub_id)
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
    return _build(
        str(folder), base_id=base_id, profile=profile, reason=f"named: local folder {folder}", **options
    )


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
    from .local import TransformersEmbedder, is_decoder_config, is_reduced_precision, resolve_precision

    if profile is not None:
        default_pooling, default_length, prefix_style = (
            profile.pooling,
            profile.max_length,
            profile.prefix_style,
        )
    else:
        config = _read_json(Path(path) / "config.json")
        default_pooling = _folder_pooling(Path(path), is_decoder_config(_Attrs(config)))
        default_length, prefix_style = _folder_max_length(Path(path), config), "none"
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


def _folder_pooling(folder: Path, decoder: bool) -> Pooling:
    """Pooling from a sentence-transformers Pooling config when there is one, else by architecture."""
    for candidate in sorted(folder.glob("*Pooling/config.json")):
        config = _read_json(candidate)
        if config.get("pooling_mode_lasttoken"):
            return "last"
        if config.get("pooling_mode_mean_tokens"):
            return "mean"
        raise EmbeddingError(
            f"{candidate} names a pooling this embedder lacks; pass pooling='last' or 'mean'"
        )
    return "last" if decoder else "mean"


def _folder_max_length(folder: Path, config: dict[str, Any]) -> int:
    """sentence-transformers' max_seq_length, else the tokenizer's or the model's limit, at most 8192."""
    st_length = _read_json(folder / "sentence_bert_config.json").get("max_seq_length")
    if st_length:
        return int(st_length)
    limits = [
        _read_json(folder / "tokenizer_config.json").get("model_max_length"),
        config.get("max_position_embeddings"),
    ]
    sane = [int(x) for x in limits if isinstance(x, int | float) and 0 < x < 1_000_000]
    return min(min(sane, default=512), 8192)


# --- the hub, offline first --------------------------------------------------------------------------


def _hub_cache_dir() -> Path:
    """The hub cache as the environment names it now (huggingface_hub reads it once, at import)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    hf_home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "huggingface"
    )
    return Path(hf_home).expanduser() / "hub"


def hub_cached_path(hub_id: str) -> str | None:
    """The cached snapshot folder of ``hub_id`` when it holds a config and weights, else None."""
    from huggingface_hub import snapshot_download

    try:
        path = snapshot_download(hub_id, cache_dir=_hub_cache_dir(), local_files_only=True)
    except Exception:  # not cached, or a damaged cache entry: either way, not usable offline
        return None
    folder = Path(str(path))
    if (folder / "config.json").is_file() and any(folder.glob("*.safetensors")):
        return str(folder)
    return None


def hub_reachable(timeout: float = HUB_CONNECT_TIMEOUT_S) -> tuple[bool, str]:
    """Whether a TCP connection to the hub opens within ``timeout`` seconds, and why not.

    The connection (name resolution included) runs in a daemon thread, so a resolver that never
    answers cannot hold the caller past the timeout.
    """
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}:
        return False, "HF_HUB_OFFLINE is set"
    url = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host, port = url.hostname or "huggingface.co", url.port or (80 if url.scheme == "http" else 443)
    result: list[str] = []

    def connect() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            result.append("")
        except OSError as exc:
            result.append(f"cannot connect to {host}:{port}: {exc}")

    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(timeout)
    if not result:
        return False, f"no connection to {host}:{port} within {timeout:.0f} s"
    return result[0] == "", result[0]


def _hub_snapshot(hub_id: str) -> str:
    """A local snapshot of ``hub_id``: the cache's, or a fresh download when the hub answers."""
    cached = hub_cached_path(hub_id)
    if cached is not None:
        return cached
    reachable, why = hub_reachable()
    if not reachable:
        raise EmbeddingError(
            f"cannot load {hub_id!r}: it is not in the Hugging Face cache ({_hub_cache_dir()}) and the hub "
            f"is unreachable ({why}). To use it, download it where the hub is reachable "
            f"(`hf download {hub_id}`), then either pass the downloaded folder's path, or point HF_HOME "
            "at a cache that holds it; or serve it from a remote GPU worker (remote://host:port, issue 4)"
        )
    from huggingface_hub import snapshot_download

    try:
        return str(snapshot_download(hub_id, cache_dir=_hub_cache_dir(), allow_patterns=_WEIGHT_PATTERNS))
    except Exception as exc:
        raise EmbeddingError(f"cannot download {hub_id!r} from the hub: {exc}") from exc


# --- small helpers -----------------------------------------------------------------------------------


def folder_fingerprint(folder: Path, sample: int = 1 << 20) -> str:
    """A short hash of a model folder's configs and tokenizer files, and of samples of its weights.

    Weights are sampled (size, then head, middle and tail) rather than read whole: different weights
    differ there, and a 1 GB file is not hashed on every start.
    """
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel.startswith(".") or "/." in rel:
            continue
        size = path.stat().st_size
        digest.update(f"{rel}\0{size}\0".encode())
        with path.open("rb") as f:
            if path.suffix in {".safetensors", ".bin", ".pt", ".pth", ".gguf", ".onnx"}:
                for offset in (0, max(0, size // 2 - sample // 2), max(0, size - sample)):
                    f.seek(offset)
                    digest.update(f.read(sample))
            elif path.suffix in {".json", ".txt", ".model", ".tiktoken"}:
                digest.update(f.read())
    return digest.hexdigest()[:12]


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class _Attrs:
    """A config dict seen as attributes, enough for :func:`is_decoder_config` without loading torch models."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.__dict__.update(data)


def _default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _normalise(device: str) -> str:
    return "cuda" if device.startswith("cuda") else device
