"""Per-run figures from results: each function takes a result and returns a matplotlib ``Figure``.

Figures are made with ``matplotlib.figure.Figure`` directly (no ``pyplot``): no global state,
nothing shown, safe in threads and servers. The caller saves them
(``fakenews.evaluation.stage.write_evaluation`` writes ``plots/<key>_<name>.png``).
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter
from sklearn.metrics import precision_recall_curve, roc_curve

from fakenews import LABELS
from fakenews.evaluation.result import EvaluationResult
from fakenews.metrics import ECE_BINS, decide, reliability_table

PLOT_NAMES = ("confusion", "roc", "reliability", "length", "per_class", "pr", "threshold")

CORRECT = "#4C72B0"
WRONG = "#DD8452"
NEUTRAL = "#8C8C8C"


def _title(result: EvaluationResult, what: str) -> str:
    where = result.key if result.in_domain else f"{result.key} (cross-data-set)"
    return f"{what} — {where}, n={result.metrics.n}"


def confusion_figure(result: EvaluationResult) -> Figure:
    """2x2 confusion matrix: counts and the percentage of each true class (row)."""
    cm = np.asarray(result.metrics.confusion_matrix, dtype=float)
    rows = cm.sum(axis=1, keepdims=True)
    share = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    fig = Figure(figsize=(4.8, 4.2))
    ax = fig.add_subplot()
    image = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    for i in range(2):
        for j in range(2):
            pct = f"{100 * share[i, j]:.1f}%" if rows[i, 0] else "n/a"
            colour = "white" if share[i, j] > 0.6 else "black"
            ax.text(
                j, i, f"{int(cm[i, j])}\n{pct}", ha="center", va="center", color=colour, fontsize=13
            )
    ax.set_xticks([0, 1], [f"predicted {n}" for n in LABELS])
    ax.set_yticks([0, 1], [f"true {n}" for n in LABELS])
    ax.set_title(_title(result, "Confusion matrix"), fontsize=10)
    bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    bar.set_label("share of the true class")
    fig.tight_layout()
    return fig


def roc_figure(result: EvaluationResult) -> Figure:
    """ROC curve of P(fake); a note instead of a curve when the data holds one class."""
    fig = Figure(figsize=(4.8, 4.4))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], linestyle="--", color=NEUTRAL, linewidth=1, label="chance")
    m = result.metrics
    if m.roc_auc is None:
        ax.text(
            0.5,
            0.5,
            (m.roc_auc_note or "ROC-AUC undefined").replace(": ", ":\n", 1),
            ha="center",
            va="center",
            wrap=True,
            fontsize=9,
            bbox={"facecolor": "white", "edgecolor": NEUTRAL},
        )
    else:
        fpr, tpr, _ = roc_curve(result.labels, result.probs[:, 1])
        ax.plot(fpr, tpr, color=CORRECT, linewidth=2, label=f"ROC (AUC = {m.roc_auc:.4f})")
        if m.fpr is not None and m.fnr is not None:
            ax.scatter(
                [m.fpr], [1 - m.fnr], color=WRONG, zorder=3, label=f"threshold {m.threshold:.3g}"
            )
        ax.legend(loc="lower right", fontsize=9)
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_xlabel("false positive rate (real flagged as fake)")
    ax.set_ylabel("true positive rate (fake caught)")
    ax.set_title(_title(result, "ROC"), fontsize=10)
    fig.tight_layout()
    return fig


def reliability_figure(result: EvaluationResult) -> Figure:
    """Reliability diagram on P(predicted class) in the 15 ECE bins, calibrated (bars) and, for
    a calibrated run, the model's own probabilities (T = 1, line), with the bin counts below."""
    table = reliability_table(result.labels, result.probs, ECE_BINS)
    width = 1.0 / ECE_BINS
    centres = (table["lower"] + table["upper"]).to_numpy() / 2
    filled = table["count"].to_numpy() > 0
    fig = Figure(figsize=(5.2, 5.4))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    top.plot(
        [0, 1], [0, 1], linestyle="--", color=NEUTRAL, linewidth=1, label="perfect calibration"
    )
    calibrated = result.temperature != 1.0
    top.bar(
        centres[filled],
        table["accuracy"].to_numpy()[filled],
        width=width * 0.95,
        color=CORRECT,
        edgecolor="white",
        label=f"accuracy in bin (T = {result.temperature:.3g})"
        if calibrated
        else "accuracy in bin",
    )
    top.scatter(
        table["confidence"].to_numpy()[filled],
        table["accuracy"].to_numpy()[filled],
        color=WRONG,
        zorder=3,
        s=14,
        label="mean confidence",
    )
    bottom.bar(centres, table["count"].to_numpy(), width=width * 0.95, color=NEUTRAL)
    if calibrated:
        _uncalibrated_reliability(result, top, bottom)
    lo = float(table["lower"].to_numpy()[int(np.argmax(table["upper"].to_numpy() > 0.5))])
    top.set_xlim(lo, 1.0)
    top.set_ylim(0, 1.02)
    top.set_ylabel("accuracy")
    # Above the axes: inside, it would hide the bars of any calibration.
    top.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=2, fontsize=8, frameon=False)
    before = (
        f", before {result.ece_uncalibrated:.4f}"
        if calibrated and result.ece_uncalibrated is not None
        else ""
    )
    fig.suptitle(
        _title(result, f"Reliability (ECE = {result.metrics.ece:.4f}{before}, {ECE_BINS} bins)"),
        fontsize=10,
    )
    bottom.set_ylabel("articles")
    bottom.set_xlabel("confidence = P(predicted class)")
    fig.tight_layout()
    return fig


