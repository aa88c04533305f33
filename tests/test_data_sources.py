"""Readers: every format on the real files in ../shared/data, label mapping, format detection."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from fakenews.data.sources import ReadOptions, detect_format, read_input
from fakenews.errors import FakeNewsError

WELFAKE = Path("welfake_sample1000/original/WELFake_Dataset_sample_1000.csv")


def test_welfake_original_format(shared_data: Path) -> None:
    source = read_input(shared_data / WELFAKE, ReadOptions())
    frame = source.frame
    assert source.format == "welfake"
    assert list(frame.columns) == ["id", "title", "text", "label", "source"]
    assert frame["id"].tolist()[:3] == ["0", "1", "2"] and len(frame) == 1000
    assert (frame["label"] == 1).sum() == 534 and (frame["label"] == 0).sum() == 466
    assert set(frame["source"]) == {"welfake"}
    # The README: all 278 '(Reuters) -' articles carry label 0.
    assert source.checks["welfake_direction"] == {
        "datelines": 278,
        "dateline_real": 278,
        "dateline_fake": 0,
        "fake_share": 0.0,
        "checked": True,
    }
    normalized = pd.read_csv(
        shared_data / "welfake_sample1000/welfake_sample1000.csv", dtype=str, keep_default_na=False
    )
    assert frame["title"].tolist() == normalized["title"].tolist()
    assert frame["text"].tolist() == normalized["text"].tolist()


def test_welfake_with_flipped_labels_is_refused(shared_data: Path, tmp_path: Path) -> None:
    raw = pd.read_csv(shared_data / WELFAKE, dtype=str, keep_default_na=False).head(300)
    raw["label"] = raw["label"].map({"0": "1", "1": "0"})
    flipped = tmp_path / "flipped.csv"
    raw.to_csv(flipped, index=False)
    n = int(raw["text"].str.slice(0, 400).str.contains(r"\(Reuters\)\s*-").sum())
    with pytest.raises(FakeNewsError) as info:
        read_input(flipped, ReadOptions())
    assert str(info.value) == (
        f"{flipped} contradicts WELFake's label direction (1 = fake): {n} of {n} articles with a '(Reuters) -' "
        "dateline (WELFake's real news) carry label 1; this file seems to use 0 = fake. "
        "Read it with --format csv --fake-label 0."
    )
    # The fix the message names works: the same file read as CSV with 0 meaning fake.
    fixed = read_input(flipped, ReadOptions(format="csv", fake_labels=("0",)))
    assert fixed.frame["label"].tolist() == raw["label"].map({"0": 1, "1": 0}).tolist()


def test_fakenewsnet_json_reads_only_title_and_text(shared_data: Path) -> None:
    raw = shared_data / "fakenewsnet_politifact/raw"
    source = read_input(raw, ReadOptions())
    frame = source.frame
    assert source.format == "fakenewsnet" and source.files == 240
    assert list(frame.columns) == ["id", "title", "text", "label", "source"]
    assert (frame["label"] == 1).sum() == 120 and (frame["label"] == 0).sum() == 120
    assert set(frame["source"]) == {"politifact"}
    assert (
        frame["id"].iloc[0] == "PolitiFact_Fake_1" and frame["id"].iloc[-1] == "PolitiFact_Real_120"
    )
    reference = pd.read_csv(
        shared_data / "fakenewsnet_politifact/fakenewsnet_politifact.csv",
        dtype=str,
        keep_default_na=False,
    )
    merged = frame.merge(reference, on="id", suffixes=("", "_ref"))
    assert len(merged) == 240
    assert (merged["title"] == merged["title_ref"]).all() and (
        merged["text"] == merged["text_ref"]
    ).all()
    assert (merged["label"].astype(str) == merged["label_ref"]).all()


def test_fakenewsnet_file_with_only_title_and_text_reads_like_the_others(tmp_path: Path) -> None:
    for folder, record in (
        ("FakeNewsContent", {"title": "A", "text": "b"}),
        ("RealNewsContent", {"title": "C", "text": "d", "url": "u", "source": "s"}),
    ):
        (tmp_path / "Site" / folder).mkdir(parents=True)
        (tmp_path / "Site" / folder / f"Site_{folder[:4]}_1-Webpage.json").write_text(
            json.dumps(record)
        )
    frame = read_input(tmp_path, ReadOptions(format="fakenewsnet")).frame
    assert frame.to_dict("records") == [
        {"id": "Site_Fake_1", "title": "A", "text": "b", "label": 1, "source": "site"},
        {"id": "Site_Real_1", "title": "C", "text": "d", "label": 0, "source": "site"},
    ]


def test_liar_raw_tsv_and_folder(shared_data: Path) -> None:
    train = read_input(shared_data / "liar/raw/train.tsv", ReadOptions())
    assert train.format == "liar" and len(train.frame) == 10269
    assert (train.frame["label"] == 1).sum() == 4497
    assert train.frame["id"].iloc[0] == "2635.json" and train.frame["title"].iloc[0] == ""
    assert (
        train.frame["text"].iloc[0]
        == "Says the Annies List political group supports third-trimester abortions on demand."
    )
    assert train.label_values["pants-fire"] == {"label": 1, "rows": 842}
    assert train.label_values["half-true"] == {"label": 0, "rows": 2123}
    reference = pd.read_csv(shared_data / "liar/liar_train.csv", dtype=str, keep_default_na=False)
    assert train.frame["text"].tolist() == reference["text"].tolist()
    folder = read_input(shared_data / "liar/raw", ReadOptions())
    assert folder.predefined_split
    assert folder.frame["split"].value_counts().to_dict() == {
        "train": 10269,
        "validation": 1284,
        "test": 1283,
    }


def test_liar_normalized_csv_is_a_generic_csv(shared_data: Path) -> None:
    source = read_input(shared_data / "liar/liar_valid.csv", ReadOptions())
    assert source.format == "csv" and len(source.frame) == 1284
    assert (source.frame["label"] == 1).sum() == 616


def test_combined_text_split_dir(shared_data: Path, tmp_path: Path) -> None:
    combined = pd.read_csv(
        shared_data / "welfake_sample200/welfake_sample200_combined.csv",
        dtype=str,
        keep_default_na=False,
    )
    for name, part in zip(
        ("train", "validation", "test"),
        (combined[:140], combined[140:170], combined[170:]),
        strict=True,
    ):
        part.to_csv(tmp_path / f"{name}.csv", index=False)
    assert detect_format(tmp_path) == "splits"
    source = read_input(tmp_path, ReadOptions())
    assert len(source.frame) == 200 and source.predefined_split
    assert source.frame["split"].value_counts().to_dict() == {
        "train": 140,
        "validation": 30,
        "test": 30,
    }
    assert (source.frame["label"] == 1).sum() == 103


def test_horne_csv(shared_data: Path) -> None:
    source = read_input(shared_data / "horne2017/horne2017_buzzfeed.csv", ReadOptions())
    assert len(source.frame) == 101 and (source.frame["label"] == 1).sum() == 48
    assert source.frame["text"].str.contains("\r\n").any()  # kept as is


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["fake", "real", "fake"], [1, 0, 1]),
        (["FAKE", "REAL", "REAL"], [1, 0, 0]),
        (["false", "true", "True"], [1, 0, 0]),
        (["1", "0", "1"], [1, 0, 1]),
        (["pants-fire", "half-true", "barely-true"], [1, 0, 1]),
    ],
)
def test_known_label_values(tmp_path: Path, values: list[str], expected: list[int]) -> None:
    path = tmp_path / "d.csv"
    pd.DataFrame({"title": ["a", "b", "c"], "text": ["x", "y", "z"], "label": values}).to_csv(
        path, index=False
    )
    assert read_input(path, ReadOptions()).frame["label"].tolist() == expected


def test_fake_label_flag_maps_zero_one_the_other_way(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    pd.DataFrame({"text": ["x", "y"], "label": ["0", "1"]}).to_csv(path, index=False)
    frame = read_input(path, ReadOptions(fake_labels=("0",))).frame
    assert frame["label"].tolist() == [1, 0]
    assert frame["id"].tolist() == ["d-0", "d-1"] and frame["title"].tolist() == ["", ""]


def test_custom_columns_and_labels(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    pd.DataFrame(
        {
            "key": ["k1", "k2", "k3"],
            "headline": ["h1", "h2", "h3"],
            "body": ["b1", "b2", "b3"],
            "verdict": ["hoax", "legit", "satire"],
            "site": ["s1", "s2", "s1"],
        }
    ).to_csv(path, index=False)
    options = ReadOptions(
        text_column="body",
        title_column="headline",
        label_column="verdict",
        id_column="key",
        fake_labels=("hoax", "satire"),
        real_labels=("legit",),
    )
    frame = read_input(path, options).frame
    assert frame[["id", "title", "text", "label"]].to_dict("list") == {
        "id": ["k1", "k2", "k3"],
        "title": ["h1", "h2", "h3"],
        "text": ["b1", "b2", "b3"],
        "label": [1, 0, 1],
    }
    assert frame["site"].tolist() == ["s1", "s2", "s1"]  # kept for --group-by


def test_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    rows = [
        {"id": 7, "title": "t", "text": "x", "label": "fake"},
        {"id": 8, "title": None, "text": "y", "label": "real"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    source = read_input(path, ReadOptions())
    assert source.format == "jsonl"
    assert source.frame[["id", "title", "text", "label"]].to_dict("list") == {
        "id": ["7", "8"],
        "title": ["t", ""],
        "text": ["x", "y"],
        "label": [1, 0],
    }


def test_jsonl_bad_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "x", "label": "fake"}\n{"text": oops}\n', encoding="utf-8")
    with pytest.raises(
        FakeNewsError,
        match=re.escape(
            f"JSONL file {path} line 2 is not valid JSON (Expecting value); expected one JSON object per line."
        ),
    ):
        read_input(path, ReadOptions())


def test_unknown_label_values_list_them_and_the_flag(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    pd.DataFrame({"text": ["x", "y", "z"], "label": ["fake", "maybe", "unclear"]}).to_csv(
        path, index=False
    )
    with pytest.raises(FakeNewsError) as info:
        read_input(path, ReadOptions())
    assert str(info.value) == (
        f"{path}: unknown label values 'maybe', 'unclear' in column 'label'; expected fake/real, true/false, "
        "0/1 (1 = fake) or LIAR's six verdicts. Map them with --fake-label VALUE (repeatable) and --real-label VALUE."
    )


def test_fake_label_that_matches_nothing(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    pd.DataFrame({"text": ["x", "y"], "label": ["a", "b"]}).to_csv(path, index=False)
    with pytest.raises(
        FakeNewsError,
        match=re.escape(
            "--fake-label 'c' matches no value of column 'label', which holds 'a', 'b'; pass one of those."
        ),
    ):
        read_input(path, ReadOptions(fake_labels=("c",)))


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    pd.DataFrame({"id": ["1", "1", "2"], "text": ["x", "y", "z"], "label": ["0", "1", "0"]}).to_csv(
        path, index=False
    )
    with pytest.raises(
        FakeNewsError, match=re.escape("ids must be unique, but '1' occur more than once")
    ):
        read_input(path, ReadOptions())


def test_unknown_folder_layout(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(
        FakeNewsError,
        match=re.escape(f"cannot tell the format of folder {tmp_path}: expected a split dir"),
    ):
        read_input(tmp_path, ReadOptions())


def test_unknown_format_option() -> None:
    with pytest.raises(
        FakeNewsError,
        match=re.escape(
            "--format 'xml' is not known; expected one of auto, welfake, csv, jsonl, fakenewsnet, liar, splits."
        ),
    ):
        ReadOptions(format="xml")
