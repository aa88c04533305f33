"""``study``: prepare every data set once, pool train sets, train each (train set, model), evaluate
each run on every data set's test split, and write the tidy ``generalization.csv`` and the report.

::

    DIR/
      study.json                  the validated study (a rerun must match it)
      data/NAME/                  each data set prepared once (test_only: split 0,0,1)
      train/A+B/                  a training split dir: the members' train/validation (test: theirs),
                                  minus every article whose text is in any data set's test split
      runs/A+B/MODEL/             a run dir (train → evaluate on its own test split and on
                                  data/NAME for every NAME → benchmark)
      compare/A+B/                ``fakenews compare`` of the models trained on A+B (same split:
                                  paired tests, efficiency, and the Generalization section)
      report/generalization.csv   protocol,model,train,test,n,accuracy,f1_macro,roc_auc,in_domain
      report/report.md, report.html (links every compare/A+B/report.html)
      report/timings.json         wall seconds of the last call per stage

Each piece is skipped when it is complete (a split dir with ``manifest.json``, a run dir with
``model/``, a ``metrics/NAME.test.json``, an ``efficiency.json``, a comparison dir whose
``comparison.json`` lists the same runs); every stage writes atomically, so after a kill -9 a
rerun with the same ``--out`` redoes only the piece that was cut short and gives the same numbers.
A run interrupted mid-training resumes from its last checkpoint (a baseline restarts).
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from fakenews.comparison.result import ComparisonResult
from fakenews.comparison.stage import compare
from fakenews.data.audit import counts_of
from fakenews.data.dedup import normalize, text_hash
from fakenews.data.prepare import DATASET_COLUMN, prepare
from fakenews.efficiency import benchmark
from fakenews.errors import FakeNewsError
from fakenews.evaluation.stage import evaluate
from fakenews.io import atomic_dir, read_json_object, write_csv, write_json
from fakenews.predictors.base import InferenceOptions, Predictor
from fakenews.predictors.load import load_predictor
from fakenews.rundir import RunDir, eval_key
from fakenews.splits import (
    MANIFEST,
    SPLITS,
    SplitDir,
    fingerprint,
    load_split_dir,
    write_split_files,
)
from fakenews.study.report import write_report
from fakenews.study.spec import DatasetSpec, ModelSpec, Study, TrainSet
from fakenews.training import train

logger = logging.getLogger(__name__)

STUDY_FILE = "study.json"
CSV_COLUMNS: tuple[str, ...] = (
    "protocol",
    "model",
    "train",
    "test",
    "n",
    "accuracy",
    "f1_macro",
    "roc_auc",
    "in_domain",
)


@dataclass(frozen=True)
class Cell:
    """One row of ``generalization.csv`` and where its per-article predictions are."""

    protocol: str
    model: str
    train: str
    test: str
    n: int
    accuracy: float
    f1_macro: float
    roc_auc: float | None
    in_domain: bool
    predictions: Path


@dataclass(frozen=True)
class StudyResult:
    """What :func:`run_study` did: the table and how many pieces it (re)computed."""

    out: Path
    cells: tuple[Cell, ...]
    table: pd.DataFrame
    prepared: int
    trained: int
    evaluated: int
    files: tuple[Path, ...] = ()
    benchmarked: int = 0
    compared: int = 0
    comparisons: Mapping[str, Path] = field(default_factory=dict)
    """Train set name → its ``compare`` report dir (train sets with two or more models)."""
    comparison_results: Mapping[str, ComparisonResult] = field(default_factory=dict)
    """The comparisons computed in this call (a complete one that was skipped is not here)."""
    seconds: Mapping[str, float] = field(default_factory=dict)
    """Wall seconds of this call per stage (prepare, train, evaluate, benchmark, compare,
    report); also in ``report/timings.json``."""


@dataclass
class _Counter:
    prepared: int = 0
    trained: int = 0
    evaluated: int = 0
    benchmarked: int = 0
    compared: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    @contextlib.contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        """Add the wall time of the block to ``seconds[stage]``."""
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            self.seconds[stage] = self.seconds.get(stage, 0.0) + elapsed


def study_document(study: Study) -> dict[str, Any]:
    """The resolved study as JSON (``study.json``): what a rerun into the same DIR must match."""
    return {
        "datasets": {
            d.name: {
                "path": str(d.path),
                "test_only": d.test_only,
                "options": _jsonable(asdict(d.options)),
            }
            for d in study.datasets
        },
        "models": {m.name: {"model": m.model, "set": dict(m.overrides)} for m in study.models},
        "protocols": list(study.protocols),
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def check_study_out(study: Study, out: Path) -> None:
    """Refuse an ``out`` that holds something else, or another study's data sets or models
    (read-only: called before anything is written)."""
    if out.exists() and not out.is_dir():
        raise FakeNewsError(f"--out {out} is a file; expected a directory for the study.")
    if not out.is_dir() or not any(out.iterdir()):
        return
    if not (out / STUDY_FILE).is_file():
        raise FakeNewsError(
            f"--out {out} exists, is not empty and holds no {STUDY_FILE}; choose a new --out for the study."
        )
    old = read_json_object(out / STUDY_FILE, what="study record", fix="choose a new --out")
    new = study_document(study)
    if old.get("datasets") != new["datasets"]:
        raise FakeNewsError(
            f"--out {out} was prepared from other data sets or prepare options than {study.path}; "
            "choose a new --out (or restore the study file)."
        )
    for name, spec in new["models"].items():
        before = old.get("models", {}).get(name)
        if before is not None and before != spec:
            raise FakeNewsError(
                f"--out {out} already trained model {name!r} with other settings ({before}); "
                "give the changed model a new name or choose a new --out."
            )


def run_study(study: Study, out: Path | str, *, quiet: bool = True) -> StudyResult:
    """Run ``study`` into ``out`` (skipping complete pieces) and write ``report/``."""
    out = Path(out)
    check_study_out(study, out)
    existed = out.is_dir()
    fresh = not existed or not any(out.iterdir())
    out.mkdir(parents=True, exist_ok=True)
    doc = study_document(study)
    if (out / STUDY_FILE).is_file():
        old = read_json_object(out / STUDY_FILE, what="study record")
        doc["models"] = {**old.get("models", {}), **doc["models"]}
    write_json(out / STUDY_FILE, doc)
    counter = _Counter()
    try:
        data_dirs = {d.name: _prepare_dataset(d, out, counter, quiet) for d in study.datasets}
    except Exception:
        if fresh:  # else its study.json would refuse the corrected study's rerun
            shutil.rmtree(out, ignore_errors=True)
            if existed:
                out.mkdir()
        raise
    cells: list[Cell] = []
    comparisons: dict[str, ComparisonResult | None] = {}
    for protocol in study.protocols:
        for train_set in study.train_sets(protocol):
            split_dir = _training_split(train_set, data_dirs, out)
            runs = []
            for model in study.models:
                run = _train_run(
                    split_dir, model, out / "runs" / train_set.name / model.name, counter, quiet
                )
                loaded = _Loaded(
                    run, quiet
                )  # one model load per run, however many sets it is scored on
                cells.extend(
                    _evaluate_all(loaded, protocol, train_set, model, data_dirs, counter, quiet)
                )
                _finish_run(loaded, study, counter, quiet)
                runs.append(run)
            if len(runs) > 1 and train_set.name not in comparisons:
                target = out / "compare" / train_set.name
                comparisons[train_set.name] = _compare_runs(runs, target, counter, quiet)
    return _write_outputs(study, out, cells, data_dirs, comparisons, counter)


def _write_outputs(
    study: Study,
    out: Path,
    cells: list[Cell],
    data_dirs: Mapping[str, Path],
    comparisons: Mapping[str, ComparisonResult | None],
    counter: _Counter,
) -> StudyResult:
    table = generalization_table(cells)
    report = out / "report"
    dirs = {name: out / "compare" / name for name in comparisons}
    with counter.timed("report"):
        write_csv(report / "generalization.csv", table)
        written = write_report(study, out, cells, data_dirs, dirs)
    seconds = {k: round(v, 1) for k, v in counter.seconds.items()}
    write_json(report / "timings.json", {"seconds_this_call": seconds})
    logger.info(
        "study %s: prepared %d, trained %d, evaluated %d, benchmarked %d, compared %d "
        "(the rest was already complete); seconds %s",
        out, counter.prepared, counter.trained, counter.evaluated, counter.benchmarked,
        counter.compared, seconds,
    )  # fmt: skip
    return StudyResult(
        out, tuple(cells), table, counter.prepared, counter.trained, counter.evaluated,
        (report / "generalization.csv", *written, report / "timings.json"), counter.benchmarked,
        counter.compared, dirs, {name: c for name, c in comparisons.items() if c is not None},
        seconds,
    )  # fmt: skip


def generalization_table(cells: list[Cell]) -> pd.DataFrame:
    """The tidy table: one row per (protocol, model, train set, test set)."""
    rows = [{c: getattr(cell, c) for c in CSV_COLUMNS} for cell in cells]
    return pd.DataFrame(rows, columns=list(CSV_COLUMNS))


# --------------------------------------------------------------------------- pieces


def _prepare_dataset(spec: DatasetSpec, out: Path, counter: _Counter, quiet: bool) -> Path:
    target = out / "data" / spec.name
    if (target / MANIFEST).is_file():
        logger.info("data set %s: already prepared in %s", spec.name, target)
        return target
    logger.info("data set %s: preparing %s", spec.name, spec.path)
    with counter.timed("prepare"):
        prepare([spec.path], target, spec.options, force=True, quiet=quiet)
    counter.prepared += 1
    return target


def _test_hashes(data_dirs: Mapping[str, Path]) -> set[str]:
    """Hashes of the normalized text of every test article of the study (what no run may train on)."""
    hashes: set[str] = set()
    for path in data_dirs.values():
        frame = load_split_dir(path).frames["test"]
        hashes.update(text_hash(normalize(t)) for t in frame["combined_text"])
    return hashes


def _training_split(train_set: TrainSet, data_dirs: Mapping[str, Path], out: Path) -> Path:
    """``train/A+B``: the members' splits pooled (ids prefixed ``NAME/``), minus test texts."""
    target = out / "train" / train_set.name
    if (target / MANIFEST).is_file():
        return target
    members = {m: load_split_dir(data_dirs[m], require_manifest=True) for m in train_set.members}
    mappings = {m: s.manifest.get("label_mapping") for m, s in members.items()}
    if len({str(v) for v in mappings.values()}) > 1:
        raise FakeNewsError(
            f"the data sets {', '.join(members)} map labels differently ({mappings}); "
            "set fake_labels/real_labels so that 1 means fake in each."
        )
    frames, removed = _pool(members, _test_hashes(data_dirs))
    manifest = {
        "fingerprint": fingerprint(frames),
        "label_mapping": next(iter(mappings.values())),
        "combined_text": 'title + " " + text',
        "study": {
            "members": list(train_set.members),
            "members_fingerprints": {m: s.fingerprint for m, s in members.items()},
            "removed_test_overlap": removed,
        },
        "counts": counts_of(frames),
    }
    with atomic_dir(target, force=True, what="training split dir") as tmp:
        write_split_files(tmp, frames)
        write_json(tmp / MANIFEST, manifest)
    logger.info(
        "train set %s: %d train / %d validation articles (%s removed: their text is in a test split)",
        train_set.name, len(frames["train"]), len(frames["validation"]), removed,
    )  # fmt: skip
    return target


