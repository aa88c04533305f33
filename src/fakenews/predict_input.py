"""Read ``predict`` input as a careful tool does: CSV, JSONL, plain text or Parquet, in chunks.

:func:`open_input` returns an :class:`InputReader` whose :meth:`~InputReader.chunks` yields
:class:`Chunk` s of exactly ``chunk_size`` articles (the last one shorter), so chunk ``k`` is
always rows ``[k * chunk_size, (k + 1) * chunk_size)`` of the input: the key of the part files
of a distributed run (:mod:`fakenews.predict_parts`).

What it accepts and refuses (each refusal one line naming the line, row or byte offset):

- text input (CSV, JSONL, plain text) must be UTF-8: a byte that is not, or a NUL byte (binary
  data), is refused with its line and byte offset; ``\\n``, ``\\r\\n`` and ``\\r``-only line ends
  are all accepted, and a UTF-8 byte-order mark is dropped;
- texts holding lone surrogates (JSON ``"\\ud800"`` escapes, command-line bytes that are not
  UTF-8) are *normalised*: each lone surrogate becomes U+FFFD, with a warning naming the row, so
  one mis-encoded article does not stop a crawl of millions;
- ids are keys, so an id holding a lone surrogate is *refused* with its line (rewriting it would
  silently break a join), as is an id that is not a string or number;
- a JSONL line nested too deeply for the parser is refused with its line number.
"""

from __future__ import annotations

import codecs
import io
import json
import logging
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from fakenews.errors import FakeNewsError
from fakenews.splits import combine

logger = logging.getLogger(__name__)

INPUT_FORMATS = ("auto", "csv", "jsonl", "txt", "parquet")
SUFFIX_FORMATS = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".txt": "txt",
    ".parquet": "parquet",
    ".pq": "parquet",
}
PARQUET_MAGIC = b"PAR1"
HEAD_BYTES = 1 << 16
"""Bytes read ahead to choose the format (the first line is looked at)."""
_SURROGATES = re.compile("[\ud800-\udfff]")
_LINE_BREAKS = re.compile(rb"\r\n|\r|\n")
RE_ENCODE = "re-encode it as UTF-8 (e.g. `iconv -f cp1252 -t utf-8`)"


@dataclass(frozen=True)
class Chunk:
    """Rows ``[index * chunk_size, index * chunk_size + len(ids))`` of the input."""

    index: int
    ids: list[str]
    texts: list[str]


