"""The result types of ``fakenews compare`` and their tables (what the renderers draw; this
module imports no stage and no renderer)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from fakenews import __version__
from fakenews.config import RunConfig
from fakenews.generalization import Generalization
from fakenews.rundir import TrainSummary
from fakenews.stats import METRICS, Estimate, PairedTest

CROSS_LABEL = (
    "CROSS-DATA-SET COMPARISON: these runs were trained and tested on different splits, so their "
    "figures are not measured on the same articles; no paired tests were run."
)
"""The label every output carries when ``allow_different_splits`` let different splits through."""


# --------------------------------------------------------------------------- typed results


@dataclass(frozen=True, eq=False)
class RunRecord:
    """One evaluated run as ``compare`` read it.

    ``name`` is the label used in every table and sentence (the run dir's name, widened with its
    parent folder when two runs share a name). ``data_name`` names the data set it was trained
    on. ``train_summary`` and ``efficiency`` are ``None`` when their files are missing.
    ``metrics`` holds every ``metrics/<key>.json`` of the compared split, by key.
    """

    name: str
    path: Path
    model: str
    kind: str
    fingerprint: str
    data_name: str
    config: RunConfig
    data_manifest: Mapping[str, Any]
    train_summary: TrainSummary | None
    efficiency: Mapping[str, Any] | None
    metrics: Mapping[str, Mapping[str, Any]]
    predictions: pd.DataFrame
    errors: pd.DataFrame | None


@dataclass(frozen=True)
class ModelRow:
    """One line of the table: quality with bootstrap CIs and measured efficiency.

    ``quality`` maps each of :data:`fakenews.stats.METRICS` to an :class:`Estimate`. Efficiency
    fields are ``None`` when not measured (no ``efficiency.json`` / ``train_summary.json``);
    ``params_source`` says which file the parameter count came from.
    """

    run: str
    model: str
    kind: str
    data: str
    fingerprint: str
    n: int
    quality: Mapping[str, Estimate]
    params_total: int | None = None
    params_source: str | None = None
    size_mb: float | None = None
    latency_ms_p50: float | None = None
    latency_ms_p50_ci: tuple[float, float] | None = None
    throughput_per_s: float | None = None
    throughput_per_s_ci: tuple[float, float] | None = None
    train_runtime_s: float | None = None
    efficiency_device: str | None = None
    efficiency_path: str | None = None
    threshold: float | None = None
    """The P(fake) threshold its predictions were decided at (``metrics/<split>.json``)."""
    temperature: float | None = None
    """The calibration temperature of its probabilities (1.0 = uncalibrated)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "model": self.model,
            "kind": self.kind,
            "data": self.data,
            "data_fingerprint": self.fingerprint,
            "n": self.n,
            "threshold": self.threshold,
            "temperature": self.temperature,
            "quality": {k: v.to_dict() for k, v in self.quality.items()},
            "efficiency": {
                "params_total": self.params_total,
                "params_source": self.params_source,
                "size_mb": self.size_mb,
                "latency_ms_p50": self.latency_ms_p50,
                "latency_ms_p50_ci": list(self.latency_ms_p50_ci)
                if self.latency_ms_p50_ci
                else None,
                "throughput_per_s": self.throughput_per_s,
                "throughput_per_s_ci": list(self.throughput_per_s_ci)
                if self.throughput_per_s_ci
                else None,
                "train_runtime_s": self.train_runtime_s,
                "device": self.efficiency_device,
                "path": self.efficiency_path,
            },
        }


@dataclass(frozen=True)
class CrossCell:
    """One cell of the cross-data-set matrix: run ``run`` scored on data set ``data``."""

    run: str
    data: str
    key: str
    in_domain: bool
    n: int
    accuracy: float
    f1_macro: float | None
    roc_auc: float | None
    data_fingerprint: str

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass(frozen=True)
class Mistake:
    """One confident mistake from ``errors/<key>.csv`` (``kind`` FP = real flagged fake, FN = fake passed)."""

    id: str
    kind: str
    prob_fake: float
    chars: int | None
    snippet: str


@dataclass(frozen=True)
class ErrorSummary:
    """Error-analysis highlights of one run: counts and its most confident mistakes.

    ``source`` is the errors CSV the snippets came from, ``None`` when it is missing (counts
    then come from the predictions alone).
    """

    run: str
    n: int
    false_positives: int
    false_negatives: int
    top: tuple[Mistake, ...]
    source: str | None

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in vars(self).items() if k != "top"}
        out["top"] = [vars(m) for m in self.top]
        return out


