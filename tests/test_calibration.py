"""Calibration (temperature scaling), the decision policy, their run-dir files, and class weights."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from fakenews.calibration import (
    calibrate,
    choose_threshold,
    fit_calibration,
    nll,
    rates_at,
    sigmoid,
)
from fakenews.calibration_files import parse_policy
from fakenews.cli import main
from fakenews.config import resolve_config
from fakenews.errors import FakeNewsError
from fakenews.evaluation import evaluate
from fakenews.metrics import decide, softmax
from fakenews.models.baseline import TfidfLogReg
from fakenews.predict import predict_texts
from fakenews.predictors.load import load_predictor
from fakenews.rundir import RunDir
from fakenews.serving import create_app
from fakenews.training import WeightedCrossEntropy, balanced_class_weights, train

FIXTURES = Path(__file__).parent / "fixtures" / "v0.1.0"


def _synthetic(n_real: int, n_fake: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels and true logits of a well-separated but imperfect model."""
    rng = np.random.default_rng(seed)
    labels = np.r_[np.zeros(n_real, dtype=int), np.ones(n_fake, dtype=int)]
    logits = (2 * labels - 1) * 1.5 + rng.normal(0, 1.5, len(labels))
    return labels, logits


@pytest.fixture()
def baseline_copy(tiny_baseline_run_dir: Path, tmp_path: Path) -> Path:
    out = tmp_path / "run"
    shutil.copytree(tiny_baseline_run_dir, out)
    return out


# ----------------------------------------------------------------------- temperature scaling


@pytest.mark.parametrize(("scale", "direction"), [(6.0, "softens"), (0.15, "sharpens")])
def test_temperature_scaling_lowers_validation_nll_of_a_miscalibrated_model(
    scale: float, direction: str
) -> None:
    labels, logits = _synthetic(150, 150)
    fitted = fit_calibration(logits * scale, labels, "temperature")
    assert fitted.nll_after is not None and fitted.nll_before is not None
    assert fitted.nll_after < fitted.nll_before - 0.01
    assert fitted.ece_after is not None and fitted.ece_before is not None
    assert fitted.ece_after < fitted.ece_before
    # over-confident logits need T > 1, under-confident ones T < 1; it undoes the scale
    assert (fitted.temperature > 1) if direction == "softens" else (fitted.temperature < 1)
    assert fitted.temperature == pytest.approx(scale, rel=0.35)


def test_method_none_keeps_the_probabilities() -> None:
    labels, logits = _synthetic(20, 20)
    fitted = fit_calibration(logits, labels, "none")
    assert fitted.method == "none" and fitted.temperature == 1.0
    assert fitted.nll_after == fitted.nll_before == pytest.approx(nll(logits, labels))


# --------------------------------------------------------------------------- decision policy


@pytest.mark.parametrize("policy", ["argmax", "max_f1", "fpr:0.05", "fpr:0.1", "precision:0.9"])
def test_each_policy_threshold_meets_its_constraint_on_validation(policy: str) -> None:
    labels, logits = _synthetic(200, 200, seed=1)
    p = sigmoid(logits)
    d = choose_threshold(policy, labels, p)
    rates = rates_at(labels, p, d.threshold)
    assert (d.fpr, d.recall, d.precision, d.f1) == pytest.approx(
        (rates["fpr"], rates["recall"], rates["precision"], rates["f1"])
    )
    assert (d.n_real, d.n_fake, d.policy, d.requested) == (200, 200, policy, policy)
    grid = np.linspace(0, 1, 1001)
    if policy == "argmax":
        assert d.threshold == 0.5
    elif policy == "max_f1":
        assert d.f1 >= max(rates_at(labels, p, t)["f1"] for t in grid) - 1e-12
    elif policy.startswith("fpr"):
        budget = float(policy.split(":")[1])
        assert d.fpr is not None and d.fpr <= budget
        # the lowest such threshold: any lower validation probability would break the budget
        below = p[p < d.threshold]
        assert rates_at(labels, p, float(below.max()))["fpr"] > budget
    else:
        assert d.precision is not None and d.precision >= 0.9
        assert rates_at(labels, p, float(p[p < d.threshold].max()))["precision"] < 0.9


