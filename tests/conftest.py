"""Shared fixtures: models built offline, once per test session."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# The user cache folder (default index folders, remembered model identities) of this session, for the
# tests and every server they start: never the developer's own, never one left by an earlier run. The
# Hugging Face cache, which lives under it by default, stays where it was.
os.environ.setdefault(
    "HF_HOME", os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "huggingface")
)
_SESSION_CACHE = tempfile.mkdtemp(prefix="codekin-test-cache-")
os.environ["XDG_CACHE_HOME"] = _SESSION_CACHE
atexit.register(shutil.rmtree, _SESSION_CACHE, ignore_errors=True)
# Likewise the user's own config folder (~/.config/codekin/config.toml sets model, device, index folder):
# empty for the session, so that no developer's settings reach a test or a server it starts.
_SESSION_CONFIG = tempfile.mkdtemp(prefix="codekin-test-config-")
os.environ["XDG_CONFIG_HOME"] = _SESSION_CONFIG
atexit.register(shutil.rmtree, _SESSION_CONFIG, ignore_errors=True)


@pytest.fixture(scope="session")
def tiny_qwen_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-layer Qwen2 with random weights and the real Qwen2.5-Coder tokenizer (about 6 s to build)."""
    from qwen_offline import build_random_qwen2

    return build_random_qwen2(tmp_path_factory.mktemp("tiny-qwen2"), shape="tiny", seed=0)
