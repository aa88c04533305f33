"""``fakenews predict`` reads bad input and writes output the careful way (issue 17, part 2).

Every refusal is one ``error:`` line, exit 1, no traceback and no output left behind.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pandas as pd
import pytest

from fakenews.cli import main
from fakenews.predict import predict_file, predict_texts
from fakenews.predict_output import csv_cell
from test_predict import RecordingPredictor

ICONV = "re-encode it as UTF-8 (e.g. `iconv -f cp1252 -t utf-8`)."


def cli_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """The one error line of a failing command (exit 1, nothing on stdout, no traceback)."""
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 1, captured.err
    assert "Traceback" not in captured.err
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    return lines[0].removeprefix("error: ")


def predict_argv(run: Path, src: Path | str, *more: str) -> list[str]:
    return ["predict", str(run), "--input", str(src), "-q", *more]


# --------------------------------------------------------------------------- undecodable input


def test_a_binary_file_is_refused_naming_the_line_and_byte_offset(
    tiny_baseline_run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    png = tmp_path / "image.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    out = tmp_path / "out.csv"
    assert cli_error(capsys, predict_argv(tiny_baseline_run_dir, png, "-o", str(out))) == (
        f"{png} is not UTF-8: byte 0x89 on line 1 (byte offset 0); {ICONV}"
    )
    nul = tmp_path / "nul.txt"
    nul.write_bytes(b"id,text\n1,hello\n2,wor\x00ld\n")
    assert cli_error(capsys, predict_argv(tiny_baseline_run_dir, nul, "-o", str(out))) == (
        f"{nul} looks binary: a NUL byte on line 3 (byte offset 21); expected UTF-8 text "
        "(CSV, JSONL, one article per line) or Parquet (a .parquet file or --format parquet)."
    )
    assert not out.exists()


def test_a_bad_byte_far_into_stdin_names_its_line(
    tiny_baseline_run_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    good = b"".join(b"article number %d\r\n" % i for i in range(1, 5001))
    stdin = io.TextIOWrapper(io.BytesIO(good + b"caf\xe9\r\n"), encoding="utf-8")
    monkeypatch.setattr("sys.stdin", stdin)
    assert cli_error(capsys, predict_argv(tiny_baseline_run_dir, "-")) == (
        f"stdin is not UTF-8: byte 0xe9 on line 5001 (byte offset {len(good) + 3}); {ICONV}"
    )


@pytest.mark.parametrize(
    ("name", "body", "expected_format"),
    [
        ("noext", "id,text\r1,first article\r2,second article\r", "csv"),
        ("lines.txt", "first article\rsecond article\r", "txt"),
        ("rows.jsonl", '{"id": "1", "text": "first article"}\r{"id": "2", "text": "second"}\r', "jsonl"),
    ],
)  # fmt: skip
def test_carriage_return_line_ends_are_accepted_in_files(
    tiny_baseline_run_dir: Path, tmp_path: Path, name: str, body: str, expected_format: str
) -> None:
    src = tmp_path / name
    src.write_bytes(body.encode("utf-8"))
    stub = RecordingPredictor()
    result = predict_file(tiny_baseline_run_dir, src, tmp_path / "out.csv", predictor=stub)
    assert result.format == expected_format and result.n == 2
    assert stub.seen[0] == "first article"
    assert pd.read_csv(tmp_path / "out.csv", dtype=str)["id"].tolist() == ["1", "2"]


def test_carriage_return_line_ends_are_accepted_on_stdin(
    tiny_baseline_run_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(b"id,text\r7,first article\r8,second one\r"), newline="")
    monkeypatch.setattr("sys.stdin", stdin)
    assert main(predict_argv(tiny_baseline_run_dir, "-")) == 0
    frame = pd.read_csv(io.StringIO(capsys.readouterr().out), dtype=str)
    assert frame["id"].tolist() == ["7", "8"]


# --------------------------------------------------------------------------- invalid Unicode


def test_lone_surrogates_in_texts_become_the_replacement_character(
    tiny_run_dir: Path, tiny_baseline_run_dir: Path, tmp_path: Path
) -> None:
    # the transformer's tokenizer raised TypeError on these; now it sees U+FFFD
    preds = predict_texts(tiny_run_dir, ["caf\udce9 au lait", "plain text"])
    assert len(preds) == 2 and all(0.0 <= p.prob_fake <= 1.0 for p in preds)
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "bad \\ud800 text"}\n{"text": "fine"}\n', encoding="utf-8")
    stub = RecordingPredictor()
    predict_file(tiny_baseline_run_dir, src, tmp_path / "out.csv", predictor=stub)
    assert stub.seen == ["bad \ufffd text", "fine"]


def test_cli_text_with_undecodable_argv_bytes_is_scored_and_echoed(
    tiny_baseline_run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["predict", str(tiny_baseline_run_dir), "na\udcefve article", "-q"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    label, _prob, snippet = captured.out.strip().split("\t")
    assert label in ("fake", "real") and snippet == "na\ufffdve article"


def test_an_id_with_a_lone_surrogate_is_refused_before_any_output(
    tiny_baseline_run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in.jsonl"
    good = "".join(json.dumps({"id": f"a{i}", "text": f"article {i}"}) + "\n" for i in range(1500))
    src.write_text(good + '{"id": "x\\ud800", "text": "hello"}\n', encoding="utf-8")
    assert cli_error(capsys, predict_argv(tiny_baseline_run_dir, src)) == (
        f"{src} line 1501: the id 'x\\ud800' holds an invalid Unicode character (a lone "
        "surrogate); expected valid Unicode text; fix that id."
    )  # and nothing on stdout (checked by cli_error)
    src.write_text('{"id": {"a": 1}, "text": "hello"}\n', encoding="utf-8")
    assert cli_error(capsys, predict_argv(tiny_baseline_run_dir, src)) == (
        f"{src} line 1: the id is an object; expected a string or a number."
    )


def test_a_jsonl_line_nested_100000_deep_is_one_line(
    tiny_baseline_run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "deep.jsonl"
    deep = '{"text": "ok", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    src.write_text('{"text": "fine"}\n' + deep + "\n", encoding="utf-8")
    assert cli_error(capsys, predict_argv(tiny_baseline_run_dir, src)) == (
        f"{src} line 2 is nested too deeply to read; expected one flat JSON object per line, "
        'such as {"id": "a1", "text": "..."}.'
    )


# --------------------------------------------------------------------------- output


def test_a_bad_row_after_a_thousand_good_ones_leaves_no_output_and_no_new_folder(
    tiny_baseline_run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in.csv"
    rows = [f"{i},article number {i}" for i in range(1, 1001)]
    src.write_text("id,text\n" + "\n".join(rows) + '\n1001,"  "\n', encoding="utf-8")
    out = tmp_path / "new" / "deeper" / "out.csv"
    err = cli_error(capsys, predict_argv(tiny_baseline_run_dir, src, "-o", str(out), "--chunk-size", "100"))  # fmt: skip
    assert err == (
        f"{src} row 1001 (header not counted) has an empty 'text'; fill it or remove the row."
    )
    assert not (tmp_path / "new").exists()
    # stdout: nothing at all (cli_error checks), although ten chunks were scored first
    assert cli_error(capsys, predict_argv(tiny_baseline_run_dir, src, "--chunk-size", "100")) == err


def test_the_input_itself_is_refused_as_output_also_through_links(
    tiny_baseline_run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in.csv"
    src.write_text("id,text\n1,an article\n", encoding="utf-8")
    before = src.read_bytes()
    (tmp_path / "sym.csv").symlink_to(src)
    os.link(src, tmp_path / "hard.csv")
    for out in (src, tmp_path / "sym.csv", tmp_path / "hard.csv", tmp_path / "." / "in.csv"):
        assert cli_error(capsys, predict_argv(tiny_baseline_run_dir, src, "-o", str(out))) == (
            f"--output {out} is the input file {src} (the same file, maybe through a link); "
            "writing there would destroy the input; choose another --output."
        )
    assert src.read_bytes() == before


def test_an_output_that_cannot_be_written_is_one_line(
    tiny_baseline_run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in.csv"
    src.write_text("id,text\n1,an article\n", encoding="utf-8")
    out = src / "sub" / "out.csv"
    assert cli_error(capsys, predict_argv(tiny_baseline_run_dir, src, "-o", str(out))) == (
        f"cannot write --output {out}: {src} is a file, not a folder; "
        "choose a path in a folder you can write to."
    )
    proc = Path("/proc/fakenews-out.csv")
    err = cli_error(capsys, predict_argv(tiny_baseline_run_dir, src, "-o", str(proc)))
    assert err.startswith(f"cannot write --output {proc}: ")
    assert err.endswith("; choose a path in a folder you can write to.")
    assert cli_error(capsys, predict_argv(tiny_baseline_run_dir, src, "-o", str(tmp_path))) == (
        f"--output {tmp_path} is a directory; expected a file path such as "
        f"{tmp_path / 'predictions.csv'}."
    )


def test_csv_cells_that_a_spreadsheet_would_run_are_escaped(
    tiny_baseline_run_dir: Path, tmp_path: Path
) -> None:
    ids = ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)", "\tz", "\rq", "plain", "a,b"]
    src = tmp_path / "in.jsonl"
    src.write_text(
        "".join(json.dumps({"id": i, "text": f"article {n}"}) + "\n" for n, i in enumerate(ids)),
        encoding="utf-8",
    )
    predict_file(tiny_baseline_run_dir, src, tmp_path / "out.csv", predictor=RecordingPredictor())
    frame = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert frame["id"].tolist() == [
        "'=HYPERLINK(\"http://x\",\"y\")", "'+1", "'-2", "'@SUM(A1)", "'\tz", "'\rq", "plain", "a,b",
    ]  # fmt: skip
    assert csv_cell("=1+2") == "'=1+2" and csv_cell("x\ry") == '"x\ry"'
    predict_file(tiny_baseline_run_dir, src, tmp_path / "out.jsonl", predictor=RecordingPredictor())
    lines = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == ids  # JSONL keeps ids as they are


def test_batch_size_below_one_is_refused_for_every_backend_and_command(
    tiny_baseline_run_dir: Path, tiny_run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for run in (tiny_baseline_run_dir, tiny_run_dir):
        for size in ("0", "-3"):
            assert cli_error(capsys, ["predict", str(run), "some text", "--batch-size", size]) == (
                f"--batch-size must be at least 1; found {size}."
            )
    assert cli_error(capsys, ["serve", str(tiny_baseline_run_dir), "--batch-size", "0"]) == (
        "--batch-size must be at least 1; found 0."
    )
    assert cli_error(
        capsys, ["benchmark", str(tiny_baseline_run_dir), "--batch-size", "0", "--n-articles", "4"]
    ) == ("batch sizes must be positive integers; found [0].")
