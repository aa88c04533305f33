"""Shortcut audit: markers whose mere presence predicts the label of an article.

A random split of one data set rewards source signatures. On the WELFake sample the three
characters ``(Reuters)`` alone tell real from fake with ~0.81 accuracy: a model that learns
them scores well in-domain and learns little about fake news. This module finds such markers in
a split dir's ``train`` split and measures them on its ``test`` split.

Markers looked for (``kind``):

- ``ngram``: word 1–3-grams of ``combined_text``, case kept and punctuation kept as tokens
  (:data:`TOKEN_PATTERN`), so ``(Reuters)``, ``21st Century Wire`` and ``Featured image via``
  are findable; shown with the spaces around punctuation taken out again;
- ``domain``: URL hosts (``https://…``, ``www.…``, bare ``name.com/…``), ``www.`` dropped;
- ``handle``: ``@handles``;
- ``first_line`` / ``last_line``: the first and last non-empty line of ``text`` when it is at
  most :data:`MAX_LINE_CHARS` long (bylines, sign-offs such as ``For entire story: …``).

A marker is reported when, on ``train``, at least ``min_coverage`` of the articles (and at least
``min_articles``) hold it and at least ``min_precision`` of those have one label. Its ``rule_accuracy`` is the ``test`` accuracy of
"marker present → its label, absent → the other label".

Near-identical markers are merged: two markers of one label where one's tokens lie inside the
other's (``Reuters )`` in ``( Reuters )``) and whose train articles overlap with Jaccard ≥
:data:`MERGE_JACCARD` form one group, shown by its most readable member (brackets balanced, the
specific kinds before n-grams, the longest, then the best rule accuracy).

The best rule on at most ``rule_markers`` markers is found greedily **on train** (a model sees
nothing else): for each label, start from "always the other label" and add the marker whose
"any of these present → label" rule gains most train accuracy, until none gains; the better
label's rule is kept and its accuracy is measured on test.

Train splits above :data:`DISCOVERY_ROWS` rows are searched on a seeded sample of that many rows
(with thresholds loosened by :data:`DISCOVERY_SLACK`); every figure reported is then counted on
the whole train and test splits.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer

from fakenews.data.dedup import UnionFind
from fakenews.errors import FakeNewsError

MarkerKind = Literal["ngram", "domain", "handle", "first_line", "last_line"]
LabelName = Literal["real", "fake"]

TOKEN_PATTERN = r"\w+(?:['’.\-]\w+)*|[^\w\s]"
"""Words (with inner apostrophes, dots and hyphens: ``U.S``, ``didn't``, ``reuters.com``) and
every other non-space character as a token of its own."""
TOKEN = re.compile(TOKEN_PATTERN)
MAX_NGRAM = 3
MAX_LINE_CHARS = 120
"""Longer first/last lines are article text, not a byline or sign-off."""
MERGE_JACCARD = 0.9
DISCOVERY_ROWS = 5000
DISCOVERY_SLACK = 0.8
"""On a sample, candidates need ``0.8 × min_coverage`` and precision ``min_precision - 0.02``."""
WARN_ACCURACY = 0.7
"""One marker whose rule beats this accuracy on test (and the majority class) earns a warning."""
DOMAIN = re.compile(
    r"(?:https?://|\bwww\.)([^\s/?#:\"'”’)\]<>|,]+)"
    r"|\b((?:[a-z0-9-]+\.)+(?:com|org|net|gov|edu|co|io|us|uk|ly|ws|tv|news|info|me|it))(?=/|\b)",
    re.IGNORECASE,
)
HANDLE = re.compile(r"(?<![\w@.])@\w{1,30}\b")
KIND_RANK: Mapping[str, int] = {
    "domain": 0,
    "handle": 0,
    "first_line": 1,
    "last_line": 1,
    "ngram": 2,
}
KINDS: Mapping[str, MarkerKind] = {
    "ngram": "ngram",
    "domain": "domain",
    "handle": "handle",
    "first_line": "first_line",
    "last_line": "last_line",
}
LABEL_NAMES: Mapping[int, LabelName] = {0: "real", 1: "fake"}
_NO_SPACE_BEFORE = frozenset(")]},.;:!?%/”")
_NO_SPACE_AFTER = frozenset("([{@#$/“")
_PAIRS = ("()", "[]", "{}", "“”")


@dataclass(frozen=True)
class ShortcutOptions:
    """What counts as a shortcut (``--shortcut-precision``, ``--shortcut-coverage``, ``--shortcut-top``).

    Args:
        min_precision: share of a marker's train articles that must have its label, in
            ``(0.5, 1]``. Default ``0.95``.
        min_coverage: share of the train articles that must hold the marker, in ``(0, 1]``.
            Default ``0.03``.
        top: how many markers to keep, best rule accuracy first (``≥ 1``). Default ``20``.
        rule_markers: most markers in the best combined rule (``1``–``10``). Default ``3``.
        min_articles: fewest train articles holding a marker, whatever the coverage (``≥ 1``).
            Default ``10``: on a train split of 70 articles, 3% is 3 articles, and among tens of
            thousands of n-grams some hold 3 articles of one label by chance.
    """

    min_precision: float = 0.95
    min_coverage: float = 0.03
    top: int = 20
    rule_markers: int = 3
    min_articles: int = 10

    def __post_init__(self) -> None:
        if not 0.5 < self.min_precision <= 1:
            raise FakeNewsError(
                f"--shortcut-precision must be in (0.5, 1] (share of a marker's articles with its label), got {self.min_precision}; e.g. 0.95."
            )
        if not 0 < self.min_coverage <= 1:
            raise FakeNewsError(
                f"--shortcut-coverage must be in (0, 1] (share of train articles holding a marker), got {self.min_coverage}; e.g. 0.03."
            )
        if self.top < 1:
            raise FakeNewsError(
                f"--shortcut-top must be at least 1 (markers to list), got {self.top}."
            )
        if self.min_articles < 1:
            raise FakeNewsError(f"min_articles must be at least 1, got {self.min_articles}.")
        if not 1 <= self.rule_markers <= 10:
            raise FakeNewsError(f"rule_markers must be between 1 and 10, got {self.rule_markers}.")


@dataclass(frozen=True)
class Shortcut:
    """One marker that predicts a label.

    Attributes:
        marker: the marker as shown (``(Reuters)``, ``reuters.com``, ``@realDonaldTrump``, a line).
        kind: ``ngram``, ``domain``, ``handle``, ``first_line`` or ``last_line``.
        label: the label it predicts, ``real`` or ``fake``.
        train_articles: train articles holding it.
        coverage: ``train_articles`` / train articles.
        precision: share of ``train_articles`` with ``label``.
        rule_accuracy: test accuracy of "present → ``label``, absent → the other";
            ``None`` when the test split is empty.
    """

    marker: str
    kind: MarkerKind
    label: LabelName
    train_articles: int
    coverage: float
    precision: float
    rule_accuracy: float | None


@dataclass(frozen=True)
class BestRule:
    """ "Any of ``markers`` present → ``label``, else the other label", chosen greedily on train."""

    markers: tuple[str, ...]
    label: LabelName
    accuracy: float | None
    train_accuracy: float


@dataclass(frozen=True)
class ShortcutAudit:
    """The shortcut audit of one split dir (the manifest's ``shortcuts`` section).

    Attributes:
        settings: the thresholds used.
        train_articles / test_articles: rows of the two splits.
        baseline_accuracy: test accuracy of always answering train's majority label (what a rule
            must beat to mean anything); ``None`` when train or test is empty.
        markers: at most ``settings.top`` markers, best rule accuracy first.
        best_rule: the best rule on at most ``settings.rule_markers`` markers, or ``None``.
    """

    settings: ShortcutOptions
    train_articles: int
    test_articles: int
    baseline_accuracy: float | None
    markers: tuple[Shortcut, ...] = ()
    best_rule: BestRule | None = None

    def to_dict(self) -> dict[str, Any]:
        """The manifest's ``shortcuts``: settings, counts, markers, best_rule (figures to 4 places)."""
        return {
            "settings": {
                **asdict(self.settings),
                "ngrams": [1, MAX_NGRAM],
                "text": "combined_text (lines: text)",
                "best_rule": "greedy OR of one label's markers, chosen on train, accuracy on test",
            },
            "train_articles": self.train_articles,
            "test_articles": self.test_articles,
            "baseline_accuracy": _round(self.baseline_accuracy),
            "markers": [
                {
                    **asdict(m),
                    "coverage": _round(m.coverage),
                    "precision": _round(m.precision),
                    "rule_accuracy": _round(m.rule_accuracy),
                }
                for m in self.markers
            ],
            "best_rule": None
            if self.best_rule is None
            else {
                "markers": list(self.best_rule.markers),
                "label": self.best_rule.label,
                "accuracy": _round(self.best_rule.accuracy),
                "train_accuracy": _round(self.best_rule.train_accuracy),
            },
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> ShortcutAudit:
        """Read back :meth:`to_dict` (raises ``KeyError``/``TypeError`` on another shape)."""
        names = ("min_precision", "min_coverage", "top", "rule_markers", "min_articles")
        rule = doc["best_rule"]
        return cls(
            settings=ShortcutOptions(**{k: doc["settings"][k] for k in names}),
            train_articles=int(doc["train_articles"]),
            test_articles=int(doc["test_articles"]),
            baseline_accuracy=doc["baseline_accuracy"],
            markers=tuple(Shortcut(**m) for m in doc["markers"]),
            best_rule=None
            if rule is None
            else BestRule(
                tuple(rule["markers"]), rule["label"], rule["accuracy"], rule["train_accuracy"]
            ),
        )


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


# --------------------------------------------------------------------------- markers of a row


def tokens(text: str) -> list[str]:
    """``"WASHINGTON (Reuters) -"`` → ``["WASHINGTON", "(", "Reuters", ")", "-"]``."""
    return TOKEN.findall(text)


def detokenize(parts: Sequence[str]) -> str:
    """Tokens back to text: no space inside brackets and quotes, before ``.,;:!?%`` or around ``/``."""
    out = ""
    for i, tok in enumerate(parts):
        glue = i == 0 or tok in _NO_SPACE_BEFORE or parts[i - 1] in _NO_SPACE_AFTER
        out += tok if glue else " " + tok
    return out


def _ngrams(text: str, *, keep: frozenset[str]) -> list[str]:
    """Word 1–3-grams of ``text`` made of ``keep`` tokens only, joined by spaces."""
    toks = tokens(text)
    ok = [t in keep for t in toks]
    grams = []
    last = len(toks) - 1
    for i, tok in enumerate(toks):
        if not ok[i]:
            continue
        grams.append(tok)
        if i < last and ok[i + 1]:
            pair = f"{tok} {toks[i + 1]}"
            grams.append(pair)
            if i + 1 < last and ok[i + 2]:
                grams.append(f"{pair} {toks[i + 2]}")
    return grams


def _line(lines: list[str]) -> str | None:
    line = " ".join(lines[0].split()) if lines else ""
    return line if 0 < len(line) <= MAX_LINE_CHARS else None


def row_markers(text: str, combined: str) -> list[str]:
    """The domain, handle and line markers of one article, as ``kind<TAB>marker`` strings."""
    found = set()
    for match in DOMAIN.finditer(combined):
        host = (match.group(1) or match.group(2)).lower().rstrip(".")
        found.add(f"domain\t{host.removeprefix('www.')}")
    found.update(f"handle\t{h}" for h in HANDLE.findall(combined))
    lines = [line for line in text.splitlines() if line.strip()]
    for kind, line in (("first_line", _line(lines)), ("last_line", _line(lines[::-1]))):
        if line is not None:
            found.add(f"{kind}\t{line}")
    return sorted(found)


def _as_is(items: list[str]) -> list[str]:
    return items


# --------------------------------------------------------------------------- the audit


@dataclass(frozen=True)
class _Split:
    """One split's labels, its ``combined_text`` (tokenized when read: memory stays flat) and its
    other markers."""

    labels: np.ndarray
    combined: list[str] = field(repr=False)
    tagged: list[list[str]] = field(repr=False)

    @classmethod
    def of(cls, frame: pd.DataFrame) -> _Split:
        combined = frame["combined_text"].astype(str).tolist()
        texts = frame["text"].astype(str).tolist()
        return cls(
            labels=frame["label"].astype(int).to_numpy(),
            combined=combined,
            tagged=[row_markers(t, c) for t, c in zip(texts, combined, strict=True)],
        )

    def take(self, rows: np.ndarray) -> _Split:
        return _Split(
            self.labels[rows], [self.combined[i] for i in rows], [self.tagged[i] for i in rows]
        )


@dataclass(frozen=True)
class _Candidates:
    """Markers found on train, with their presence (articles × markers) on train and test."""

    keys: list[tuple[MarkerKind, str]]  # key: an n-gram's tokens joined by spaces, else the marker
    train: sparse.csc_matrix
    test: sparse.csc_matrix


def find_shortcuts(
    train: pd.DataFrame, test: pd.DataFrame, options: ShortcutOptions | None = None
) -> ShortcutAudit:
    """The shortcut audit of a train and a test frame (columns ``text, combined_text, label``)."""
    options = options or ShortcutOptions()
    tr, te = _Split.of(train), _Split.of(test)
    baseline = _baseline(tr.labels, te.labels)
    empty = ShortcutAudit(options, len(tr.labels), len(te.labels), baseline)
    if len(set(tr.labels.tolist())) < 2:
        return empty  # one label only: nothing can tell the labels apart
    found = _candidates(tr, te, options)
    if found is None:
        return empty
    markers, train_cols, test_cols = _score(found, tr.labels, te.labels, options)
    if not markers:
        return empty
    order = sorted(range(len(markers)), key=lambda i: _rank(markers[i]))
    markers = [markers[i] for i in order]
    best = _best_rule(
        markers, train_cols[:, order], test_cols[:, order], tr.labels, te.labels, options
    )
    return ShortcutAudit(
        options,
        len(tr.labels),
        len(te.labels),
        baseline,
        tuple(markers[: options.top]),
        best,
    )


def _baseline(y_train: np.ndarray, y_test: np.ndarray) -> float | None:
    if not len(y_train) or not len(y_test):
        return None
    majority = int(y_train.mean() > 0.5)
    return float((y_test == majority).mean())


def _candidates(tr: _Split, te: _Split, options: ShortcutOptions) -> _Candidates | None:
    """Markers with enough coverage and precision on train (found on a sample of a large train)."""
    sample, coverage, precision = tr, options.min_coverage, options.min_precision
    if len(tr.labels) > DISCOVERY_ROWS:
        rows = np.sort(np.random.default_rng(0).permutation(len(tr.labels))[:DISCOVERY_ROWS])
        sample = tr.take(rows)
        coverage, precision = coverage * DISCOVERY_SLACK, precision - 0.02
    min_df = max(options.min_articles, math.ceil(coverage * len(sample.labels)))
    frequent, _ = _frequent(sample.combined, tokens, min_df)
    if not frequent:
        return None
    grams = functools.partial(_ngrams, keep=frozenset(frequent))
    ngram_vocab, ngram_train = _pure(sample.combined, sample.labels, grams, min_df, precision)
    tagged_vocab, tagged_train = _pure(sample.tagged, sample.labels, _as_is, min_df, precision)
    keys: list[tuple[MarkerKind, str]] = [("ngram", k) for k in ngram_vocab]
    for tagged in tagged_vocab:
        kind, marker = tagged.split("\t", 1)
        keys.append((KINDS[kind], marker))
    if not keys:
        return None
    # Only the tokens of the markers found matter from here on: far fewer grams to make.
    grams = functools.partial(_ngrams, keep=frozenset(t for k in ngram_vocab for t in k.split(" ")))

    def presence(split: _Split) -> sparse.csc_matrix:
        parts = [
            _presence(split.combined, grams, ngram_vocab),
            _presence(split.tagged, _as_is, tagged_vocab),
        ]
        return sparse.hstack(parts, format="csc")

    train = sparse.hstack([ngram_train, tagged_train], format="csc")
    return _Candidates(keys, train if sample is tr else presence(tr), presence(te))


def _frequent(
    docs: Sequence[Any], analyzer: Any, min_df: int
) -> tuple[list[str], sparse.csc_matrix]:
    """Features in at least ``min_df`` docs (sorted) and their presence, docs × features."""
    vectorizer = CountVectorizer(analyzer=analyzer, binary=True, min_df=min_df)
    try:
        matrix = vectorizer.fit_transform(docs)
    except ValueError:  # no feature in enough docs
        return [], sparse.csc_matrix((len(docs), 0), dtype=np.int64)
    return [str(n) for n in vectorizer.get_feature_names_out()], matrix.tocsc()


def _pure(
    docs: Sequence[Any], labels: np.ndarray, analyzer: Any, min_df: int, precision: float
) -> tuple[list[str], sparse.csc_matrix]:
    """Features in at least ``min_df`` docs, ``precision`` of them of one label, and their presence."""
    names, matrix = _frequent(docs, analyzer, min_df)
    if not names:
        return names, matrix
    df = np.asarray(matrix.sum(axis=0)).ravel()
    fake = np.asarray(matrix[labels == 1].sum(axis=0)).ravel()
    keep = np.flatnonzero(np.maximum(fake, df - fake) / df >= precision)
    return [names[i] for i in keep], matrix[:, keep]


def _presence(docs: Sequence[Any], analyzer: Any, vocabulary: list[str]) -> sparse.csc_matrix:
    if not vocabulary or not len(docs):
        return sparse.csc_matrix((len(docs), len(vocabulary)), dtype=np.int64)
    vectorizer = CountVectorizer(analyzer=analyzer, binary=True, vocabulary=vocabulary)
    return vectorizer.transform(docs).tocsc()


def _score(
    found: _Candidates, y_train: np.ndarray, y_test: np.ndarray, options: ShortcutOptions
) -> tuple[list[Shortcut], sparse.csc_matrix, sparse.csc_matrix]:
    """Exact figures on the whole splits; merged groups; one :class:`Shortcut` per group."""
    df = np.asarray(found.train.sum(axis=0)).ravel()
    fake = np.asarray(found.train[y_train == 1].sum(axis=0)).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.maximum(fake, df - fake) / df
    n = len(y_train)
    enough = (df >= options.min_coverage * n) & (df >= options.min_articles)
    keep = np.flatnonzero(enough & (share >= options.min_precision))
    markers = []
    for j in keep:
        kind, key = found.keys[j]
        label = int(fake[j] * 2 > df[j])
        markers.append(
            Shortcut(
                marker=detokenize(key.split(" ")) if kind == "ngram" else key,
                kind=kind,
                label=LABEL_NAMES[label],
                train_articles=int(df[j]),
                coverage=float(df[j] / n),
                precision=float(share[j]),
                rule_accuracy=_rule_accuracy(found.test[:, j], y_test, label),
            )
        )
    train, test = found.train[:, keep], found.test[:, keep]
    keys = [found.keys[j] for j in keep]
    groups = _merge(markers, keys, train)
    heads = [min(g, key=lambda i: _readability(markers[i], keys[i])) for g in groups]
    return [markers[i] for i in heads], train[:, heads], test[:, heads]


def _rule_accuracy(column: sparse.spmatrix, y: np.ndarray, label: int) -> float | None:
    if not len(y):
        return None
    present = column.toarray().ravel() > 0
    return float((np.where(present, label, 1 - label) == y).mean())


def _marker_tokens(key: tuple[str, str]) -> tuple[str, ...]:
    return tuple(key[1].split(" ")) if key[0] == "ngram" else tuple(tokens(key[1]))


def _merge(
    markers: Sequence[Shortcut], keys: Sequence[tuple[str, str]], train: sparse.csc_matrix
) -> list[list[int]]:
    """Groups of near-identical markers (tokens inside one another, same label, same articles)."""
    toks = [_marker_tokens(k) for k in keys]
    index: dict[tuple[str, ...], list[int]] = {}
    for i, t in enumerate(toks):
        index.setdefault(t, []).append(i)
    rows = [np.sort(train[:, i].indices) for i in range(len(keys))]
    uf = UnionFind(len(keys))
    for i, t in enumerate(toks):
        for other in {j for sub in _subsequences(t) for j in index.get(sub, ()) if j != i}:
            if markers[i].label != markers[other].label:
                continue
            inter = len(np.intersect1d(rows[i], rows[other], assume_unique=True))
            union = len(rows[i]) + len(rows[other]) - inter
            if union and inter / union >= MERGE_JACCARD:
                uf.union(i, other)
    members: dict[int, list[int]] = {}
    for i in range(len(keys)):
        members.setdefault(uf.find(i), []).append(i)
    return list(members.values())


def _subsequences(toks: tuple[str, ...]) -> Iterable[tuple[str, ...]]:
    """Every contiguous run of ``toks`` (itself included)."""
    for n in range(1, len(toks) + 1):
        for i in range(len(toks) - n + 1):
            yield toks[i : i + n]


def _balanced(text: str) -> bool:
    return all(text.count(pair[0]) == text.count(pair[1]) for pair in _PAIRS)


def _readability(marker: Shortcut, key: tuple[str, str]) -> tuple[Any, ...]:
    return (
        not _balanced(marker.marker),
        KIND_RANK[marker.kind],
        -len(_marker_tokens(key)),
        -(marker.rule_accuracy or 0.0),
        -marker.train_articles,
        marker.marker,
    )


def _rank(marker: Shortcut) -> tuple[Any, ...]:
    return (-(marker.rule_accuracy or 0.0), -marker.coverage, marker.marker, marker.kind)


def _best_rule(
    markers: Sequence[Shortcut],
    train: sparse.csc_matrix,
    test: sparse.csc_matrix,
    y_train: np.ndarray,
    y_test: np.ndarray,
    options: ShortcutOptions,
) -> BestRule | None:
    """Greedy OR of one label's markers on train (see the module docstring)."""
    best: tuple[float, int, list[int]] | None = None
    dense = train.toarray() > 0
    for label in (0, 1):
        pool = [j for j, m in enumerate(markers) if m.label == LABEL_NAMES[label]]
        chosen: list[int] = []
        fired = np.zeros(len(y_train), dtype=bool)
        acc = float((y_train == 1 - label).mean())
        for _ in range(options.rule_markers):
            if not pool:
                break
            trial = fired[:, None] | dense[:, pool]
            scores = (np.where(trial, label, 1 - label) == y_train[:, None]).mean(axis=0)
            k = int(np.argmax(scores))
            if scores[k] <= acc:
                break
            acc, fired = float(scores[k]), trial[:, k]
            chosen.append(pool.pop(k))
        if chosen and (best is None or acc > best[0]):
            best = (acc, label, chosen)
    if best is None:
        return None
    acc, label, chosen = best
    fired_test = np.asarray(test[:, chosen].sum(axis=1)).ravel() > 0
    test_acc = (
        float((np.where(fired_test, label, 1 - label) == y_test).mean()) if len(y_test) else None
    )
    return BestRule(tuple(markers[j].marker for j in chosen), LABEL_NAMES[label], test_acc, acc)


# --------------------------------------------------------------------------- for readers


def strong_markers(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Markers of a ``shortcuts`` section whose rule alone beats :data:`WARN_ACCURACY` on test
    and the majority-class baseline (on a skewed test set "absent → the majority" is no feat)."""
    floor = max(WARN_ACCURACY, doc.get("baseline_accuracy") or 0.0)
    return [m for m in doc.get("markers", ()) if (m.get("rule_accuracy") or 0.0) > floor]


def shortcut_warning(shortcuts_doc: Mapping[str, Any] | None) -> str | None:
    """One plain sentence when one marker alone predicts the label well, else ``None``.

    ``shortcuts_doc`` is a split manifest's ``shortcuts`` section (:meth:`ShortcutAudit.to_dict`).
    """
    strong = strong_markers(shortcuts_doc or {})
    if not strong:
        return None
    top = max(strong, key=lambda m: m["rule_accuracy"])
    return (
        f"One marker alone, `{top['marker']}`, predicts the label with {top['rule_accuracy']:.2f} "
        "accuracy on test: in-domain scores overstate how well a model will do on other sources."
    )
