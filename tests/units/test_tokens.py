"""Token streams: comments and layout gone, identifiers and literals abstracted, parse errors survived."""

from __future__ import annotations

from lsp_server.units.fingerprint import fingerprint
from lsp_server.units.tokens import code_tokens, line_span, source_tokens


def test_a_reformatted_and_recommented_copy_has_the_same_stream() -> None:
    a = "def f(a, b=3):\n    # sum\n    return a + b * 2\n"
    b = "def f( a,\n       b = 3 ):\n    return a+b*2  # the same\n"
    assert [t.text for t in code_tokens("python", a)] == [t.text for t in code_tokens("python", b)]


def test_renaming_and_other_literals_keep_the_renamed_stream() -> None:
    a = fingerprint("java", 'int f(int a) { String s = "x"; return a + 1 + s.length(); }')
    b = fingerprint("java", 'int g(int n) { String t = "y"; return n + 2 + t.length(); }')
    assert a is not None and b is not None
    assert a.renamed == b.renamed and a.exact != b.exact
    assert a.stream[:4] == ("int", "$", "(", "int")


def test_a_string_is_one_literal_token_and_comments_are_none() -> None:
    tokens = code_tokens("javascript", "const s = `a ${b} c`; // note\n")
    assert [(t.text, t.category) for t in tokens] == [
        ("const", "other"),
        ("s", "identifier"),
        ("=", "other"),
        ("`a ${b} c`", "literal"),
        (";", "other"),
    ]


def test_code_that_does_not_parse_still_has_tokens() -> None:
    assert [t.text for t in code_tokens("cpp", "int f( { x = ; }")] == [
        "int",
        "f",
        "(",
        "{",
        "x",
        "=",
        ";",
        "}",
    ]
    assert code_tokens("markdown", "# not code") == []


def test_a_units_tokens_are_its_lines_of_the_file() -> None:
    source = b"def a():\n    return 1\n\n\ndef b(x):\n    return x\n"
    tokens = source_tokens("python", source)
    span = tokens[line_span([t.line for t in tokens], 5, 6)]
    assert [t.text for t in span] == [t.text for t in code_tokens("python", "def b(x):\n    return x\n")]
