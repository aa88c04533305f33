"""Why a model said fake: per-word attributions of its log-odds, for both kinds of run.

Every attributor explains the same number, the model's **log-odds of fake** for one text
(``logit_fake - logit_real`` of a transformer, the decision function of the baseline), as a sum
over the words the model read, plus a reference value (the log-odds of the text with every
word taken away). Positive scores push towards fake, negative towards real. The two methods:

- the TF-IDF baseline (:class:`BaselineAttributor`, exact): each n-gram feature contributes
  ``coefficient x tf-idf weight``; a feature that occurs several times is shared equally among
  its occurrences and an n-gram's share is split equally over its ``n`` words, so the word
  scores sum exactly to ``decision_function - intercept``;
- transformers (:mod:`fakenews.predictors.integrated_gradients`): Integrated Gradients over the
  input embeddings, sub-word scores summed to words through the tokenizer's offsets; they sum
  to ``f(text) - f(baseline)`` up to the integral's approximation error (``gap``).

A *word* is a run of letters/digits (with inner apostrophes) or one punctuation mark
(:data:`WORD`); character offsets index the explained text. This module needs no torch.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from fakenews.models.baseline import TfidfLogReg

WORD = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]")
"""What counts as one word of an explanation."""


@dataclass(frozen=True)
class WordScore:
    """One word occurrence: its text, its score (log-odds towards fake) and its character span."""

    word: str
    score: float
    start: int
    end: int


@dataclass(frozen=True)
class TopWord:
    """A word's scores over all its occurrences (case-insensitive) in what the model read."""

    word: str
    score: float
    count: int


@dataclass(frozen=True)
class Reading:
    """What of a text the model read.

    ``unit`` is ``tokens`` (a transformer's sub-words, special tokens excluded) or ``words``
    (the baseline reads every word); ``read`` of ``total`` were read; ``spans`` are the
    character ranges read (two for ``head_tail`` truncation: the start and the end).
    """

    unit: str
    read: int
    total: int
    spans: tuple[tuple[int, int], ...]
    strategy: str = "none"

    @property
    def truncated(self) -> bool:
        return self.read < self.total

    def note(self, length: int) -> str:
        """One line saying what was read and what was cut."""
        if not self.truncated:
            return f"the model read the whole text ({self.total} {self.unit})."
        ranges = ", ".join(f"{s:,}-{e:,}" for s, e in self.spans)
        cut = _cut_ranges(self.spans, length)
        return (
            f"the model read {self.read} of {self.total} {self.unit} ({self.strategy} truncation): "
            f"characters {ranges} of {length:,}; characters {cut} were cut and are not explained."
        )


def _cut_ranges(spans: Sequence[tuple[int, int]], length: int) -> str:
    gaps, pos = [], 0
    for start, end in spans:
        if start > pos:
            gaps.append((pos, start))
        pos = max(pos, end)
    if pos < length:
        gaps.append((pos, length))
    return ", ".join(f"{s:,}-{e:,}" for s, e in gaps) or "none"


@dataclass(frozen=True)
class Attribution:
    """One text explained: word scores in text order and what they sum to.

    ``output`` is the model's log-odds of fake for the text, ``reference`` the log-odds of the
    reference input (no words), ``gap`` = ``output - reference - sum(scores)`` (0 for the exact
    baseline; Integrated Gradients' approximation error for transformers).
    """

    words: tuple[WordScore, ...]
    reading: Reading
    method: str
    output: float
    reference: float
    gap: float

    def top(self, k: int) -> list[TopWord]:
        """The ``k`` words with the largest absolute summed score (ties in text order); words
        that did not count (score 0: not in the baseline's vocabulary) are left out."""
        scored = [w for w in word_totals(self.words) if w.score != 0.0]
        return sorted(scored, key=lambda w: -abs(w.score))[:k]


class Attributor(Protocol):
    """Explains texts: one :class:`Attribution` per text, in order."""

    method: str

    def attribute(self, texts: Sequence[str]) -> list[Attribution]: ...


