"""Per-run figures: made from results, never shown, non-empty, and sane on edge cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from fakenews.evaluation.plots import evaluation_figures, roc_figure
from fakenews.evaluation.result import EvaluationResult, error_table
from fakenews.metrics import compute_metrics
from fakenews.reporting.figures import figure_png as render_png


def make_result(labels: list[int], p_fake: list[float], *, key: str = "test") -> EvaluationResult:
    labels_arr = np.asarray(labels)
    p = np.asarray(p_fake, dtype=float)
    probs = np.column_stack([1 - p, p])
    texts = [("word " * (20 * (i + 1))).strip() for i in range(len(labels))]
    chars = np.array([len(t) for t in texts])
    frame = pd.DataFrame(
        {"id": [f"a{i}" for i in range(len(labels))], "combined_text": texts, "label": labels_arr}
    )
    preds = (p > 0.5).astype(int)
    predictions = pd.DataFrame(
        {
            "id": frame["id"],
            "label": labels_arr,
            "pred": preds,
            "prob_fake": p,
            "chars": chars,
            "correct": preds == labels_arr,
        }
    )
    return EvaluationResult(
        key=key, split="test", data_name=None, data_path=Path("."), data_fingerprint="f" * 64, in_domain=True,
        metrics=compute_metrics(labels_arr, probs, chars), predictions=predictions, errors=error_table(frame, p),
    )  # fmt: skip


def _texts(fig: Figure) -> str:
    parts = [
        t.get_text()
        for ax in fig.axes
        for t in [*ax.texts, ax.title, ax.xaxis.label, ax.yaxis.label]
    ]
    return " ".join([fig.get_suptitle(), *parts])


def test_every_figure_is_drawn_and_renders() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 60).tolist()
    p = np.clip(np.asarray(labels) * 0.6 + rng.uniform(0, 0.4, 60), 0, 1).tolist()
    figures = evaluation_figures(make_result(labels, p))
    assert list(figures) == [
        "confusion", "roc", "reliability", "length", "per_class", "pr", "threshold",
    ]  # fmt: skip
    for name, fig in figures.items():
        assert isinstance(fig, Figure)
        assert all(ax.has_data() for ax in fig.axes if ax.get_label() != "<colorbar>"), name
        png = render_png(fig)
        assert png[:4] == b"\x89PNG" and len(png) > 10_000, name
    conf = _texts(figures["confusion"])
    m = make_result(labels, p).metrics
    (tn, fp), _ = m.confusion_matrix
    assert f"{tn}\n{100 * tn / (tn + fp):.1f}%" in conf
    assert "ECE = " in _texts(figures["reliability"])
    assert "AUC = " in " ".join(
        t.get_text() for t in figures["roc"].axes[0].get_legend().get_texts()
    )


def test_one_class_roc_says_why_there_is_no_curve() -> None:
    fig = roc_figure(make_result([1, 1, 1], [0.9, 0.3, 0.8]))
    assert "ROC-AUC is undefined:\nthe evaluated data has only fake articles (n=3)." in _texts(fig)


@pytest.mark.parametrize(
    ("labels", "p"), [([1], [0.9]), ([0, 1], [0.2, 0.8]), ([0, 1, 0], [0.9, 0.1, 0.7])]
)
def test_tiny_and_perfect_results_still_plot(labels: list[int], p: list[float]) -> None:
    for fig in evaluation_figures(make_result(labels, p)).values():
        assert len(render_png(fig)) > 5_000
