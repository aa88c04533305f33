"""Prometheus metrics of one app: :class:`ServeMetrics` (its own ``CollectorRegistry``, so many
apps in one process never share counters) and :class:`MetricsMiddleware` (counts and times every
request, 401s and 413s included).

Exposed at ``GET /metrics`` (text format 0.0.4):

- ``fakenews_requests_total{endpoint, method, status}``: answered requests; ``endpoint`` is the
  route's path, or ``other`` for paths that are not routes (404s);
- ``fakenews_request_seconds{endpoint}``: latency histogram, from the first byte the app sees
  to the last byte of the answer;
- ``fakenews_batch_articles`` / ``fakenews_batch_requests``: articles and requests per forward
  pass (micro-batch sizes);
- ``fakenews_model_info{model, backend}``: 1, naming what is served.

With ``serve --workers N`` every worker writes its figures to files in the directory named by
``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess mode, set by ``serve`` to a temp
dir before the workers start) and ``/metrics``, whichever worker answers it, reports the sum over
all workers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
OTHER = "other"


def multiprocess_dir() -> str | None:
    """The multiprocess directory when prometheus-client runs in multiprocess mode, else None.

    The mode is fixed when prometheus-client is first imported (the variable must be set
    before), so a variable set later in this process does not count.
    """
    if values.ValueClass is values.MutexValue:
        return None
    return os.environ.get(MULTIPROC_ENV)


class ServeMetrics:
    """The metrics of one served app."""

    def __init__(self, *, model: str, backend: str) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "fakenews_requests",
            "HTTP requests answered, by endpoint, method and status.",
            ["endpoint", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "fakenews_request_seconds",
            "Seconds from request to the end of the answer, by endpoint.",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_articles = Histogram(
            "fakenews_batch_articles",
            "Articles per forward pass (one micro-batch).",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.batch_requests = Histogram(
            "fakenews_batch_requests",
            "Requests merged into one forward pass.",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        info = Gauge(
            "fakenews_model_info",
            "The served model (always 1).",
            ["model", "backend"],
            registry=self.registry,
            multiprocess_mode="max",
        )
        info.labels(model=model, backend=backend).set(1)
        self.multiprocess_dir = multiprocess_dir()

    def observe_batch(self, articles: int, requests: int) -> None:
        self.batch_articles.observe(articles)
        self.batch_requests.observe(requests)

    def observe_request(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(endpoint=endpoint, method=method, status=str(status)).inc()
        self.latency.labels(endpoint=endpoint).observe(seconds)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type (every worker's sum in multiprocess mode)."""
        if self.multiprocess_dir is None:
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        merged = CollectorRegistry()
        MultiProcessCollector(merged, path=self.multiprocess_dir)
        return generate_latest(merged), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """Counts and times every HTTP request; the outermost of the app's own middleware.

    ``paths`` lists the app's route paths (read on each request, so routes added later count):
    a request outside them is ``other``, so unknown paths cannot blow up the label set.
    """

    def __init__(
        self, app: ASGIApp, metrics: ServeMetrics, paths: Callable[[], Iterable[str]]
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless an answer starts: an exception reaches the server's 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            self.metrics.observe_request(
                self._endpoint(scope), scope["method"], status, time.perf_counter() - started
            )

    def _endpoint(self, scope: Scope) -> str:
        route_path = getattr(scope.get("route"), "path", None)
        if isinstance(route_path, str):
            return route_path
        path = scope["path"]
        return path if path in set(self.paths()) else OTHER
