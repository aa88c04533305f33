"""``fakenews prepare``, ``fakenews audit``, ``fakenews data list`` and ``fakenews data fetch``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from fakenews.cli.common import Force, Quiet
from fakenews.progress import configure_logging, stderr_console

if TYPE_CHECKING:  # the library is imported inside each command: `fakenews --help` stays fast
    from fakenews.data.audit import AuditReport
    from fakenews.data.prepare import PrepareResult
    from fakenews.data.shortcuts import ShortcutAudit

SHOW_PAIRS = 20

ShortcutPrecision = Annotated[
    float,
    typer.Option(
        "--shortcut-precision",
        help="Shortcut audit: least share of a marker's train articles with one label.",
    ),
]
ShortcutCoverage = Annotated[
    float,
    typer.Option(
        "--shortcut-coverage",
        help="Shortcut audit: least share of train articles holding a marker (0.03 = 3%).",
    ),
]
ShortcutTop = Annotated[
    int, typer.Option("--shortcut-top", help="Shortcut audit: how many markers to list.")
]
CacheDir = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir",
        help="Cache folder; data sets go in its datasets/ (default $FAKENEWS_CACHE or the OS cache).",
    ),
]


InputsArgument = Annotated[
    list[Path],
    typer.Argument(
        help="Input files or folders (CSV, JSONL, WELFake CSV, LIAR TSV or folder, FakeNewsNet folder, split dir); "
        "NAME=PATH names the data set (several inputs: the dataset column)."
    ),
]
OutOption = Annotated[Path, typer.Option("--out", "-o", help="Split dir to write.")]
FormatOption = Annotated[
    str,
    typer.Option("--format", help="auto | welfake | csv | jsonl | fakenewsnet | liar | splits."),
]
SplitOption = Annotated[
    str | None,
    typer.Option(
        "--split",
        help="train,validation,test ratios, e.g. 0.7,0.15,0.15 (default) or 0,0,1. Default keeps the split of a split dir / LIAR folder.",
    ),
]
SeedOption = Annotated[int, typer.Option("--seed", help="Random seed of the split.")]
GroupByOption = Annotated[
    str | None,
    typer.Option(
        "--group-by",
        help="Column whose values must not span two splits: source (a site), dataset (several inputs), or any input column.",
    ),
]
NearDuplicatesOption = Annotated[
    float,
    typer.Option(
        "--near-duplicates",
        help="Jaccard threshold of near duplicates; 0 turns the step off.",
    ),
]
DropNearDuplicatesOption = Annotated[
    bool,
    typer.Option(
        "--drop-near-duplicates",
        help="Keep only the first row of each near-duplicate cluster (default: keep the cluster in one split).",
    ),
]
MinTextCharsOption = Annotated[
    int,
    typer.Option(
        "--min-text-chars",
        help="Drop rows whose text (without the title) is shorter, e.g. dead pages; 0 = off.",
    ),
]
StripMarkersOption = Annotated[
    bool,
    typer.Option(
        "--strip-markers",
        help="Remove source markers (agency datelines, photo credits, URLs, @handles…) from title and text.",
    ),
]
StripPatternOption = Annotated[
    list[str] | None,
    typer.Option(
        "--strip-pattern",
        help="Also remove matches of this regular expression (repeatable).",
    ),
]
TextColumnOption = Annotated[
    str | None,
    typer.Option(
        "--text-column", help="Text column (csv/jsonl); default text, else combined_text."
    ),
]
TitleColumnOption = Annotated[
    str | None,
    typer.Option("--title-column", help="Title column (csv/jsonl); default title if present."),
]
LabelColumnOption = Annotated[
    str | None,
    typer.Option("--label-column", help="Label column (csv/jsonl); default label."),
]
IdColumnOption = Annotated[
    str | None,
    typer.Option(
        "--id-column",
        help="Unique id column (csv/jsonl); default id if present, else row numbers.",
    ),
]
FakeLabelOption = Annotated[
    list[str] | None,
    typer.Option("--fake-label", help="Label value meaning fake (repeatable)."),
]
RealLabelOption = Annotated[
    list[str] | None,
    typer.Option("--real-label", help="Label value meaning real (repeatable)."),
]


def prepare_command(
    inputs: InputsArgument,
    out: OutOption,
    format_: FormatOption = "auto",
    split: SplitOption = None,
    seed: SeedOption = 42,
    group_by: GroupByOption = None,
    near_duplicates: NearDuplicatesOption = 0.9,
    drop_near_duplicates: DropNearDuplicatesOption = False,
    min_text_chars: MinTextCharsOption = 0,
    strip_markers: StripMarkersOption = False,
    strip_pattern: StripPatternOption = None,
    text_column: TextColumnOption = None,
    title_column: TitleColumnOption = None,
    label_column: LabelColumnOption = None,
    id_column: IdColumnOption = None,
    fake_label: FakeLabelOption = None,
    real_label: RealLabelOption = None,
    shortcut_precision: ShortcutPrecision = 0.95,
    shortcut_coverage: ShortcutCoverage = 0.03,
    shortcut_top: ShortcutTop = 20,
    force: Force = False,
    quiet: Quiet = False,
) -> None:
    """Read, clean, deduplicate and split raw data into a split dir (train/validation/test.csv + manifest.json)."""
    from fakenews.data.prepare import PrepareOptions, parse_split, prepare
    from fakenews.data.shortcuts import ShortcutOptions
    from fakenews.data.sources import ReadOptions

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
        strip_markers=strip_markers,
        strip_patterns=tuple(strip_pattern or ()),
        shortcuts=ShortcutOptions(shortcut_precision, shortcut_coverage, shortcut_top),
    )
    result = prepare(inputs, out, options, force=force, quiet=quiet)
    if not quiet:
        _print_prepare(result)
    typer.echo(str(result.out))


SplitDirArgument = Annotated[
    Path, typer.Argument(help="Any split dir (train.csv, validation.csv, test.csv).")
]
AuditNearOption = Annotated[
    float,
    typer.Option("--near-duplicates", help="Jaccard threshold of near duplicates; 0 = exact only."),
]
ShowOption = Annotated[int, typer.Option("--show", help="How many shared pairs to list.")]
JsonOption = Annotated[
    Path | None,
    typer.Option("--json", help='Also write {"leakage": ..., "shortcuts": [...]} to this file.'),
]
StrictOption = Annotated[
    bool,
    typer.Option(
        "--strict",
        help="Exit 2 also when one marker alone predicts the label with accuracy > 0.7 on test.",
    ),
]


def audit_command(
    split_dir: SplitDirArgument,
    near_duplicates: AuditNearOption = 0.9,
    show: ShowOption = SHOW_PAIRS,
    json_file: JsonOption = None,
    strict: StrictOption = False,
    shortcut_precision: ShortcutPrecision = 0.95,
    shortcut_coverage: ShortcutCoverage = 0.03,
    shortcut_top: ShortcutTop = 20,
    quiet: Quiet = False,
) -> None:
    """Report articles shared across splits (exit 2 when there are any) and markers that give the label away."""
    from fakenews.data.audit import audit, write_audit_json
    from fakenews.data.shortcuts import ShortcutOptions, strong_markers

    configure_logging(quiet=quiet)
    options = ShortcutOptions(shortcut_precision, shortcut_coverage, shortcut_top)
    report = audit(split_dir, near_threshold=near_duplicates, shortcuts=options, quiet=quiet)
    if json_file is not None:
        write_audit_json(report, json_file)
    console = Console()
    _print_leakage(console, report, show=show, quiet=quiet)
    doc = report.shortcuts.to_dict()
    if not quiet:
        _print_shortcuts(console, report.shortcuts, computed=report.shortcuts_from == "computed")
    strong = strong_markers(doc) if strict else []
    if strong:
        console.print(
            f"SHORTCUT: {len(strong)} marker(s) alone predict the label with accuracy > 0.7 on test, "
            f"best `{strong[0]['marker']}` {strong[0]['rule_accuracy']:.2f} (--strict)",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    if report.leakage.leaks or strong:
        raise typer.Exit(code=2)


def data_list_command(cache_dir: CacheDir = None, quiet: Quiet = False) -> None:
    """List the data sets `fakenews data fetch` knows, their size and where they are cached."""
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


DataSetArgument = Annotated[str, typer.Argument(help="Data set name (see `fakenews data list`).")]
MirrorOption = Annotated[
    Path | None,
    typer.Option(
        "--mirror", help="Local folder serving the set's files (else $FAKENEWS_DATA_MIRROR)."
    ),
]
OfflineOption = Annotated[
    bool, typer.Option("--offline", help="Never use the network; only the cache and mirrors.")
]


def data_fetch_command(
    name: DataSetArgument,
    mirror: MirrorOption = None,
    cache_dir: CacheDir = None,
    offline: OfflineOption = False,
    quiet: Quiet = False,
) -> None:
    """Fetch a data set into the cache (checking every file's hash) and print its local path."""
    from fakenews.data.registry import fetch

    configure_logging(quiet=quiet)
    typer.echo(str(fetch(name, mirror=mirror, cache_dir=cache_dir, offline=offline, quiet=quiet)))


def register(app: typer.Typer) -> None:
    """Add ``prepare``, ``audit`` and the ``data`` group to ``app``."""
    app.command("prepare")(prepare_command)
    app.command("audit")(audit_command)
    data_app = typer.Typer(
        help="Known public data sets: list them, fetch one (cache, mirror, then network).",
        no_args_is_help=True,
    )
    data_app.command("list")(data_list_command)
    data_app.command("fetch")(data_fetch_command)
    app.add_typer(data_app, name="data")


# --------------------------------------------------------------------------- printing


def _print_prepare(result: PrepareResult) -> None:
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
    _print_shortcuts(console, result.shortcuts, computed=False)


def _note(step: dict[str, Any]) -> str:
    """One line on what a manifest step found."""
    if step["name"] == "exact_duplicate":
        return f"{len(step['groups'])} groups, first kept; {len(step['conflicting'])} conflicting, dropped whole"
    if step["name"] == "near_duplicate":
        if step["action"] == "off":
            return "off"
        verb = "first row kept" if step["action"] == "drop" else "each kept in one split"
        moved = f", {len(step['moved'])} rows moved" if step.get("moved") else ""
        return f"{len(step['clusters'])} clusters at Jaccard ≥ {step['threshold']:g}, {verb}{moved}"
    if step["name"] == "strip_markers":
        hits = ", ".join(
            f"{p['name']} {p['articles_changed']}"
            for p in step["patterns"]
            if p["articles_changed"]
        )
        return f"{step['articles_changed']} articles changed" + (f": {hits}" if hits else "")
    if step["name"] in ("empty", "short_text") and step["removed_ids"]:
        shown = ", ".join(map(str, step["removed_ids"][:3]))
        more = f" and {len(step['removed_ids']) - 3} more" if len(step["removed_ids"]) > 3 else ""
        limit = f"text < {step['min_text_chars']} chars: " if "min_text_chars" in step else ""
        return f"{limit}{shown}{more}"
    return ""


def _counts_table(counts: dict[str, dict[str, int]], *, title: str) -> Table:
    table = Table(title=title)
    for column in ("split", "total", "fake", "real"):
        table.add_column(column, justify="left" if column == "split" else "right")
    for name, c in counts.items():
        table.add_row(name, f"{c['total']:,}", f"{c['fake']:,}", f"{c['real']:,}")
    return table


def _print_leakage(console: Console, report: AuditReport, *, show: int, quiet: bool) -> None:
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


def _print_shortcuts(console: Console, found: ShortcutAudit, *, computed: bool) -> None:
    from fakenews.data.shortcuts import shortcut_warning

    settings = found.settings
    where = " (computed: not in the manifest)" if computed else ""
    if not found.markers:
        console.print(
            f"shortcuts: no marker in ≥ {settings.min_coverage:.0%} of {found.train_articles} train articles "
            f"with precision ≥ {settings.min_precision:g}{where}",
            highlight=False,
            markup=False,
        )
        return
    table = Table(
        title=f"shortcuts: markers in ≥ {settings.min_coverage:.0%} of train articles, "
        f"precision ≥ {settings.min_precision:g}{where}",
        caption="rule acc: test accuracy of “marker present → its label, else the other”",
    )
    for column in ("marker", "kind", "label", "train", "coverage", "precision", "rule acc"):
        left = column in ("marker", "kind", "label")
        table.add_column(column, justify="left" if left else "right", no_wrap=column != "marker")
    for m in found.markers:
        acc = "–" if m.rule_accuracy is None else f"{m.rule_accuracy:.3f}"
        table.add_row(
            m.marker,
            m.kind,
            m.label,
            str(m.train_articles),
            f"{m.coverage:.1%}",
            f"{m.precision:.3f}",
            acc,
        )
    console.print(table)
    rule, base = found.best_rule, found.baseline_accuracy
    if rule is not None:
        acc = "–" if rule.accuracy is None else f"{rule.accuracy:.3f}"
        console.print(
            f"best rule on ≤ {settings.rule_markers} markers (chosen on train): any of "
            + ", ".join(f"`{m}`" for m in rule.markers)
            + f" → {rule.label}, else the other: accuracy {acc} on test ({rule.train_accuracy:.3f} on train)"
            + ("" if base is None else f"; majority class {base:.3f}"),
            highlight=False,
            markup=False,
        )
    warning = shortcut_warning(found.to_dict())
    if warning is not None:
        console.print(f"warning: {warning}", highlight=False, markup=False)
