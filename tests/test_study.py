"""``fakenews study``: a small real study (tfidf-logreg over WELFake, PolitiFact, Horne as
test-only), what it writes, how a rerun skips, and one test per kind of bad study file."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import typer

from fakenews.cli import study_cmd
from fakenews.data.dedup import normalize, text_hash
from fakenews.errors import FakeNewsError
from fakenews.splits import load_split_dir
from fakenews.study import load_study, run_study
from fakenews.study.report import Summary
from fakenews.study.run import CSV_COLUMNS

COPIED = 4
"""WELFake articles copied into the Horne file: the study must keep them out of every train split."""

STUDY = """\
datasets:
  welfake:    {path: data/welfake.csv}
  politifact: {path: data/politifact.csv, strip_markers: true}
  horne:      {path: data/horne.csv, test_only: true}
models:
  - tfidf-logreg
protocols: [in_domain, pooled, leave_one_out]
"""


def _balanced(path: Path, per_label: int) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return pd.concat([frame[frame["label"] == v].head(per_label) for v in ("0", "1")])


@pytest.fixture(scope="module")
def study_file(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """60 WELFake + 60 PolitiFact + 30 Horne (+ 4 WELFake copies) real articles and the study."""
    root = tmp_path_factory.mktemp("study")
    (root / "data").mkdir()
    welfake = _balanced(shared_data / "welfake_sample200" / "welfake_sample200.csv", 30)
    welfake.to_csv(root / "data" / "welfake.csv", index=False)
    politifact = _balanced(
        shared_data / "fakenewsnet_politifact" / "fakenewsnet_politifact.csv", 30
    )
    politifact.to_csv(root / "data" / "politifact.csv", index=False)
    horne = _balanced(shared_data / "horne2017" / "horne2017_random.csv", 15)
    copies = welfake.head(COPIED).assign(id=lambda f: "copy-" + f["id"])
    pd.concat([horne, copies]).to_csv(root / "data" / "horne.csv", index=False)
    (root / "study.yaml").write_text(STUDY, encoding="utf-8")
    return root / "study.yaml"


@pytest.fixture(scope="module")
def study_dir(study_file: Path) -> Path:
    """The study run once through the ``study`` command."""
    app = typer.Typer()
    study_cmd.register(app)
    app.command("noop")(lambda: None)  # two commands: `study` stays a subcommand
    out = study_file.parent / "out"
    app(args=["study", str(study_file), "--out", str(out), "--quiet"], standalone_mode=False)
    return out


def test_the_study_writes_one_row_per_run_and_test_set(study_dir: Path) -> None:
    table = pd.read_csv(study_dir / "report" / "generalization.csv")
    assert tuple(table.columns) == CSV_COLUMNS
    # in_domain: 2 runs, pooled: 1, leave_one_out: 2; each scored on the 3 test splits
    assert len(table) == (2 + 1 + 2) * 3
    assert table.groupby("protocol").size().to_dict() == {
        "in_domain": 6,
        "leave_one_out": 6,
        "pooled": 3,
    }
    assert set(table["train"]) == {"welfake", "politifact", "welfake+politifact"}


def test_in_domain_is_true_only_for_the_sets_a_run_was_trained_on(study_dir: Path) -> None:
    table = pd.read_csv(study_dir / "report" / "generalization.csv")
    expected = [
        test in train.split("+") for train, test in zip(table["train"], table["test"], strict=True)
    ]
    assert table["in_domain"].tolist() == expected
    assert not table.loc[table["test"] == "horne", "in_domain"].any()


def test_no_training_split_holds_the_text_of_an_evaluated_test_article(study_dir: Path) -> None:
    tests = set()
    for name in ("welfake", "politifact", "horne"):
        frame = load_split_dir(study_dir / "data" / name).frames["test"]
        tests |= {text_hash(normalize(t)) for t in frame["combined_text"]}
    for train_dir in (study_dir / "train").iterdir():
        split = load_split_dir(train_dir)
        for part in ("train", "validation"):
            texts = split.frames[part]["combined_text"]
            assert not {text_hash(normalize(t)) for t in texts} & tests


def test_the_welfake_copies_in_the_horne_file_are_removed_from_welfake_training(
    study_dir: Path,
) -> None:
    welfake_test = load_split_dir(study_dir / "data" / "welfake").frames["test"]
    horne = pd.read_csv(study_dir.parent / "data" / "horne.csv", dtype=str)
    copies = horne[horne["id"].str.startswith("copy-")]["id"].str.removeprefix("copy-")
    in_welfake_training = len(set(copies) - set(welfake_test["id"]))
    manifest = load_split_dir(study_dir / "train" / "welfake").manifest
    removed = manifest["study"]["removed_test_overlap"]
    assert removed["train"] + removed["validation"] == in_welfake_training


def test_the_report_has_verdicts_a_heat_map_and_the_shortcut_audit(study_dir: Path) -> None:
    markdown = (study_dir / "report" / "report.md").read_text(encoding="utf-8")
    page = (study_dir / "report" / "report.html").read_text(encoding="utf-8")
    assert re.search(r"tfidf-logreg \(in-domain\) (loses|gains) \d+ pt", markdown)
    assert "welfake: " in markdown and "horne: no train split (test only)" in markdown
    assert page.count('src="data:image/png;base64,') == 1
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert (study_dir / "report" / "heatmap_tfidf-logreg.png").read_bytes()[:4] == b"\x89PNG"


def test_a_rerun_trains_and_evaluates_nothing_and_gives_the_same_table(study_dir: Path) -> None:
    before = pd.read_csv(study_dir / "report" / "generalization.csv")
    models = {p: p.stat().st_mtime_ns for p in (study_dir / "runs").glob("*/*/model")}
    result = run_study(load_study(study_dir.parent / "study.yaml"), study_dir)
    assert (result.prepared, result.trained, result.evaluated) == (0, 0, 0)
    assert {p: p.stat().st_mtime_ns for p in models} == models
    pd.testing.assert_frame_equal(pd.read_csv(study_dir / "report" / "generalization.csv"), before)


def test_a_run_cut_short_is_trained_again_and_nothing_else(study_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "out"
    shutil.copytree(study_dir, copy)
    shutil.rmtree(copy / "runs" / "politifact" / "tfidf-logreg" / "model")  # as after kill -9
    (copy / "runs" / "politifact" / "tfidf-logreg" / "metrics" / "horne.test.json").unlink()
    result = run_study(load_study(study_dir.parent / "study.yaml"), copy)
    assert (result.prepared, result.trained) == (0, 1)
    pd.testing.assert_frame_equal(
        result.table, pd.read_csv(study_dir / "report" / "generalization.csv")
    )


def test_protocols_that_share_runs_report_the_same_figures(study_dir: Path) -> None:
    markdown = (study_dir / "report" / "report.md").read_text(encoding="utf-8")
    rows = {
        line.split(" | ")[1]: line.split(" | ")[2:]
        for line in markdown.splitlines()
        if line.startswith("| tfidf-logreg")
    }
    # two trainable sets: leave-one-out trains on each alone, exactly the in-domain runs
    assert rows["in_domain"] == rows["leave_one_out"]


def test_a_verdict_says_how_many_points_a_model_loses_out_of_domain() -> None:
    summary = Summary("minilm-l6", "in_domain", 2, 0.8, 0.57, (0.52, 0.61), 23.0)
    assert summary.verdict() == (
        "minilm-l6 (in-domain) loses 23 pt on data sets it was not trained on: "
        "0.80 in-domain vs 0.57 out-of-domain (95% CI 0.52–0.61)."
    )


# --------------------------------------------------------------------------- bad study files


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "a.csv").write_text("title,text,label\nt,x,1\nu,y,0\n", encoding="utf-8")
    (tmp_path / "b.csv").write_text("title,text,label\nt,z,1\nu,w,0\n", encoding="utf-8")
    path = tmp_path / "study.yaml"
    path.write_text(text, encoding="utf-8")
    return path


TWO_SETS = "datasets:\n  a: {path: a.csv}\n  b: {path: b.csv}\n"


def test_an_unknown_top_level_key_is_named_with_a_suggestion(tmp_path: Path) -> None:
    path = _write(tmp_path, TWO_SETS + "modles: [tfidf-logreg]\n")
    with pytest.raises(FakeNewsError, match=re.escape(
        f"study file {path}: unknown key 'modles'; did you mean 'models'? expected one of datasets, models, protocols, "
        "data_root, benchmark, bench_articles."
    )):  # fmt: skip
        load_study(path)


def test_an_unknown_data_set_option_is_named_with_a_suggestion(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        TWO_SETS.replace("b.csv}", "b.csv, strip_marker: true}") + "models: [tfidf-logreg]\n",
    )
    with pytest.raises(FakeNewsError, match=re.escape(
        f"study file {path}: data set 'b': unknown key 'strip_marker'; did you mean 'strip_markers'?"
    )):  # fmt: skip
        load_study(path)


def test_a_missing_path_says_where_it_looked(tmp_path: Path) -> None:
    path = _write(tmp_path, TWO_SETS.replace("b.csv", "c.csv") + "models: [tfidf-logreg]\n")
    with pytest.raises(FakeNewsError, match=re.escape(
        f"study file {path}: data set 'b': path c.csv not found (looked at {tmp_path / 'c.csv'}); "
        "paths are relative to the study file or absolute."
    )):  # fmt: skip
        load_study(path)


def test_an_unknown_model_preset_lists_the_known_ones(tmp_path: Path) -> None:
    path = _write(tmp_path, TWO_SETS + "models: [tfidf-logreg, minilm-l7]\n")
    with pytest.raises(FakeNewsError, match=re.escape(
        f"study file {path}: models[1]: unknown model preset 'minilm-l7'; did you mean 'minilm-l6'? known presets: "
    )):  # fmt: skip
        load_study(path)


def test_an_unknown_protocol_is_named_with_a_suggestion(tmp_path: Path) -> None:
    path = _write(
        tmp_path, TWO_SETS + "models: [tfidf-logreg]\nprotocols: [pooled, leave-one-out]\n"
    )
    with pytest.raises(FakeNewsError, match=re.escape(
        f"study file {path}: unknown protocol 'leave-one-out'; did you mean 'leave_one_out'? "
        "expected one of in_domain, pooled, leave_one_out."
    )):  # fmt: skip
        load_study(path)


def test_a_data_set_named_twice_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, TWO_SETS + "  a: {path: b.csv}\nmodels: [tfidf-logreg]\n")
    with pytest.raises(FakeNewsError, match=re.escape(
        f"study file {path}: name 'a' appears twice (line 4); give each data set, model and key its own name."
    )):  # fmt: skip
        load_study(path)


def test_a_model_named_twice_is_refused(tmp_path: Path) -> None:
    models = (
        "models:\n  - tfidf-logreg\n  - {name: tfidf-logreg, model: tfidf-logreg, set: {seed: 1}}\n"
    )
    path = _write(tmp_path, TWO_SETS + models)
    with pytest.raises(FakeNewsError, match=re.escape(
        f"study file {path}: model name 'tfidf-logreg' appears twice; give each model its own name"
    )):  # fmt: skip
        load_study(path)


def test_pooling_with_one_trainable_set_is_refused(tmp_path: Path) -> None:
    text = (
        TWO_SETS.replace("b.csv}", "b.csv, test_only: true}")
        + "models: [tfidf-logreg]\nprotocols: [in_domain, pooled]\n"
    )
    path = _write(tmp_path, text)
    with pytest.raises(FakeNewsError, match=re.escape(
        f"study file {path}: protocol 'pooled' needs at least two trainable data sets, found one (a); "
        "add another data set without test_only or drop pooled."
    )):  # fmt: skip
        load_study(path)


def test_a_bad_study_file_writes_nothing(tmp_path: Path) -> None:
    path = _write(tmp_path, TWO_SETS + "models: [tfidf-logreg]\nprotocols: [pooledd]\n")
    app = typer.Typer()
    study_cmd.register(app)
    app.command("noop")(lambda: None)
    out = tmp_path / "out"
    with pytest.raises(
        FakeNewsError, match=re.escape("unknown protocol 'pooledd'; did you mean 'pooled'?")
    ):
        app(args=["study", str(path), "--out", str(out), "--quiet"], standalone_mode=False)
    assert not out.exists()