def word_totals(words: Sequence[WordScore]) -> list[TopWord]:
    """Scores summed per lower-cased word, in order of first occurrence."""
    scores: dict[str, float] = defaultdict(float)
    counts: Counter[str] = Counter()
    shown: dict[str, str] = {}
    for w in words:
        key = w.word.lower()
        scores[key] += w.score
        counts[key] += 1
        shown.setdefault(key, w.word)
    return [TopWord(shown[k], float(scores[k]), counts[k]) for k in shown]


def word_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the words of ``text`` (:data:`WORD`)."""
    return [m.span() for m in WORD.finditer(text)]


def to_words(
    text: str, pieces: Sequence[tuple[int, int, float]], *, within: Sequence[tuple[int, int]]
) -> list[WordScore]:
    """Sum ``(start, end, score)`` pieces (sub-words, n-gram shares) into the words they start
    in; only words starting inside the ``within`` character ranges (what the model read) are
    returned (a word cut by truncation keeps the score of its sub-words that were read)."""
    spans = [(s, e) for s, e in word_spans(text) if any(a <= s < b for a, b in within)]
    starts = [s for s, _ in spans]
    scores = np.zeros(len(spans), dtype=np.float64)
    for start, end, score in pieces:
        while start < end and text[start].isspace():  # SentencePiece offsets may hold the space
            start += 1
        i = bisect.bisect_right(starts, start) - 1
        if i >= 0 and start < spans[i][1]:
            scores[i] += score
    return [WordScore(text[s:e], float(v), s, e) for (s, e), v in zip(spans, scores, strict=True)]


class BaselineAttributor:
    """Exact attributions of a :class:`~fakenews.models.baseline.TfidfLogReg`: coefficient x
    tf-idf weight per n-gram, shared over its occurrences and split over its words."""

    method = "tfidf-coefficient"

    def __init__(self, model: TfidfLogReg) -> None:
        self.model = model
        vectorizer = model.vectorizer_
        self._pattern = re.compile(vectorizer.token_pattern)
        self._preprocess = vectorizer.build_preprocessor()
        self._vocabulary = vectorizer.vocabulary_
        self._coef = np.asarray(model.classifier_.coef_[0], dtype=np.float64)
        self._intercept = float(model.classifier_.intercept_[0])

    def attribute(self, texts: Sequence[str]) -> list[Attribution]:
        texts = [str(t) for t in texts]
        if not texts:
            return []
        x = self.model.vectorizer_.transform(texts).tocsr()
        return [self._one(text, x.getrow(i)) for i, text in enumerate(texts)]

    def _one(self, text: str, row: object) -> Attribution:
        weights = dict(zip(row.indices.tolist(), row.data.tolist(), strict=True))  # type: ignore[attr-defined]
        tokens = [
            (m.start(), m.end(), self._preprocess(m.group())) for m in self._pattern.finditer(text)
        ]
        occurrences = self._occurrences(tokens)
        counts = Counter(j for j, _ in occurrences)
        pieces: list[tuple[int, int, float]] = []
        for j, positions in occurrences:
            share = self._coef[j] * weights.get(j, 0.0) / counts[j] / len(positions)
            pieces.extend((tokens[p][0], tokens[p][1], share) for p in positions)
        words = to_words(text, pieces, within=((0, len(text)),))
        output = self._intercept + float(sum(self._coef[j] * v for j, v in weights.items()))
        total = sum(w.score for w in words)
        reading = Reading("words", len(words), len(words), ((0, len(text)),))
        return Attribution(
            tuple(words),
            reading,
            self.method,
            output,
            self._intercept,
            output - self._intercept - total,
        )

    def _occurrences(self, tokens: list[tuple[int, int, str]]) -> list[tuple[int, range]]:
        """(feature index, token positions) of every n-gram occurrence found in the vocabulary."""
        found = []
        terms = [t for _, _, t in tokens]
        for n in range(1, self.model.ngram_max + 1):
            for i in range(len(terms) - n + 1):
                j = self._vocabulary.get(" ".join(terms[i : i + n]))
                if j is not None:
                    found.append((int(j), range(i, i + n)))
        return found
