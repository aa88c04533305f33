"""``fakenews compare``: evaluated runs -> one table, paired significance tests, plots and a report.

::

    REPORT_DIR/
      table.csv, table.md      quality (bootstrap 95% CIs) and efficiency, one row per run
      pairwise.csv, pairwise.md McNemar exact p, paired bootstrap CI of the accuracy difference,
                               Holm-adjusted p and one sentence per pair (same split only)
      cross_dataset.csv        rows run, columns data set (when runs were scored on several)
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

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fakenews.errors import FakeNewsError
from fakenews.io import check_output_dir, read_json
from fakenews.rundir import RunDir, eval_key
from fakenews.stats import DEFAULT_ALPHA, DEFAULT_BOOTSTRAP, METRICS, Estimate, PairedTest

logger = logging.getLogger(__name__)

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
    config: Mapping[str, Any]
    data_manifest: Mapping[str, Any]
    train_summary: Mapping[str, Any] | None
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "model": self.model,
            "kind": self.kind,
            "data": self.data,
            "data_fingerprint": self.fingerprint,
            "n": self.n,
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

    @property
    def report_html(self) -> Path:
        return self.out / "report.html"

    @property
    def report_md(self) -> Path:
        return self.out / "report.md"

    @property
    def table_markdown(self) -> str:
        """The table as Markdown (what ``table.md`` holds), e.g. for a terminal or a README."""
        from fakenews.reporting.report import table_markdown

        return table_markdown(self)

    @property
    def has_cross_dataset(self) -> bool:
        return len(self.data_sets) > 1

    def to_dict(self) -> dict[str, Any]:
        """The ``comparison.json`` document."""
        from fakenews import __version__

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
            "notes": list(self.notes),
            "files": list(self.files),
        }


# --------------------------------------------------------------------------- reading runs


def _command(path: Path, split: str) -> str:
    return f"fakenews evaluate {path}" + ("" if split == "test" else f" --split {split}")


def _optional_json(path: Path, what: str) -> dict[str, Any] | None:
    return dict(read_json(path, what=what)) if path.is_file() else None


def _data_name(
    config: Mapping[str, Any],
    manifest: Mapping[str, Any],
    summary: Mapping[str, Any] | None,
    own: Mapping[str, Any],
) -> str:
    """The name of the data set a run was trained on: its split dir's folder name when recorded
    (train summary, config, or the in-domain evaluation's ``data_path``), else the first input's stem."""
    data_cfg = config.get("data") if isinstance(config.get("data"), Mapping) else {}
    recorded = (
        (summary or {}).get("split_dir"),
        data_cfg.get("split_dir"),
        own.get("data_path"),
        manifest.get("split_dir"),
    )
    for raw in recorded:
        if raw:
            return Path(str(raw)).name
    if manifest.get("name"):
        return str(manifest["name"])
    inputs = manifest.get("inputs") or []
    if inputs and isinstance(inputs[0], Mapping) and inputs[0].get("path"):
        return Path(str(inputs[0]["path"])).stem
    return "own split"


def _read_predictions(path: Path, run: Path, split: str) -> pd.DataFrame:
    if not path.is_file():
        raise FakeNewsError(
            f"run {run} has metrics but no {path.relative_to(run)}; re-run `{_command(run, split)}`."
        )
    frame = pd.read_csv(path, dtype={"id": str}, keep_default_na=False)
    missing = [c for c in ("id", "label", "pred", "prob_fake") if c not in frame.columns]
    if missing:
        raise FakeNewsError(
            f"{path} lacks column(s) {', '.join(missing)}; expected id,label,pred,prob_fake. Re-run `{_command(run, split)}`."
        )
    if frame.empty:
        raise FakeNewsError(f"{path} has no rows; re-run `{_command(run, split)}`.")
    if frame["id"].duplicated().any():
        dup = frame.loc[frame["id"].duplicated(), "id"].iloc[0]
        raise FakeNewsError(
            f"{path} lists article id {dup!r} twice; ids must be unique. Re-run `{_command(run, split)}`."
        )
    return frame.loc[:, ["id", "label", "pred", "prob_fake"]].astype(
        {"label": int, "pred": int, "prob_fake": float}
    )


def _read_errors(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    frame = pd.read_csv(path, dtype={"id": str, "snippet": str}, keep_default_na=False)
    return frame if {"id", "kind", "prob_fake"}.issubset(frame.columns) else None


def _unique_names(paths: Sequence[Path]) -> list[str]:
    names = [p.name or str(p) for p in paths]
    if len(set(names)) < len(names):
        names = [f"{p.parent.name}/{p.name}" for p in paths]
    if len(set(names)) < len(names):
        names = [str(p) for p in paths]
    return names


def load_run(path: Path, name: str, split: str) -> RunRecord:
    """Read one evaluated run; refuse one that has not been evaluated on ``split``."""
    run = RunDir.open(path)
    key = eval_key(split)
    metrics_path = run.metrics(key)
    if not metrics_path.is_file():
        raise FakeNewsError(
            f"run {run.path} has not been evaluated on its {split} split (metrics/{key}.json is missing); "
            f"run `{_command(run.path, split)}` first."
        )
    config = run.read_config()
    manifest = run.read_data_manifest()
    summary = _optional_json(run.train_summary, "training summary")
    efficiency = _optional_json(run.efficiency, "efficiency file")
    fingerprint = str(manifest.get("fingerprint") or "")
    metrics: dict[str, dict[str, Any]] = {}
    for file in sorted(run.path.joinpath("metrics").glob("*.json")):
        doc = dict(read_json(file, what="metrics file"))
        if str(doc.get("split", split)) == split:
            metrics[file.stem] = doc
    own = metrics.get(key, {})
    own_fp = own.get("data_fingerprint")
    if own_fp and fingerprint and own_fp != fingerprint:
        raise FakeNewsError(
            f"run {run.path}: metrics/{key}.json was computed on data with fingerprint {own_fp}, but the run "
            f"was trained on {fingerprint}; re-run `{_command(run.path, split)}`."
        )
    model_cfg = config.get("model") if isinstance(config.get("model"), Mapping) else {}
    return RunRecord(
        name=name,
        path=run.path,
        model=str(model_cfg.get("name") or (summary or {}).get("model_name") or "unknown"),
        kind=str(model_cfg.get("kind") or (summary or {}).get("kind") or "unknown"),
        fingerprint=fingerprint,
        data_name=_data_name(config, manifest, summary, own),
        config=config,
        data_manifest=manifest,
        train_summary=summary,
        efficiency=efficiency,
        metrics=metrics,
        predictions=_read_predictions(run.predictions(key), run.path, split),
        errors=_read_errors(run.errors(key, ".csv")),
    )


def _check_same_split(runs: Sequence[RunRecord]) -> None:
    for r in runs:
        if not r.fingerprint:
            raise FakeNewsError(
                f"run {r.path} records no split fingerprint (data_manifest.json has no 'fingerprint'); "
                "re-train it on a split dir written by `fakenews prepare`."
            )
    ref = runs[0]
    others = [r for r in runs[1:] if r.fingerprint != ref.fingerprint]
    if others:
        differing = ", ".join(f"{r.path} has {r.fingerprint}" for r in others)
        raise FakeNewsError(
            f"runs were trained on different splits: {ref.path} has split fingerprint {ref.fingerprint} but "
            f"{differing}; paired tests need the same test articles, so train every run on the same split dir, "
            "or pass --allow-different-splits for a cross-data-set table without paired tests."
        )


def _aligned(
    runs: Sequence[RunRecord], split: str
) -> tuple[np.ndarray, dict[str, tuple[np.ndarray, np.ndarray]], np.ndarray]:
    """Labels, ``{run: (pred, prob_fake)}`` and ids, all in the first run's article order."""
    ref = runs[0].predictions
    ids = ref["id"].to_numpy()
    ref_ids = set(ids)
    models = {}
    for r in runs:
        frame = r.predictions
        theirs = set(frame["id"])
        if theirs != ref_ids:
            only_ref = sorted(ref_ids - theirs)
            only_theirs = sorted(theirs - ref_ids)
            example = (only_ref or only_theirs)[0]
            raise FakeNewsError(
                f"predictions/{eval_key(split)}.csv of {runs[0].path} and {r.path} cover different articles "
                f"({len(only_ref)} ids only in the first, {len(only_theirs)} only in the second, e.g. {example!r}); "
                f"re-run `fakenews evaluate` on both so they score the same {split} split."
            )
        frame = frame.set_index("id").loc[ids]
        if (frame["label"].to_numpy() != ref["label"].to_numpy()).any():
            bad = ids[frame["label"].to_numpy() != ref["label"].to_numpy()][0]
            raise FakeNewsError(
                f"article {bad!r} has different true labels in {runs[0].path} and {r.path}; "
                "their split dirs disagree, re-prepare the data and re-train."
            )
        models[r.name] = (
            frame["pred"].to_numpy(dtype=int),
            frame["prob_fake"].to_numpy(dtype=float),
        )
    return ref["label"].to_numpy(dtype=int), models, ids


# --------------------------------------------------------------------------- building the tables


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


def _row(run: RunRecord, quality: Mapping[str, Estimate], n: int) -> ModelRow:
    eff = run.efficiency or {}
    summary = run.train_summary or {}
    params, source = eff.get("params_total"), "efficiency.json"
    if params is None:
        params, source = summary.get("params_total"), "train_summary.json"
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
        train_runtime_s=_num(summary.get("train_runtime_s")),
        efficiency_device=str(eff["device"]) if eff.get("device") else None,
        efficiency_path=str(eff["path"]) if eff.get("path") else None,
    )


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


