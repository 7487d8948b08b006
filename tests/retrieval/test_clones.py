"""Clone detection on real indexes: every kind found and labelled in five languages, incremental with
edits, fingerprints there before any model loads and filled in for older stores."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lsp_server.config import load_settings
from lsp_server.embedding import load_embedder
from lsp_server.embedding.base import Embedder
from lsp_server.embedding.lazy import LazyEmbedder
from lsp_server.index.indexer import WorkspaceIndex
from lsp_server.retrieval.clone_model import SYNTACTIC_KINDS, CloneOptions
from lsp_server.retrieval.clones import clones_of, find_clones

SYNTACTIC = CloneOptions(kinds=SYNTACTIC_KINDS, min_tokens=20)

ORIGINALS = {
    "py": '''def moving_average(values, window):
    """Average of each window of values."""
    out = []
    total = 0.0
    for i, value in enumerate(values):
        total += value
        if i >= window:
            total -= values[i - window]
        if i >= window - 1:
            out.append(total / window)
    return out
''',
    "js": """function movingAverage(values, window) {
  const out = [];
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    total += values[i];
    if (i >= window) { total -= values[i - window]; }
    if (i >= window - 1) { out.push(total / window); }
  }
  return out;
}
""",
    "java": """class Stats {
    static double[] movingAverage(double[] values, int window) {
        double[] out = new double[values.length - window + 1];
        double total = 0;
        for (int i = 0; i < values.length; i++) {
            total += values[i];
            if (i >= window) { total -= values[i - window]; }
            if (i >= window - 1) { out[i - window + 1] = total / window; }
        }
        return out;
    }
}
""",
    "go": """package stats

