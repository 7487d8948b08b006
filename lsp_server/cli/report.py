"""What `codekin duplicates` hands to CI: a SARIF 2.1.0 log, and a baseline of known clone pairs.

Both rest on one key per clone pair (`pair_key`). It is built from what a pair *is* — its kind and,
for each side, the path, the name and the content hash — and never from line numbers, so a clone
that only moved within its file is not new; the two sides are sorted first, so it does not matter
which member the engine called `a`. Any edit of either side, a rename, or a move to another file
gives a new key: that pair is then reported again and `--update-baseline` records it.

Pure functions over the engine's dataclasses: no index, no protocol, no printing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from lsp_server.retrieval.clone_model import KINDS, CloneClass, CloneKind, ClonePair
from lsp_server.retrieval.hits import Hit

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SARIF_VERSION = "2.1.0"
SRCROOT = "SRCROOT"
FINGERPRINT = "codekinClonePair/v1"
"""The partialFingerprints entry; its `/v1` changes whenever `pair_key` does."""
BASELINE_VERSION = 1
_KEY = re.compile(r"[0-9a-f]{32}")

_RULE_TEXT: dict[CloneKind, tuple[str, str, str]] = {
    "exact": (
        "ExactClone",
        "Exact clone",
        "The same tokens as another unit; only layout and comments differ (a Type-1 clone). "
        "Usually a copy that is better shared than kept twice.",
    ),
    "renamed": (
        "RenamedClone",
        "Renamed clone",
        "The same tokens as another unit once identifiers and literals are abstracted "
        "(a Type-2 clone): a copy whose names or constants were changed.",
    ),
    "near-miss": (
        "NearMissClone",
        "Near-miss clone",
        "Most tokens align with another unit after abstraction, with statements added, removed "
        "or changed (a Type-3 clone): a copy that has started to drift.",
    ),
    "semantic": (
        "SemanticClone",
        "Semantic clone",
        "Written differently from another unit, but alike by their code embeddings (a Type-4 clone): "
        "possibly the same job done twice.",
    ),
    "cross-language": (
        "CrossLanguageClone",
        "Cross-language clone",
        "Alike by their code embeddings to a unit in another language: the same logic kept in two "
        "languages, which has to be changed in both.",
    ),
}


# -- keys ----------------------------------------------------------------------------------------------


def _side(hit: Hit) -> tuple[str, str, str]:
    """What identifies one side of a pair: where it lives and what it is, never its lines."""
    return (hit.path, hit.name, hit.content_hash)


def _sides(pair: ClonePair) -> tuple[Hit, Hit]:
    """The pair's hits in key order, so that both orders of one pair give one key."""
    return (pair.a, pair.b) if _side(pair.a) <= _side(pair.b) else (pair.b, pair.a)


