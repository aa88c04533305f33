"""prepare: cleaning, deduplication, splitting, the manifest, determinism and every bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fakenews.cli import main
from fakenews.data.prepare import PrepareOptions, prepare
from fakenews.errors import FakeNewsError
from fakenews.splits import SPLITS, fingerprint, load_split_dir

WELFAKE = Path("welfake_sample1000/original/WELFake_Dataset_sample_1000.csv")
FILES = ("train.csv", "validation.csv", "test.csv", "manifest.json")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def welfake_split(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("welfake") / "split"
    assert main(["prepare", str(shared_data / WELFAKE), "--out", str(out), "--quiet"]) == 0
    return out


def test_welfake_sample_drops_the_known_duplicates(welfake_split: Path) -> None:
    manifest = json.loads((welfake_split / "manifest.json").read_text())
    steps = {s["name"]: s for s in manifest["steps"]}
    assert [s["name"] for s in manifest["steps"]] == [
        "read",
        "empty",
        "exact_duplicate",
        "near_duplicate",
    ]
    assert steps["read"]["rows_out"] == 1000
    assert steps["empty"]["removed"] == 0  # no row of the sample has both title and text empty
    assert steps["exact_duplicate"]["groups"] == [
        {"kept": "552", "removed": ["630"]},
        {"kept": "660", "removed": ["873"]},
    ]
    assert steps["exact_duplicate"]["removed_ids"] == ["630", "873"]
    loaded = load_split_dir(welfake_split, require_manifest=True)
    ids = set(pd.concat([loaded.frames[s]["id"] for s in SPLITS]))
    assert len(ids) == 998 and not {"630", "873"} & ids
    assert manifest["counts"]["all"] == {"total": 998, "fake": 533, "real": 465}
    for name in SPLITS:
        frame = loaded.frames[name]
        assert manifest["counts"][name] == {
            "total": len(frame),
            "fake": int(frame["label"].sum()),
            "real": int((frame["label"] == 0).sum()),
        }
    # 70/15/15 stratified: each split's fake share within a row of the whole.
    assert [manifest["counts"][s]["total"] for s in SPLITS] == [698, 150, 150]
    assert manifest["split"] == {
        "method": "stratified",
        "ratios": [0.7, 0.15, 0.15],
        "seed": 42,
        "group_by": None,
    }
    assert manifest["fingerprint"] == fingerprint(loaded.frames)
    assert manifest["label_mapping"] == {"0": "real", "1": "fake"}
    assert (
        manifest["inputs"][0]["sha256"]
        == "61d183b28e0ca57cb3fd9b34efbd74195fdab5497e0d7366c6ae92fe7a34a17f"
    )
    assert (
        manifest["leakage"]["exact_cross_split"] == 0
        and manifest["leakage"]["near_cross_split"] == 0
    )
    train = loaded.frames["train"]
    assert list(train.columns) == ["id", "title", "text", "combined_text", "label", "source"]
    row = train.iloc[0]
    assert row["combined_text"] == f"{row['title']} {row['text']}".strip()


def test_same_input_and_seed_give_byte_identical_files(
    shared_data: Path, welfake_split: Path, tmp_path: Path
) -> None:
    again = tmp_path / "again"
    assert main(["prepare", str(shared_data / WELFAKE), "--out", str(again), "--quiet"]) == 0
    for name in FILES:
        assert (again / name).read_bytes() == (welfake_split / name).read_bytes(), name
    other_seed = tmp_path / "seed7"
    assert (
        main(
            [
                "prepare",
                str(shared_data / WELFAKE),
                "--out",
                str(other_seed),
                "--seed",
                "7",
                "--quiet",
            ]
        )
        == 0
    )
    assert (other_seed / "test.csv").read_bytes() != (welfake_split / "test.csv").read_bytes()


def test_prepare_prints_step_counts_and_the_path(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "fnn"
    code, stdout, stderr = run(
        capsys, "prepare", shared_data / "fakenewsnet_politifact/raw", "--out", out
    )
    assert code == 0 and stdout == f"{out}\n"
    assert "exact_duplicate" in stderr and "near_duplicate" in stderr
    manifest = json.loads((out / "manifest.json").read_text())
    exact = next(s for s in manifest["steps"] if s["name"] == "exact_duplicate")
    # The README's crawl failures: Real_27 = 52 = 57, 41 = 77, 8 = 9, 26 = 95, 42 = 97, Fake_23 = 36, 29 = 37.
    assert sorted(exact["removed_ids"]) == sorted(
        f"PolitiFact_{x}"
        for x in (
            "Real_52",
            "Real_57",
            "Real_77",
            "Real_9",
            "Real_95",
            "Real_97",
            "Fake_36",
            "Fake_37",
        )
    )
    assert manifest["counts"]["all"]["total"] == 232


def test_evaluation_only_split(shared_data: Path, tmp_path: Path) -> None:
    result = prepare(
        [shared_data / "horne2017/horne2017_random.csv"],
        tmp_path / "horne",
        PrepareOptions(split=(0, 0, 1)),
    )
    assert result.counts == {
        "train": {"total": 0, "fake": 0, "real": 0},
        "validation": {"total": 0, "fake": 0, "real": 0},
        "test": {"total": 150, "fake": 75, "real": 75},
    }
    loaded = load_split_dir(tmp_path / "horne")
    assert loaded.frames["train"].empty and len(loaded.frames["test"]) == 150
    assert loaded.frames["test"]["combined_text"].str.contains("\r\n").any()  # texts unchanged


def test_predefined_split_of_a_split_dir_is_kept(shared_data: Path, tmp_path: Path) -> None:
    combined = pd.read_csv(
        shared_data / "welfake_sample200/welfake_sample200_combined.csv",
        dtype=str,
        keep_default_na=False,
    )
    external = tmp_path / "external"
    external.mkdir()
    for name, part in zip(SPLITS, (combined[:140], combined[140:170], combined[170:]), strict=True):
        part.to_csv(external / f"{name}.csv", index=False)
    result = prepare([external], tmp_path / "out")
    assert result.manifest["split"]["method"] == "predefined"
    assert [result.counts[s]["total"] for s in SPLITS] == [140, 30, 30]
    resplit = prepare([external], tmp_path / "resplit", PrepareOptions(split=(0.5, 0.25, 0.25)))
    assert [resplit.counts[s]["total"] for s in SPLITS] == [100, 50, 50]


def test_liar_folder_keeps_the_official_split(shared_data: Path, tmp_path: Path) -> None:
    result = prepare([shared_data / "liar/raw"], tmp_path / "liar")
    manifest = result.manifest
    assert manifest["split"]["method"] == "predefined"
    assert manifest["inputs"][0]["predefined_split"] == {
        "train": 10269,
        "validation": 1284,
        "test": 1283,
    }
    exact = next(s for s in manifest["steps"] if s["name"] == "exact_duplicate")
    # The README's conflicting pair (5919.json / 8882.json) is dropped whole, and listed.
    assert any({"5919.json", "8882.json"} <= set(group["ids"]) for group in exact["conflicting"])
    # LIAR's cross-split repeats (6622 train = 6370 test) are gone: the first (train) copy stays.
    ids = {s: set(load_split_dir(tmp_path / "liar").frames[s]["id"]) for s in SPLITS}
    assert "6622.json" in ids["train"] and "6370.json" not in ids["test"]
    assert (
        manifest["leakage"]["exact_cross_split"] == 0
        and manifest["leakage"]["near_cross_split"] == 0
    )


def synthetic(n: int = 60, *, seed: int = 0, words: int = 80) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    vocab = [f"w{i}" for i in range(5000)]
    rows = [
        {
            "id": f"a{i}",
            "title": f"headline {i}",
            "text": " ".join(rng.choice(vocab, words)),
            "label": str(i % 2),
            "site": f"site{i % 12}",
        }
        for i in range(n)
    ]
    return pd.DataFrame(rows)


def test_near_duplicate_clusters_stay_in_one_split_or_are_dropped(tmp_path: Path) -> None:
    frame = synthetic()
    copies = []
    for i in range(5):  # one word of 80 changed: 75 of 81 shingles shared, Jaccard 0.926
        words = frame.loc[i, "text"].split()
        words[40] = "changed"
        copies.append(
            {
                "id": f"copy{i}",
                "title": frame.loc[i, "title"],
                "text": " ".join(words),
                "label": frame.loc[i, "label"],
                "site": "x",
            }
        )
    data = tmp_path / "d.csv"
    pd.concat([frame, pd.DataFrame(copies)]).to_csv(data, index=False)
    kept = prepare([data], tmp_path / "kept", PrepareOptions(split=(0.5, 0.25, 0.25)))
    near = next(s for s in kept.manifest["steps"] if s["name"] == "near_duplicate")
    assert near["clusters"] == [
        {"ids": [f"a{i}", f"copy{i}"], "labels": [i % 2, i % 2]} for i in range(5)
    ]
    assert (
        near["removed"] == 0
        and kept.counts["train"]["total"]
        + kept.counts["validation"]["total"]
        + kept.counts["test"]["total"]
        == 65
    )
    split_of = {
        row_id: s for s in SPLITS for row_id in load_split_dir(tmp_path / "kept").frames[s]["id"]
    }
    assert all(split_of[f"a{i}"] == split_of[f"copy{i}"] for i in range(5))
    dropped = prepare([data], tmp_path / "dropped", PrepareOptions(drop_near_duplicates=True))
    near = next(s for s in dropped.manifest["steps"] if s["name"] == "near_duplicate")
    assert near["removed_ids"] == [f"copy{i}" for i in range(5)] and near["action"] == "drop"
    off = prepare([data], tmp_path / "off", PrepareOptions(near_duplicates=0))
    assert (
        next(s for s in off.manifest["steps"] if s["name"] == "near_duplicate")["action"] == "off"
    )
    assert off.manifest["leakage"]["near_cross_split"] is None


def test_group_by_keeps_each_value_in_one_split(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    synthetic(120).to_csv(data, index=False)
    result = prepare([data], tmp_path / "g", PrepareOptions(group_by="site"))
    assert result.manifest["split"]["method"] == "stratified-group"
    sites = {
        s: set(
            load_split_dir(tmp_path / "g").frames[s]["id"].map(lambda i: f"site{int(i[1:]) % 12}")
        )
        for s in SPLITS
    }
    assert (
        not sites["train"] & sites["validation"]
        and not sites["train"] & sites["test"]
        and not sites["validation"] & sites["test"]
    )
    assert all(result.counts[s]["total"] > 0 for s in SPLITS)


def test_empty_rows_and_conflicting_duplicates_are_removed_and_listed(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    pd.DataFrame(
        {
            "id": ["e", "c1", "c2", "d1", "d2", "ok"],
            "title": ["  ", "Same story", "same STORY!", "t", "t", "other"],
            "text": ["", "It happened.", "it   happened", "body", "body", "text"],
            "label": ["1", "1", "0", "0", "0", "1"],
        }
    ).to_csv(data, index=False)
    result = prepare([data], tmp_path / "out", PrepareOptions(split=(0, 0, 1)))
    steps = {s["name"]: s for s in result.manifest["steps"]}
    assert steps["empty"]["removed_ids"] == ["e"]
    assert steps["exact_duplicate"]["conflicting"] == [{"ids": ["c1", "c2"], "labels": [1, 0]}]
    assert steps["exact_duplicate"]["groups"] == [{"kept": "d1", "removed": ["d2"]}]
    assert sorted(load_split_dir(tmp_path / "out").frames["test"]["id"]) == ["d1", "ok"]


def test_min_text_chars_drops_the_dead_politifact_pages(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The README: PolitiFact_Fake_24 and _47 are dead pages, a boilerplate title and no text.
    out = tmp_path / "fnn"
    code, _, stderr = run(
        capsys, "prepare", shared_data / "fakenewsnet_politifact/raw", "--out", out,
        "--min-text-chars", "1",
    )  # fmt: skip
    assert code == 0
    assert "short_text" in stderr and "PolitiFact_Fake_24" in stderr
    manifest = json.loads((out / "manifest.json").read_text())
    short = next(s for s in manifest["steps"] if s["name"] == "short_text")
    assert short["removed_ids"] == ["PolitiFact_Fake_24", "PolitiFact_Fake_47"]
    assert (short["rows_in"], short["removed"], short["min_text_chars"]) == (240, 2, 1)
    assert manifest["counts"]["all"]["total"] == 230
    # Off by default: the step is not there and both pages stay.
    default = prepare([shared_data / "fakenewsnet_politifact/raw"], tmp_path / "default")
    assert "short_text" not in [s["name"] for s in default.manifest["steps"]]
    ids = pd.concat(load_split_dir(tmp_path / "default").frames.values())["id"].tolist()
    assert "PolitiFact_Fake_47" in ids


def test_inputs_sharing_ids_get_prefixed(tmp_path: Path) -> None:
    for folder, texts in (("a", ["x one", "x two"]), ("b", ["y one", "y two"])):
        (tmp_path / folder).mkdir()
        pd.DataFrame({"id": ["1", "2"], "text": texts, "label": ["0", "1"]}).to_csv(
            tmp_path / folder / "d.csv", index=False
        )
    result = prepare(
        [tmp_path / "a/d.csv", tmp_path / "b/d.csv"],
        tmp_path / "out",
        PrepareOptions(split=(0, 0, 1)),
    )
    assert sorted(load_split_dir(tmp_path / "out").frames["test"]["id"]) == [
        "input1/1",
        "input1/2",
        "input2/1",
        "input2/2",
    ]
    assert [i["rows"] for i in result.manifest["inputs"]] == [2, 2]


def test_bad_options_in_the_library() -> None:
    with pytest.raises(FakeNewsError, match="--near-duplicates must be a Jaccard threshold in"):
        PrepareOptions(near_duplicates=1.5)
    with pytest.raises(FakeNewsError, match="--split ratios must sum to 1"):
        PrepareOptions(split=(0.5, 0.5, 0.5))
    with pytest.raises(FakeNewsError, match=r"--min-text-chars must be 0 \(off\) or a positive"):
        PrepareOptions(min_text_chars=-1)


# ----------------------------------------------------------------- bad input: one line, exit 1, nothing written


def csv_file(tmp_path: Path, content: bytes | str, name: str = "in.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


BAD_INPUTS = {
    "missing file": (
        lambda t: t / "nope.csv",
        [],
        "expected an input file or folder at {p}, found nothing there; check the path.",
    ),
    "directory where a file belongs": (
        lambda t: (t / "adir").mkdir() or t / "adir",
        ["--format", "csv"],
        "expected CSV file at {p}, found a directory; pass the file inside it (or --format fakenewsnet|liar|splits for a folder of those).",
    ),
    "empty file": (
        lambda t: csv_file(t, ""),
        [],
        "CSV file {p} is empty; expected a header row and at least one data row.",
    ),
    "header only": (
        lambda t: csv_file(t, "title,text,label\n"),
        [],
        "CSV file {p} has a header but no data rows; expected at least one article.",
    ),
    "missing text column": (
        lambda t: csv_file(t, "title,label\na,1\n"),
        [],
        "{p}: expected a text column ('text' or 'combined_text'), found columns title, label; name it with --text-column.",
    ),
    "missing label column": (
        lambda t: csv_file(t, "title,text\na,b\n"),
        [],
        "{p}: expected a label column ('label'), found columns title, text; name it with --label-column.",
    ),
    "missing title column": (
        lambda t: csv_file(t, "text,label\nb,1\n"),
        ["--title-column", "headline"],
        "{p}: --title-column 'headline' names no column; found columns text, label.",
    ),
    "unknown label values": (
        lambda t: csv_file(t, "text,label\na,fake\nb,satire\n"),
        [],
        "{p}: unknown label values 'satire' in column 'label'; expected fake/real, true/false, 0/1 (1 = fake) or LIAR's six verdicts. Map them with --fake-label VALUE (repeatable) and --real-label VALUE.",
    ),
    "non-UTF-8 bytes": (
        lambda t: csv_file(t, b'title,text,label\na,"two\nlines",1\ncaf\xe9,x,0\n'),
        [],
        "CSV file {p} is not UTF-8: byte 0xe9 in data row 2 (line 4); re-encode the file as UTF-8 (e.g. `iconv -f cp1252 -t utf-8`).",
    ),
    "binary garbage": (
        lambda t: csv_file(t, b"title,text,label\n" + bytes(range(256))),
        [],
        "CSV file {p} contains binary data (a NUL byte in data row 1 (line 2)); expected UTF-8 text.",
    ),
    "unterminated quote": (
        lambda t: csv_file(t, 'title,text,label\na,"unterminated,1\nb,c,0\n'),
        [],
        "CSV file {p} is not valid CSV (EOF inside string starting at row 1); check for an unterminated quote or a stray delimiter there.",
    ),
    "negative split ratio": (
        lambda t: csv_file(t, "text,label\na,1\n"),
        ["--split=-0.1,0.6,0.5"],
        "--split ratios must not be negative, got -0.1,0.6,0.5; e.g. 0.7,0.15,0.15.",
    ),
    "split ratios not summing to 1": (
        lambda t: csv_file(t, "text,label\na,1\n"),
        ["--split", "0.5,0.2,0.2"],
        "--split ratios must sum to 1, got 0.5,0.2,0.2 (sum 0.9); e.g. 0.7,0.15,0.15.",
    ),
    "group-by naming no column": (
        lambda t: csv_file(t, "text,label\na,1\n"),
        ["--group-by", "site"],
        "--group-by 'site' names no column of the input; found columns id, title, text, label, source.",
    ),
    "split dir missing a file": (
        lambda t: (
            (t / "sd").mkdir()
            or csv_file(t / "sd", "combined_text,label\na,1\n", "train.csv").parent
        ),
        [],
        "split dir {p} is missing validation.csv, test.csv; expected train.csv, validation.csv and test.csv (create it with `fakenews prepare`).",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_line_exit_1_and_writes_nothing(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make, extra, message = BAD_INPUTS[case]
    work = tmp_path / "work"
    work.mkdir()
    path = make(work)
    out = tmp_path / "out"
    code, stdout, stderr = run(capsys, "prepare", path, "--out", out, *extra, "--quiet")
    assert code == 1
    assert stderr == f"error: {message.format(p=path)}\n"
    assert stdout == ""
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["work"]


def test_non_empty_out_is_refused_unless_force(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    data = shared_data / "horne2017/horne2017_random.csv"
    code, _, stderr = run(capsys, "prepare", data, "--out", out, "--quiet")
    assert code == 1
    assert (
        stderr
        == f"error: split dir {out} already exists and is not empty; choose a new --out or pass --force to replace it.\n"
    )
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    code, stdout, _ = run(capsys, "prepare", data, "--out", out, "--force", "--quiet")
    assert code == 0 and stdout == f"{out}\n"
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
