"""``fakenews compare``: runs -> one table, paired tests, plots and a self-contained report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from fakenews.cli.common import Force, Quiet
from fakenews.progress import configure_logging

if TYPE_CHECKING:
    from fakenews.comparison.result import ComparisonResult


RunDirsArg = Annotated[list[Path], typer.Argument(help="Two or more evaluated run dirs.")]
OutOpt = Annotated[
    Path, typer.Option("--out", help="Report dir to create (table, tests, plots, report.html).")
]
CompareSplitOpt = Annotated[
    str, typer.Option("--split", help="Evaluated split to compare: test | validation | train.")
]
AllowDifferentSplitsOpt = Annotated[
    bool,
    typer.Option(
        "--allow-different-splits",
        help="Accept runs trained on different splits: a cross-data-set table, labelled, with no paired tests.",
    ),
]
BootstrapOpt = Annotated[
    int, typer.Option("--bootstrap", help="Bootstrap resamples of the test articles.")
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the bootstrap.")]


def compare_command(
    run_dirs: RunDirsArg,
    out: OutOpt,
    split: CompareSplitOpt = "test",
    allow_different_splits: AllowDifferentSplitsOpt = False,
    n_bootstrap: BootstrapOpt = 10_000,
    seed: SeedOpt = 0,
    force: Force = False,
    quiet: Quiet = False,
) -> None:
    """Compare runs on the same test articles: table with 95% CIs, McNemar + Holm, plots, report.html."""
    from fakenews.comparison.stage import compare

    configure_logging(quiet=quiet)
    result = compare(
        run_dirs, out, split=split, allow_different_splits=allow_different_splits, force=force,
        n_bootstrap=n_bootstrap, seed=seed, quiet=quiet,
    )  # fmt: skip
    print_comparison(result)


def register(app: typer.Typer) -> None:
    """Add ``compare`` to ``app``."""
    app.command("compare")(compare_command)


def print_comparison(result: ComparisonResult, console: Console | None = None) -> None:
    """Print the table (quality, then efficiency), the verdicts and where the report is, on stdout.

    Reused by ``fakenews demo``.
    """
    # Lazy like the stages (see fakenews.cli): fakenews.comparison loads matplotlib and pandas.
    from fakenews.comparison.report import result_label

    console = console or Console()
    efficiency, missing = _efficiency_table(result)
    console.print(_quality_table(result))
    console.print(efficiency)
    if missing:
        console.print("—: not measured (run `fakenews benchmark RUN_DIR`; training time comes from train_summary.json)",
                      markup=False, highlight=False, soft_wrap=True)  # fmt: skip
    if not result.same_split:
        console.print(result_label(result), markup=False, highlight=False, soft_wrap=True)
    for pair in result.pairs:
        console.print(f"- {pair.sentence}", markup=False, highlight=False, soft_wrap=True)
    console.print(f"report: {result.report_html}", markup=False, highlight=False, soft_wrap=True)


def _quality_table(result: ComparisonResult) -> Table:
    """One row per run: each metric's value with its bootstrap 95% CI below it."""
    from fakenews.comparison.report import METRIC_TITLES  # lazy: see print_comparison
    from fakenews.stats import METRICS

    scope = (
        f"{result.split} split, n = {result.rows[0].n}"
        if result.same_split
        else "cross-data-set: different test sets"
    )
    quality = Table(title=f"Quality ({scope}; bootstrap 95% CI below each value)")
    quality.add_column("Run", overflow="fold")
    for m in METRICS:
        quality.add_column(METRIC_TITLES[m], justify="right")
    for row in result.rows:
        cells = []
        for m in METRICS:
            est = row.quality[m]
            if est.value is None:
                cells.append("undefined")
            elif est.low is None or est.high is None:
                cells.append(f"{est.value:.3f}")
            else:
                cells.append(f"{est.value:.3f}\n{est.low:.2f}–{est.high:.2f}")  # fits 80 columns
        quality.add_row(row.run, *cells)
    return quality


def _efficiency_table(result: ComparisonResult) -> tuple[Table, bool]:
    """The measured efficiency of each run, and whether any figure was not measured."""
    from fakenews.comparison.report import NOT_MEASURED, efficiency_cells  # lazy: see above

    efficiency = Table(
        title="Efficiency (measured; ms = p50 per article at batch size 1; — = not measured)"
    )
    efficiency.add_column("Run", overflow="fold")
    efficiency.add_column("Model", overflow="fold")
    for name in ("Params", "MB", "ms", "articles/s", "train time"):
        efficiency.add_column(name, justify="right")
    missing = False
    for row in result.rows:
        cells = [("—" if c == NOT_MEASURED else c) for c in efficiency_cells(row)]
        missing = missing or "—" in cells
        efficiency.add_row(row.run, row.model, *cells)
    return efficiency, missing
