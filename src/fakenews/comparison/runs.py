"""Reading evaluated run dirs for ``compare``: one :class:`RunRecord` per run, checked to be
comparable (same split fingerprint, same articles, same labels)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fakenews.comparison.result import RunRecord
from fakenews.errors import FakeNewsError
from fakenews.io import read_json_object
from fakenews.rundir import RunDir, TrainSummary, eval_key, read_metrics, read_predictions
from fakenews.splits import read_csv_text


def _command(path: Path, split: str) -> str:
    return f"fakenews evaluate {path}" + ("" if split == "test" else f" --split {split}")


def _optional_json(path: Path, what: str) -> dict[str, Any] | None:
    return read_json_object(path, what=what) if path.is_file() else None


def _data_name(
    manifest: Mapping[str, Any], summary: TrainSummary | None, own: Mapping[str, Any]
) -> str:
    """The name of the data set a run was trained on: its split dir's folder name when recorded
    (train summary, or the in-domain evaluation's ``data_path``), else the first input's stem."""
    for raw in (
        (summary.split_dir if summary else None),
        own.get("data_path"),
        manifest.get("split_dir"),
    ):
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
    return read_predictions(path, fix=f"re-run `{_command(run, split)}`")


def _read_errors(path: Path, run: Path, split: str) -> pd.DataFrame | None:
    """``errors/<key>.csv`` when present (``None`` without one, or one of another layout)."""
    if not path.is_file():
        return None
    frame = read_csv_text(path, what="error table")
    if not {"id", "kind", "prob_fake"}.issubset(frame.columns):
        return None
    probs = pd.to_numeric(frame["prob_fake"], errors="coerce")
    if probs.isna().any():
        raise FakeNewsError(
            f"{path}: prob_fake should be a number, found {frame['prob_fake'][probs.isna()].iloc[0]!r}; "
            f"re-run `{_command(run, split)}`."
        )
    return frame.assign(prob_fake=probs)


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
    manifest = run.manifest
    summary = run.summary
    efficiency = _optional_json(run.efficiency, "efficiency file")
    fingerprint = str(manifest.get("fingerprint") or "")
    metrics: dict[str, dict[str, Any]] = {}
    for file in sorted(run.path.joinpath("metrics").glob("*.json")):
        doc = read_metrics(file, fix=f"re-run `{_command(run.path, split)}`")
        if str(doc.get("split", split)) == split:
            metrics[file.stem] = doc
    _check_teacher_split(run, summary, fingerprint)
    own = metrics.get(key, {})
    own_fp = own.get("data_fingerprint")
    if own_fp and fingerprint and own_fp != fingerprint:
        raise FakeNewsError(
            f"run {run.path}: metrics/{key}.json was computed on data with fingerprint {own_fp}, but the run "
            f"was trained on {fingerprint}; re-run `{_command(run.path, split)}`."
        )
    return RunRecord(
        name=name,
        path=run.path,
        model=run.config.model.name,
        kind=run.kind,
        fingerprint=fingerprint,
        data_name=_data_name(manifest, summary, own),
        config=run.config,
        data_manifest=manifest,
        train_summary=summary,
        efficiency=efficiency,
        metrics=metrics,
        predictions=_read_predictions(run.predictions(key), run.path, split),
        errors=_read_errors(run.errors(key, ".csv"), run.path, split),
    )


def _check_teacher_split(run: RunDir, summary: TrainSummary | None, fingerprint: str) -> None:
    """A distilled student counts only if its teacher learnt from the same split: a teacher trained
    on other data may have seen the student's test articles, and taught them."""
    teacher = summary.teacher if summary is not None else None
    if not teacher or str(teacher.get("data_fingerprint") or "") == fingerprint:
        return
    raise FakeNewsError(
        f"run {run.path} was distilled from {teacher.get('run_dir')}, trained on another split (fingerprint "
        f"{teacher.get('data_fingerprint')}, the student's {fingerprint}), so its teacher may have seen these test "
        "articles; distil from a teacher trained on the student's split dir."
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
