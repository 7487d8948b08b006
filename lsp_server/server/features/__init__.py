"""The server's features, one module each; each ``register(server)`` adds its handlers and subscriptions."""

from lsp_server.server.features import (
    code_lens,
    commands,
    compare,
    completion,
    diagnostics,
    documents,
    hover,
    lifecycle,
    status,
    workspace_symbol,
)

FEATURES = (
    lifecycle,
    documents,
    commands,
    compare,
    status,
    code_lens,
    diagnostics,
    completion,
    workspace_symbol,
    hover,
)

__all__ = ["FEATURES"]
