"""Giving freed memory back to the system while embedding for minutes.

glibc keeps the heap pages that torch's per-batch tensors freed, so a process that embeds thousands
of texts grows by about 85 MB per thousand and never shrinks (``bench/embed_memory.py``: +176 MB over
2,048 texts, +1 MB with ``malloc_trim`` after each chunk, at no cost in time; fewer malloc arenas did
not help). Elsewhere than glibc this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from collections.abc import Callable

_trim: Callable[[int], int] | None = None
if sys.platform.startswith("linux"):
    try:
        _trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # musl and others have no malloc_trim
        _trim = None


def release_freed_memory() -> None:
    """Return the heap's free pages to the system (a few milliseconds); call between large batches."""
    if _trim is not None:
        _trim(0)
