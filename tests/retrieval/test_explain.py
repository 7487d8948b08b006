"""Explaining a pair of units: renames, lines only in one, changed lines and the diff, per language."""

from __future__ import annotations

import pytest

from lsp_server.retrieval.explain import Explanation, LineChange, Rename, explain

# One function per language, its names as fields: {f} the function, {xs} the list, {m} the
# margin, {t} the total, {x} the item; {op} the operator of line 4; {extra} a line 5 or nothing.
TEMPLATES = {
    "python": (
        "def {f}({xs}, {m}):\n"
        "    {t} = 0\n"
        "    for {x} in {xs}:\n"
        "        {t} += {x}.width {op} {m}\n"
        "{extra}"
        "    return {t}\n",
        "        log({x})\n",
    ),
    "javascript": (
        "function {f}({xs}, {m}) {{\n"
        "  let {t} = 0;\n"
        "  for (const {x} of {xs}) {{\n"
        "    {t} += {x}.width {op} {m};\n"
        "{extra}"
        "  }}\n"
        "  return {t};\n"
        "}}\n",
        "    log({x});\n",
    ),
    "java": (
        "int {f}(List<Item> {xs}, int {m}) {{\n"
        "    int {t} = 0;\n"
        "    for (Item {x} : {xs}) {{\n"
        "        {t} += {x}.width {op} {m};\n"
        "{extra}"
        "    }}\n"
        "    return {t};\n"
        "}}\n",
        "        log({x});\n",
    ),
    "go": (
        "func {f}({xs} []Item, {m} int) int {{\n"
        "\t{t} := 0\n"
        "\tfor _, {x} := range {xs} {{\n"
        "\t\t{t} += {x}.Width {op} {m}\n"
        "{extra}"
        "\t}}\n"
        "\treturn {t}\n"
        "}}\n",
        "\t\tlog({x})\n",
    ),
    "rust": (
        "fn {f}({xs}: &[Item], {m}: i32) -> i32 {{\n"
        "    let mut {t} = 0;\n"
        "    for {x} in {xs} {{\n"
        "        {t} += {x}.width {op} {m};\n"
        "{extra}"
        "    }}\n"
        "    {t}\n"
        "}}\n",
        "        log({x});\n",
    ),
}
NAMES = {"f": "total_width", "xs": "items", "m": "margin", "t": "total", "x": "item"}
OTHER_NAMES = {"f": "sum_widths", "xs": "boxes", "m": "shared", "t": "acc", "x": "box"}
LANGUAGES = sorted(TEMPLATES)


def unit(language: str, names: dict[str, str] = NAMES, op: str = "+", extra: bool = False) -> str:
    template, extra_line = TEMPLATES[language]
    return template.format(**names, op=op, extra=extra_line.format(**names) if extra else "")


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_renamed_copy_is_exactly_its_renames(language: str) -> None:
    a, b = unit(language), unit(language, OTHER_NAMES)
    found = explain(language, a, language, b)
    assert found.similarity == 1.0
    assert {(r.before, r.after) for r in found.renames} == {(NAMES[k], OTHER_NAMES[k]) for k in NAMES}
    assert found.renames[0] == Rename("total", "acc", 3)  # the most frequent first
    assert (found.changed, found.only_in_a, found.only_in_b, found.values) == ([], [], [], [])
    assert found.unified_diff == ""  # once renamed, a is b


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_added_statement_is_only_in_b(language: str) -> None:
    found = explain(language, unit(language), language, unit(language, extra=True))
    assert found.only_in_b == [5]
    assert (found.only_in_a, found.changed, found.renames) == ([], [], [])
    assert 0.8 < found.similarity < 1.0
    assert "+" + unit(language, extra=True).splitlines()[4] in found.unified_diff.splitlines()


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_changed_operator_is_a_changed_line(language: str) -> None:
    found = explain(language, unit(language), language, unit(language, OTHER_NAMES, op="-"))
    assert found.changed == [LineChange(4, 4)]
    assert (found.only_in_a, found.only_in_b) == ([], [])
    assert ("margin", "shared") in {(r.before, r.after) for r in found.renames}
    diff = found.unified_diff.splitlines()
    # Only the line with the operator shows in the diff: the renames are applied to a first.
    assert [line[0] for line in diff[3:] if line[0] in "+-"] == ["-", "+"]


def test_a_line_removed_from_b_is_only_in_a() -> None:
    found = explain("python", unit("python", extra=True), "python", unit("python"))
    assert (found.only_in_a, found.only_in_b, found.changed) == ([5], [], [])


