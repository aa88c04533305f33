"""``predict`` input and output in CSV, JSONL and Parquet, streamed in chunks (issue 16, part 1)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fakenews.cli import main
from fakenews.errors import FakeNewsError
from fakenews.predict import OUTPUT_COLUMNS, predict_file
from test_predict import RecordingPredictor

ROWS = pd.DataFrame(
    {
        "id": [f"n{i}" for i in range(23)],
        "title": [f"Title {i}" for i in range(23)],
        "text": [f"body of article {i} " * (i % 5 + 1) for i in range(23)],
    }
)


def write_inputs(folder: Path) -> dict[str, Path]:
    """The same 23 articles as CSV, JSONL and Parquet (row groups of 7, not the chunk size)."""
    paths = {
        "csv": folder / "in.csv",
        "jsonl": folder / "in.jsonl",
        "parquet": folder / "in.parquet",
    }
    ROWS.to_csv(paths["csv"], index=False)
    ROWS.to_json(paths["jsonl"], orient="records", lines=True)
    pq.write_table(
        pa.Table.from_pandas(ROWS, preserve_index=False), paths["parquet"], row_group_size=7
    )
    return paths


def test_csv_jsonl_and_parquet_inputs_give_the_same_predictions(
    tiny_baseline_run_dir: Path, tmp_path: Path
) -> None:
    outputs = []
    for fmt, path in write_inputs(tmp_path).items():
        stub = RecordingPredictor()
        out = tmp_path / f"out-{fmt}.csv"
        result = predict_file(tiny_baseline_run_dir, path, out, chunk_size=5, predictor=stub)
        assert result.format == fmt and result.n == 23 and result.text_column == "text"
        assert [len(c) for c in stub.calls] == [5, 5, 5, 5, 3]  # exact chunks across row groups
        assert stub.seen[0] == "Title 0 body of article 0"
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]
    assert pd.read_csv(tmp_path / "out-csv.csv", dtype=str)["id"].tolist() == ROWS["id"].tolist()


def test_output_format_follows_the_suffix_or_the_option(
    tiny_baseline_run_dir: Path, tmp_path: Path
) -> None:
    src = write_inputs(tmp_path)["csv"]
    as_csv = tmp_path / "p.csv"
    predict_file(tiny_baseline_run_dir, src, as_csv, chunk_size=4, predictor=RecordingPredictor())
    expected = pd.read_csv(as_csv, dtype={"id": str, "label_name": str})
    table = tmp_path / "p.parquet"
    result = predict_file(tiny_baseline_run_dir, src, table, chunk_size=4, predictor=RecordingPredictor())  # fmt: skip
    assert result.output_format == "parquet"
    parquet = pq.ParquetFile(table)
    assert parquet.metadata.num_row_groups == 6  # one row group per chunk: 4, 4, 4, 4, 4, 3
    assert parquet.schema_arrow.names == list(OUTPUT_COLUMNS)
    pd.testing.assert_frame_equal(parquet.read().to_pandas(), expected)
    lines = tmp_path / "p.out"
    predict_file(tiny_baseline_run_dir, src, lines, output_format="jsonl", predictor=RecordingPredictor())  # fmt: skip
    records = [json.loads(x) for x in lines.read_text(encoding="utf-8").splitlines()]
    assert list(records[0]) == list(OUTPUT_COLUMNS)
    pd.testing.assert_frame_equal(pd.DataFrame(records), expected)


def test_parquet_is_sniffed_by_its_magic_bytes_and_ids_may_be_numbers(
    tiny_baseline_run_dir: Path, tmp_path: Path
) -> None:
    src = tmp_path / "articles"  # no suffix
    frame = pd.DataFrame({"id": [3, 4], "combined_text": ["one article", "another one"]})
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), src)
    stub = RecordingPredictor()
    result = predict_file(tiny_baseline_run_dir, src, tmp_path / "o.jsonl", predictor=stub)
    assert result.format == "parquet" and stub.seen == ["one article", "another one"]
    ids = [json.loads(x)["id"] for x in (tmp_path / "o.jsonl").read_text(encoding="utf-8").splitlines()]  # fmt: skip
    assert ids == ["3", "4"]


def test_cli_writes_parquet_and_reads_it_back_as_input(
    tiny_baseline_run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write_inputs(tmp_path)["parquet"]
    out = tmp_path / "scores.parquet"
    assert main(["predict", str(tiny_baseline_run_dir), "-i", str(src), "-o", str(out)]) == 0
    assert "wrote 23 predictions" in capsys.readouterr().err
    table = pq.read_table(out).to_pandas()
    assert table["id"].tolist() == ROWS["id"].tolist()
    assert ((table["prob_fake"] >= 0.5) == (table["pred"] == 1)).all()


def test_parquet_errors_are_one_line(
    tiny_baseline_run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 this is not really parquet")
    with pytest.raises(
        FakeNewsError, match=r"^" + str(bad) + r" is not a readable Parquet file \("
    ):
        predict_file(tiny_baseline_run_dir, bad, tmp_path / "o.csv", predictor=RecordingPredictor())
    holes = tmp_path / "holes.parquet"
    pq.write_table(pa.table({"text": ["fine", None]}), holes)
    with pytest.raises(FakeNewsError) as info:
        predict_file(
            tiny_baseline_run_dir, holes, tmp_path / "o.csv", predictor=RecordingPredictor()
        )
    assert str(info.value) == f"{holes} row 2 has an empty 'text'; fill it or remove the row."
    with pytest.raises(FakeNewsError) as info:
        predict_file(
            tiny_baseline_run_dir, "-", io.StringIO(), format="parquet", stdin=io.StringIO("x")
        )
    assert str(info.value) == (
        "Parquet input must be a file (it is read by row groups), not stdin; "
        "save it to a file and pass --input FILE.parquet."
    )
    src = write_inputs(tmp_path)["csv"]
    with pytest.raises(FakeNewsError) as info:
        predict_file(tiny_baseline_run_dir, src, io.StringIO(), output_format="parquet")
    assert str(info.value) == (
        "Parquet output is binary and this stream takes text; pass --output FILE.parquet."
    )
    assert not (tmp_path / "o.csv").exists()


def test_parquet_can_go_to_stdout_once_the_whole_input_succeeded(
    tiny_baseline_run_dir: Path, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    src = write_inputs(tmp_path)["jsonl"]
    argv = [
        "predict",
        str(tiny_baseline_run_dir),
        "-i",
        str(src),
        "--output-format",
        "parquet",
        "-q",
    ]
    assert main(argv) == 0
    table = pq.read_table(io.BytesIO(capsysbinary.readouterr().out))
    assert table.column("id").to_pylist() == ROWS["id"].tolist()
