"""One guard and one error boundary for the LSP features: off, not ready, or failed → the empty answer.

A feature the user switched off, a request before the folders are open, and a handler
that raises all answer the same way: with the feature's empty value. A failure is
logged with its traceback and never reaches the client or another feature.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

if TYPE_CHECKING:
    from lsp_server.server.core import CodekinServer

log = logging.getLogger(__name__)

Handler = TypeVar("Handler", bound=Callable[..., Awaitable[Any]])

FeatureName = Literal["code_lens", "completion", "hover", "workspace_symbol", "diverged_copies"]


def guarded(
    feature: FeatureName,
    empty: Callable[[], Any],
    *,
    quiet: tuple[type[BaseException], ...] = (),
) -> Callable[[Handler], Handler]:
    """Wrap an async handler ``(ls, params)``: ``empty()`` when ``feature`` is off or the server
    not ready, and when the handler raises (logged, unless the exception is one of ``quiet``)."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def run(ls: CodekinServer, *args: Any) -> Any:
            if not getattr(ls.options.features, feature) or not ls.ready:
                return empty()
            try:
                return await handler(ls, *args)
            except quiet:
                return empty()
            except Exception:
                log.exception("%s failed", feature.replace("_", " "))
                return empty()

        return cast(Handler, run)

    return decorate
