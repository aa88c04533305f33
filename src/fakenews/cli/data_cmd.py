"""``fakenews prepare``, ``fakenews audit``, ``fakenews data list`` and ``fakenews data fetch``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from fakenews.cli.common import Force, Quiet

if TYPE_CHECKING:  # imported lazily at run time: `fakenews --help` stays fast
    from rich.table import Table

    from fakenews.data.audit import AuditReport
    from fakenews.data.prepare import PrepareResult

SHOW_PAIRS = 20


def register(app: typer.Typer) -> None:
    """Add ``prepare``, ``audit`` and the ``data`` group to ``app``."""

    @app.command("prepare")
    def prepare_command(
        inputs: Annotated[
            list[Path],
            typer.Argument(
                help="Input files or folders (CSV, JSONL, WELFake CSV, LIAR TSV or folder, FakeNewsNet folder, split dir)."
            ),
        ],
        out: Annotated[Path, typer.Option("--out", "-o", help="Split dir to write.")],
        format_: Annotated[
            str,
            typer.Option(
                "--format", help="auto | welfake | csv | jsonl | fakenewsnet | liar | splits."
            ),
        ] = "auto",
        split: Annotated[
            str | None,
            typer.Option(
                "--split",
                help="train,validation,test ratios, e.g. 0.7,0.15,0.15 (default) or 0,0,1. Default keeps the split of a split dir / LIAR folder.",
            ),
        ] = None,
        seed: Annotated[int, typer.Option("--seed", help="Random seed of the split.")] = 42,
        group_by: Annotated[
            str | None,
            typer.Option(
                "--group-by", help="Column whose values must not span two splits (e.g. a site)."
            ),
        ] = None,
        near_duplicates: Annotated[
            float,
            typer.Option(
                "--near-duplicates",
                help="Jaccard threshold of near duplicates; 0 turns the step off.",
            ),
        ] = 0.9,
        drop_near_duplicates: Annotated[
            bool,
            typer.Option(
                "--drop-near-duplicates",
                help="Keep only the first row of each near-duplicate cluster (default: keep the cluster in one split).",
            ),
        ] = False,
        min_text_chars: Annotated[
            int,
            typer.Option(
                "--min-text-chars",
                help="Drop rows whose text (without the title) is shorter, e.g. dead pages; 0 = off.",
            ),
        ] = 0,
        text_column: Annotated[
            str | None,
            typer.Option(
                "--text-column", help="Text column (csv/jsonl); default text, else combined_text."
            ),
        ] = None,
        title_column: Annotated[
            str | None,
            typer.Option(
                "--title-column", help="Title column (csv/jsonl); default title if present."
            ),
        ] = None,
        label_column: Annotated[
            str | None,
            typer.Option("--label-column", help="Label column (csv/jsonl); default label."),
        ] = None,
        id_column: Annotated[
            str | None,
            typer.Option(
                "--id-column",
                help="Unique id column (csv/jsonl); default id if present, else row numbers.",
            ),
        ] = None,
        fake_label: Annotated[
            list[str] | None,
            typer.Option("--fake-label", help="Label value meaning fake (repeatable)."),
        ] = None,
        real_label: Annotated[
            list[str] | None,
            typer.Option("--real-label", help="Label value meaning real (repeatable)."),
        ] = None,
        force: Force = False,
        quiet: Quiet = False,
    ) -> None:
        """Read, clean, deduplicate and split raw data into a split dir (train/validation/test.csv + manifest.json)."""
        from fakenews.data.prepare import PrepareOptions, parse_split, prepare
        from fakenews.data.sources import ReadOptions
        from fakenews.progress import configure_logging

        configure_logging(quiet=quiet)
        options = PrepareOptions(
            read=ReadOptions(
                format=format_,
                text_column=text_column,
                title_column=title_column,
                label_column=label_column,
                id_column=id_column,
                fake_labels=tuple(fake_label or ()),
                real_labels=tuple(real_label or ()),
            ),
            split=parse_split(split) if split is not None else None,
            seed=seed,
            group_by=group_by,
            near_duplicates=near_duplicates,
            drop_near_duplicates=drop_near_duplicates,
            min_text_chars=min_text_chars,
        )
        result = prepare(inputs, out, options, force=force, quiet=quiet)
        if not quiet:
            _print_prepare(result)
        typer.echo(str(result.out))

    @app.command("audit")
    def audit_command(
        split_dir: Annotated[
            Path, typer.Argument(help="Any split dir (train.csv, validation.csv, test.csv).")
        ],
        near_duplicates: Annotated[
            float,
            typer.Option(
                "--near-duplicates", help="Jaccard threshold of near duplicates; 0 = exact only."
            ),
        ] = 0.9,
        show: Annotated[
            int, typer.Option("--show", help="How many shared pairs to list.")
        ] = SHOW_PAIRS,
        quiet: Quiet = False,
    ) -> None:
        """Report articles shared across splits (exact and near duplicates); exit 2 when there are any."""
        from fakenews.data.audit import audit
        from fakenews.progress import configure_logging

        configure_logging(quiet=quiet)
        report = audit(split_dir, near_threshold=near_duplicates, quiet=quiet)
        _print_audit(report, show=show, quiet=quiet)
        if report.leakage.leaks:
            raise typer.Exit(code=2)

    data_app = typer.Typer(
        help="Known public data sets: list them, fetch one (cache, mirror, then network).",
        no_args_is_help=True,
    )
    app.add_typer(data_app, name="data")

    @data_app.command("list")
    def list_command(
        cache_dir: Annotated[
            Path | None,
            typer.Option(
                "--cache-dir", help="Cache folder (default $FAKENEWS_CACHE or the OS cache)."
            ),
        ] = None,
        quiet: Quiet = False,
    ) -> None:
        """List the data sets `fakenews data fetch` knows, their size and where they are cached."""
        from rich.console import Console
        from rich.table import Table

        from fakenews.data.registry import DATASETS, MIRROR_ENV, cache_root, cached_files

        root = cache_root(cache_dir)
        mirrors = os.environ.get(MIRROR_ENV) or "none"
        table = Table(
            title=None if quiet else "Known data sets",
            caption=None if quiet else f"cache: {root}/<name>; mirror (${MIRROR_ENV}): {mirrors}",
        )
        for column in ("name", "description", "size", "cached"):
            table.add_column(column, no_wrap=column in ("name", "cached"))
        for spec in DATASETS.values():
            have, total = cached_files(spec.name, cache_dir=cache_dir), len(spec.registry())
            table.add_row(spec.name, spec.description, spec.size, f"{have}/{total} files")
        Console().print(table)

    @data_app.command("fetch")
    def fetch_command(
        name: Annotated[str, typer.Argument(help="Data set name (see `fakenews data list`).")],
        mirror: Annotated[
            Path | None,
            typer.Option(
                "--mirror",
                help="Local folder serving the set's files (else $FAKENEWS_DATA_MIRROR).",
            ),
        ] = None,
        cache_dir: Annotated[
            Path | None,
            typer.Option(
                "--cache-dir", help="Cache folder (default $FAKENEWS_CACHE or the OS cache)."
            ),
        ] = None,
        offline: Annotated[
            bool,
            typer.Option("--offline", help="Never use the network; only the cache and mirrors."),
        ] = False,
        quiet: Quiet = False,
    ) -> None:
        """Fetch a data set into the cache (checking every file's hash) and print its local path."""
        from fakenews.data.registry import fetch
        from fakenews.progress import configure_logging

        configure_logging(quiet=quiet)
        typer.echo(
            str(fetch(name, mirror=mirror, cache_dir=cache_dir, offline=offline, quiet=quiet))
        )


def _print_prepare(result: PrepareResult) -> None:
    from rich.table import Table

    from fakenews.progress import stderr_console

    steps = Table(title="prepare: rows per step")
    for column in ("step", "rows in", "removed", "rows out", "note"):
        steps.add_column(column, justify="left" if column in ("step", "note") else "right")
    for step, detail in zip(result.steps, result.manifest["steps"], strict=True):
        steps.add_row(
            step.name, f"{step.rows_in:,}", f"{step.removed:,}", f"{step.rows_out:,}", _note(detail)
        )
    counts = _counts_table(result.counts, title=f"splits ({result.manifest['split']['method']})")
    console = stderr_console()
    console.print(steps)
    console.print(counts)
    leak = result.leakage
    near = "off" if leak.near_cross_split is None else f"{leak.near_cross_split}"
    console.print(
        f"leakage across splits: exact {leak.exact_cross_split}, near {near}; fingerprint {result.fingerprint[:16]}…"
    )


def _note(step: dict) -> str:
    """One line on what a manifest step found."""
    if step["name"] == "exact_duplicate":
        return f"{len(step['groups'])} groups, first kept; {len(step['conflicting'])} conflicting, dropped whole"
    if step["name"] == "near_duplicate":
        if step["action"] == "off":
            return "off"
        verb = "first row kept" if step["action"] == "drop" else "each kept in one split"
        moved = f", {len(step['moved'])} rows moved" if step.get("moved") else ""
        return f"{len(step['clusters'])} clusters at Jaccard ≥ {step['threshold']:g}, {verb}{moved}"
    if step["name"] in ("empty", "short_text") and step["removed_ids"]:
        shown = ", ".join(map(str, step["removed_ids"][:3]))
        more = f" and {len(step['removed_ids']) - 3} more" if len(step["removed_ids"]) > 3 else ""
        limit = f"text < {step['min_text_chars']} chars: " if "min_text_chars" in step else ""
        return f"{limit}{shown}{more}"
    return ""


def _counts_table(counts: dict[str, dict[str, int]], *, title: str) -> Table:
    from rich.table import Table

    table = Table(title=title)
    for column in ("split", "total", "fake", "real"):
        table.add_column(column, justify="left" if column == "split" else "right")
    for name, c in counts.items():
        table.add_row(name, f"{c['total']:,}", f"{c['fake']:,}", f"{c['real']:,}")
    return table


def _print_audit(report: AuditReport, *, show: int, quiet: bool) -> None:
    from rich.console import Console

    console = Console()
    leak = report.leakage
    near = "off" if leak.near_cross_split is None else str(leak.near_cross_split)
    near_within = "off" if leak.near_within_split is None else str(leak.near_within_split)
    if not quiet:
        console.print(_counts_table(report.counts, title=f"audit: {report.path}"))
        console.print(
            f"within splits (not leakage): exact {leak.exact_within_split}, near {near_within} pairs; "
            f"near = word-3-gram Jaccard ≥ {leak.near_threshold:g}",
            highlight=False,
        )
    verdict = "LEAK" if leak.leaks else "ok"
    console.print(
        f"{verdict}: across splits exact {leak.exact_cross_split} pairs, near {near} pairs",
        highlight=False,
    )
    if leak.pairs and show > 0:
        console.print(
            f"shared across splits ({min(show, len(leak.pairs))} of {len(leak.pairs)} pairs):",
            highlight=False,
        )
        for pair in leak.pairs[:show]:
            jac = "" if pair.jaccard is None else f"  jaccard {pair.jaccard:.3f}"
            console.print(
                f"  {pair.kind:5}  {pair.a_split}:{pair.a_id}  {pair.b_split}:{pair.b_id}{jac}",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