def valid_unicode(text: str) -> tuple[str, int]:
    """``text`` with each lone surrogate replaced by U+FFFD, and how many were replaced."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATES.subn("\ufffd", text)
    return text, 0


def normalise_texts(texts: Sequence[str], *, what: str = "text") -> list[str]:
    """:func:`valid_unicode` of each text, with a warning naming each one changed (1-based)."""
    out = []
    for i, text in enumerate(texts, start=1):
        fixed, n = valid_unicode(text)
        if n:
            logger.warning(
                "%s %d: replaced %d invalid Unicode character(s) (lone surrogates) with U+FFFD",
                what,
                i,
                n,
            )
        out.append(fixed)
    return out


def kind(value: Any) -> str:
    """``a number``, ``an array``, ``null``...: the JSON kind of ``value``, for error messages."""
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        list: "an array",
        dict: "an object",
    }.get(type(value), f"a {type(value).__name__}")


# --------------------------------------------------------------------------- bytes


class Utf8Checked(io.RawIOBase):
    """Bytes of ``raw`` passed through as they are, refused at the first one that is not UTF-8
    or is NUL, with its line (``\\n``, ``\\r\\n`` or ``\\r`` ends) and byte offset."""

    def __init__(self, raw: IO[bytes], name: str) -> None:
        self._raw = raw
        self._name = name
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._offset = 0
        self._line = 1
        self._last_cr = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        self._check(data)
        buffer[: len(data)] = data
        return len(data)

    def _check(self, data: bytes) -> None:
        nul = data.find(b"\0")
        try:
            self._decoder.decode(data if nul < 0 else data[:nul], final=not data)
        except UnicodeDecodeError as exc:
            pending = len(self._decoder.getstate()[0]) if data else 0
            start = max(exc.start - pending, 0)
            self._fail(data, start, f"is not UTF-8: byte 0x{exc.object[exc.start]:02x}", RE_ENCODE)
        if nul >= 0:
            self._fail(
                data,
                nul,
                "looks binary: a NUL byte",
                "expected UTF-8 text (CSV, JSONL, one article per line) or Parquet "
                "(a .parquet file or --format parquet)",
            )
        self._count_lines(data)

    def _count_lines(self, data: bytes) -> None:
        self._line += len(_LINE_BREAKS.findall(data))
        if self._last_cr and data[:1] == b"\n":
            self._line -= 1  # a \r\n split across two reads is one line end
        self._last_cr = data[-1:] == b"\r"
        self._offset += len(data)

    def _fail(self, data: bytes, at: int, what: str, fix: str) -> None:
        self._count_lines(data[:at])
        raise FakeNewsError(
            f"{self._name} {what} on line {self._line} (byte offset {self._offset}); {fix}."
        )


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


class Source:
    """A binary input whose first bytes can be looked at before it is read for real."""

    def __init__(self, handle: IO[bytes], name: str, path: Path | None, owned: bool) -> None:
        self.handle = handle
        self.name = name
        self.path = path
        self.owned = owned
        self.head = handle.read(HEAD_BYTES)

    def first_line(self) -> str:
        """The first line (any line end), decoded leniently: only for choosing the format."""
        line = _LINE_BREAKS.split(self.head, maxsplit=1)[0]
        return line.decode("utf-8", errors="replace").lstrip("\ufeff").strip()

    def stream(self) -> IO[bytes]:
        """The whole input from its first byte, checked to be UTF-8 text as it is read."""
        head, self.head = self.head, b""
        raw = Utf8Checked(_Prepended(head, self.handle), self.name)  # type: ignore[arg-type]
        return io.BufferedReader(raw)

    def text(self) -> IO[str]:
        """:meth:`stream` decoded, with every line end (``\\r`` too) read as ``\\n``."""
        return io.TextIOWrapper(self.stream(), encoding="utf-8-sig", newline=None)

    def close(self) -> None:
        if self.owned:
            self.handle.close()


def open_source(input: Path | str, stdin: IO[Any] | None) -> Source:
    """The input file, or stdin for ``-``; a missing file or a directory is one line."""
    if str(input) == "-":
        stream = stdin if stdin is not None else sys.stdin
        buffer = getattr(stream, "buffer", None)
        if buffer is None:  # a text stream (tests, notebooks): it is in memory already
            buffer = io.BytesIO(stream.read().encode("utf-8", errors="surrogateescape"))
        return Source(buffer, "stdin", None, owned=False)
    path = Path(input)
    if not path.exists():
        raise FakeNewsError(
            f"expected an input file at {path}, found nothing there; check --input."
        )
    if path.is_dir():
        raise FakeNewsError(
            f"expected an input file at {path}, found a directory; pass a CSV, JSONL, Parquet or text file."
        )
    return Source(path.open("rb"), str(path), path, owned=True)


def resolve_format(fmt: str, source: Source, text_column: str | None) -> str:
    """``fmt``, or for ``auto`` the suffix's format, else Parquet's magic bytes, else sniffed
    from the first line (``{`` = JSONL, a header naming the text column = CSV, else text)."""
    if fmt not in INPUT_FORMATS:
        raise FakeNewsError(f"--format must be one of {', '.join(INPUT_FORMATS)}; found {fmt!r}.")
    if fmt != "auto":
        return fmt
    by_suffix = SUFFIX_FORMATS.get(source.path.suffix.lower()) if source.path else None
    if by_suffix:
        return by_suffix
    if source.head.startswith(PARQUET_MAGIC):
        return "parquet"
    first = source.first_line()
    if first.startswith("{"):
        return "jsonl"
    header = {c.strip() for c in first.split(",")}
    wanted = {text_column} if text_column else {"combined_text", "text"}
    return "csv" if header & wanted else "txt"


# --------------------------------------------------------------------------- rows


class Rows:
    """Collects ``(id, text)`` rows and hands them out as exact :class:`Chunk` s."""

    def __init__(self, chunk_size: int) -> None:
        self.chunk_size = chunk_size
        self.index = 0
        self.ids: list[str] = []
        self.texts: list[str] = []

    def add(self, row_id: str, text: str) -> Chunk | None:
        self.ids.append(row_id)
        self.texts.append(text)
        return self.take() if len(self.ids) == self.chunk_size else None

    def take(self) -> Chunk | None:
        if not self.ids:
            return None
        chunk = Chunk(self.index, self.ids, self.texts)
        self.index += 1
        self.ids, self.texts = [], []
        return chunk


def text_of(value: Any, field: str, where: str, *, allow_empty: bool = False) -> str:
    """A text field as valid Unicode (lone surrogates become U+FFFD, with a warning)."""
    if not isinstance(value, str):
        raise FakeNewsError(f"{where}: field {field!r} is {kind(value)}; expected a string.")
    if not allow_empty and not value.strip():
        raise FakeNewsError(
            f"{where}: field {field!r} is empty or only whitespace; expected the article's text."
        )
    fixed, n = valid_unicode(value)
    if n:
        logger.warning(
            "%s: replaced %d invalid Unicode character(s) (lone surrogates) in %r with U+FFFD",
            where,
            n,
            field,
        )
    return fixed


def id_of(value: Any, where: str) -> str:
    """An id field as a string: strings and numbers only, and valid Unicode (ids are keys)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise FakeNewsError(f"{where}: the id is {kind(value)}; expected a string or a number.")
    text = str(value)
    if valid_unicode(text)[1]:
        raise FakeNewsError(
            f"{where}: the id '{text.encode('utf-8', 'backslashreplace').decode()}' holds an "
            "invalid Unicode character (a lone surrogate); expected valid Unicode text; fix that id."
        )
    return text


# --------------------------------------------------------------------------- formats


class InputReader:
    """Yields the input's :class:`Chunk` s, checking every row; one reader per input."""

    def __init__(
        self, source: Source, fmt: str, text_column: str | None, id_column: str, chunk_size: int
    ) -> None:
        self.source = source
        self.name = source.name
        self.format = fmt
        self.text_column = text_column
        self.id_column = id_column
        self.chunk_size = chunk_size
        self.skipped_blank = 0
        self.n_rows = 0

    def chunks(self) -> Iterator[Chunk]:
        """Every chunk in input order; ``n_rows`` counts the rows handed out so far."""
        rows = {
            "csv": self._csv_chunks,
            "jsonl": self._jsonl_chunks,
            "txt": self._txt_chunks,
            "parquet": self._parquet_chunks,
        }[self.format]
        for chunk in rows():
            self.n_rows += len(chunk.ids)
            yield chunk

    def close(self) -> None:
        self.source.close()

    # -- plain text: one article per line
    def _txt_chunks(self) -> Iterator[Chunk]:
        rows = Rows(self.chunk_size)
        for number, line in enumerate(self.source.text(), start=1):
            line = line.rstrip("\n")
            if not line.strip():
                self.skipped_blank += 1
                continue
            if chunk := rows.add(str(number), line):
                yield chunk
        if chunk := rows.take():
            yield chunk
        if self.skipped_blank:
            logger.info("skipped %d blank line(s) of %s", self.skipped_blank, self.name)

    # -- JSON lines
    def _jsonl_chunks(self) -> Iterator[Chunk]:
        rows = Rows(self.chunk_size)
        row = 0
        for number, line in enumerate(self.source.text(), start=1):
            if not line.strip():
                continue
            row += 1
            obj = self._json_object(line, number)
            where = f"{self.name} line {number}"
            value = obj.get(self.id_column)
            row_id = str(row) if value is None else id_of(value, where)
            if chunk := rows.add(row_id, self._jsonl_text(obj, where)):
                yield chunk
        if chunk := rows.take():
            yield chunk
        elif row == 0:
            raise FakeNewsError(
                f"{self.name} holds no JSON objects; expected one article per line."
            )

    def _json_object(self, line: str, number: int) -> dict[str, Any]:
        where = f"{self.name} line {number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise FakeNewsError(
                f"{where} is not valid JSON ({exc.msg} at column {exc.colno}); "
                "expected one JSON object per line."
            ) from None
        except RecursionError:
            raise FakeNewsError(
                f"{where} is nested too deeply to read; expected one flat JSON object per line, "
                'such as {"id": "a1", "text": "..."}.'
            ) from None
        if not isinstance(obj, dict):
            raise FakeNewsError(
                f"{where} is {kind(obj)}, not a JSON object; expected one such as "
                '{"id": "a1", "title": "...", "text": "..."}.'
            )
        return obj

    def _jsonl_text(self, obj: dict[str, Any], where: str) -> str:
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
        text = text_of(obj[self.text_column], self.text_column, where)
        if self.text_column == "text" and "title" in obj:
            text = combine(text_of(obj["title"], "title", where, allow_empty=True), text)
        return text

    # -- CSV and Parquet: columns
    def _pick_text_column(self, cols: Sequence[str]) -> str:
        if self.text_column is None:
            if "combined_text" in cols:
                self.text_column = "combined_text"
            elif "text" in cols:
                self.text_column = "text"
            else:
                raise FakeNewsError(
                    f"{self.name} has no 'combined_text' or 'text' column; found columns "
                    f"{list(cols)}; pass --text-column NAME."
                )
        if self.text_column not in cols:
            raise FakeNewsError(
                f"{self.name} has no column {self.text_column!r}; found columns {list(cols)}; "
                "check --text-column."
            )
        return self.text_column

    def _checked_texts(self, texts: Sequence[str], before: int) -> list[str]:
        for i, text in enumerate(texts, start=before + 1):
            if not text.strip():
                raise FakeNewsError(
                    f"{self.name} row {i} (header not counted) has an empty {self.text_column!r}; "
                    "fill it or remove the row."
                )
        return list(texts)

    # -- CSV
    def _csv_chunks(self) -> Iterator[Chunk]:
        import pandas as pd  # heavy; only CSV input needs it

        if not self.source.first_line():
            raise FakeNewsError(
                f"{self.name} is empty or its first line is blank; expected a CSV header row."
            )
        try:
            reader = pd.read_csv(
                self.source.stream(), encoding="utf-8", dtype=str, keep_default_na=False,
                na_filter=False, chunksize=self.chunk_size,
            )  # fmt: skip
            with reader:
                yield from self._csv_frames(reader)
        except pd.errors.EmptyDataError:
            raise FakeNewsError(f"{self.name} has no columns; expected a CSV header row.") from None
        except pd.errors.ParserError as exc:
            raise FakeNewsError(
                f"{self.name} is not valid CSV ({' '.join(str(exc).split())}); "
                "check for an unterminated quote near that line."
            ) from None

    def _csv_frames(self, reader: Iterator[Any]) -> Iterator[Chunk]:
        row = 0
        for index, frame in enumerate(reader):
            frame.columns = [str(c).strip() for c in frame.columns]
            column = self._pick_text_column(list(frame.columns))
            if frame.empty:  # a header-only file
                continue
            texts = frame[column].astype(str).tolist()
            if column == "text" and "title" in frame.columns:
                titles = frame["title"].astype(str).tolist()
                texts = [combine(t, x) for t, x in zip(titles, texts, strict=True)]
            if self.id_column in frame.columns:
                ids = frame[self.id_column].astype(str).tolist()
            else:
                ids = [str(row + i) for i in range(1, len(frame) + 1)]
            texts = self._checked_texts(texts, row)
            row += len(frame)
            yield Chunk(index, ids, texts)

    # -- Parquet
    def _parquet_chunks(self) -> Iterator[Chunk]:
        pf = self._parquet_file()
        cols = list(pf.schema_arrow.names)
        column = self._pick_text_column(cols)
        wanted = [column]
        wanted += ["title"] if column == "text" and "title" in cols else []
        wanted += [self.id_column] if self.id_column in cols else []
        rows = Rows(self.chunk_size)
        row = 0
        for batch in pf.iter_batches(batch_size=self.chunk_size, columns=wanted):
            data = {name: batch.column(name).to_pylist() for name in wanted}
            for i in range(batch.num_rows):
                row += 1
                if chunk := rows.add(*self._parquet_row(data, i, row)):
                    yield chunk
        if chunk := rows.take():
            yield chunk

    def _parquet_row(self, data: dict[str, list[Any]], i: int, row: int) -> tuple[str, str]:
        column = str(self.text_column)
        where = f"{self.name} row {row}"
        text = data[column][i]
        if text is None or (isinstance(text, str) and not text.strip()):
            raise FakeNewsError(f"{where} has an empty {column!r}; fill it or remove the row.")
        text = text_of(text, column, where)
        if "title" in data and column == "text":
            text = combine(data["title"][i] or "", text)
        value = data[self.id_column][i] if self.id_column in data else None
        return (str(row) if value is None else id_of(value, where)), text

    def _parquet_file(self) -> Any:
        import pyarrow.parquet as pq  # heavy; only Parquet input needs it

        if self.source.path is None:
            raise FakeNewsError(
                "Parquet input must be a file (it is read by row groups), not stdin; "
                "save it to a file and pass --input FILE.parquet."
            )
        try:
            return pq.ParquetFile(self.source.path)
        except Exception as exc:  # pyarrow raises ArrowInvalid, OSError...: all mean "not Parquet"
            raise FakeNewsError(
                f"{self.name} is not a readable Parquet file ({' '.join(str(exc).split())}); "
                "pass a Parquet file, or --format csv/jsonl/txt for text input."
            ) from None


def open_input(
    input: Path | str,
    *,
    format: str = "auto",
    text_column: str | None = None,
    id_column: str = "id",
    chunk_size: int,
    stdin: IO[Any] | None = None,
) -> InputReader:
    """A reader of ``input`` (a path, or ``-`` for stdin) in the given or sniffed format."""
    source = open_source(input, stdin)
    try:
        fmt = resolve_format(format, source, text_column)
    except BaseException:
        source.close()
        raise
    return InputReader(source, fmt, text_column, id_column, chunk_size)