def _pool(
    members: Mapping[str, SplitDir], test_hashes: set[str]
) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    frames: dict[str, pd.DataFrame] = {}
    removed: dict[str, int] = {}
    for split in SPLITS:
        parts = []
        for name, split_dir in members.items():
            part = split_dir.frames[split].copy()
            part["id"] = name + "/" + part["id"].astype(str)
            part[DATASET_COLUMN] = name
            parts.append(part)
        frame = pd.concat(parts, ignore_index=True)
        if split != "test":
            keep = [text_hash(normalize(t)) not in test_hashes for t in frame["combined_text"]]
            removed[split] = int(len(frame) - sum(keep))
            frame = frame[keep].reset_index(drop=True)
        frames[split] = frame
    return frames, removed


def _train_run(
    split_dir: Path, model: ModelSpec, target: Path, counter: _Counter, quiet: bool
) -> RunDir:
    run = RunDir(target)
    if run.model.is_dir():
        logger.info("run %s: already trained", target)
        return run
    interrupted = run.config_file.is_file()
    resume = interrupted and run.kind == "transformer" and run.checkpoints.is_dir()
    if target.exists() and not resume:
        shutil.rmtree(target)
    logger.info("run %s: %s", target, "resuming" if resume else "training")
    with counter.timed("train"):
        train(
            split_dir,
            model.model,
            target,
            overrides=model.override_list,
            resume=resume,
            quiet=quiet,
        )
    counter.trained += 1
    return RunDir.open(target)


