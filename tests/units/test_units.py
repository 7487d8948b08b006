"""Extraction of symbols and doc units: small real snippets per language plus malformed input."""

from __future__ import annotations

import textwrap

import pytest

from lsp_server.units.extract import extract, extract_text
from lsp_server.units.languages import CODE_LANGUAGES, get_parser, language_for_path
from lsp_server.units.model import FileUnits, Symbol
from lsp_server.units.specs import SUPPORTED_CODE_LANGUAGES, compiled_spec


def units(path: str, source: str) -> FileUnits:
    result = extract(path, textwrap.dedent(source).lstrip("\n").encode("utf-8"))
    assert result is not None
    return result


def symbols(path: str, source: str) -> dict[str, Symbol]:
    found = units(path, source).symbols
    by_name = {s.name: s for s in found}
    assert len(by_name) == len(found), [s.name for s in found]
    return by_name


def kinds(found: dict[str, Symbol]) -> dict[str, str]:
    return {name: s.kind for name, s in found.items()}


# --------------------------------------------------------------------------- languages


@pytest.mark.parametrize(
    ("path", "language"),
    [
        ("a/b.py", "python"),
        ("x.pyi", "python"),
        ("x.js", "javascript"),
        ("x.mjs", "javascript"),
        ("x.jsx", "javascript"),
        ("x.ts", "typescript"),
        ("x.d.ts", "typescript"),
        ("x.tsx", "tsx"),
        ("x.go", "go"),
        ("x.rs", "rust"),
        ("X.java", "java"),
        ("x.c", "c"),
        ("x.h", "c"),
        ("x.cc", "cpp"),
        ("x.HPP", "cpp"),
        ("x.cs", "csharp"),
        ("x.rb", "ruby"),
        ("proj/Rakefile", "ruby"),
        ("x.php", "php"),
        ("README.md", "markdown"),
        ("index.rst", "rst"),
        ("x.txt", None),
        ("Makefile", None),
        ("noext", None),
    ],
)
def test_language_for_path(path: str, language: str | None) -> None:
    assert language_for_path(path) == language


def test_unknown_language_gives_none() -> None:
    assert extract("notes.txt", b"def f(): pass") is None


def test_parsers_are_cached_per_thread() -> None:
    assert get_parser("python") is get_parser("python")
    assert get_parser("python") is not get_parser("go")


# --------------------------------------------------------------------------- python

PY_SOURCE = '''
"""Module docstring for shapes."""

import math


# Area of a circle.
def area(r: float) -> float:
    """Return the area of a circle.

    Args:
        r: the radius.
    """
    return math.pi * r * r


class Shape(Base):
    """A shape."""

    @property
    @cached(
        size=2,
    )
    def size(self) -> int:
        return 1

    class Inner:
        def run(self):
            def helper():
                return 2

            return helper()


def plain(x):  # trailing comment is no doc
    return x
'''


def test_python_symbols_names_kinds_lines() -> None:
    found = symbols("pkg/shapes.py", PY_SOURCE)
    assert kinds(found) == {
        "area": "function",
        "Shape": "class",
        "Shape.size": "method",
        "Shape.Inner": "class",
        "Shape.Inner.run": "method",
        "Shape.Inner.run.helper": "function",
        "plain": "function",
    }
    assert (found["area"].start_line, found["area"].end_line) == (7, 13)
    assert (found["Shape"].start_line, found["Shape"].end_line) == (16, 31)
    assert all(s.language == "python" for s in found.values())


def test_python_docstring_head_body() -> None:
    area = symbols("shapes.py", PY_SOURCE)["area"]
    # The docstring wins over the comment above the def.
    assert area.doc == "Return the area of a circle.\n\nArgs:\n    r: the radius."
    assert (area.doc_start_line, area.doc_end_line) == (8, 12)
    assert area.head == (
        'def area(r: float) -> float:\n    """Return the area of a circle.\n\n'
        '    Args:\n        r: the radius.\n    """'
    )
    assert area.body == "    return math.pi * r * r"
    assert area.code == area.head + "\n" + area.body


def test_python_decorators_start_the_symbol() -> None:
    size = symbols("shapes.py", PY_SOURCE)["Shape.size"]
    assert size.start_line == 19  # the first decorator's line
    assert size.end_line == 24
    assert size.code.startswith("@property\n    @cached(\n        size=2,\n    )\n    def size(self) -> int:")
    assert size.head.endswith("def size(self) -> int:")
    assert size.body == "        return 1"
    assert size.doc is None