UNRELATED = '''class Cache:
    """A tiny least-recently-used cache."""

    def __init__(self, size):
        self.size = size
        self.items = {}

    def get(self, key):
        if key in self.items:
            return self.items.pop(key)
        raise KeyError(key)
'''


def test_unrelated_code_is_not_similar() -> None:
    found = explain("python", unit("python"), "python", UNRELATED)
    assert found.similarity < 0.6  # well below a near-miss clone's 0.8; abstract streams share much
    assert found.only_in_b and found.changed
    assert explain("python", unit("python"), "python", unit("python", OTHER_NAMES)).similarity == 1.0


CONFLICT_A = """def f():
    x = a + 1
    y = a + 2
    return x + y
"""
CONFLICT_B = """def f():
    x = p + 1
    y = q + 2
    return x + y
"""


def test_a_name_that_faces_two_names_equally_is_no_rename() -> None:
    found = explain("python", CONFLICT_A, "python", CONFLICT_B)
    assert found.renames == []  # a faces p once and q once
    assert found.changed == [LineChange(2, 2), LineChange(3, 3)]
    assert found.similarity == 1.0  # the streams align; the names do not map one to one
    assert [line for line in found.unified_diff.splitlines() if line[0] in "+-"][2:] == [
        "-    x = a + 1",
        "-    y = a + 2",
        "+    x = p + 1",
        "+    y = q + 2",
    ]


def test_a_name_that_faces_one_name_mostly_is_renamed_and_the_odd_place_changed() -> None:
    a = "def f(a, b):\n    x = a + 1\n    y = a + 2\n    return x + y\n"
    b = "def f(p, q):\n    x = p + 1\n    y = q + 2\n    return x + y\n"
    found = explain("python", a, "python", b)
    assert found.renames == [Rename("a", "p", 2)]  # b faces q, but q faces a as often: no rename
    assert found.changed == [LineChange(1, 1), LineChange(3, 3)]


def test_a_method_keeps_the_renames_of_the_function_it_copies() -> None:
    a = "def add(total, step):\n    total += step\n    return total + step\n"
    b = "def add(self, total, delta):\n    total += delta\n    return total + delta\n"
    found = explain("python", a, "python", b)
    assert found.renames == [Rename("step", "delta", 3)]
    assert (found.changed, found.only_in_a, found.only_in_b) == ([LineChange(1, 1)], [], [])


def test_a_name_kept_in_most_places_but_changed_in_one_is_a_change() -> None:
    a = "def f(x, y):\n    z = x * 2\n    return x + z\n"
    b = "def f(x, y):\n    z = x * 2\n    return y + z\n"
    found = explain("python", a, "python", b)
    assert found.renames == [] and found.changed == [LineChange(3, 3)]


def test_changed_constants_are_values_not_changes() -> None:
    a = 'def retry(call):\n    for _ in range(3):\n        call(timeout=10, tag="x")\n'
    b = 'def retry(call):\n    for _ in range(5):\n        call(timeout=10, tag="y")\n'
    found = explain("python", a, "python", b)
    assert found.values == [Rename('"x"', '"y"', 1), Rename("3", "5", 1)]
    assert (found.renames, found.changed) == ([], [])
    assert found.unified_diff == ""


def test_layout_and_comments_do_not_count() -> None:
    a = unit("python")
    b = a.replace("    return", "    # the sum\n\n    return").replace(" += ", "  +=  ")
    found = explain("python", a, "python", b)
    assert (found.changed, found.only_in_a, found.only_in_b, found.renames) == ([], [], [], [])
    assert found.similarity == 1.0


def test_across_languages_the_streams_still_align_where_they_can() -> None:
    found = explain("javascript", unit("javascript"), "java", unit("java"))
    assert 0.5 < found.similarity < 1.0
    assert ("margin", "margin") not in {(r.before, r.after) for r in found.renames}


def test_the_diff_is_numbered_as_file_lines() -> None:
    found: Explanation = explain(
        "python",
        unit("python"),
        "python",
        unit("python", op="-"),
        name_a="src/a.py",
        name_b="src/b.py",
        first_line_a=10,
        first_line_b=40,
    )
    assert found.unified_diff.splitlines()[:3] == ["--- src/a.py", "+++ src/b.py", "@@ -10,5 +40,5 @@"]
    assert found.changed == [LineChange(4, 4)]  # the rest stays unit-relative


def test_empty_units() -> None:
    assert explain("python", "", "python", "").similarity == 1.0
    found = explain("python", "", "python", unit("python"))
    assert found.similarity == 0.0 and found.only_in_b == [1, 2, 3, 4, 5]
