"""initialize → initialized (start indexing) → configuration and folder changes → shutdown."""

from __future__ import annotations

import logging

from lsprotocol import types

from lsp_server.server.app import CodekinServer
from lsp_server.server.options import parse_options

log = logging.getLogger(__name__)


def register(server: CodekinServer) -> None:
    @server.feature(types.INITIALIZE)
    def initialize(ls: CodekinServer, params: types.InitializeParams) -> None:
        ls.init_options = params.initialization_options

    @server.feature(types.INITIALIZED)
    def initialized(ls: CodekinServer, params: types.InitializedParams) -> None:
        ls.spawn(ls.start())

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(ls: CodekinServer, params: types.DidChangeConfigurationParams) -> None:
        if not ls.started:
            return
        workspace = ls.client_capabilities.workspace
        if workspace is not None and workspace.configuration:
            parsed = await ls.pull_options()
        else:  # a client without workspace/configuration pushes the settings themselves
            parsed = parse_options(params.settings, "codekin settings")
        await ls.apply(parsed, [])

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    async def did_change_folders(ls: CodekinServer, params: types.DidChangeWorkspaceFoldersParams) -> None:
        if ls.started:  # pygls has already updated ls.workspace.folders
            await ls.apply((ls.options, []), [])

    @server.feature(types.SHUTDOWN)
    async def shutdown(ls: CodekinServer, params: None) -> None:
        await ls.shutdown_all()
