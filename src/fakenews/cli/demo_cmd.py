"""``fakenews demo``: the packaged generalization study, in one call."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fakenews.cli.common import Force, Quiet
from fakenews.cli.compare_cmd import print_comparison
from fakenews.progress import configure_logging

DemoOutOpt = Annotated[
    Path,
    typer.Option("--out", help="Demo folder (data/, runs/, compare/, report/); a rerun resumes."),
]
DataRootOpt = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="Folder holding the data sets (welfake_sample200/, fakenewsnet_politifact/, "
        "horne2017/); default the shared data beside the source checkout.",
    ),
]


def demo_command(
    out: DemoOutOpt = Path("demo"),
    data: DataRootOpt = None,
    force: Force = False,
    quiet: Quiet = False,
) -> None:
    """Train tfidf-logreg, minilm-l6 and a 3-layer MiniLM per data set and pooled; in- vs out-of-domain, benchmark, compare."""
    from fakenews.demo import run_demo
    from fakenews.study.report import summarize

    configure_logging(quiet=quiet)
    result = run_demo(out, data_root=data, force=force, quiet=quiet)
    console = Console()
    for summary in summarize(result.result.cells):
        console.print(f"- {summary.verdict()}", markup=False, highlight=False, soft_wrap=True)
    headline = result.headline
    if headline is not None:
        print_comparison(headline, console)
    others = ", ".join(str(p / "report.html") for p in result.comparisons.values())
    console.print(
        f"demo finished in {result.elapsed_s / 60:.1f} min; open {result.report_html} "
        f"(comparisons: {others or 'none'})",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    """Add ``demo`` to ``app``."""
    app.command("demo")(demo_command)
