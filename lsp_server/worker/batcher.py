"""Merging the requests of all connections into few model calls, off the event loop.

Requests that arrive within a few milliseconds of each other become one ``embed`` call per
(task, side, dim), run on a worker thread so that the event loop keeps reading and writing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

from lsp_server.embedding import Embedder, Side, Task, Vectors
from lsp_server.memory import release_freed_memory

log = logging.getLogger("lsp_server.worker")


class EmbedFailed(Exception):
    """The model raised on this request's texts; answered as ``embed_failed``."""


@dataclass(eq=False)
class _Job:
    """One request's texts, waiting in the queue; ``connection`` is its connection's number."""

    texts: list[str]
    task: Task
    side: Side
    dim: int | None
    tokens: int
    connection: int
    enqueued: float
    future: asyncio.Future[Vectors] = field(repr=False)


def approx_tokens(texts: Sequence[str], prefix: str) -> int:
    """Characters / 4 is close enough to fill a batch and needs no tokenizer on the event loop."""
    return sum((len(prefix) + len(text)) // 4 + 2 for text in texts)


class Batcher:
    """Merges requests from all connections into few model calls.

    The first request waits at most ``window_s`` for company; a batch stops growing at
    ``budget_tokens`` (one request larger than that goes alone). Requests that queued while the model
    was busy have waited past their window already and go out at once, merged.
    """

    def __init__(
        self, embedder: Embedder, executor: ThreadPoolExecutor, *, window_s: float, budget_tokens: int
    ) -> None:
        self.embedder = embedder
        self.executor = executor
        self.window_s = window_s
        self.budget_tokens = budget_tokens
        self._queue: deque[_Job] = deque()
        self._queued_tokens = 0
        self._arrived = asyncio.Event()
        self.batches = 0

    def submit(
        self, texts: list[str], task: Task, side: Side, dim: int | None, connection: int
    ) -> asyncio.Future[Vectors]:
        """Queue one request's texts; the future resolves to its vectors or fails with EmbedFailed."""
        loop = asyncio.get_running_loop()
        job = _Job(
            texts,
            task,
            side,
            dim,
            approx_tokens(texts, self.embedder.prefix(task, side)),
            connection,
            loop.time(),
            loop.create_future(),
        )
        self._queue.append(job)
        self._queued_tokens += job.tokens
        self._arrived.set()
        return job.future

    async def run(self) -> None:
        """Collect and embed batches until cancelled."""
        while True:
            jobs = await self._collect()
            if not jobs:
                continue
            try:
                await self._process(jobs)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the batcher must outlive any one batch
                log.exception("batch failed unexpectedly")
                for job in jobs:
                    if not job.future.done():
                        job.future.set_exception(EmbedFailed(f"internal error: {exc}"))

    async def _collect(self) -> list[_Job]:
        """Wait for a first job, then for company until its window closes or the budget is full."""
        loop = asyncio.get_running_loop()
        while not self._queue:
            self._arrived.clear()
            await self._arrived.wait()
        deadline = self._queue[0].enqueued + self.window_s
        while self._queued_tokens < self.budget_tokens and (remaining := deadline - loop.time()) > 0:
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)
        jobs: list[_Job] = []
        tokens = 0
        while self._queue:
            job = self._queue[0]
            if jobs and tokens + job.tokens > self.budget_tokens:
                break
            self._queue.popleft()
            self._queued_tokens -= job.tokens
            if job.future.done():  # its connection went away
                continue
            jobs.append(job)
            tokens += job.tokens
        return jobs

    async def _process(self, jobs: list[_Job]) -> None:
        started = time.perf_counter()
        groups: dict[tuple[Task, Side, int | None], list[_Job]] = {}
        for job in jobs:
            groups.setdefault((job.task, job.side, job.dim), []).append(job)
        for (task, side, dim), group in groups.items():
            await self._process_group(group, task, side, dim)
        self.batches += 1
        self._log_batch(jobs, len(groups), time.perf_counter() - started)

    async def _process_group(self, group: list[_Job], task: Task, side: Side, dim: int | None) -> None:
        """One embed call for requests that share (task, side, dim); each gets its slice of the rows."""
        texts = [text for job in group for text in job.texts]
        try:
            vectors = await self._embed(texts, task, side, dim)
        except Exception as exc:
            if len(group) == 1:
                self._fail(group[0], exc)
                return
            # One request may be the cause (or the merged batch too large): alone, each gets its own
            # answer.
            log.warning(
                "a merged batch of %d requests failed (%s); retrying them one by one", len(group), exc
            )
            for job in group:
                try:
                    self._resolve(job, await self._embed(job.texts, task, side, dim))
                except Exception as single:
                    self._fail(job, single)
            return
        offset = 0
        for job in group:
            self._resolve(job, vectors[offset : offset + len(job.texts)])
            offset += len(job.texts)

    def _log_batch(self, jobs: list[_Job], calls: int, seconds: float) -> None:
        connections = len({job.connection for job in jobs})
        log.info(
            "batch %d: merged %d request%s from %d connection%s into %d embed call%s "
            "(%d texts, ~%d tokens) in %.1f ms",
            self.batches,
            len(jobs),
            "" if len(jobs) == 1 else "s",
            connections,
            "" if connections == 1 else "s",
            calls,
            "" if calls == 1 else "s",
            sum(len(job.texts) for job in jobs),
            sum(job.tokens for job in jobs),
            seconds * 1000,
        )

    async def _embed(self, texts: list[str], task: Task, side: Side, dim: int | None) -> Vectors:
        loop = asyncio.get_running_loop()
        job = partial(self._embed_and_release, texts, task, side, dim)
        return await loop.run_in_executor(self.executor, job)

    def _embed_and_release(self, texts: list[str], task: Task, side: Side, dim: int | None) -> Vectors:
        vectors = self.embedder.embed(texts, task=task, side=side, dim=dim)
        release_freed_memory()  # a worker embeds for hours: keep its heap from growing
        return vectors

    @staticmethod
    def _resolve(job: _Job, vectors: Vectors) -> None:
        if not job.future.done():
            job.future.set_result(vectors)

    @staticmethod
    def _fail(job: _Job, exc: Exception) -> None:
        log.warning("embedding %d texts failed: %s", len(job.texts), exc)
        if not job.future.done():
            job.future.set_exception(EmbedFailed(f"{type(exc).__name__}: {exc}"))