def test_python_class_head_is_line_plus_docstring() -> None:
    shape = symbols("shapes.py", PY_SOURCE)["Shape"]
    assert shape.head == 'class Shape(Base):\n    """A shape."""'
    assert shape.body.startswith("\n    @property")  # blank line after the docstring is kept
    assert shape.doc == "A shape."


def test_python_trailing_comment_is_not_doc() -> None:
    plain = symbols("shapes.py", PY_SOURCE)["plain"]
    assert plain.doc is None
    assert plain.head == "def plain(x):  # trailing comment is no doc"
    assert plain.body == "    return x"


def test_python_comment_doc_when_no_docstring() -> None:
    found = symbols(
        "m.py",
        """
        x = 1

        # Compute the thing
        # in two lines.
        def thing():
            return 2
        """,
    )
    thing = found["thing"]
    assert thing.doc == "Compute the thing\nin two lines."
    assert (thing.doc_start_line, thing.doc_end_line) == (3, 4)
    assert thing.head == "def thing():"


def test_python_doc_units() -> None:
    result = units("pkg/shapes.py", PY_SOURCE)
    docs = {(d.kind, d.name): d for d in result.docs}
    assert set(docs) == {("docstring", "shapes"), ("docstring", "area"), ("docstring", "Shape")}
    module = docs[("docstring", "shapes")]
    assert (module.start_line, module.end_line, module.text) == (1, 1, "Module docstring for shapes.")
    assert docs[("docstring", "Shape")].start_line == 17


def test_python_init_module_is_named_after_package() -> None:
    result = units("lib/mypkg/__init__.py", '"""The package."""\n')
    assert [(d.name, d.text) for d in result.docs] == [("mypkg", "The package.")]


def test_python_docstring_escapes_and_trivial_docs() -> None:
    found = symbols(
        "m.py",
        '''
        def a():
            "Quote \\" and \\\\ and \\d kept \\x41."

        def b():
            r"""Raw \\n stays."""

        def c():
            """x"""
            return 1

        def d():
            f"""not a {docstring}"""
        ''',
    )
    assert found["a"].doc == 'Quote " and \\ and \\d kept A.'
    assert found["b"].doc == "Raw \\n stays."
    assert found["c"].doc is None  # too short to be worth indexing...
    assert found["c"].head == 'def c():\n    """x"""'  # ...but still part of the head
    assert found["d"].doc is None
    assert found["d"].head == "def d():"


def test_python_syntax_error_keeps_good_symbols() -> None:
    found = symbols(
        "bad.py",
        '''
        def good():
            """Good doc."""
            return 1

        def broken(:
            pass

        class Fine:
            def method(self):
                return 2
        ''',
    )
    assert found["good"].doc == "Good doc."
    assert (found["good"].start_line, found["good"].end_line) == (1, 3)
    assert found["Fine"].kind == "class"
    assert (found["Fine.method"].kind, found["Fine.method"].start_line) == ("method", 9)


def test_invalid_utf8_keeps_line_numbers() -> None:
    source = b'def f():\n    """Bad \xff\xfe bytes."""\n    return "\xe9"\n\n\ndef g():\n    return 1\n'
    result = extract("bad.py", source)
    assert result is not None
    found = {s.name: s for s in result.symbols}
    assert found["f"].doc == "Bad \ufffd\ufffd bytes."
    assert found["f"].body == '    return "\ufffd"'
    assert (found["g"].start_line, found["g"].end_line) == (6, 7)


def test_crlf_line_endings() -> None:
    source = (
        b'def f():\r\n    """Doc here."""\r\n    return 1\r\n\r\n'
        b"class A:\r\n    def m(self):\r\n        pass\r\n"
    )
    result = extract("crlf.py", source)
    assert result is not None
    found = {s.name: s for s in result.symbols}
    assert (found["f"].start_line, found["f"].end_line) == (1, 3)
    assert found["f"].code == 'def f():\n    """Doc here."""\n    return 1'
    assert (found["A.m"].start_line, found["A.m"].end_line) == (6, 7)
    assert "\r" not in found["A"].code


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("empty.py", b""),
        ("blank.go", b"\n\n\n"),
        ("comments.py", b"# only\n# comments here\n"),
        ("comments.rs", b"// only a comment\n/* and a block */\n"),
        ("garbage.cpp", b"}}}{{{ ))) class ;;; \x00\xff"),
        ("bom.py", b"\xef\xbb\xbf"),
    ],
)
def test_degenerate_files_give_no_symbols(path: str, source: bytes) -> None:
    result = extract(path, source)
    assert result is not None
    assert result.symbols == []


