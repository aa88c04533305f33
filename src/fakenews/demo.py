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
    cross = [Path(p) for p in cross_data]
    for path in cross:
        if not path.exists():
            raise FakeNewsError(
                f"--cross-data {path} does not exist; pass a data file or folder that `fakenews prepare` reads."
            )
    check_output_dir(out, force=force, what="demo directory")
    started = time.perf_counter()
    stages = 3 + 3 * len(models)
    step = iter(range(1, stages + 1))

    def stage(message: str) -> None:
        logger.info("[%d/%d] %s", next(step), stages, message)

    # Fail before deleting anything: the data must be reachable.
    stage(f"getting {DATA_SET} through the data registry")
    raw = fetch(DATA_SET, mirror=mirror, quiet=quiet)

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    try:
        stage("preparing splits (clean, deduplicate, split 70/15/15, audit)")
        split_dir = out / "data" / "politifact"
        # Two PolitiFact pages are dead (no text; the title is the site's boilerplate).
        prepare([raw], split_dir, PrepareOptions(min_text_chars=1), quiet=quiet)
        cross_dirs = []
        for path in cross:
            target = out / "data" / path.stem
            prepare([path], target, PrepareOptions(split=(0.0, 0.0, 1.0)), quiet=quiet)
            cross_dirs.append(target)

        runs: dict[str, Path] = {}
        for spec in models:
            run_dir = out / "runs" / spec.name
            stage(f"training {spec.model}")
            train(split_dir, spec.model, run_dir, overrides=list(spec.overrides), quiet=quiet)
            stage(
                f"evaluating {spec.name} on {split_dir.name}"
                + "".join(f" and {d.name}" for d in cross_dirs)
            )
            evaluate(run_dir, quiet=quiet)
            for cross_dir in cross_dirs:
                evaluate(run_dir, data=cross_dir, quiet=quiet)
            stage(f"benchmarking {spec.name} on {bench_articles} test articles")
            benchmark(run_dir, n_articles=bench_articles, quiet=quiet)
            runs[spec.name] = run_dir

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
