"""``fakenews predict``: texts, files (CSV, JSONL, plain text) and stdin, streamed in chunks."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fakenews.cli import main
from fakenews.errors import FakeNewsError
from fakenews.predict import OUTPUT_COLUMNS, Prediction, predict_file, predict_texts
from fakenews.predictors import InferenceOptions, load_predictor


class RecordingPredictor:
    """Stands in for a model: P(fake) grows with the text's length; remembers what it saw."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        fake = np.array([min(len(t) / 100.0, 1.0) for t in texts], dtype=np.float64)
        return np.column_stack([1.0 - fake, fake])

    @property
    def seen(self) -> list[str]:
        return [t for call in self.calls for t in call]


def read_out(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"id": str, "label_name": str})


# --------------------------------------------------------------------------- with the real tiny model


def test_predict_texts_returns_one_prediction_per_text(tiny_run_dir: Path) -> None:
    texts = [
        "Senate passes the budget bill after a long debate.",
        "Aliens endorse a candidate, sources say.",
    ]
    preds = predict_texts(tiny_run_dir, texts)
    assert len(preds) == 2 and all(isinstance(p, Prediction) for p in preds)
    probs = load_predictor(tiny_run_dir).predict_proba(texts)
    for p, row in zip(preds, probs, strict=True):
        assert 0.0 <= p.prob_fake <= 1.0
        assert p.prob_fake == pytest.approx(row[1], abs=1e-9)
        assert p.pred == int(row[1] > row[0])
        assert p.label_name == ("fake" if p.pred == 1 else "real")


def test_cli_predict_texts_prints_label_and_probability(
    tiny_run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "predict",
            str(tiny_run_dir),
            "First article about taxes.",
            "Second one, about space.",
            "--quiet",
        ]
    )
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    assert len(out) == 2
    for line, text in zip(
        out, ["First article about taxes.", "Second one, about space."], strict=True
    ):
        label, prob, snippet = line.split("\t")
        assert label in ("fake", "real")
        assert 0.0 <= float(prob) <= 1.0
        assert snippet == text


def test_cli_predict_csv_file_keeps_input_order(
    tiny_run_dir: Path, tiny_split_dir: Path, tmp_path: Path
) -> None:
    test = pd.read_csv(tiny_split_dir / "test.csv", dtype=str, keep_default_na=False)
    out = tmp_path / "preds.csv"
    code = main(
        [
            "predict",
            str(tiny_run_dir),
            "--input",
            str(tiny_split_dir / "test.csv"),
            "--output",
            str(out),
            "-q",
            "--chunk-size",
            "5",
        ]
    )
    assert code == 0
    frame = read_out(out)
    assert list(frame.columns) == list(OUTPUT_COLUMNS)
    assert frame["id"].tolist() == test["id"].tolist()
    expected = load_predictor(tiny_run_dir).predict_proba(test["combined_text"].tolist())[:, 1]
    np.testing.assert_allclose(frame["prob_fake"].to_numpy(), expected, atol=1e-9)
    assert ((frame["prob_fake"] > 0.5) == (frame["pred"] == 1)).all()


def test_cli_predict_stdin_plain_text(
    tiny_run_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("first article line\n\nsecond article line\n"))
    code = main(["predict", str(tiny_run_dir), "--input", "-", "-q"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    frame = pd.read_csv(io.StringIO(captured.out), dtype={"id": str})
    assert frame["id"].tolist() == ["1", "3"]  # line numbers; the blank line is no article
    assert set(frame["label_name"]) <= {"fake", "real"}


def test_predict_file_with_onnx_backend_needs_an_export(tiny_run_dir: Path, tmp_path: Path) -> None:
    text = tmp_path / "a.txt"
    text.write_text("one article\n", encoding="utf-8")
    with pytest.raises(FakeNewsError, match=re.escape("--backend onnx needs the ONNX export")):
        predict_file(
            tiny_run_dir, text, tmp_path / "out.csv", options=InferenceOptions(backend="onnx")
        )


# --------------------------------------------------------------------------- reading files (stub model)


def test_chunked_reading_gives_the_same_rows_in_order(tiny_run_dir: Path, tmp_path: Path) -> None:
    rows = pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(23)],
            "text": [f"article number {i} " * (i + 1) for i in range(23)],
        }
    )
    src = tmp_path / "in.csv"
    rows.to_csv(src, index=False)
    small, big = RecordingPredictor(), RecordingPredictor()
    predict_file(tiny_run_dir, src, tmp_path / "a.csv", chunk_size=4, predictor=small)
    predict_file(tiny_run_dir, src, tmp_path / "b.csv", chunk_size=1000, predictor=big)
    assert [len(c) for c in small.calls] == [4, 4, 4, 4, 4, 3]
    assert small.seen == big.seen == rows["text"].tolist()
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert read_out(tmp_path / "a.csv")["id"].tolist() == rows["id"].tolist()