def test_bom_does_not_shift_anything() -> None:
    result = extract("bom.py", b"\xef\xbb\xbfdef f():\n    return 1\n")
    assert result is not None
    assert [(s.name, s.start_line, s.code) for s in result.symbols] == [("f", 1, "def f():\n    return 1")]


def test_extract_text_matches_extract() -> None:
    text = "def f():\n    '''Doc for f.'''\n"
    assert extract_text("m.py", text) == extract("m.py", text.encode())


# --------------------------------------------------------------------------- javascript / typescript


def test_javascript() -> None:
    found = symbols(
        "app.js",
        """
        /**
         * Add two numbers.
         */
        function add(a, b) {
          return a + b;
        }

        // Double it.
        const double = (x) => x * 2;

        export const load = async function () {
          return 1;
        };

        class Widget extends Base {
          render() {
            return null;
          }
          onClick = () => {};
        }

        Widget.prototype.legacy = function () {};
        const notAFunction = 42;
        const obj = { method() {} };
        """,
    )
    assert kinds(found) == {
        "add": "function",
        "double": "function",
        "load": "function",
        "Widget": "class",
        "Widget.render": "method",
        "Widget.onClick": "method",
        "Widget.legacy": "method",
    }
    add = found["add"]
    assert (add.start_line, add.end_line, add.doc_start_line, add.doc_end_line) == (4, 6, 1, 3)
    assert add.doc == "Add two numbers."
    assert add.head == "function add(a, b) {"
    assert add.body == "  return a + b;\n}"
    double = found["double"]
    assert double.code == "const double = (x) => x * 2;"
    assert double.head == "const double = (x) =>"
    assert double.doc == "Double it."
    assert found["load"].code.startswith("export const load = async function () {")
    assert found["load"].end_line == 13


def test_typescript_interfaces_and_decorators() -> None:
    found = symbols(
        "svc.ts",
        """
        /** Options for the service. */
        export interface Options {
          retries: number;
        }

        export type Props = { name: string };

        enum Color { Red, Green }

        namespace Util {
          export function clamp(x: number): number { return x; }
        }

        @Injectable()
        export class Service {
          /** Fetch one item. */
          @Cached()
          async fetch(id: string): Promise<Item> {
            return get(id);
          }
        }
        """,
    )
    assert kinds(found) == {
        "Options": "interface",
        "Props": "interface",
        "Color": "enum",
        "Util.clamp": "function",
        "Service": "class",
        "Service.fetch": "method",
    }
    assert found["Options"].doc == "Options for the service."
    assert found["Options"].head == "export interface Options {"
    fetch = found["Service.fetch"]
    assert (fetch.start_line, fetch.end_line) == (17, 20)
    assert fetch.code.startswith("@Cached()\n  async fetch(")
    assert fetch.doc == "Fetch one item."
    assert (fetch.doc_start_line, fetch.doc_end_line) == (16, 16)
    assert found["Service"].start_line == 14  # the class decorator belongs to it


def test_tsx_component() -> None:
    found = symbols(
        "App.tsx",
        """
        import React from "react";

        // Greets the user by name.
        export const Greeting = ({ name }: { name: string }) => {
          return <h1>Hello {name}</h1>;
        };

        export default function App(): JSX.Element {
          return <Greeting name="x" />;
        }
        """,
    )
    assert kinds(found) == {"Greeting": "function", "App": "function"}
    greeting = found["Greeting"]
    assert greeting.language == "tsx"
    assert (greeting.start_line, greeting.end_line) == (4, 6)
    assert greeting.head == "export const Greeting = ({ name }: { name: string }) => {"
    assert greeting.body == "  return <h1>Hello {name}</h1>;\n};"
    assert greeting.doc == "Greets the user by name."
    assert found["App"].head == "export default function App(): JSX.Element {"


# --------------------------------------------------------------------------- go / rust / java


