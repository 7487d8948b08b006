"""Open buffers: an edit reaches the index after a pause in typing; a save or close at once.

The core keeps the overlays (:class:`lsp_server.server.buffers.Buffers`); opening and
closing are announced to the features that care (diagnostics).
"""

from __future__ import annotations

from lsprotocol import types

from lsp_server.server.core import CodekinServer


def did_open(ls: CodekinServer, params: types.DidOpenTextDocumentParams) -> None:
    if ls.started:
        ls.events.document_opened.emit(params.text_document.uri)


def did_change(ls: CodekinServer, params: types.DidChangeTextDocumentParams) -> None:
    if ls.started:
        ls.buffers.changed(params.text_document.uri)


def did_save(ls: CodekinServer, params: types.DidSaveTextDocumentParams) -> None:
    if ls.started:
        ls.buffers.saved_or_closed(params.text_document.uri)


def did_close(ls: CodekinServer, params: types.DidCloseTextDocumentParams) -> None:
    if ls.started:
        ls.buffers.saved_or_closed(params.text_document.uri)
        ls.events.document_closed.emit(params.text_document.uri)


def register(server: CodekinServer) -> None:
    server.feature(types.TEXT_DOCUMENT_DID_OPEN)(did_open)
    server.feature(types.TEXT_DOCUMENT_DID_CHANGE)(did_change)
    server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))(did_save)
    server.feature(types.TEXT_DOCUMENT_DID_CLOSE)(did_close)
