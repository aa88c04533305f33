"""``fakenews evaluate`` (metrics, predictions, errors, plots, model card) and ``fakenews benchmark``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from fakenews.cli.common import (
    BackendOpt,
    BatchSizeOpt,
    DataOpt,
    DeviceOpt,
    LongOpt,
    PrecisionOpt,
    Quiet,
    RunArg,
    SplitOpt,
    inference_options,
)
from fakenews.progress import configure_logging

if TYPE_CHECKING:
    from fakenews.efficiency import EfficiencyResult
    from fakenews.evaluation.by_group import ByGroupResult
    from fakenews.evaluation.result import EvaluationResult
    from fakenews.metrics import Metrics

NArticlesOpt = Annotated[
    int, typer.Option("--n-articles", help="Real articles timed at batch size 1.")
]
BatchSizesOpt = Annotated[
    list[int] | None,
    typer.Option(
        "--batch-size", help="Batch size tried for throughput (repeatable; default 1 8 16 32 64)."
    ),
]
ByOpt = Annotated[
    str | None,
    typer.Option(
        "--by",
        help="source | dataset: also per-group metrics, metrics/<key>.by_<by>.json.",
    ),
]
ThresholdOpt = Annotated[
    float | None,
    typer.Option(
        "--threshold",
        help="Show the metrics at this P(fake) threshold instead of the run's (decision.json); "
        "writes nothing, the run is unchanged.",
    ),
]
ThreadsOpt = Annotated[
    int | None,
    typer.Option("--threads", help="torch threads while measuring (default: torch's own)."),
]

ExplainErrorsOpt = Annotated[
    bool | None,
    typer.Option(
        "--explain-errors/--no-explain-errors",
        help="Top words of each listed mistake in errors/*.md (default: baseline yes, transformers no: slow).",
    ),
]


def evaluate_command(
    run_dir: RunArg,
    data: DataOpt = None,
    split: SplitOpt = "test",
    long: LongOpt = "truncate",
    backend: BackendOpt = "torch",
    batch_size: BatchSizeOpt = None,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = "fp32",
    by: ByOpt = None,
    threshold: ThresholdOpt = None,
    explain_errors: ExplainErrorsOpt = None,
    quiet: Quiet = False,
) -> None:
    """Score a run on a split: metrics/, predictions/, errors/, plots/ and the model card (README.md)."""
    from fakenews.evaluation.stage import evaluate

    configure_logging(quiet=quiet)
    options = inference_options(
        backend=backend, long=long, batch_size=batch_size, device=device, precision=precision
    )
    if by is not None:  # before evaluate writes anything
        from fakenews.evaluation.by_group import check_group_column

        check_group_column(run_dir, by, data=data, split=split)
    result = evaluate(
        run_dir,
        data=data,
        split=split,
        options=options,
        threshold=threshold,
        quiet=quiet,
        explain_errors=explain_errors,
    )
    _print_metrics(result, run_dir)
    if by is not None:
        from fakenews.evaluation.by_group import metrics_by_group

        groups = metrics_by_group(run_dir, by, data=data, split=split, key=result.key)
        _print_groups(groups)


def benchmark_command(
    run_dir: RunArg,
    data: DataOpt = None,
    split: SplitOpt = "test",
    n_articles: NArticlesOpt = 200,
    batch_sizes: BatchSizesOpt = None,
    backend: BackendOpt = "torch",
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = "fp32",
    threads: ThreadsOpt = None,
    quiet: Quiet = False,
) -> None:
    """Measure parameters, size, latency (p50/p95) and throughput with 95% CIs: efficiency.json."""
    from fakenews.efficiency import DEFAULT_BATCH_SIZES, benchmark

    configure_logging(quiet=quiet)
    options = inference_options(backend=backend, device=device, precision=precision)
    result = benchmark(
        run_dir, data=data, split=split, n_articles=n_articles, batch_sizes=tuple(batch_sizes or DEFAULT_BATCH_SIZES),
        options=options, threads=threads, quiet=quiet,
    )  # fmt: skip
    _print_efficiency(result, run_dir)


def register(app: typer.Typer) -> None:
    """Add ``evaluate`` and ``benchmark`` to ``app``."""
    app.command("evaluate")(evaluate_command)
    app.command("benchmark")(benchmark_command)


def _f(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _ci(bounds: tuple[float, float], digits: int) -> str:
    return f"[{bounds[0]:.{digits}f}, {bounds[1]:.{digits}f}]"


def _metric_rows(result: EvaluationResult) -> list[tuple[str, str, str]]:
    """(metric, at the run's threshold, at 0.5) rows; blank where the threshold does not matter."""
    m, d = result.metrics, result.at_default or result.metrics
    rows = [
        ("accuracy", _f(m.accuracy), _f(d.accuracy)),
        ("precision (weighted)", _f(m.precision_weighted), _f(d.precision_weighted)),
        ("recall (weighted)", _f(m.recall_weighted), _f(d.recall_weighted)),
        ("F1 (weighted)", _f(m.f1_weighted), _f(d.f1_weighted)),
        ("F1 (macro)", _f(m.f1_macro), _f(d.f1_macro)),
        ("FPR (real flagged fake)", _f(m.fpr), _f(d.fpr)),
        ("FNR (fake passed as real)", _f(m.fnr), _f(d.fnr)),
        ("confusion [[TN, FP], [FN, TP]]", _cm(m), _cm(d)),
        ("ROC-AUC", _f(m.roc_auc) if m.roc_auc is not None else "undefined (one class)", ""),
        ("ECE (15 bins)", _f(m.ece), ""),
        ("Brier", _f(m.brier), ""),
    ]
    if result.temperature != 1.0:
        rows.append(("ECE before calibration (T = 1)", _f(result.ece_uncalibrated), ""))
    rows.append(("temperature", f"{result.temperature:.4g}", ""))
    return rows


def _cm(m: Metrics) -> str:
    return str([list(r) for r in m.confusion_matrix])


def _print_metrics(result: EvaluationResult, run_dir: Path) -> None:
    m = result.metrics
    where = "in-domain" if result.in_domain else f"cross-data-set: {result.data_name}"
    table = Table(title=f"{run_dir} — {result.key} ({where}, n={m.n})")
    table.add_column("metric")
    table.add_column(f"threshold {m.threshold:.4g}", justify="right")
    if abs(m.threshold - 0.5) > 1e-12:
        table.add_column("threshold 0.5", justify="right")
    for name, value, at_half in _metric_rows(result):
        table.add_row(name, value, at_half)
    console = Console()
    console.print(table)
    wrote = (
        f"wrote metrics/{result.key}.json, predictions/, errors/, plots/, README.md in {run_dir}"
        if result.files
        else f"--threshold {m.threshold:g}: nothing written, the run is unchanged"
    )
    console.print(wrote, highlight=False, markup=False, soft_wrap=True)


def _print_groups(result: ByGroupResult) -> None:
    table = Table(title=f"{result.key} by {result.by}")
    for column in ("group", "n", "fake", "accuracy", "F1 (macro)", "ROC-AUC"):
        table.add_column(column, justify="left" if column == "group" else "right")
    for g in result.groups:
        table.add_row(g.group, str(g.n), str(g.fake), _f(g.accuracy), _f(g.f1_macro), _f(g.roc_auc))
    Console().print(table)
    Console().print(f"wrote {result.path}", highlight=False, markup=False, soft_wrap=True)


def _print_efficiency(result: EfficiencyResult, run_dir: Path) -> None:
    r = result
    table = Table(
        title=f"{run_dir} — {r.path}, {r.device} ({r.device_name}), {r.torch_threads} threads"
    )
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("95% CI", justify="right")
    table.add_row(
        "parameters (total / trainable)", f"{r.params_total:,} / {r.params_trainable:,}", ""
    )
    table.add_row("size on disk", f"{r.size_mb:.1f} MB", "")
    table.add_row("weights in memory", f"{r.memory_mb:.1f} MB", "")
    table.add_row(
        "latency p50 (batch 1)", f"{r.latency_ms_p50:.2f} ms", _ci(r.latency_ms_p50_ci, 2)
    )
    table.add_row(
        "latency p95 (batch 1)", f"{r.latency_ms_p95:.2f} ms", _ci(r.latency_ms_p95_ci, 2)
    )
    for b, t in r.throughput_by_batch_size.items():
        mark = "  (best)" if b == r.batch_size else ""
        table.add_row(f"throughput, batch {b}{mark}", f"{t.per_s:.1f} /s", _ci(t.ci, 1))
    if r.peak_memory_mb is not None:
        table.add_row("CUDA peak memory", f"{r.peak_memory_mb:.1f} MB", "")
    table.add_row("articles timed", f"{r.n_articles} (mean {_f(r.mean_tokens, 0)} tokens)", "")
    if r.achieved_flops_per_s is not None:
        table.add_row(
            "achieved model FLOP/s (best batch)", f"{r.achieved_flops_per_s / 1e9:.1f} G", ""
        )
    if r.mfu is not None:
        table.add_row("MFU (of the GPU's 16-bit peak)", f"{r.mfu:.1%}", "")
    console = Console()
    console.print(table)
    console.print(
        f"wrote efficiency.json and README.md in {run_dir}",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
