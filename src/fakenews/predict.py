"""Score new articles with a trained run: a few texts, or a file of any size streamed in chunks.

:func:`predict_texts` returns one :class:`Prediction` per text. :func:`predict_file` reads a CSV
or JSONL file with a text column, or plain text with one article per line (``-`` for stdin),
``chunk_size`` rows at a time, and writes ``id,pred,label_name,prob_fake`` in input order, so
memory stays flat whatever the number of rows (``benchmarks/bench_predict_scaling.py`` shows it).

Which text is scored: ``--text-column`` when given, else ``combined_text``, else ``text``
(prefixed with ``title`` when the input has one: the ``combined_text`` the models were trained
on). Ids come from an ``id`` column/field when present, else the 1-based row (CSV, JSONL) or
line number (plain text).
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
import logging
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np

from fakenews import LABELS
from fakenews.errors import FakeNewsError
from fakenews.io import atomic_path
from fakenews.metrics import DEFAULT_THRESHOLD, decide
from fakenews.predictors.base import InferenceOptions, Predictor
from fakenews.predictors.load import load_predictor
from fakenews.progress import track
from fakenews.rundir import RunDir
from fakenews.splits import combine

logger = logging.getLogger(__name__)

InputFormat = Literal["auto", "csv", "jsonl", "txt"]
OUTPUT_COLUMNS = ("id", "pred", "label_name", "prob_fake")
DEFAULT_CHUNK_SIZE = 1000
"""Rows read, scored and written at a time by :func:`predict_file`."""
SUFFIX_FORMATS = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".txt": "txt",
}


@dataclass(frozen=True)
class Prediction:
    """One article's verdict: ``pred`` 1 = fake, 0 = real; ``prob_fake`` = P(fake) in [0, 1]."""

    pred: int
    label_name: str
    prob_fake: float


@dataclass(frozen=True)
class PredictFileResult:
    """What :func:`predict_file` read and wrote.

    ``output`` is ``None`` when the rows went to a stream (stdout); ``skipped_blank`` counts
    blank lines of a plain-text input (they separate nothing and are not articles).
    """

    input: str
    output: str | None
    format: str
    text_column: str | None
    n: int
    n_fake: int
    n_real: int
    skipped_blank: int
    seconds: float


def to_predictions(
    probs: np.ndarray, names: Sequence[str] = LABELS, threshold: float = DEFAULT_THRESHOLD
) -> list[Prediction]:
    """Predictions from ``(n, 2)`` probabilities, labelled by :func:`fakenews.metrics.decide`
    (fake when ``P(fake) >= threshold``)."""
    probs = np.asarray(probs, dtype=np.float64)
    preds = decide(probs[:, 1], threshold)
    return [
        Prediction(int(p), str(names[int(p)]), float(row[1]))
        for p, row in zip(preds, probs, strict=True)
    ]


def check_texts(texts: Sequence[Any], *, what: str = "text") -> list[str]:
    """Every text must be a non-blank string; the error names the first bad one (1-based)."""
    out = []
    for i, text in enumerate(texts, start=1):
        if not isinstance(text, str):
            raise FakeNewsError(
                f"{what} {i} is {_kind(text)}; expected a string with the article's text."
            )
        if not text.strip():
            raise FakeNewsError(
                f"{what} {i} is empty or only whitespace; expected the article's text."
            )
        out.append(text)
    return out


def predict_texts(
    run_dir: Path | str,
    texts: Sequence[str],
    *,
    options: InferenceOptions | None = None,
    quiet: bool = True,
    predictor: Predictor | None = None,
) -> list[Prediction]:
    """Predict each of ``texts`` (in order) with the run in ``run_dir``.

    Args:
        run_dir: a run dir written by ``fakenews train``.
        texts: article texts (title + " " + body, as in training); none may be blank.
        options: how to predict (:class:`~fakenews.predictors.base.InferenceOptions`: backend,
            long-article mode, batch size, device, precision).
        quiet: no progress bar when True (default).
        predictor: an already loaded predictor to use instead of loading one (default None).
    """
    run = RunDir.open(run_dir)
    texts = check_texts(texts)
    predictor = predictor or load_predictor(run, options, quiet=quiet)
    return to_predictions(predictor.predict_proba(texts), run.label_names)


