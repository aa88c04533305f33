"""Statistics for comparing classifiers on the same test articles.

* :func:`mcnemar_exact` — McNemar's exact test on the disagreements of two models (a two-sided
  binomial test of ``b`` vs ``c``, statsmodels' ``mcnemar(exact=True)``).
* :func:`bootstrap` — one nonparametric bootstrap over the test articles, shared by every model
  and every pair: percentile 95% CIs of accuracy, weighted/macro F1, ROC-AUC and ECE of each
  model, and the *paired* CI of each accuracy difference (article indices resampled jointly, so
  the pairing is kept).
* :func:`holm` — Holm's step-down correction across all pairs (statsmodels ``multipletests``).
* :func:`paired_tests` — all of it per pair, with one plain-words sentence each.

Every statistic is computed from resampling *weights* (how often each article was drawn), so a
bootstrap of 10,000 resamples over 10,000 articles takes seconds: the confusion counts, the
ECE bins and the Mann-Whitney form of ROC-AUC are all sums over articles.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np

ECE_BINS = 15
"""Equal-width confidence bins of the ECE (the same definition as ``fakenews.evaluation``)."""
METRICS: tuple[str, ...] = ("accuracy", "f1_weighted", "f1_macro", "roc_auc", "ece")
"""The quality figures that get a bootstrap CI, in table order."""
DEFAULT_BOOTSTRAP = 10_000
DEFAULT_ALPHA = 0.05
_CELLS_PER_CHUNK = 2_000_000  # resamples x articles held in memory at once


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its bootstrap percentile interval.

    ``value`` is ``None`` when the figure is undefined on the full sample (ROC-AUC with one
    class); ``low``/``high`` are ``None`` when no resample defined it. ``undefined_resamples``
    counts resamples where it was undefined (they are left out of the percentiles).
    """

    value: float | None
    low: float | None
    high: float | None
    level: float = 0.95
    undefined_resamples: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "ci_low": self.low,
            "ci_high": self.high,
            "ci_level": self.level,
            "undefined_resamples": self.undefined_resamples,
        }


@dataclass(frozen=True)
class McNemarResult:
    """McNemar's exact test of two models on the same articles.

    ``a_only`` = articles model A got right and B wrong (``b`` in the textbook table),
    ``b_only`` = B right and A wrong (``c``); ``p_value`` is the two-sided exact binomial p
    (1.0 when the models never disagree).
    """

    a_only: int
    b_only: int
    p_value: float

    @property
    def discordant(self) -> int:
        return self.a_only + self.b_only


@dataclass(frozen=True)
class PairedTest:
    """Model ``a`` against model ``b`` on the same ``n`` articles.

    ``diff`` = accuracy(a) - accuracy(b) (a fraction) with its paired bootstrap CI
    ``diff_low``/``diff_high``; ``p_value`` is McNemar's exact p, ``p_holm`` the Holm-adjusted
    p across all pairs of the comparison, ``significant`` is ``p_holm < alpha``.
    """

    a: str
    b: str
    n: int
    accuracy_a: float
    accuracy_b: float
    diff: float
    diff_low: float
    diff_high: float
    mcnemar: McNemarResult
    p_value: float
    p_holm: float
    alpha: float
    significant: bool
    sentence: str

    @property
    def winner(self) -> str | None:
        """The better model when the difference is significant, else ``None``."""
        if not self.significant or self.diff == 0:
            return None
        return self.a if self.diff > 0 else self.b

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "n": self.n,
            "accuracy_a": self.accuracy_a,
            "accuracy_b": self.accuracy_b,
            "diff": self.diff,
            "diff_ci_low": self.diff_low,
            "diff_ci_high": self.diff_high,
            "a_right_b_wrong": self.mcnemar.a_only,
            "b_right_a_wrong": self.mcnemar.b_only,
            "p_value": self.p_value,
            "p_holm": self.p_holm,
            "alpha": self.alpha,
            "significant": self.significant,
            "winner": self.winner,
            "sentence": self.sentence,
        }


