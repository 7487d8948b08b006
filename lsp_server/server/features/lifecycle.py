"""initialize → initialized (start indexing) → configuration and folder changes → shutdown."""

from __future__ import annotations

from lsprotocol import types

from lsp_server.server.core import CodekinServer


def initialized(ls: CodekinServer, params: types.InitializedParams) -> None:
    ls.spawn(ls.configuration.start())


async def did_change_configuration(ls: CodekinServer, params: types.DidChangeConfigurationParams) -> None:
    if ls.started:
        await ls.configuration.settings_pushed(params.settings)


async def did_change_folders(ls: CodekinServer, params: types.DidChangeWorkspaceFoldersParams) -> None:
    if ls.started:  # pygls has already updated ls.workspace.folders
        await ls.configuration.apply((ls.options, []))


async def shutdown(ls: CodekinServer, params: None) -> None:
    await ls.shutdown_all()


def initialize(ls: CodekinServer, params: types.InitializeParams) -> None:
    ls.init_options = params.initialization_options


def register(server: CodekinServer) -> None:
    server.feature(types.INITIALIZE)(initialize)
    server.feature(types.INITIALIZED)(initialized)
    server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)(did_change_configuration)
    server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)(did_change_folders)
    server.feature(types.SHUTDOWN)(shutdown)