def _cross(
    runs: Sequence[RunRecord], split: str
) -> tuple[tuple[CrossCell, ...], tuple[str, ...], list[str]]:
    cells = []
    notes = []
    own_key = eval_key(split)
    for r in runs:
        for key, doc in r.metrics.items():
            in_domain = key == own_key
            data = r.data_name if in_domain else str(doc.get("data_name") or key.rsplit(".", 1)[0])
            accuracy = _num(doc.get("accuracy"))
            if accuracy is None:
                continue
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
                    chars=int(chars) if _num(chars) is not None else None,
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


# --------------------------------------------------------------------------- the stage


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
    from fakenews import stats

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
    out = Path(out)
    check_output_dir(out, force=force, what="report dir")
    names = _unique_names(paths)
    runs = tuple(load_run(p, name, split) for p, name in zip(paths, names, strict=True))
    same_split = len({r.fingerprint for r in runs}) == 1 and bool(runs[0].fingerprint)
    if not same_split and not allow_different_splits:
        _check_same_split(runs)
    notes: list[str] = []
    if not same_split:
        notes.append(CROSS_LABEL)

    progress = _Progress(total=n_bootstrap * (1 if same_split else len(runs)), quiet=quiet)
    rows: list[ModelRow] = []
    pairs: tuple[PairedTest, ...] = ()
    errors: list[ErrorSummary] = []
    missed: tuple[str, ...] = ()
    with progress:
        if same_split:
            labels, models, ids = _aligned(runs, split)
            logger.info(
                "bootstrapping %d resamples of %d articles for %d runs",
                n_bootstrap,
                len(labels),
                len(runs),
            )
            boot = stats.bootstrap(
                labels, models, n_bootstrap=n_bootstrap, seed=seed, progress=progress.update
            )
            pairs = stats.paired_tests(labels, models, boot, alpha=alpha)
            for r in runs:
                rows.append(_row(r, boot.models[r.name], len(labels)))
                errors.append(_errors(r, labels, models[r.name][0], split, top_errors))
            wrong_all = np.logical_and.reduce([models[r.name][0] != labels for r in runs])
            missed = tuple(str(i) for i in ids[wrong_all])
        else:
            for i, r in enumerate(runs):
                frame = r.predictions
                labels = frame["label"].to_numpy(dtype=int)
                model = {
                    r.name: (
                        frame["pred"].to_numpy(dtype=int),
                        frame["prob_fake"].to_numpy(dtype=float),
                    )
                }
                done = i * n_bootstrap
                boot = stats.bootstrap(
                    labels, model, n_bootstrap=n_bootstrap, seed=seed, paired=False,
                    progress=lambda k, done=done: progress.update(done + k),
                )  # fmt: skip
                rows.append(_row(r, boot.models[r.name], len(labels)))
                errors.append(_errors(r, labels, model[r.name][0], split, top_errors))

    for r in rows:
        if r.quality["roc_auc"].value is None:
            notes.append(
                f"ROC-AUC of {r.run} is undefined: its {split} split holds one class only."
            )
    notes.extend(_efficiency_notes(rows))
    cross, data_sets, cross_notes = _cross(runs, split)
    notes.extend(cross_notes)
    points = {
        r.run: (r.latency_ms_p50, r.quality["accuracy"].value)
        for r in rows
        if r.latency_ms_p50 is not None and r.quality["accuracy"].value is not None
    }
    result = ComparisonResult(
        out=out,
        split=split,
        same_split=same_split,
        runs=runs,
        rows=tuple(rows),
        pairs=pairs,
        cross=cross if len(data_sets) > 1 else (),
        data_sets=data_sets if len(data_sets) > 1 else (),
        pareto=pareto_front(points),  # type: ignore[arg-type]
        errors=tuple(errors),
        missed_by_all=missed,
        notes=tuple(notes),
        n_bootstrap=n_bootstrap,
        seed=seed,
        alpha=alpha,
    )
    return write_comparison(result, force=force)


