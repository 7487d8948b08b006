"""File discovery: .gitignore and .codekinignore aware, symlink-loop safe, cheap (stat only).

Content checks (binary, minified, generated) need the bytes, so they live in
``content_problem`` and run when the indexer reads a file it has to re-parse.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pathspec

from lsp_server.config import DEFAULT_EXCLUDES, Settings

log = logging.getLogger(__name__)

IGNORE_FILES = (".gitignore", ".codekinignore")


@dataclass(frozen=True, slots=True)
class FileStat:
    """A candidate file: its workspace-relative POSIX path and what ``stat`` said of it."""

    path: str
    size: int
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class Skipped:
    path: str
    reason: str


class _Ignores:
    """The gitignore-style specs in force for one folder: its own files plus its parents'."""

    def __init__(self, specs: tuple[tuple[str, pathspec.PathSpec], ...]) -> None:
        self.specs = specs

    def child(self, folder: Path, rel: str) -> _Ignores:
        lines: list[str] = []
        for name in IGNORE_FILES:
            try:
                lines += (folder / name).read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                continue
        if not lines:
            return self
        return _Ignores((*self.specs, (rel, pathspec.GitIgnoreSpec.from_lines(lines))))

    def ignored(self, rel: str, is_dir: bool) -> bool:
        for base, spec in self.specs:
            if base and not rel.startswith(base + "/"):
                continue
            sub = rel[len(base) + 1 :] if base else rel
            if spec.match_file(sub + "/" if is_dir else sub):
                return True
        return False


def discover(
    root: Path,
    settings: Settings,
    wanted: Callable[[str], bool],
    on_skip: Callable[[Skipped], None] | None = None,
) -> Iterator[FileStat]:
    """Yield the files under ``root`` that are wanted, not ignored and not too large.

    ``wanted`` decides by path (for example: a known language). Skips that a user
    may wonder about (too large, unreadable, a link out of the workspace or a loop)
    go to ``on_skip``; ignored paths are silent.
    """
    root = root.resolve()
    base_lines = [*DEFAULT_EXCLUDES, *settings.exclude]
    top = _Ignores((("", pathspec.GitIgnoreSpec.from_lines(base_lines)),))
    git_exclude = root / ".git" / "info" / "exclude"
    if git_exclude.is_file():
        top = _Ignores((*top.specs, ("", pathspec.GitIgnoreSpec.from_lines(_read_lines(git_exclude)))))
    include = pathspec.GitIgnoreSpec.from_lines(settings.include) if settings.include else None
    report = on_skip or (lambda skipped: log.info("skipped %s: %s", skipped.path, skipped.reason))

    seen_dirs: set[tuple[int, int]] = set()
    stack: list[tuple[Path, str, _Ignores]] = [(root, "", top)]
    while stack:
        folder, rel_folder, parent_ignores = stack.pop()
        try:
            folder_stat = folder.stat()
        except OSError as exc:
            report(Skipped(rel_folder or ".", f"unreadable folder: {exc.strerror or exc}"))
            continue
        key = (folder_stat.st_dev, folder_stat.st_ino)
        if key in seen_dirs:
            report(Skipped(rel_folder, "symlink loop or second link to a folder already scanned"))
            continue
        seen_dirs.add(key)
        ignores = parent_ignores.child(folder, rel_folder)
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError as exc:
            report(Skipped(rel_folder or ".", f"unreadable folder: {exc.strerror or exc}"))
            continue
        subfolders: list[tuple[Path, str, _Ignores]] = []
        for entry in entries:
            rel = f"{rel_folder}/{entry.name}" if rel_folder else entry.name
            try:
                is_link = entry.is_symlink()
                if is_link and not settings.follow_symlinks:
                    continue
                st = entry.stat(follow_symlinks=True)
            except OSError:
                if is_link:
                    report(Skipped(rel, "broken symlink"))
                continue
            if is_link and not _inside(Path(entry.path), root):
                report(Skipped(rel, "symlink that leaves the workspace"))
                continue
            is_dir = stat.S_ISDIR(st.st_mode)
            if ignores.ignored(rel, is_dir):
                continue
            if is_dir:
                subfolders.append((Path(entry.path), rel, ignores))
                continue
            if not stat.S_ISREG(st.st_mode) or not wanted(rel):
                continue
            if include is not None and not include.match_file(rel):
                continue
            if st.st_size > settings.max_file_bytes:
                report(Skipped(rel, f"larger than max_file_bytes ({st.st_size} > {settings.max_file_bytes})"))
                continue
            yield FileStat(rel, st.st_size, st.st_mtime_ns)
        stack.extend(reversed(subfolders))


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop in resolve()
        return False


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []


GENERATED_MARKERS = (b"@generated", b"Code generated", b"DO NOT EDIT", b"Autogenerated by", b"auto-generated")


def content_problem(data: bytes) -> str | None:
    """Why these bytes should not be indexed (binary, minified, generated), or None if they are fine."""
    head = data[:8192]
    if b"\x00" in head:
        return "binary (NUL bytes)"
    first_lines = data[:2048].split(b"\n", 5)[:5]
    if any(marker in line for line in first_lines for marker in GENERATED_MARKERS):
        return "generated (marker in its first lines)"
    sample = data[:65536]
    lines = sample.count(b"\n") + 1
    if len(sample) > 4096 and len(sample) / lines > 300:
        return "minified (average line longer than 300 characters)"
    return None