@dataclass(frozen=True)
class BootstrapResult:
    """Per-model :class:`Estimate` of each of :data:`METRICS`, and paired accuracy differences.

    ``models[name][metric]``; ``differences[(a, b)]`` is the :class:`Estimate` of
    accuracy(a) - accuracy(b) for every pair in input order.
    """

    n: int
    n_bootstrap: int
    seed: int
    level: float
    models: Mapping[str, Mapping[str, Estimate]]
    differences: Mapping[tuple[str, str], Estimate] = field(default_factory=dict)


# --------------------------------------------------------------------------- McNemar, Holm


def mcnemar_exact(
    correct_a: Sequence[bool] | np.ndarray, correct_b: Sequence[bool] | np.ndarray
) -> McNemarResult:
    """McNemar's exact test from per-article correctness of two models (same articles, same order)."""
    a = np.asarray(correct_a, dtype=bool)
    b = np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(
            f"expected two 1-D arrays of equal length, found shapes {a.shape} and {b.shape}"
        )
    a_only = int(np.sum(a & ~b))
    b_only = int(np.sum(~a & b))
    return McNemarResult(a_only=a_only, b_only=b_only, p_value=mcnemar_p(a_only, b_only))


def mcnemar_p(a_only: int, b_only: int) -> float:
    """Two-sided exact McNemar p from the two discordant counts (1.0 when both are 0)."""
    if a_only < 0 or b_only < 0:
        raise ValueError(f"discordant counts must be >= 0, found {a_only} and {b_only}")
    if a_only + b_only == 0:
        return 1.0
    from statsmodels.stats.contingency_tables import mcnemar

    result = mcnemar([[0, a_only], [b_only, 0]], exact=True)
    return float(min(1.0, result.pvalue))


def holm(p_values: Sequence[float], alpha: float = DEFAULT_ALPHA) -> tuple[np.ndarray, np.ndarray]:
    """Holm's step-down correction: ``(reject, adjusted_p)`` in the input order."""
    p = np.asarray(p_values, dtype=float)
    if p.size == 0:
        return np.zeros(0, dtype=bool), np.zeros(0)
    from statsmodels.stats.multitest import multipletests

    reject, adjusted, _, _ = multipletests(p, alpha=alpha, method="holm")
    return np.asarray(reject, dtype=bool), np.asarray(adjusted, dtype=float)


# --------------------------------------------------------------------------- weighted metrics


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros_like(num, dtype=float), where=den > 0)


@dataclass(frozen=True)
class _Model:
    """One model as a sparse design: every statistic is a weighted sum over articles.

    Rows of ``design`` (each a 0/1 or real-valued pattern over the ``n`` articles):
    ``0..3`` the confusion cells tn, fp, fn, tp; ``4..4+ECE_BINS`` the per-bin ``correct -
    confidence``; then ``levels`` rows of the fake articles and ``levels`` rows of the real
    articles at each distinct ``prob_fake`` level (ascending), for the Mann-Whitney ROC-AUC.
    """

    design: Any  # scipy.sparse.csr_matrix, shape (4 + ECE_BINS + 2 * levels, n)
    levels: int
    two_classes: bool


def _design(labels: np.ndarray, pred: np.ndarray, prob_fake: np.ndarray) -> _Model:
    from scipy import sparse

    n = len(labels)
    articles = np.arange(n)
    correct = (pred == labels).astype(float)
    conf = np.where(pred == 1, prob_fake, 1.0 - prob_fake)
    edges = np.linspace(0.0, 1.0, ECE_BINS + 1)
    ece_bin = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, ECE_BINS - 1)
    levels_of, level = np.unique(prob_fake, return_inverse=True)
    n_levels = len(levels_of)
    auc_row = 4 + ECE_BINS + level + n_levels * (labels == 0)
    rows = np.concatenate([2 * labels + pred, 4 + ece_bin, auc_row])
    cols = np.concatenate([articles, articles, articles])
    vals = np.concatenate([np.ones(n), correct - conf, np.ones(n)])
    design = sparse.csr_matrix((vals, (rows, cols)), shape=(4 + ECE_BINS + 2 * n_levels, n))
    return _Model(design=design, levels=n_levels, two_classes=bool(labels.min() != labels.max()))