class _Progress:
    """A rich progress bar over bootstrap resamples (silent when quiet)."""

    def __init__(self, *, total: int, quiet: bool) -> None:
        from fakenews.progress import make_progress

        self._bar = make_progress(quiet=quiet)
        self._total = total
        self._task: Any = None

    def __enter__(self) -> _Progress:
        self._bar.__enter__()
        self._task = self._bar.add_task("bootstrap resamples", total=self._total)
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.__exit__(*exc)  # type: ignore[arg-type]

    def update(self, done: int) -> None:
        self._bar.update(self._task, completed=done)


# --------------------------------------------------------------------------- writing


def table_frame(result: ComparisonResult) -> pd.DataFrame:
    """``table.csv``: one row per run, every figure as a number (empty = not measured)."""
    records = []
    for row in result.rows:
        rec: dict[str, Any] = {}
        if not result.same_split:
            rec["comparison"] = "cross-data-set: different test sets, not paired"
        rec.update(
            {"run": row.run, "model": row.model, "kind": row.kind, "data": row.data, "n": row.n}
        )
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


def write_comparison(result: ComparisonResult, *, force: bool = False) -> ComparisonResult:
    """Render every figure, table and report first, then write the report dir atomically."""
    from dataclasses import replace

    from fakenews.io import atomic_dir, write_bytes, write_csv, write_json, write_text
    from fakenews.reporting import report
    from fakenews.reporting.compare_plots import comparison_figures, figure_png

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


__all__ = [
    "CROSS_LABEL",
    "ComparisonResult",
    "CrossCell",
    "ErrorSummary",
    "ModelRow",
    "RunRecord",
    "compare",
    "cross_frame",
    "load_run",
    "pairwise_frame",
    "pareto_front",
    "table_frame",
    "write_comparison",
]
