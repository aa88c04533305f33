"""prepare A B C: pooled data sets, a dataset column, and --group-by dataset / source."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from fakenews.cli import main
from fakenews.data.prepare import PrepareOptions, parse_input, prepare
from fakenews.errors import FakeNewsError
from fakenews.splits import COLUMNS, SPLITS, load_split_dir

POLITIFACT = Path("fakenewsnet_politifact/fakenewsnet_politifact.csv")
HORNE_RANDOM = Path("horne2017/horne2017_random.csv")
HORNE_BUZZFEED = Path("horne2017/horne2017_buzzfeed.csv")


def read_split(out: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(out / f"{name}.csv", dtype=str, keep_default_na=False)


def test_name_equals_path_names_an_input(tmp_path: Path) -> None:
    assert parse_input("politifact=data/p.csv") == ("politifact", Path("data/p.csv"))
    assert parse_input("data/p.csv") == (None, Path("data/p.csv"))
    odd = tmp_path / "a=b.csv"  # a file whose name has "=" stays a path
    odd.write_text("text,label\nx,1\n")
    assert parse_input(odd) == (None, odd)


def test_pooled_inputs_get_a_dataset_column_and_keep_their_source(
    shared_data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "pooled"
    inputs = [f"pf={shared_data / POLITIFACT}", shared_data / HORNE_RANDOM]
    result = prepare(inputs, out, PrepareOptions(min_text_chars=1))
    train = read_split(out, "train")
    assert list(train.columns) == [*COLUMNS, "dataset"]
    rows = pd.concat(read_split(out, s) for s in SPLITS)
    assert rows.groupby("dataset")["source"].unique().map(list).to_dict() == {
        "horne2017_random": ["horne2017-random"],
        "pf": ["politifact"],
    }
    assert [i["dataset"] for i in result.manifest["inputs"]] == ["pf", "horne2017_random"]
    by_dataset = result.manifest["counts_by_dataset"]
    assert sum(c["total"] for c in by_dataset["pf"].values()) == (rows["dataset"] == "pf").sum()
    # The split files still load through the split dir contract (which keeps its six columns).
    loaded = load_split_dir(out)
    assert sum(len(loaded.frames[s]) for s in SPLITS) == len(rows)


def test_a_single_input_has_no_dataset_column(shared_data: Path, tmp_path: Path) -> None:
    result = prepare([shared_data / HORNE_RANDOM], tmp_path / "one")
    assert list(read_split(tmp_path / "one", "test").columns) == list(COLUMNS)
    assert "counts_by_dataset" not in result.manifest
    assert result.manifest["inputs"][0]["dataset"] == "horne2017_random"


def test_group_by_dataset_keeps_each_data_set_in_one_split(
    shared_data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "grouped"
    code = main(
        [
            "prepare",
            str(shared_data / POLITIFACT),
            str(shared_data / HORNE_RANDOM),
            str(shared_data / HORNE_BUZZFEED),
            "--out",
            str(out),
            "--group-by",
            "dataset",
            "--quiet",
        ]
    )
    assert code == 0
    splits_of = {}
    for name in SPLITS:
        for dataset in read_split(out, name)["dataset"].unique():
            splits_of.setdefault(dataset, []).append(name)
    assert sorted(splits_of) == ["fakenewsnet_politifact", "horne2017_buzzfeed", "horne2017_random"]
    assert all(len(where) == 1 for where in splits_of.values())
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["split"]["method"] == "stratified-group"
    assert manifest["split"]["group_by"] == "dataset"


def test_group_by_source_keeps_each_site_in_one_split(tmp_path: Path) -> None:
    data = tmp_path / "sites.csv"
    pd.DataFrame(
        {
            "text": [f"article number {i} about topic {i % 7}" for i in range(60)],
            "label": [str(i % 2) for i in range(60)],
            "source": [f"site{i % 10}.com" for i in range(60)],
        }
    ).to_csv(data, index=False)
    prepare([data], tmp_path / "out", PrepareOptions(group_by="source"))
    sites = {s: set(read_split(tmp_path / "out", s)["source"]) for s in SPLITS}
    assert not sites["train"] & sites["validation"] and not sites["train"] & sites["test"]
    assert not sites["validation"] & sites["test"]
    assert set().union(*sites.values()) == {f"site{i}.com" for i in range(10)}


def test_group_by_dataset_needs_several_inputs(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    args = ["prepare", str(shared_data / HORNE_RANDOM), "--out", str(out), "--group-by", "dataset"]
    assert main([*args, "--quiet"]) == 1
    assert capsys.readouterr().err == (
        "error: --group-by dataset needs several inputs (the dataset column names the input each row came from); "
        "found one input: pass several, or --group-by source.\n"
    )
    assert not out.exists()


def test_one_name_for_two_inputs_is_refused(shared_data: Path, tmp_path: Path) -> None:
    inputs = [f"news={shared_data / HORNE_RANDOM}", f"news={shared_data / HORNE_BUZZFEED}"]
    with pytest.raises(
        FakeNewsError,
        match=re.escape(
            "data set name 'news' is given to several inputs; give each input its own NAME=PATH name."
        ),
    ):
        prepare(inputs, tmp_path / "out")
    assert not (tmp_path / "out").exists()
