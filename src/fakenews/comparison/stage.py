"""``fakenews compare``: evaluated runs -> one table, paired significance tests, plots and a report.

::

    REPORT_DIR/
      table.csv, table.md      quality (bootstrap 95% CIs) and efficiency, one row per run
      pairwise.csv, pairwise.md McNemar exact p, paired bootstrap CI of the accuracy difference,
                               Holm-adjusted p and one sentence per pair (same split only)
      cross_dataset.csv        rows run, columns data set (when runs were scored on several)
                               and the Generalization section: per run its in-domain accuracy,
                               the mean on unseen data sets with a bootstrap CI, the gap, a verdict
      plots/*.png              parameters, size, latency, throughput, accuracy vs latency, matrix
      report.md, report.html   the whole study, top to bottom (HTML self-contained)
      comparison.json          everything above, machine-readable

Runs are comparable only when they were trained and tested on the same split (equal split
fingerprints) and their predictions cover the same articles; otherwise ``compare`` refuses,
unless ``allow_different_splits`` asks for a cross-data-set table (labelled as such everywhere,
with no paired tests). Every number comes from the runs' files; a missing figure is reported as
"not measured", never filled in.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from fakenews import stats
from fakenews.comparison import report
from fakenews.comparison.plots import comparison_figures
from fakenews.comparison.result import (
    CROSS_LABEL,
    ComparisonResult,
    CrossCell,
    ErrorSummary,
    Mistake,
    ModelRow,
    RunRecord,
    cross_frame,
    pairwise_frame,
    pareto_front,
    table_frame,
)
from fakenews.comparison.runs import _aligned, _check_same_split, _unique_names, load_run
from fakenews.errors import FakeNewsError
from fakenews.generalization import Generalization, generalization
from fakenews.io import atomic_dir, check_output_dir, write_bytes, write_csv, write_json, write_text
from fakenews.progress import make_progress
from fakenews.reporting.figures import figure_png
from fakenews.rundir import eval_key
from fakenews.stats import DEFAULT_ALPHA, DEFAULT_BOOTSTRAP, Estimate, PairedTest

logger = logging.getLogger(__name__)


def _num(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if np.isfinite(out) else None


def _pair(value: Any) -> tuple[float, float] | None:
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        low, high = _num(value[0]), _num(value[1])
        if low is not None and high is not None:
            return (low, high)
    return None


def _own_metrics(run: RunRecord) -> Mapping[str, Any]:
    """The run's default-inference, in-domain metrics of the compared split (``metrics/<split>.json``,
    ``{}`` when absent): its threshold and temperature are those of its predictions."""
    return next((d for k, d in run.metrics.items() if "." not in k and "+" not in k), {})


def _row(run: RunRecord, quality: Mapping[str, Estimate], n: int) -> ModelRow:
    eff = run.efficiency or {}
    own = _own_metrics(run)
    summary = run.train_summary
    params, source = eff.get("params_total"), "efficiency.json"
    if params is None and summary is not None:
        params, source = summary.params_total, "train_summary.json"
    params_num = _num(params)
    return ModelRow(
        run=run.name,
        model=run.model,
        kind=run.kind,
        data=run.data_name,
        fingerprint=run.fingerprint,
        n=n,
        quality=quality,
        params_total=int(params_num) if params_num is not None else None,
        params_source=source if params_num is not None else None,
        size_mb=_num(eff.get("size_mb")),
        latency_ms_p50=_num(eff.get("latency_ms_p50")),
        latency_ms_p50_ci=_pair(eff.get("latency_ms_p50_ci")),
        throughput_per_s=_num(eff.get("throughput_per_s")),
        throughput_per_s_ci=_pair(eff.get("throughput_per_s_ci")),
        train_runtime_s=_num(summary.train_runtime_s) if summary else None,
        efficiency_device=str(eff["device"]) if eff.get("device") else None,
        efficiency_path=str(eff["path"]) if eff.get("path") else None,
        threshold=_num(own.get("threshold", 0.5)),
        temperature=_num(own.get("temperature", 1.0)),
    )


def _cross(
    runs: Sequence[RunRecord], split: str
) -> tuple[tuple[CrossCell, ...], tuple[str, ...], list[str]]:
    cells = []
    notes = []
    own_key = eval_key(split)
    for r in runs:
        members = trained_on(r)
        for key, doc in r.metrics.items():
            in_domain = key == own_key
            data = r.data_name if in_domain else str(doc.get("data_name") or key.rsplit(".", 1)[0])
            accuracy = _num(doc.get("accuracy"))
            if accuracy is None:
                continue
            if not in_domain and data == r.data_name and doc.get("data_fingerprint") in members:
                continue  # the own test split again, scored from the member's split dir
            cells.append(
                CrossCell(
                    run=r.name,
                    data=data,
                    key=key,
                    in_domain=in_domain,
                    n=int(doc.get("n") or 0),
                    accuracy=accuracy,
                    f1_macro=_num(doc.get("f1_macro")),
                    roc_auc=_num(doc.get("roc_auc")),
                    data_fingerprint=str(
                        doc.get("data_fingerprint") or (r.fingerprint if in_domain else "")
                    ),
                )
            )
    data_sets = []
    for c in sorted(cells, key=lambda c: (not c.in_domain, c.data)):
        if c.data not in data_sets:
            data_sets.append(c.data)
    for d in data_sets:
        fps = {c.data_fingerprint for c in cells if c.data == d and c.data_fingerprint}
        if len(fps) > 1:
            notes.append(
                f"the column {d!r} of the cross-data-set matrix mixes {len(fps)} different versions of that data "
                "(different fingerprints): its cells are not measured on the same articles."
            )
    return tuple(cells), tuple(data_sets), notes


def trained_on(run: RunRecord) -> set[str]:
    """Fingerprints of the data a run was trained on: its split's, and for a study's pooled
    training split each member data set's (``manifest.json`` → ``study.members_fingerprints``)."""
    study = run.data_manifest.get("study")
    members = study.get("members_fingerprints") if isinstance(study, Mapping) else None
    found = {str(v) for v in members.values()} if isinstance(members, Mapping) else set()
    return {run.fingerprint, *found} - {""}


