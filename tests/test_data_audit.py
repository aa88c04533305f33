"""audit: leakage figures for any split dir; exit 2 when splits share articles."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from fakenews.cli import main
from fakenews.data.audit import audit
from fakenews.splits import SPLITS

WELFAKE = Path("welfake_sample1000/original/WELFake_Dataset_sample_1000.csv")


@pytest.fixture(scope="module")
def prepared(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("audit") / "welfake"
    assert main(["prepare", str(shared_data / WELFAKE), "--out", str(out), "--quiet"]) == 0
    return out


def test_prepared_split_dir_is_clean(prepared: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", str(prepared)]) == 0
    out = capsys.readouterr().out
    assert "ok: across splits exact 0 pairs, near 0 pairs" in out
    report = audit(prepared)
    manifest = json.loads((prepared / "manifest.json").read_text())
    assert report.leakage.to_dict() == manifest["leakage"]  # prepare and audit agree
    assert report.counts == {s: manifest["counts"][s] for s in SPLITS}


def test_test_rows_copied_into_train_exit_2_and_are_named(
    prepared: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leaky = tmp_path / "leaky"
    shutil.copytree(prepared, leaky)
    train = pd.read_csv(leaky / "train.csv", dtype=str, keep_default_na=False)
    test = pd.read_csv(leaky / "test.csv", dtype=str, keep_default_na=False)
    copied = test.head(3).copy()
    near = test.iloc[[3]].copy()  # a lightly edited copy under a new id: a near duplicate
    words = near["text"].iloc[0].split()
    words[len(words) // 2] = "EDITED"
    near["text"] = " ".join(words)
    near["combined_text"] = near["title"] + " " + near["text"]
    near["id"] = "edited-copy"
    pd.concat([train, copied, near]).to_csv(leaky / "train.csv", index=False)

    assert main(["audit", str(leaky)]) == 2
    out = capsys.readouterr().out
    assert "LEAK: across splits exact 3 pairs, near 1 pairs" in out
    for row_id in copied["id"]:
        assert f"exact  train:{row_id}  test:{row_id}" in out
    assert f"near   train:edited-copy  test:{test['id'].iloc[3]}" in out
    report = audit(leaky)
    assert report.leakage.exact_cross_split == 3 and report.leakage.near_cross_split == 1
    assert {(p.a_id, p.b_id) for p in report.leakage.pairs if p.kind == "exact"} == {
        (i, i) for i in copied["id"]
    }


def test_external_split_without_manifest(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    combined = pd.read_csv(
        shared_data / "welfake_sample200/welfake_sample200_combined.csv",
        dtype=str,
        keep_default_na=False,
    )
    for name, part in zip(SPLITS, (combined[:140], combined[140:170], combined[170:]), strict=True):
        part.to_csv(tmp_path / f"{name}.csv", index=False)
    assert main(["audit", str(tmp_path), "--quiet"]) == 0
    assert capsys.readouterr().out == "ok: across splits exact 0 pairs, near 0 pairs\n"


def test_liar_official_split_shares_statements(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The study-style external split dir: LIAR's own train/valid/test, as published.
    for name, source in zip(
        SPLITS, ("liar_train.csv", "liar_valid.csv", "liar_test.csv"), strict=True
    ):
        shutil.copyfile(shared_data / "liar" / source, tmp_path / f"{name}.csv")
    assert main(["audit", str(tmp_path), "--show", "1000"]) == 2
    out = capsys.readouterr().out
    # The README's examples of statements that recur across splits.
    assert "train:6622.json  test:6370.json" in out
    assert "train:6918.json  validation:6917.json" in out


def test_audit_of_a_missing_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", str(tmp_path / "nope"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert (
        err
        == f"error: expected a split dir at {tmp_path / 'nope'}, found nothing there; create one with `fakenews prepare`.\n"
    )