def test_a_validation_split_too_small_for_the_fpr_budget_is_refused_in_one_line() -> None:
    labels, logits = _synthetic(17, 18)
    with pytest.raises(FakeNewsError, match=re.escape(
        "--policy fpr:0.05 needs at least 20 real articles in the validation split to measure a "
        "false-positive rate of 0.05 (one false positive is 1/17 = 0.059 of them), found 17; use "
        "a larger validation split or a budget of at least fpr:0.059, or add --fallback argmax."
    )):  # fmt: skip
        choose_threshold("fpr:0.05", labels, sigmoid(logits))
    with pytest.raises(FakeNewsError, match=re.escape(
        "--policy precision:0.95 needs at least 20 fake articles in the validation split to "
        "measure a precision of 0.95, found 18; use a larger validation split or a lower target, "
        "or add --fallback argmax."
    )):  # fmt: skip
        choose_threshold("precision:0.95", labels, sigmoid(logits))


def test_a_fallback_policy_is_used_and_says_why() -> None:
    labels, logits = _synthetic(17, 18)
    d = choose_threshold("fpr:0.01", labels, sigmoid(logits), fallback="argmax")
    assert (d.policy, d.requested, d.threshold) == ("argmax", "fpr:0.01", 0.5)
    assert d.fallback_reason is not None and d.fallback_reason.startswith(
        "--policy fpr:0.01 needs at least 100 real articles"
    )


def test_a_bad_policy_is_one_line() -> None:
    with pytest.raises(FakeNewsError, match=re.escape(
        "--policy must be argmax, max_f1, fpr:<budget> (e.g. fpr:0.05) or precision:<target> "
        "(e.g. precision:0.95) with the number in (0, 1); found 'fpr:5'."
    )):  # fmt: skip
        parse_policy("fpr:5")


# ------------------------------------------------------------------- the stage and the files


def test_calibrate_writes_both_files_and_predict_and_evaluate_use_them(baseline_copy: Path) -> None:
    result = calibrate(baseline_copy, policy="max_f1")
    run = RunDir.open(baseline_copy)
    assert run.calibration == result.calibration and run.decision == result.decision
    assert run.threshold == result.decision.threshold and run.decision is not None
    assert run.decision.policy == "max_f1"
    texts = run.split_dir().frames["test"]["combined_text"].tolist()
    raw = load_predictor(run, calibrated=False)
    z = raw.logits(texts)
    calibrated = load_predictor(run).predict_proba(texts)[:, 1]
    np.testing.assert_allclose(calibrated, sigmoid(z / run.temperature), atol=1e-12)
    np.testing.assert_allclose(raw.predict_proba(texts)[:, 1], sigmoid(z), atol=1e-12)
    labels = [p.pred for p in predict_texts(run.path, texts)]
    assert labels == decide(calibrated, run.threshold).tolist()
    evaluated = evaluate(baseline_copy, quiet=True)
    doc = json.loads((baseline_copy / "metrics" / "test.json").read_text())
    assert doc["threshold"] == run.threshold and doc["temperature"] == run.temperature
    assert doc["ece"] == pytest.approx(evaluated.metrics.ece)
    assert doc["ece_uncalibrated"] == pytest.approx(evaluated.ece_uncalibrated)
    assert doc["at_0.5"]["threshold"] == 0.5 and "accuracy" in doc["at_0.5"]
    np.testing.assert_allclose(evaluated.probs[:, 1], calibrated, atol=1e-12)
    for name in ("reliability", "pr", "threshold"):
        assert (baseline_copy / "plots" / f"test_{name}.png").stat().st_size > 5_000


def test_serve_answers_and_reports_the_runs_threshold(baseline_copy: Path) -> None:
    calibrate(baseline_copy, policy="max_f1")
    run = RunDir.open(baseline_copy)
    client = TestClient(create_app(baseline_copy))
    answer = client.post("/predict", json={"text": "some article text about the senate"}).json()
    assert answer["threshold"] == run.threshold
    model = client.get("/model").json()
    assert model["threshold"] == run.threshold and model["temperature"] == run.temperature
    assert model["decision_policy"] == "max_f1"


def test_evaluate_at_another_threshold_writes_nothing(baseline_copy: Path) -> None:
    calibrate(baseline_copy)
    result = evaluate(baseline_copy, threshold=0.9, quiet=True)
    assert result.metrics.threshold == 0.9 and result.files == ()
    assert not (baseline_copy / "metrics").exists()


