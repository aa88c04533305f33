"""load_predictor returns objects that satisfy the Predictor protocol, for every backend."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from fakenews.errors import FakeNewsError
from fakenews.export import export_onnx
from fakenews.predictors import InferenceOptions, Predictor, load_predictor
from fakenews.predictors.baseline import BaselinePredictor
from fakenews.predictors.onnx import OnnxPredictor
from fakenews.predictors.transformer import TransformerPredictor

FIXTURES = Path(__file__).parent / "fixtures" / "v0.1.0"
TEXTS = ["Senate committee budget report said.", "Shocking secret they hide, share before deleted!"]


def _check(predictor: Predictor) -> None:
    assert isinstance(predictor, Predictor)
    probs = predictor.predict_proba(TEXTS)
    assert probs.shape == (2, 2) and probs.dtype == np.float64
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    np.testing.assert_allclose(predictor.predict_proba(TEXTS, batch_size=1), probs, atol=1e-6)
    assert predictor.token_counts(TEXTS).shape == (2,)
    total, trainable = predictor.parameter_counts()
    assert total > 0 and 0 <= trainable <= total and predictor.memory_bytes() > 0
    assert predictor.describe() and predictor.device == "cpu" and predictor.batch_size >= 1


@pytest.fixture(scope="module")
def old_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("old") / "v0.1.0"
    shutil.copytree(FIXTURES, root)
    return root


def test_the_baseline_predictor_satisfies_the_protocol(old_runs: Path) -> None:
    predictor = load_predictor(old_runs / "tfidf-run")
    assert isinstance(predictor, BaselinePredictor) and predictor.kind == "baseline"
    assert predictor.window_lengths(TEXTS) == []
    _check(predictor)


def test_the_torch_predictor_satisfies_the_protocol(old_runs: Path) -> None:
    predictor = load_predictor(old_runs / "bert-run", InferenceOptions(device="cpu"))
    assert isinstance(predictor, TransformerPredictor) and predictor.kind == "transformer"
    assert all(n <= 32 for n in predictor.window_lengths(TEXTS))
    _check(predictor)


def test_the_onnx_predictor_satisfies_the_protocol(old_runs: Path) -> None:
    run = old_runs / "bert-run"
    export_onnx(run, data=old_runs / "split", quiet=True)
    predictor = load_predictor(run, InferenceOptions(backend="onnx"))
    assert isinstance(predictor, OnnxPredictor) and predictor.parameter_counts()[1] == 0
    _check(predictor)
    torch_probs = load_predictor(run, device="cpu").predict_proba(TEXTS)
    np.testing.assert_allclose(predictor.predict_proba(TEXTS), torch_probs, atol=1e-4)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"backend": "tf"}, "--backend must be one of torch, onnx; found 'tf'."),
        ({"batch_size": 0}, "--batch-size must be at least 1; found 0."),
        ({"device": "tpu"}, "--device must be auto, cpu or cuda[:N]; found 'tpu'."),
        ({"backend": "onnx", "precision": "bf16"}, "--precision bf16 applies to the torch backend"),
    ],
)
def test_inference_options_are_validated_once(fields: dict, message: str) -> None:
    with pytest.raises(FakeNewsError, match=re.escape(message)):
        InferenceOptions(**fields)
