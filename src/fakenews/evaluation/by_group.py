"""Per-group metrics of an evaluation (``fakenews evaluate RUN --by source|dataset``).

Reads ``predictions/<key>.csv`` (written by :func:`fakenews.evaluation.stage.evaluate`), joins
it on ``id`` with the ``source`` or ``dataset`` column of the split it scored, and writes
``metrics/<key>.by_<by>.json``: per group ``n``, ``fake``, ``accuracy``, ``f1_macro`` and
``roc_auc`` (``null`` when the group holds one class), largest group first.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from fakenews.errors import FakeNewsError
from fakenews.io import write_json
from fakenews.metrics import classification_metrics, roc_auc
from fakenews.rundir import RunDir, eval_key
from fakenews.splits import SPLITS

GROUP_COLUMNS: tuple[str, ...] = ("source", "dataset")
NO_GROUP = "(none)"
"""The group of rows whose ``source``/``dataset`` is empty."""


@dataclass(frozen=True)
class GroupMetrics:
    """The figures of one group of test articles."""

    group: str
    n: int
    fake: int
    accuracy: float
    f1_macro: float
    roc_auc: float | None


@dataclass(frozen=True)
class ByGroupResult:
    """Per-group metrics of the evaluation ``key`` and the file they were written to."""

    key: str
    by: str
    groups: tuple[GroupMetrics, ...]
    path: Path

    @property
    def frame(self) -> pd.DataFrame:
        """One row per group: ``group, n, fake, accuracy, f1_macro, roc_auc``."""
        return pd.DataFrame([asdict(g) for g in self.groups])

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "by": self.by, "groups": [asdict(g) for g in self.groups]}


def metrics_by_group(
    run_dir: Path | str,
    by: str,
    *,
    data: Path | str | None = None,
    split: str = "test",
    key: str | None = None,
) -> ByGroupResult:
    """Per-``by`` metrics of the run's predictions on ``split`` of ``data`` (default its own data).

    ``key`` names the evaluation (default: the one ``evaluate`` writes for this split and data,
    default inference); the predictions must exist (run ``fakenews evaluate`` first).
    """
    _check_by(by)
    if split not in SPLITS:
        raise FakeNewsError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}.")
    run = RunDir.open(run_dir)
    split_dir = run.split_dir(data)
    if key is None:
        same = split_dir.fingerprint == run.data_fingerprint
        key = eval_key(split, None if same else split_dir.name)
    joined = _joined(run, key, split_dir.split(split), by, split_dir.path)
    groups = tuple(
        _group(str(name), part)
        for name, part in sorted(joined.groupby("group"), key=lambda g: (-len(g[1]), str(g[0])))
    )
    result = ByGroupResult(key, by, groups, run.metrics(f"{key}.by_{by}"))
    write_json(result.path, result.to_dict())
    return result


def check_group_column(
    run_dir: Path | str, by: str, *, data: Path | str | None = None, split: str = "test"
) -> None:
    """What :func:`metrics_by_group` will check of ``by`` and the split, checked before
    ``evaluate --by`` writes anything: a wrong ``--by`` then leaves the run dir as it was."""
    _check_by(by)
    split_dir = RunDir.open(run_dir).split_dir(data)
    if split in SPLITS:  # else evaluate names the unknown split
        _check_column(split_dir.split(split), by, split_dir.path)


def _check_by(by: str) -> None:
    if by not in GROUP_COLUMNS:
        raise FakeNewsError(f"--by expects one of {', '.join(GROUP_COLUMNS)}, found {by!r}.")


def _check_column(frame: pd.DataFrame, by: str, where: Path) -> None:
    if by not in frame.columns:
        raise FakeNewsError(
            f"split dir {where} has no {by!r} column; it is written when `fakenews prepare` pools "
            "several inputs (try --by source)."
        )


def _joined(run: RunDir, key: str, frame: pd.DataFrame, by: str, where: Path) -> pd.DataFrame:
    path = run.predictions(key)
    if not path.is_file():
        raise FakeNewsError(
            f"no predictions at {path}; run `fakenews evaluate {run.path}` (with the same --data "
            "and --split) first."
        )
    _check_column(frame, by, where)
    preds = pd.read_csv(path, dtype={"id": str})
    groups = frame.loc[:, ["id", by]].rename(columns={by: "group"}).astype(str)
    joined = preds.merge(groups, on="id", how="left", validate="one_to_one")
    if len(joined) != len(frame) or joined["group"].isna().any():
        raise FakeNewsError(
            f"{path} does not match the {len(frame)} articles of {where}; re-run `fakenews evaluate` "
            "on that split dir."
        )
    joined["group"] = joined["group"].replace("", NO_GROUP)
    return joined


def _group(name: str, part: pd.DataFrame) -> GroupMetrics:
    labels = part["label"].to_numpy(dtype=int)
    figures = classification_metrics(labels, part["pred"].to_numpy(dtype=int))
    auc, _ = roc_auc(labels, part["prob_fake"].to_numpy(dtype=float))
    return GroupMetrics(
        group=name,
        n=len(part),
        fake=int(labels.sum()),
        accuracy=figures["accuracy"],
        f1_macro=figures["f1_macro"],
        roc_auc=auc,
    )
