"""``fakenews study STUDY.yaml --out DIR``: the generalization study as one command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fakenews.cli.common import Quiet
from fakenews.progress import configure_logging

StudyArg = Annotated[
    Path, typer.Argument(help="The study file (datasets, models, protocols; see docs/study.md).")
]
StudyOut = Annotated[
    Path,
    typer.Option(
        "--out", help="Study dir; a rerun with the same --out skips what is already complete."
    ),
]


StudyData = Annotated[
    Path | None,
    typer.Option(
        "--data", help="Folder the data set paths are relative to (replaces the file's data_root)."
    ),
]


def study_command(
    study_file: StudyArg, out: StudyOut, data: StudyData = None, quiet: Quiet = False
) -> None:
    """Prepare, train, evaluate, benchmark and compare across data sets: report/report.html."""
    from fakenews.study import load_study, run_study
    from fakenews.study.report import summarize

    configure_logging(quiet=quiet)
    study = load_study(study_file, data_root=data)
    result = run_study(study, out, quiet=quiet)
    for summary in summarize(result.cells):
        typer.echo(summary.verdict())
    typer.echo(
        f"trained {result.trained}, evaluated {result.evaluated}, benchmarked "
        f"{result.benchmarked}, compared {result.compared} ({len(result.cells)} rows): "
        f"{out / 'report' / 'report.html'}"
    )


def register(app: typer.Typer) -> None:
    """Add ``study`` to ``app``."""
    app.command("study")(study_command)
