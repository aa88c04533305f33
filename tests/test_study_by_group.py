"""``metrics_by_group``: per-data-set and per-source metrics of an evaluation, from its predictions."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from fakenews.data.prepare import PrepareOptions, prepare
from fakenews.errors import FakeNewsError
from fakenews.evaluation.by_group import metrics_by_group
from fakenews.evaluation.stage import evaluate
from fakenews.training import train


@pytest.fixture(scope="module")
def pooled_run(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """tfidf-logreg trained on 60 WELFake + 60 PolitiFact real articles pooled, evaluated on test."""
    root = tmp_path_factory.mktemp("by_group")
    inputs = []
    for name, path in {
        "welfake": shared_data / "welfake_sample200" / "welfake_sample200.csv",
        "politifact": shared_data / "fakenewsnet_politifact" / "fakenewsnet_politifact.csv",
    }.items():
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        small = pd.concat([frame[frame["label"] == v].head(30) for v in ("0", "1")])
        small.to_csv(root / f"{name}.csv", index=False)
        inputs.append(f"{name}={root / f'{name}.csv'}")
    prepare(inputs, root / "split", PrepareOptions())
    train(root / "split", "tfidf-logreg", root / "run", quiet=True)
    evaluate(root / "run", quiet=True)
    return root / "run"


def test_per_data_set_metrics_cover_every_test_article_once(pooled_run: Path) -> None:
    result = metrics_by_group(pooled_run, "dataset")
    predictions = pd.read_csv(pooled_run / "predictions" / "test.csv")
    assert {g.group for g in result.groups} == {"welfake", "politifact"}
    assert sum(g.n for g in result.groups) == len(predictions)
    assert sum(g.fake for g in result.groups) == int(predictions["label"].sum())
    overall = (predictions["label"] == predictions["pred"]).mean()
    weighted = sum(g.accuracy * g.n for g in result.groups) / len(predictions)
    assert weighted == pytest.approx(overall)


def test_the_groups_are_written_beside_the_evaluation_metrics(pooled_run: Path) -> None:
    result = metrics_by_group(pooled_run, "source")
    assert result.path == pooled_run / "metrics" / "test.by_source.json"
    doc = json.loads(result.path.read_text(encoding="utf-8"))
    assert doc["key"] == "test" and doc["by"] == "source"
    assert [g["group"] for g in doc["groups"]] == result.frame["group"].tolist()
    assert list(result.frame.columns) == ["group", "n", "fake", "accuracy", "f1_macro", "roc_auc"]


def test_an_unknown_grouping_is_one_line(pooled_run: Path) -> None:
    with pytest.raises(
        FakeNewsError, match=re.escape("--by expects one of source, dataset, found 'site'.")
    ):
        metrics_by_group(pooled_run, "site")


def test_grouping_an_evaluation_that_was_not_run_asks_for_evaluate(pooled_run: Path) -> None:
    with pytest.raises(FakeNewsError, match=re.escape(
        f"no predictions at {pooled_run / 'predictions' / 'validation.csv'}; run `fakenews evaluate {pooled_run}`"
    )):  # fmt: skip
        metrics_by_group(pooled_run, "dataset", split="validation")