def pair_key(pair: ClonePair) -> str:
    """A clone pair's stable identity: the same after line moves and side swaps, new after edits."""
    first, second = _sides(pair)
    text = json.dumps([pair.kind, _side(first), _side(second)], separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _unique_pairs(classes: Sequence[CloneClass]) -> Iterator[tuple[str, ClonePair]]:
    """Each pair once (by key), in the engine's order: a pair found twice is one finding."""
    seen: set[str] = set()
    for clone_class in classes:
        for pair in clone_class.pairs:
            key = pair_key(pair)
            if key not in seen:
                seen.add(key)
                yield key, pair


def baseline_keys(classes: Sequence[CloneClass]) -> set[str]:
    """The keys of every pair in `classes`: what a baseline written now would hold."""
    return {key for key, _ in _unique_pairs(classes)}


def new_pairs(classes: Sequence[CloneClass], known: set[str]) -> list[ClonePair]:
    """The pairs a baseline does not know yet (once each, in report order): what `--fail-on-new` fails on."""
    return [pair for key, pair in _unique_pairs(classes) if key not in known]


# -- baseline file -------------------------------------------------------------------------------------


def _baseline_entry(key: str, pair: ClonePair) -> dict[str, Any]:
    first, second = _sides(pair)
    return {
        "key": key,
        "kind": pair.kind,
        "a": {"path": first.path, "name": first.name},
        "b": {"path": second.path, "name": second.name},
    }


def _entry_order(entry: dict[str, Any]) -> tuple[str, ...]:
    a, b = entry["a"], entry["b"]
    return (a["path"], a["name"], b["path"], b["name"], entry["kind"], entry["key"])


def write_baseline(path: Path, classes: Sequence[CloneClass]) -> None:
    """Record the current pairs, sorted by path and name so that the file diffs readably in a
    repository; written to a temporary file and renamed, so a killed run leaves the old one whole."""
    entries = sorted((_baseline_entry(key, pair) for key, pair in _unique_pairs(classes)), key=_entry_order)
    document = {"version": BASELINE_VERSION, "tool": "codekin", "clones": entries}
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_baseline(path: Path) -> set[str]:
    """The keys a baseline file holds. A file that is not a readable codekin baseline raises a
    `ValueError` naming it, rather than passing as an empty baseline (which would let every clone
    through as new, or none). A missing file raises `FileNotFoundError`, for the caller to decide."""
    raw = path.read_bytes()
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: not a codekin baseline (not JSON: {err})") from err
    if not isinstance(document, dict) or document.get("tool") != "codekin":
        raise ValueError(f'{path}: not a codekin baseline (no "tool": "codekin")')
    version = document.get("version")
    if version != BASELINE_VERSION:
        raise ValueError(
            f"{path}: codekin baseline version {version!r}, this codekin reads version {BASELINE_VERSION}"
        )
    clones = document.get("clones")
    if not isinstance(clones, list):
        raise ValueError(f'{path}: damaged codekin baseline ("clones" is not a list)')
    keys: set[str] = set()
    for number, entry in enumerate(clones):
        key = entry.get("key") if isinstance(entry, dict) else None
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise ValueError(f'{path}: damaged codekin baseline (clone {number} has no valid "key")')
        keys.add(key)
    return keys


# -- SARIF ---------------------------------------------------------------------------------------------


def rule_id(kind: CloneKind) -> str:
    """One rule per kind, so CI can filter or gate on the kinds it cares about."""
    return f"codekin/clone/{kind}"


def _rules() -> list[dict[str, Any]]:
    """One rule per clone kind, always all of them, so a rule's index never depends on the findings."""
    rules = []
    for kind in KINDS:
        name, short, full = _RULE_TEXT[kind]
        rules.append(
            {
                "id": rule_id(kind),
                "name": name,
                "shortDescription": {"text": short},
                "fullDescription": {"text": full},
                "defaultConfiguration": {"level": "note"},
                "properties": {"tags": ["maintainability", "duplicate-code"]},
            }
        )
    return rules


def _artifact_uri(path: str) -> str:
    """A workspace-relative POSIX path as a relative URI reference (spaces and the like escaped)."""
    return quote(path, safe="/")


def _physical_location(hit: Hit) -> dict[str, Any]:
    return {
        "artifactLocation": {"uri": _artifact_uri(hit.path), "uriBaseId": SRCROOT},
        "region": {"startLine": hit.start_line, "endLine": max(hit.end_line, hit.start_line)},
    }


def _result(key: str, pair: ClonePair) -> dict[str, Any]:
    a, b = pair.a, pair.b
    return {
        "ruleId": rule_id(pair.kind),
        "ruleIndex": KINDS.index(pair.kind),
        "level": "note",
        "message": {"text": f"{pair.kind} clone of {b.name} ({b.path}:{b.start_line}-{b.end_line})"},
        "locations": [{"physicalLocation": _physical_location(a)}],
        "relatedLocations": [
            {"id": 1, "physicalLocation": _physical_location(b), "message": {"text": f"{b.name} ({b.kind})"}}
        ],
        "partialFingerprints": {FINGERPRINT: key},
        "properties": {"score": round(float(pair.score), 6), "kind": pair.kind},
    }


def sarif_report(classes: Sequence[CloneClass], *, tool_version: str, root_uri: str) -> dict[str, Any]:
    """A SARIF 2.1.0 log with one result per clone pair, for code-scanning uploads and review bots.
    Paths stay relative to SRCROOT, which `originalUriBaseIds` maps to `root_uri` (the spec wants a
    base URI to end with a slash; one is added if missing)."""
    base = root_uri if root_uri.endswith("/") else root_uri + "/"
    run = {
        "tool": {"driver": {"name": "codekin", "version": tool_version, "rules": _rules()}},
        "originalUriBaseIds": {SRCROOT: {"uri": base}},
        "results": [_result(key, pair) for key, pair in _unique_pairs(classes)],
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}
