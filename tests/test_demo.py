"""``fakenews demo``: the packaged study (its models and data sets), end to end with fast models,
and no data where the demo looks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakenews.cli import main
from fakenews.demo import DEMO_STUDY, load_demo_study, run_demo
from fakenews.study.spec import ModelSpec

# The demo's study with two fast models instead of the two MiniLMs (minutes each).
FAST_MODELS = (
    ModelSpec("tfidf-logreg", "tfidf-logreg"),
    ModelSpec(
        "scratch-bert-tiny",
        "scratch:bert",
        (("model.size", "tiny"), ("data.max_length", 32), ("train.epochs", 1)),
    ),
)


def test_the_demo_compares_tfidf_minilm_and_a_three_layer_minilm(shared_data: Path) -> None:
    study = load_demo_study(data_root=shared_data)
    assert [(m.name, m.model) for m in study.models] == [
        ("tfidf-logreg", "tfidf-logreg"),
        ("minilm-l6", "minilm-l6"),
        ("minilm-l6-3l", "minilm-l6"),
    ]
    three = dict(study.models[2].overrides)
    assert three["model.keep_layers"] == 3 and "model.keep_layers" not in dict(
        study.models[1].overrides
    )
    assert not any(m.model.startswith("scratch:") for m in study.models)  # no random-init model
    assert [(d.name, d.test_only) for d in study.datasets] == [
        ("welfake", False),
        ("politifact", False),
        ("horne", True),
    ]
    assert study.protocols == ("in_domain", "pooled") and study.benchmark


def test_demo_end_to_end_with_fast_models(shared_data: Path, tmp_path: Path) -> None:
    result = run_demo(tmp_path / "demo", data_root=shared_data, models=FAST_MODELS, quiet=True)
    out = result.out
    assert sorted(result.comparisons) == ["politifact", "welfake", "welfake+politifact"]
    for train in result.comparisons:
        for model in ("tfidf-logreg", "scratch-bert-tiny"):
            run = out / "runs" / train / model
            assert (run / "efficiency.json").is_file() and (run / "README.md").is_file()
            assert (run / "metrics" / "horne.test.json").is_file()
        assert (out / "compare" / train / "report.html").stat().st_size > 10_000
    headline = result.headline
    assert headline is not None and headline.out == out / "compare" / "welfake+politifact"
    assert len(headline.pairs) == 1  # one paired test for two models
    assert [g.unseen for g in headline.generalization] == [("horne",), ("horne",)]
    page = result.report_html.read_text()
    assert "tfidf-logreg" in page and "scratch-bert-tiny" in page and "horne" in page
    assert 'href="../compare/welfake+politifact/report.html"' in page
    rows = (out / "report" / "generalization.csv").read_text().splitlines()
    assert len(rows) == 1 + 2 * 3 * 3  # header + 2 models x 3 training sets x 3 test sets
    assert json.loads((out / "study.json").read_text())["protocols"] == ["in_domain", "pooled"]


def test_the_packaged_demo_study_is_the_default(shared_data: Path) -> None:
    assert DEMO_STUDY.is_file() and DEMO_STUDY.parent.name == "studies"
    assert load_demo_study(data_root=shared_data).path == DEMO_STUDY


def test_demo_without_data_says_where_it_looked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo"
    missing = tmp_path / "no-data"
    assert main(["demo", "--out", str(out), "--data", str(missing), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err == (
        f"error: --data {missing} is not a folder; point it at the shared data (the folder "
        "holding welfake_sample200/, fakenewsnet_politifact/ and horne2017/).\n"
    )
    assert not out.exists()


def test_demo_with_data_lacking_a_set_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "data").mkdir()
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--data", str(tmp_path / "data"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"error: study file {DEMO_STUDY}: data set 'welfake': path ")
    assert "welfake_sample200/welfake_sample200.csv not found" in err
    assert err.endswith("paths are relative to data_root or absolute.\n")
    assert not out.exists()
