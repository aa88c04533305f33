"""Metric functions against scikit-learn, error analysis, and `fakenews evaluate` end to end."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn import metrics as skm

from fakenews.cli import main
from fakenews.errors import FakeNewsError
from fakenews.evaluation import evaluate
from fakenews.evaluation.plots import PLOT_NAMES
from fakenews.evaluation.result import error_table
from fakenews.metrics import (
    brier_score,
    compute_metrics,
    expected_calibration_error,
    false_negative_rate,
    false_positive_rate,
    reliability_table,
    roc_auc,
)
from fakenews.predictors import InferenceOptions
from fakenews.splits import COLUMNS, fingerprint, write_split_files

METRIC_KEYS = {
    "key", "split", "data_name", "data_fingerprint", "in_domain", "n", "accuracy", "precision_weighted",
    "recall_weighted", "f1_weighted", "precision_macro", "recall_macro", "f1_macro", "roc_auc", "fpr", "fnr",
    "confusion_matrix", "ece", "brier", "per_class", "mean_chars_correct", "mean_chars_wrong",
}  # fmt: skip


def probs_of(p_fake: list[float]) -> np.ndarray:
    p = np.asarray(p_fake, dtype=float)
    return np.column_stack([1 - p, p])


# ----------------------------------------------------------------------------- metric functions

LABELS = np.array([0, 0, 0, 1, 1, 1, 1, 0, 1, 0])
P_FAKE = [0.1, 0.6, 0.3, 0.9, 0.4, 0.8, 0.7, 0.2, 0.55, 0.45]


def test_metrics_match_scikit_learn() -> None:
    probs = probs_of(P_FAKE)
    preds = (np.asarray(P_FAKE) > 0.5).astype(int)
    chars = np.arange(10) * 100 + 50
    m = compute_metrics(LABELS, probs, chars)
    assert m.n == 10
    assert m.accuracy == pytest.approx(skm.accuracy_score(LABELS, preds))
    for avg in ("weighted", "macro"):
        p, r, f, _ = skm.precision_recall_fscore_support(LABELS, preds, average=avg)
        assert getattr(m, f"precision_{avg}") == pytest.approx(p)
        assert getattr(m, f"recall_{avg}") == pytest.approx(r)
        assert getattr(m, f"f1_{avg}") == pytest.approx(f)
    report = skm.classification_report(LABELS, preds, output_dict=True)
    for i, name in enumerate(("real", "fake")):
        assert m.per_class[name].precision == pytest.approx(report[str(i)]["precision"])
        assert m.per_class[name].recall == pytest.approx(report[str(i)]["recall"])
        assert m.per_class[name].f1 == pytest.approx(report[str(i)]["f1-score"])
        assert m.per_class[name].support == report[str(i)]["support"]
    assert np.array_equal(np.asarray(m.confusion_matrix), skm.confusion_matrix(LABELS, preds))
    assert m.confusion_matrix == ((4, 1), (1, 4))
    assert m.fpr == pytest.approx(1 / 5)
    assert m.fnr == pytest.approx(1 / 5)
    assert m.roc_auc == pytest.approx(skm.roc_auc_score(LABELS, P_FAKE))
    assert m.roc_auc_note is None
    assert m.brier == pytest.approx(skm.brier_score_loss(LABELS, P_FAKE))
    wrong = preds != LABELS
    assert m.mean_chars_wrong == pytest.approx(chars[wrong].mean())
    assert m.mean_chars_correct == pytest.approx(chars[~wrong].mean())


def test_ece_by_hand() -> None:
    # confidences 0.9 (right), 0.9 (wrong), 0.6 (right), 0.6 (right):
    # bin [0.867, 0.933]: acc 0.5 vs conf 0.9 -> gap 0.4 x 2; bin [0.533, 0.6]: acc 1 vs conf 0.6 -> gap 0.4 x 2
    labels = np.array([1, 0, 0, 1])
    probs = probs_of([0.9, 0.9, 0.4, 0.6])
    assert expected_calibration_error(labels, probs) == pytest.approx(0.4)
    table = reliability_table(labels, probs)
    assert len(table) == 15 and table["count"].sum() == 4
    assert expected_calibration_error(np.array([1, 0]), probs_of([1.0, 0.0])) == pytest.approx(0.0)


def test_confidence_exactly_on_a_bin_edge_goes_to_the_lower_bin() -> None:
    table = reliability_table(np.array([1]), probs_of([0.6]))
    row = table[table["count"] == 1].iloc[0]
    assert row["upper"] == pytest.approx(0.6)


def test_one_class_data_roc_auc_is_undefined_with_a_note() -> None:
    labels = np.array([1, 1, 1])
    probs = probs_of([0.9, 0.2, 0.7])
    auc, note = roc_auc(labels, probs[:, 1])
    assert auc is None
    assert note == "ROC-AUC is undefined: the evaluated data has only fake articles (n=3)."
    m = compute_metrics(labels, probs)
    assert m.roc_auc is None and m.roc_auc_note == note
    assert m.fpr is None  # no real articles
    assert m.fnr == pytest.approx(1 / 3)
    assert m.accuracy == pytest.approx(2 / 3)
    assert m.per_class["real"].support == 0
    preds = np.array([1, 0, 1])
    p, r, f, _ = skm.precision_recall_fscore_support(
        labels, preds, average="weighted", labels=[0, 1], zero_division=0
    )
    assert (m.precision_weighted, m.recall_weighted, m.f1_weighted) == pytest.approx((p, r, f))
    assert m.brier == pytest.approx(skm.brier_score_loss(labels, probs[:, 1], pos_label=1))
    d = m.to_dict()
    assert d["roc_auc"] is None and d["roc_auc_note"] == note
    only_real = compute_metrics(np.array([0, 0]), probs_of([0.1, 0.8]))
    assert only_real.fnr is None and only_real.fpr == pytest.approx(0.5)
    assert (
        only_real.roc_auc_note
        == "ROC-AUC is undefined: the evaluated data has only real articles (n=2)."
    )


def test_rates_and_brier_helpers() -> None:
    assert false_positive_rate(np.array([0, 0, 1]), np.array([1, 0, 1])) == pytest.approx(0.5)
    assert false_negative_rate(np.array([0, 1, 1]), np.array([0, 0, 1])) == pytest.approx(0.5)
    assert brier_score(np.array([0, 1]), np.array([0.0, 1.0])) == 0.0


def test_tie_is_predicted_fake() -> None:
    # THE decision rule (fakenews.metrics.decide): fake when P(fake) >= threshold, 0.5 by default.
    m = compute_metrics(np.array([0, 1]), probs_of([0.5, 0.5]))
    assert m.confusion_matrix == ((0, 1), (0, 1))


def test_error_table_puts_the_most_confident_mistakes_first() -> None:
    frame = pd.DataFrame(
        {
            "id": list("abcdef"),
            "combined_text": ["x" * 10, "y  y\n" * 100, "z", "w", "v", "u"],
            "label": [0, 0, 1, 1, 0, 1],
        }
    )
    table = error_table(frame, np.array([0.7, 0.95, 0.2, 0.4, 0.1, 0.9]))
    assert table["id"].tolist() == ["b", "a", "c", "d"]
    assert table["kind"].tolist() == ["FP", "FP", "FN", "FN"]
    assert list(table.columns) == ["id", "label", "pred", "prob_fake", "kind", "chars", "snippet"]
    assert "\n" not in table.loc[0, "snippet"] and table.loc[0, "snippet"].endswith("…")


# ----------------------------------------------------------------------------- evaluate end to end


@pytest.fixture()
def run_copy(tiny_run_dir: Path, tmp_path: Path) -> Path:
    """A private copy: evaluate writes into the run dir."""
    return Path(shutil.copytree(tiny_run_dir, tmp_path / "run"))


def _assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000, path


def test_evaluate_cli_end_to_end(
    run_copy: Path, tiny_split_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["evaluate", str(run_copy), "--data", str(tiny_split_dir), "--quiet"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "accuracy" in out and "F1 (weighted)" in out
    doc = json.loads((run_copy / "metrics" / "test.json").read_text())
    assert set(doc) >= METRIC_KEYS
    assert doc["key"] == "test" and doc["in_domain"] is True and doc["data_name"] is None
    assert doc["n"] == 12 and sum(map(sum, doc["confusion_matrix"])) == 12
    test = pd.read_csv(tiny_split_dir / "test.csv", dtype=str, keep_default_na=False)
    preds = pd.read_csv(run_copy / "predictions" / "test.csv", dtype={"id": str})
    assert list(preds.columns) == ["id", "label", "pred", "prob_fake"]
    assert preds["id"].tolist() == test["id"].tolist()
    assert preds["prob_fake"].between(0, 1).all()
    errors = pd.read_csv(run_copy / "errors" / "test.csv")
    assert len(errors) == int((preds["label"] != preds["pred"]).sum())
    assert "# Errors on `test`" in (run_copy / "errors" / "test.md").read_text()
    for name in PLOT_NAMES:
        _assert_png(run_copy / "plots" / f"test_{name}.png")
    card = json.loads((run_copy / "model_card.json").read_text())
    assert card["metrics"]["test"]["accuracy"] == doc["accuracy"]
    assert card["efficiency"] == "not measured — run `fakenews benchmark`"
    assert (run_copy / "README.md").read_text().startswith("---\nlibrary_name: transformers\n")
    assert not list(run_copy.rglob(".*tmp*"))


def test_predictions_equal_predictor_output(run_copy: Path, tiny_split_dir: Path) -> None:
    from fakenews.predictors import load_predictor

    result = evaluate(run_copy, data=tiny_split_dir, split="validation", quiet=True)
    texts = pd.read_csv(tiny_split_dir / "validation.csv", dtype=str, keep_default_na=False)[
        "combined_text"
    ]
    probs = load_predictor(run_copy).predict_proba(texts.tolist())
    np.testing.assert_allclose(result.predictions["prob_fake"], probs[:, 1], atol=1e-6)
    assert result.key == "validation" and run_copy / "metrics" / "validation.json" in result.files


def _other_split_dir(
    tmp_path: Path,
    source: Path,
    *,
    name: str,
    mapping: dict[str, str] | None = None,
    only_fake: bool = False,
) -> Path:
    frames = {
        s: pd.read_csv(source / f"{s}.csv", dtype=str, keep_default_na=False)
        for s in ("train", "validation", "test")
    }
    frames = {s: f.assign(label=f["label"].astype(int)) for s, f in frames.items()}
    frames = {s: f.assign(id="other-" + f["id"]) for s, f in frames.items()}
    if only_fake:
        frames["test"] = frames["test"][frames["test"]["label"] == 1]
    frames["train"] = frames["train"].iloc[0:0]
    frames["validation"] = frames["validation"].iloc[0:0]
    out = tmp_path / name
    out.mkdir()
    write_split_files(out, {k: v.loc[:, list(COLUMNS)] for k, v in frames.items()})
    manifest = {
        "fingerprint": fingerprint(frames),
        "label_mapping": mapping or {"0": "real", "1": "fake"},
    }
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


def test_cross_data_set_evaluation_is_keyed_by_data_name(
    run_copy: Path, tiny_split_dir: Path, tmp_path: Path
) -> None:
    other = _other_split_dir(tmp_path, tiny_split_dir, name="otherset", only_fake=True)
    evaluate(run_copy, data=tiny_split_dir, quiet=True)
    result = evaluate(run_copy, data=other, quiet=True)
    assert result.key == "otherset.test" and result.in_domain is False
    doc = json.loads((run_copy / "metrics" / "otherset.test.json").read_text())
    assert doc["data_name"] == "otherset" and doc["in_domain"] is False and doc["n"] == 6
    assert doc["roc_auc"] is None
    assert (
        doc["roc_auc_note"]
        == "ROC-AUC is undefined: the evaluated data has only fake articles (n=6)."
    )
    assert (run_copy / "metrics" / "test.json").is_file()  # not overwritten
    for name in PLOT_NAMES:
        _assert_png(run_copy / "plots" / f"otherset.test_{name}.png")
    readme = (run_copy / "README.md").read_text()
    assert "Cross-data-set evaluation" in readme and "`otherset.test`" in readme


def _run_files(run: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run)): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}


def test_label_mapping_mismatch_is_refused_and_nothing_written(
    run_copy: Path, tiny_split_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = _other_split_dir(
        tmp_path, tiny_split_dir, name="flipped", mapping={"0": "fake", "1": "real"}
    )
    before = _run_files(run_copy)
    code = main(["evaluate", str(run_copy), "--data", str(other), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.strip() == (
        f"error: --data {other} maps labels as {{'0': 'fake', '1': 'real'}} but the run was trained with "
        "{'0': 'real', '1': 'fake'}; re-prepare it with `fakenews prepare ... --fake-label` so that 1 means "
        "fake and 0 means real."
    )
    assert "Traceback" not in err
    assert _run_files(run_copy) == before


def test_unknown_and_empty_splits(
    run_copy: Path, tiny_split_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _run_files(run_copy)
    assert (
        main(
            ["evaluate", str(run_copy), "--data", str(tiny_split_dir), "--split", "dev", "--quiet"]
        )
        == 1
    )
    assert (
        capsys.readouterr().err.strip()
        == "error: unknown split 'dev'; expected one of train, validation, test (--split)."
    )
    other = _other_split_dir(tmp_path, tiny_split_dir, name="evalonly")
    with pytest.raises(
        FakeNewsError,
        match=re.escape(f"split 'train' of {other} has no rows; choose another --split"),
    ):
        evaluate(run_copy, data=other, split="train", quiet=True)
    assert _run_files(run_copy) == before


def test_not_a_run_dir_names_the_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "config.yaml").write_text("model: {name: x}\n")
    assert main(["evaluate", str(tmp_path), "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        f"error: {tmp_path} is not a complete run dir: data_manifest.json is missing; "
        "re-run `fakenews train` (with --resume if it was interrupted)."
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml"]


def test_truncated_model_file_is_a_one_line_error(
    run_copy: Path, tiny_split_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    weights = run_copy / "model" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:2000])
    before = _run_files(run_copy)
    assert main(["evaluate", str(run_copy), "--data", str(tiny_split_dir), "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {weights} is corrupt or truncated (")
    assert err.endswith("); re-run `fakenews train` to write it again.")
    assert "\n" not in err and "Traceback" not in err
    assert _run_files(run_copy) == before


def test_evaluate_without_data_uses_the_recorded_split_dir(
    run_copy: Path, tiny_split_dir: Path
) -> None:
    summary_path = run_copy / "train_summary.json"
    summary = json.loads(summary_path.read_text())
    assert Path(summary["split_dir"]) == tiny_split_dir.resolve()  # recorded by train
    assert evaluate(run_copy, quiet=True).data_path == tiny_split_dir.resolve()
    summary["split_dir"] = str(tiny_split_dir.parent / "gone")
    summary_path.write_text(json.dumps(summary))
    with pytest.raises(
        FakeNewsError,
        match=re.escape(
            f"the run's split dir {tiny_split_dir.parent / 'gone'} is gone; pass --data"
        ),
    ):
        evaluate(run_copy, quiet=True)


def test_baseline_run_evaluates_too(
    tiny_baseline_run_dir: Path, tiny_split_dir: Path, tmp_path: Path
) -> None:
    run = Path(shutil.copytree(tiny_baseline_run_dir, tmp_path / "tfidf"))
    result = evaluate(run, data=tiny_split_dir, quiet=True)
    assert result.metrics.n == 12
    assert (run / "README.md").read_text().startswith("---\nlibrary_name: sklearn\n")


def test_chunks_evaluation_does_not_overwrite_the_default(
    run_copy: Path, tiny_split_dir: Path
) -> None:
    default = evaluate(run_copy, data=tiny_split_dir, quiet=True)
    chunks = evaluate(
        run_copy, data=tiny_split_dir, options=InferenceOptions(long="chunks"), quiet=True
    )
    assert (default.key, chunks.key) == ("test", "test+chunks")
    doc = json.loads((run_copy / "metrics" / "test+chunks.json").read_text())
    assert doc["long"] == "chunks" and doc["in_domain"] is True
    assert json.loads((run_copy / "metrics" / "test.json").read_text())["long"] == "truncate"
    assert (run_copy / "plots" / "test+chunks_confusion.png").is_file()
    readme = (run_copy / "README.md").read_text()
    assert "| `test+chunks` |" in readme
    assert len(yaml.safe_load(readme.split("---\n")[1])["model-index"][0]["results"]) == 1
