"""Split Markdown and reStructuredText files into sections, one DocUnit per section.

A section runs from its heading to the line before the next heading of any level, so
sections never overlap; its name is the path of headings leading to it ("Install > From
source") so that a short subsection still says what it belongs to. Text before the first
heading becomes a section named after the file. Sections with no text besides their heading
are skipped. This is line-based scanning, not a full parser: it only has to find headings
reliably (never inside fenced code blocks or YAML/TOML front matter).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from lsp_server.units.model import DocUnit

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
# Any run of one repeated punctuation character can adorn an RST title.
_RST_ADORNMENT = re.compile(r"^([!-/:-@\[-`{-~])\1+[ \t]*$")
_WORD = re.compile(r"\w")


@dataclass(slots=True)
class _Heading:
    start: int
    """0-based index of the heading's first line (overline or title text)."""
    end: int
    """0-based index of the heading's last line (the underline for setext/RST)."""
    level: int
    title: str


def _file_label(path: str) -> str:
    return os.path.basename(path) or path


def _skip_front_matter(lines: list[str]) -> int:
    """Index of the first line after YAML (---) or TOML (+++) front matter, 0 when none."""
    if not lines:
        return 0
    opener = lines[0].rstrip()
    if opener not in ("---", "+++"):
        return 0
    closers = ("---", "...") if opener == "---" else ("+++",)
    for i in range(1, len(lines)):
        if lines[i].rstrip() in closers:
            return i + 1
    return 0


def _markdown_headings(lines: list[str], first: int) -> list[_Heading]:
    headings: list[_Heading] = []
    fence: str | None = None
    para_start: int | None = None  # first line of the current paragraph, for setext headings
    for i in range(first, len(lines)):
        line = lines[i]
        if fence is not None:
            stripped = line.strip()
            if stripped.startswith(fence[0] * len(fence)) and stripped.strip(fence[0]) == "":
                fence = None
            continue
        fence_match = _FENCE.match(line)
        if fence_match is not None:
            marker = fence_match.group(1)
            # A backtick fence's info string may not contain backticks (CommonMark).
            if not (marker[0] == "`" and "`" in fence_match.group(2)):
                fence = marker
                para_start = None
                continue
        if not line.strip():
            para_start = None
            continue
        atx = _ATX.match(line)
        if atx is not None:
            title = (atx.group(2) or "").strip()
            headings.append(_Heading(i, i, len(atx.group(1)), title))
            para_start = None
            continue
        setext = _SETEXT.match(line)
        if setext is not None and para_start is not None:
            title = " ".join(lines[j].strip() for j in range(para_start, i))
            level = 1 if setext.group(1)[0] == "=" else 2
            headings.append(_Heading(para_start, i, level, title))
            para_start = None
            continue
        if para_start is None and not line.startswith("    ") and not line.startswith("\t"):
            para_start = i
    return headings


def _rst_headings(lines: list[str]) -> list[_Heading]:
    headings: list[_Heading] = []
    styles: list[tuple[str, bool]] = []  # adornment styles in order of first use = levels
    n = len(lines)
    i = 0
    while i < n:
        line = lines[i]
        over = _RST_ADORNMENT.match(line)
        # Overline + title + underline.
        if over is not None and i + 2 < n and lines[i + 1].strip():
            under = _RST_ADORNMENT.match(lines[i + 2])
            title = lines[i + 1].strip()
            if (
                under is not None
                and under.group(1) == over.group(1)
                and len(lines[i + 2].rstrip()) >= len(title)
                and not _RST_ADORNMENT.match(lines[i + 1])
            ):
                style = (over.group(1), True)
                if style not in styles:
                    styles.append(style)
                headings.append(_Heading(i, i + 2, styles.index(style) + 1, title))
                i += 3
                continue
        # Title + underline: the title must start at column 0 and follow a blank line or a heading.
        if (
            i + 1 < n
            and line.strip()
            and not line[0].isspace()
            and over is None
            and (i == 0 or not lines[i - 1].strip() or (headings and headings[-1].end == i - 1))
        ):
            under = _RST_ADORNMENT.match(lines[i + 1])
            if under is not None:
                title = line.strip()
                width = len(lines[i + 1].rstrip())
                if width >= len(title) or width >= 4:
                    style = (under.group(1), False)
                    if style not in styles:
                        styles.append(style)
                    headings.append(_Heading(i, i + 1, styles.index(style) + 1, title))
                    i += 2
                    continue
        i += 1
    return headings


def _sections(
    lines: list[str], headings: list[_Heading], first: int, path: str, language: str
) -> list[DocUnit]:
    """Turn heading positions into non-overlapping, non-empty section units."""
    units: list[DocUnit] = []

    def emit(name: str, start: int, body_start: int, stop: int) -> None:
        end = stop - 1
        while end >= body_start and not lines[end].strip():
            end -= 1
        if end < body_start:
            return  # nothing besides the heading
        body = lines[body_start : end + 1]
        if not any(_WORD.search(line) for line in body):
            return
        text = "\n".join(lines[start : end + 1])
        units.append(
            DocUnit(
                name=name,
                kind="section",
                language=language,
                start_line=start + 1,
                end_line=end + 1,
                text=text,
            )
        )

    preamble_stop = headings[0].start if headings else len(lines)
    preamble_start = first
    while preamble_start < preamble_stop and not lines[preamble_start].strip():
        preamble_start += 1
    emit(_file_label(path), preamble_start, preamble_start, preamble_stop)

    stack: list[tuple[int, str]] = []  # (level, title) of the enclosing headings
    for k, heading in enumerate(headings):
        while stack and stack[-1][0] >= heading.level:
            stack.pop()
        stack.append((heading.level, heading.title or "(untitled)"))
        stop = headings[k + 1].start if k + 1 < len(headings) else len(lines)
        emit(" > ".join(title for _, title in stack), heading.start, heading.end + 1, stop)
    return units


def _split_lines(text: str) -> list[str]:
    # Only \n and \r\n end lines here, matching how editors and tree-sitter count them.
    return text.replace("\r\n", "\n").split("\n")


def markdown_sections(path: str, text: str) -> list[DocUnit]:
    """Sections of a Markdown file; ATX and setext headings, fenced blocks respected."""
    lines = _split_lines(text)
    first = _skip_front_matter(lines)
    return _sections(lines, _markdown_headings(lines, first), first, path, "markdown")


def rst_sections(path: str, text: str) -> list[DocUnit]:
    """Sections of a reStructuredText file; levels follow the order adornment styles appear in."""
    lines = _split_lines(text)
    return _sections(lines, _rst_headings(lines), 0, path, "rst")


def doc_sections(path: str, language: str, text: str) -> list[DocUnit]:
    """Sections for a documentation language ("markdown" or "rst"); [] for anything else."""
    if language == "markdown":
        return markdown_sections(path, text)
    if language == "rst":
        return rst_sections(path, text)
    return []
