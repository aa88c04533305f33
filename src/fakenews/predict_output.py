"""Write ``predict`` output so that it never lies or destroys: complete or absent, never the input.

One row per article: ``id, pred, label_name, prob_fake``, as CSV, JSONL or Parquet (by
``--output-format``, else the output's suffix, else CSV). A :class:`RowsWriter` turns
:class:`Scored` chunks into bytes, the same way whether it writes the whole output in one process
or the part files of a distributed run that are later merged (:mod:`fakenews.predict_parts`), so
both give byte-identical files.

- CSV cells that begin with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return are prefixed
  with a single quote (OWASP's advice against CSV injection: a spreadsheet would run them as
  formulas). Only CSV output is escaped; JSONL and Parquet keep ids as they are.
- :class:`OutputTarget` writes a file path through a temporary sibling renamed into place only when
  the whole input succeeded, removes any directory it created when it did not, refuses the input
  itself as the output (same file, through a symlink or a hard link too) and a path it cannot
  write (one line). stdout gets nothing until the whole input succeeded: the rows are spooled to a
  temporary file and copied out at the end.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from fakenews.errors import FakeNewsError

OUTPUT_COLUMNS = ("id", "pred", "label_name", "prob_fake")
OUTPUT_FORMATS = ("auto", "csv", "jsonl", "parquet")
OUTPUT_SUFFIXES = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters a spreadsheet may read as a formula (OWASP CSV injection)."""


@dataclass(frozen=True)
class Scored:
    """One chunk's predictions, row for row."""

    ids: list[str]
    preds: list[int]
    label_names: list[str]
    probs: list[float]


def output_format(explicit: str, output: Path | str | None) -> str:
    """``--output-format``, else the output path's suffix, else CSV (stdout included)."""
    if explicit not in OUTPUT_FORMATS:
        raise FakeNewsError(
            f"--output-format must be one of {', '.join(OUTPUT_FORMATS)}; found {explicit!r}."
        )
    if explicit != "auto":
        return explicit
    if output is None or str(output) == "-":
        return "csv"
    return OUTPUT_SUFFIXES.get(Path(output).suffix.lower(), "csv")


def csv_cell(value: str) -> str:
    """One CSV cell: formula-looking text escaped with a leading ``'``, then RFC 4180 quoting
    (a ``\\r`` anywhere is quoted too, so the cell survives a round trip)."""
    if value.startswith(FORMULA_STARTS):
        value = "'" + value
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def encode_text_rows(scored: Scored, fmt: str) -> bytes:
    """The CSV or JSONL lines of ``scored`` (no header), UTF-8."""
    rows = zip(scored.ids, scored.preds, scored.label_names, scored.probs, strict=True)
    if fmt == "csv":
        lines = [f"{csv_cell(i)},{p},{csv_cell(n)},{f!r}\n" for i, p, n, f in rows]
    else:
        lines = [
            json.dumps(dict(zip(OUTPUT_COLUMNS, row, strict=True)), ensure_ascii=False) + "\n"
            for row in rows
        ]
    return "".join(lines).encode("utf-8")


def arrow_schema() -> Any:
    import pyarrow as pa  # heavy; only Parquet output needs it

    return pa.schema(
        [
            ("id", pa.string()),
            ("pred", pa.int64()),
            ("label_name", pa.string()),
            ("prob_fake", pa.float64()),
        ]
    )


def arrow_table(scored: Scored) -> Any:
    import pyarrow as pa

    columns = [scored.ids, scored.preds, scored.label_names, scored.probs]
    return pa.Table.from_arrays([pa.array(c) for c in columns], schema=arrow_schema())


class RowsWriter:
    """Writes :class:`Scored` chunks (or finished parts) to a binary handle in one format."""

    def __init__(self, handle: IO[bytes], fmt: str) -> None:
        self.handle = handle
        self.format = fmt
        self._parquet: Any = None
        if fmt == "parquet":
            import pyarrow.parquet as pq

            self._parquet = pq.ParquetWriter(handle, arrow_schema())
        elif fmt == "csv":
            handle.write((",".join(OUTPUT_COLUMNS) + "\n").encode("utf-8"))

    def write(self, scored: Scored) -> None:
        if self._parquet is not None:
            self._parquet.write_table(arrow_table(scored))  # one row group per chunk
        else:
            self.handle.write(encode_text_rows(scored, self.format))

    def write_part(self, part: Path) -> None:
        """Append a part file written by :func:`write_part_file` (same format)."""
        if self._parquet is not None:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pq.read_table(part)
            self._parquet.write_table(pa.Table.from_arrays(table.columns, schema=arrow_schema()))
        else:
            self.handle.write(part.read_bytes())

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()