def test_the_transformer_predictors_divide_the_logits_by_the_temperature(
    tiny_run_dir: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(tiny_run_dir, run_dir)
    (run_dir / "calibration.json").write_text(
        json.dumps({"method": "temperature", "temperature": 0.5, "n": 12})
    )
    texts = ["Senate passes the budget.", "Aliens endorse the mayor in a shocking twist."]
    raw = load_predictor(run_dir, calibrated=False)
    z = raw.logits(texts)
    probs = load_predictor(run_dir).predict_proba(texts)
    np.testing.assert_allclose(probs[:, 1], sigmoid(z / 0.5), atol=1e-9)
    np.testing.assert_allclose(raw.predict_proba(texts)[:, 1], sigmoid(z), atol=1e-9)


def test_calibrate_refuses_too_small_validation_and_records_a_fallback(
    baseline_copy: Path,
) -> None:
    with pytest.raises(FakeNewsError, match=re.escape("--policy fpr:0.05 needs at least 20 real")):
        calibrate(baseline_copy, policy="fpr:0.05")
    calibrate(baseline_copy, policy="fpr:0.05", fallback="argmax")
    decision = json.loads((baseline_copy / "decision.json").read_text())
    assert decision["policy"] == "argmax" and decision["requested"] == "fpr:0.05"
    assert decision["threshold"] == 0.5 and decision["fallback_reason"].startswith("--policy")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("calibration.json", {"method": "temperature", "temperature": -1, "n": 3},
         "temperature must be a number at least 1e-06, found -1; re-run `fakenews calibrate RUN_DIR`."),
        ("calibration.json", {"method": "platt", "temperature": 1.0, "n": 3},
         "method must be temperature or none, found 'platt'; re-run `fakenews calibrate RUN_DIR`."),
        ("decision.json", {"policy": "argmax", "threshold": 1.5, "n_real": 1, "n_fake": 1},
         "threshold must be a number from 0 to 1, found 1.5; re-run `fakenews calibrate RUN_DIR`."),
        ("decision.json", {"policy": "argmax"},
         "expected the keys policy, threshold, n_real, n_fake, found no threshold, n_real, n_fake; "
         "re-run `fakenews calibrate RUN_DIR`."),
    ],
)  # fmt: skip
def test_a_wrong_shape_calibration_or_decision_file_is_one_line(
    baseline_copy: Path, name: str, content: dict[str, object], message: str
) -> None:
    (baseline_copy / name).write_text(json.dumps(content))
    with pytest.raises(FakeNewsError, match=re.escape(f"{baseline_copy / name}: {message}")):
        run = RunDir.open(baseline_copy)
        _ = run.decision if name == "decision.json" else run.calibration


def test_a_calibration_file_that_is_not_an_object_is_one_line(baseline_copy: Path) -> None:
    (baseline_copy / "calibration.json").write_text("[1, 2]")
    with pytest.raises(FakeNewsError, match=re.escape(
        f"calibration file {baseline_copy / 'calibration.json'} should hold a JSON object ({{...}}), "
        "found a list; re-run `fakenews calibrate RUN_DIR`."
    )):  # fmt: skip
        _ = RunDir.open(baseline_copy).calibration


@pytest.mark.parametrize("name", ["tfidf-run", "bert-run"])
def test_calibrate_a_0_1_0_run_afterwards(tmp_path: Path, name: str) -> None:
    shutil.copytree(FIXTURES, tmp_path / "v0.1.0")
    run_dir, split = tmp_path / "v0.1.0" / name, tmp_path / "v0.1.0" / "split"
    assert RunDir.open(run_dir).threshold == 0.5 and RunDir.open(run_dir).temperature == 1.0
    code = main(["calibrate", str(run_dir), "--data", str(split), "--quiet"])
    assert code == 0
    run = RunDir.open(run_dir)
    assert run.calibration is not None and run.calibration.n == 6
    assert run.decision is not None and run.decision.policy == "argmax"


