"""``fakenews demo``: the whole flow end to end (small models), and no data reachable."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from fakenews.cli import main
from fakenews.data import registry
from fakenews.data.registry import DATASETS
from fakenews.demo import DemoModel, run_demo

UNREACHABLE = "http://127.0.0.1:9/"  # the discard port: refused at once, no network needed

# The demo's default flow with two fast models instead of the ~10-minute MiniLM run.
FAST_MODELS = (
    DemoModel("tfidf-logreg", "tfidf-logreg"),
    DemoModel(
        "scratch:bert",
        "scratch-bert-tiny",
        ("model.size=tiny", "data.max_length=64", "train.epochs=2", "train.learning_rate=5e-3"),
    ),
)


def test_demo_end_to_end_with_fast_models(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(registry.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))  # tokenization cache
    result = run_demo(
        tmp_path / "demo",
        cross_data=[shared_data / "horne2017/horne2017_random.csv"],
        models=FAST_MODELS,
        mirror=shared_data / "fakenewsnet_politifact/raw",
        bench_articles=5,
        quiet=True,
    )
    manifest = json.loads((result.split_dir / "manifest.json").read_text())
    # 240 articles, 2 dead pages and 8 crawl-failure duplicates removed.
    assert manifest["counts"]["all"]["total"] == 230
    assert sorted(result.runs) == ["scratch-bert-tiny", "tfidf-logreg"]
    for run in result.runs.values():
        assert (run / "metrics" / "test.json").is_file()
        assert (run / "metrics" / "horne2017_random.test.json").is_file()
        assert (run / "efficiency.json").is_file()
        assert (run / "README.md").is_file()
    html = result.report_html.read_text()
    assert result.report_html.stat().st_size > 10_000
    assert "tfidf-logreg" in html and "scratch-bert-tiny" in html and "horne2017_random" in html
    assert (result.report_dir / "report.md").is_file()
    assert len(result.comparison.pairs) == 1  # one paired test for two models


def test_demo_without_data_names_the_three_places(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = dataclasses.replace(DATASETS["fakenewsnet_politifact"], base_url=UNREACHABLE)
    monkeypatch.setitem(DATASETS, "fakenewsnet_politifact", spec)
    monkeypatch.setenv(registry.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(registry.MIRROR_ENV, raising=False)
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("error: data set 'fakenewsnet_politifact' is not available:")
    assert "is not in the cache" in err and "not in a mirror" in err
    assert f"the download from {UNREACHABLE}" in err
    assert "point --mirror / $FAKENEWS_DATA_MIRROR at a folder holding" in err
    assert not out.exists()
