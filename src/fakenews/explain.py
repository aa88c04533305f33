"""``explain``: which words pushed a run's prediction towards fake (positive) or real (negative).

:func:`explain_texts` returns one :class:`Explanation` per text: the run's P(fake) (what
``predict`` answers), its label at ``threshold`` by :func:`fakenews.metrics.decide`, and the
per-word attributions of the model's log-odds of fake (:mod:`fakenews.predictors.attribution`:
coefficient x tf-idf for the baseline, Integrated Gradients for transformers), over the part of
the text the model read (``truncated`` says which part was cut). :func:`explanations_document`
is the JSON (``--json``), :func:`explanations_html` a self-contained page (``--html``).

:func:`deletion_test` checks that the explanations say something true: taking an article's
top-k words away must lower the probability of the predicted class more than taking k random
words away (the *comprehensiveness* of DeYoung et al. 2020, ERASER).
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fakenews.errors import FakeNewsError
from fakenews.io import write_json, write_text
from fakenews.metrics import DEFAULT_THRESHOLD, decide
from fakenews.predictors.attribution import (
    WORD,
    Attribution,
    Attributor,
    TopWord,
    WordScore,
    word_totals,
)
from fakenews.predictors.base import InferenceOptions, Predictor
from fakenews.predictors.load import load_attributor, load_predictor
from fakenews.progress import track
from fakenews.rundir import RunDir

DEFAULT_TOP_K = 10
FORMAT = "fakenews-explanations/1"


@dataclass(frozen=True)
class Explanation:
    """One article explained.

    ``attributions`` are the words the model read, in text order, with scores in log-odds of
    fake (positive = towards fake) and character offsets into ``text``; ``attribution`` has
    what they sum to (``output`` - ``reference`` - ``gap``) and what was read
    (``attribution.reading``).
    """

    text: str
    prob_fake: float
    label: int
    label_name: str
    threshold: float
    attribution: Attribution

    @property
    def attributions(self) -> tuple[WordScore, ...]:
        return self.attribution.words

    @property
    def method(self) -> str:
        return self.attribution.method

    def top(self, k: int = DEFAULT_TOP_K) -> list[TopWord]:
        """The ``k`` words (case-insensitive, occurrences summed) with the largest |score|."""
        return self.attribution.top(k)

    def truncated(self) -> dict[str, Any]:
        """What the model read: the ``truncated`` object of the JSON."""
        r = self.attribution.reading
        return {
            "truncated": r.truncated,
            "strategy": r.strategy,
            "unit": r.unit,
            "read": r.read,
            "total": r.total,
            "read_spans": [list(s) for s in r.spans],
            "note": r.note(len(self.text)),
        }

    def to_dict(self, top_k: int = DEFAULT_TOP_K) -> dict[str, Any]:
        a = self.attribution
        return {
            "prob_fake": self.prob_fake,
            "label": self.label,
            "label_name": self.label_name,
            "threshold": self.threshold,
            "method": a.method,
            "log_odds": {"output": a.output, "reference": a.reference, "gap": a.gap},
            "truncated": self.truncated(),
            "top": [{"word": w.word, "score": w.score, "count": w.count} for w in self.top(top_k)],
            "attributions": [
                {"word": w.word, "score": w.score, "start": w.start, "end": w.end} for w in a.words
            ],
            "text": self.text,
        }


def check_texts(texts: Sequence[Any]) -> list[str]:
    """Non-blank strings; the error names the first bad one (1-based)."""
    if not texts:
        raise FakeNewsError(
            'nothing to explain; pass article texts (`fakenews explain RUN_DIR "text"`) or --input FILE.'
        )
    for i, text in enumerate(texts, start=1):
        if not isinstance(text, str) or not text.strip():
            raise FakeNewsError(f"text {i} is empty or not a string; expected the article's text.")
    return list(texts)


def explain_texts(
    run_dir: RunDir | Path | str,
    texts: Sequence[str],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    steps: int | None = None,
    device: str = "auto",
    quiet: bool = True,
    predictor: Predictor | None = None,
    attributor: Attributor | None = None,
) -> list[Explanation]:
    """Explain each of ``texts`` (in order) with the run in ``run_dir``.

    Args:
        run_dir: a run dir written by ``fakenews train``.
        texts: article texts (title + " " + body, as in training); none may be blank.
        threshold: P(fake) at or above which the label is fake (default 0.5).
        steps: Integrated Gradients points per text for a transformer run (default 32).
        device: ``auto``, ``cpu`` or ``cuda[:N]`` (transformer runs).
        quiet: no progress bar when True (default).
        predictor: an already loaded predictor (its P(fake) is reported); default the run's.
        attributor: an already loaded attributor; default :func:`load_attributor`'s.
    """
    run = run_dir if isinstance(run_dir, RunDir) else RunDir.open(run_dir)
    texts = check_texts(texts)
    options = InferenceOptions(device=device)
    predictor = predictor or load_predictor(run, options, quiet=quiet)
    attributor = attributor or load_attributor(run, device=device, steps=steps, predictor=predictor)
    probs = np.asarray(predictor.predict_proba(texts), dtype=np.float64)[:, 1]
    labels = decide(probs, threshold)
    names = run.label_names
    return [
        Explanation(text, float(p), int(y), names[int(y)], float(threshold), a)
        for text, p, y, a in zip(texts, probs, labels, attributor.attribute(texts), strict=True)
    ]


def explanations_document(
    explanations: Sequence[Explanation], *, run: RunDir | None = None, top_k: int = DEFAULT_TOP_K
) -> dict[str, Any]:
    """The ``--json`` document: ``{"format", "run", "explanations": [...]}``."""
    return {
        "format": FORMAT,
        "run": None if run is None else str(run.path),
        "model": None if run is None else run.config.model.name,
        "explanations": [e.to_dict(top_k) for e in explanations],
    }


def write_explanations_json(
    path: Path,
    explanations: Sequence[Explanation],
    *,
    run: RunDir | None = None,
    top_k: int = DEFAULT_TOP_K,
) -> None:
    """Write :func:`explanations_document` atomically (complete or not at all)."""
    write_json(Path(path), explanations_document(explanations, run=run, top_k=top_k))


# --------------------------------------------------------------------------- HTML

PAGE_CSS = """
body{margin:0;font:16px/1.6 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;background:#f6f7fa}
main{max-width:860px;margin:24px auto;padding:0 16px}
article{background:#fff;border:1px solid #d6dae3;border-radius:10px;padding:18px 20px;margin:0 0 18px}
.badge{display:inline-block;font-weight:700;padding:1px 10px;border-radius:5px;color:#fff}
.fake{background:#b42318}.real{background:#067647}
.text{white-space:pre-wrap;margin:12px 0}.cut{color:#98a2b3}
.w{border-radius:3px;padding:0 1px}.note,.legend{color:#5b6475;font-size:.9rem}
table{border-collapse:collapse;font-size:.92rem}td,th{padding:2px 10px;text-align:left}
"""


def word_colour(score: float, scale: float) -> str:
    """Red towards fake, blue towards real; opacity grows with ``|score| / scale``."""
    alpha = 0.0 if scale <= 0 else min(1.0, abs(score) / scale) * 0.75
    rgb = "220,38,38" if score > 0 else "37,99,235"
    return f"rgba({rgb},{alpha:.2f})"


def _highlighted(e: Explanation) -> str:
    """The text HTML-escaped, each explained word in a coloured span; cut parts greyed."""
    words = e.attributions
    scale = max((abs(w.score) for w in words), default=0.0)
    parts, pos = [], 0
    for w in words:
        parts.append(_plain(e, pos, w.start))
        parts.append(
            f'<span class="w" style="background:{word_colour(w.score, scale)}" '
            f'title="{w.score:+.4f}">{html.escape(e.text[w.start : w.end])}</span>'
        )
        pos = w.end
    parts.append(_plain(e, pos, len(e.text)))
    return "".join(parts)


def _plain(e: Explanation, start: int, end: int) -> str:
    """Escaped text between words; what lies outside the read spans is greyed as cut."""
    spans = e.attribution.reading.spans
    cuts = sorted({start, end, *(x for span in spans for x in span if start < x < end)})
    chunks = []
    for a, b in itertools.pairwise(cuts):
        piece = html.escape(e.text[a:b])
        inside = any(s <= a < t for s, t in spans)
        chunks.append(piece if inside else f'<span class="cut">{piece}</span>')
    return "".join(chunks)


def explanation_article(e: Explanation, *, top_k: int = DEFAULT_TOP_K) -> str:
    """One explained article as an HTML fragment (every text escaped)."""
    rows = "".join(
        f"<tr><td>{html.escape(w.word)}</td><td>{w.score:+.4f}</td><td>{w.count}</td></tr>"
        for w in e.top(top_k)
    )
    label = html.escape(e.label_name.upper())
    kind = "fake" if e.label == 1 else "real"
    return (
        f'<article><span class="badge {kind}">{label}</span> P(fake) = {e.prob_fake:.3f} '
        f"(threshold {e.threshold:g}; {html.escape(e.method)})"
        f'<p class="note">{html.escape(e.truncated()["note"])}</p>'
        f'<div class="text">{_highlighted(e)}</div>'
        f"<table><tr><th>word</th><th>score</th><th>times</th></tr>{rows}</table></article>"
    )


def explanations_html(
    explanations: Sequence[Explanation],
    *,
    title: str = "fakenews explanations",
    top_k: int = DEFAULT_TOP_K,
) -> str:
    """A self-contained page (inline CSS, no scripts, no external assets)."""
    body = "".join(explanation_article(e, top_k=top_k) for e in explanations)
    legend = (
        '<p class="legend">Words in <span class="w" style="background:rgba(220,38,38,.6)">red</span> '
        'pushed the prediction towards fake, in <span class="w" style="background:rgba(37,99,235,.6)">'
        "blue</span> towards real; the stronger the colour, the larger the score (log-odds of fake). "
        "Grey text was cut before the model read it.</p>"
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{PAGE_CSS}</style></head>"
        f"<body><main><h1>{html.escape(title)}</h1>{legend}{body}</main></body></html>\n"
    )


def write_explanations_html(
    path: Path,
    explanations: Sequence[Explanation],
    *,
    title: str = "fakenews explanations",
    top_k: int = DEFAULT_TOP_K,
) -> None:
    """Write :func:`explanations_html` atomically."""
    write_text(Path(path), explanations_html(explanations, title=title, top_k=top_k))


# --------------------------------------------------------------------------- the deletion test

DELETION_KS = (1, 5, 10)


@dataclass(frozen=True)
class DeletionRow:
    """For one ``k``: the mean drop of P(predicted class) when an article's ``k`` top words are
    taken away (``top_drop``) and when ``k`` random words of it are (``random_drop``, mean over
    the draws), and the share of articles where the top words moved it more (``top_wins``)."""

    k: int
    top_drop: float
    random_drop: float
    top_wins: float


@dataclass(frozen=True)
class DeletionResult:
    """:func:`deletion_test` on one run."""

    run: str
    model: str
    kind: str
    method: str
    split: str
    n: int
    steps: int | None
    draws: int
    seed: int
    rows: tuple[DeletionRow, ...]

    def to_dict(self) -> dict[str, Any]:
        head = {k: v for k, v in self.__dict__.items() if k != "rows"}
        return {**head, "rows": [r.__dict__ for r in self.rows]}


def remove_words(text: str, words: set[str]) -> str:
    """``text`` without any occurrence of ``words`` (lower-cased :data:`WORD` matches)."""
    return WORD.sub(lambda m: "" if m.group().lower() in words else m.group(), text)


def deletion_test(
    run_dir: RunDir | Path | str,
    *,
    split: str = "test",
    ks: Sequence[int] = DELETION_KS,
    limit: int | None = None,
    steps: int | None = None,
    draws: int = 3,
    seed: int = 0,
    threshold: float = DEFAULT_THRESHOLD,
    device: str = "auto",
    quiet: bool = True,
) -> DeletionResult:
    """Do the explanations say something true? For each article of ``split`` (``limit`` of them,
    a seeded sample, when given), take away every occurrence of its ``k`` words (case-insensitive)
    that pushed hardest towards the predicted class, and, ``draws`` times, ``k`` random words of
    what the model read; report the mean drop of P(predicted class) for both."""
    run = run_dir if isinstance(run_dir, RunDir) else RunDir.open(run_dir)
    if not ks or any(k < 1 for k in ks) or draws < 1:
        raise FakeNewsError(
            f"k values and --draws must be at least 1; found k={list(ks)}, draws={draws}."
        )
    texts = _deletion_texts(run, split, limit, seed)
    predictor = load_predictor(run, InferenceOptions(device=device), quiet=True)
    attributor = load_attributor(run, device=device, steps=steps, predictor=predictor)
    attributions = [
        attributor.attribute([t])[0]
        for t in track(texts, total=len(texts), description="explaining", quiet=quiet)
    ]
    p = np.asarray(predictor.predict_proba(texts), dtype=np.float64)[:, 1]
    sign = np.where(decide(p, threshold) == 1, 1.0, -1.0)
    rng = np.random.default_rng(seed)
    variants, owners = _deletion_variants(texts, attributions, sign, ks, draws, rng)
    q = np.asarray(predictor.predict_proba(variants), dtype=np.float64)[:, 1]
    drops = sign[owners] * (p[owners] - q)
    rows = _deletion_rows(drops, ks, draws, len(texts))
    return DeletionResult(
        run=str(run.path), model=run.config.model.name, kind=run.kind, method=attributor.method,
        split=split, n=len(texts), steps=steps if run.kind != "baseline" else None,
        draws=draws, seed=seed, rows=rows,
    )  # fmt: skip


def _deletion_texts(run: RunDir, split: str, limit: int | None, seed: int) -> list[str]:
    frame = run.split_dir().split(split)
    texts = frame["combined_text"].astype(str).tolist()
    if limit is not None and limit < len(texts):
        keep = np.sort(np.random.default_rng(seed).choice(len(texts), size=limit, replace=False))
        texts = [texts[i] for i in keep]
    if not texts:
        raise FakeNewsError(
            f"the run's {split} split holds no articles; nothing to delete words from."
        )
    return texts


def _deletion_variants(
    texts: Sequence[str],
    attributions: Sequence[Attribution],
    sign: np.ndarray,
    ks: Sequence[int],
    draws: int,
    rng: np.random.Generator,
) -> tuple[list[str], np.ndarray]:
    """Per article, per k: the text without its top-k words, then ``draws`` texts without k
    random words; the owner article of each variant."""
    variants: list[str] = []
    owners: list[int] = []
    for i, (text, a) in enumerate(zip(texts, attributions, strict=True)):
        totals = word_totals(a.words)
        ranked = [w.word.lower() for w in sorted(totals, key=lambda w: -sign[i] * w.score)]
        for k in ks:
            chosen = [set(ranked[:k])]
            for _ in range(draws):
                pick = rng.choice(len(ranked), size=min(k, len(ranked)), replace=False)
                chosen.append({ranked[j] for j in pick})
            variants.extend(remove_words(text, words) for words in chosen)
            owners.extend([i] * len(chosen))
    return variants, np.asarray(owners, dtype=int)


def _deletion_rows(
    drops: np.ndarray, ks: Sequence[int], draws: int, n: int
) -> tuple[DeletionRow, ...]:
    """Average the drops laid out as article x k x (1 top + ``draws`` random)."""
    table = drops.reshape(n, len(ks), 1 + draws)
    top, random = table[:, :, 0], table[:, :, 1:].mean(axis=2)
    return tuple(
        DeletionRow(
            k=int(k),
            top_drop=float(top[:, j].mean()),
            random_drop=float(random[:, j].mean()),
            top_wins=float((top[:, j] > random[:, j]).mean()),
        )
        for j, k in enumerate(ks)
    )