def test_title_and_text_are_combined_like_training(tiny_run_dir: Path, tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    pd.DataFrame({"title": ["Big news", ""], "text": ["the body", "no title here"]}).to_csv(
        src, index=False
    )
    stub = RecordingPredictor()
    result = predict_file(tiny_run_dir, src, tmp_path / "out.csv", predictor=stub)
    assert stub.seen == ["Big news the body", "no title here"]
    assert result.text_column == "text" and result.n == 2
    assert read_out(tmp_path / "out.csv")["id"].tolist() == ["1", "2"]  # no id column: row numbers


def test_jsonl_with_text_column_option_and_ids(tiny_run_dir: Path, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    lines = [{"id": 10, "body": "alpha"}, {"body": "beta gamma"}]
    src.write_text("\n".join(json.dumps(x) for x in lines) + "\n\n", encoding="utf-8")
    stub = RecordingPredictor()
    result = predict_file(
        tiny_run_dir, src, tmp_path / "out.csv", text_column="body", predictor=stub
    )
    assert stub.seen == ["alpha", "beta gamma"]
    assert result.format == "jsonl"
    assert read_out(tmp_path / "out.csv")["id"].tolist() == ["10", "2"]


def test_stdin_format_is_sniffed(tiny_run_dir: Path, tmp_path: Path) -> None:
    stub = RecordingPredictor()
    csv_in = io.StringIO("id,combined_text\na,hello world\nb,second\n")
    result = predict_file(tiny_run_dir, "-", tmp_path / "o1.csv", predictor=stub, stdin=csv_in)
    assert result.format == "csv" and stub.seen == ["hello world", "second"]
    stub = RecordingPredictor()
    jsonl_in = io.StringIO('{"text": "one"}\n')
    assert (
        predict_file(tiny_run_dir, "-", tmp_path / "o2.csv", predictor=stub, stdin=jsonl_in).format
        == "jsonl"
    )
    stub = RecordingPredictor()
    txt_in = io.StringIO("just some article text, with a comma\n")
    result = predict_file(tiny_run_dir, "-", tmp_path / "o3.csv", predictor=stub, stdin=txt_in)
    assert result.format == "txt" and stub.seen == ["just some article text, with a comma"]


def test_header_only_csv_writes_header_only(tiny_run_dir: Path, tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("id,text\n", encoding="utf-8")
    result = predict_file(tiny_run_dir, src, tmp_path / "out.csv", predictor=RecordingPredictor())
    assert result.n == 0
    assert (tmp_path / "out.csv").read_text(encoding="utf-8") == "id,pred,label_name,prob_fake\n"


# --------------------------------------------------------------------------- bad input


def cli_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 1, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def test_missing_text_column(
    tiny_run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in.csv"
    src.write_text("id,body\n1,hello\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    err = cli_error(capsys, ["predict", str(tiny_run_dir), "-i", str(src), "-o", str(out)])
    assert err == (
        f"error: {src} has no 'combined_text' or 'text' column; found columns ['id', 'body']; pass --text-column NAME."
    )
    assert not out.exists()
    err = cli_error(
        capsys, ["predict", str(tiny_run_dir), "-i", str(src), "--text-column", "content"]
    )
    assert (
        err
        == f"error: {src} has no column 'content'; found columns ['id', 'body']; check --text-column."
    )


def test_non_utf8_file(
    tiny_run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "latin1.csv"
    src.write_bytes("id,text\n1,fine\n2,caf\xe9 cr\xe8me\n".encode("latin-1"))
    err = cli_error(
        capsys, ["predict", str(tiny_run_dir), "-i", str(src), "-o", str(tmp_path / "o.csv")]
    )
    assert (
        err
        == f"error: {src} is not UTF-8: byte 0xe9 on line 3 (byte offset 20); re-encode it as UTF-8 (e.g. `iconv -f cp1252 -t utf-8`)."
    )
    txt = tmp_path / "latin1.txt"
    txt.write_bytes("ok\nna\xefve\n".encode("latin-1"))
    err = cli_error(capsys, ["predict", str(tiny_run_dir), "-i", str(txt)])
    assert (
        err
        == f"error: {txt} is not UTF-8: byte 0xef on line 2 (byte offset 5); re-encode it as UTF-8 (e.g. `iconv -f cp1252 -t utf-8`)."
    )
    assert not (tmp_path / "o.csv").exists()


def test_empty_and_null_texts(
    tiny_run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in.csv"
    src.write_text('id,text\n1,fine\n2,"   "\n', encoding="utf-8")
    out = tmp_path / "out.csv"
    err = cli_error(capsys, ["predict", str(tiny_run_dir), "-i", str(src), "-o", str(out)])
    assert (
        err
        == f"error: {src} row 2 (header not counted) has an empty 'text'; fill it or remove the row."
    )
    assert not out.exists()  # nothing half-written
    jl = tmp_path / "in.jsonl"
    jl.write_text('{"text": "ok"}\n{"text": null}\n', encoding="utf-8")
    err = cli_error(capsys, ["predict", str(tiny_run_dir), "-i", str(jl)])
    assert err == f"error: {jl} line 2: field 'text' is null; expected a string."
    jl.write_text('{"text": 5}\n', encoding="utf-8")
    assert (
        cli_error(capsys, ["predict", str(tiny_run_dir), "-i", str(jl)])
        == f"error: {jl} line 1: field 'text' is a number; expected a string."
    )
    jl.write_text('{"text": "ok"}\n{"text": \n', encoding="utf-8")
    err = cli_error(capsys, ["predict", str(tiny_run_dir), "-i", str(jl)])
    assert err.startswith(f"error: {jl} line 2 is not valid JSON (")
    jl.write_text('["a list"]\n', encoding="utf-8")
    err = cli_error(capsys, ["predict", str(tiny_run_dir), "-i", str(jl)])
    assert (
        err
        == f'error: {jl} line 1 is an array, not a JSON object; expected one such as {{"id": "a1", "title": "...", "text": "..."}}.'
    )
    err = cli_error(capsys, ["predict", str(tiny_run_dir), "   "])
    assert err == "error: text 1 is empty or only whitespace; expected the article's text."


def test_bad_arguments(
    tiny_run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_error(capsys, ["predict", str(tiny_run_dir)]) == (
        'error: nothing to score; pass article texts (`fakenews predict RUN_DIR "text"`) or --input FILE (- for stdin).'
    )
    assert cli_error(capsys, ["predict", str(tiny_run_dir), "x", "-i", "f.csv"]) == (
        "error: pass article TEXT arguments or --input FILE, not both."
    )
    missing = tmp_path / "nope.csv"
    assert cli_error(capsys, ["predict", str(tiny_run_dir), "-i", str(missing)]) == (
        f"error: expected an input file at {missing}, found nothing there; check --input."
    )
    assert cli_error(capsys, ["predict", str(tmp_path), "some text"]) == (
        f"error: {tmp_path} is not a complete run dir: config.yaml is missing; "
        "re-run `fakenews train` (with --resume if it was interrupted)."
    )
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    assert cli_error(capsys, ["predict", str(tiny_run_dir), "-i", str(empty)]) == (
        f"error: {empty} is empty or its first line is blank; expected a CSV header row."
    )
