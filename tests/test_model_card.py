"""The model card shows only measured figures and says what is not measured yet."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from fakenews.reporting.model_card import (
    NOT_BENCHMARKED,
    NOT_EVALUATED,
    build_model_card,
    write_model_card,
)


@pytest.fixture()
def run(tiny_run_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_run_dir, tmp_path / "run"))


def _front_matter(markdown: str) -> dict:
    assert markdown.startswith("---\n")
    return yaml.safe_load(markdown.split("---\n")[1])


def test_card_before_evaluation_says_what_is_missing(run: Path) -> None:
    card = build_model_card(run)
    assert card.data["metrics"] == NOT_EVALUATED
    assert card.data["efficiency"] == NOT_BENCHMARKED
    meta = _front_matter(card.markdown)
    assert meta["library_name"] == "transformers" and meta["pipeline_tag"] == "text-classification"
    assert "model-index" not in meta  # no measured metrics yet
    assert f"Metrics: {NOT_EVALUATED}." in card.markdown
    assert f"Efficiency: {NOT_BENCHMARKED}." in card.markdown
    manifest = json.loads((run / "data_manifest.json").read_text())
    assert manifest["fingerprint"] in card.markdown
    assert "| train | 40 | 20 | 20 |" in card.markdown
    assert "The data manifest holds no leakage audit" in card.markdown
    summary = json.loads((run / "train_summary.json").read_text())
    assert card.data["training"]["summary"]["train_runtime_s"] == summary["train_runtime_s"]
    assert "## Intended use" in card.markdown and "### Out-of-scope use" in card.markdown


def test_card_with_metrics_efficiency_and_leakage(run: Path) -> None:
    metrics = {
        "key": "test", "split": "test", "in_domain": True, "n": 12, "accuracy": 0.75, "f1_weighted": 0.74,
        "precision_weighted": 0.8, "recall_weighted": 0.75, "roc_auc": None, "confusion_matrix": [[5, 1], [2, 4]],
        "roc_auc_note": "ROC-AUC is undefined: x.",
    }  # fmt: skip
    cross = {
        "key": "horne.test",
        "split": "test",
        "in_domain": False,
        "n": 30,
        "accuracy": 0.5,
        "f1_weighted": 0.4,
    }
    (run / "metrics").mkdir()
    (run / "metrics" / "test.json").write_text(json.dumps(metrics))
    (run / "metrics" / "horne.test.json").write_text(json.dumps(cross))
    (run / "efficiency.json").write_text(json.dumps({
        "params_total": 1234, "params_trainable": 1234, "size_mb": 0.5, "memory_mb": 0.4, "latency_ms_p50": 3.21,
        "latency_ms_p50_ci": [3.0, 3.5], "throughput_per_s": 100.0, "throughput_per_s_ci": [90.0, 110.0],
        "batch_size": 8, "device": "cpu", "peak_memory_mb": None,
    }))  # fmt: skip
    manifest = json.loads((run / "data_manifest.json").read_text())
    manifest["leakage"] = {"exact_cross_split": 2, "near_cross_split": 1, "pairs": []}
    (run / "data_manifest.json").write_text(json.dumps(manifest))
    paths = write_model_card(run)
    assert paths == [run / "model_card.json", run / "README.md"]
    text = (run / "README.md").read_text()
    meta = _front_matter(text)
    values = {m["type"]: m["value"] for m in meta["model-index"][0]["results"][0]["metrics"]}
    assert values == {
        "accuracy": 0.75,
        "f1": 0.74,
        "precision": 0.8,
        "recall": 0.75,
    }  # no roc_auc: undefined
    assert "| `test` | 12 | 0.7500 |" in text
    assert "Cross-data-set evaluation" in text and "| `horne.test` | 30 | 0.5000 |" in text
    assert "On horne.test (another data set, n=30) accuracy is 0.5000" in text
    assert "found 2 exact and 1 near-duplicate articles shared between splits" in text
    assert "| latency, batch 1, p50 | 3.21 ms (95% CI 3.00–3.50) |" in text
    assert "CUDA peak memory" not in text
    card = json.loads((run / "model_card.json").read_text())
    assert card["metrics"]["horne.test"]["accuracy"] == 0.5
    assert card["efficiency"]["params_total"] == 1234