def predict_file(
    run_dir: Path | str,
    input: Path | str,
    output: Path | str | IO[str] | None = None,
    *,
    format: InputFormat = "auto",
    text_column: str | None = None,
    id_column: str = "id",
    options: InferenceOptions | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    quiet: bool = True,
    predictor: Predictor | None = None,
    stdin: IO[Any] | None = None,
) -> PredictFileResult:
    """Stream ``input`` through the run's predictor and write ``id,pred,label_name,prob_fake``.

    Args:
        run_dir: a run dir written by ``fakenews train``.
        input: a CSV, JSONL or plain-text file (one article per line), or ``-`` for stdin.
        output: a CSV path (written atomically: complete or not at all), a text stream, or
            ``None`` (default) for stdout.
        format: ``auto`` (default: by suffix ``.csv``/``.jsonl``/``.txt``, else sniffed from the
            first line), ``csv``, ``jsonl`` or ``txt``.
        text_column: column (CSV) or field (JSONL) with the text; default ``combined_text``,
            else ``text`` (with ``title`` prepended when present).
        id_column: column/field with ids (default ``id``); row numbers when absent.
        options: how to predict, as in :func:`predict_texts`.
        chunk_size: rows per read-predict-write step (default 1000): memory depends on it alone.
        quiet: no progress bar when True (default).
        predictor: an already loaded predictor (default None: load the run's).
        stdin: stream read for ``-`` (default ``sys.stdin``).
    """
    run = RunDir.open(run_dir)
    _check_file_args(chunk_size, format)
    name = "stdin" if str(input) == "-" else str(input)
    source = _open_source(input, stdin)
    try:
        fmt = _resolve_format(format, input, source.peek_line(), text_column)
        reader = _Reader(source, name, fmt, text_column, id_column, chunk_size)
        chunks = reader.chunks()
        # a missing column or bad first row fails before any loading or output
        first = next(chunks, None)
        predictor = predictor or load_predictor(run, options, quiet=True)
        start = time.perf_counter()
        rest = itertools.chain([first] if first is not None else [], chunks)
        counts = _write_predictions(rest, predictor, run.label_names, output, quiet=quiet)
    finally:
        source.close()
    out_name = str(output) if isinstance(output, str | Path) and str(output) != "-" else None
    return PredictFileResult(
        input=name,
        output=out_name,
        format=fmt,
        text_column=reader.text_column,
        n=counts[0] + counts[1],
        n_fake=counts[1],
        n_real=counts[0],
        skipped_blank=reader.skipped_blank,
        seconds=time.perf_counter() - start,
    )


def read_articles(
    input: Path | str,
    *,
    format: InputFormat = "auto",
    text_column: str | None = None,
    id_column: str = "id",
) -> tuple[list[str], list[str]]:
    """``(ids, texts)`` of a CSV, JSONL or plain-text file, read and checked as :func:`predict_file`
    reads it (``distill --unlabeled``)."""
    _check_file_args(DEFAULT_CHUNK_SIZE, format)
    source = _open_source(input, None)
    ids: list[str] = []
    texts: list[str] = []
    try:
        fmt = _resolve_format(format, input, source.peek_line(), text_column)
        reader = _Reader(source, str(input), fmt, text_column, id_column, DEFAULT_CHUNK_SIZE)
        for chunk_ids, chunk_texts in reader.chunks():
            ids += chunk_ids
            texts += chunk_texts
    finally:
        source.close()
    return ids, texts


def _check_file_args(chunk_size: int, format: str) -> None:
    if chunk_size < 1:
        raise FakeNewsError(f"--chunk-size must be at least 1; found {chunk_size}.")
    if format not in ("auto", "csv", "jsonl", "txt"):
        raise FakeNewsError(f"--format must be one of auto, csv, jsonl, txt; found {format!r}.")


def _write_predictions(
    chunks: Iterator[tuple[list[str], list[str]]],
    predictor: Predictor,
    names: Sequence[str],
    output: Path | str | IO[str] | None,
    *,
    quiet: bool,
) -> list[int]:
    """Predict chunk by chunk and write ``id,pred,label_name,prob_fake``; counts per label."""
    counts = [0, 0]
    with _output(output) as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(OUTPUT_COLUMNS)
        for ids, texts in track(chunks, description="predicting", quiet=quiet):
            probs = np.asarray(predictor.predict_proba(texts), dtype=np.float64)
            for row_id, pred in zip(ids, to_predictions(probs, names), strict=True):
                writer.writerow((row_id, pred.pred, pred.label_name, pred.prob_fake))
                counts[pred.pred] += 1
    return counts


# --------------------------------------------------------------------------- reading


class _Source:
    """A binary input whose first line can be looked at before it is read for real."""

    def __init__(self, handle: IO[bytes], name: str, path: Path | None, owned: bool) -> None:
        self.handle = handle
        self.name = name
        self.path = path
        self.owned = owned
        self._head: bytes | None = None

    def peek_line(self) -> bytes:
        if self._head is None:
            self._head = self.handle.readline()
        return self._head

    def stream(self) -> IO[bytes]:
        """The whole input from its first byte (the peeked line put back in front)."""
        head, self._head = self.peek_line(), b""
        return io.BufferedReader(_Prepended(head, self.handle))  # type: ignore[arg-type]

    def close(self) -> None:
        if self.owned:
            self.handle.close()


