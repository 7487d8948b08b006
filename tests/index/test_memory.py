"""Freed heap pages go back to the system between embedding chunks (glibc's malloc_trim)."""

from __future__ import annotations

import platform
import sys

import pytest

from lsp_server import memory


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc only"
)
def test_malloc_trim_is_found_and_runs() -> None:
    assert memory._trim is not None
    block = bytearray(64 << 20)  # freed below: pages the heap may keep
    del block
    memory.release_freed_memory()
