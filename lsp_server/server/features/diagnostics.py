"""Hint diagnostics "near-duplicate of X (0.97)" with the copies as related information.

Off by default (``features.diagnostics``): in a codebase with many copies they would
crowd out the diagnostics that matter. Published for open documents, again after
each index change.
"""

from __future__ import annotations

import logging
from urllib.parse import unquote

from lsprotocol import types

from lsp_server.server.app import CodekinServer
from lsp_server.server.convert import location
from lsp_server.server.folders import Folder, folder_for

log = logging.getLogger(__name__)

SOURCE = "codekin"


def diagnostics_for(folder: Folder, path: str) -> list[types.Diagnostic]:
    from lsp_server.server.features.code_lens import similar_in_file

    out = []
    for _, line, hits in similar_in_file(folder, path):
        best = hits[0]
        more = f" and {len(hits) - 1} more" if len(hits) > 1 else ""
        out.append(
            types.Diagnostic(
                range=types.Range(
                    start=types.Position(line=line - 1, character=0),
                    end=types.Position(line=line, character=0),
                ),
                message=f"near-duplicate of {best.name} ({best.score:.2f}){more}",
                severity=types.DiagnosticSeverity.Hint,
                source=SOURCE,
                code="near-duplicate",
                related_information=[
                    types.DiagnosticRelatedInformation(
                        location=location(folder, hit), message=f"{hit.name} ({hit.score:.2f})"
                    )
                    for hit in hits
                ],
            )
        )
    return out


async def publish(ls: CodekinServer, uri: str) -> None:
    found = folder_for(ls.folders, uri)
    if found is None or found[0].index is None:
        return
    folder, path = found
    diagnostics: list[types.Diagnostic] = []
    if ls.options.features.diagnostics:
        try:
            diagnostics = await ls.in_query_thread(diagnostics_for, folder, path)
        except Exception:
            log.exception("diagnostics for %s failed", uri)
            return
        ls.diagnosed.add(uri)
    elif uri in ls.diagnosed:  # switched off: clear what was shown
        ls.diagnosed.discard(uri)
    else:
        return
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics))


async def publish_folder(ls: CodekinServer, folder: Folder) -> None:
    """Re-publish for the folder's open documents (empty lists when the feature is off)."""
    for uri in list(ls.workspace.text_documents):
        if folder_for([folder], unquote(uri)) is not None:
            await publish(ls, uri)