def _weighted_metrics(model: _Model, w: np.ndarray) -> dict[str, np.ndarray]:
    """Every metric of :data:`METRICS` for each column of resampling weights ``w`` (n, k)."""
    sums = model.design @ w  # (rows, k)
    total = w.sum(axis=0)
    tn, fp, fn, tp = sums[:4]
    f1_fake = _safe_div(2 * tp, 2 * tp + fp + fn)
    f1_real = _safe_div(2 * tn, 2 * tn + fp + fn)
    # ECE = sum over bins |sum(correct) - sum(confidence)| / n: linear in the weights.
    ece = np.abs(sums[4 : 4 + ECE_BINS]).sum(axis=0) / total
    start = 4 + ECE_BINS
    pos, neg = sums[start : start + model.levels], sums[start + model.levels :]
    return {
        "accuracy": (tp + tn) / total,
        "f1_weighted": (f1_fake * (tp + fn) + f1_real * (tn + fp)) / total,
        "f1_macro": (f1_fake + f1_real) / 2,
        "ece": ece,
        "roc_auc": _weighted_auc(pos, neg) if model.two_classes else np.full(w.shape[1], np.nan),
    }


def _weighted_auc(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """Mann-Whitney ROC-AUC (ties count one half) from the fake/real weight at each score level."""
    below = np.cumsum(neg, axis=0) - neg
    num = (pos * (below + 0.5 * neg)).sum(axis=0)
    den = pos.sum(axis=0) * neg.sum(axis=0)
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _resample_weights(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """``k`` bootstrap resamples of ``n`` articles as draw counts, shape (n, k) (one column each)."""
    idx = rng.integers(0, n, size=(k, n)) * k + np.arange(k)[:, None]
    return np.bincount(idx.ravel(), minlength=n * k).reshape(n, k).astype(float)


def _percentile(values: np.ndarray, level: float) -> tuple[float | None, float | None, int]:
    finite = values[np.isfinite(values)]
    undefined = int(values.size - finite.size)
    if finite.size == 0:
        return None, None, undefined
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high), undefined


def _check_inputs(
    labels: Any, models: Mapping[str, tuple[Any, Any]]
) -> tuple[np.ndarray, dict[str, tuple[np.ndarray, np.ndarray]]]:
    y = np.asarray(labels, dtype=int)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"expected a non-empty 1-D label array, found shape {y.shape}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 (real) or 1 (fake)")
    out = {}
    for name, (pred, prob) in models.items():
        p = np.asarray(pred, dtype=int)
        q = np.asarray(prob, dtype=float)
        if p.shape != y.shape or q.shape != y.shape:
            raise ValueError(
                f"model {name!r}: predictions {p.shape} / probabilities {q.shape} do not match labels {y.shape}"
            )
        if not np.isin(p, (0, 1)).all():
            raise ValueError(f"model {name!r}: predictions must be 0 or 1")
        out[name] = (p, q)
    return y, out


# --------------------------------------------------------------------------- the bootstrap


