"""The top words of each mistake listed in ``errors/<key>.md`` (what ``evaluate`` adds to the
error table before rendering it).

Only the listed mistakes are explained (the ``shown`` most confident false positives and false
negatives), which caps the cost: exact and instant for the TF-IDF baseline; Integrated Gradients
with :data:`ERROR_IG_STEPS` points per article for a transformer (seconds per article on a CPU,
so ``evaluate`` does it for transformers only when asked: ``--explain-errors``).
"""

from __future__ import annotations

import pandas as pd

from fakenews.predictors.attribution import Attributor

ERROR_TOP_WORDS = 5
ERROR_IG_STEPS = 8
"""Integrated Gradients points per listed mistake (few: the ranking of the top words, not the
exact scores, is what the error analysis shows)."""


def format_top_words(words: list[tuple[str, float]]) -> str:
    """``word (+0.123), word (-0.045)``: strongest first."""
    return ", ".join(f"{w} ({s:+.3f})" for w, s in words)


def with_top_words(
    errors: pd.DataFrame,
    frame: pd.DataFrame,
    attributor: Attributor,
    *,
    shown: int,
    k: int = ERROR_TOP_WORDS,
) -> pd.DataFrame:
    """``errors`` with a ``top_words`` column: the ``k`` strongest words of each of the first
    ``shown`` false positives and false negatives, ``""`` for the mistakes not listed."""
    listed = pd.concat([errors[errors["kind"] == kind].head(shown) for kind in ("FP", "FN")])
    texts = dict(zip(frame["id"].astype(str), frame["combined_text"].astype(str), strict=False))
    ids = [str(i) for i in listed["id"]]
    attributions = attributor.attribute([texts[i] for i in ids])
    words = {
        i: format_top_words([(w.word, w.score) for w in a.top(k)])
        for i, a in zip(ids, attributions, strict=True)
    }
    out = errors.copy()
    out["top_words"] = [words.get(str(i), "") for i in out["id"]]
    return out
