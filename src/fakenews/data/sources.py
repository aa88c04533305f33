"""Readers: every supported input becomes one canonical table ``id, title, text, label, source``.

Formats (``--format``; ``auto`` tells them apart by name, header and folder layout):

- ``welfake``: WELFake's CSV as published (first column unnamed or ``Unnamed: 0`` holding the
  serial number, then ``title, text, label``). Label 1 = fake, as the data say (its
  documentation says the opposite); the reader checks the direction on the rows themselves
  (articles with a ``(Reuters) -`` dateline are real news) and refuses a file that contradicts it.
- ``csv`` / ``jsonl``: any table with a text column (``text`` or ``combined_text`` unless
  ``--text-column``), an optional title column and a label column. Labels may be ``fake/real``,
  ``true/false`` (``true`` = real), ``0/1`` (1 = fake unless ``--fake-label 0``) or LIAR's six
  verdicts; anything else needs ``--fake-label`` (and ``--real-label``).
- ``fakenewsnet``: FakeNewsNet's ``FakeNewsContent/`` and ``RealNewsContent/`` folders of
  ``<news id>-Webpage.json`` files. Only ``title`` and ``text`` are read: which other keys a file
  has depends on its class, so reading them would leak the label.
- ``liar``: LIAR's raw TSV (no header, no quoting; column 2 = verdict, 3 = statement), or a folder
  holding ``train.tsv, valid.tsv, test.tsv`` (its official split is kept).
- ``splits``: an existing split dir (``train.csv, validation.csv, test.csv`` with at least
  ``combined_text, label``); its split is kept.

Columns other than the canonical ones are kept (as strings) so that ``--group-by`` can use them.
A reader that knows a predefined split adds a ``split`` column.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from fakenews.errors import FakeNewsError
from fakenews.splits import SPLITS, load_split_dir

logger = logging.getLogger(__name__)

FORMATS: tuple[str, ...] = ("auto", "welfake", "csv", "jsonl", "fakenewsnet", "liar", "splits")
CANONICAL: tuple[str, ...] = ("id", "title", "text", "label", "source")
SPLIT_COLUMN = "split"

KNOWN_LABELS: Mapping[str, int] = {
    "fake": 1,
    "real": 0,
    "false": 1,
    "true": 0,
    "1": 1,
    "0": 0,
    "1.0": 1,
    "0.0": 0,
    # LIAR's six verdicts, binarised as in the literature (half-true counts as real).
    "pants-fire": 1,
    "barely-true": 1,
    "half-true": 0,
    "mostly-true": 0,
}
"""Label values understood without flags (compared casefolded): 1 = fake, 0 = real."""

LIAR_COLUMNS: tuple[str, ...] = (
    "id",
    "label",
    "statement",
    "subject",
    "speaker",
    "speaker_job",
    "state",
    "party",
    "barely_true_counts",
    "false_counts",
    "half_true_counts",
    "mostly_true_counts",
    "pants_on_fire_counts",
    "context",
)
LIAR_FILES: Mapping[str, str] = {
    "train": "train.tsv",
    "validation": "valid.tsv",
    "test": "test.tsv",
}
FAKENEWSNET_DIRS: Mapping[str, int] = {"FakeNewsContent": 1, "RealNewsContent": 0}
WELFAKE_INDEX_COLUMNS = ("", "Unnamed: 0")
REUTERS_DATELINE = re.compile(r"\(Reuters\)\s*[-–—]")
WELFAKE_MIN_DATELINES = 10
"""Fewer ``(Reuters)`` datelines than this and the WELFake direction check is skipped (logged)."""


@dataclass(frozen=True)
class ReadOptions:
    """How to read the inputs of ``prepare``.

    Args:
        format: ``"auto"`` (default: by file name, header and folder layout), ``"welfake"``,
            ``"csv"``, ``"jsonl"``, ``"fakenewsnet"``, ``"liar"`` or ``"splits"``.
        text_column: column holding the article body (csv/jsonl). Default ``"text"``, else
            ``"combined_text"``.
        title_column: column holding the headline (csv/jsonl). Default ``"title"`` when present,
            else every title is empty.
        label_column: column holding the label (csv/jsonl). Default ``"label"``.
        id_column: column holding a unique id (csv/jsonl). Default ``"id"`` when present, else
            ``<file stem>-<row number>``.
        fake_labels: label values that mean fake (``--fake-label``, repeatable). Default ``()``:
            the values in :data:`KNOWN_LABELS`.
        real_labels: label values that mean real (``--real-label``). Default ``()``: with
            ``fake_labels`` set, the one other value in the column.
    """

    format: str = "auto"
    text_column: str | None = None
    title_column: str | None = None
    label_column: str | None = None
    id_column: str | None = None
    fake_labels: tuple[str, ...] = ()
    real_labels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise FakeNewsError(
                f"--format {self.format!r} is not known; expected one of {', '.join(FORMATS)}."
            )
        object.__setattr__(self, "fake_labels", tuple(str(v).strip() for v in self.fake_labels))
        object.__setattr__(self, "real_labels", tuple(str(v).strip() for v in self.real_labels))
        both = {v.casefold() for v in self.fake_labels} & {v.casefold() for v in self.real_labels}
        if both:
            raise FakeNewsError(
                f"label value(s) {', '.join(sorted(both))} given as both --fake-label and --real-label; give each value once."
            )
        if self.real_labels and not self.fake_labels:
            raise FakeNewsError(
                "--real-label needs --fake-label too; name the value(s) that mean fake."
            )


@dataclass(frozen=True)
class Source:
    """One input, read.

    Attributes:
        path: the input as given.
        format: the format it was read as.
        frame: the canonical columns (+ ``split`` when predefined, + the input's other columns).
        sha256: of the file, or for a folder of the sorted ``relative path, sha256`` lines of the
            files read.
        files: how many files were read.
        label_values: each raw label value seen → 0/1, with its count.
        checks: reader-specific checks on the data (e.g. WELFake's label direction).
    """

    path: Path
    format: str
    frame: pd.DataFrame
    sha256: str
    files: int
    label_values: dict[str, dict[str, int]]
    checks: dict[str, Any] = field(default_factory=dict)

    @property
    def predefined_split(self) -> bool:
        return SPLIT_COLUMN in self.frame.columns


# --------------------------------------------------------------------------- detection


def detect_format(path: Path) -> str:
    """The format ``auto`` picks for ``path`` (see the module docstring)."""
    path = Path(path)
    if not path.exists():
        raise FakeNewsError(
            f"expected an input file or folder at {path}, found nothing there; check the path."
        )
    if path.is_dir():
        if any((path / f"{s}.csv").exists() for s in SPLITS):
            return "splits"
        if _fakenewsnet_roots(path):
            return "fakenewsnet"
        if any((path / f).exists() for f in LIAR_FILES.values()):
            return "liar"
        found = ", ".join(sorted(p.name for p in path.iterdir())[:8]) or "nothing"
        raise FakeNewsError(
            f"cannot tell the format of folder {path}: expected a split dir (train.csv, validation.csv, test.csv), "
            f"a FakeNewsNet folder (FakeNewsContent/, RealNewsContent/) or LIAR's train.tsv/valid.tsv/test.tsv; "
            f"found {found}. Pass a file, or --format."
        )
    suffix = path.suffix.lower()
    if suffix == ".tsv":
        return "liar"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    with path.open("rb") as handle:
        first = handle.readline(4096).decode("utf-8", errors="replace").strip().lstrip("\ufeff")
    cells = next(csv.reader([first]), [])
    if (
        len(cells) >= 4
        and cells[0] in WELFAKE_INDEX_COLUMNS
        and {"title", "text", "label"} <= set(cells[1:])
    ):
        return "welfake"
    return "csv"


def read_input(path: Path, options: ReadOptions) -> Source:
    """Read one input (file or folder) in ``options.format`` (or the detected one)."""
    path = Path(path)
    fmt = options.format
    if fmt == "auto":
        fmt = detect_format(path)
        if fmt == "welfake" and options.fake_labels:
            fmt = "csv"  # the user maps the labels; no WELFake direction check
    readers = {
        "welfake": _read_welfake,
        "csv": _read_table,
        "jsonl": _read_table,
        "fakenewsnet": _read_fakenewsnet,
        "liar": _read_liar,
        "splits": _read_splits,
    }
    source = readers[fmt](path, options, fmt)
    _check_ids(source.frame, where=str(path))
    logger.info("read %s rows from %s (%s)", len(source.frame), path, fmt)
    return source


# --------------------------------------------------------------------------- raw text files


def _require_file(path: Path, what: str) -> bytes:
    if not path.exists():
        raise FakeNewsError(f"expected {what} at {path}, found nothing there; check the path.")
    if path.is_dir():
        raise FakeNewsError(
            f"expected {what} at {path}, found a directory; pass the file inside it "
            "(or --format fakenewsnet|liar|splits for a folder of those)."
        )
    raw = path.read_bytes()
    if not raw.strip():
        raise FakeNewsError(
            f"{what} {path} is empty; expected a header row and at least one data row."
        )
    return raw


def _record_number(prefix: str, *, csv_rows: bool) -> int:
    """1-based index of the record holding the character right after ``prefix``."""
    if not csv_rows:
        return prefix.count("\n") + 1
    try:  # a sentinel character stands for the offending byte, so a record that starts there counts
        return sum(1 for _ in csv.reader(io.StringIO(prefix + "?", newline="")))
    except csv.Error:
        return prefix.count("\n") + 1


CHECK_CHUNK = 1 << 24
"""Bytes per piece when checking a file is UTF-8 (pieces end at a newline: no character is cut)."""


def _first_bad_byte(raw: bytes) -> int | None:
    """Offset of the first byte that is not valid UTF-8, without decoding the whole file at once."""
    start = 0
    while start < len(raw):
        cut = raw.find(b"\n", start + CHECK_CHUNK)
        end = len(raw) if cut < 0 else cut + 1
        try:
            raw[start:end].decode("utf-8")
        except UnicodeDecodeError as exc:
            return start + exc.start
        start = end
    return None


def _check_text(raw: bytes, path: Path, what: str, *, csv_rows: bool, header: bool) -> None:
    """Refuse non-UTF-8 bytes and NUL bytes, naming the data row (and line) they are in."""

    def where(offset: int) -> str:
        prefix = raw[:offset].decode("utf-8", errors="replace")
        line = prefix.count("\n") + 1
        record = _record_number(prefix, csv_rows=csv_rows) - (1 if header else 0)
        return f"data row {record} (line {line})" if record >= 1 else f"the header (line {line})"

    nul = raw.find(b"\x00")
    bad = _first_bad_byte(raw)
    if nul >= 0 and (bad is None or nul < bad):
        raise FakeNewsError(
            f"{what} {path} contains binary data (a NUL byte in {where(nul)}); expected UTF-8 text."
        )
    if bad is not None:
        raise FakeNewsError(
            f"{what} {path} is not UTF-8: byte 0x{raw[bad]:02x} in {where(bad)}; "
            "re-encode the file as UTF-8 (e.g. `iconv -f cp1252 -t utf-8`)."
        )


def _decode(raw: bytes, path: Path, what: str, *, csv_rows: bool, header: bool) -> str:
    """UTF-8 text of ``raw`` (a leading BOM dropped), after :func:`_check_text`."""
    _check_text(raw, path, what, csv_rows=csv_rows, header=header)
    return raw.decode("utf-8-sig")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _folder_digest(files: Iterable[tuple[str, bytes]]) -> str:
    digest = hashlib.sha256()
    for rel, data in sorted(files):
        digest.update(f"{rel}\t{_sha256(data)}\n".encode())
    return digest.hexdigest()


def _read_csv_frame(path: Path, what: str = "CSV file") -> tuple[pd.DataFrame, bytes]:
    raw = _require_file(path, what)
    # Checked here only to name a bad row; pandas decodes the bytes itself.
    _check_text(raw, path, what, csv_rows=True, header=True)
    try:
        frame = pd.read_csv(
            io.BytesIO(raw), encoding="utf-8-sig", dtype=str, keep_default_na=False, na_filter=False
        )
    except pd.errors.EmptyDataError:
        raise FakeNewsError(f"{what} {path} has no columns; expected a header row.") from None
    except (pd.errors.ParserError, csv.Error) as exc:
        detail = str(exc).strip().replace("Error tokenizing data. C error: ", "")
        raise FakeNewsError(
            f"{what} {path} is not valid CSV ({detail}); check for an unterminated quote or a stray delimiter there."
        ) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise FakeNewsError(
            f"{what} {path} has a header but no data rows; expected at least one article."
        )
    return frame, raw


def _read_jsonl_frame(path: Path) -> tuple[pd.DataFrame, bytes]:
    what = "JSONL file"
    raw = _require_file(path, what)
    text = _decode(raw, path, what, csv_rows=False, header=False)
    records: list[Any]
    stripped = text.lstrip()
    if stripped.startswith("["):  # a JSON array of objects
        try:
            records = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FakeNewsError(
                f"{what} {path} is not valid JSON (line {exc.lineno}: {exc.msg})."
            ) from None
        numbered = list(enumerate(records, start=1))
    else:
        numbered = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                numbered.append((number, json.loads(line)))
            except json.JSONDecodeError as exc:
                raise FakeNewsError(
                    f"{what} {path} line {number} is not valid JSON ({exc.msg}); expected one JSON object per line."
                ) from None
    for number, record in numbered:
        if not isinstance(record, dict):
            raise FakeNewsError(
                f"{what} {path} line {number} is a JSON {type(record).__name__}; expected an object such as "
                '{"title": ..., "text": ..., "label": ...}.'
            )
    if not numbered:
        raise FakeNewsError(f"{what} {path} has no records; expected one JSON object per line.")
    rows = [{str(k): _json_cell(v) for k, v in record.items()} for _, record in numbered]
    frame = pd.DataFrame(rows).fillna("").astype(str)
    return frame, raw


def _json_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return (
        str(value) if not isinstance(value, (dict, list)) else json.dumps(value, ensure_ascii=False)
    )


# --------------------------------------------------------------------------- labels


def map_labels(
    values: pd.Series, *, where: str, column: str, options: ReadOptions
) -> tuple[pd.Series, dict[str, dict[str, int]]]:
    """Raw label values → 0 (real) / 1 (fake), by the flags or :data:`KNOWN_LABELS`."""
    raw = values.astype(str).str.strip()
    distinct = sorted(set(raw))
    mapping: dict[str, int] = {}
    if options.fake_labels:
        fake = {v.casefold() for v in options.fake_labels}
        real = {v.casefold() for v in options.real_labels}
        unmatched_flags = sorted(
            v for v in options.fake_labels if v.casefold() not in {d.casefold() for d in distinct}
        )
        if unmatched_flags:
            raise FakeNewsError(
                f"{where}: --fake-label {', '.join(repr(v) for v in unmatched_flags)} matches no value of column "
                f"{column!r}, which holds {_shown(distinct)}; pass one of those."
            )
        others = [d for d in distinct if d.casefold() not in fake]
        if real:
            unknown = [d for d in others if d.casefold() not in real]
        else:
            unknown = others if len(others) > 1 else []
        if unknown:
            raise FakeNewsError(
                f"{where}: label values {_shown(unknown)} in column {column!r} are neither --fake-label nor "
                "--real-label; name them with --real-label VALUE (or --fake-label VALUE)."
            )
        mapping = {d: (1 if d.casefold() in fake else 0) for d in distinct}
    else:
        unknown = [d for d in distinct if d.casefold() not in KNOWN_LABELS]
        if unknown:
            raise FakeNewsError(
                f"{where}: unknown label values {_shown(unknown)} in column {column!r}; expected fake/real, "
                "true/false, 0/1 (1 = fake) or LIAR's six verdicts. Map them with --fake-label VALUE "
                "(repeatable) and --real-label VALUE."
            )
        mapping = {d: KNOWN_LABELS[d.casefold()] for d in distinct}
    counts = raw.value_counts()
    seen = {d: {"label": mapping[d], "rows": int(counts[d])} for d in distinct}
    return raw.map(mapping).astype(int), seen


def _shown(values: list[str], limit: int = 8) -> str:
    shown = ", ".join(repr(v) for v in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


# --------------------------------------------------------------------------- readers


def _pick_column(
    cols: list[str],
    given: str | None,
    defaults: tuple[str, ...],
    *,
    flag: str,
    what: str,
    where: str,
    required: bool,
) -> str | None:
    if given is not None:
        if given not in cols:
            raise FakeNewsError(
                f"{where}: {flag} {given!r} names no column; found columns {', '.join(cols)}."
            )
        return given
    for name in defaults:
        if name in cols:
            return name
    if required:
        expected = " or ".join(repr(d) for d in defaults)
        raise FakeNewsError(
            f"{where}: expected a {what} column ({expected}), found columns {', '.join(cols)}; name it with {flag}."
        )
    return None


def _read_table(path: Path, options: ReadOptions, fmt: str) -> Source:
    frame, raw = _read_jsonl_frame(path) if fmt == "jsonl" else _read_csv_frame(path)
    where = str(path)
    cols = list(frame.columns)
    text_col = _pick_column(
        cols,
        options.text_column,
        ("text", "combined_text"),
        flag="--text-column",
        what="text",
        where=where,
        required=True,
    )
    title_col = _pick_column(
        cols,
        options.title_column,
        ("title",),
        flag="--title-column",
        what="title",
        where=where,
        required=False,
    )
    label_col = _pick_column(
        cols,
        options.label_column,
        ("label",),
        flag="--label-column",
        what="label",
        where=where,
        required=True,
    )
    id_col = _pick_column(
        cols, options.id_column, ("id",), flag="--id-column", what="id", where=where, required=False
    )
    labels, seen = map_labels(
        frame[str(label_col)], where=where, column=str(label_col), options=options
    )
    out = pd.DataFrame(
        {
            "id": frame[id_col].astype(str).str.strip()
            if id_col
            else [f"{path.stem}-{i}" for i in range(len(frame))],
            "title": frame[title_col] if title_col else "",
            "text": frame[str(text_col)],
            "label": labels,
            "source": frame["source"] if "source" in cols else path.stem,
        }
    )
    used = {text_col, title_col, label_col, id_col, "source"}
    for col in cols:
        if (
            col not in used
            and col not in out.columns
            and col not in (SPLIT_COLUMN, "combined_text")
        ):
            out[col] = frame[col].astype(str)
    return Source(path=path, format=fmt, frame=out, sha256=_sha256(raw), files=1, label_values=seen)


def _read_welfake(path: Path, options: ReadOptions, fmt: str) -> Source:
    frame, raw = _read_csv_frame(path, what="WELFake CSV")
    where = str(path)
    cols = list(frame.columns)
    index_col = cols[0] if cols and cols[0] in WELFAKE_INDEX_COLUMNS else None
    missing = [c for c in ("title", "text", "label") if c not in cols]
    if index_col is None or missing:
        raise FakeNewsError(
            f"{where}: expected WELFake's columns (an unnamed serial column, title, text, label), found columns "
            f"{', '.join(repr(c) for c in cols)}; use --format csv for other tables."
        )
    if options.fake_labels:
        raise FakeNewsError(
            "--fake-label does not apply to --format welfake (its label direction is checked on the data); "
            "use --format csv --fake-label VALUE to map the labels yourself."
        )
    raw_labels = frame["label"].astype(str).str.strip()
    bad = sorted(set(raw_labels) - {"0", "1"})
    if bad:
        raise FakeNewsError(
            f"{where}: expected WELFake labels 0 and 1, found {_shown(bad)} in column 'label'."
        )
    labels = raw_labels.astype(int)
    check = welfake_direction(frame["text"], labels)
    if check["checked"] and check["fake_share"] > 0.5:
        raise FakeNewsError(
            f"{where} contradicts WELFake's label direction (1 = fake): {check['dateline_fake']} of "
            f"{check['datelines']} articles with a '(Reuters) -' dateline (WELFake's real news) carry label 1; "
            "this file seems to use 0 = fake. Read it with --format csv --fake-label 0."
        )
    if not check["checked"]:
        logger.warning(
            "%s: only %d '(Reuters) -' datelines, too few to check the label direction; assuming 1 = fake",
            where,
            check["datelines"],
        )
    out = pd.DataFrame(
        {
            "id": frame[index_col].astype(str).str.strip(),
            "title": frame["title"],
            "text": frame["text"],
            "label": labels,
            "source": "welfake",
        }
    )
    counts = raw_labels.value_counts()
    seen = {v: {"label": int(v), "rows": int(counts[v])} for v in sorted(set(raw_labels))}
    return Source(
        path=path,
        format=fmt,
        frame=out,
        sha256=_sha256(raw),
        files=1,
        label_values=seen,
        checks={"welfake_direction": check},
    )


def welfake_direction(texts: pd.Series, labels: pd.Series) -> dict[str, Any]:
    """Count ``(Reuters) -`` datelines per label: WELFake's real news all carry one, with label 0."""
    dateline = texts.astype(str).str.slice(0, 400).str.contains(REUTERS_DATELINE)
    total = int(dateline.sum())
    fake = int((dateline & (labels == 1)).sum())
    return {
        "datelines": total,
        "dateline_real": total - fake,
        "dateline_fake": fake,
        "fake_share": round(fake / total, 4) if total else 0.0,
        "checked": total >= WELFAKE_MIN_DATELINES,
    }


def _natural_key(name: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _fakenewsnet_roots(path: Path) -> list[Path]:
    """Folders at or up to two levels below ``path`` that hold FakeNewsNet content folders."""
    candidates = [path, *sorted(p for p in path.iterdir() if p.is_dir())]
    candidates += [q for p in candidates[1:] for q in sorted(p.iterdir()) if q.is_dir()]
    if path.name in FAKENEWSNET_DIRS:
        return [path.parent]
    return [c for c in candidates if any((c / d).is_dir() for d in FAKENEWSNET_DIRS)]


def _read_fakenewsnet(path: Path, options: ReadOptions, fmt: str) -> Source:
    if not path.is_dir():
        raise FakeNewsError(
            f"expected a FakeNewsNet folder (holding FakeNewsContent/ and RealNewsContent/) at {path}, "
            f"found {'a file' if path.exists() else 'nothing'}; pass the folder."
        )
    roots = _fakenewsnet_roots(path)
    if not roots:
        raise FakeNewsError(
            f"expected FakeNewsNet content folders (FakeNewsContent/, RealNewsContent/) in {path} or up to two levels "
            "below, found none; pass the folder that holds them (e.g. .../PolitiFact)."
        )
    rows: list[dict[str, Any]] = []
    files: list[tuple[str, bytes]] = []
    for root in roots:
        for folder, label in FAKENEWSNET_DIRS.items():
            content = root / folder
            if not content.is_dir():
                logger.warning(
                    "%s has no %s/: every article read from it is %s",
                    root,
                    folder,
                    "real" if label else "fake",
                )
                continue
            jsons = sorted(content.glob("*.json"), key=lambda p: _natural_key(p.name))
            if not jsons:
                raise FakeNewsError(
                    f"FakeNewsNet folder {content} holds no .json files; expected <news id>-Webpage.json files."
                )
            for file in jsons:
                data = file.read_bytes()
                files.append((str(file.relative_to(path)), data))
                rows.append(_fakenewsnet_row(file, data, label, root.name.lower()))
    frame = pd.DataFrame(rows, columns=list(CANONICAL))
    seen = {
        folder: {"label": label, "rows": int((frame["label"] == label).sum())}
        for folder, label in FAKENEWSNET_DIRS.items()
        if (frame["label"] == label).any()
    }
    return Source(
        path=path,
        format=fmt,
        frame=frame,
        sha256=_folder_digest(files),
        files=len(files),
        label_values=seen,
    )


def _fakenewsnet_row(file: Path, data: bytes, label: int, source: str) -> dict[str, Any]:
    """One FakeNewsNet ``<id>-Webpage.json`` as a row (only title and text: the presence of any
    other key depends on the class)."""
    try:
        record = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FakeNewsError(
            f"FakeNewsNet file {file} is not valid UTF-8 JSON ({exc}); re-download it."
        ) from None
    if not isinstance(record, dict):
        raise FakeNewsError(
            f"FakeNewsNet file {file} holds a JSON {type(record).__name__}; expected an object with title and text."
        )
    return {
        "id": file.name.removesuffix(".json").removesuffix("-Webpage"),
        "title": _json_cell(record.get("title")),
        "text": _json_cell(record.get("text")),
        "label": label,
        "source": source,
    }


def _read_liar_tsv(
    path: Path, options: ReadOptions
) -> tuple[pd.DataFrame, bytes, dict[str, dict[str, int]]]:
    what = "LIAR TSV"
    raw = _require_file(path, what)
    text = _decode(raw, path, what, csv_rows=False, header=False)
    records = list(
        csv.reader(io.StringIO(text, newline=""), delimiter="\t", quoting=csv.QUOTE_NONE)
    )
    records = [r for r in records if any(cell.strip() for cell in r)]
    for number, record in enumerate(records, start=1):
        if len(record) < 3:
            raise FakeNewsError(
                f"{what} {path} row {number} has {len(record)} tab-separated field(s); expected LIAR's 14 "
                "(id, label, statement, ...)."
            )
    if not records:
        raise FakeNewsError(f"{what} {path} has no rows; expected LIAR's tab-separated statements.")
    padded = [r[: len(LIAR_COLUMNS)] + [""] * (len(LIAR_COLUMNS) - len(r)) for r in records]
    table = pd.DataFrame(padded, columns=list(LIAR_COLUMNS), dtype=str)
    labels, seen = map_labels(
        table["label"], where=str(path), column="label (column 2)", options=options
    )
    frame = pd.DataFrame(
        {
            "id": table["id"].str.strip(),
            "title": "",
            "text": table["statement"],
            "label": labels,
            "source": "liar",
        }
    )
    for col in ("subject", "speaker", "speaker_job", "state", "party", "context"):
        frame[col] = table[col]
    return frame, raw, seen


def _read_liar(path: Path, options: ReadOptions, fmt: str) -> Source:
    if not path.is_dir():
        frame, raw, one_seen = _read_liar_tsv(path, options)
        return Source(
            path=path, format=fmt, frame=frame, sha256=_sha256(raw), files=1, label_values=one_seen
        )
    missing = [f for f in LIAR_FILES.values() if not (path / f).is_file()]
    if missing:
        raise FakeNewsError(
            f"LIAR folder {path} is missing {', '.join(missing)}; expected train.tsv, valid.tsv and test.tsv "
            "(or pass the .tsv files themselves)."
        )
    parts, files = [], []
    seen: dict[str, dict[str, int]] = {}
    for split, name in LIAR_FILES.items():
        frame, raw, part_seen = _read_liar_tsv(path / name, options)
        frame[SPLIT_COLUMN] = split
        parts.append(frame)
        files.append((name, raw))
        for value, info in part_seen.items():
            entry = seen.setdefault(value, {"label": info["label"], "rows": 0})
            entry["rows"] += info["rows"]
    frame = pd.concat(parts, ignore_index=True)
    return Source(
        path=path,
        format=fmt,
        frame=frame,
        sha256=_folder_digest(files),
        files=len(files),
        label_values=dict(sorted(seen.items())),
    )


def _read_splits(path: Path, options: ReadOptions, fmt: str) -> Source:
    split_dir = load_split_dir(path)
    parts = []
    for name in SPLITS:
        part = split_dir.frames[name].loc[:, list(CANONICAL)].copy()
        part[SPLIT_COLUMN] = name
        parts.append(part)
    frame = pd.concat(parts, ignore_index=True)
    files = [(f"{s}.csv", (path / f"{s}.csv").read_bytes()) for s in SPLITS]
    counts = frame["label"].value_counts()
    seen = {str(v): {"label": int(v), "rows": int(counts[v])} for v in sorted(counts.index)}
    return Source(
        path=path, format=fmt, frame=frame, sha256=_folder_digest(files), files=3, label_values=seen
    )


def _check_ids(frame: pd.DataFrame, *, where: str) -> None:
    ids = frame["id"].astype(str)
    if (ids == "").any():
        row = int((ids == "").to_numpy().argmax()) + 1
        raise FakeNewsError(
            f"{where}: data row {row} has an empty id; fill it, or point --id-column at another column."
        )
    repeated = ids[ids.duplicated()].unique().tolist()
    if repeated:
        raise FakeNewsError(
            f"{where}: ids must be unique, but {_shown(sorted(repeated))} occur more than once; point --id-column at a "
            "unique column (without an id column, rows are numbered)."
        )
