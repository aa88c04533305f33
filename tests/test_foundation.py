"""The split dir contract, atomic writes and the CLI's error handling."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from fakenews.cli import main
from fakenews.errors import FakeNewsError
from fakenews.io import atomic_dir
from fakenews.splits import fingerprint, load_split_dir, read_csv_text


def test_tiny_split_dir_loads_with_matching_fingerprint(tiny_split_dir: Path) -> None:
    split = load_split_dir(tiny_split_dir, require_manifest=True)
    assert [len(split.frames[s]) for s in ("train", "validation", "test")] == [40, 12, 12]
    assert split.fingerprint == fingerprint(split.frames)


def test_combined_text_only_split_dir_loads(tmp_path: Path, shared_data: Path) -> None:
    combined = pd.read_csv(
        shared_data / "welfake_sample200" / "welfake_sample200_combined.csv",
        dtype=str,
        keep_default_na=False,
    )
    for name, part in zip(
        ("train", "validation", "test"),
        (combined[:140], combined[140:170], combined[170:]),
        strict=True,
    ):
        part.to_csv(tmp_path / f"{name}.csv", index=False)
    split = load_split_dir(tmp_path)
    assert list(split.frames["train"].columns) == [
        "id",
        "title",
        "text",
        "combined_text",
        "label",
        "source",
    ]
    assert split.frames["train"]["id"].is_unique
    assert set(split.frames["test"]["label"]) == {0, 1}
    assert len(split.fingerprint) == 64


def test_split_dir_missing_file(tmp_path: Path) -> None:
    (tmp_path / "train.csv").write_text("combined_text,label\na,1\n")
    with pytest.raises(FakeNewsError, match=re.escape("is missing validation.csv, test.csv")):
        load_split_dir(tmp_path)


def test_non_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"combined_text,label\nok,1\ncaf\xe9,0\n")
    with pytest.raises(FakeNewsError, match="not UTF-8: byte 0xe9 at line 3"):
        read_csv_text(path)


def test_atomic_dir_leaves_nothing_on_error(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(RuntimeError), atomic_dir(out) as tmp:
        (tmp / "half.txt").write_text("x")
        raise RuntimeError("boom")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_cli_unknown_command_is_one_line_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no-such-command"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: No such command") and "Traceback" not in err


def test_cli_version(capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    from fakenews import __version__

    assert main(["--version"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"fakenews {__version__} (Python ")
    assert f"torch {torch.__version__}" in out
