"""prepare --strip-markers / --strip-pattern: source signatures out of title and text, counted."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from fakenews.cli import main
from fakenews.data.markers import BUILTIN_MARKERS, custom_pattern, strip_text
from fakenews.data.prepare import PrepareOptions, prepare
from fakenews.errors import FakeNewsError
from fakenews.splits import SPLITS, load_split_dir

WELFAKE = Path("welfake_sample1000/welfake_sample1000.csv")


@pytest.mark.parametrize(
    ("text", "stripped"),
    [
        # Real openings and endings from ../shared/data.
        (
            "BRUSSELS (Reuters) - British Prime Minister Theresa May s offer",
            "British Prime Minister Theresa May s offer",
        ),
        ("RIO DE JANEIRO/SAO PAULO (Reuters) - Billionaire", "Billionaire"),
        ("WASHINGTON, D.C. (AP) — Earlier", "Earlier"),
        ("Park City, Utah (CNN)Mitt Romney", "Mitt Romney"),
        (
            "to rise.Featured image via William B. Plowman and Spencer Platt / Getty Images",
            "to rise.",
        ),
        (
            "in Langley, Va. (Photo: Saul Loeb, AFP/Getty Images)\r\nNext",
            "in Langley, Va. \r\nNext",
        ),
        ("on Dec. 23, 2016. Ameer Alhalbi/AFP/Getty Images", "on Dec. 23, 2016."),
        ("watch it pic.twitter.com/GMco1PkJiL", "watch it"),
        ("see https://t.co/oXiLXcBRly now", "see  now"),
        ("— NRATV (@NRATV) August 3, 2017", "— NRATV  August 3, 2017"),
        ("Nothing to strip here.", "Nothing to strip here."),
    ],
)
def test_builtin_markers_on_real_snippets(text: str, stripped: str) -> None:
    assert strip_text(text, BUILTIN_MARKERS)[0] == stripped


def test_each_change_is_named_by_its_pattern() -> None:
    text = "LONDON (Reuters) - Talks ended. Photo by Joe Raedle/Getty Images"
    assert strip_text(text, BUILTIN_MARKERS) == ("Talks ended.", ["dateline", "photo_credit"])


@pytest.fixture(scope="module")
def welfake_stripped(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("strip") / "welfake"
    code = main(
        ["prepare", str(shared_data / WELFAKE), "--out", str(out), "--strip-markers", "--quiet"]
    )
    assert code == 0
    return out


def test_welfake_datelines_go_and_the_reuters_shortcut_with_them(
    shared_data: Path, welfake_stripped: Path, tmp_path: Path
) -> None:
    manifest = json.loads((welfake_stripped / "manifest.json").read_text())
    assert [s["name"] for s in manifest["steps"]][:3] == ["read", "strip_markers", "empty"]
    step = manifest["steps"][1]
    changed = {p["name"]: p["articles_changed"] for p in step["patterns"]}
    # The README: 278 real articles carry a `(Reuters) -` dateline; most open the text with it.
    assert changed["dateline"] + changed["agency_tag"] >= 278
    assert step["articles_changed"] <= step["rows_in"] == 1000
    rows = pd.concat(load_split_dir(welfake_stripped).frames[s] for s in SPLITS)
    assert not rows["combined_text"].str.contains("(Reuters)", regex=False).any()
    serial_11 = rows.loc[rows["id"] == "11", "text"].iloc[0]
    assert serial_11.startswith("British Prime Minister Theresa May s offer")
    # The shortcut audit runs on the stripped text: `(Reuters)` is gone, the best rule is weaker.
    plain = prepare([shared_data / WELFAKE], tmp_path / "plain")
    stripped = manifest["shortcuts"]
    assert plain.shortcuts.markers[0].marker == "(Reuters)"
    assert "(Reuters)" not in [m["marker"] for m in stripped["markers"]]
    assert plain.shortcuts.best_rule is not None and plain.shortcuts.best_rule.accuracy is not None
    assert stripped["best_rule"]["accuracy"] < plain.shortcuts.best_rule.accuracy


def test_stripping_comes_before_deduplication(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "title": ["Vote delayed", "Vote delayed", "Other"],
            "text": [
                "The vote was delayed. https://example.com/a",
                "The vote was delayed. https://example.com/b",
                "Something else entirely.",
            ],
            "label": ["0", "0", "1"],
        }
    ).to_csv(data, index=False)
    result = prepare([data], tmp_path / "out", PrepareOptions(split=(0, 0, 1), strip_markers=True))
    steps = {s["name"]: s for s in result.manifest["steps"]}
    assert steps["exact_duplicate"]["groups"] == [{"kept": "a", "removed": ["b"]}]
    test = load_split_dir(tmp_path / "out").frames["test"]
    assert (
        test.loc[test["id"] == "a", "combined_text"].iloc[0] == "Vote delayed The vote was delayed."
    )


def test_own_patterns_are_stripped_and_counted(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    pd.DataFrame(
        {
            "text": ["Story one. SPONSORED", "Story two.", "Story three. Sponsored"],
            "label": ["1", "0", "1"],
        }
    ).to_csv(data, index=False)
    out = tmp_path / "out"
    args = ["prepare", str(data), "--out", str(out), "--split", "0,0,1", "--quiet"]
    assert main([*args, "--strip-pattern", "(?i)\\s*sponsored$", "--strip-pattern", "two"]) == 0
    step = json.loads((out / "manifest.json").read_text())["steps"][1]
    assert step["name"] == "strip_markers"
    assert step["patterns"] == [
        {"name": "custom_1", "pattern": "(?i)\\s*sponsored$", "articles_changed": 2},
        {"name": "custom_2", "pattern": "two", "articles_changed": 1},
    ]
    texts = sorted(load_split_dir(out).frames["test"]["text"])
    assert texts == ["Story .", "Story one.", "Story three."]


def test_a_bad_pattern_is_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "d.csv"
    data.write_text("text,label\na,1\n")
    out = tmp_path / "out"
    assert main(["prepare", str(data), "--out", str(out), "--strip-pattern", "(Reuters", "-q"]) == 1
    assert capsys.readouterr().err == (
        "error: --strip-pattern '(Reuters' is not a valid regular expression "
        "(missing ), unterminated subpattern at position 0); fix it (Python `re` syntax) and quote it for the shell.\n"
    )
    assert not out.exists()
    with pytest.raises(FakeNewsError, match=re.escape("--strip-pattern '[' is not a valid")):
        PrepareOptions(strip_patterns=("[",))
    assert custom_pattern("x+", 3).name == "custom_3"