def generalization_of(
    runs: Sequence[RunRecord], cross: Sequence[CrossCell]
) -> tuple[Generalization, ...]:
    """Per run: own test accuracy vs the mean over the data sets it was not trained on (a cross
    evaluation on a member of its training data counts as seen); empty when no run has any."""
    out = []
    for r in runs:
        seen = trained_on(r)
        mine = [c for c in cross if c.run == r.name]
        own = [c.accuracy for c in mine if c.in_domain]
        unseen = [
            (c.data, c.accuracy, r.path / "predictions" / f"{c.key}.csv")
            for c in mine
            if not c.in_domain and c.data_fingerprint not in seen
        ]
        unseen = [cell for cell in unseen if cell[2].is_file()]
        out.append(generalization(r.name, own, unseen))
    if all(g.out_of_domain is None for g in out):
        return ()
    return tuple(out)


def _errors(
    run: RunRecord, labels: np.ndarray, pred: np.ndarray, split: str, top: int
) -> ErrorSummary:
    fp = int(np.sum((labels == 0) & (pred == 1)))
    fn = int(np.sum((labels == 1) & (pred == 0)))
    mistakes: list[Mistake] = []
    source = None
    if run.errors is not None:
        source = f"errors/{eval_key(split)}.csv"
        frame = run.errors.copy()
        frame["confidence"] = (frame["prob_fake"].astype(float) - 0.5).abs()
        frame = frame.sort_values("confidence", ascending=False, kind="stable").head(top)
        for row in frame.itertuples(index=False):
            chars = getattr(row, "chars", None)
            mistakes.append(
                Mistake(
                    id=str(row.id),
                    kind=str(row.kind),
                    prob_fake=float(row.prob_fake),
                    chars=None if (n := _num(chars)) is None else int(n),
                    snippet=str(getattr(row, "snippet", "")),
                )
            )
    return ErrorSummary(
        run=run.name,
        n=len(labels),
        false_positives=fp,
        false_negatives=fn,
        top=tuple(mistakes),
        source=source,
    )


def _efficiency_notes(rows: Sequence[ModelRow]) -> list[str]:
    notes = []
    devices = {r.efficiency_device for r in rows if r.efficiency_device}
    if len(devices) > 1:
        where = ", ".join(f"{r.run}: {r.efficiency_device}" for r in rows if r.efficiency_device)
        notes.append(
            f"efficiency was measured on different devices ({where}); latency and throughput are not comparable across them."
        )
    missing = [r.run for r in rows if r.latency_ms_p50 is None]
    if missing:
        notes.append(
            f"efficiency not measured for {', '.join(missing)} (no efficiency.json): run `fakenews benchmark RUN_DIR`."
        )
    no_time = [r.run for r in rows if r.train_runtime_s is None]
    if no_time:
        notes.append(
            f"training time not recorded for {', '.join(no_time)} (no train_summary.json)."
        )
    return notes


