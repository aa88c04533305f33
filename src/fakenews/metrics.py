"""Every metric of fakenews, and THE decision rule (ground layer: imports nothing of ours but
``fakenews.LABELS``).

The functions take plain arrays: ``labels`` 0/1 (1 = fake), ``probs`` of shape ``(n, 2)`` with
columns ``[P(real), P(fake)]``, or ``prob_fake`` of shape ``(n,)``, so that they can be checked
against scikit-learn and reused by training, evaluation, comparison, prediction and serving.

The decision rule is :func:`decide`: fake where ``P(fake) >= threshold`` (0.5 by default; a tie
is fake). No other module compares a probability with a threshold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from fakenews import LABELS

DEFAULT_THRESHOLD = 0.5
"""The decision threshold on ``P(fake)`` when a run has chosen none."""
ECE_BINS = 15
"""Equal-width confidence bins of the expected calibration error (Guo et al., 2017)."""


def as_probs(probs: np.ndarray | Any) -> np.ndarray:
    """Check and return ``probs`` as float64 of shape ``(n, 2)``."""
    arr = np.asarray(probs, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"expected probabilities of shape (n, 2), found {arr.shape}")
    return arr


def decide(prob_fake: Any, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """THE decision rule: label 1 (fake) where ``P(fake) >= threshold``, else 0 (real).

    Every place that turns probabilities into labels calls this one function: training's
    validation metrics (transformers and the baseline), ``evaluate``, ``predict``, ``serve``,
    ``export``'s agreement check and the error analysis. A tie at exactly ``P(fake) ==
    threshold`` is **fake** (the threshold is the lowest P(fake) that flags an article).
    """
    p = np.asarray(prob_fake, dtype=np.float64)
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], found {threshold}")
    return (p >= threshold).astype(int)


def predictions_from_probs(probs: Any, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """:func:`decide` on the ``P(fake)`` column of ``(n, 2)`` probabilities."""
    return decide(as_probs(probs)[:, 1], threshold)


def softmax(logits: Any) -> np.ndarray:
    """Row-wise softmax of ``(n, k)`` logits, float64 (stable: the row maximum is subtracted)."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def with_temperature(probs: Any, factor: float) -> np.ndarray:
    """``(n, 2)`` probabilities whose logit of fake is multiplied by ``factor``.

    A calibrated predictor gives ``sigmoid(z / T)``; ``with_temperature(probs, T)`` gives back
    ``sigmoid(z)``, the model's own probabilities, without a second forward pass (exact up to
    float rounding for one window per article; for ``--long chunks``, which averages windows'
    probabilities, it rescales the averaged probability). ``factor == 1`` returns ``probs``.
    """
    probs = as_probs(probs)
    if factor == 1.0:
        return probs
    tiny = np.finfo(np.float64).tiny
    z = (np.log(np.maximum(probs[:, 1], tiny)) - np.log(np.maximum(probs[:, 0], tiny))) * factor
    p_fake = np.exp(-np.logaddexp(0.0, -z))
    p_real = np.exp(-np.logaddexp(0.0, z))
    return np.column_stack([p_real, p_fake])


def confusion(labels: np.ndarray, preds: np.ndarray) -> np.ndarray:
    """2x2 ``[[tn, fp], [fn, tp]]``: rows true real/fake, columns predicted real/fake."""
    return skm.confusion_matrix(labels, preds, labels=[0, 1])


def false_positive_rate(labels: np.ndarray, preds: np.ndarray) -> float | None:
    """Share of real articles flagged as fake, ``fp / (fp + tn)``; ``None`` without real articles."""
    (tn, fp), _ = confusion(labels, preds)
    return None if tn + fp == 0 else float(fp / (tn + fp))


def false_negative_rate(labels: np.ndarray, preds: np.ndarray) -> float | None:
    """Share of fake articles let through as real, ``fn / (fn + tp)``; ``None`` without fake articles."""
    _, (fn, tp) = confusion(labels, preds)
    return None if fn + tp == 0 else float(fn / (fn + tp))


def roc_auc(labels: np.ndarray, prob_fake: np.ndarray) -> tuple[float | None, str | None]:
    """ROC-AUC of ``P(fake)``, or ``(None, why)`` when the labels hold one class only."""
    labels = np.asarray(labels)
    present = sorted({int(v) for v in labels})
    if len(present) < 2:
        only = LABELS[present[0]] if present else "no"
        return (
            None,
            f"ROC-AUC is undefined: the evaluated data has only {only} articles (n={len(labels)}).",
        )
    return float(skm.roc_auc_score(labels, prob_fake)), None


def reliability_table(
    labels: np.ndarray, probs: np.ndarray, n_bins: int = ECE_BINS
) -> pd.DataFrame:
    """Per confidence bin: ``lower, upper, count, confidence`` (mean), ``accuracy``.

    Confidence is the probability of the predicted class; bins are ``n_bins`` equal-width
    intervals of [0, 1] (the first one closed). Empty bins have ``count == 0`` and NaN means.
    """
    probs = as_probs(probs)
    labels = np.asarray(labels, dtype=int)
    preds = predictions_from_probs(probs)
    conf = probs.max(axis=1)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # np.digitize with right=True puts conf == edge into the lower bin; 0.0 goes to bin 0.
    index = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, n_bins - 1)
    rows = []
    for b in range(n_bins):
        mask = index == b
        count = int(mask.sum())
        rows.append(
            {
                "lower": edges[b],
                "upper": edges[b + 1],
                "count": count,
                "confidence": float(conf[mask].mean()) if count else np.nan,
                "accuracy": float((preds[mask] == labels[mask]).mean()) if count else np.nan,
            }
        )
    return pd.DataFrame(rows)