class _Prepended(io.RawIOBase):
    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _open_source(input: Path | str, stdin: IO[Any] | None) -> _Source:
    if str(input) == "-":
        stream = stdin if stdin is not None else sys.stdin
        buffer = getattr(stream, "buffer", None)
        if buffer is None:  # a text stream (tests, notebooks): it is in memory already
            buffer = io.BytesIO(stream.read().encode("utf-8"))
        return _Source(buffer, "stdin", None, owned=False)
    path = Path(input)
    if not path.exists():
        raise FakeNewsError(
            f"expected an input file at {path}, found nothing there; check --input."
        )
    if path.is_dir():
        raise FakeNewsError(
            f"expected an input file at {path}, found a directory; pass a CSV, JSONL or text file."
        )
    return _Source(path.open("rb"), str(path), path, owned=True)


def _resolve_format(fmt: str, input: Path | str, head: bytes, text_column: str | None) -> str:
    if fmt != "auto":
        return fmt
    by_suffix = SUFFIX_FORMATS.get(Path(str(input)).suffix.lower()) if str(input) != "-" else None
    if by_suffix:
        return by_suffix
    first = head.decode("utf-8", errors="replace").lstrip("\ufeff").strip()
    if first.startswith("{"):
        return "jsonl"
    header = {c.strip() for c in next(csv.reader([first]), [])}
    wanted = {text_column} if text_column else {"combined_text", "text"}
    return "csv" if header & wanted else "txt"


