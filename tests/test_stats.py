"""Statistics against known values: McNemar exact p, Holm, bootstrap CIs and the weighted metrics."""

from __future__ import annotations

import re
from math import comb

import numpy as np
import pytest
from sklearn import metrics as skm

from fakenews import stats
from fakenews.metrics import expected_calibration_error


def binomial_p(b: int, c: int) -> float:
    """Two-sided exact McNemar p by hand: 2 * P(X <= min(b, c)), X ~ Binomial(b + c, 1/2), capped at 1."""
    n = b + c
    tail = sum(comb(n, k) for k in range(min(b, c) + 1)) / 2**n
    return min(1.0, 2 * tail)


@pytest.mark.parametrize(
    ("b", "c", "expected"),
    [(7, 1, 18 / 256), (10, 2, 158 / 4096), (3, 3, 1.0), (0, 0, 1.0), (0, 5, 2 / 32)],
)
def test_mcnemar_exact_matches_the_binomial_formula(b: int, c: int, expected: float) -> None:
    assert stats.mcnemar_p(b, c) == pytest.approx(expected, rel=1e-12)
    assert binomial_p(b, c) == pytest.approx(expected, rel=1e-12)


def test_mcnemar_from_a_hand_built_table() -> None:
    # 2x2 table of (A correct, B correct): 50 both right, 7 only A, 1 only B, 2 both wrong.
    a = np.array([1] * 50 + [1] * 7 + [0] * 1 + [0] * 2, dtype=bool)
    b = np.array([1] * 50 + [0] * 7 + [1] * 1 + [0] * 2, dtype=bool)
    result = stats.mcnemar_exact(a, b)
    assert (result.a_only, result.b_only, result.discordant) == (7, 1, 8)
    assert result.p_value == pytest.approx(18 / 256)  # 2 * (C(8,0) + C(8,1)) / 2^8 = 0.0703125


def test_holm_against_a_hand_example() -> None:
    # m = 3, sorted p 0.01, 0.03, 0.04 -> 3*0.01 = 0.03, 2*0.03 = 0.06, max(0.06, 1*0.04) = 0.06.
    reject, adjusted = stats.holm([0.01, 0.04, 0.03], alpha=0.05)
    assert adjusted == pytest.approx([0.03, 0.06, 0.06])
    assert reject.tolist() == [True, False, False]
    assert stats.holm([0.8, 0.9])[1] == pytest.approx([1.0, 1.0])  # capped at 1


def test_sentences() -> None:
    assert stats.describe_pair("A", "B", 0.012, 0.004, 0.020, 0.003, 0.009) == (
        "A beats B by 1.2 pt, 95% CI 0.4–2.0, p = 0.003 (Holm-adjusted p = 0.009)"
    )
    # B is better: the sentence names B first and flips the interval.
    assert stats.describe_pair("A", "B", -0.05, -0.08, -0.02, 0.0004, 0.0008) == (
        "B beats A by 5.0 pt, 95% CI 2.0–8.0, p < 0.001 (Holm-adjusted p < 0.001)"
    )
    assert stats.describe_pair("A", "B", 0.003, -0.005, 0.011, 0.41, 0.82) == (
        "no significant difference between A and B (A − B = +0.3 pt, 95% CI −0.5 to 1.1, p = 0.41, Holm-adjusted p = 0.82)"
    )
    # Significant before correction, not after: no winner.
    assert stats.describe_pair("A", "B", 0.02, 0.001, 0.04, 0.03, 0.09).startswith(
        "no significant difference"
    )


def _models(
    rng: np.random.Generator, n: int, accuracies: dict[str, float]
) -> tuple[np.ndarray, dict[str, tuple[np.ndarray, np.ndarray]]]:
    y = rng.integers(0, 2, n)
    out = {}
    for name, acc in accuracies.items():
        correct = rng.random(n) < acc
        pred = np.where(correct, y, 1 - y)
        conf = np.round(rng.uniform(0.5, 1.0, n), 2)  # rounding makes ties for ROC-AUC
        # P(fake) >= 0.5 is fake (fakenews.metrics.decide), so a real prediction needs P(fake) < 0.5
        out[name] = (pred, np.where(pred == 1, conf, np.minimum(1 - conf, 0.49)))
    return y, out


def test_point_estimates_equal_sklearn_and_evaluation() -> None:
    y, models = _models(np.random.default_rng(3), 300, {"a": 0.85})
    pred, prob = models["a"]
    est = stats.bootstrap(y, models, n_bootstrap=100, seed=0).models["a"]
    assert est["accuracy"].value == pytest.approx(skm.accuracy_score(y, pred))
    assert est["f1_weighted"].value == pytest.approx(skm.f1_score(y, pred, average="weighted"))
    assert est["f1_macro"].value == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert est["roc_auc"].value == pytest.approx(skm.roc_auc_score(y, prob))
    assert est["ece"].value == pytest.approx(
        expected_calibration_error(y, np.column_stack([1 - prob, prob]))
    )