def expected_calibration_error(
    labels: np.ndarray, probs: np.ndarray, n_bins: int = ECE_BINS
) -> float:
    """ECE: the count-weighted mean of ``|accuracy - confidence|`` over the confidence bins."""
    table = reliability_table(labels, probs, n_bins)
    filled = table[table["count"] > 0]
    n = int(filled["count"].sum())
    if n == 0:
        return 0.0
    gap = (filled["accuracy"] - filled["confidence"]).abs()
    return float((gap * filled["count"]).sum() / n)


def brier_score(labels: np.ndarray, prob_fake: np.ndarray) -> float:
    """Mean squared error of ``P(fake)`` against the 0/1 label (binary Brier score)."""
    return float(skm.brier_score_loss(labels, prob_fake, pos_label=1))


@dataclass(frozen=True)
class ClassReport:
    """Precision, recall, F1 and support of one class (0 where undefined, as scikit-learn's ``zero_division=0``)."""

    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Metrics:
    """Every figure of one evaluation. Rates are fractions in [0, 1]; ``None`` means undefined."""

    n: int
    accuracy: float
    precision_weighted: float
    recall_weighted: float
    f1_weighted: float
    precision_macro: float
    recall_macro: float
    f1_macro: float
    roc_auc: float | None
    roc_auc_note: str | None
    fpr: float | None
    fnr: float | None
    confusion_matrix: tuple[tuple[int, int], tuple[int, int]]
    ece: float
    brier: float
    per_class: Mapping[str, ClassReport]
    mean_chars_correct: float | None
    mean_chars_wrong: float | None
    threshold: float = DEFAULT_THRESHOLD
    """The ``P(fake)`` threshold the labels were decided at (:func:`decide`)."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if name == "per_class":
                value = {k: vars(v).copy() for k, v in value.items()}
            elif name == "confusion_matrix":
                value = [list(row) for row in value]
            if name == "roc_auc_note" and value is None:
                continue
            out[name] = value
        return out


def compute_metrics(
    labels: Any, probs: Any, chars: Any | None = None, *, threshold: float = DEFAULT_THRESHOLD
) -> Metrics:
    """All metrics from true ``labels`` (0/1), ``probs`` ``(n, 2)`` and optional text lengths;
    labels are decided at ``threshold`` (ROC-AUC, ECE and Brier do not depend on it)."""
    labels = np.asarray(labels, dtype=int)
    probs = as_probs(probs)
    if len(labels) != len(probs):
        raise ValueError(f"{len(labels)} labels but {len(probs)} probability rows")
    if len(labels) == 0:
        raise ValueError("cannot compute metrics on zero articles")
    preds = predictions_from_probs(probs, threshold)
    kw: dict[str, Any] = {"labels": [0, 1], "zero_division": 0}
    p_w, r_w, f_w, _ = skm.precision_recall_fscore_support(labels, preds, average="weighted", **kw)
    p_m, r_m, f_m, _ = skm.precision_recall_fscore_support(labels, preds, average="macro", **kw)
    p_c, r_c, f_c, s_c = skm.precision_recall_fscore_support(labels, preds, average=None, **kw)
    per_class = {
        LABELS[i]: ClassReport(float(p_c[i]), float(r_c[i]), float(f_c[i]), int(s_c[i]))
        for i in (0, 1)
    }
    auc, note = roc_auc(labels, probs[:, 1])
    cm = confusion(labels, preds)
    correct = preds == labels
    mean_correct = mean_wrong = None
    if chars is not None:
        chars = np.asarray(chars, dtype=float)
        mean_correct = float(chars[correct].mean()) if correct.any() else None
        mean_wrong = float(chars[~correct].mean()) if (~correct).any() else None
    return Metrics(
        n=len(labels),
        accuracy=float(skm.accuracy_score(labels, preds)),
        precision_weighted=float(p_w),
        recall_weighted=float(r_w),
        f1_weighted=float(f_w),
        precision_macro=float(p_m),
        recall_macro=float(r_m),
        f1_macro=float(f_m),
        roc_auc=auc,
        roc_auc_note=note,
        fpr=false_positive_rate(labels, preds),
        fnr=false_negative_rate(labels, preds),
        confusion_matrix=((int(cm[0, 0]), int(cm[0, 1])), (int(cm[1, 0]), int(cm[1, 1]))),
        ece=expected_calibration_error(labels, probs),
        brier=brier_score(labels, probs[:, 1]),
        per_class=per_class,
        mean_chars_correct=mean_correct,
        mean_chars_wrong=mean_wrong,
        threshold=float(threshold),
    )


def classification_metrics(labels: Any, preds: Any) -> dict[str, float]:
    """Accuracy, weighted precision/recall/F1 (the study's) and macro F1 of predicted labels
    (what training logs for validation, transformers and the baseline alike)."""
    labels, preds = np.asarray(labels, dtype=int), np.asarray(preds, dtype=int)
    p, r, f, _ = skm.precision_recall_fscore_support(
        labels, preds, average="weighted", zero_division=0
    )
    return {
        "accuracy": float(skm.accuracy_score(labels, preds)),
        "f1": float(f),
        "f1_macro": float(skm.f1_score(labels, preds, average="macro", zero_division=0)),
        "precision": float(p),
        "recall": float(r),
    }