func MovingAverage(values []float64, window int) []float64 {
	out := []float64{}
	total := 0.0
	for i, value := range values {
		total += value
		if i >= window {
			total -= values[i-window]
		}
		if i >= window-1 {
			out = append(out, total/float64(window))
		}
	}
	return out
}
""",
    "rs": """fn moving_average(values: &[f64], window: usize) -> Vec<f64> {
    let mut out = Vec::new();
    let mut total = 0.0;
    for (i, value) in values.iter().enumerate() {
        total += value;
        if i >= window {
            total -= values[i - window];
        }
        if i + 1 >= window {
            out.push(total / window as f64);
        }
    }
    out
}
""",
}
RENAMES = {"values": "samples", "window": "span", "total": "acc", "out": "result"}
EXTRA = {  # one statement added to the renamed copy: a near-miss
    "py": ("    return result\n", "    result.reverse()\n    return result\n"),
    "js": ("  return result;", "  result.reverse();\n  return result;"),
    "java": ("        return result;", "        java.util.Arrays.sort(result);\n        return result;"),
    "go": ("\treturn result", "\tresult = append(result, 0)\n\treturn result"),
    "rs": ("    result\n}", "    result.reverse();\n    result\n}"),
}


def renamed(code: str) -> str:
    for old, new in RENAMES.items():
        code = re.sub(rf"\b{old}\b", new, code)
    return code


def reformatted(code: str) -> str:
    """The same tokens with other layout and a comment: a Type-1 copy."""
    lines = code.splitlines()
    return (
        "\n".join(
            [lines[0], "", *(line.rstrip() + ("  " if n % 2 else "") for n, line in enumerate(lines[1:]))]
        )
        + "\n"
    )


def comment(ext: str) -> str:
    return "# a copy\n" if ext == "py" else "// a copy\n"


def make_workspace(root: Path) -> None:
    for ext, code in ORIGINALS.items():
        (root / f"original.{ext}").write_text(code)
        (root / f"exact_copy.{ext}").write_text(comment(ext) + reformatted(code))
        (root / f"renamed_copy.{ext}").write_text(renamed(code))
        old, new = EXTRA[ext]
        near = renamed(code).replace(old, new)
        assert near != renamed(code), ext
        (root / f"near_copy.{ext}").write_text(near)
    (root / "unrelated.py").write_text(
        "def parse_header(line):\n    key, _, value = line.partition(':')\n"
        "    key = key.strip().lower()\n    if not key:\n        raise ValueError('empty key')\n"
        "    return key, value.strip()\n"
    )


def no_model() -> Embedder:
    raise AssertionError("syntactic clones must not load a model")


@pytest.fixture
def index(tmp_path: Path) -> WorkspaceIndex:
    root = tmp_path / "ws"
    root.mkdir()
    make_workspace(root)
    settings = load_settings(root, {"index_dir": str(tmp_path / "index")})
    built = WorkspaceIndex(root, settings, LazyEmbedder(no_model))
    built.update(())  # parse and fingerprint only
    yield built
    built.close()


def kinds_by_file(index: WorkspaceIndex, ext: str) -> dict[str, str]:
    classes = find_clones(index, SYNTACTIC)
    cls = next(c for c in classes if any(hit.path == f"original.{ext}" for hit in c.members))
    return {hit.path: cls.member_kinds[hit.unit_id] for hit in cls.members if hit.path.endswith(ext)}


@pytest.mark.parametrize("ext", list(ORIGINALS))
def test_every_syntactic_kind_is_found_and_labelled_without_a_model(index: WorkspaceIndex, ext: str) -> None:
    kinds = kinds_by_file(index, ext)
    assert kinds[f"exact_copy.{ext}"] == "exact"
    assert kinds[f"renamed_copy.{ext}"] == "renamed"
    assert kinds[f"near_copy.{ext}"] == "near-miss"
    assert f"unrelated.{ext}" not in kinds


def test_pairs_carry_their_kind_and_score(index: WorkspaceIndex) -> None:
    found = dict(
        (unit.path, pairs) for unit, pairs in [(u, p) for u, p in clones_of(index, "near_copy.py", SYNTACTIC)]
    )
    pairs = found["near_copy.py"]
    assert {pair.kind for pair in pairs} == {"near-miss"}
    assert {pair.b.path for pair in pairs} == {"original.py", "exact_copy.py", "renamed_copy.py"}
    assert all(0.8 <= pair.score < 1.0 for pair in pairs)


def test_a_copy_changed_away_is_no_longer_reported(index: WorkspaceIndex) -> None:
    root = index.root
    (root / "renamed_copy.py").write_text("def other(x):\n    return [y * 2 for y in x if y]\n")
    index.update_paths(["renamed_copy.py"], ())
    assert "renamed_copy.py" not in kinds_by_file(index, "py")
    (root / "original.py").write_text(ORIGINALS["py"].replace("total / window", "total / (window or 1)"))
    index.update_paths(["original.py"], ())  # edited elsewhere: its copies are still found
    kinds = kinds_by_file(index, "py")
    assert kinds["original.py"] == "near-miss" and "exact_copy.py" in kinds


def test_fingerprints_are_filled_in_for_a_store_that_lacks_them(index: WorkspaceIndex) -> None:
    with index.store.transaction() as db:
        db.execute("DELETE FROM fingerprints")
    index.update(())
    assert kinds_by_file(index, "go")["renamed_copy.go"] == "renamed"
    rows = index.store.read("SELECT count(*) FROM fingerprints")
    hashes = index.store.read("SELECT count(DISTINCT hash) FROM units WHERE space = 'code'")
    assert rows == hashes


def test_semantic_and_cross_language_clones_from_the_embeddings(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "avg.py").write_text(ORIGINALS["py"])
    (root / "avg.js").write_text(ORIGINALS["js"])
    (root / "mean.py").write_text(  # the same job, written another way
        "def windowed_means(series, size):\n    means = []\n    start = 0\n"
        "    while start + size <= len(series):\n"
        "        means.append(sum(series[start:start + size]) / size)\n"
        "        start += 1\n    return means\n"
    )
    settings = load_settings(root, {"index_dir": str(tmp_path / "index")})
    index = WorkspaceIndex(root, settings, load_embedder("minilm", "cpu"))
    try:
        index.update(("code",))
        options = CloneOptions(semantic=0.5, min_tokens=20)
        pairs = {
            frozenset((p.a.path, p.b.path)): p.kind for c in find_clones(index, options) for p in c.pairs
        }
        assert pairs[frozenset(("avg.py", "avg.js"))] == "cross-language"
        assert pairs.get(frozenset(("avg.py", "mean.py"))) == "semantic"
    finally:
        index.close()


def test_fingerprints_survive_a_kill_mid_index(tmp_path: Path) -> None:
    """Fingerprints are committed with their file's units: a killed run leaves no unit without one,
    and the next run finds the clones without fingerprinting what was stored."""
    import signal
    import sqlite3
    import subprocess
    import sys
    import time

    root = tmp_path / "ws"
    root.mkdir()
    for number in range(600):
        body = "".join(f"    acc = acc * {i} + x[{i}]\n" for i in range(8))
        (root / f"gen_{number}.py").write_text(f"def f_{number}(x):\n    acc = 0\n{body}    return acc\n")
    index_dir = tmp_path / "index"
    cmd = [sys.executable, "-m", "lsp_server.entry", "duplicates", str(root), "--kinds", "exact,renamed"]
    proc = subprocess.Popen([*cmd, "--index-dir", str(index_dir), "--json"], stdout=subprocess.DEVNULL)
    db = index_dir / "index.sqlite3"
    deadline, units = time.monotonic() + 120, 0
    while time.monotonic() < deadline and proc.poll() is None and units < 50:
        if db.exists():
            try:
                with sqlite3.connect(db, timeout=1) as conn:
                    units = conn.execute("SELECT count(*) FROM units").fetchone()[0]
            except sqlite3.OperationalError:
                units = 0
        time.sleep(0.02)
    assert proc.poll() is None, "indexing finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT count(DISTINCT hash) FROM units WHERE space = 'code'").fetchone()[0]
        lacking = conn.execute(
            "SELECT count(*) FROM units u LEFT JOIN fingerprints f ON f.hash = u.hash"
            " WHERE u.space = 'code' AND f.hash IS NULL"
        ).fetchone()[0]
    assert 0 < stored < 600 and lacking == 0
    settings = load_settings(root, {"index_dir": str(index_dir)})
    index = WorkspaceIndex(root, settings, LazyEmbedder(no_model))
    try:
        index.update(())
        classes = find_clones(index, CloneOptions(kinds=frozenset({"renamed"})))
        assert len(classes) == 1 and len(classes[0].members) == 600
    finally:
        index.close()
