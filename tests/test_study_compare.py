"""``fakenews study`` benchmarks every run and compares the models of each training set; the
comparison's Generalization section (in-domain, out-of-domain mean with its CI, gap, verdict)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fakenews.comparison.report import SECTIONS
from fakenews.errors import FakeNewsError
from fakenews.generalization import Generalization, correct_of, mean_accuracy_ci
from fakenews.study import load_study, run_study
from fakenews.study.run import StudyResult

STUDY = """\
datasets:
  welfake:    {path: data/welfake.csv}
  politifact: {path: data/politifact.csv}
  horne:      {path: data/horne.csv, test_only: true}
models:
  - tfidf-logreg
  - {name: tfidf-uni, model: tfidf-logreg, set: {baseline.ngram_max: 1}}
protocols: [in_domain, pooled]
bench_articles: 5
"""
TRAIN_SETS = ("welfake", "politifact", "welfake+politifact")


def _balanced(path: Path, per_label: int) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return pd.concat([frame[frame["label"] == v].head(per_label) for v in ("0", "1")])


def _write_data(root: Path, shared: Path) -> None:
    (root / "data").mkdir(parents=True)
    sources = {
        "welfake": (shared / "welfake_sample200" / "welfake_sample200.csv", 30),
        "politifact": (shared / "fakenewsnet_politifact" / "fakenewsnet_politifact.csv", 30),
        "horne": (shared / "horne2017" / "horne2017_random.csv", 15),
    }
    for name, (path, n) in sources.items():
        _balanced(path, n).to_csv(root / "data" / f"{name}.csv", index=False)


@pytest.fixture(scope="module")
def study_root(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    root = tmp_path_factory.mktemp("study_compare")
    _write_data(root, shared_data)
    (root / "study.yaml").write_text(STUDY, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def first(study_root: Path) -> StudyResult:
    return run_study(load_study(study_root / "study.yaml"), study_root / "out")


def test_the_study_benchmarks_every_run_and_compares_the_models_of_each_training_set(
    first: StudyResult,
) -> None:
    out = first.out
    assert first.benchmarked == 6 and first.compared == 3
    for train in TRAIN_SETS:
        for model in ("tfidf-logreg", "tfidf-uni"):
            run = out / "runs" / train / model
            efficiency = json.loads((run / "efficiency.json").read_text())
            assert efficiency["latency_ms_p50"] > 0
            assert (run / "metrics" / "test.json").is_file()  # own split: what compare pairs
            assert not list((run / "plots").glob("*.png"))  # the study evaluates without plots
        doc = json.loads((out / "compare" / train / "comparison.json").read_text())
        assert sorted(Path(r["path"]).name for r in doc["runs"]) == ["tfidf-logreg", "tfidf-uni"]
        assert doc["same_split"] is True and len(doc["pairwise"]) == 1
        assert (out / "compare" / train / "report.html").is_file()
    assert sorted(first.comparisons) == sorted(TRAIN_SETS)
    assert set(first.seconds) >= {"prepare", "train", "evaluate", "benchmark", "compare", "report"}


def test_the_study_report_links_each_comparison(first: StudyResult) -> None:
    page = (first.out / "report" / "report.html").read_text()
    markdown = (first.out / "report" / "report.md").read_text()
    for train in TRAIN_SETS:
        assert f'href="../compare/{train}/report.html"' in page
        assert f"- [{train}](../compare/{train}/report.html)" in markdown
    assert "<h2>Comparisons</h2>" in page


def test_a_rerun_skips_complete_benchmarks_and_comparisons(
    study_root: Path, first: StudyResult
) -> None:
    done = [
        *(first.out / "compare").rglob("*.json"),
        *(first.out / "runs").rglob("efficiency.json"),
    ]
    stamps = {p: p.stat().st_mtime_ns for p in done}
    second = run_study(load_study(study_root / "study.yaml"), study_root / "out")
    assert {p: p.stat().st_mtime_ns for p in done} == stamps
    assert (second.trained, second.evaluated, second.benchmarked, second.compared) == (0, 0, 0, 0)
    assert second.comparison_results == {}
    assert sorted(second.comparisons) == sorted(TRAIN_SETS)


def test_the_comparison_scores_each_run_in_domain_and_on_the_data_sets_it_did_not_see(
    first: StudyResult,
) -> None:
    result = first.comparison_results["welfake"]
    run = first.out / "runs" / "welfake" / "tfidf-logreg"
    g = next(g for g in result.generalization if g.who == "tfidf-logreg")
    own = json.loads((run / "metrics" / "test.json").read_text())["accuracy"]
    others = {d: json.loads((run / "metrics" / f"{d}.test.json").read_text())["accuracy"]
              for d in ("horne", "politifact")}  # fmt: skip
    assert g.unseen == ("horne", "politifact")  # welfake.test is its own test split again
    assert g.in_domain == pytest.approx(own)
    assert g.out_of_domain == pytest.approx(np.mean(list(others.values())))
    assert g.gap_pt == pytest.approx(100 * (own - g.out_of_domain))
    corrects = [correct_of(run / "predictions" / f"{d}.test.csv") for d in ("horne", "politifact")]
    assert g.ci == pytest.approx(mean_accuracy_ci(corrects))
    assert g.ci is not None and g.ci[0] <= g.out_of_domain <= g.ci[1]


def test_a_pooled_run_counts_only_the_test_only_set_as_unseen(first: StudyResult) -> None:
    result = first.comparison_results["welfake+politifact"]
    assert {g.unseen for g in result.generalization} == {("horne",)}


def test_the_comparison_report_has_a_generalization_section_with_verdicts(
    first: StudyResult,
) -> None:
    report = first.out / "compare" / "politifact"
    markdown = (report / "report.md").read_text()
    page = (report / "report.html").read_text()
    doc = json.loads((report / "comparison.json").read_text())
    number = [key for key, _ in SECTIONS].index("generalization") + 1
    section = markdown.split(f"## {number}. Generalization", 1)[1].split(f"## {number + 1}.")[0]
    for g in doc["generalization"]:
        assert g["verdict"] in section and g["verdict"] in page
        assert re.fullmatch(
            rf"{re.escape(g['run'])} (loses|gains) \d+ pt on data sets it was not trained on: "
            r"0\.\d\d in-domain vs 0\.\d\d out-of-domain \(95% CI 0\.\d\d–0\.\d\d\)\.",
            g["verdict"],
        ) or g["verdict"].startswith(f"{g['run']} holds up out of domain: ")
        row = f"| {g['run']} | {g['in_domain_accuracy']:.4f} | {g['out_of_domain_accuracy']:.4f} |"
        assert row in section
    assert (
        "| Run | In-domain accuracy | Out-of-domain accuracy (mean) | 95% CI | Gap (pt) |"
        in section
    )
    # the column of PolitiFact holds the own cell only: no note about mixed versions of it
    assert "'politifact' of the cross-data-set matrix mixes" not in markdown


def test_the_generalization_verdict_names_the_loss_in_points() -> None:
    g = Generalization("minilm-l6", 0.9, 0.67, (0.6, 0.7), 23.0)
    assert g.verdict() == (
        "minilm-l6 loses 23 pt on data sets it was not trained on: "
        "0.90 in-domain vs 0.67 out-of-domain (95% CI 0.60–0.70)."
    )
    assert Generalization("x", 0.6, 0.7, None, -10.0).verdict() == (
        "x gains 10 pt on data sets it was not trained on: 0.60 in-domain vs 0.70 out-of-domain."
    )


def test_benchmark_false_skips_the_benchmark_but_still_compares(
    tmp_path: Path, shared_data: Path
) -> None:
    _write_data(tmp_path, shared_data)
    text = STUDY.replace("protocols: [in_domain, pooled]", "protocols: [pooled]")
    (tmp_path / "study.yaml").write_text(text + "benchmark: false\n", encoding="utf-8")
    result = run_study(load_study(tmp_path / "study.yaml"), tmp_path / "out")
    assert result.benchmarked == 0 and result.compared == 1
    assert not list((tmp_path / "out" / "runs").rglob("efficiency.json"))
    notes = result.comparison_results["welfake+politifact"].notes
    assert any(n.startswith("efficiency not measured for tfidf-logreg, tfidf-uni") for n in notes)


def test_a_bad_bench_articles_value_is_one_line(tmp_path: Path, shared_data: Path) -> None:
    _write_data(tmp_path, shared_data)
    path = tmp_path / "study.yaml"
    path.write_text(STUDY.replace("bench_articles: 5", "bench_articles: 2"), encoding="utf-8")
    with pytest.raises(FakeNewsError, match=re.escape(
        f"study file {path}: bench_articles should be a whole number >= 5 (test articles timed "
        "per run), found 2."
    )):  # fmt: skip
        load_study(path)
    assert not (tmp_path / "out").exists()


def test_a_missing_data_root_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "study.yaml"
    path.write_text("data_root: nowhere\n" + STUDY, encoding="utf-8")
    with pytest.raises(FakeNewsError, match=re.escape(
        f"study file {path}: data_root nowhere is not a folder (looked at {tmp_path / 'nowhere'}); "
        "point it at the folder that holds the data sets (e.g. the shared data: "
        "`fakenews demo --data DIR`)."
    )):  # fmt: skip
        load_study(path)


def test_data_root_and_the_data_option_say_where_the_data_set_paths_start(
    tmp_path: Path, shared_data: Path
) -> None:
    _write_data(tmp_path / "elsewhere", shared_data)
    path = tmp_path / "study.yaml"
    path.write_text("data_root: elsewhere\n" + STUDY, encoding="utf-8")
    study = load_study(path)
    assert [d.path for d in study.datasets] == [
        (tmp_path / "elsewhere" / "data" / f"{n}.csv").resolve()
        for n in ("welfake", "politifact", "horne")
    ]
    moved = tmp_path / "moved"
    (tmp_path / "elsewhere").rename(moved)
    assert load_study(path, data_root=moved).datasets[0].path == (moved / "data" / "welfake.csv")
