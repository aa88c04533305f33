"""The run dir read typed: RunDir.config is a RunConfig, .summary a TrainSummary, and run dirs
written by fakenews 0.1.0 (tests/fixtures/v0.1.0) load unchanged."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from fakenews.config import RunConfig
from fakenews.errors import FakeNewsError
from fakenews.evaluation import evaluate
from fakenews.rundir import RunDir, TrainSummary, read_metrics, read_predictions, variant_suffix

FIXTURES = Path(__file__).parent / "fixtures" / "v0.1.0"


@pytest.fixture()
def old_runs(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES, tmp_path / "v0.1.0")
    return tmp_path / "v0.1.0"


def test_a_0_1_0_baseline_run_reads_typed(old_runs: Path) -> None:
    run = RunDir.open(old_runs / "tfidf-run")
    assert isinstance(run.config, RunConfig)
    assert run.config is run.config  # parsed once
    assert run.kind == "baseline" and run.config.model.name == "tfidf-logreg"
    assert run.label_names == ("real", "fake")
    summary = run.summary
    assert isinstance(summary, TrainSummary)
    assert summary.kind == "baseline" and summary.chosen_C == 0.1 and summary.n_train == 28
    assert summary.split_dir == "/tmp/fx/split-0.1.0"
    assert run.data_fingerprint == summary.data_fingerprint


def test_a_0_1_0_transformer_run_reads_typed(old_runs: Path) -> None:
    run = RunDir.open(old_runs / "bert-run")
    assert run.kind == "transformer"
    assert run.config.model.name == "scratch:bert" and run.config.model.size == "tiny"
    assert run.config.data.max_length == 32 and run.config.model.keep_layers is None
    assert run.summary is not None and run.summary.kind == "transformer"
    assert run.summary.global_step == run.summary.global_step and run.summary.train_loss is not None


def test_a_moved_0_1_0_run_names_its_gone_split_dir(old_runs: Path) -> None:
    run = RunDir.open(old_runs / "tfidf-run")
    with pytest.raises(
        FakeNewsError,
        match=re.escape(
            "the run's split dir /tmp/fx/split-0.1.0 is gone; pass --data SPLIT_DIR (a copy of it)."
        ),
    ):
        run.trained_split_dir()


@pytest.mark.parametrize("name", ["tfidf-run", "bert-run"])
def test_a_0_1_0_run_evaluates_on_a_given_split_dir(old_runs: Path, name: str) -> None:
    result = evaluate(old_runs / name, data=old_runs / "split", quiet=True)
    assert result.in_domain and result.key == "test" and result.metrics.n == 6
    assert (old_runs / name / "metrics" / "test.json").is_file()


def test_a_run_without_summary_has_none_and_needs_data(old_runs: Path) -> None:
    run_dir = old_runs / "tfidf-run"
    (run_dir / "train_summary.json").unlink()
    run = RunDir.open(run_dir)
    assert run.summary is None
    with pytest.raises(FakeNewsError, match=re.escape("pass --data SPLIT_DIR.")):
        run.trained_split_dir()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[1, 2]", "should hold a JSON object ({...}), found a list; re-run `fakenews train`."),
        ('{"kind": "forest"}', "kind must be transformer or baseline, found 'forest'"),
        ('{"n_train": "many"}', "n_train must be a number, found 'many'"),
    ],
)
def test_a_train_summary_of_the_wrong_shape_is_one_line(
    old_runs: Path, content: str, message: str
) -> None:
    run_dir = old_runs / "tfidf-run"
    (run_dir / "train_summary.json").write_text(content, encoding="utf-8")
    with pytest.raises(FakeNewsError, match=re.escape(message)):
        _ = RunDir.open(run_dir).summary


def test_a_config_of_the_wrong_shape_is_one_line(old_runs: Path) -> None:
    run_dir = old_runs / "tfidf-run"
    (run_dir / "config.yaml").write_text("model: 5\n", encoding="utf-8")
    with pytest.raises(FakeNewsError, match=re.escape("model must be a mapping of keys, found 5.")):
        _ = RunDir.open(run_dir).config


def test_a_data_manifest_that_is_a_list_is_one_line(old_runs: Path) -> None:
    run_dir = old_runs / "tfidf-run"
    (run_dir / "data_manifest.json").write_text(json.dumps([1, 2]), encoding="utf-8")
    with pytest.raises(
        FakeNewsError, match=re.escape("should hold a JSON object ({...}), found a list")
    ):
        _ = RunDir.open(run_dir).manifest


def test_the_train_summary_round_trips_both_kinds(
    tiny_run_dir: Path, tiny_baseline_run_dir: Path
) -> None:
    for run_dir in (tiny_run_dir, tiny_baseline_run_dir):
        run = RunDir.open(run_dir)
        doc = json.loads(run.train_summary.read_text(encoding="utf-8"))
        assert run.summary is not None and run.summary.to_dict() == doc
    assert (
        RunDir.open(tiny_run_dir).trained_split_dir()
        == RunDir.open(tiny_baseline_run_dir).trained_split_dir()
    )


def test_variant_keys_name_every_non_default_inference() -> None:
    assert variant_suffix() == ""
    assert variant_suffix(backend="onnx", precision="fp32", long="chunks") == "+onnx+chunks"


def test_opening_a_run_reads_its_three_typed_files_before_anything_else(old_runs: Path) -> None:
    run_dir = old_runs / "tfidf-run"
    (run_dir / "train_summary.json").write_text('{"validation": {"f1": "high"}}', encoding="utf-8")
    with pytest.raises(
        FakeNewsError, match=re.escape("validation must be a mapping of metrics to numbers")
    ):
        RunDir.open(run_dir)


def test_an_empty_config_yaml_is_a_run_that_names_no_model(old_runs: Path) -> None:
    run_dir = old_runs / "tfidf-run"
    (run_dir / "config.yaml").write_text("", encoding="utf-8")
    with pytest.raises(FakeNewsError) as caught:
        RunDir.open(run_dir)
    assert str(caught.value) == (
        f"{run_dir / 'config.yaml'} should name the run's model (model: {{name: ..., kind: "
        "transformer|baseline}), found an empty file; re-run `fakenews train`."
    )


def test_a_label_mapping_of_the_wrong_shape_names_the_manifest(old_runs: Path) -> None:
    run_dir = old_runs / "tfidf-run"
    (run_dir / "data_manifest.json").write_text('{"label_mapping": [0, 1]}', encoding="utf-8")
    with pytest.raises(FakeNewsError) as caught:
        RunDir.open(run_dir)
    assert str(caught.value) == (
        f'{run_dir / "data_manifest.json"}: label_mapping should be {{"0": "real", "1": "fake"}}, '
        "found [0, 1]; re-run `fakenews train` to write it."
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("id,label,pred\na,1,1\n", "lacks column(s) prob_fake; expected id,label,pred,prob_fake; fix."),
        ("id,label,pred,prob_fake\na,2,1,0.5\n", "label should be 0 (real) or 1 (fake), found '2'; fix."),
        ("id,label,pred,prob_fake\na,1,1,1.5\n", "prob_fake should be a probability from 0 to 1, found '1.5'; fix."),
        ("id,label,pred,prob_fake\na,1,1,0.5\na,0,0,0.1\n", "lists article id 'a' twice; ids must be unique; fix."),
    ],
)  # fmt: skip
def test_predictions_of_the_wrong_shape_are_one_line(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "test.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(FakeNewsError, match=re.escape(message)):
        read_predictions(path, fix="fix")


def test_good_predictions_and_metrics_read_back_typed(tmp_path: Path) -> None:
    path = tmp_path / "test.csv"
    path.write_text("id,label,pred,prob_fake\n007,1,0,0.25\n", encoding="utf-8")
    frame = read_predictions(path, fix="fix")
    assert frame.to_dict("records") == [{"id": "007", "label": 1, "pred": 0, "prob_fake": 0.25}]
    (tmp_path / "m.json").write_text('{"accuracy": 0.5, "roc_auc": null, "split": "test"}')
    assert read_metrics(tmp_path / "m.json", fix="fix")["accuracy"] == 0.5
    (tmp_path / "m.json").write_text('{"accuracy": "0.5"}')
    with pytest.raises(
        FakeNewsError, match=re.escape("accuracy should be a number, found '0.5'; fix.")
    ):
        read_metrics(tmp_path / "m.json", fix="fix")