def test_go() -> None:
    found = symbols(
        "srv.go",
        """
        package srv

        // Server serves requests.
        type Server struct {
            addr string
        }

        // Handler handles one request.
        type Handler interface {
            Handle() error
        }

        // Start starts the server.
        //go:noinline
        func (s *Server) Start(port int) error {
            return nil
        }

        func (Server) Name() string { return "srv" }

        // New makes a server.
        func New() *Server {
            return &Server{}
        }
        """,
    )
    assert kinds(found) == {
        "Server": "struct",
        "Handler": "interface",
        "Server.Start": "method",
        "Server.Name": "method",
        "New": "function",
    }
    start = found["Server.Start"]
    assert (start.start_line, start.end_line, start.doc_start_line, start.doc_end_line) == (15, 17, 13, 14)
    assert start.doc == "Start starts the server."
    assert start.head == "func (s *Server) Start(port int) error {"
    assert start.body == "    return nil\n}"
    assert found["Server"].head == "type Server struct {"
    assert found["Server"].doc == "Server serves requests."
    assert found["New"].doc == "New makes a server."


def test_rust_impl_trait_for_type() -> None:
    result = units(
        "lib.rs",
        """
        /// A point in space.
        #[derive(Debug, Clone)]
        pub struct Point {
            x: f64,
        }

        impl Point {
            /// Make a point.
            pub fn new(x: f64) -> Self {
                Point { x }
            }
        }

        impl<T> fmt::Display for Wrapper<T> {
            fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        pub trait Shape {
            fn area(&self) -> f64;
        }

        mod tests {
            fn helper() {}
        }
        """,
    )
    assert [(s.name, s.kind, s.start_line, s.end_line) for s in result.symbols] == [
        ("Point", "struct", 2, 5),
        ("Point", "impl", 7, 12),
        ("Point.new", "method", 9, 11),
        ("Wrapper", "impl", 14, 18),
        ("Wrapper.fmt", "method", 15, 17),
        ("Shape", "trait", 20, 22),
        ("Shape.area", "method", 21, 21),
        ("tests.helper", "function", 25, 25),
    ]
    point = result.symbols[0]
    assert point.code.startswith("#[derive(Debug, Clone)]\npub struct Point {")
    assert point.head == "#[derive(Debug, Clone)]\npub struct Point {"
    assert point.body == "    x: f64,\n}"
    assert (point.doc, point.doc_start_line, point.doc_end_line) == ("A point in space.", 1, 1)
    new = result.symbols[2]
    assert new.doc == "Make a point."
    assert new.head == "pub fn new(x: f64) -> Self {"
    assert result.symbols[3].head == "impl<T> fmt::Display for Wrapper<T> {"
    area = result.symbols[6]
    assert (area.head, area.body) == ("fn area(&self) -> f64;", "")


def test_rust_inner_doc_comment_is_not_a_symbol_doc() -> None:
    found = symbols("m.rs", "//! Module level docs here.\nfn first() {}\n")
    assert found["first"].doc is None


def test_java() -> None:
    found = symbols(
        "Repo.java",
        """
        package app;

        /**
         * Stores users.
         */
        @Service
        public class Repo<T> extends Base {
            /**
             * Find one user.
             * @param id the id
             */
            @Override
            public User find(long id) throws IOException {
                return null;
            }

            Repo() {}

            interface Listener { void changed(); }

            enum State { ON, OFF }
        }
        """,
    )
    assert kinds(found) == {
        "Repo": "class",
        "Repo.find": "method",
        "Repo.Repo": "method",
        "Repo.Listener": "interface",
        "Repo.Listener.changed": "method",
        "Repo.State": "enum",
    }
    repo = found["Repo"]
    assert (repo.start_line, repo.end_line, repo.doc) == (6, 22, "Stores users.")
    assert repo.head == "@Service\npublic class Repo<T> extends Base {"
    find = found["Repo.find"]
    assert (find.start_line, find.end_line) == (12, 15)
    assert find.doc == "Find one user.\n@param id the id"
    assert (find.doc_start_line, find.doc_end_line) == (8, 11)
    assert find.head == "@Override\n    public User find(long id) throws IOException {"
    assert find.body == "        return null;\n    }"


# --------------------------------------------------------------------------- c / c++ / c#


def test_c() -> None:
    found = symbols(
        "util.c",
        """
        #include <stdio.h>

        /* Add two ints. */
        static int
        add(int a, int b)
        {
            return a + b;
        }

        typedef struct {
            int x;
        } Point;

        struct node { struct node *next; };
        struct forward;
        int (*lookup(const char *name))(int) { return 0; }
        """,
    )
    assert kinds(found) == {"add": "function", "Point": "struct", "node": "struct", "lookup": "function"}
    add = found["add"]
    assert (add.start_line, add.end_line, add.doc) == (4, 8, "Add two ints.")
    assert add.head == "static int\nadd(int a, int b)\n{"
    assert add.body == "    return a + b;\n}"
    assert found["Point"].code == "typedef struct {\n    int x;\n} Point;"