def bootstrap(
    labels: Sequence[int] | np.ndarray,
    models: Mapping[str, tuple[Sequence[int] | np.ndarray, Sequence[float] | np.ndarray]],
    *,
    n_bootstrap: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
    level: float = 0.95,
    paired: bool = True,
    progress: Callable[[int], None] | None = None,
) -> BootstrapResult:
    """Percentile bootstrap CIs of every model's metrics and (``paired``) of every accuracy difference.

    Args:
        labels: true labels (0 real, 1 fake) of the ``n`` test articles.
        models: ``{name: (pred, prob_fake)}``, each an array over the same articles in the same order.
        n_bootstrap: resamples (default 10,000). Each resample draws ``n`` article indices with
            replacement; the *same* draws are applied to every model, so differences are paired.
        seed: seed of ``numpy.random.default_rng`` (default 0): equal inputs give equal CIs.
        level: confidence level (default 0.95).
        paired: also compute the CI of accuracy(a) - accuracy(b) for every pair (default True).
        progress: called with the number of resamples done after each chunk (for a progress bar).
    """
    if n_bootstrap < 1:
        raise ValueError(f"n_bootstrap must be >= 1, found {n_bootstrap}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), found {level}")
    y, checked = _check_inputs(labels, models)
    designs = {name: _design(y, pred, prob) for name, (pred, prob) in checked.items()}
    pairs = list(combinations(designs, 2)) if paired else []
    full = np.ones((y.size, 1))
    point = {
        name: {k: float(v[0]) for k, v in _weighted_metrics(d, full).items()}
        for name, d in designs.items()
    }
    draws, diffs = _resample(
        designs, pairs, n=y.size, n_bootstrap=n_bootstrap, seed=seed, progress=progress
    )
    return BootstrapResult(
        n=y.size,
        n_bootstrap=n_bootstrap,
        seed=seed,
        level=level,
        models={
            name: {m: _estimate(point[name][m], draws[name][m], level) for m in METRICS}
            for name in designs
        },
        differences={
            (a, b): _estimate(point[a]["accuracy"] - point[b]["accuracy"], diffs[(a, b)], level)
            for a, b in pairs
        },
    )