def compare(
    run_dirs: Sequence[Path | str],
    out: Path | str,
    *,
    split: str = "test",
    allow_different_splits: bool = False,
    force: bool = False,
    n_bootstrap: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
    alpha: float = DEFAULT_ALPHA,
    top_errors: int = 3,
    quiet: bool = False,
) -> ComparisonResult:
    """Compare evaluated runs and write the report dir ``out`` (atomically).

    Args:
        run_dirs: two or more run dirs, each evaluated with ``fakenews evaluate`` (and, for the
            efficiency columns, measured with ``fakenews benchmark``).
        out: the report dir to create; it must not exist (or be empty) unless ``force``.
        split: the evaluated split to compare, ``test`` (default), ``validation`` or ``train``.
        allow_different_splits: accept runs with different split fingerprints (default False)
            for a cross-data-set table: labelled in every output, no paired tests.
        force: replace an existing, non-empty ``out`` (default False).
        n_bootstrap: bootstrap resamples of the test articles (default 10,000).
        seed: seed of the bootstrap (default 0); equal inputs and seed give equal output.
        alpha: significance level of the Holm-adjusted McNemar tests (default 0.05).
        top_errors: most confident mistakes shown per run in the report (default 3).
        quiet: no progress bar when True.

    Returns:
        The :class:`ComparisonResult`; ``result.report_html`` is the report to open.
    """
    out = Path(out)
    runs = _load_runs(run_dirs, split, n_bootstrap=n_bootstrap)
    check_output_dir(out, force=force, what="report dir")
    same_split = len({r.fingerprint for r in runs}) == 1 and bool(runs[0].fingerprint)
    if not same_split and not allow_different_splits:
        _check_same_split(runs)
    settings = _Settings(split, n_bootstrap, seed, alpha, top_errors)
    with _Progress(total=n_bootstrap * (1 if same_split else len(runs)), quiet=quiet) as progress:
        if same_split:
            scored = _score_paired(runs, settings, progress)
        else:
            scored = _score_unpaired(runs, settings, progress)
    rows, pairs, errors, missed = scored
    cross, data_sets, cross_notes = _cross(runs, split)
    several = len(data_sets) > 1
    result = ComparisonResult(
        out=out, split=split, same_split=same_split, runs=runs, rows=tuple(rows), pairs=pairs,
        cross=cross if several else (), data_sets=data_sets if several else (),
        pareto=_pareto(rows), errors=tuple(errors), missed_by_all=missed,
        notes=tuple(_notes(rows, split, same_split) + cross_notes),
        n_bootstrap=n_bootstrap, seed=seed, alpha=alpha,
        generalization=generalization_of(runs, cross) if several else (),
    )  # fmt: skip
    return write_comparison(result, force=force)


def _pareto(rows: Sequence[ModelRow]) -> tuple[str, ...]:
    """The runs on the accuracy-vs-latency Pareto front (runs without a latency left out)."""
    points: dict[str, tuple[float, float]] = {}
    for r in rows:
        accuracy = r.quality["accuracy"].value
        if r.latency_ms_p50 is not None and accuracy is not None:
            points[r.run] = (r.latency_ms_p50, accuracy)
    return pareto_front(points)


@dataclass(frozen=True)
class _Settings:
    split: str
    n_bootstrap: int
    seed: int
    alpha: float
    top_errors: int


_Scored = tuple[list[ModelRow], tuple[PairedTest, ...], list[ErrorSummary], tuple[str, ...]]


def _load_runs(
    run_dirs: Sequence[Path | str], split: str, *, n_bootstrap: int
) -> tuple[RunRecord, ...]:
    paths = [Path(p) for p in run_dirs]
    if len(paths) < 2:
        found = "none" if not paths else f"only {paths[0]}"
        raise FakeNewsError(
            f"compare needs at least two run dirs, found {found}; pass two or more, e.g. `fakenews compare runs/a runs/b --out report`."
        )
    resolved = [p.resolve() for p in paths]
    for i, p in enumerate(resolved):
        if p in resolved[:i]:
            raise FakeNewsError(f"run dir {paths[i]} is given twice; pass each run once.")
    if n_bootstrap < 100:
        raise FakeNewsError(
            f"--bootstrap must be at least 100 resamples for a 95% CI, found {n_bootstrap}."
        )
    names = _unique_names(paths)
    return tuple(load_run(p, name, split) for p, name in zip(paths, names, strict=True))