def test_weighted_metrics_equal_sklearn_on_a_resample() -> None:
    rng = np.random.default_rng(4)
    y, models = _models(rng, 200, {"a": 0.8})
    pred, prob = models["a"]
    idx = rng.integers(0, 200, 200)
    w = np.bincount(idx, minlength=200).astype(float)[:, None]
    got = {
        k: float(v[0]) for k, v in stats._weighted_metrics(stats._design(y, pred, prob), w).items()
    }
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y[idx], pred[idx]))
    assert got["f1_macro"] == pytest.approx(skm.f1_score(y[idx], pred[idx], average="macro"))
    assert got["f1_weighted"] == pytest.approx(skm.f1_score(y[idx], pred[idx], average="weighted"))
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y[idx], prob[idx]))
    sub = prob[idx]
    assert got["ece"] == pytest.approx(
        expected_calibration_error(y[idx], np.column_stack([1 - sub, sub]))
    )


def test_paired_bootstrap_ci_covers_the_true_difference() -> None:
    # Each model is right with a known probability: the true accuracy difference is 0.10.
    covered = 0
    rng = np.random.default_rng(11)
    for rep in range(40):
        y, models = _models(rng, 300, {"a": 0.90, "b": 0.80})
        d = stats.bootstrap(y, models, n_bootstrap=400, seed=rep).differences[("a", "b")]
        assert d.low is not None and d.high is not None and d.low < d.value < d.high  # type: ignore[operator]
        covered += d.low <= 0.10 <= d.high
    assert covered >= 34  # nominal 95% of 40 = 38; allow sampling noise

    y, models = _models(np.random.default_rng(5), 2000, {"a": 0.90, "b": 0.80})
    boot = stats.bootstrap(y, models, n_bootstrap=2000, seed=0)
    d = boot.differences[("a", "b")]
    assert d.low < 0.10 < d.high and d.low > 0  # type: ignore[operator]
    for name, acc in (("a", 0.90), ("b", 0.80)):
        e = boot.models[name]["accuracy"]
        assert e.low < acc < e.high  # type: ignore[operator]


def test_bootstrap_is_seeded() -> None:
    y, models = _models(np.random.default_rng(6), 150, {"a": 0.9, "b": 0.7})
    first = stats.bootstrap(y, models, n_bootstrap=300, seed=1)
    again = stats.bootstrap(y, models, n_bootstrap=300, seed=1)
    other = stats.bootstrap(y, models, n_bootstrap=300, seed=2)
    assert first.differences == again.differences and first.models == again.models
    assert first.differences != other.differences


def test_paired_tests_put_it_together() -> None:
    y, models = _models(np.random.default_rng(8), 400, {"good": 0.95, "bad": 0.70, "good2": 0.94})
    boot = stats.bootstrap(y, models, n_bootstrap=500, seed=0)
    tests = {(t.a, t.b): t for t in stats.paired_tests(y, models, boot)}
    assert list(tests) == [("good", "bad"), ("good", "good2"), ("bad", "good2")]
    raw = [t.p_value for t in tests.values()]
    assert [t.p_holm for t in tests.values()] == pytest.approx(stats.holm(raw)[1].tolist())
    assert tests[("good", "bad")].winner == "good"
    assert tests[("bad", "good2")].winner == "good2"
    assert tests[("bad", "good2")].sentence.startswith("good2 beats bad by ")
    assert tests[("good", "good2")].winner is None


def test_one_class_leaves_roc_auc_undefined() -> None:
    y = np.ones(20, dtype=int)
    pred = np.array([1] * 18 + [0] * 2)
    prob = np.where(pred == 1, 0.9, 0.2)
    est = stats.bootstrap(y, {"m": (pred, prob)}, n_bootstrap=200).models["m"]
    assert est["roc_auc"].value is None and est["roc_auc"].low is None
    assert est["roc_auc"].undefined_resamples == 200
    assert est["accuracy"].value == pytest.approx(0.9)


def test_bad_inputs() -> None:
    with pytest.raises(
        ValueError,
        match=re.escape(
            "model 'm': predictions (3,) / probabilities (2,) do not match labels (3,)"
        ),
    ):
        stats.bootstrap([0, 1, 1], {"m": ([0, 1, 1], [0.1, 0.9])})
    with pytest.raises(ValueError, match=re.escape("n_bootstrap must be >= 1, found 0")):
        stats.bootstrap([0, 1], {"m": ([0, 1], [0.1, 0.9])}, n_bootstrap=0)