def write_part_file(handle: IO[bytes], scored: Scored, fmt: str) -> None:
    """One chunk as a part file: its CSV/JSONL lines (no header), or a Parquet file of it."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(arrow_table(scored), handle)
    else:
        handle.write(encode_text_rows(scored, fmt))


def part_preds(part: Path, fmt: str) -> list[int]:
    """The ``pred`` column of a part file (to count fake and real when parts are merged)."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return [int(p) for p in pq.read_table(part, columns=["pred"]).column(0).to_pylist()]
    text = part.read_text(encoding="utf-8")
    if fmt == "jsonl":
        return [int(json.loads(line)["pred"]) for line in text.splitlines()]
    import csv

    return [int(row[1]) for row in csv.reader(io.StringIO(text, newline=""))]


# --------------------------------------------------------------------------- where it goes


def same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` are one file (also through a symlink or a hard link)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _missing_parents(path: Path) -> list[Path]:
    missing = []
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        missing.append(parent)
        parent = parent.parent
    return missing


def _check_path(path: Path, input_path: Path | None) -> None:
    """Refuse a directory, a path below a file, and the input itself (also through a link)."""
    if path.is_dir():
        raise FakeNewsError(
            f"--output {path} is a directory; expected a file path such as {path / 'predictions.csv'}."
        )
    blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise FakeNewsError(
            f"cannot write --output {path}: {blocker} is a file, not a folder; "
            "choose a path in a folder you can write to."
        )
    if input_path is not None and same_file(path, input_path):
        raise FakeNewsError(
            f"--output {path} is the input file {input_path} (the same file, maybe through a "
            "link); writing there would destroy the input; choose another --output."
        )


class OutputTarget:
    """Where the rows go: a file (through a temporary sibling), or a stream (spooled).

    Use :meth:`open` as a context manager: the handle it yields is a temporary file; on a clean
    exit it becomes the output (renamed, or copied to the stream), on an error it is removed
    together with any directory :meth:`open` created.
    """

    def __init__(
        self, output: Path | str | IO[Any] | None, fmt: str, input_path: Path | None
    ) -> None:
        self.format = fmt
        self.stream: IO[Any] | None = None
        self.path: Path | None = None
        if output is None or (isinstance(output, str | Path) and str(output) == "-"):
            self.stream = sys.stdout
        elif isinstance(output, str | Path):
            self.path = Path(output)
            _check_path(self.path, input_path)
        else:
            self.stream = output
        if self.stream is not None and fmt == "parquet":
            if _binary(self.stream) is None:
                raise FakeNewsError(
                    "Parquet output is binary and this stream takes text; pass --output FILE.parquet."
                )
            if self.stream.isatty():
                raise FakeNewsError(
                    "Parquet output is binary and stdout is a terminal; pass --output FILE.parquet "
                    "or redirect stdout to a file."
                )

    @contextlib.contextmanager
    def open(self) -> Iterator[IO[bytes]]:
        if self.path is None:
            with tempfile.TemporaryFile() as spool:
                yield spool
                self._copy_out(spool)
            return
        created = _missing_parents(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=f".{self.path.name}.tmp-", dir=self.path.parent)
        except OSError as exc:
            _remove_dirs(created)
            raise FakeNewsError(
                f"cannot write --output {self.path}: {exc.strerror or exc}; "
                "choose a path in a folder you can write to."
            ) from None
        tmp = Path(name)
        try:
            with os.fdopen(fd, "wb") as handle:
                yield handle
            tmp.chmod(0o666 & ~_umask())  # mkstemp makes 0600; outputs are meant to be shared
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            _remove_dirs(created)
            raise

    def _copy_out(self, spool: IO[bytes]) -> None:
        stream = self.stream if self.stream is not None else sys.stdout
        spool.seek(0)
        binary = _binary(stream)
        if binary is not None:
            stream.flush()
            for block in iter(lambda: spool.read(1 << 20), b""):
                binary.write(block)
            binary.flush()
            return
        text = io.TextIOWrapper(spool, encoding="utf-8", newline="")
        for chars in iter(lambda: text.read(1 << 20), ""):
            stream.write(chars)
        text.detach()


def _binary(stream: IO[Any]) -> IO[bytes] | None:
    if isinstance(stream, io.RawIOBase | io.BufferedIOBase):
        return stream  # type: ignore[return-value]
    return getattr(stream, "buffer", None)


def _remove_dirs(created: Sequence[Path]) -> None:
    """Remove the directories an output created (deepest first), if they are still empty."""
    for folder in created:
        with contextlib.suppress(OSError):
            folder.rmdir()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