def _resample(
    designs: Mapping[str, _Model],
    pairs: Sequence[tuple[str, str]],
    *,
    n: int,
    n_bootstrap: int,
    seed: int,
    progress: Callable[[int], None] | None,
) -> tuple[dict[str, dict[str, np.ndarray]], dict[tuple[str, str], np.ndarray]]:
    """Every model's metrics and every pair's accuracy difference on ``n_bootstrap`` resamples
    of the ``n`` articles.

    The resamples are drawn in chunks (at most ``_CELLS_PER_CHUNK`` weights in memory) and the
    same draws score every model, so the differences are paired.
    """
    draws: dict[str, dict[str, list[np.ndarray]]] = {
        name: {m: [] for m in METRICS} for name in designs
    }
    diffs: dict[tuple[str, str], list[np.ndarray]] = {pair: [] for pair in pairs}
    rng = np.random.default_rng(seed)
    chunk = max(1, _CELLS_PER_CHUNK // n)
    done = 0
    while done < n_bootstrap:
        k = min(chunk, n_bootstrap - done)
        w = _resample_weights(rng, n, k)
        acc: dict[str, np.ndarray] = {}
        for name, design in designs.items():
            stats = _weighted_metrics(design, w)
            acc[name] = stats["accuracy"]
            for metric in METRICS:
                draws[name][metric].append(stats[metric])
        for a, b in pairs:
            diffs[(a, b)].append(acc[a] - acc[b])
        done += k
        if progress is not None:
            progress(done)
    return (
        {name: {m: np.concatenate(v) for m, v in by.items()} for name, by in draws.items()},
        {pair: np.concatenate(v) for pair, v in diffs.items()},
    )


def _estimate(value: float, draws: np.ndarray, level: float) -> Estimate:
    """The point ``value`` (``None`` when NaN: undefined on the full sample) and its percentile CI."""
    low, high, undefined = _percentile(draws, level)
    return Estimate(
        value=None if math.isnan(value) else value,
        low=low,
        high=high,
        level=level,
        undefined_resamples=undefined,
    )


# --------------------------------------------------------------------------- pairs in plain words


def format_p(p: float) -> str:
    """``p = 0.003``, ``p = 0.41``, ``p < 0.001``."""
    if p < 0.001:
        return "p < 0.001"
    if p < 0.01:
        return f"p = {p:.3f}"
    return f"p = {p:.2f}"


def _pt_digits(*values: float) -> int:
    return 2 if max(abs(v) for v in values) * 100 < 1 else 1


def _range(low: float, high: float, digits: int) -> str:
    lo, hi = f"{100 * low:.{digits}f}", f"{100 * high:.{digits}f}"
    # An en dash between negative numbers reads as a minus sign: spell it out then.
    return f"{lo}–{hi}" if low >= 0 and high >= 0 else f"{lo} to {hi}".replace("-", "−")


def describe_pair(
    a: str,
    b: str,
    diff: float,
    low: float,
    high: float,
    p: float,
    p_holm: float,
    *,
    alpha: float = DEFAULT_ALPHA,
    level: float = 0.95,
) -> str:
    """The plain-words verdict of one pair; ``diff``/``low``/``high`` are accuracy(a) - accuracy(b).

    Significant (``p_holm < alpha``): "A beats B by 1.2 pt, 95% CI 0.4–2.0, p = 0.003
    (Holm-adjusted p = 0.009)". Otherwise: "no significant difference between A and B
    (A − B = 0.3 pt, 95% CI −0.5 to 1.1, p = 0.41, Holm-adjusted p = 0.82)".
    """
    pct = f"{round(100 * level)}% CI"
    holm_p = format_p(p_holm).replace("p ", "Holm-adjusted p ", 1)
    if p_holm < alpha and diff != 0:
        if diff < 0:
            a, b, diff, low, high = b, a, -diff, -high, -low
        digits = _pt_digits(diff, low, high)
        return (
            f"{a} beats {b} by {100 * diff:.{digits}f} pt, {pct} {_range(low, high, digits)}, "
            f"{format_p(p)} ({holm_p})"
        )
    digits = _pt_digits(diff, low, high)
    signed = f"{100 * diff:+.{digits}f}".replace("-", "−")
    return (
        f"no significant difference between {a} and {b} ({a} − {b} = {signed} pt, {pct} "
        f"{_range(low, high, digits)}, {format_p(p)}, {holm_p})"
    )


def paired_tests(
    labels: Sequence[int] | np.ndarray,
    models: Mapping[str, tuple[Sequence[int] | np.ndarray, Sequence[float] | np.ndarray]],
    boot: BootstrapResult,
    *,
    alpha: float = DEFAULT_ALPHA,
) -> tuple[PairedTest, ...]:
    """McNemar + paired bootstrap CI + Holm for every pair of ``models`` (in input order).

    ``boot`` must come from :func:`bootstrap` on the same ``labels`` and ``models`` with ``paired=True``.
    """
    y, checked = _check_inputs(labels, models)
    names = list(checked)
    pairs = list(combinations(names, 2))
    mc = [mcnemar_exact(checked[a][0] == y, checked[b][0] == y) for a, b in pairs]
    _, adjusted = holm([m.p_value for m in mc], alpha=alpha)
    out = []
    for (a, b), test, p_holm in zip(pairs, mc, adjusted, strict=True):
        d = boot.differences.get((a, b))
        if d is None or d.low is None or d.high is None or d.value is None:
            raise ValueError(
                f"the bootstrap has no paired difference for ({a!r}, {b!r}); call bootstrap(..., paired=True)"
            )
        significant = bool(p_holm < alpha)
        out.append(
            PairedTest(
                a=a,
                b=b,
                n=int(y.size),
                accuracy_a=boot.models[a]["accuracy"].value or 0.0,
                accuracy_b=boot.models[b]["accuracy"].value or 0.0,
                diff=d.value,
                diff_low=d.low,
                diff_high=d.high,
                mcnemar=test,
                p_value=test.p_value,
                p_holm=float(p_holm),
                alpha=alpha,
                significant=significant,
                sentence=describe_pair(
                    a,
                    b,
                    d.value,
                    d.low,
                    d.high,
                    test.p_value,
                    float(p_holm),
                    alpha=alpha,
                    level=boot.level,
                ),
            )
        )
    return tuple(out)
