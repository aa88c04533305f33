"""TF-IDF + logistic regression: the classical baseline every transformer must beat.

Word 1–2-grams with sublinear tf, L2-normalised, fed to a logistic regression whose ``C`` is
picked on the validation split (or by 3-fold cross-validation on the training split when there is
no validation data). It has the same ``predict_proba(texts) -> (n, 2)`` interface as the
transformer predictors, so every later stage treats it alike.

Saved without pickle: ``baseline.json`` (parameters), ``vocabulary.json`` (n-grams in column
order) and ``arrays.npz`` (idf, coefficients, intercept), read back with ``allow_pickle=False``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold

from fakenews.errors import FakeNewsError
from fakenews.metrics import decide

logger = logging.getLogger(__name__)

FORMAT = "fakenews-tfidf-logreg/1"
PARAMS_FILE = "baseline.json"
VOCAB_FILE = "vocabulary.json"
ARRAYS_FILE = "arrays.npz"


def is_baseline_dir(path: Path | str) -> bool:
    """True when ``path`` holds a saved :class:`TfidfLogReg`."""
    return (Path(path) / PARAMS_FILE).is_file()


def _score(metric: str, y_true: np.ndarray, y_pred: np.ndarray) -> float:
    if metric == "accuracy":
        return float(accuracy_score(y_true, y_pred))
    return float(f1_score(y_true, y_pred, average="weighted", zero_division=0))


class TfidfLogReg:
    """TF-IDF (word n-grams, sublinear tf) + logistic regression, with ``C`` chosen on validation.

    Args:
        ngram_max: longest word n-gram (default 2).
        min_df: drop n-grams found in fewer training articles (default 2; lowered automatically
            to 1 when the training split is too small to keep any n-gram).
        max_features: keep the most frequent n-grams (default 200000; None = all).
        c_grid: inverse regularisation strengths tried (default 0.1, 1, 10, 100); ties go to the
            smaller C.
        metric: ``f1`` (weighted F1, default) or ``accuracy``: what picks ``C``.
        seed: seed of the solver and of the cross-validation folds (default 42).
        class_weight: ``None`` (default) or ``"balanced"`` (each class's loss weighted
            ``n / (2 * n_class)``: scikit-learn's ``class_weight="balanced"``).

    Fitted attributes end in ``_``: ``vectorizer_``, ``classifier_``, ``C_``, ``scores_``
    (``{C: validation score}``).
    """

    def __init__(
        self,
        *,
        ngram_max: int = 2,
        min_df: int = 2,
        max_features: int | None = 200_000,
        c_grid: Sequence[float] = (0.1, 1.0, 10.0, 100.0),
        metric: str = "f1",
        seed: int = 42,
        class_weight: str | None = None,
    ) -> None:
        if class_weight not in (None, "balanced"):
            raise FakeNewsError(
                f"train.class_weight must be none or balanced; found {class_weight!r}."
            )
        self.class_weight = class_weight
        self.ngram_max = ngram_max
        self.min_df = min_df
        self.max_features = max_features
        self.c_grid = tuple(float(c) for c in c_grid)
        self.metric = metric
        self.seed = seed

    # ------------------------------------------------------------------ fitting
    def _vectorizer(self, min_df: int) -> TfidfVectorizer:
        return TfidfVectorizer(
            ngram_range=(1, self.ngram_max),
            sublinear_tf=True,
            min_df=min_df,
            max_features=self.max_features,
            lowercase=True,
            strip_accents="unicode",
            dtype=np.float64,
        )

    def _classifier(self, c: float) -> LogisticRegression:
        return LogisticRegression(
            C=c,
            max_iter=2000,
            solver="liblinear",
            random_state=self.seed,
            class_weight=self.class_weight,
        )

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[int],
        val_texts: Sequence[str] | None = None,
        val_labels: Sequence[int] | None = None,
    ) -> TfidfLogReg:
        """Fit on the training texts; pick ``C`` on the validation texts when given."""
        y = _check_labels(texts, labels, what="training")
        texts = [str(t) for t in texts]
        vectorizer = self._vectorizer(self.min_df)
        try:
            x = vectorizer.fit_transform(texts)
        except ValueError:  # every n-gram pruned by min_df on a tiny split
            vectorizer = self._vectorizer(1)
            x = vectorizer.fit_transform(texts)
        has_val = val_texts is not None and val_labels is not None and len(val_texts) > 0
        scores: dict[float, float] = {}
        if len(self.c_grid) == 1:
            scores = {self.c_grid[0]: float("nan")}
        elif has_val:
            assert val_texts is not None and val_labels is not None
            y_val = _check_labels(val_texts, val_labels, what="validation", two_classes=False)
            x_val = vectorizer.transform([str(t) for t in val_texts])
            for c in self.c_grid:
                clf = self._classifier(c).fit(x, y)
                scores[c] = _score(self.metric, y_val, decide(clf.predict_proba(x_val)[:, 1]))
        else:
            folds = StratifiedKFold(
                n_splits=min(3, int(np.bincount(y).min())), shuffle=True, random_state=self.seed
            )
            for c in self.c_grid:
                fold_scores = []
                for tr, te in folds.split(np.zeros(len(y)), y):
                    fold_vec = self._vectorizer(1)
                    xt = fold_vec.fit_transform([texts[i] for i in tr])
                    clf = self._classifier(c).fit(xt, y[tr])
                    fold_scores.append(
                        _score(
                            self.metric,
                            y[te],
                            decide(
                                clf.predict_proba(fold_vec.transform([texts[i] for i in te]))[:, 1]
                            ),
                        )
                    )
                scores[c] = float(np.mean(fold_scores))
        best_c = (
            max(self.c_grid, key=lambda c: (scores[c], -c))
            if len(self.c_grid) > 1
            else self.c_grid[0]
        )
        self.vectorizer_ = vectorizer
        self.classifier_ = self._classifier(best_c).fit(x, y)
        self.C_ = best_c
        self.scores_ = scores
        logger.info(
            "tfidf-logreg: %d n-grams, C=%g (%s %s)", x.shape[1], best_c, self.metric, scores
        )
        return self

    # --------------------------------------------------------------- prediction
    def _check_fitted(self) -> None:
        if not hasattr(self, "classifier_"):
            raise FakeNewsError(
                "this TfidfLogReg is not fitted yet; call fit(texts, labels) or TfidfLogReg.load(model_dir) first."
            )

    def decision_function(self, texts: Sequence[str]) -> np.ndarray:
        """Logit of P(fake) per text, shape (n,)."""
        self._check_fitted()
        x = self.vectorizer_.transform([str(t) for t in texts])
        return np.asarray(self.classifier_.decision_function(x), dtype=np.float64)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Shape (n, 2), float64, columns [P(real), P(fake)], rows in input order."""
        if len(texts) == 0:
            self._check_fitted()
            return np.zeros((0, 2), dtype=np.float64)
        p_fake = 1.0 / (1.0 + np.exp(-self.decision_function(texts)))
        return np.column_stack([1.0 - p_fake, p_fake]).astype(np.float64)

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """Predicted labels (0 = real, 1 = fake), shape (n,), int64, by :func:`fakenews.metrics.decide`."""
        return decide(self.predict_proba(texts)[:, 1]).astype(np.int64)

    @property
    def n_parameters(self) -> int:
        """Learned numbers: one weight per n-gram, the intercept and the idf vector."""
        self._check_fitted()
        return int(
            self.classifier_.coef_.size
            + self.classifier_.intercept_.size
            + len(self.vectorizer_.idf_)
        )

    # -------------------------------------------------------------- persistence
    def save(self, model_dir: Path | str) -> None:
        """Write ``baseline.json``, ``vocabulary.json`` and ``arrays.npz`` into ``model_dir``."""
        self._check_fitted()
        model_dir = Path(model_dir)
        model_dir.mkdir(parents=True, exist_ok=True)
        vocab = self.vectorizer_.vocabulary_
        terms = [""] * len(vocab)
        for term, index in vocab.items():
            terms[index] = term
        params: dict[str, Any] = {
            "format": FORMAT,
            "ngram_max": self.ngram_max,
            "min_df": self.min_df,
            "max_features": self.max_features,
            "c_grid": list(self.c_grid),
            "metric": self.metric,
            "seed": self.seed,
            "C": self.C_,
            "scores": {str(c): s for c, s in self.scores_.items()},
            "n_features": len(terms),
            "classes": [int(c) for c in self.classifier_.classes_],
            "id2label": {"0": "real", "1": "fake"},
        }
        (model_dir / PARAMS_FILE).write_text(json.dumps(params, indent=2) + "\n", encoding="utf-8")
        (model_dir / VOCAB_FILE).write_text(json.dumps(terms, ensure_ascii=False), encoding="utf-8")
        np.savez(
            model_dir / ARRAYS_FILE,
            idf=self.vectorizer_.idf_,
            coef=self.classifier_.coef_,
            intercept=self.classifier_.intercept_,
        )

    @classmethod
    def load(cls, model_dir: Path | str) -> TfidfLogReg:
        """Read a model written by :meth:`save` (no pickle involved)."""
        model_dir = Path(model_dir)
        if not is_baseline_dir(model_dir):
            raise FakeNewsError(
                f"expected a tfidf-logreg model dir with {PARAMS_FILE} at {model_dir}, found none; "
                "train one with `fakenews train SPLIT_DIR --model tfidf-logreg --out RUN_DIR`."
            )
        params = json.loads((model_dir / PARAMS_FILE).read_text(encoding="utf-8"))
        if params.get("format") != FORMAT:
            raise FakeNewsError(
                f"{model_dir / PARAMS_FILE} has format {params.get('format')!r}; expected {FORMAT!r}."
            )
        terms = json.loads((model_dir / VOCAB_FILE).read_text(encoding="utf-8"))
        with np.load(model_dir / ARRAYS_FILE, allow_pickle=False) as arrays:
            idf, coef, intercept = arrays["idf"], arrays["coef"], arrays["intercept"]
        model = cls(
            ngram_max=params["ngram_max"],
            min_df=params["min_df"],
            max_features=params["max_features"],
            c_grid=params["c_grid"],
            metric=params["metric"],
            seed=params["seed"],
        )
        vectorizer = TfidfVectorizer(
            ngram_range=(1, model.ngram_max),
            sublinear_tf=True,
            lowercase=True,
            strip_accents="unicode",
            dtype=np.float64,
            vocabulary={term: i for i, term in enumerate(terms)},
        )
        vectorizer.idf_ = idf
        classifier = model._classifier(params["C"])
        classifier.classes_ = np.asarray(params["classes"])
        classifier.coef_ = coef
        classifier.intercept_ = intercept
        classifier.n_features_in_ = coef.shape[1]
        model.vectorizer_ = vectorizer
        model.classifier_ = classifier
        model.C_ = float(params["C"])
        model.scores_ = {float(c): s for c, s in params["scores"].items()}
        return model


def _check_labels(
    texts: Sequence[str], labels: Sequence[int], *, what: str, two_classes: bool = True
) -> np.ndarray:
    if len(texts) != len(labels):
        raise FakeNewsError(
            f"{what}: got {len(texts)} texts but {len(labels)} labels; pass one label per text."
        )
    if len(texts) == 0:
        raise FakeNewsError(f"{what}: no articles; expected at least one article of each label.")
    y = np.asarray(labels, dtype=np.int64)
    bad = sorted(set(np.unique(y).tolist()) - {0, 1})
    if bad:
        raise FakeNewsError(f"{what}: labels must be 0 (real) or 1 (fake); found {bad[:5]}.")
    if two_classes and len(np.unique(y)) < 2:
        only = "fake" if y[0] == 1 else "real"
        raise FakeNewsError(
            f"{what}: every article is labelled {only}; a classifier needs both real (0) and fake (1) articles."
        )
    return y
