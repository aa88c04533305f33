"""``fakenews demo``: the whole study on the embedded default, in one call.

PolitiFact articles from the data registry (cache, then ``FAKENEWS_DATA_MIRROR``, then the
network) → ``prepare`` → ``train`` (``tfidf-logreg``, a tiny ``scratch:albert``, ``minilm-l6``)
→ ``evaluate`` in-domain and on every ``cross_data`` set → ``benchmark`` → ``compare``.
Sized to finish in well under 15 minutes on a 2-core CPU (3.0 min measured on an idle one).
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fakenews.comparison.result import ComparisonResult
from fakenews.comparison.stage import compare
from fakenews.data.prepare import PrepareOptions, prepare
from fakenews.data.registry import fetch
from fakenews.efficiency import benchmark
from fakenews.errors import FakeNewsError
from fakenews.evaluation.stage import evaluate
from fakenews.io import check_output_dir
from fakenews.training import train

logger = logging.getLogger(__name__)

DATA_SET = "fakenewsnet_politifact"


@dataclass(frozen=True)
class DemoModel:
    """One model of the demo: a ``--model`` value, its run-dir name and ``--set`` overrides."""

    model: str
    name: str
    overrides: tuple[str, ...] = ()


DEFAULT_MODELS: tuple[DemoModel, ...] = (
    DemoModel("tfidf-logreg", "tfidf-logreg"),
    # ALBERT's parameter sharing exercised without hub weights: tiny, random init, own tokenizer.
    DemoModel("scratch:albert", "scratch-albert-tiny", ("model.size=tiny", "train.epochs=3")),
    DemoModel("minilm-l6", "minilm-l6"),
)


@dataclass(frozen=True)
class DemoResult:
    """What the demo wrote: the split dirs, one run dir per model and the comparison report."""

    out: Path
    split_dir: Path
    cross_split_dirs: tuple[Path, ...]
    runs: dict[str, Path]
    report_dir: Path
    report_html: Path
    elapsed_s: float
    comparison: ComparisonResult


def run_demo(
    out: Path | str,
    *,
    cross_data: Sequence[Path | str] = (),
    models: Sequence[DemoModel] = DEFAULT_MODELS,
    mirror: Path | str | None = None,
    bench_articles: int = 60,
    force: bool = False,
    quiet: bool = False,
) -> DemoResult:
    """Run the whole flow into ``out`` (``out/data``, ``out/runs``, ``out/report``).

    Args:
        out: the demo folder; must be new or empty unless ``force``.
        cross_data: raw data files or folders (any format ``prepare`` reads) to evaluate every
            model on as a second, out-of-domain data set (prepared with ``--split 0,0,1``).
        models: the models to train; default ``tfidf-logreg``, tiny ``scratch:albert``, ``minilm-l6``.
        mirror: a local folder serving the registry's files (else ``FAKENEWS_DATA_MIRROR``).
        bench_articles: test articles timed by ``benchmark`` per model.
        force: replace an existing ``out``.
        quiet: no progress output.
    """
    out = Path(out)
    cross = _existing_inputs(cross_data)
    check_output_dir(out, force=force, what="demo directory")
    started = time.perf_counter()
    stage = _StageLog(total=3 + 3 * len(models))
    # Fail before deleting anything: the data must be reachable.
    stage(f"getting {DATA_SET} through the data registry")
    raw = fetch(DATA_SET, mirror=mirror, quiet=quiet)

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    try:
        split_dir, cross_dirs = _prepare_data(raw, cross, out / "data", stage, quiet=quiet)
        runs: dict[str, Path] = {}
        for spec in models:
            runs[spec.name] = _run_model(
                spec, split_dir, cross_dirs, out / "runs", stage, bench=bench_articles, quiet=quiet
            )
        stage("comparing the runs: table, paired tests, plots, report")
        comparison = compare(list(runs.values()), out / "report", quiet=quiet)
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)  # nothing half-written
        raise
    return DemoResult(
        out=out,
        split_dir=split_dir,
        cross_split_dirs=tuple(cross_dirs),
        runs=runs,
        report_dir=out / "report",
        report_html=out / "report" / "report.html",
        elapsed_s=time.perf_counter() - started,
        comparison=comparison,
    )


class _StageLog:
    """Logs ``[i/total] message`` for each stage of the demo, counting up from 1."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0

    def __call__(self, message: str) -> None:
        self.done += 1
        logger.info("[%d/%d] %s", self.done, self.total, message)


def _existing_inputs(paths: Sequence[Path | str]) -> list[Path]:
    cross = [Path(p) for p in paths]
    for path in cross:
        if not path.exists():
            raise FakeNewsError(
                f"--cross-data {path} does not exist; pass a data file or folder that `fakenews prepare` reads."
            )
    return cross


def _prepare_data(
    raw: Path, cross: Sequence[Path], data_root: Path, stage: _StageLog, *, quiet: bool
) -> tuple[Path, list[Path]]:
    """The PolitiFact split dir (70/15/15) and one test-only split dir per ``--cross-data`` input."""
    stage("preparing splits (clean, deduplicate, split 70/15/15, audit)")
    split_dir = data_root / "politifact"
    # Two PolitiFact pages are dead (no text; the title is the site's boilerplate).
    prepare([raw], split_dir, PrepareOptions(min_text_chars=1), quiet=quiet)
    cross_dirs = []
    for path in cross:
        target = data_root / path.stem
        prepare([path], target, PrepareOptions(split=(0.0, 0.0, 1.0)), quiet=quiet)
        cross_dirs.append(target)
    return split_dir, cross_dirs


def _run_model(
    spec: DemoModel,
    split_dir: Path,
    cross_dirs: Sequence[Path],
    runs_root: Path,
    stage: _StageLog,
    *,
    bench: int,
    quiet: bool,
) -> Path:
    """Train one model, evaluate it in-domain and on every cross data set, benchmark it."""
    run_dir = runs_root / spec.name
    stage(f"training {spec.model}")
    train(split_dir, spec.model, run_dir, overrides=list(spec.overrides), quiet=quiet)
    stage(
        f"evaluating {spec.name} on {split_dir.name}"
        + "".join(f" and {d.name}" for d in cross_dirs)
    )
    evaluate(run_dir, quiet=quiet)
    for cross_dir in cross_dirs:
        evaluate(run_dir, data=cross_dir, quiet=quiet)
    stage(f"benchmarking {spec.name} on {bench} test articles")
    benchmark(run_dir, n_articles=bench, quiet=quiet)
    return run_dir
