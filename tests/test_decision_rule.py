"""THE decision rule (fakenews.metrics.decide): fake when P(fake) >= threshold, 0.5 by default.

At exactly P(fake) = 0.5 every surface gives the same label, fake: training's validation
metrics, the baseline, evaluate (metrics, predictions, error table), predict and serve.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

import fakenews.evaluation.stage as evaluation_stage
from fakenews.evaluation import evaluate
from fakenews.evaluation.result import error_table
from fakenews.metrics import decide, predictions_from_probs
from fakenews.models.baseline import TfidfLogReg
from fakenews.predict import predict_texts
from fakenews.serving import create_app
from fakenews.training import _compute_metrics


class TiePredictor:
    """P(fake) = 0.5 for every text."""

    temperature = 1.0

    def predict_proba(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        return np.full((len(texts), 2), 0.5)


def test_decide_flags_at_and_above_the_threshold() -> None:
    assert decide([0.49999, 0.5, 0.9]).tolist() == [0, 1, 1]
    assert decide([0.5, 0.7, 0.8], threshold=0.8).tolist() == [0, 0, 1]
    assert predictions_from_probs(np.array([[0.5, 0.5]])).tolist() == [1]


def test_training_metrics_decide_a_tie_fake() -> None:
    # equal logits are P(fake) = 0.5: two fake articles are both caught
    metrics = _compute_metrics(
        SimpleNamespace(predictions=np.zeros((2, 2)), label_ids=np.array([1, 1]))
    )
    assert metrics["accuracy"] == 1.0


def test_the_baseline_decides_a_tie_fake(monkeypatch: pytest.MonkeyPatch) -> None:
    model = TfidfLogReg()
    monkeypatch.setattr(model, "predict_proba", lambda texts: np.full((len(texts), 2), 0.5))
    assert model.predict(["a", "b"]).tolist() == [1, 1]


def test_the_error_table_counts_a_real_article_at_a_tie_as_a_false_positive() -> None:
    frame = pd.DataFrame({"id": ["r", "f"], "combined_text": ["x", "y"], "label": [0, 1]})
    table = error_table(frame, np.array([0.5, 0.5]))
    assert table["id"].tolist() == ["r"] and table["kind"].tolist() == ["FP"]


def test_evaluate_decides_a_tie_fake(
    tiny_baseline_run_dir: Path,
    tiny_split_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = Path(shutil.copytree(tiny_baseline_run_dir, tmp_path / "run"))
    monkeypatch.setattr(evaluation_stage, "load_predictor", lambda *a, **k: TiePredictor())
    result = evaluate(run, data=tiny_split_dir, quiet=True)
    assert set(result.predictions["pred"]) == {1}
    (tn, fp), (fn, tp) = result.metrics.confusion_matrix
    assert tn == fn == 0 and fp + tp == result.metrics.n
    saved = pd.read_csv(run / "predictions" / "test.csv")
    assert set(saved["pred"]) == {1}


def test_predict_and_serve_decide_a_tie_fake(tiny_baseline_run_dir: Path) -> None:
    [p] = predict_texts(tiny_baseline_run_dir, ["an article"], predictor=TiePredictor())
    assert (p.pred, p.label_name, p.prob_fake) == (1, "fake", 0.5)
    client = TestClient(create_app(tiny_baseline_run_dir, predictor=TiePredictor()))
    answer = client.post("/predict", json={"text": "an article"}).json()
    assert answer["label"] == 1 and answer["label_name"] == "fake"
