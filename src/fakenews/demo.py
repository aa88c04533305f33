"""``fakenews demo``: the packaged generalization study, in one call.

The study ``configs/studies/demo.yaml``: ``tfidf-logreg``, ``minilm-l6`` and a 3-layer MiniLM
(``model.keep_layers=3``), each trained on the WELFake sample and on PolitiFact (markers
stripped) one at a time and pooled, scored on every set's test split and on Horne 2017's random
set (test only), benchmarked, and compared per training set. The user sees in-domain accuracy
next to out-of-domain accuracy (``report/report.html``) and, per training set, a comparison
with paired tests, size and latency (``compare/NAME/report.html``).

Aimed at ≤ 6 minutes on a 2-core CPU; measured 3.1 min on an idle one (docs/study.md).
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from fakenews.comparison.result import ComparisonResult
from fakenews.errors import FakeNewsError
from fakenews.io import check_output_dir
from fakenews.study.run import STUDY_FILE, StudyResult, run_study
from fakenews.study.spec import ModelSpec, Study, load_study

logger = logging.getLogger(__name__)

DEMO_STUDY = Path(__file__).parent / "configs" / "studies" / "demo.yaml"
"""The packaged study ``make demo`` runs."""
HEADLINE = "+"
"""The comparison printed at the end: the pooled training set's (its name joins members by +)."""


@dataclass(frozen=True)
class DemoResult:
    """What the demo wrote: the study (``report/``, ``runs/``, ``compare/``) and how long it took."""

    out: Path
    study: Study
    result: StudyResult
    report_html: Path
    elapsed_s: float

    @property
    def comparisons(self) -> dict[str, Path]:
        """Training set → its comparison report dir."""
        return dict(self.result.comparisons)

    @property
    def headline(self) -> ComparisonResult | None:
        """The pooled training set's comparison (else the first one), when compared in this call."""
        compared = self.result.comparison_results
        names = [name for name in compared if HEADLINE in name] or list(compared)
        return compared[names[0]] if names else None


def load_demo_study(
    study_file: Path | str = DEMO_STUDY,
    *,
    data_root: Path | str | None = None,
    models: Sequence[ModelSpec] | None = None,
) -> Study:
    """The demo's study: the packaged file, its data under ``data_root`` (default the file's own
    ``data_root``), its models replaced by ``models`` when given (tests use tiny ones)."""
    if data_root is not None and not Path(data_root).is_dir():
        raise FakeNewsError(
            f"--data {data_root} is not a folder; point it at the shared data (the folder holding "
            "welfake_sample200/, fakenewsnet_politifact/ and horne2017/)."
        )
    study = load_study(study_file, data_root=data_root)
    return replace(study, models=tuple(models)) if models else study


def run_demo(
    out: Path | str,
    *,
    study_file: Path | str = DEMO_STUDY,
    data_root: Path | str | None = None,
    models: Sequence[ModelSpec] | None = None,
    force: bool = False,
    quiet: bool = False,
) -> DemoResult:
    """Run the demo study into ``out`` (``data/``, ``train/``, ``runs/``, ``compare/``, ``report/``).

    Args:
        out: the demo folder; new or empty, or a demo folder of the same study (then the run
            resumes and skips what is complete); ``force`` replaces whatever is there.
        study_file: the study to run (default the packaged ``configs/studies/demo.yaml``).
        data_root: the folder the study's data set paths are relative to (default: the study
            file's ``data_root``, the shared data beside a source checkout).
        models: replace the study's models (default: its three).
        force: delete ``out`` first.
        quiet: no progress output.
    """
    out = Path(out)
    study = load_demo_study(study_file, data_root=data_root, models=models)
    if not (out / STUDY_FILE).is_file() or force:
        check_output_dir(out, force=force, what="demo directory")
        if out.exists():
            shutil.rmtree(out)
    started = time.perf_counter()
    logger.info(
        "demo: %d models x %d training sets, scored on %d test sets",
        len(study.models),
        sum(len(study.train_sets(p)) for p in study.protocols),
        len(study.datasets),
    )
    result = run_study(study, out, quiet=quiet)
    return DemoResult(
        out=out,
        study=study,
        result=result,
        report_html=out / "report" / "report.html",
        elapsed_s=time.perf_counter() - started,
    )