class _Loaded:
    """A run and its predictor, loaded on first use (a resumed study may need none)."""

    def __init__(self, run: RunDir, quiet: bool) -> None:
        self.run = run
        self.quiet = quiet
        self._predictor: Predictor | None = None

    def predictor(self) -> Predictor:
        if self._predictor is None:
            self._predictor = load_predictor(self.run, InferenceOptions(), quiet=self.quiet)
        return self._predictor


def _evaluate_all(
    loaded: _Loaded,
    protocol: str,
    train_set: TrainSet,
    model: ModelSpec,
    data_dirs: Mapping[str, Path],
    counter: _Counter,
    quiet: bool,
) -> list[Cell]:
    run, cells = loaded.run, []
    for name, data_dir in data_dirs.items():
        manifest = read_json_object(data_dir / MANIFEST, what="split manifest")
        if not manifest.get("counts", {}).get("test", {}).get("total"):
            logger.warning("data set %s has an empty test split: not evaluated on", name)
            continue
        same = manifest.get("fingerprint") == run.data_fingerprint
        key = eval_key("test", None if same else Path(data_dir).name)
        if not run.metrics(key).is_file():
            with counter.timed("evaluate"):
                evaluate(
                    run.path, data=data_dir, options=InferenceOptions(), plots=False, quiet=quiet,
                    predictor=loaded.predictor(),
                )  # fmt: skip
            counter.evaluated += 1
        metrics = read_json_object(run.metrics(key), what="metrics")
        cells.append(
            Cell(
                protocol=protocol,
                model=model.name,
                train=train_set.name,
                test=name,
                n=int(metrics["n"]),
                accuracy=float(metrics["accuracy"]),
                f1_macro=float(metrics["f1_macro"]),
                roc_auc=metrics.get("roc_auc"),
                in_domain=name in train_set.members,
                predictions=run.predictions(key),
            )
        )
    return cells


