"""The remote embedding worker (``codekin worker``): serves one model to codekin clients over TCP.

Kept free of pygls and ``lsp_server.server``, so that a GPU machine serves a model without the
editor stack. It depends on the engine, never the reverse: the wire format it speaks is
``lsp_server.embedding.remote.wire``, and the client half is ``lsp_server.embedding.remote``.
Modules: ``requests`` (validation), ``batcher``, ``connection``, ``server`` (the listener) and
``cli``.
"""