def test_cpp_out_of_class_method() -> None:
    found = symbols(
        "foo.cpp",
        """
        namespace geo {

        // A 2D vector.
        class Vec : public Base {
        public:
            double norm() const { return 0; }
            void scale(double k);
        };

        }  // namespace geo

        /// Scale in place.
        void geo::Vec::scale(double k) {
            x *= k;
        }

        template <typename T>
        T Box<T>::get() const { return value; }

        Vec::~Vec() {}

        int free_function(int x) { return x; }
        """,
    )
    assert kinds(found) == {
        "geo.Vec": "class",
        "geo.Vec.norm": "method",
        "geo.Vec.scale": "method",
        "Box.get": "method",
        "Vec.~Vec": "method",
        "free_function": "function",
    }
    scale = found["geo.Vec.scale"]
    assert (scale.start_line, scale.end_line, scale.doc) == (13, 15, "Scale in place.")
    assert scale.head == "void geo::Vec::scale(double k) {"
    assert found["geo.Vec"].doc == "A 2D vector."
    box_get = found["Box.get"]
    assert box_get.start_line == 17  # the template line belongs to the definition
    assert box_get.head == "template <typename T>\nT Box<T>::get() const {"


def test_csharp() -> None:
    found = symbols(
        "Repo.cs",
        """
        namespace App.Data
        {
            /// <summary>Stores things.</summary>
            [Serializable]
            public class Repo : IRepo
            {
                /// <summary>Find one.</summary>
                [Obsolete]
                public Item Find(int id)
                {
                    return null;
                }

                public Repo() { }
            }

            public interface IRepo { Item Find(int id); }
            public struct Pair { }
            public enum Mode { A, B }
        }
        """,
    )
    assert kinds(found) == {
        "App.Data.Repo": "class",
        "App.Data.Repo.Find": "method",
        "App.Data.Repo.Repo": "method",
        "App.Data.IRepo": "interface",
        "App.Data.IRepo.Find": "method",
        "App.Data.Pair": "struct",
        "App.Data.Mode": "enum",
    }
    find = found["App.Data.Repo.Find"]
    assert (find.start_line, find.end_line) == (8, 12)
    assert find.doc == "<summary>Find one.</summary>"
    assert find.head == "[Obsolete]\n        public Item Find(int id)\n        {"
    assert found["App.Data.Repo"].code.startswith("[Serializable]\n    public class Repo")


def test_csharp_file_scoped_namespace() -> None:
    found = symbols("A.cs", "namespace App.Core;\n\npublic class A { void M() {} }\n")
    assert kinds(found) == {"App.Core.A": "class", "App.Core.A.M": "method"}


# --------------------------------------------------------------------------- ruby / php


def test_ruby() -> None:
    found = symbols(
        "store.rb",
        """
        # Storage helpers.
        module Store
          # A cache of values.
          class Cache < Base
            # Fetch a value.
            def fetch(key)
              @data[key]
            end

            def self.build
              new
            end
          end
        end

        # Top-level helper.
        def helper(x)
          x * 2
        end
        """,
    )
    assert kinds(found) == {
        "Store": "module",
        "Store.Cache": "class",
        "Store.Cache.fetch": "method",
        "Store.Cache.build": "method",
        "helper": "function",
    }
    fetch = found["Store.Cache.fetch"]
    assert (fetch.start_line, fetch.end_line, fetch.doc) == (6, 8, "Fetch a value.")
    assert fetch.head == "def fetch(key)"
    assert fetch.body == "      @data[key]\n    end"
    assert found["Store.Cache"].head == "class Cache < Base"
    assert found["helper"].doc == "Top-level helper."


