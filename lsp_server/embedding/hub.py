"""The Hugging Face hub, offline first: the cache is looked in before the hub is asked.

The hub is asked only when a model is not cached, and only after a quick reachability check, so that
loading fails fast offline and never hangs on a resolver or a firewall.
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path
from urllib.parse import urlparse

from .base import EmbeddingError

HUB_CONNECT_TIMEOUT_S = 3.0
WEIGHT_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.model", "*.tiktoken"]
"""What a snapshot download fetches: configs, tokenizer files and safetensors weights, nothing else."""


def hub_cache_dir() -> Path:
    """The hub cache as the environment names it now (huggingface_hub reads it once, at import)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    cache_home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    hf_home = os.environ.get("HF_HOME") or os.path.join(cache_home, "huggingface")
    return Path(hf_home).expanduser() / "hub"


def hub_cached_path(hub_id: str) -> str | None:
    """The cached snapshot folder of ``hub_id`` when it holds a config and weights, else None."""
    from huggingface_hub import snapshot_download

    try:
        path = snapshot_download(hub_id, cache_dir=hub_cache_dir(), local_files_only=True)
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


def hub_snapshot(hub_id: str) -> str:
    """A local snapshot of ``hub_id``: the cache's, or a fresh download when the hub answers."""
    cached = hub_cached_path(hub_id)
    if cached is not None:
        return cached
    reachable, why = hub_reachable()
    if not reachable:
        raise EmbeddingError(
            f"cannot load {hub_id!r}: it is not in the Hugging Face cache ({hub_cache_dir()}) and the hub "
            f"is unreachable ({why}). To use it, download it where the hub is reachable "
            f"(`hf download {hub_id}`), then either pass the downloaded folder's path, or point HF_HOME "
            "at a cache that holds it; or serve it from a GPU machine that has it (`codekin worker "
            f"--model {hub_id}` there) and use the embedder remote://host:port"
        )
    from huggingface_hub import snapshot_download

    try:
        return str(snapshot_download(hub_id, cache_dir=hub_cache_dir(), allow_patterns=WEIGHT_PATTERNS))
    except Exception as exc:
        raise EmbeddingError(f"cannot download {hub_id!r} from the hub: {exc}") from exc
