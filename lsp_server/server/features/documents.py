"""Open buffers: an edit reaches the index after a pause in typing; a save or close at once.

pygls keeps the buffers' text; queries about a position read it from there, so they
see unsaved code even before the index takes it.
"""

from __future__ import annotations

from lsprotocol import types

from lsp_server.server.app import CodekinServer
from lsp_server.server.features import diagnostics


def register(server: CodekinServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: CodekinServer, params: types.DidOpenTextDocumentParams) -> None:
        if ls.started and ls.options.features.diagnostics:
            ls.spawn(diagnostics.publish(ls, params.text_document.uri))

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: CodekinServer, params: types.DidChangeTextDocumentParams) -> None:
        if ls.started:
            ls.buffer_changed(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
    def did_save(ls: CodekinServer, params: types.DidSaveTextDocumentParams) -> None:
        if ls.started:
            ls.buffer_saved_or_closed(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: CodekinServer, params: types.DidCloseTextDocumentParams) -> None:
        if not ls.started:
            return
        ls.buffer_saved_or_closed(params.text_document.uri)
        if ls.options.features.diagnostics:
            ls.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[])
            )