def test_php() -> None:
    found = symbols(
        "Repo.php",
        """
        <?php
        namespace App\\Repo;

        /**
         * Stores users.
         */
        #[Entity]
        class UserRepo extends Base implements Repo {
            /** Find one user. */
            public function find(int $id): ?User {
                return null;
            }
        }

        // Helper function.
        function helper($x) { return $x; }

        interface Repo { public function find(int $id); }
        trait Loggable { function log() {} }
        """,
    )
    assert kinds(found) == {
        "App.Repo.UserRepo": "class",
        "App.Repo.UserRepo.find": "method",
        "App.Repo.helper": "function",
        "App.Repo.Repo": "interface",
        "App.Repo.Repo.find": "method",
        "App.Repo.Loggable": "trait",
        "App.Repo.Loggable.log": "method",
    }
    repo = found["App.Repo.UserRepo"]
    assert (repo.start_line, repo.doc, repo.doc_start_line, repo.doc_end_line) == (7, "Stores users.", 4, 6)
    assert repo.head == "#[Entity]\nclass UserRepo extends Base implements Repo {"
    find = found["App.Repo.UserRepo.find"]
    assert find.head == "public function find(int $id): ?User {"
    assert find.doc == "Find one user."
    assert found["App.Repo.helper"].doc == "Helper function."


# --------------------------------------------------------------------------- doc units


def test_comment_doc_units_name_their_symbol() -> None:
    result = units("m.go", "package m\n\n// Sum adds numbers up.\nfunc Sum(xs []int) int { return 0 }\n")
    assert [(d.kind, d.name, d.start_line, d.end_line, d.text) for d in result.docs] == [
        ("comment", "Sum", 3, 3, "Sum adds numbers up.")
    ]


def test_licence_header_and_trivial_comments_are_not_docs() -> None:
    found = symbols(
        "m.c",
        """
        /* Copyright (c) 2024 Someone. All rights reserved. */
        int a(void) { return 0; }
        // ok
        int b(void) { return 0; }
        /* ---------- */
        int c(void) { return 0; }
        """,
    )
    assert [found[n].doc for n in ("a", "b", "c")] == [None, None, None]
    assert units("m.c", "// ok\nint b(void) { return 0; }\n").docs == []


def test_directive_comments_are_dropped_from_docs() -> None:
    found = symbols(
        "tool.py", "#!/usr/bin/env python\n# pylint: disable=x\n# Run the tool.\ndef main():\n    pass\n"
    )
    assert found["main"].doc == "Run the tool."
    assert (found["main"].doc_start_line, found["main"].doc_end_line) == (1, 3)


def test_comment_separated_by_blank_line_is_not_doc() -> None:
    found = symbols("m.js", "// Unrelated header.\n\nfunction f() {}\n")
    assert found["f"].doc is None


def test_markdown_sections_skip_fenced_headings() -> None:
    result = units(
        "docs/README.md",
        """
        ---
        title: front matter
        ---
        Intro paragraph.

        # Project

        Overview text.

        ## Install

        ```bash
        # not a heading
        pip install project
        ```

        Usage Notes
        -----------

        Setext body.

        ## Empty

        ### Deep
        Deep text.
        """,
    )
    assert result.language == "markdown"
    assert result.symbols == []
    sections = [(d.kind, d.name, d.start_line, d.end_line) for d in result.docs]
    assert sections == [
        ("section", "README.md", 4, 4),
        ("section", "Project", 6, 8),
        ("section", "Project > Install", 10, 15),
        ("section", "Project > Usage Notes", 17, 20),
        ("section", "Project > Empty > Deep", 24, 25),
    ]
    install = result.docs[2]
    assert install.text == "## Install\n\n```bash\n# not a heading\npip install project\n```"


def test_rst_sections() -> None:
    result = units(
        "guide.rst",
        """
        =====
        Guide
        =====

        Intro.

        Setup
        -----

        Run it::

            make
            ----

        Details
        ~~~~~~~

        More.

        Usage
        -----

        Use it.
        """,
    )
    assert result.language == "rst"
    assert [(d.name, d.start_line, d.end_line) for d in result.docs] == [
        ("Guide", 1, 5),
        ("Guide > Setup", 7, 13),
        ("Guide > Setup > Details", 15, 18),
        ("Guide > Usage", 20, 23),
    ]
    assert result.docs[1].text.startswith("Setup\n-----\n\nRun it::")


def test_syntax_errors_are_reported_as_warnings() -> None:
    assert units("ok.py", "def f():\n    return 1\n").warnings == []
    warnings = units("bad.py", "x = 1\n\ndef broken(:\n    pass\n").warnings
    assert warnings == ["syntax error near line 3; units taken from the parts that parsed"]


def test_every_code_language_has_compiling_rules() -> None:
    assert SUPPORTED_CODE_LANGUAGES == CODE_LANGUAGES
    for language in sorted(CODE_LANGUAGES):
        assert compiled_spec(language).query.pattern_count > 0
