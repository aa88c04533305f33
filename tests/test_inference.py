"""Predictors: one return type, input order restored, truncation as in training, corrupt files."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fakenews.errors import FakeNewsError
from fakenews.models.encoding import encode
from fakenews.predictors import Windowing, load_predictor
from fakenews.predictors.baseline import BaselinePredictor
from fakenews.predictors.transformer import TransformerPredictor


@pytest.fixture(scope="module")
def texts(tiny_split_dir: Path) -> list[str]:
    frame = pd.read_csv(tiny_split_dir / "test.csv", dtype=str, keep_default_na=False)
    return frame["combined_text"].tolist()


def test_batches_sorted_by_length_come_back_in_input_order(
    tiny_run_dir: Path, texts: list[str]
) -> None:
    rng = np.random.default_rng(0)
    # very different token lengths, shuffled: 1 word .. the whole article
    mixed = [t[: int(n)] for t, n in zip(texts, rng.integers(5, 3000, len(texts)), strict=True)] + [
        "a",
        "b c",
    ]
    order = rng.permutation(len(mixed))
    mixed = [mixed[i] for i in order]
    predictor = load_predictor(tiny_run_dir, batch_size=3)
    assert isinstance(predictor, TransformerPredictor)
    batched = predictor.predict_proba(mixed)
    one_by_one = np.vstack([predictor.predict_proba([t]) for t in mixed])
    assert batched.shape == (len(mixed), 2) and batched.dtype == np.float64
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)
    np.testing.assert_allclose(batched.sum(axis=1), 1.0, atol=1e-9)
    assert len({round(p, 6) for p in batched[:, 1]}) > 3  # different texts, different outputs
    assert predictor.predict_proba([]).shape == (0, 2)


def test_truncation_is_the_one_training_used(
    tiny_run_dir: Path, tmp_path: Path, texts: list[str]
) -> None:
    run = Path(shutil.copytree(tiny_run_dir, tmp_path / "run"))
    config = (run / "config.yaml").read_text()
    (run / "config.yaml").write_text(re.sub(r"truncation: head\b", "truncation: head_tail", config))
    predictor = load_predictor(run)
    assert predictor.windowing == Windowing(max_length=64, truncation="head_tail")
    expected = encode(predictor.tokenizer, texts, max_length=64, truncation="head_tail")[
        "input_ids"
    ]
    assert [w[0] for w in predictor.encode(texts)] == [list(e) for e in expected]
    assert all(len(ws) == 1 and len(ws[0]) <= 64 for ws in predictor.encode(texts))
    assert predictor.describe() == "torch-fp32-dynamic-padding-head_tail-cpu"


def test_chunks_cover_the_whole_article(tiny_run_dir: Path, texts: list[str]) -> None:
    truncating = load_predictor(tiny_run_dir)
    chunking = load_predictor(tiny_run_dir, long="chunks")
    long_text = max(texts, key=len)
    windows = chunking.encode([long_text])[0]
    content = chunking.tokenizer(long_text, add_special_tokens=False)["input_ids"]
    room = 64 - 2
    assert len(windows) > 2 and all(len(w) <= 64 for w in windows)
    assert windows[0][1:-1] == content[:room] and windows[-1][1:-1] == content[-room:]
    assert windows[1][1:-1] == content[room // 2 : room // 2 + room]  # half-window stride
    assert chunking.token_counts([long_text])[0] == sum(len(w) for w in windows)
    # a short text is one window: the same probabilities either way
    short = "Senate passes budget bill."
    np.testing.assert_allclose(
        chunking.predict_proba([short]), truncating.predict_proba([short]), atol=1e-6
    )
    probs = chunking.predict_proba([long_text, short])
    assert probs.shape == (2, 2)


def test_windowing_rejects_bad_values() -> None:
    with pytest.raises(
        FakeNewsError, match=re.escape("--long must be one of truncate, chunks; found 'all'.")
    ):
        Windowing(long="all")  # type: ignore[arg-type]
    with pytest.raises(
        FakeNewsError, match=re.escape("--stride must be a positive number of tokens; found 0.")
    ):
        Windowing(stride=0)


def test_baseline_predictor(tiny_baseline_run_dir: Path, texts: list[str]) -> None:
    from fakenews.models.baseline import TfidfLogReg

    predictor = load_predictor(tiny_baseline_run_dir, long="chunks", calibrated=False)
    assert isinstance(predictor, BaselinePredictor) and predictor.temperature == 1.0
    probs = predictor.predict_proba(texts)
    model = TfidfLogReg.load(tiny_baseline_run_dir / "model")
    np.testing.assert_array_equal(probs, model.predict_proba(texts))
    # by default the run's temperature (train calibrated it) divides the decision function
    calibrated = load_predictor(tiny_baseline_run_dir)
    t = calibrated.temperature
    assert t != 1.0
    p_fake = 1.0 / (1.0 + np.exp(-model.decision_function(texts) / t))
    np.testing.assert_allclose(calibrated.predict_proba(texts)[:, 1], p_fake, atol=1e-12)
    total, trainable = predictor.parameter_counts()
    assert total == trainable > 0 and predictor.memory_bytes() > 0


def test_one_string_is_not_a_list_of_texts(tiny_run_dir: Path) -> None:
    with pytest.raises(TypeError, match="not one string"):
        load_predictor(tiny_run_dir).predict_proba("an article")


@pytest.fixture()
def run_copy(tiny_run_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_run_dir, tmp_path / "run"))


def test_garbage_config_json(run_copy: Path) -> None:
    (run_copy / "model" / "config.json").write_text("{not json")
    with pytest.raises(
        FakeNewsError,
        match=re.escape(f"{run_copy / 'model' / 'config.json'} is corrupt (not valid JSON: "),
    ):
        load_predictor(run_copy)


def test_missing_weights(run_copy: Path) -> None:
    (run_copy / "model" / "model.safetensors").unlink()
    with pytest.raises(
        FakeNewsError,
        match=re.escape(
            f"{run_copy / 'model'} has no model weights (model.safetensors or pytorch_model.bin); re-run `fakenews train`."
        ),
    ):
        load_predictor(run_copy)


def test_truncated_weights(run_copy: Path) -> None:
    weights = run_copy / "model" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    with pytest.raises(FakeNewsError, match=re.escape(f"{weights} is corrupt or truncated (")):
        load_predictor(run_copy)


def test_garbage_tokenizer(run_copy: Path) -> None:
    (run_copy / "model" / "tokenizer.json").write_text("garbage")
    with pytest.raises(
        FakeNewsError,
        match=re.escape(
            f"could not load the tokenizer from {run_copy / 'model'} (files: tokenizer.json"
        ),
    ):
        load_predictor(run_copy)


def test_onnx_backend_needs_the_export(tiny_run_dir: Path) -> None:
    with pytest.raises(
        FakeNewsError,
        match=re.escape(
            f"{tiny_run_dir / 'onnx'} does not exist; --backend onnx needs the ONNX export: "
            f"run `fakenews export {tiny_run_dir} --format onnx` first."
        ),
    ):
        load_predictor(tiny_run_dir, backend="onnx")
    with pytest.raises(
        FakeNewsError, match=re.escape("--backend must be one of torch, onnx; found 'tf'.")
    ):
        load_predictor(tiny_run_dir, backend="tf")  # type: ignore[arg-type]


def test_albert_run_with_its_unigram_tokenizer(tiny_albert_run_dir: Path, texts: list[str]) -> None:
    truncating = load_predictor(tiny_albert_run_dir, batch_size=4)
    chunking = load_predictor(tiny_albert_run_dir, long="chunks", batch_size=4)
    probs = truncating.predict_proba(texts)
    np.testing.assert_allclose(
        probs, np.vstack([truncating.predict_proba([t]) for t in texts]), atol=1e-5
    )
    windows = chunking.encode([max(texts, key=len)])[0]
    special = truncating.encode(["x"])[0][0]
    assert len(windows) > 1
    assert all(w[0] == special[0] and w[-1] == special[-1] for w in windows)  # [CLS] ... [SEP] each
    assert chunking.predict_proba(texts).shape == (len(texts), 2)
