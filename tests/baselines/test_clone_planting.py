"""bench/clone_planting.py: deterministic for a seed, and each copy keeps its kind's promise."""

from __future__ import annotations

import difflib
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import clone_planting  # noqa: E402

pytestmark = pytest.mark.skipif(
    not clone_planting.HUMANEVALX.exists(), reason="needs ../shared/data (HumanEval-X)"
)


def _plant(dest: Path) -> dict[str, Any]:
    return clone_planting.plant(dest, seed=3, per_kind=3, stdlib_count=4)


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    dest = tmp_path_factory.mktemp("planted")
    return dest / "workspace", _plant(dest)


def _unit(workspace: Path, side: dict[str, Any], language: str) -> tuple[str, tuple[int, int]]:
    text = (workspace / side["path"]).read_text(encoding="utf-8")
    return text, (side["start_line"] - 1, side["end_line"] - 1)


def _streams(workspace: Path, pair: dict[str, Any]) -> dict[str, list[str]]:
    language = pair["language"]
    streams = {}
    for side in ("original", "copy"):
        text, rows = _unit(workspace, pair[side], language)
        streams[f"{side} exact"] = clone_planting.exact_stream(language, text, rows)
        streams[f"{side} renamed"] = clone_planting.renamed_stream(language, text, rows)
    return streams


def test_deterministic_for_a_seed(tmp_path: Path, planted: tuple[Path, dict[str, Any]]) -> None:
    workspace, truth = planted
    again = _plant(tmp_path)
    assert again == truth
    for pair in truth["pairs"]:
        path = pair["copy"]["path"]
        assert (tmp_path / "workspace" / path).read_text() == (workspace / path).read_text()


def test_every_language_and_kind_is_planted(planted: tuple[Path, dict[str, Any]]) -> None:
    _, truth = planted
    made = {(p["language"], p["kind"]) for p in truth["pairs"]}
    assert made == {(lang, kind) for lang in clone_planting.LANGUAGES for kind in clone_planting.KINDS}


def test_copies_parse(planted: tuple[Path, dict[str, Any]]) -> None:
    workspace, truth = planted
    for pair in truth["pairs"]:
        text = (workspace / pair["copy"]["path"]).read_text(encoding="utf-8")
        assert clone_planting.parses(pair["language"], text), pair["id"]


def test_exact_copies_have_the_same_tokens(planted: tuple[Path, dict[str, Any]]) -> None:
    workspace, truth = planted
    for pair in (p for p in truth["pairs"] if p["kind"] == "exact"):
        streams = _streams(workspace, pair)
        assert streams["copy exact"] == streams["original exact"], pair["id"]
        original = _unit(workspace, pair["original"], pair["language"])
        copy = _unit(workspace, pair["copy"], pair["language"])
        assert (
            original[0].split("\n")[original[1][0] : original[1][1] + 1]
            != copy[0].split("\n")[copy[1][0] : copy[1][1] + 1]
        ), pair["id"]


def test_renamed_copies_differ_in_identifiers_and_literals_only(planted: tuple[Path, dict[str, Any]]) -> None:
    workspace, truth = planted
    for pair in (p for p in truth["pairs"] if p["kind"] == "renamed"):
        streams = _streams(workspace, pair)
        assert streams["copy renamed"] == streams["original renamed"], pair["id"]
        assert streams["copy exact"] != streams["original exact"], pair["id"]
        assert pair["edit"]["renames"], pair["id"]


def _without_line(tokens: list[Any], line: int) -> list[str]:
    return [t.renamed for t in tokens if t.line != line]


def test_near_miss_copies_differ_by_one_statement(planted: tuple[Path, dict[str, Any]]) -> None:
    """Taking the edited statement out of one side (or, for a change, ignoring it) leaves the
    other side's renamed stream, and the edit is not empty."""
    workspace, truth = planted
    for pair in (p for p in truth["pairs"] if p["kind"] == "near-miss"):
        language, edit = pair["language"], pair["edit"]
        tokens = {}
        for side in ("original", "copy"):
            text, rows = _unit(workspace, pair[side], language)
            found = clone_planting.unit_tokens(language, text, rows)
            tokens[side] = [t.__class__(t.text, t.category, t.line - rows[0] + 1, t.offset) for t in found]
        original = [t.renamed for t in tokens["original"]]
        copy = [t.renamed for t in tokens["copy"]]
        assert original != copy, pair["id"]
        if edit["op"] == "add":
            assert _without_line(tokens["copy"], edit["copy_line"]) == original, pair["id"]
        elif edit["op"] == "remove":
            assert _without_line(tokens["original"], edit["original_line"]) == copy, pair["id"]
        else:
            assert len(original) == len(copy), pair["id"]
            differ = {
                a.line
                for a, b in zip(tokens["original"], tokens["copy"], strict=True)
                if a.renamed != b.renamed
            }
            assert differ == {edit["line"]}, pair["id"]
        ratio = difflib.SequenceMatcher(None, original, copy, autojunk=False).ratio()
        assert ratio >= clone_planting.NEAR_MISS_RATIO, pair["id"]
