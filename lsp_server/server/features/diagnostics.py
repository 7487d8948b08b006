"""Hint diagnostics "renamed copy of X" / "semantic clone of X (0.81)", the others as related information.

Off by default (``features.diagnostics``): in a codebase with many copies they would
crowd out the diagnostics that matter. Published for open documents when they open and
again after each index or settings change; switched off, what was shown is cleared.
"""

from __future__ import annotations

import logging
from urllib.parse import unquote

from lsprotocol import types

from lsp_server.retrieval.clone_model import SYNTACTIC_KINDS, ClonePair, options_for
from lsp_server.retrieval.diverged import Baseline, Divergence, baseline_of, divergences
from lsp_server.server.command_ids import COMPARE_SIMILAR
from lsp_server.server.convert import location, range_json
from lsp_server.server.core import CodekinServer
from lsp_server.server.file_clones import clones_in_file
from lsp_server.server.folders import Folder, folder_for
from lsp_server.server.positions import whole_lines

log = logging.getLogger(__name__)

SOURCE = "codekin"


def clone_phrase(pair: ClonePair) -> str:
    """ "renamed copy of load_config", "near-miss copy of parse (0.91)", "semantic clone of walk (0.83)"."""
    noun = "copy" if pair.kind in SYNTACTIC_KINDS else "clone"
    score = "" if pair.score >= 1.0 else f" ({pair.score:.2f})"
    return f"{pair.kind} {noun} of {pair.b.name}{score}"


def diagnostic_for(folder: Folder, line: int, pairs: list[ClonePair]) -> types.Diagnostic:
    """The hint on the symbol starting at ``line`` (1-based) with clone ``pairs``, strongest first."""
    more = f" and {len(pairs) - 1} more" if len(pairs) > 1 else ""
    return types.Diagnostic(
        range=types.Range(
            start=types.Position(line=line - 1, character=0), end=types.Position(line=line, character=0)
        ),
        message=clone_phrase(pairs[0]) + more,
        severity=types.DiagnosticSeverity.Hint,
        source=SOURCE,
        code=f"clone/{pairs[0].kind}",
        related_information=[
            types.DiagnosticRelatedInformation(location=location(folder, pair.b), message=clone_phrase(pair))
            for pair in pairs
        ],
    )


def diagnostics_for(folder: Folder, path: str) -> list[types.Diagnostic]:
    return [diagnostic_for(folder, line, hits) for _, line, hits in clones_in_file(folder, path)]


class Diagnostics:
    def __init__(self, server: CodekinServer) -> None:
        self.server = server
        self.shown: set[str] = set()
        """URIs that have codekin diagnostics on the client, to clear when the feature is switched off."""
        self.baselines: dict[str, Baseline] = {}
        """Open documents' symbols and their copies as they were when opened (for diverging copies)."""

    async def publish(self, uri: str) -> None:
        ls = self.server
        found = folder_for(ls.folders, uri)
        if found is None or found[0].index is None:
            return
        features = ls.options.features
        try:
            diagnostics = await ls.in_query_thread(self._diagnostics, uri, *found)
        except Exception:
            log.exception("diagnostics for %s failed", uri)
            return
        if diagnostics or uri in self.shown or features.diagnostics:
            self.shown.add(uri) if diagnostics else self.shown.discard(uri)
            ls.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics)
            )

    def _diagnostics(self, uri: str, folder: Folder, path: str) -> list[types.Diagnostic]:
        """Clone hints (when switched on) and diverging-copy hints (when on), on the query thread."""
        features = self.server.options.features
        out = diagnostics_for(folder, path) if features.diagnostics else []
        if features.diverged_copies and folder.index is not None:
            options = options_for(folder.settings)
            baseline = self.baselines.get(uri)
            if baseline is None or not baseline.symbols:  # opened before it was indexed: take it now
                self.baselines[uri] = baseline_of(folder.index, path, options)
            else:
                out += [
                    diverged_hint(folder, found)
                    for found in divergences(folder.index, path, baseline, options)
                ]
        return out

    def publish_folders(self, folders: list[Folder]) -> None:
        """Re-publish for the folders' open documents (empty lists when the feature is off)."""
        self.server.spawn(self._publish_open_documents(list(folders)))

    async def _publish_open_documents(self, folders: list[Folder]) -> None:
        for uri in list(self.server.workspace.text_documents):
            if any(folder_for([folder], unquote(uri)) is not None for folder in folders):
                await self.publish(uri)

    def opened(self, uri: str) -> None:
        features = self.server.options.features
        if features.diagnostics or features.diverged_copies:
            self.server.spawn(self.publish(uri))

    def closed(self, uri: str) -> None:
        self.baselines.pop(uri, None)
        if uri in self.shown or self.server.options.features.diagnostics:
            self.shown.discard(uri)
            self.server.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=[])
            )


def diverged_hint(folder: Folder, found: Divergence) -> types.Diagnostic:
    """ "2 copies of this function did not get this change", the copies as related information, and
    in ``data`` the ``codekin.compareSimilar`` arguments that open each difference."""
    unit, stale = found.unit, found.stale
    where = types.Position(line=unit.start_line - 1, character=0)
    copies = "1 copy" if len(stale) == 1 else f"{len(stale)} copies"
    compare = [
        {
            "uri": folder.uri_of(unit.path),
            "position": {"line": unit.start_line - 1, "character": 0},
            "other": {"uri": folder.uri_of(copy.path), "range": range_json(copy.start_line, copy.end_line)},
            "name": copy.name,
        }
        for copy in stale
    ]
    return types.Diagnostic(
        range=types.Range(start=where, end=types.Position(line=unit.start_line, character=0)),
        message=f"{copies} of this {unit.kind} did not get this change",
        severity=types.DiagnosticSeverity.Hint,
        source=SOURCE,
        code="clone/diverged",
        related_information=[
            types.DiagnosticRelatedInformation(
                location=types.Location(
                    uri=folder.uri_of(copy.path), range=whole_lines(copy.start_line, copy.end_line)
                ),
                message=f"{copy.name} still has the old code",
            )
            for copy in stale
        ],
        data={"compare": compare},
    )


def code_actions(ls: CodekinServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    """For a diverging-copy hint: one action per copy that opens its difference (codekin.compareSimilar)."""
    actions = []
    for diagnostic in params.context.diagnostics:
        data = diagnostic.data if isinstance(diagnostic.data, dict) else {}
        for args in data.get("compare", []) if diagnostic.source == SOURCE else []:
            if not isinstance(args, dict):
                continue
            title = f"Compare with the copy {args.get('name', '')} that did not get this change"
            arguments = [{key: args[key] for key in ("uri", "position", "other") if key in args}]
            command = types.Command(title=title, command=COMPARE_SIMILAR, arguments=arguments)
            actions.append(types.CodeAction(title=title, kind=types.CodeActionKind.QuickFix, command=command))
    return actions


def register(server: CodekinServer) -> None:
    feature = Diagnostics(server)
    server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
    )(code_actions)
    server.events.index_changed.subscribe(feature.publish_folders)
    server.events.settings_changed.subscribe(lambda _: feature.publish_folders(server.folders))
    server.events.document_opened.subscribe(feature.opened)
    server.events.document_closed.subscribe(feature.closed)
