"""`fakenews train`: run dir contents, determinism, resume after kill -9, torchrun, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import yaml

from conftest import TINY_TRAIN_SETTINGS
from fakenews.rundir import RunDir
from fakenews.training import train

SUMMARY_KEYS = {
    "train_runtime_s", "train_articles_per_s", "epochs_completed", "global_step", "best_checkpoint",
    "best_metric", "device", "model_name", "kind", "params_total",
}  # fmt: skip


def settings(tmp_path: Path, *extra: str) -> list[str]:
    return [*TINY_TRAIN_SETTINGS, f"data.cache_dir={tmp_path / 'cache'}", *extra]


def val_logits(run_dir: Path, split_dir: Path) -> np.ndarray:
    import pandas as pd
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    texts = pd.read_csv(split_dir / "validation.csv")["combined_text"].tolist()
    tok = AutoTokenizer.from_pretrained(run_dir / "model")
    model = AutoModelForSequenceClassification.from_pretrained(run_dir / "model").eval()
    with torch.no_grad():
        return model(**tok(texts, truncation=True, max_length=64, padding=True, return_tensors="pt")).logits.numpy()


# ------------------------------------------------------------------------------ run dirs


def test_tiny_run_dir_has_every_design_file(tiny_run_dir: Path, tiny_split_dir: Path) -> None:
    run = RunDir.open(tiny_run_dir)
    for path in (run.config, run.data_manifest, run.model, run.checkpoints, run.history, run.train_summary):
        assert path.exists(), path
    config = yaml.safe_load(run.config.read_text())
    assert config["model"] == {"name": "scratch:bert", "kind": "transformer", "size": "tiny", "vocab_size": 30000}
    assert config["data"]["max_length"] == 64 and config["data"]["truncation"] == "head"
    assert config["train"]["epochs"] == 6.0 and config["seed"] == 42
    manifest = json.loads((tiny_split_dir / "manifest.json").read_text())
    assert run.read_data_manifest() == manifest
    summary = json.loads(run.train_summary.read_text())
    assert set(summary) >= SUMMARY_KEYS
    assert summary["kind"] == "transformer" and summary["model_name"] == "scratch:bert"
    assert summary["epochs_completed"] == 6.0 and summary["global_step"] == 30  # 40 articles / batch 8 * 6
    assert summary["best_checkpoint"].startswith("checkpoints/checkpoint-")
    assert summary["device"] == "cpu" and summary["params_total"] > 0
    history = [json.loads(line) for line in run.history.read_text().splitlines()]
    assert [row["epoch"] for row in history if "eval_f1" in row] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert any("loss" in row for row in history)
    # model/ works without fakenews: transformers' pipeline gives the project's labels
    from transformers import pipeline

    clf = pipeline("text-classification", model=str(run.model))
    assert clf("The senator said the bill passed.")[0]["label"] in {"real", "fake"}
    assert clf.model.config.id2label == {0: "real", 1: "fake"}


def test_albert_run_shares_one_layer_group(tiny_albert_run_dir: Path) -> None:
    cfg = json.loads((tiny_albert_run_dir / "model" / "config.json").read_text())
    assert cfg["model_type"] == "albert" and cfg["num_hidden_groups"] == 1 and cfg["embedding_size"] == 16
    tok = json.loads((tiny_albert_run_dir / "model" / "tokenizer.json").read_text())
    assert tok["model"]["type"] == "Unigram"


def test_baseline_run_dir(tiny_baseline_run_dir: Path, tiny_split_dir: Path) -> None:
    import pandas as pd

    from fakenews.models.baseline import TfidfLogReg

    run = RunDir.open(tiny_baseline_run_dir)
    assert yaml.safe_load(run.config.read_text())["model"]["kind"] == "baseline"
    summary = json.loads(run.train_summary.read_text())
    assert set(summary) >= SUMMARY_KEYS and summary["kind"] == "baseline"
    model = TfidfLogReg.load(run.model)
    texts = pd.read_csv(tiny_split_dir / "test.csv")["combined_text"].tolist()
    proba = model.predict_proba(texts)
    assert proba.shape == (12, 2) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert run.history.read_text().count("\n") == 5  # 4 values of C + the chosen one


def test_same_seed_same_logits(tiny_run_dir: Path, tiny_split_dir: Path, tmp_path: Path) -> None:
    # the fixture's cache holds the tokenizer it trained (tokenizer training itself is not deterministic)
    same = [*TINY_TRAIN_SETTINGS, f"data.cache_dir={yaml.safe_load((tiny_run_dir / 'config.yaml').read_text())['data']['cache_dir']}"]
    again = train(tiny_split_dir, "scratch:bert", tmp_path / "again", overrides=same, quiet=True)
    np.testing.assert_allclose(val_logits(again.run_dir, tiny_split_dir), val_logits(tiny_run_dir, tiny_split_dir), rtol=0, atol=1e-5)
    other = train(tiny_split_dir, "scratch:bert", tmp_path / "other", overrides=[*same, "seed=7"], quiet=True)
    assert not np.allclose(val_logits(other.run_dir, tiny_split_dir), val_logits(tiny_run_dir, tiny_split_dir), atol=1e-5)
