"""The remote embedding worker (``codekin worker``) and its wire protocol.

Kept free of pygls and ``lsp_server.server``, so that a GPU machine serves a model without the
editor stack; the client half lives in ``lsp_server.embedding.remote``.
"""
