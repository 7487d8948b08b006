"""Markdown and reStructuredText sectioning edge cases."""

from __future__ import annotations

import textwrap

from lsp_server.units.docs import doc_sections, markdown_sections, rst_sections


def md(text: str) -> list[tuple[str, int, int]]:
    units = markdown_sections("docs/guide.md", textwrap.dedent(text).lstrip("\n"))
    assert all(u.kind == "section" and u.language == "markdown" for u in units)
    return [(u.name, u.start_line, u.end_line) for u in units]


def rst(text: str) -> list[tuple[str, int, int]]:
    units = rst_sections("docs/guide.rst", textwrap.dedent(text).lstrip("\n"))
    assert all(u.kind == "section" and u.language == "rst" for u in units)
    return [(u.name, u.start_line, u.end_line) for u in units]


def test_markdown_atx_variants() -> None:
    assert md(
        """
        # Title #

        text

        #hashtag is not a heading
        ####### seven hashes is not either

           ### Indented three ###
        body
        """
    ) == [("Title", 1, 6), ("Title > Indented three", 8, 9)]


def test_markdown_tilde_and_long_fences() -> None:
    assert md(
        """
        # A

        ~~~
        # inside tilde fence
        ~~~

        ````md
        ```
        # inside, the inner fence does not close the outer one
        ```
        ````

        # B
        b text
        """
    ) == [("A", 1, 11), ("B", 13, 14)]


def test_markdown_unclosed_fence_hides_later_headings() -> None:
    assert md(
        """
        # A
        ```
        # not a heading
        """
    ) == [("A", 1, 3)]


def test_markdown_thematic_break_is_not_setext() -> None:
    assert md(
        """
        # A

        para

        ---

        more
        """
    ) == [("A", 1, 7)]


def test_markdown_levels_pop_correctly() -> None:
    assert md(
        """
        # One
        a
        ## Two
        b
        ### Three
        c
        ## Four
        d
        # Five
        e
        """
    ) == [
        ("One", 1, 2),
        ("One > Two", 3, 4),
        ("One > Two > Three", 5, 6),
        ("One > Four", 7, 8),
        ("Five", 9, 10),
    ]


def test_markdown_section_text_and_crlf() -> None:
    units = markdown_sections("a.md", "# T\r\n\r\nline one\r\nline two\r\n")
    assert [(u.name, u.start_line, u.end_line, u.text) for u in units] == [
        ("T", 1, 4, "# T\n\nline one\nline two")
    ]


def test_markdown_empty_and_heading_only() -> None:
    assert md("") == []
    assert md("# Only a heading\n\n## And another\n") == []


def test_rst_overline_styles_and_transitions() -> None:
    assert rst(
        """
        .. comment before the title

        ###########
          Overview
        ###########

        Intro text.

        ----------

        After a transition, still the overview.

        Part
        ====

        Part text.
        """
    ) == [
        ("guide.rst", 1, 1),
        ("Overview", 3, 11),
        ("Overview > Part", 13, 16),
    ]


def test_rst_literal_block_underline_is_not_heading() -> None:
    assert rst(
        """
        Title
        =====

        Example::

            text
            ====
        """
    ) == [("Title", 1, 7)]


def test_doc_sections_dispatch() -> None:
    assert doc_sections("a.txt", "text", "# x\nbody\n") == []
    assert [u.name for u in doc_sections("a.md", "markdown", "# x\nbody\n")] == ["x"]
