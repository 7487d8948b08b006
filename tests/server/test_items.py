"""What the server builds from engine results, checked without a server process: ranges in the
negotiated encoding, lenses, diagnostics, completion items, command JSON and the model's status."""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path

from lsprotocol import types
from pygls.workspace import PositionCodec

from lsp_server.config import Settings
from lsp_server.embedding.base import Embedder
from lsp_server.embedding.deferred import DeferredEmbedder
from lsp_server.embedding.identity import Identity
from lsp_server.embedding.priority import PriorityEmbedder
from lsp_server.retrieval.clone_model import ClonePair
from lsp_server.retrieval.hits import Hit
from lsp_server.retrieval.queries import QuerySymbol
from lsp_server.server.convert import hit_json
from lsp_server.server.core import CodekinServer
from lsp_server.server.features.code_lens import lens_command, unresolved_lens
from lsp_server.server.features.completion import snippet_item
from lsp_server.server.features.diagnostics import diagnostic_for
from lsp_server.server.features.hover import name_range
from lsp_server.server.features.status import model_report
from lsp_server.server.folders import Folder

FOLDER = Folder(uri="file:///work", root=Path("/work"), settings=Settings())
HIT = Hit("src/copy.py", "load_config", "function", "python", 5, 9, 0.97, 12, "abc")
OTHER = Hit("lib/other.py", "read_config", "function", "python", 20, 31, 0.91, 13, "def")
HERE = Hit("src/a.py", "load", "function", "python", 5, 9, 1.0, 11, "xyz")
RENAMED = ClonePair(HERE, HIT, "renamed", 1.0)
SEMANTIC = ClonePair(HERE, OTHER, "semantic", 0.91)


def test_the_name_range_of_a_hover_counts_the_clients_units() -> None:
    text = "x = 1\n\n\ndef lädt_config(path):\n    return path\n"
    symbol = QuerySymbol("a.py", "lädt_config", "function", 4, 5, "")
    column = text.splitlines()[3].index("config")
    utf8 = name_range(PositionCodec("utf-8"), text, symbol, 3, column)
    utf16 = name_range(PositionCodec("utf-16"), text, symbol, 3, column)
    assert utf8 == types.Range(types.Position(3, 4), types.Position(3, 16))
    assert utf16 == types.Range(types.Position(3, 4), types.Position(3, 15))
    assert name_range(PositionCodec("utf-16"), text, symbol, 4, 6) is None  # in the body, not on the name


def test_a_lens_carries_its_locations_for_the_client() -> None:
    lens = unresolved_lens("file:///work/src/a.py", 12, 5)
    assert lens.range.start == lens.range.end == types.Position(4, 0) and lens.command is None
    command = lens_command(FOLDER, "file:///work/src/a.py", 5, [RENAMED, SEMANTIC])
    assert command.title == "2 similar: 1 renamed, 1 semantic" and command.command == "codekin.showSimilar"
    assert lens_command(FOLDER, "file:///work/src/a.py", 5, [RENAMED]).title == "1 copy: 1 renamed"
    uri, position, locations = command.arguments or []
    assert (uri, position) == ("file:///work/src/a.py", types.Position(4, 0))
    assert [loc.uri for loc in locations] == ["file:///work/src/copy.py", "file:///work/lib/other.py"]
    assert locations[0].range == types.Range(types.Position(4, 0), types.Position(9, 0))


def test_a_diagnostic_names_the_kind_of_the_best_copy_and_counts_the_rest() -> None:
    diagnostic = diagnostic_for(FOLDER, 3, [RENAMED, SEMANTIC])
    assert (
        diagnostic.message == "renamed copy of load_config and 1 more" and diagnostic.code == "clone/renamed"
    )
    assert diagnostic.severity == types.DiagnosticSeverity.Hint and diagnostic.source == "codekin"
    assert diagnostic.range == types.Range(types.Position(2, 0), types.Position(3, 0))
    assert [info.message for info in diagnostic.related_information or []] == [
        "renamed copy of load_config",
        "semantic clone of read_config (0.91)",
    ]


def test_a_completion_item_replaces_the_word_typed() -> None:
    replace = types.Range(types.Position(7, 4), types.Position(7, 8))
    item = snippet_item(HIT, "\n    data = json.load(handle)\n", 2, "data", replace)
    assert item.label == "data = json.load(handle)" and item.filter_text == "data"
    assert item.sort_text == "~codekin002" and item.kind == types.CompletionItemKind.Snippet
    assert item.text_edit == types.TextEdit(range=replace, new_text="\n    data = json.load(handle)\n")
    assert item.detail == "codekin: load_config — src/copy.py:5 (0.97)"


def test_command_results_are_plain_json_with_whole_line_ranges() -> None:
    assert hit_json(FOLDER, HIT, exact=True) == {
        "uri": "file:///work/src/copy.py",
        "range": {"start": {"line": 4, "character": 0}, "end": {"line": 9, "character": 0}},
        "name": "load_config",
        "kind": "function",
        "score": 0.97,
        "exact": True,
    }


def test_the_model_status_while_loading_and_before_any_model() -> None:
    server = CodekinServer()
    try:
        assert model_report(server) == {"model": None, "reason": None, "device": None}
        loading: Future[Embedder] = Future()
        expected = Identity("minilm@abc", 384, ())
        server.embedder = PriorityEmbedder(DeferredEmbedder(loading, expected))
        assert model_report(server) == {"model": "minilm@abc", "reason": "loading", "device": None}
        server.embedder = PriorityEmbedder(DeferredEmbedder(Future()))
        server.embedder_problem = "model 'x' could not be loaded"
        assert model_report(server)["model"] is None
    finally:
        for pool in (server.index_pool, server.query_pool, server.loader_pool):
            pool.shutdown()
