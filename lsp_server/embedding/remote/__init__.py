"""Embedding on remote workers: ``remote://host:port[,host:port…][?options]``.

Options: ``token_file=F`` (else the ``CODEKIN_WORKER_TOKEN`` environment variable),
``fallback=local|error`` (default ``local``), ``tls=1`` with an optional ``ca_file=F``,
``dtype=f16|f32`` (default ``f32``), ``timeout=S`` (seconds an answer may take, default 300;
connecting gives up after 5).

Work is cut to the workers' limits and spread over them; a batch that fails on one
worker is retried on another; when every worker has failed it, the batch is embedded
locally with the same model (with a warning) or, with ``fallback=error``, the call
fails. Either way a failure never yields a vector: the caller stores nothing and the
units stay pending. A worker that serves another model than the first one found is
refused, never mixed in. The protocol is docs/worker-protocol.md.

``wire`` holds the frame format, which the worker (``lsp_server.worker``) imports too: the worker
depends on the engine, never the reverse. ``client`` holds :class:`RemoteEmbedder`.
"""

from .client import RemoteEmbedder, RemoteSpec, parse_remote_spec

__all__ = ["RemoteEmbedder", "RemoteSpec", "parse_remote_spec"]
