"""In-domain vs out-of-domain accuracy: the figures and the verdict ``study`` and ``compare`` share.

A model's *out-of-domain* accuracy is the mean over its (run, unseen test set) cells. Its CI
resamples *articles*: each cell's test articles are drawn with replacement from its
``predictions/<key>.csv`` (independently per cell, the same seed every time), each resample's
figure is the mean of the per-cell accuracies, and the interval is the 2.5th–97.5th percentile
of :data:`N_BOOTSTRAP` resamples. The gap is in-domain minus out-of-domain accuracy, in points.

Ground level: imports nothing of ours, so the study's report and the comparison both use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

N_BOOTSTRAP = 2000
SEED = 0
CI_NOTE = (
    f"Out-of-domain accuracy is the mean over (run, unseen test set) cells; its 95% CI resamples "
    f"each cell's test articles ({N_BOOTSTRAP} percentile-bootstrap resamples, seed {SEED}). "
    "The gap is in-domain minus out-of-domain accuracy, in points."
)


@dataclass(frozen=True)
class Generalization:
    """In-domain accuracy, mean out-of-domain accuracy with its 95% CI, and the gap, of ``who``."""

    who: str
    in_domain: float | None
    out_of_domain: float | None
    ci: tuple[float, float] | None
    gap_pt: float | None
    unseen: tuple[str, ...] = ()
    """The unseen test sets the out-of-domain mean is over (names, as the caller gives them)."""

    def verdict(self) -> str:
        """One sentence, e.g. ``minilm-l6 loses 23 pt on data sets it was not trained on: ...``."""
        who = self.who
        if self.out_of_domain is None:
            return f"{who}: every data set was trained on, so nothing measures generalization."
        ci = f" (95% CI {self.ci[0]:.2f}–{self.ci[1]:.2f})" if self.ci else ""
        out = f"{self.out_of_domain:.2f} out-of-domain{ci}"
        if self.in_domain is None or self.gap_pt is None:
            return f"{who} scores {out} on data sets it was not trained on."
        figures = f"{self.in_domain:.2f} in-domain vs {out}"
        if abs(self.gap_pt) < 1:
            return f"{who} holds up out of domain: {figures}."
        verb = "loses" if self.gap_pt > 0 else "gains"
        return (
            f"{who} {verb} {abs(self.gap_pt):.0f} pt on data sets it was not trained on: {figures}."
        )


def correct_of(predictions: Path) -> np.ndarray:
    """1.0 per article predicted right, 0.0 per mistake, from a ``predictions/<key>.csv``."""
    frame = pd.read_csv(predictions, usecols=["label", "pred"])
    return (frame["label"].to_numpy(dtype=int) == frame["pred"].to_numpy(dtype=int)).astype(float)


def mean_accuracy_ci(
    corrects: Sequence[np.ndarray], *, n_bootstrap: int = N_BOOTSTRAP, seed: int = SEED
) -> tuple[float, float]:
    """Percentile 95% CI of the mean of per-cell accuracies, articles resampled within each cell."""
    rng = np.random.default_rng(seed)
    total = np.zeros(n_bootstrap)
    for correct in corrects:
        draws = rng.integers(0, correct.size, size=(n_bootstrap, correct.size))
        total += correct[draws].mean(axis=1)
    means = total / len(corrects)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def generalization(
    who: str,
    in_domain: Sequence[float],
    out_of_domain: Sequence[tuple[str, float, Path]],
) -> Generalization:
    """``who``'s figures from its in-domain accuracies and its unseen cells
    ``(name, accuracy, predictions file)``; the CI is over the cells sorted by name, so equal
    cells give equal CIs whatever order they come in."""
    outside = sorted(out_of_domain, key=lambda cell: cell[0])
    in_acc = float(np.mean(in_domain)) if in_domain else None
    out_acc = float(np.mean([acc for _, acc, _ in outside])) if outside else None
    ci = mean_accuracy_ci([correct_of(path) for _, _, path in outside]) if outside else None
    gap = None if in_acc is None or out_acc is None else 100 * (in_acc - out_acc)
    return Generalization(who, in_acc, out_acc, ci, gap, tuple(name for name, _, _ in outside))
