"""Run the HTTP service: :func:`serve` binds the port first, then loads the model and hands the
socket to uvicorn (one process, or ``workers`` processes sharing the socket, each loading the
model); :func:`bind_socket` is that listening socket, with Nagle's algorithm off.

Each connection is guarded (:class:`GuardedH11Protocol`): ``TCP_NODELAY`` is set on it, a
request (headers and body) must arrive within ``read_timeout`` seconds of its first byte (or of
the connection opening), else the connection is closed, so slow clients cannot hold the server;
and beyond ``max_connections`` open connections a request gets a JSON 503.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import secrets
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h11
import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.config import STARTUP_FAILURE
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.supervisors.multiprocess import Multiprocess

from fakenews.errors import FakeNewsError
from fakenews.predictors.base import InferenceOptions
from fakenews.rundir import RunDir
from fakenews.serving.app import ServeLimits, create_app, error_response
from fakenews.serving.auth import DEFAULT_SESSION_HOURS
from fakenews.serving.batching import BatchSettings
from fakenews.serving.logs import uvicorn_log_config
from fakenews.serving.metrics import MULTIPROC_ENV

logger = logging.getLogger(__name__)

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
EADDRINUSE = (98, 48, 10048)  # Linux, macOS, Windows
WORKER_HEALTHCHECK_S = 120


@dataclass(frozen=True)
class ServerSettings:
    """Processes and connection limits.

    Args:
        workers: server processes sharing the port, each with its own copy of the model
            (default 1).
        max_connections: open connections served at once per process (default 256); a request
            on any further one gets 503 ``over_capacity`` and the connection is closed.
        read_timeout: seconds a request's headers and body may take to arrive, from its first
            byte, or from the connection opening for the first request (default 10); slower
            connections are closed.
        keep_alive_timeout: seconds an idle keep-alive connection stays open (default 5).
    """

    workers: int = 1
    max_connections: int = 256
    read_timeout: float = 10.0
    keep_alive_timeout: int = 5

    def __post_init__(self) -> None:
        for name in ("workers", "max_connections", "keep_alive_timeout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                flag = "--" + name.replace("_", "-")
                raise FakeNewsError(f"{flag} must be a positive integer; found {value!r}.")
        timeout = self.read_timeout
        number = not isinstance(timeout, bool) and isinstance(timeout, int | float)
        if not (number and math.isfinite(timeout) and timeout > 0):
            raise FakeNewsError(
                f"--read-timeout must be a positive number of seconds; found {timeout!r}."
            )


def over_capacity_message(limit: int) -> str:
    return f"the server is serving its limit of {limit:,} connections; retry in a moment."


class ServeConfig(uvicorn.Config):
    """uvicorn's config plus our :class:`ServerSettings`, which each connection reads."""

    def __init__(self, app: Any, *, settings: ServerSettings, **kwargs: Any) -> None:
        super().__init__(
            app,
            http=GuardedH11Protocol,
            workers=settings.workers,
            timeout_keep_alive=settings.keep_alive_timeout,
            # a worker answers the supervisor's health pings only once its imports are done:
            # uvicorn's 5 s killed workers still importing on a busy machine
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
            **kwargs,
        )
        self.settings = settings


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 connection with ``TCP_NODELAY``, a read timeout and a connection cap."""

    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.settings: ServerSettings = getattr(config, "settings", ServerSettings())
        self.read_timer: asyncio.TimerHandle | None = None
        self.inner_app = self.app
        self.app = self.capped_app  # type: ignore[assignment]

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._watch_reading()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_read_timer()
        super().connection_lost(exc)

    def _watch_reading(self) -> None:
        """Run the read timer while a request is incomplete; stop it once it has arrived."""
        reading = self.conn.their_state in (h11.IDLE, h11.SEND_BODY)
        if reading and not self.transport.is_closing():
            if self.read_timer is None:
                self.read_timer = self.loop.call_later(
                    self.settings.read_timeout, self._read_timed_out
                )
        else:
            self._stop_read_timer()

    def _stop_read_timer(self) -> None:
        if self.read_timer is not None:
            self.read_timer.cancel()
            self.read_timer = None

    def _read_timed_out(self) -> None:
        self.read_timer = None
        if self.conn.their_state in (h11.IDLE, h11.SEND_BODY) and not self.transport.is_closing():
            logger.info(
                "closed a connection from %s: its request took over %g s to arrive",
                self.client,
                self.settings.read_timeout,
            )
            self.transport.close()

    async def capped_app(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.settings.max_connections
        if len(self.connections) > limit or len(self.tasks) > limit:
            response = error_response(
                503,
                "over_capacity",
                over_capacity_message(limit),
                headers={"Retry-After": "1", "Connection": "close"},
            )
            await response(scope, receive, send)
            return
        await self.inner_app(scope, receive, send)


@dataclass(frozen=True)
class AppFactory:
    """Builds the app in the process that serves it (picklable: each worker calls it)."""

    run_dir: str
    api_key: str | None = None
    limits: ServeLimits | None = None
    options: InferenceOptions | None = None
    batching: BatchSettings | None = None
    docs: bool = False
    session_hours: float = DEFAULT_SESSION_HOURS
    session_salt: bytes | None = None

    def build(self) -> FastAPI:
        return create_app(
            self.run_dir,
            api_key=self.api_key,
            limits=self.limits,
            options=self.options,
            batching=self.batching,
            docs=self.docs,
            session_hours=self.session_hours,
            session_salt=self.session_salt,
        )

    def __call__(self) -> ASGIApp:
        """In a worker: the app, or the one-line error and a start-up failure exit."""
        try:
            return self.build()
        except FakeNewsError as exc:
            logger.error("error: %s", exc)
            raise SystemExit(STARTUP_FAILURE) from None


def serve(
    run_dir: Path | str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    api_key: str | None = None,
    limits: ServeLimits | None = None,
    options: InferenceOptions | None = None,
    batching: BatchSettings | None = None,
    server: ServerSettings | None = None,
    quiet: bool = False,
    docs: bool = False,
    session_hours: float = DEFAULT_SESSION_HOURS,
    forwarded_allow_ips: str | None = None,
) -> None:
    """Serve the run in ``run_dir`` over HTTP until interrupted (see :mod:`fakenews.serving.app`).

    A wrong run dir, a bad port and a port already taken fail before the model loads.

    Args:
        run_dir: a run dir written by ``fakenews train``.
        host: interface to bind; default ``127.0.0.1`` (only this machine). Any other interface
            without ``api_key`` logs a warning: anyone who can reach it may use it.
        port: TCP port, 1 to 65535; default 8000.
        api_key: when set, every endpoint but ``/health`` and ``/login`` needs it; default None.
        limits: request limits (:class:`ServeLimits`; default its defaults).
        options: how to predict (:class:`~fakenews.predictors.base.InferenceOptions`).
        batching: micro-batching of concurrent requests (:class:`BatchSettings`).
        server: processes and connection limits (:class:`ServerSettings`).
        quiet: only warnings, no access lines (which show ``api_key=***``); default False.
        docs, session_hours: as :func:`~fakenews.serving.app.create_app`.
        forwarded_allow_ips: proxies whose ``X-Forwarded-Proto`` is trusted (IPs or ``*``);
            default uvicorn's (``$FORWARDED_ALLOW_IPS``, else 127.0.0.1).
    """
    RunDir.open(run_dir)  # a wrong path fails before anything else
    if not 0 < port < 65536:
        raise FakeNewsError(f"--port must be from 1 to 65535; found {port}.")
    server = server or ServerSettings()
    sock = bind_socket(host, port)  # fail fast, before the model loads
    try:
        # one session-signing salt for every worker, so a browser's cookie works on each of them
        factory = AppFactory(
            str(run_dir), api_key, limits, options, batching,
            docs=docs, session_hours=session_hours, session_salt=secrets.token_bytes(32),
        )  # fmt: skip
        if api_key is None and host not in LOOPBACK:
            logger.warning(
                "serving on %s without --api-key: anyone who can reach it may use it", host
            )
        shown = f"[{host}]" if ":" in host else host
        logger.info("serving %s on http://%s:%d", run_dir, shown, port)
        log = _uvicorn_options(quiet=quiet, forwarded_allow_ips=forwarded_allow_ips)
        if server.workers == 1:
            config = ServeConfig(factory.build(), settings=server, **log)
            uvicorn.Server(config).run(sockets=[sock])
        else:
            _run_workers(factory, sock, server, log)
    finally:
        sock.close()


def _uvicorn_options(*, quiet: bool, forwarded_allow_ips: str | None) -> dict[str, Any]:
    """uvicorn's logging (the key-free access log) and proxy settings, the same for every worker."""
    return {
        "log_level": "warning" if quiet else "info",
        "access_log": not quiet,
        "log_config": uvicorn_log_config(),
        "forwarded_allow_ips": forwarded_allow_ips,
    }


