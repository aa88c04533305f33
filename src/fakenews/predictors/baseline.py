"""The TF-IDF + logistic-regression baseline as a predictor (it reads whole articles; ``long``
does not apply)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from fakenews.errors import FakeNewsError
from fakenews.models.baseline import TfidfLogReg
from fakenews.predictors.base import BASELINE_BATCH_SIZE, check_temperature, check_texts
from fakenews.progress import track
from fakenews.rundir import RunKind


class BaselinePredictor:
    """A fitted :class:`~fakenews.models.baseline.TfidfLogReg` loaded from a run's ``model/``."""

    kind: RunKind = "baseline"
    device = "cpu"

    def __init__(
        self,
        model_dir: Path,
        *,
        batch_size: int | None = None,
        quiet: bool = True,
        temperature: float = 1.0,
    ) -> None:
        self.temperature = check_temperature(temperature)
        if batch_size is not None and batch_size < 1:
            raise FakeNewsError(f"--batch-size must be at least 1; found {batch_size}.")
        self.model_dir = Path(model_dir)
        self.batch_size = batch_size or BASELINE_BATCH_SIZE
        self.quiet = quiet
        try:
            self.model = TfidfLogReg.load(self.model_dir)
        except FakeNewsError:
            raise
        except Exception as exc:  # corrupt files: name the folder, no traceback
            raise FakeNewsError(
                f"could not load the baseline model from {self.model_dir} ({type(exc).__name__}: {exc}); "
                "its files are corrupt or incomplete: re-run `fakenews train`."
            ) from None

    def describe(self) -> str:
        return "sklearn-tfidf-logreg-cpu"

    def parameter_counts(self) -> tuple[int, int]:
        """(total, trainable): n-gram weights, intercept and idf (all fitted)."""
        n = int(self.model.n_parameters)
        return n, n

    def memory_bytes(self) -> int:
        return baseline_memory_bytes(self.model)

    def token_counts(self, texts: Sequence[str]) -> np.ndarray:
        """Whitespace tokens per text (the baseline has no subword tokenizer)."""
        return np.array([len(t.split()) for t in check_texts(texts)], dtype=int)

    def window_lengths(self, texts: Sequence[str]) -> list[int]:
        return []

    def logits(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        """The logistic regression's decision function (logit of fake), shape ``(n,)``."""
        texts = check_texts(texts)
        if not texts:
            return np.zeros(0, dtype=np.float64)
        size = batch_size or self.batch_size
        chunks = [texts[i : i + size] for i in range(0, len(texts), size)]
        parts = [
            self.model.decision_function(list(c))
            for c in track(chunks, total=len(chunks), description="predicting", quiet=self.quiet)
        ]
        return np.concatenate(parts, axis=0).astype(np.float64)

    def predict_proba(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        """``sigmoid(decision_function / temperature)`` as ``[P(real), P(fake)]``."""
        z = self.logits(texts, batch_size=batch_size) / self.temperature
        p_fake = 1.0 / (1.0 + np.exp(-z))
        return np.column_stack([1.0 - p_fake, p_fake]).astype(np.float64)


def baseline_memory_bytes(model: TfidfLogReg) -> int:
    """Bytes of the fitted baseline: idf, weights and intercept arrays plus the vocabulary dict."""
    vocab = model.vectorizer_.vocabulary_
    arrays = (model.vectorizer_.idf_, model.classifier_.coef_, model.classifier_.intercept_)
    total = sum(np.asarray(a).nbytes for a in arrays) + sys.getsizeof(vocab)
    total += sum(sys.getsizeof(k) + sys.getsizeof(v) for k, v in vocab.items())
    return int(total)