def _score_paired(runs: Sequence[RunRecord], s: _Settings, progress: _Progress) -> _Scored:
    """One joint bootstrap over the shared test articles, McNemar tests for every pair."""
    labels, models, ids = _aligned(runs, s.split)
    logger.info(
        "bootstrapping %d resamples of %d articles for %d runs",
        s.n_bootstrap, len(labels), len(runs),
    )  # fmt: skip
    boot = stats.bootstrap(
        labels, models, n_bootstrap=s.n_bootstrap, seed=s.seed, progress=progress.update
    )
    pairs = stats.paired_tests(labels, models, boot, alpha=s.alpha)
    rows = [_row(r, boot.models[r.name], len(labels)) for r in runs]
    errors = [_errors(r, labels, models[r.name][0], s.split, s.top_errors) for r in runs]
    wrong_all = np.logical_and.reduce([models[r.name][0] != labels for r in runs])
    return rows, pairs, errors, tuple(str(i) for i in ids[wrong_all])


def _score_unpaired(runs: Sequence[RunRecord], s: _Settings, progress: _Progress) -> _Scored:
    """A bootstrap per run over its own test articles (different splits: no paired tests)."""
    rows, errors = [], []
    for i, r in enumerate(runs):
        frame = r.predictions
        labels = frame["label"].to_numpy(dtype=int)
        pred = frame["pred"].to_numpy(dtype=int)
        model = {r.name: (pred, frame["prob_fake"].to_numpy(dtype=float))}
        advance = functools.partial(_advance, progress, i * s.n_bootstrap)
        boot = stats.bootstrap(
            labels, model, n_bootstrap=s.n_bootstrap, seed=s.seed, paired=False, progress=advance
        )
        rows.append(_row(r, boot.models[r.name], len(labels)))
        errors.append(_errors(r, labels, pred, s.split, s.top_errors))
    return rows, (), errors, ()


def _advance(progress: _Progress, done: int, k: int) -> None:
    progress.update(done + k)


def _notes(rows: Sequence[ModelRow], split: str, same_split: bool) -> list[str]:
    notes = [] if same_split else [CROSS_LABEL]
    for r in rows:
        if r.quality["roc_auc"].value is None:
            notes.append(
                f"ROC-AUC of {r.run} is undefined: its {split} split holds one class only."
            )
    return notes + _efficiency_notes(rows)


class _Progress:
    """A rich progress bar over bootstrap resamples (silent when quiet)."""

    def __init__(self, *, total: int, quiet: bool) -> None:
        self._bar = make_progress(quiet=quiet)
        self._total = total
        self._task: Any = None

    def __enter__(self) -> _Progress:
        self._bar.__enter__()
        self._task = self._bar.add_task("bootstrap resamples", total=self._total)
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def update(self, done: int) -> None:
        self._bar.update(self._task, completed=done)


def write_comparison(result: ComparisonResult, *, force: bool = False) -> ComparisonResult:
    """Render every figure, table and report first, then write the report dir atomically."""
    figures = comparison_figures(result)
    pngs = {name: figure_png(fig) for name, (fig, _caption) in figures.items()}
    captions = {name: caption for name, (_fig, caption) in figures.items()}
    files = ["table.csv", "table.md"]
    if result.same_split:
        files += ["pairwise.csv", "pairwise.md"]
    if result.has_cross_dataset:
        files.append("cross_dataset.csv")
    files += [f"plots/{name}.png" for name in pngs]
    files += ["report.md", "report.html", "comparison.json"]
    result = replace(result, files=tuple(files))
    markdown = report.render_markdown(result, captions)
    html = report.render_html(result, pngs, captions)
    with atomic_dir(result.out, force=force, what="report dir") as tmp:
        write_csv(tmp / "table.csv", table_frame(result))
        write_text(tmp / "table.md", report.table_markdown(result) + "\n")
        if result.same_split:
            write_csv(tmp / "pairwise.csv", pairwise_frame(result))
            write_text(tmp / "pairwise.md", report.pairwise_markdown(result) + "\n")
        if result.has_cross_dataset:
            write_csv(tmp / "cross_dataset.csv", cross_frame(result))
        for name, png in pngs.items():
            write_bytes(tmp / "plots" / f"{name}.png", png)
        write_text(tmp / "report.md", markdown)
        write_text(tmp / "report.html", html)
        write_json(tmp / "comparison.json", result.to_dict())
    logger.info("wrote %s", result.report_html)
    return result