def _run_workers(
    factory: AppFactory, sock: socket.socket, server: ServerSettings, log: dict[str, Any]
) -> None:
    """``server.workers`` processes on one socket; their metrics meet in a temp dir."""
    previous = os.environ.get(MULTIPROC_ENV)
    with tempfile.TemporaryDirectory(prefix="fakenews-metrics-") as metrics_dir:
        os.environ[MULTIPROC_ENV] = metrics_dir  # read by each worker's prometheus-client
        try:
            config = ServeConfig(factory, factory=True, settings=server, **log)
            supervisor = Multiprocess(config, sockets=[sock])
            supervisor.run()
        finally:
            if previous is None:
                os.environ.pop(MULTIPROC_ENV, None)
            else:
                os.environ[MULTIPROC_ENV] = previous
    if any(p.process.exitcode == STARTUP_FAILURE for p in supervisor.processes):
        raise FakeNewsError(
            "a server worker failed to start (its error is above); fix it and run serve again."
        )


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port``, or a one-line error when the port is taken.

    Accepted connections get ``TCP_NODELAY``: without it, a small answer on a reused
    (keep-alive) connection waits for the client's delayed ACK (Nagle's algorithm). It is set
    two ways: asyncio sets it on each accepted socket whose protocol is ``IPPROTO_TCP`` (a plain
    ``socket(AF_INET, SOCK_STREAM)`` says 0, and was skipped), and Linux copies it from the
    listening socket to the sockets it accepts.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        if exc.errno in EADDRINUSE:
            raise FakeNewsError(
                f"port {port} on {host} is already in use; stop the other server or pass another --port."
            ) from None
        raise FakeNewsError(
            f"cannot listen on {host}:{port} ({reason}); check --host and --port."
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock
