"""``calibrate``: fit temperature scaling and pick the decision threshold on the validation split.

Temperature scaling (Guo et al., 2017) divides the model's logit of fake by one scalar ``T``
chosen to minimise the negative log-likelihood of the validation labels: for a transformer the
logit is ``z_fake - z_real`` (so this is exactly softmax temperature on its two logits), for the
TF-IDF baseline the logistic regression's decision function. ``T`` changes how confident
``P(fake)`` is, never the ranking of articles, so ROC-AUC is unchanged.

The decision policy then picks the threshold on the *calibrated* validation probabilities:

- ``argmax``: 0.5 (the most probable class);
- ``max_f1``: the threshold with the best F1 of the fake class;
- ``fpr:B``: the lowest threshold whose false-positive rate (real articles flagged) is at most B;
- ``precision:P``: the lowest threshold whose precision on fake is at least P.

A chosen threshold lies halfway between two neighbouring validation probabilities, so it makes
the same validation decisions as any value in that gap. Writes ``calibration.json`` and
``decision.json`` (:mod:`fakenews.calibration_files`), each atomically, after both are computed.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.optimize import minimize_scalar

from fakenews.calibration_files import (
    Calibration,
    CalibrationMethod,
    Decision,
    Policy,
    parse_policy,
)
from fakenews.errors import FakeNewsError
from fakenews.io import write_json
from fakenews.metrics import (
    DEFAULT_THRESHOLD,
    brier_score,
    confusion,
    decide,
    expected_calibration_error,
)
from fakenews.predictors.base import InferenceOptions
from fakenews.predictors.load import load_predictor
from fakenews.rundir import RunDir

logger = logging.getLogger(__name__)

LOG_T_BOUNDS = (math.log(1e-2), math.log(1e2))
"""Temperatures searched: 0.01 to 100 (log-scale, bounded)."""


@dataclass(frozen=True)
class CalibrationResult:
    """What :func:`calibrate` fitted and wrote."""

    run_path: Path
    calibration: Calibration
    decision: Decision
    files: tuple[Path, ...] = field(default_factory=tuple)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-z))`` without overflow warnings."""
    z = np.asarray(z, dtype=np.float64)
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    e = np.exp(z[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of 0/1 ``labels`` under ``sigmoid(logits / temperature)``."""
    signed = (np.asarray(logits, dtype=np.float64) / temperature) * (2 * np.asarray(labels) - 1)
    return float(np.mean(np.logaddexp(0.0, -signed)))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature in [0.01, 100] that minimises validation NLL (bounded search on log T)."""
    res = minimize_scalar(
        lambda log_t: nll(logits, labels, math.exp(log_t)),
        bounds=LOG_T_BOUNDS,
        method="bounded",
        options={"xatol": 1e-5},
    )
    t = float(math.exp(res.x))
    if nll(logits, labels, 1.0) <= nll(logits, labels, t):  # never worse than no calibration
        return 1.0
    if min(abs(res.x - b) for b in LOG_T_BOUNDS) < 1e-3:
        logger.warning(
            "the fitted temperature %.3g is at the edge of the search range: the validation split "
            "is (nearly) separable, so calibrated probabilities will be extreme",
            t,
        )
    return t


def _probs(prob_fake: np.ndarray) -> np.ndarray:
    return np.column_stack([1.0 - prob_fake, prob_fake])


def fit_calibration(
    logits: np.ndarray, labels: np.ndarray, method: CalibrationMethod
) -> Calibration:
    """:class:`Calibration` of validation ``logits`` (logit of fake) against 0/1 ``labels``."""
    labels = np.asarray(labels, dtype=int)
    t = fit_temperature(logits, labels) if method == "temperature" else 1.0
    before, after = sigmoid(logits), sigmoid(np.asarray(logits) / t)
    return Calibration(
        method=method,
        temperature=t,
        n=len(labels),
        ece_before=expected_calibration_error(labels, _probs(before)),
        ece_after=expected_calibration_error(labels, _probs(after)),
        brier_before=brier_score(labels, before),
        brier_after=brier_score(labels, after),
        nll_before=nll(logits, labels),
        nll_after=nll(logits, labels, t),
    )


# ------------------------------------------------------------------------ decision policy


def rates_at(labels: np.ndarray, prob_fake: np.ndarray, threshold: float) -> dict[str, float]:
    """FPR, recall, precision and F1 of the fake class when deciding at ``threshold``."""
    (tn, fp), (fn, tp) = confusion(np.asarray(labels, dtype=int), decide(prob_fake, threshold))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    fpr = fp / (fp + tn) if fp + tn else 0.0
    return {
        "fpr": float(fpr),
        "recall": float(recall),
        "precision": float(precision),
        "f1": float(f1),
    }


def candidate_thresholds(prob_fake: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, ...]:
    """Every distinct decision on validation, highest threshold first: ``(threshold, tp, fp)``.

    Each threshold lies halfway to the next lower validation probability (the lowest flags every
    article); the first candidate flags none.
    """
    order = np.argsort(-prob_fake, kind="stable")
    ps, ys = prob_fake[order], labels[order]
    last = np.r_[np.nonzero(np.diff(ps))[0], len(ps) - 1]  # last index of each distinct value
    lower = np.r_[ps[last[1:]], ps[last[-1]]]  # the next lower distinct value (itself at the end)
    thresholds = (ps[last] + lower) / 2.0
    thresholds[-1] = ps[last[-1]]
    top = min(1.0, float(np.nextafter(ps[0], np.inf)))
    tp, fp = np.cumsum(ys)[last], np.cumsum(1 - ys)[last]
    return np.r_[top, thresholds], np.r_[0, tp], np.r_[0, fp]


def _too_small(policy: Policy, n_real: int, n_fake: int) -> str | None:
    """Why validation cannot support ``policy`` (``None`` when it can)."""
    if policy.kind == "argmax":
        return None
    if min(n_real, n_fake) == 0:
        return (
            f"--policy {policy} needs real and fake articles in the validation split, "
            f"found {n_real} real and {n_fake} fake"
        )
    if policy.kind == "fpr" and policy.target is not None:
        need = math.ceil(1.0 / policy.target - 1e-9)
        if n_real < need:
            loosest = math.ceil(1000.0 / n_real) / 1000.0
            return (
                f"--policy {policy} needs at least {need} real articles in the validation split "
                f"to measure a false-positive rate of {policy.target:g} (one false positive is "
                f"1/{n_real} = {1.0 / n_real:.3f} of them), found {n_real}; use a larger "
                f"validation split or a budget of at least fpr:{loosest:g}"
            )
    if policy.kind == "precision" and policy.target is not None:
        need = math.ceil(1.0 / (1.0 - policy.target) - 1e-9)
        if n_fake < need:
            return (
                f"--policy {policy} needs at least {need} fake articles in the validation split "
                f"to measure a precision of {policy.target:g}, found {n_fake}; use a larger "
                f"validation split or a lower target"
            )
    return None


def _pick(policy: Policy, labels: np.ndarray, prob_fake: np.ndarray) -> float | str:
    """The threshold ``policy`` picks, or why none qualifies."""
    if policy.kind == "argmax":
        return DEFAULT_THRESHOLD
    thresholds, tp, fp = candidate_thresholds(prob_fake, labels)
    n_fake, n_real = int(labels.sum()), int(len(labels) - labels.sum())
    if policy.kind == "max_f1":
        f1 = 2 * tp / np.maximum(tp + fp + n_fake, 1)
        return float(thresholds[int(np.argmax(f1))])  # ties: the highest threshold
    target = float(policy.target or 0.0)
    if policy.kind == "fpr":
        ok = np.nonzero(fp / n_real <= target + 1e-12)[0]
        return float(thresholds[ok[-1]])  # the lowest threshold within the budget
    precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 0.0)
    ok = np.nonzero((precision >= target - 1e-12) & (tp > 0))[0]
    if len(ok) == 0:
        best = int(np.argmax(precision))
        return (
            f"no threshold reaches a precision of {target:g} on the validation split (the best is "
            f"{precision[best]:.3f}, at {thresholds[best]:.3f}); lower the target"
        )
    return float(thresholds[ok[-1]])


def choose_threshold(
    policy: Policy | str,
    labels: np.ndarray,
    prob_fake: np.ndarray,
    *,
    fallback: Policy | str | None = None,
) -> Decision:
    """The :class:`Decision` of ``policy`` on validation ``labels`` and calibrated ``prob_fake``.

    When validation cannot support ``policy`` (too few real articles for an FPR budget, too few
    fake ones for a precision target, no threshold reaching it), raise a one-line
    :class:`FakeNewsError` unless a ``fallback`` policy is given; the fallback is then recorded.
    """
    asked = parse_policy(policy) if isinstance(policy, str) else policy
    labels = np.asarray(labels, dtype=int)
    prob_fake = np.asarray(prob_fake, dtype=np.float64)
    n_fake = int(labels.sum())
    n_real = int(len(labels) - n_fake)
    why = _too_small(asked, n_real, n_fake)
    picked = _pick(asked, labels, prob_fake) if why is None else why
    used, reason = asked, None
    if isinstance(picked, str):
        if fallback is None:
            raise FakeNewsError(f"{picked}, or add --fallback argmax.")
        used = parse_policy(fallback, flag="--fallback") if isinstance(fallback, str) else fallback
        reason = picked
        logger.warning("%s: falling back to --policy %s", picked, used)
        picked = _pick_or_fail(used, labels, prob_fake, n_real, n_fake)
    rates = rates_at(labels, prob_fake, float(picked))
    return Decision(
        policy=str(used),
        threshold=float(picked),
        n_real=n_real,
        n_fake=n_fake,
        fpr=rates["fpr"],
        recall=rates["recall"],
        precision=rates["precision"],
        f1=rates["f1"],
        requested=str(asked),
        fallback_reason=reason,
    )


def _pick_or_fail(
    policy: Policy, labels: np.ndarray, prob_fake: np.ndarray, n_real: int, n_fake: int
) -> float:
    why = _too_small(policy, n_real, n_fake)
    picked = _pick(policy, labels, prob_fake) if why is None else why
    if isinstance(picked, str):
        raise FakeNewsError(f"the fallback: {picked}; use --fallback argmax.")
    return picked


# ------------------------------------------------------------------------------- the stage


def validation_logits(
    run: RunDir, data: Path | str | None = None, *, quiet: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """The uncalibrated logit of fake and the label of every validation article of ``run``
    (from ``data``, a copy of the split dir it was trained on, when given)."""
    split_dir = run.split_dir(data)
    if run.data_fingerprint and split_dir.fingerprint != run.data_fingerprint:
        raise FakeNewsError(
            f"--data {split_dir.path} is not the data the run was trained on (fingerprint "
            f"{split_dir.fingerprint[:12]}, the run's {run.data_fingerprint[:12]}); calibrate on "
            "the validation split of the run's own split dir (or a copy of it)."
        )
    frame = split_dir.frames["validation"]
    if frame.empty:
        raise FakeNewsError(
            f"calibration needs a validation split, found 0 articles in {split_dir.path / 'validation.csv'}; "
            "re-prepare the data with a validation share (`fakenews prepare ... --split 0.7,0.15,0.15`)."
        )
    predictor = load_predictor(run, InferenceOptions(calibrated=False), quiet=quiet)
    logits = predictor.logits(frame["combined_text"].tolist())
    return np.asarray(logits, dtype=np.float64), frame["label"].to_numpy(dtype=int)


def calibrate(
    run_dir: Path | str,
    *,
    method: CalibrationMethod | str = "temperature",
    policy: Policy | str | None = None,
    fallback: Policy | str | None = None,
    data: Path | str | None = None,
    quiet: bool = True,
) -> CalibrationResult:
    """Fit ``method`` and pick ``policy``'s threshold on ``run_dir``'s validation split.

    Args:
        run_dir: a run dir written by ``fakenews train`` (any version: older runs are calibrated
            afterwards; the split dir that trained it must still be there).
        method: ``temperature`` (default) or ``none`` (T = 1: the model's own probabilities).
        policy: ``argmax``, ``max_f1``, ``fpr:B`` or ``precision:P``; default the run's
            ``decision.policy`` (``argmax`` for older runs).
        fallback: the policy to use when validation is too small for ``policy`` (default: the
            run's ``decision.fallback``, else none: a one-line error).
        data: a copy of the split dir the run was trained on, when the recorded one is gone.
        quiet: no progress bar.

    Returns:
        :class:`CalibrationResult`; ``calibration.json`` and ``decision.json`` are written only
        once both are computed.
    """
    if method not in ("temperature", "none"):
        raise FakeNewsError(f"--method must be temperature or none; found {method!r}.")
    run = RunDir.open(run_dir)
    asked = parse_policy(policy if policy is not None else run.config.decision.policy)
    fallback = fallback if fallback is not None else run.config.decision.fallback
    logits, labels = validation_logits(run, data, quiet=quiet)
    calibration = fit_calibration(logits, labels, method)  # type: ignore[arg-type]
    prob_fake = sigmoid(logits / calibration.temperature)
    decision = choose_threshold(asked, labels, prob_fake, fallback=fallback)
    write_json(run.calibration_file, calibration.to_dict())
    write_json(run.decision_file, decision.to_dict())
    logger.info(
        "calibrated %s: T=%.3f, validation ECE %.3f -> %.3f; %s threshold %.3f "
        "(validation FPR %.3f, recall %.3f); re-run `fakenews evaluate` for test metrics",
        run.path, calibration.temperature, calibration.ece_before, calibration.ece_after,
        decision.policy, decision.threshold, decision.fpr, decision.recall,
    )  # fmt: skip
    return CalibrationResult(
        run.path, calibration, decision, (run.calibration_file, run.decision_file)
    )


def check_policy_fits(
    policy: str, fallback: str | None, labels: np.ndarray, *, what: str = "decision.policy"
) -> None:
    """Refuse, before training, a policy the validation ``labels`` are too small for (no fallback)."""
    labels = np.asarray(labels, dtype=int)
    n_fake = int(labels.sum())
    why = _too_small(parse_policy(policy, flag=what), int(len(labels) - n_fake), n_fake)
    if why is not None and fallback is None:
        raise FakeNewsError(f"{why}, or add --set decision.fallback=argmax.")
