"""``fakenews study STUDY.yaml --out DIR``: how well models trained on some sources do on others.

:func:`load_study` validates the study file (:mod:`fakenews.study.spec`), :func:`run_study`
prepares, pools, trains, evaluates and writes ``report/`` (:mod:`fakenews.study.run`,
:mod:`fakenews.study.report`).
"""

from __future__ import annotations

from fakenews.study.run import StudyResult, run_study
from fakenews.study.spec import Study, load_study

__all__ = ["Study", "StudyResult", "load_study", "run_study"]