class _Reader:
    """Yields ``(ids, texts)`` chunks of at most ``chunk_size`` rows, checking every row."""

    def __init__(
        self,
        source: _Source,
        name: str,
        fmt: str,
        text_column: str | None,
        id_column: str,
        chunk_size: int,
    ) -> None:
        self.source = source
        self.name = name
        self.fmt = fmt
        self.text_column = text_column
        self.id_column = id_column
        self.chunk_size = chunk_size
        self.skipped_blank = 0

    def chunks(self) -> Iterator[tuple[list[str], list[str]]]:
        rows = {"csv": self._csv_chunks, "jsonl": self._jsonl_chunks, "txt": self._txt_chunks}[
            self.fmt
        ]
        yield from rows()

    # -- plain text: one article per line
    def _lines(self) -> Iterator[tuple[int, str]]:
        for number, raw in enumerate(self.source.stream(), start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise FakeNewsError(
                    f"{self.name} is not UTF-8: byte 0x{raw[exc.start]:02x} on line {number}; "
                    "re-encode it as UTF-8 (e.g. `iconv -f cp1252 -t utf-8`)."
                ) from None
            if number == 1:
                line = line.lstrip("\ufeff")
            yield number, line.rstrip("\r\n")

    def _txt_chunks(self) -> Iterator[tuple[list[str], list[str]]]:
        ids: list[str] = []
        texts: list[str] = []
        for number, line in self._lines():
            if not line.strip():
                self.skipped_blank += 1
                continue
            ids.append(str(number))
            texts.append(line)
            if len(texts) == self.chunk_size:
                yield ids, texts
                ids, texts = [], []
        if texts:
            yield ids, texts
        if self.skipped_blank:
            logger.info("skipped %d blank line(s) of %s", self.skipped_blank, self.name)

    # -- JSON lines
    def _jsonl_chunks(self) -> Iterator[tuple[list[str], list[str]]]:
        ids: list[str] = []
        texts: list[str] = []
        row = 0
        for number, line in self._lines():
            if not line.strip():
                continue
            row += 1
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise FakeNewsError(
                    f"{self.name} line {number} is not valid JSON ({exc.msg} at column {exc.colno}); "
                    "expected one JSON object per line."
                ) from None
            if not isinstance(obj, dict):
                raise FakeNewsError(
                    f"{self.name} line {number} is {_kind(obj)}, not a JSON object; expected one such as "
                    '{"id": "a1", "title": "...", "text": "..."}.'
                )
            ids.append(self._jsonl_id(obj, row))
            texts.append(self._jsonl_text(obj, number))
            if len(texts) == self.chunk_size:
                yield ids, texts
                ids, texts = [], []
        if texts:
            yield ids, texts
        elif row == 0:
            raise FakeNewsError(
                f"{self.name} holds no JSON objects; expected one article per line."
            )

    def _jsonl_id(self, obj: dict[str, Any], row: int) -> str:
        value = obj.get(self.id_column)
        return str(row) if value is None else str(value)

    def _jsonl_text(self, obj: dict[str, Any], number: int) -> str:
        where = f"{self.name} line {number}"
        if self.text_column is None:
            self.text_column = "combined_text" if "combined_text" in obj else "text"
        if self.text_column not in obj:
            hint = (
                "pass --text-column NAME"
                if self.text_column in ("combined_text", "text")
                else "check --text-column"
            )
            raise FakeNewsError(
                f"{where} has no field {self.text_column!r}; found fields {sorted(obj)}; {hint}."
            )
        text = _string_field(obj[self.text_column], self.text_column, where)
        if self.text_column == "text" and "title" in obj:
            text = combine(_string_field(obj["title"], "title", where, allow_empty=True), text)
        return text

    # -- CSV
    def _csv_chunks(self) -> Iterator[tuple[list[str], list[str]]]:
        import pandas as pd

        if not self.source.peek_line().strip():
            raise FakeNewsError(
                f"{self.name} is empty or its first line is blank; expected a CSV header row."
            )
        try:
            reader = pd.read_csv(
                self.source.stream(),
                encoding="utf-8",
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                chunksize=self.chunk_size,
            )
            row = 0
            with reader:
                for frame in reader:
                    frame.columns = [str(c).strip() for c in frame.columns]
                    texts = self._csv_texts(frame, row)
                    if self.id_column in frame.columns:
                        ids = frame[self.id_column].astype(str).tolist()
                    else:
                        ids = [str(row + i) for i in range(1, len(frame) + 1)]
                    row += len(frame)
                    yield ids, texts
        except UnicodeDecodeError as exc:
            raise FakeNewsError(self._not_utf8(exc)) from None
        except pd.errors.EmptyDataError:
            raise FakeNewsError(f"{self.name} has no columns; expected a CSV header row.") from None
        except pd.errors.ParserError as exc:
            raise FakeNewsError(
                f"{self.name} is not valid CSV ({' '.join(str(exc).split())}); check for an unterminated quote near that line."
            ) from None

    def _csv_texts(self, frame: Any, before: int) -> list[str]:
        cols = list(frame.columns)
        if self.text_column is None:
            if "combined_text" in cols:
                self.text_column = "combined_text"
            elif "text" in cols:
                self.text_column = "text"
            else:
                raise FakeNewsError(
                    f"{self.name} has no 'combined_text' or 'text' column; found columns {cols}; "
                    "pass --text-column NAME."
                )
        if self.text_column not in cols:
            raise FakeNewsError(
                f"{self.name} has no column {self.text_column!r}; found columns {cols}; check --text-column."
            )
        texts = frame[self.text_column].astype(str)
        if self.text_column == "text" and "title" in cols:
            texts = [combine(t, x) for t, x in zip(frame["title"].astype(str), texts, strict=True)]
        out = list(texts)
        for i, text in enumerate(out, start=before + 1):
            if not text.strip():
                raise FakeNewsError(
                    f"{self.name} row {i} (header not counted) has an empty {self.text_column!r}; "
                    "fill it or remove the row."
                )
        return out

    def _not_utf8(self, exc: UnicodeDecodeError) -> str:
        bad = exc.object[exc.start : exc.start + 1]
        where = ""
        if self.source.path is not None:
            line = _first_bad_utf8_line(self.source.path)
            where = f" on line {line}" if line else ""
        return (
            f"{self.name} is not UTF-8: byte 0x{bad.hex() or '??'}{where}; "
            "re-encode it as UTF-8 (e.g. `iconv -f cp1252 -t utf-8`)."
        )


def _first_bad_utf8_line(path: Path) -> int | None:
    """1-based line of the first byte that is not UTF-8 (streamed, for the error message only)."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with path.open("rb") as handle:
        for raw in handle:
            try:
                decoder.decode(raw)
            except UnicodeDecodeError:
                return line
            line += 1
    return None


def _string_field(value: Any, field: str, where: str, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise FakeNewsError(f"{where}: field {field!r} is {_kind(value)}; expected a string.")
    if not allow_empty and not value.strip():
        raise FakeNewsError(
            f"{where}: field {field!r} is empty or only whitespace; expected the article's text."
        )
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        list: "an array",
        dict: "an object",
    }.get(type(value), f"a {type(value).__name__}")


# --------------------------------------------------------------------------- writing


@contextlib.contextmanager
def _output(output: Path | str | IO[str] | None) -> Iterator[IO[str]]:
    """An atomic file for a path (complete or absent), the given stream, or stdout."""
    if output is None or str(output) == "-":
        yield sys.stdout
        return
    if not isinstance(output, str | Path):
        yield output
        return
    path = Path(output)
    if path.is_dir():
        raise FakeNewsError(f"--output {path} is a directory; expected a CSV file path.")
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8", newline="") as handle:
        yield handle
