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
from lsp_server.workspace.names import name_problem, shown

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
    """A file or folder left out for a reason the user may want to know."""

    path: str
    reason: str


class _Ignores:
    """The gitignore-style specs in force for one folder: its own files plus its parents'."""

    def __init__(self, specs: tuple[tuple[str, pathspec.PathSpec], ...]) -> None:
        self.specs = specs

    def child(self, folder: Path, rel: str) -> _Ignores:
        """The ignores for ``folder``: these plus its own ignore files, if it has any."""
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
        """Whether any spec in force ignores ``rel``, each matched relative to its own folder."""
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
    yield from _Walker(root.resolve(), settings, wanted, on_skip or _log_skip).files()


def _log_skip(skipped: Skipped) -> None:
    """Without an ``on_skip``, a skip is worth a log line: nobody asked to hear about it."""
    log.info("skipped %s: %s", shown(skipped.path), skipped.reason)


def _top_ignores(root: Path, settings: Settings) -> _Ignores:
    """What is ignored everywhere: built-in and configured excludes, and ``.git/info/exclude``."""
    base_lines = [*DEFAULT_EXCLUDES, *settings.exclude]
    top = _Ignores((("", pathspec.GitIgnoreSpec.from_lines(base_lines)),))
    git_exclude = root / ".git" / "info" / "exclude"
    if git_exclude.is_file():
        top = _Ignores((*top.specs, ("", pathspec.GitIgnoreSpec.from_lines(_read_lines(git_exclude)))))
    return top


_FolderToScan = tuple[Path, str, _Ignores]
"""A folder, its workspace-relative path and the ignores in force in its parent."""


class _Walker:
    """One discovery run: what it looks for, and the folders seen so far (to stop at symlink loops)."""

    def __init__(
        self,
        root: Path,
        settings: Settings,
        wanted: Callable[[str], bool],
        report: Callable[[Skipped], None],
    ) -> None:
        self.root = root
        self.settings = settings
        self.wanted = wanted
        self.report = report
        self.include = pathspec.GitIgnoreSpec.from_lines(settings.include) if settings.include else None
        self.seen_dirs: set[tuple[int, int]] = set()

    def files(self) -> Iterator[FileStat]:
        """Depth-first, in name order, so that results are stable between runs."""
        stack: list[_FolderToScan] = [(self.root, "", _top_ignores(self.root, self.settings))]
        while stack:
            folder, rel_folder, parent_ignores = stack.pop()
            if not self._first_visit(folder, rel_folder):
                continue
            ignores = parent_ignores.child(folder, rel_folder)
            entries = self._entries(folder, rel_folder)
            if entries is None:
                continue
            subfolders: list[_FolderToScan] = []
            for entry in entries:
                rel = f"{rel_folder}/{entry.name}" if rel_folder else entry.name
                st = self._entry_stat(entry, rel)
                if st is None:
                    continue
                is_dir = stat.S_ISDIR(st.st_mode)
                if ignores.ignored(rel, is_dir):
                    continue
                if is_dir:
                    if (problem := name_problem(rel)) is not None:
                        self.report(Skipped(rel + "/", f"folder not scanned: {problem}"))
                    else:
                        subfolders.append((Path(entry.path), rel, ignores))
                    continue
                found = self._wanted_file(rel, st)
                if found is not None:
                    yield found
            stack.extend(reversed(subfolders))

    def _first_visit(self, folder: Path, rel_folder: str) -> bool:
        """Whether ``folder`` is readable and not already scanned through another link."""
        try:
            folder_stat = folder.stat()
        except OSError as exc:
            self.report(Skipped(rel_folder or ".", f"unreadable folder: {exc.strerror or exc}"))
            return False
        key = (folder_stat.st_dev, folder_stat.st_ino)
        if key in self.seen_dirs:
            self.report(Skipped(rel_folder, "symlink loop or second link to a folder already scanned"))
            return False
        self.seen_dirs.add(key)
        return True

    def _entries(self, folder: Path, rel_folder: str) -> list[os.DirEntry[str]] | None:
        """The folder's entries sorted by name, or None (reported) when it cannot be listed."""
        try:
            return sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError as exc:
            self.report(Skipped(rel_folder or ".", f"unreadable folder: {exc.strerror or exc}"))
            return None

    def _entry_stat(self, entry: os.DirEntry[str], rel: str) -> os.stat_result | None:
        """``stat`` of an entry; symlinks are followed only when allowed and within the workspace."""
        is_link = False
        try:
            is_link = entry.is_symlink()
            if is_link and not self.settings.follow_symlinks:
                return None
            st = entry.stat(follow_symlinks=True)
        except OSError:
            if is_link:
                self.report(Skipped(rel, "broken symlink"))
            return None
        if is_link and not _inside(Path(entry.path), self.root):
            self.report(Skipped(rel, "symlink that leaves the workspace"))
            return None
        return st

    def _wanted_file(self, rel: str, st: os.stat_result) -> FileStat | None:
        """The file when it is regular, wanted, included and not too large (which is reported)."""
        if not stat.S_ISREG(st.st_mode) or not self.wanted(rel):
            return None
        if self.include is not None and not self.include.match_file(rel):
            return None
        if (problem := name_problem(rel)) is not None:
            self.report(Skipped(rel, problem))
            return None
        if st.st_size > self.settings.max_file_bytes:
            limit = self.settings.max_file_bytes
            self.report(Skipped(rel, f"larger than max_file_bytes ({st.st_size} > {limit})"))
            return None
        return FileStat(rel, st.st_size, st.st_mtime_ns)


def _inside(path: Path, root: Path) -> bool:
    """Whether ``path`` resolves to somewhere inside ``root``; False when it cannot be resolved."""
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop in resolve()
        return False


def _read_lines(path: Path) -> list[str]:
    """The file's lines, or none when it cannot be read (a missing ignore file is no error)."""
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
