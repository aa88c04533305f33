"""Shortcut audit: markers whose mere presence gives the label away, found on train, measured on test."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from fakenews.cli import main
from fakenews.data.audit import audit
from fakenews.data.shortcuts import (
    ShortcutAudit,
    ShortcutOptions,
    find_shortcuts,
    shortcut_warning,
)
from fakenews.errors import FakeNewsError
from fakenews.splits import combine, load_split_dir

WELFAKE = Path("welfake_sample1000/welfake_sample1000.csv")


def frame(rows: list[tuple[str, str, int]]) -> pd.DataFrame:
    """A split frame from ``(title, text, label)`` rows."""
    data = pd.DataFrame(rows, columns=["title", "text", "label"])
    data["combined_text"] = [
        combine(t, x) for t, x in zip(data["title"], data["text"], strict=True)
    ]
    return data


def present_rule_accuracy(test: pd.DataFrame, marker: str, label: int) -> float:
    """The rule "``marker`` in combined_text → ``label``, else the other", worked out by hand."""
    has = test["combined_text"].str.contains(marker, regex=False)
    return float(((has & (test["label"] == label)) | (~has & (test["label"] != label))).mean())


@pytest.fixture(scope="module")
def welfake(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("shortcuts") / "welfake"
    assert main(["prepare", str(shared_data / WELFAKE), "--out", str(out), "--quiet"]) == 0
    return out


def test_reuters_is_the_top_marker_of_the_welfake_sample(welfake: Path) -> None:
    manifest = json.loads((welfake / "manifest.json").read_text())
    found = ShortcutAudit.from_dict(manifest["shortcuts"])
    top = found.markers[0]
    assert (top.marker, top.kind, top.label, top.precision) == ("(Reuters)", "ngram", "real", 1.0)
    frames = load_split_dir(welfake).frames
    assert top.rule_accuracy == pytest.approx(
        present_rule_accuracy(frames["test"], "(Reuters)", 0), abs=1e-4
    )
    assert (
        top.train_articles
        == frames["train"]["combined_text"].str.contains("(Reuters)", regex=False).sum()
    )
    # The tokens of `(Reuters) -` and of the bare word are one marker, shown once.
    shown = [m.marker for m in found.markers]
    assert not {"Reuters )", "( Reuters", "Reuters) -", "Reuters", "(Reuters"} & set(shown)
    assert found.best_rule is not None and found.best_rule.markers[0] == "(Reuters)"
    assert found.best_rule.accuracy is not None and found.best_rule.accuracy > top.rule_accuracy


def test_on_the_whole_sample_reuters_alone_scores_the_issues_0_81(shared_data: Path) -> None:
    # The sample's README: 278 of 466 real articles carry the dateline, none of the 534 fakes.
    rows = pd.read_csv(shared_data / WELFAKE, dtype=str, keep_default_na=False)
    rows["combined_text"] = [
        combine(t, x) for t, x in zip(rows["title"], rows["text"], strict=True)
    ]
    rows["label"] = rows["label"].astype(int)
    found = find_shortcuts(rows, rows, ShortcutOptions(top=1))
    assert found.markers[0].marker == "(Reuters)"
    assert found.markers[0].rule_accuracy == (534 + 278) / 1000


def test_domains_handles_and_first_and_last_lines_are_markers() -> None:
    real = [
        (
            "Budget talks",
            f"Lawmakers met on day {i}.\nSee https://www.wire-news.com/a{i}\nReporting by Ann Lee",
            0,
        )
        for i in range(20)
    ]
    fake = [
        ("SHOCKING", f"By Staff Writer\nThey lied again, part {i}. Follow @truthdaily", 1)
        for i in range(20)
    ]
    found = find_shortcuts(frame(real + fake), frame(real[:5] + fake[:5]))
    kinds = {(m.kind, m.marker, m.label) for m in found.markers}
    assert ("domain", "wire-news.com", "real") in kinds
    assert ("handle", "@truthdaily", "fake") in kinds
    assert ("last_line", "Reporting by Ann Lee", "real") in kinds
    assert ("first_line", "By Staff Writer", "fake") in kinds
    assert all(m.rule_accuracy == 1.0 for m in found.markers if m.kind != "ngram")


def test_the_best_rule_ors_markers_that_cover_different_articles() -> None:
    real = [("t", f"story {i} Alpha Wire", 0) for i in range(10)]
    real += [("t", f"story {i} Beta Press", 0) for i in range(10)]
    fake = [("t", f"story {i} shared widely", 1) for i in range(20)]
    found = find_shortcuts(frame(real + fake), frame(real[8:12] + fake[:4]))
    # Each wire alone: right on its own 2 test articles and the 4 fakes, wrong on the other 2.
    assert {m.marker: m.rule_accuracy for m in found.markers}["Alpha Wire"] == 0.75
    assert found.best_rule is not None
    assert sorted(found.best_rule.markers) == ["Alpha Wire", "Beta Press"]
    assert (found.best_rule.label, found.best_rule.accuracy) == ("real", 1.0)


def test_coverage_precision_and_top_are_settable() -> None:
    real = [("t", f"item {i} via wire" + (" extra" if i < 4 else ""), 0) for i in range(20)]
    real += [("t", f"item {i} mixed", 0) for i in range(20, 29)]
    fake = [("t", f"item {i} gossip", 1) for i in range(30)] + [("t", "a mixed lot", 1)]
    train = frame(real + fake)

    def markers(
        *,
        min_coverage: float = 0.03,
        min_precision: float = 0.95,
        top: int = 20,
        min_articles: int = 1,
    ) -> str:
        settings = ShortcutOptions(min_precision, min_coverage, top, min_articles=min_articles)
        return " | ".join(m.marker for m in find_shortcuts(train, train, settings).markers)

    assert "extra" in markers()  # 4 of 60 train articles: 6.7% >= 3%
    assert "extra" not in markers(min_coverage=0.07)
    assert "extra" not in markers(min_articles=5)
    assert "mixed" not in markers()  # 9 of its 10 articles are real: precision 0.9 < 0.95
    assert "mixed" in markers(min_precision=0.9)
    assert markers(top=1) == "gossip"
    assert "extra" not in " ".join(m.marker for m in find_shortcuts(train, train).markers)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: ShortcutOptions(min_precision=0.4),
            "--shortcut-precision must be in (0.5, 1] (share of a marker's articles with its label), got 0.4; e.g. 0.95.",
        ),
        (
            lambda: ShortcutOptions(min_coverage=0),
            "--shortcut-coverage must be in (0, 1] (share of train articles holding a marker), got 0; e.g. 0.03.",
        ),
        (
            lambda: ShortcutOptions(top=0),
            "--shortcut-top must be at least 1 (markers to list), got 0.",
        ),
    ],
)
def test_bad_thresholds_are_one_line_errors(make: Callable[[], object], message: str) -> None:
    with pytest.raises(FakeNewsError, match=re.escape(message)):
        make()


def test_a_train_split_of_one_label_has_no_shortcuts() -> None:
    train = frame([("t", f"only fakes {i}", 1) for i in range(10)])
    found = find_shortcuts(train, train)
    assert found.markers == () and found.best_rule is None


def test_the_warning_is_one_sentence_naming_the_marker() -> None:
    doc = {
        "baseline_accuracy": 0.53,
        "markers": [
            {"marker": "(Reuters)", "rule_accuracy": 0.8133},
            {"marker": "- The", "rule_accuracy": 0.6867},
        ],
    }
    assert shortcut_warning(doc) == (
        "One marker alone, `(Reuters)`, predicts the label with 0.81 accuracy on test: "
        "in-domain scores overstate how well a model will do on other sources."
    )
    assert shortcut_warning({**doc, "markers": doc["markers"][1:]}) is None
    # On a test split that is 90% one label, "absent → the majority" is no shortcut.
    assert shortcut_warning({**doc, "baseline_accuracy": 0.9}) is None
    assert shortcut_warning(None) is None


def test_audit_reuses_the_manifest_and_computes_for_an_old_split_dir(
    welfake: Path, tmp_path: Path
) -> None:
    report = audit(welfake)
    manifest = json.loads((welfake / "manifest.json").read_text())
    assert report.shortcuts_from == "manifest"
    assert report.shortcuts.to_dict() == manifest["shortcuts"]
    old = tmp_path / "old"
    shutil.copytree(welfake, old)
    del manifest["shortcuts"]
    (old / "manifest.json").write_text(json.dumps(manifest))
    again = audit(old)
    assert again.shortcuts_from == "computed"
    assert again.shortcuts.to_dict() == report.shortcuts.to_dict()
    other = audit(welfake, shortcuts=ShortcutOptions(min_coverage=0.1))
    assert other.shortcuts_from == "computed"
    assert all(m.coverage >= 0.1 for m in other.shortcuts.markers)


def test_audit_json_and_strict(
    welfake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "audit.json"
    assert main(["audit", str(welfake), "--json", str(out)]) == 0  # no leak: exit 0
    printed = capsys.readouterr().out
    assert "(Reuters)" in printed and "warning: One marker alone, `(Reuters)`" in printed
    doc = json.loads(out.read_text())
    assert list(doc) == [
        "split_dir",
        "fingerprint",
        "leakage",
        "shortcuts",
        "best_rule",
        "shortcut_audit",
    ]
    assert doc["leakage"]["exact_cross_split"] == 0
    assert doc["shortcuts"][0]["marker"] == "(Reuters)"
    accuracy = doc["shortcuts"][0]["rule_accuracy"]
    assert main(["audit", str(welfake), "--strict", "--quiet"]) == 2
    assert capsys.readouterr().out == (
        "ok: across splits exact 0 pairs, near 0 pairs\n"
        f"SHORTCUT: 1 marker(s) alone predict the label with accuracy > 0.7 on test, best `(Reuters)` {accuracy:.2f} (--strict)\n"
    )
    looser = ["--strict", "--quiet", "--shortcut-precision", "1", "--shortcut-coverage", "0.5"]
    assert main(["audit", str(welfake), *looser]) == 0


def test_audit_json_into_a_folder_is_refused(
    welfake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", str(welfake), "--json", str(tmp_path), "--quiet"]) == 1
    assert capsys.readouterr().err == (
        f"error: --json {tmp_path} is a folder; expected a file path such as {tmp_path / 'audit.json'}.\n"
    )