@dataclass(frozen=True)
class ComparisonResult:
    """Everything ``compare`` measured and wrote.

    ``same_split`` is False only with ``allow_different_splits``: then ``pairs`` is empty and
    every output carries :data:`CROSS_LABEL`. ``pareto`` names the runs on the accuracy-vs-latency
    Pareto front (runs without a latency are left out). ``missed_by_all`` lists the ids every
    model got wrong (same split only). ``files`` are the paths written, relative to ``out``.
    """

    out: Path
    split: str
    same_split: bool
    runs: tuple[RunRecord, ...]
    rows: tuple[ModelRow, ...]
    pairs: tuple[PairedTest, ...]
    cross: tuple[CrossCell, ...]
    data_sets: tuple[str, ...]
    pareto: tuple[str, ...]
    errors: tuple[ErrorSummary, ...]
    missed_by_all: tuple[str, ...]
    notes: tuple[str, ...]
    n_bootstrap: int
    seed: int
    alpha: float
    files: tuple[str, ...] = field(default_factory=tuple)
    generalization: tuple[Generalization, ...] = ()
    """Per run (``who`` = the run's name): its own test accuracy, the mean accuracy on the data
    sets it was not trained on with a bootstrap CI, and the gap; empty when no run was
    evaluated on another data set."""

    @property
    def report_html(self) -> Path:
        return self.out / "report.html"

    @property
    def report_md(self) -> Path:
        return self.out / "report.md"

    @property
    def has_cross_dataset(self) -> bool:
        return len(self.data_sets) > 1

    def to_dict(self) -> dict[str, Any]:
        """The ``comparison.json`` document."""
        return {
            "fakenews_version": __version__,
            "label": None if self.same_split else CROSS_LABEL,
            "split": self.split,
            "same_split": self.same_split,
            "n_bootstrap": self.n_bootstrap,
            "seed": self.seed,
            "alpha": self.alpha,
            "ci_method": "percentile bootstrap over test articles (indices resampled jointly for all models)",
            "test": "McNemar exact (two-sided binomial on the disagreements), Holm-adjusted across all pairs",
            "runs": [
                {
                    "name": r.name,
                    "path": str(r.path),
                    "model": r.model,
                    "kind": r.kind,
                    "data": r.data_name,
                    "data_fingerprint": r.fingerprint,
                }
                for r in self.runs
            ],
            "table": [row.to_dict() for row in self.rows],
            "pairwise": [p.to_dict() for p in self.pairs] if self.same_split else None,
            "cross_dataset": {
                "data_sets": list(self.data_sets),
                "cells": [c.to_dict() for c in self.cross],
            }
            if self.has_cross_dataset
            else None,
            "pareto_accuracy_vs_latency": list(self.pareto),
            "errors": [e.to_dict() for e in self.errors],
            "missed_by_all": list(self.missed_by_all),
            "generalization": [
                {
                    "run": g.who,
                    "in_domain_accuracy": g.in_domain,
                    "out_of_domain_accuracy": g.out_of_domain,
                    "out_of_domain_ci": list(g.ci) if g.ci else None,
                    "gap_pt": g.gap_pt,
                    "unseen_data_sets": list(g.unseen),
                    "verdict": g.verdict(),
                }
                for g in self.generalization
            ],
            "notes": list(self.notes),
            "files": list(self.files),
        }


def pareto_front(points: Mapping[str, tuple[float, float]]) -> tuple[str, ...]:
    """Names whose ``(latency, accuracy)`` no other point beats: lower-or-equal latency and
    higher-or-equal accuracy, one of them strictly. Sorted by latency."""
    front = []
    for name, (lat, acc) in points.items():
        dominated = any(
            (ol <= lat and oa >= acc) and (ol < lat or oa > acc)
            for other, (ol, oa) in points.items()
            if other != name
        )
        if not dominated:
            front.append(name)
    return tuple(sorted(front, key=lambda k: points[k][0]))


def table_frame(result: ComparisonResult) -> pd.DataFrame:
    """``table.csv``: one row per run, every figure as a number (empty = not measured)."""
    records = []
    for row in result.rows:
        rec: dict[str, Any] = {}
        if not result.same_split:
            rec["comparison"] = "cross-data-set: different test sets, not paired"
        rec.update(
            {"run": row.run, "model": row.model, "kind": row.kind, "data": row.data, "n": row.n,
             "threshold": row.threshold, "temperature": row.temperature}
        )  # fmt: skip
        for metric in METRICS:
            est = row.quality[metric]
            rec[metric] = est.value
            rec[f"{metric}_ci_low"] = est.low
            rec[f"{metric}_ci_high"] = est.high
        rec.update(
            {
                "params_total": row.params_total,
                "size_mb": row.size_mb,
                "latency_ms_p50": row.latency_ms_p50,
                "latency_ms_p50_ci_low": row.latency_ms_p50_ci[0]
                if row.latency_ms_p50_ci
                else None,
                "latency_ms_p50_ci_high": row.latency_ms_p50_ci[1]
                if row.latency_ms_p50_ci
                else None,
                "throughput_per_s": row.throughput_per_s,
                "train_runtime_s": row.train_runtime_s,
                "data_fingerprint": row.fingerprint,
            }
        )
        records.append(rec)
    frame = pd.DataFrame(records)
    return frame.astype({"params_total": "Int64"})


def pairwise_frame(result: ComparisonResult) -> pd.DataFrame:
    """``pairwise.csv``: one row per pair (empty without a shared split)."""
    columns = [
        "a", "b", "n", "accuracy_a", "accuracy_b", "diff", "diff_ci_low", "diff_ci_high",
        "a_right_b_wrong", "b_right_a_wrong", "p_value", "p_holm", "alpha", "significant", "winner", "sentence",
    ]  # fmt: skip
    return pd.DataFrame([p.to_dict() for p in result.pairs], columns=columns)


def cross_frame(result: ComparisonResult) -> pd.DataFrame:
    """``cross_dataset.csv``: rows run, columns data set (accuracy), plus the in-domain column's name."""
    records = []
    for row in result.rows:
        rec: dict[str, Any] = {"run": row.run, "model": row.model}
        for d in result.data_sets:
            cell = next((c for c in result.cross if c.run == row.run and c.data == d), None)
            rec[d] = cell.accuracy if cell else None
        own = next((c.data for c in result.cross if c.run == row.run and c.in_domain), None)
        rec["in_domain"] = own
        records.append(rec)
    return pd.DataFrame(records)
