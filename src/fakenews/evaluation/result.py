"""The result of one evaluation: a run scored on one split (what ``evaluate`` returns and
what the renderers draw; it imports no stage and no renderer)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fakenews.metrics import DEFAULT_THRESHOLD, Metrics, decide

SNIPPET_CHARS = 240


@dataclass(frozen=True, eq=False)
class EvaluationResult:
    """One run scored on one split.

    ``predictions`` has one row per article in split-file order with columns
    ``id, label, pred, prob_fake, prob_fake_uncalibrated, chars, correct`` (``prob_fake`` is
    calibrated with the run's temperature, ``pred`` decided at ``metrics.threshold``); ``errors``
    lists the mistakes (FP then FN, most confident first) with ``id, label, pred, prob_fake,
    kind, chars, snippet``. ``at_default`` holds the same metrics decided at 0.5.
    """

    key: str
    split: str
    data_name: str | None
    data_path: Path
    data_fingerprint: str
    in_domain: bool
    metrics: Metrics
    predictions: pd.DataFrame
    errors: pd.DataFrame
    long: str = "truncate"
    backend: str = "torch"
    precision: str = "fp32"
    files: tuple[Path, ...] = field(default_factory=tuple)
    temperature: float = 1.0
    """The calibration temperature the probabilities were computed at (1.0 = uncalibrated)."""
    ece_uncalibrated: float | None = None
    """ECE of the model's own probabilities (T = 1), beside the calibrated ``metrics.ece``."""
    at_default: Metrics | None = None
    """The metrics decided at 0.5 (``at_0.5`` in the JSON), to compare with the run's threshold."""

    @property
    def labels(self) -> np.ndarray:
        return self.predictions["label"].to_numpy(dtype=int)

    @property
    def probs(self) -> np.ndarray:
        p = self.predictions["prob_fake"].to_numpy(dtype=np.float64)
        return np.column_stack([1.0 - p, p])

    @property
    def probs_uncalibrated(self) -> np.ndarray:
        """``(n, 2)`` probabilities at T = 1 (equal to :attr:`probs` for an uncalibrated run)."""
        column = "prob_fake_uncalibrated"
        if column not in self.predictions:
            return self.probs
        p = self.predictions[column].to_numpy(dtype=np.float64)
        return np.column_stack([1.0 - p, p])

    def to_dict(self) -> dict[str, Any]:
        """The ``metrics/<key>.json`` document."""
        head = {
            "key": self.key,
            "split": self.split,
            "data_name": self.data_name,
            "data_path": str(Path(self.data_path).resolve()),
            "data_fingerprint": self.data_fingerprint,
            "in_domain": self.in_domain,
        }
        return {
            **head,
            **self.metrics.to_dict(),
            "temperature": self.temperature,
            "ece_uncalibrated": self.ece_uncalibrated,
            "at_0.5": at_threshold_dict(self.at_default) if self.at_default is not None else None,
            "long": self.long,
            "backend": self.backend,
            "precision": self.precision,
        }


AT_THRESHOLD_KEYS = (
    "threshold", "accuracy", "precision_weighted", "recall_weighted", "f1_weighted", "f1_macro",
    "fpr", "fnr", "confusion_matrix",
)  # fmt: skip


def at_threshold_dict(metrics: Metrics) -> dict[str, Any]:
    """The threshold-dependent figures of ``metrics`` plus the fake class's precision and recall
    (what ``at_0.5`` holds; ROC-AUC, ECE and Brier do not depend on the threshold)."""
    full = metrics.to_dict()
    out = {k: full[k] for k in AT_THRESHOLD_KEYS}
    fake = metrics.per_class.get("fake")
    if fake is not None:
        out["precision_fake"], out["recall_fake"] = fake.precision, fake.recall
    return out


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """First ``limit`` characters of ``text`` on one line."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def error_table(
    frame: pd.DataFrame, prob_fake: np.ndarray, threshold: float = DEFAULT_THRESHOLD
) -> pd.DataFrame:
    """False positives (real flagged fake, highest P(fake) first), then false negatives (lowest
    first), decided by :func:`fakenews.metrics.decide` at ``threshold``."""
    labels = frame["label"].to_numpy(dtype=int)
    preds = decide(prob_fake, threshold)
    table = pd.DataFrame(
        {
            "id": frame["id"].astype(str).to_numpy(),
            "label": labels,
            "pred": preds,
            "prob_fake": np.asarray(prob_fake, dtype=np.float64),
            "kind": np.where(labels == 0, "FP", "FN"),
            "chars": frame["combined_text"].str.len().to_numpy(dtype=int),
            "snippet": [snippet(t) for t in frame["combined_text"]],
        }
    )
    wrong = table[labels != preds]
    fp = wrong[wrong["kind"] == "FP"].sort_values("prob_fake", ascending=False, kind="stable")
    fn = wrong[wrong["kind"] == "FN"].sort_values("prob_fake", ascending=True, kind="stable")
    return pd.concat([fp, fn]).reset_index(drop=True)