def _uncalibrated_reliability(result: EvaluationResult, top: Axes, bottom: Axes) -> None:
    """The T = 1 reliability curve over the calibrated bars, and its bin counts as a step line."""
    table = reliability_table(result.labels, result.probs_uncalibrated, ECE_BINS)
    filled = table["count"].to_numpy() > 0
    ece = result.ece_uncalibrated
    top.plot(
        table["confidence"].to_numpy()[filled],
        table["accuracy"].to_numpy()[filled],
        color="black",
        marker="o",
        markersize=4,
        linewidth=1.2,
        label=f"before calibration (T = 1, ECE {ece:.4f})" if ece is not None else "T = 1",
    )
    centres = (table["lower"] + table["upper"]).to_numpy() / 2
    bottom.step(
        centres, table["count"].to_numpy(), where="mid", color="black", linewidth=1, label="T = 1"
    )


def pr_figure(result: EvaluationResult) -> Figure:
    """Precision-recall curve of flagging fake, the run's threshold marked (and 0.5 beside it)."""
    fig = Figure(figsize=(4.8, 4.4))
    ax = fig.add_subplot()
    labels, p = result.labels, result.probs[:, 1]
    if labels.min() == labels.max():
        ax.text(0.5, 0.5, "precision-recall needs both classes", ha="center", va="center")
    else:
        precision, recall, _ = precision_recall_curve(labels, p)
        ax.plot(recall, precision, color=CORRECT, linewidth=2, label="precision-recall")
        ax.axhline(labels.mean(), linestyle="--", color=NEUTRAL, linewidth=1, label="chance")
        for t, colour in _marked_thresholds(result):
            r = _rates(labels, p, t)
            ax.scatter([r[1]], [r[2]], color=colour, zorder=3, label=f"threshold {t:.3g}")
        ax.legend(loc="lower left", fontsize=8)
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_xlabel("recall (fake caught)")
    ax.set_ylabel("precision (flagged that are fake)")
    ax.set_title(_title(result, "Precision-recall"), fontsize=10)
    fig.tight_layout()
    return fig


def _marked_thresholds(result: EvaluationResult) -> list[tuple[float, str]]:
    chosen = result.metrics.threshold
    marks = [(chosen, WRONG)]
    if abs(chosen - 0.5) > 1e-12:
        marks.append((0.5, NEUTRAL))
    return marks


def _rates(labels: np.ndarray, p: np.ndarray, t: float) -> tuple[float, float, float]:
    """(FPR, recall, precision) of flagging ``P(fake) >= t``."""
    pred = decide(p, t)
    fake, real = labels == 1, labels == 0
    fpr = float(pred[real].mean()) if real.any() else 0.0
    recall = float(pred[fake].mean()) if fake.any() else 0.0
    precision = float(labels[pred == 1].mean()) if pred.any() else 1.0
    return fpr, recall, precision


def threshold_figure(result: EvaluationResult) -> Figure:
    """FPR, recall and precision against the threshold on P(fake), the run's threshold marked."""
    fig = Figure(figsize=(5.6, 4.2))
    ax = fig.add_subplot()
    labels, p = result.labels, result.probs[:, 1]
    grid = np.unique(np.r_[np.linspace(0.0, 1.0, 201), p])
    rates = np.array([_rates(labels, p, float(t)) for t in grid])
    ax.plot(grid, rates[:, 0], color=WRONG, linewidth=2, label="FPR (real flagged)")
    ax.plot(grid, rates[:, 1], color=CORRECT, linewidth=2, label="recall (fake caught)")
    ax.plot(grid, rates[:, 2], color=NEUTRAL, linewidth=1.5, label="precision")
    for t, colour in _marked_thresholds(result):
        fpr, recall, _ = _rates(labels, p, t)
        ax.axvline(t, color=colour, linestyle=":", linewidth=1)
        label = f"threshold {t:.3g}: FPR {fpr:.3f}, recall {recall:.3f}"
        ax.scatter([t, t], [fpr, recall], color=colour, zorder=3, label=label)
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlabel("threshold on calibrated P(fake)")
    ax.set_ylabel("rate")
    ax.legend(loc="center left", fontsize=8)
    ax.set_title(_title(result, "Rates vs threshold"), fontsize=10)
    fig.tight_layout()
    return fig


