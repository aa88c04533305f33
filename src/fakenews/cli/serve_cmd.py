"""``fakenews predict``, ``fakenews serve`` and ``fakenews export``: put a trained run to work."""

from __future__ import annotations

import logging
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer

from fakenews.cli.common import Precision, Quiet
from fakenews.errors import FakeNewsError

RunArg = Annotated[Path, typer.Argument(help="Run dir written by `fakenews train`.")]
BackendOpt = Annotated[
    str, typer.Option("--backend", help="torch | onnx (needs `fakenews export` first).")
]
LongOpt = Annotated[
    str,
    typer.Option(
        "--long",
        help="truncate (the run's truncation strategy) | chunks (whole article, windows averaged).",
    ),
]
BatchOpt = Annotated[
    int | None,
    typer.Option("--batch-size", help="Texts per forward pass (default 8 on CPU, 64 on GPU)."),
]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto | cpu | cuda[:N] (torch backend).")]
SNIPPET = 70


def register(app: typer.Typer) -> None:
    """Add ``predict``, ``serve`` and ``export`` to ``app``."""

    @app.command("predict")
    def predict_command(
        run_dir: RunArg,
        texts: Annotated[
            list[str] | None, typer.Argument(help="Article texts to score (or use --input).")
        ] = None,
        input: Annotated[
            str | None,
            typer.Option(
                "--input",
                "-i",
                help="CSV/JSONL with a text column, or plain text one article per line; - for stdin.",
            ),
        ] = None,
        output: Annotated[
            Path | None,
            typer.Option(
                "--output",
                "-o",
                help="CSV to write id,pred,label_name,prob_fake to (default stdout).",
            ),
        ] = None,
        text_column: Annotated[
            str | None,
            typer.Option(
                "--text-column",
                help="Column/field with the text (default combined_text, else title + text).",
            ),
        ] = None,
        id_column: Annotated[
            str, typer.Option("--id-column", help="Column/field with ids (row numbers if absent).")
        ] = "id",
        format: Annotated[
            str,
            typer.Option(
                "--format", help="auto | csv | jsonl | txt (auto: by suffix, else sniffed)."
            ),
        ] = "auto",
        chunk_size: Annotated[
            int, typer.Option("--chunk-size", help="Rows read, scored and written at a time.")
        ] = 1000,
        backend: BackendOpt = "torch",
        long: LongOpt = "truncate",
        batch_size: BatchOpt = None,
        device: DeviceOpt = "auto",
        precision: Precision = "fp32",
        quiet: Quiet = False,
    ) -> None:
        """Score articles: TEXT arguments (label and probability per line) or a whole file."""
        from fakenews.predict import predict_file, predict_texts
        from fakenews.predictors.base import InferenceOptions
        from fakenews.progress import configure_logging

        configure_logging(quiet=quiet)
        if texts and input is not None:
            raise FakeNewsError("pass article TEXT arguments or --input FILE, not both.")
        if not texts and input is None:
            raise FakeNewsError(
                'nothing to score; pass article texts (`fakenews predict RUN_DIR "text"`) or --input FILE (- for stdin).'
            )
        options = InferenceOptions(
            backend=backend, long=long, batch_size=batch_size, device=device, precision=precision
        )
        if input is None:
            if output is not None:
                raise FakeNewsError(
                    "--output goes with --input; TEXT arguments are answered on stdout."
                )
            for text, p in zip(
                texts, predict_texts(run_dir, texts, quiet=quiet, options=options), strict=True
            ):
                snippet = " ".join(text.split())
                snippet = snippet if len(snippet) <= SNIPPET else snippet[: SNIPPET - 1] + "…"
                typer.echo(f"{p.label_name}\t{p.prob_fake:.4f}\t{snippet}")
            return
        result = predict_file(
            run_dir,
            input,
            output if output is not None else sys.stdout,
            format=format,  # type: ignore[arg-type]
            text_column=text_column,
            id_column=id_column,
            chunk_size=chunk_size,
            quiet=quiet,
            options=options,
        )
        if output is not None and not quiet:
            typer.echo(
                f"wrote {result.n} predictions ({result.n_fake} fake, {result.n_real} real) to {output} "
                f"in {result.seconds:.1f} s",
                err=True,
            )

    @app.command("serve")
    def serve_command(
        run_dir: RunArg,
        host: Annotated[
            str, typer.Option("--host", help="Interface to bind (default only this machine).")
        ] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8000,
        api_key: Annotated[
            str | None,
            typer.Option(
                "--api-key",
                envvar="FAKENEWS_API_KEY",
                show_default=False,
                help="Require this key on every endpoint but /health: header X-API-Key, or open /?api_key=KEY in a browser (or env FAKENEWS_API_KEY).",
            ),
        ] = None,
        backend: BackendOpt = "torch",
        long: LongOpt = "truncate",
        batch_size: BatchOpt = None,
        device: DeviceOpt = "auto",
        precision: Precision = "fp32",
        max_articles: Annotated[
            int, typer.Option("--max-articles", help="Most articles per request.")
        ] = 64,
        max_chars: Annotated[
            int, typer.Option("--max-chars", help="Most characters per article text or title.")
        ] = 100_000,
        max_body_bytes: Annotated[
            int, typer.Option("--max-body-bytes", help="Largest request body in bytes.")
        ] = 2_000_000,
        quiet: Quiet = False,
    ) -> None:
        """Serve the run over HTTP: POST /predict, GET /health, GET /model, a web page at /, docs at /docs."""
        import uvicorn

        from fakenews.predictors.base import InferenceOptions
        from fakenews.progress import configure_logging
        from fakenews.rundir import RunDir
        from fakenews.serving import ServeLimits, create_app

        configure_logging(quiet=quiet)
        RunDir.open(run_dir)  # a wrong path fails before anything else
        limits = ServeLimits(
            max_body_bytes=max_body_bytes, max_articles=max_articles, max_chars=max_chars
        )
        if not 0 < port < 65536:
            raise FakeNewsError(f"--port must be from 1 to 65535; found {port}.")
        sock = bind_socket(host, port)  # fail fast, before the model loads
        try:
            app = create_app(
                run_dir,
                api_key=api_key,
                limits=limits,
                options=InferenceOptions(
                    backend=backend, long=long, batch_size=batch_size, device=device, precision=precision
                ),
            )
            if api_key is None and host not in ("127.0.0.1", "localhost", "::1"):
                logging.getLogger("fakenews").warning(
                    "serving on %s without --api-key: anyone who can reach it may use it", host
                )
            shown = f"[{host}]" if ":" in host else host
            logging.getLogger("fakenews").info(
                "serving %s on http://%s:%d (docs at /docs)", run_dir, shown, port
            )
            config = uvicorn.Config(
                app, log_level="warning" if quiet else "info", access_log=not quiet
            )
            uvicorn.Server(config).run(sockets=[sock])
        finally:
            sock.close()

    @app.command("export")
    def export_command(
        run_dir: RunArg,
        format: Annotated[str, typer.Option("--format", help="onnx (the only format).")] = "onnx",
        quantize: Annotated[
            str | None,
            typer.Option(
                "--quantize", help="int8: ONNX Runtime dynamic int8 quantization (default fp32)."
            ),
        ] = None,
        max_drop: Annotated[
            float,
            typer.Option(
                "--max-drop",
                help="Refuse an export whose test accuracy drops by more points than this.",
            ),
        ] = 1.0,
        keep_worse: Annotated[
            bool,
            typer.Option(
                "--keep-worse",
                help="Keep the export even if its accuracy dropped more than --max-drop.",
            ),
        ] = False,
        force: Annotated[
            bool,
            typer.Option("--force", hidden=True, help="Old name of --keep-worse (deprecated)."),
        ] = False,
        data: Annotated[
            Path | None,
            typer.Option("--data", help="Split dir to check on (default the run's own)."),
        ] = None,
        split: Annotated[str, typer.Option("--split", help="train | validation | test.")] = "test",
        batch_size: BatchOpt = None,
        repeats: Annotated[
            int, typer.Option("--repeats", help="Timed passes per backend; the median counts.")
        ] = 3,
        quiet: Quiet = False,
    ) -> None:
        """Export a transformer run to RUN_DIR/onnx/ and compare it with PyTorch on the test split."""
        from fakenews.export import export_onnx
        from fakenews.progress import configure_logging

        configure_logging(quiet=quiet)
        if force:
            logging.getLogger("fakenews").warning(
                "export --force is now --keep-worse (--force replaces outputs everywhere else)"
            )
        result = export_onnx(
            run_dir,
            format=format,
            quantize=quantize or "none",  # type: ignore[arg-type]
            max_drop=max_drop,
            keep_worse=keep_worse or force,
            data=data,
            split=split,
            batch_size=batch_size,
            repeats=repeats,
            quiet=quiet,
        )
        typer.echo(
            f"wrote {Path(result.onnx_dir) / result.model_file} ({result.size_mb_onnx:.1f} MB; PyTorch weights "
            f"{result.size_mb_torch:.1f} MB). On {result.n} {result.split} articles: accuracy {result.accuracy_onnx:.4f} "
            f"vs {result.accuracy_torch:.4f} PyTorch ({result.accuracy_change_pts:+.2f} pts), "
            f"agreement {result.agreement:.4f}, max |Δp| {result.max_abs_prob_diff:.2e}, "
            f"speed-up x{result.speedup:.2f} ({result.onnx_articles_per_s:.1f} vs {result.torch_articles_per_s:.1f} articles/s, "
            f"batch {result.batch_size})."
        )


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``, or a one-line error when the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        if exc.errno in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
            raise FakeNewsError(
                f"port {port} on {host} is already in use; stop the other server or pass another --port."
            ) from None
        raise FakeNewsError(
            f"cannot listen on {host}:{port} ({reason}); check --host and --port."
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock
