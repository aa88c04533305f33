"""Run the HTTP service: :func:`serve` binds the port first, then loads the model and hands the
socket to uvicorn; :func:`bind_socket` is that listening socket, with Nagle's algorithm off."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import uvicorn

from fakenews.errors import FakeNewsError
from fakenews.predictors.base import InferenceOptions
from fakenews.rundir import RunDir
from fakenews.serving.app import ServeLimits, create_app
from fakenews.serving.auth import DEFAULT_SESSION_HOURS
from fakenews.serving.logs import uvicorn_log_config

logger = logging.getLogger(__name__)

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
EADDRINUSE = (98, 48, 10048)  # Linux, macOS, Windows


def serve(
    run_dir: Path | str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    api_key: str | None = None,
    limits: ServeLimits | None = None,
    options: InferenceOptions | None = None,
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
        quiet: only warnings, no access lines (which show ``api_key=***``); default False.
        docs, session_hours: as :func:`~fakenews.serving.app.create_app`.
        forwarded_allow_ips: proxies whose ``X-Forwarded-Proto`` is trusted (IPs or ``*``);
            default uvicorn's (``$FORWARDED_ALLOW_IPS``, else 127.0.0.1).
    """
    RunDir.open(run_dir)  # a wrong path fails before anything else
    if not 0 < port < 65536:
        raise FakeNewsError(f"--port must be from 1 to 65535; found {port}.")
    sock = bind_socket(host, port)  # fail fast, before the model loads
    try:
        app = create_app(
            run_dir,
            api_key=api_key,
            limits=limits,
            options=options,
            docs=docs,
            session_hours=session_hours,
        )
        if api_key is None and host not in LOOPBACK:
            logger.warning(
                "serving on %s without --api-key: anyone who can reach it may use it", host
            )
        shown = f"[{host}]" if ":" in host else host
        logger.info("serving %s on http://%s:%d", run_dir, shown, port)
        config = uvicorn.Config(
            app,
            log_level="warning" if quiet else "info",
            access_log=not quiet,
            log_config=uvicorn_log_config(),
            forwarded_allow_ips=forwarded_allow_ips,
        )
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()


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
