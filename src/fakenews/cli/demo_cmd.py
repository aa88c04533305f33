"""``fakenews demo``: the whole flow on the embedded default."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fakenews.cli.common import Force, Quiet
from fakenews.cli.compare_cmd import print_comparison
from fakenews.progress import configure_logging

DemoOutOpt = Annotated[Path, typer.Option("--out", help="Demo folder (data/, runs/, report/).")]
CrossDataOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--cross-data",
        help="A second data set (file or folder) to evaluate every model on; repeatable.",
    ),
]
MirrorOpt = Annotated[
    Path | None,
    typer.Option(
        "--mirror", help="Local folder serving the registry's files (else $FAKENEWS_DATA_MIRROR)."
    ),
]
BenchArticlesOpt = Annotated[
    int, typer.Option("--bench-articles", min=5, help="Test articles timed per model.")
]


def demo_command(
    out: DemoOutOpt = Path("demo"),
    cross_data: CrossDataOpt = None,
    mirror: MirrorOpt = None,
    bench_articles: BenchArticlesOpt = 60,
    force: Force = False,
    quiet: Quiet = False,
) -> None:
    """Prepare PolitiFact, train tfidf-logreg, a tiny scratch:albert and minilm-l6, evaluate, benchmark, compare."""
    from fakenews.demo import run_demo

    configure_logging(quiet=quiet)
    result = run_demo(
        out,
        cross_data=cross_data or (),
        mirror=mirror,
        bench_articles=bench_articles,
        force=force,
        quiet=quiet,
    )
    console = Console()
    print_comparison(result.comparison, console)
    console.print(
        f"demo finished in {result.elapsed_s / 60:.1f} min; open {result.report_html}",
        markup=False,
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add ``demo`` to ``app``."""
    app.command("demo")(demo_command)