def test_the_cli_prints_what_it_fitted(
    baseline_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["calibrate", str(baseline_copy), "--method", "none", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("calibration (none): T = 1.000; validation ECE")
    assert "decision (argmax): threshold 0.500; validation FPR" in out
    assert main(["calibrate", str(baseline_copy), "--policy", "fpr:0.05", "--quiet"]) == 1
    assert "needs at least 20 real articles" in capsys.readouterr().err


# ------------------------------------------------------------------------- train-time options


def test_train_refuses_a_policy_its_validation_split_cannot_support_before_training(
    tiny_split_dir: Path, tmp_path: Path
) -> None:
    with pytest.raises(FakeNewsError, match=re.escape(
        "--policy fpr:0.01 needs at least 100 real articles in the validation split to measure a "
        "false-positive rate of 0.01 (one false positive is 1/6 = 0.167 of them), found 6; use a "
        "larger validation split or a budget of at least fpr:0.167, or add --set decision.fallback=argmax."
    )):  # fmt: skip
        train(
            tiny_split_dir, "tfidf-logreg", tmp_path / "run", overrides=["decision.policy=fpr:0.01"]
        )
    assert not (tmp_path / "run").exists()


def test_train_calibrates_at_its_end_unless_told_not_to(
    tiny_split_dir: Path, tmp_path: Path
) -> None:
    on = train(
        tiny_split_dir, "tfidf-logreg", tmp_path / "on", overrides=["decision.policy=max_f1"]
    )
    assert on.calibration is not None and RunDir.open(on.run_dir).decision is not None
    assert RunDir.open(on.run_dir).decision.policy == "max_f1"  # type: ignore[union-attr]
    off = train(
        tiny_split_dir, "tfidf-logreg", tmp_path / "off", overrides=["calibrate.method=none"]
    )
    assert RunDir.open(off.run_dir).temperature == 1.0
    assert RunDir.open(off.run_dir).calibration.method == "none"  # type: ignore[union-attr]


def test_class_weight_is_validated() -> None:
    with pytest.raises(FakeNewsError, match=re.escape(
        "--set: train.class_weight must be one of none, balanced; found 'auto'."
    )):  # fmt: skip
        resolve_config("tfidf-logreg", overrides=["train.class_weight=auto"])
    with pytest.raises(FakeNewsError, match=re.escape(
        "decision.policy must be argmax, max_f1, fpr:<budget> (e.g. fpr:0.05) or precision:<target> "
        "(e.g. precision:0.95) with the number in (0, 1); found 'fpr'."
    )):  # fmt: skip
        resolve_config("tfidf-logreg", overrides=["decision.policy=fpr"])


def test_balanced_class_weight_changes_the_baseline_coefficients() -> None:
    texts = [f"real report number {i} council budget" for i in range(12)] + [
        f"shocking secret {i} they hide budget" for i in range(4)
    ]
    labels = [0] * 12 + [1] * 4
    plain = TfidfLogReg(min_df=1, c_grid=(1.0,)).fit(texts, labels)
    weighted = TfidfLogReg(min_df=1, c_grid=(1.0,), class_weight="balanced").fit(texts, labels)
    assert weighted.classifier_.class_weight == "balanced"
    assert plain.classifier_.class_weight is None
    # up-weighting the rare fake class moves the intercept towards fake
    assert weighted.classifier_.intercept_[0] > plain.classifier_.intercept_[0]


def test_balanced_class_weight_weights_the_transformer_loss() -> None:
    weights = balanced_class_weights(np.array([0, 0, 0, 1]))
    assert weights == pytest.approx((4 / 6, 4 / 2))
    logits = torch.tensor([[1.0, -1.0], [0.2, 0.1], [-0.5, 0.5], [2.0, 0.0]])
    labels = torch.tensor([0, 0, 0, 1])
    loss = WeightedCrossEntropy(weights)({"logits": logits}, labels, num_items_in_batch=4)
    per = -np.log(softmax(logits.numpy())[np.arange(4), labels.numpy()])
    w = np.array([weights[y] for y in labels.numpy()])
    assert float(loss) == pytest.approx(float((w * per).sum() / 4), rel=1e-6)
    plain = torch.nn.functional.cross_entropy(logits, labels)
    assert abs(float(loss) - float(plain)) > 0.05
    mean = WeightedCrossEntropy(weights)({"logits": logits}, labels)
    assert float(mean) == pytest.approx(float((w * per).sum() / w.sum()), rel=1e-6)
