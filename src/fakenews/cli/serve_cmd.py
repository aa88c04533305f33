"""``fakenews serve``: the run over HTTP (the runtime is :func:`fakenews.serving.serve`)."""

from __future__ import annotations

from typing import Annotated

import typer

from fakenews.cli.common import (
    BackendOpt,
    BatchSizeOpt,
    DeviceOpt,
    LongOpt,
    PrecisionOpt,
    Quiet,
    RunArg,
    inference_options,
)
from fakenews.progress import configure_logging

HostOpt = Annotated[
    str, typer.Option("--host", help="Interface to bind (default only this machine).")
]
PortOpt = Annotated[int, typer.Option("--port", help="TCP port.")]
ApiKeyOpt = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar="FAKENEWS_API_KEY",
        show_default=False,
        help="Require this key on every endpoint but /health: header X-API-Key, or sign in at /login in a browser (or env FAKENEWS_API_KEY).",
    ),
]
DocsOpt = Annotated[
    bool,
    typer.Option(
        "--docs",
        help="Also serve /docs (Swagger UI) and /redoc; their scripts load from a public CDN. /openapi.json is always served.",
    ),
]
SessionHoursOpt = Annotated[
    float, typer.Option("--session-hours", help="How long a browser sign-in lasts.")
]
ForwardedAllowIpsOpt = Annotated[
    str | None,
    typer.Option(
        "--forwarded-allow-ips",
        show_default=False,
        help="Proxies whose X-Forwarded-Proto/-For to trust, comma-separated IPs or * (default 127.0.0.1, or env FORWARDED_ALLOW_IPS); behind a TLS proxy the session cookie becomes Secure.",
    ),
]
MaxArticlesOpt = Annotated[int, typer.Option("--max-articles", help="Most articles per request.")]
MaxCharsOpt = Annotated[
    int, typer.Option("--max-chars", help="Most characters per article text or title.")
]
MaxBodyBytesOpt = Annotated[
    int, typer.Option("--max-body-bytes", help="Largest request body in bytes.")
]
MaxBatchOpt = Annotated[
    int,
    typer.Option(
        "--max-batch",
        help="Most articles of concurrent requests scored in one forward pass; 1 = one request at a time.",
    ),
]
MaxWaitOpt = Annotated[
    float,
    typer.Option(
        "--max-wait-ms", help="Longest wait for more requests to fill a batch, in milliseconds."
    ),
]
WorkersOpt = Annotated[
    int, typer.Option("--workers", help="Server processes, each loading the model.")
]
MaxConnectionsOpt = Annotated[
    int,
    typer.Option("--max-connections", help="Open connections served per process; more get 503."),
]
ReadTimeoutOpt = Annotated[
    float,
    typer.Option(
        "--read-timeout", help="Seconds a request may take to arrive; slower connections close."
    ),
]
KeepAliveOpt = Annotated[
    int, typer.Option("--keep-alive-timeout", help="Seconds an idle connection stays open.")
]


def serve_command(
    run_dir: RunArg,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    api_key: ApiKeyOpt = None,
    backend: BackendOpt = "torch",
    long: LongOpt = "truncate",
    batch_size: BatchSizeOpt = None,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = "fp32",
    max_articles: MaxArticlesOpt = 64,
    max_chars: MaxCharsOpt = 100_000,
    max_body_bytes: MaxBodyBytesOpt = 2_000_000,
    max_batch: MaxBatchOpt = 32,
    max_wait_ms: MaxWaitOpt = 5.0,
    workers: WorkersOpt = 1,
    max_connections: MaxConnectionsOpt = 256,
    read_timeout: ReadTimeoutOpt = 10.0,
    keep_alive_timeout: KeepAliveOpt = 5,
    docs: DocsOpt = False,
    session_hours: SessionHoursOpt = 12.0,
    forwarded_allow_ips: ForwardedAllowIpsOpt = None,
    quiet: Quiet = False,
) -> None:
    """Serve the run over HTTP: POST /predict, POST /explain, GET /health, GET /model, GET /metrics, a web page at /, the schema at /openapi.json."""
    from fakenews.serving import BatchSettings, ServeLimits, ServerSettings, serve

    configure_logging(quiet=quiet)
    limits = ServeLimits(
        max_body_bytes=max_body_bytes, max_articles=max_articles, max_chars=max_chars
    )
    options = inference_options(
        backend=backend, long=long, batch_size=batch_size, device=device, precision=precision
    )
    batching = BatchSettings(max_batch=max_batch, max_wait_ms=max_wait_ms)
    server = ServerSettings(
        workers=workers,
        max_connections=max_connections,
        read_timeout=read_timeout,
        keep_alive_timeout=keep_alive_timeout,
    )
    serve(
        run_dir,
        host=host,
        port=port,
        api_key=api_key,
        limits=limits,
        options=options,
        batching=batching,
        server=server,
        quiet=quiet,
        docs=docs,
        session_hours=session_hours,
        forwarded_allow_ips=forwarded_allow_ips,
    )


def register(app: typer.Typer) -> None:
    """Add ``serve`` to ``app``."""
    app.command("serve")(serve_command)