def length_figure(result: EvaluationResult) -> Figure:
    """Article length (characters) of correct vs wrong predictions, and error rate per length bin."""
    frame = result.predictions
    chars = np.maximum(frame["chars"].to_numpy(dtype=float), 1.0)
    correct = frame["correct"].to_numpy(dtype=bool)
    fig = Figure(figsize=(10, 4.2))
    left, right = fig.subplots(1, 2)
    edges = np.geomspace(chars.min(), max(chars.max(), chars.min() * 1.01), 21)
    groups = [(correct, CORRECT, "correct"), (~correct, WRONG, "wrong")]
    groups = [g for g in groups if g[0].any()]
    left.hist(
        [chars[m] for m, _, _ in groups],
        bins=edges,
        color=[c for _, c, _ in groups],
        label=[
            f"{name} (n={int(m.sum())}, mean {chars[m].mean():,.0f} chars)" for m, _, name in groups
        ],
    )
    left.set_xscale("log")
    left.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    left.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    left.xaxis.set_minor_formatter(NullFormatter())
    left.tick_params(axis="x", labelrotation=45, labelsize=8)
    left.yaxis.set_major_locator(MaxNLocator(integer=True))
    left.set_xlabel("article length (characters, log scale)")
    left.set_ylabel("articles")
    left.legend(fontsize=8)
    left.set_title("Length of correct vs wrong predictions", fontsize=10)

    n_bins = int(min(5, max(1, len(chars) // 5)))
    quantiles = np.unique(np.quantile(chars, np.linspace(0, 1, n_bins + 1)))
    if len(quantiles) < 2:  # every article has the same length: one bin
        quantiles = np.repeat(quantiles, 2)
    index = np.clip(np.searchsorted(quantiles, chars, side="right") - 1, 0, len(quantiles) - 2)
    rates, counts, labels = [], [], []
    for b in range(len(quantiles) - 1):
        mask = index == b
        counts.append(int(mask.sum()))
        rates.append(float((~correct[mask]).mean()) if mask.any() else 0.0)
        labels.append(f"{quantiles[b]:,.0f}–\n{quantiles[b + 1]:,.0f}")
    positions = np.arange(len(rates))
    bars = right.bar(positions, rates, color=WRONG)
    for bar, rate, count in zip(bars, rates, counts, strict=True):
        right.annotate(
            f"{100 * rate:.1f}%\nn={count}",
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=8,
            xytext=(0, 2),
            textcoords="offset points",
        )
    right.set_xticks(positions, labels, fontsize=8)
    right.set_ylim(0, max(0.05, max(rates) * 1.3))
    right.set_xlabel("article length bin (characters, equal-count bins)")
    right.set_ylabel("error rate")
    right.set_title("Error rate by article length", fontsize=10)
    fig.suptitle(_title(result, "Errors vs length"), fontsize=11)
    fig.tight_layout()
    return fig


def per_class_figure(result: EvaluationResult) -> Figure:
    """Correct and incorrect predictions per true class, with counts and per-class recall."""
    (tn, fp), (fn, tp) = result.metrics.confusion_matrix
    right_counts = [tn, tp]
    wrong_counts = [fp, fn]
    fig = Figure(figsize=(5.2, 4.2))
    ax = fig.add_subplot()
    x = np.arange(2)
    w = 0.38
    b1 = ax.bar(x - w / 2, right_counts, w, color=CORRECT, label="correct")
    b2 = ax.bar(x + w / 2, wrong_counts, w, color=WRONG, label="incorrect")
    for bars in (b1, b2):
        for bar in bars:
            ax.annotate(
                f"{int(bar.get_height())}",
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=9,
                xytext=(0, 2),
                textcoords="offset points",
            )
    recalls = [result.metrics.per_class[n].recall for n in LABELS]
    supports = [result.metrics.per_class[n].support for n in LABELS]
    ax.set_xticks(
        x,
        [
            f"true {n}\n(n={s}, recall {r:.3f})"
            for n, s, r in zip(LABELS, supports, recalls, strict=True)
        ],
    )
    ax.set_ylabel("articles")
    ax.set_ylim(0, max(1, *right_counts, *wrong_counts) * 1.3)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=9, loc="upper center", ncols=2)
    ax.set_title(_title(result, "Per-class results"), fontsize=10)
    fig.tight_layout()
    return fig


def evaluation_figures(result: EvaluationResult) -> dict[str, Figure]:
    """All per-evaluation figures by name (``confusion, roc, reliability, length, per_class, pr,
    threshold``)."""
    return {
        "confusion": confusion_figure(result),
        "roc": roc_figure(result),
        "reliability": reliability_figure(result),
        "length": length_figure(result),
        "per_class": per_class_figure(result),
        "pr": pr_figure(result),
        "threshold": threshold_figure(result),
    }
