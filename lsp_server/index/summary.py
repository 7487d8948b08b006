"""What an index reports of itself (an update's summary, its status) and where it lives by default."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

import platformdirs


@dataclass
class IndexSummary:
    files: int
    units: int
    embedded: int
    reused: int
    seconds: float
    changed_files: int = 0
    """Files whose units were replaced or removed by this update."""


@dataclass(frozen=True, slots=True)
class IndexStatus:
    """What a status report shows of one index."""

    files: int
    units: int
    pending: int | None
    """Contents of the asked spaces still waiting for a vector; None when not asked."""


def default_index_dir(root: Path) -> Path:
    """The user cache folder for a workspace: readable name plus a hash of its absolute path."""
    root = root.resolve()
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", root.name)[:40] or "root"
    digest = hashlib.sha1(os.fsencode(root)).hexdigest()[:12]  # any name the filesystem allows
    return Path(platformdirs.user_cache_dir("codekin")) / "workspaces" / f"{slug}-{digest}"
