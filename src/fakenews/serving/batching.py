"""Micro-batching: the articles of concurrent requests share one forward pass.

:class:`MicroBatcher` queues each request's articles; one worker task per event loop takes the
queued requests in arrival order, up to ``max_batch`` articles (a request is never split; one
larger than ``max_batch`` goes alone), waiting at most ``max_wait_ms`` after the oldest queued
request for the batch to fill. The batch is scored in a worker thread (the event loop keeps
accepting requests meanwhile, and they make the next batch) and each request gets its own
answers back, in its own order. ``max_batch=1`` scores one request at a time.

If scoring a batch of several requests fails, each of its requests is scored again alone, so
a request that breaks the model fails only itself; the error reaches that request's handler
(which answers it as the app answers any failure).
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from fakenews.errors import FakeNewsError

T = TypeVar("T")

BatchObserver = Callable[[int, int], None]
"""Called once per forward pass with (articles, requests) in it."""


@dataclass(frozen=True)
class BatchSettings:
    """How concurrent requests are merged.

    Args:
        max_batch: most articles in one forward pass (default 32); 1 = one request at a time.
        max_wait_ms: longest wait after the oldest queued request for more to arrive (default
            5 ms); a full batch goes at once, and requests arriving during a forward pass
            make the next batch without waiting.
    """

    max_batch: int = 32
    max_wait_ms: float = 5.0

    def __post_init__(self) -> None:
        size = self.max_batch
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise FakeNewsError(f"--max-batch must be a positive integer; found {size!r}.")
        wait = self.max_wait_ms
        number = not isinstance(wait, bool) and isinstance(wait, int | float)
        if not (number and math.isfinite(wait) and 0 <= wait <= 10_000):
            raise FakeNewsError(
                f"--max-wait-ms must be a number of milliseconds from 0 to 10000; found {wait!r}."
            )


@dataclass
class _Pending(Generic[T]):
    texts: list[str]
    future: asyncio.Future[list[T]]
    arrived: float = field(default=0.0)


class MicroBatcher(Generic[T]):
    """Merges the texts of concurrent :meth:`score` calls into calls of ``score_batch``.

    Args:
        score_batch: texts -> one result per text, in order (runs in a worker thread, one
            batch at a time).
        settings: :class:`BatchSettings`.
        on_batch: called with (articles, requests) before each forward pass; default None.
    """

    def __init__(
        self,
        score_batch: Callable[[list[str]], Sequence[T]],
        settings: BatchSettings | None = None,
        on_batch: BatchObserver | None = None,
    ) -> None:
        self.score_batch = score_batch
        self.settings = settings or BatchSettings()
        self.on_batch = on_batch
        self._queue: deque[_Pending[T]] = deque()
        self._queued_texts = 0
        self._worker: asyncio.Task[None] | None = None
        self._full: asyncio.Future[None] | None = None

    async def score(self, texts: list[str]) -> list[T]:
        """The results for ``texts``, scored with whatever else is queued at the time."""
        loop = asyncio.get_running_loop()
        item: _Pending[T] = _Pending(list(texts), loop.create_future(), loop.time())
        self._queue.append(item)
        self._queued_texts += len(item.texts)
        if self._queued_texts >= self.settings.max_batch and self._full and not self._full.done():
            self._full.set_result(None)
        worker = self._worker
        if worker is None or worker.done() or worker.get_loop() is not loop:
            self._worker = loop.create_task(self._run())
        return await item.future

    # ----------------------------------------------------------------------- the worker task

    async def _run(self) -> None:
        try:
            while self._queue:
                await self._wait_for_more()
                batch = self._take()
                if batch:
                    await self._score(batch)
        finally:  # cancelled with the loop: nobody may wait forever
            for item in self._queue:
                if not item.future.done():
                    item.future.cancel()

    async def _wait_for_more(self) -> None:
        """Until the queue holds ``max_batch`` articles or the oldest request waited enough."""
        if self._queued_texts >= self.settings.max_batch or not self._queue:
            return
        loop = asyncio.get_running_loop()
        remaining = self._queue[0].arrived + self.settings.max_wait_ms / 1000 - loop.time()
        if remaining <= 0:
            return
        self._full = loop.create_future()
        try:
            await asyncio.wait({self._full}, timeout=remaining)
        finally:
            self._full = None

    def _take(self) -> list[_Pending[T]]:
        """Whole requests in arrival order, up to ``max_batch`` articles (at least one request)."""
        batch: list[_Pending[T]] = []
        size = 0
        while self._queue:
            head = self._queue[0]
            if batch and size + len(head.texts) > self.settings.max_batch:
                break
            self._queue.popleft()
            self._queued_texts -= len(head.texts)
            if head.future.done():  # its client went away
                continue
            batch.append(head)
            size += len(head.texts)
        return batch

    async def _score(self, batch: list[_Pending[T]]) -> None:
        texts = [t for item in batch for t in item.texts]
        if self.on_batch is not None:
            self.on_batch(len(texts), len(batch))
        try:
            results = list(await asyncio.to_thread(self.score_batch, texts))
            if len(results) != len(texts):
                raise RuntimeError(f"scored {len(texts)} texts but got {len(results)} results")
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0], exc)
                return
            for item in batch:  # one request that breaks the model must fail only itself
                await self._score([item])
            return
        start = 0
        for item in batch:
            _settle(item, results[start : start + len(item.texts)])
            start += len(item.texts)


def _settle(item: _Pending[T], outcome: list[T] | Exception) -> None:
    if item.future.done():
        return
    if isinstance(outcome, Exception):
        item.future.set_exception(outcome)
    else:
        item.future.set_result(outcome)
