"""Hint diagnostics "renamed copy of X" / "semantic clone of X (0.81)", the others as related information.

Off by default (``features.diagnostics``): in a codebase with many copies they would
crowd out the diagnostics that matter. Published for open documents when they open and
again after each index or settings change; switched off, what was shown is cleared.
"""

from __future__ import annotations

import logging
from urllib.parse import unquote

from lsprotocol import types

from lsp_server.retrieval.clone_model import SYNTACTIC_KINDS, ClonePair
from lsp_server.server.convert import location
from lsp_server.server.core import CodekinServer
from lsp_server.server.folders import Folder, folder_for
from lsp_server.server.similar import clones_in_file

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

    async def publish(self, uri: str) -> None:
        ls = self.server
        found = folder_for(ls.folders, uri)
        if found is None or found[0].index is None:
            return
        diagnostics: list[types.Diagnostic] = []
        if ls.options.features.diagnostics:
            try:
                diagnostics = await ls.in_query_thread(diagnostics_for, *found)
            except Exception:
                log.exception("diagnostics for %s failed", uri)
                return
            self.shown.add(uri)
        elif uri in self.shown:  # switched off: clear what was shown
            self.shown.discard(uri)
        else:
            return
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics))

    def publish_folders(self, folders: list[Folder]) -> None:
        """Re-publish for the folders' open documents (empty lists when the feature is off)."""
        self.server.spawn(self._publish_open_documents(list(folders)))

    async def _publish_open_documents(self, folders: list[Folder]) -> None:
        for uri in list(self.server.workspace.text_documents):
            if any(folder_for([folder], unquote(uri)) is not None for folder in folders):
                await self.publish(uri)

    def opened(self, uri: str) -> None:
        if self.server.options.features.diagnostics:
            self.server.spawn(self.publish(uri))

    def closed(self, uri: str) -> None:
        if self.server.options.features.diagnostics:
            self.server.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=[])
            )


def register(server: CodekinServer) -> None:
    feature = Diagnostics(server)
    server.events.index_changed.subscribe(feature.publish_folders)
    server.events.settings_changed.subscribe(lambda _: feature.publish_folders(server.folders))
    server.events.document_opened.subscribe(feature.opened)
    server.events.document_closed.subscribe(feature.closed)