def _finish_run(loaded: _Loaded, study: Study, counter: _Counter, quiet: bool) -> None:
    """Evaluate the run on its own test split (what ``compare`` pairs) and benchmark it."""
    run = loaded.run
    if not run.metrics(eval_key("test")).is_file():
        with counter.timed("evaluate"):
            evaluate(
                run.path, options=InferenceOptions(), plots=False, quiet=quiet,
                predictor=loaded.predictor(),
            )  # fmt: skip
        counter.evaluated += 1
    if study.benchmark and not run.efficiency.is_file():
        logger.info("run %s: benchmarking on %d test articles", run.path, study.bench_articles)
        with counter.timed("benchmark"):
            benchmark(run.path, n_articles=study.bench_articles, quiet=quiet)
        counter.benchmarked += 1


def _compare_runs(
    runs: list[RunDir], target: Path, counter: _Counter, quiet: bool
) -> ComparisonResult | None:
    """``compare`` the runs of one train set into ``target``, unless it already compares them
    (then None)."""
    wanted = sorted(str(r.path.resolve()) for r in runs)
    done = target / "comparison.json"
    if done.is_file():
        doc = read_json_object(done, what="comparison record")
        if sorted(str(Path(r["path"]).resolve()) for r in doc.get("runs", [])) == wanted:
            logger.info("comparison %s: already complete", target)
            return None
    logger.info("comparison %s: comparing %d runs", target, len(runs))
    with counter.timed("compare"):
        result = compare([r.path for r in runs], target, force=True, quiet=quiet)
    counter.compared += 1
    return result
