"""The split dir contract: ``train.csv``, ``validation.csv``, ``test.csv`` and ``manifest.json``.

Every CSV has the columns :data:`COLUMNS` (``id, title, text, combined_text, label, source``),
plus ``dataset`` when several inputs were pooled.
A split dir made elsewhere with only ``combined_text, label`` (the study's ``welfake-clean-split``
layout) loads too: missing ids become content hashes, missing title/text/source become "".

``fingerprint`` is one sha256 over the sorted ``(id, label)`` pairs of each split. Two runs are
comparable only when their fingerprints match.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from fakenews.errors import FakeNewsError
from fakenews.io import read_json_object, write_csv

SPLITS: tuple[str, str, str] = ("train", "validation", "test")
COLUMNS: tuple[str, ...] = ("id", "title", "text", "combined_text", "label", "source")
MANIFEST = "manifest.json"


def combine(title: str, text: str) -> str:
    """``combined_text = title + " " + text`` (the study's model input), stripped at the ends."""
    return f"{title} {text}".strip()


def text_id(text: str) -> str:
    """A stable id for a row that came without one: a hash of its text."""
    return "sha1-" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def fingerprint(frames: Mapping[str, pd.DataFrame]) -> str:
    """sha256 over the sorted ``(id, label)`` pairs of each split, in the order of :data:`SPLITS`."""
    digest = hashlib.sha256()
    for name in SPLITS:
        digest.update(f"[{name}]\n".encode())
        frame = frames.get(name)
        if frame is None or frame.empty:
            continue
        pairs = sorted(zip(frame["id"].astype(str), frame["label"].astype(int), strict=True))
        for row_id, label in pairs:
            digest.update(f"{row_id}\t{label}\n".encode())
    return digest.hexdigest()


def read_csv_text(path: Path, *, what: str = "CSV file") -> pd.DataFrame:
    """Read a CSV as strings, with one-line errors for the usual ways a file is broken."""
    path = Path(path)
    if not path.exists():
        raise FakeNewsError(f"expected {what} at {path}, found nothing there; check the path.")
    if path.is_dir():
        raise FakeNewsError(
            f"expected {what} at {path}, found a directory; pass the file inside it."
        )
    raw = path.read_bytes()
    if not raw.strip():
        raise FakeNewsError(
            f"{what} {path} is empty; expected a header row and at least one data row."
        )
    try:
        decoded = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise FakeNewsError(
            f"{what} {path} is not UTF-8: byte 0x{raw[exc.start]:02x} at line {line} (byte {exc.start}); "
            "re-encode the file as UTF-8 (e.g. `iconv -f cp1252 -t utf-8`)."
        ) from None
    if "\x00" in decoded:
        line = decoded[: decoded.index("\x00")].count("\n") + 1
        raise FakeNewsError(
            f"{what} {path} contains binary data (a NUL byte at line {line}); expected a text CSV."
        )
    try:
        frame = pd.read_csv(io.StringIO(decoded), dtype=str, keep_default_na=False, na_filter=False)
    except (pd.errors.ParserError, csv.Error) as exc:
        raise FakeNewsError(
            f"{what} {path} is not valid CSV ({str(exc).strip()}); check for an unterminated quote near that line."
        ) from None
    except pd.errors.EmptyDataError:
        raise FakeNewsError(f"{what} {path} has no columns; expected a header row.") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def parse_labels(values: pd.Series, *, where: str) -> pd.Series:
    """Labels of a split file must already be 0/1 (real/fake)."""
    stripped = values.astype(str).str.strip()
    bad = sorted(set(stripped) - {"0", "1", "0.0", "1.0"})
    if bad:
        shown = ", ".join(repr(b) for b in bad[:5])
        raise FakeNewsError(
            f"{where}: expected label values 0 (real) or 1 (fake), found {shown}; "
            "prepare the raw data with `fakenews prepare` (see --fake-label) to map its labels."
        )
    return stripped.astype(float).astype(int)


def normalize_split_frame(frame: pd.DataFrame, *, where: str) -> pd.DataFrame:
    """Bring a split CSV to :data:`COLUMNS`, filling what an external split dir may lack."""
    cols = set(frame.columns)
    if "label" not in cols:
        raise FakeNewsError(f"{where}: expected a 'label' column, found columns {sorted(cols)}.")
    if "combined_text" not in cols and not ({"title", "text"} & cols):
        raise FakeNewsError(
            f"{where}: expected a 'combined_text' column (or 'title'/'text'), found columns {sorted(cols)}."
        )
    out = pd.DataFrame(index=frame.index)
    title = frame["title"] if "title" in cols else pd.Series("", index=frame.index)
    text = frame["text"] if "text" in cols else None
    combined = frame["combined_text"] if "combined_text" in cols else None
    if combined is None:
        body = text if text is not None else pd.Series("", index=frame.index)
        combined = pd.Series(
            [combine(a, b) for a, b in zip(title, body, strict=True)], index=frame.index
        )
    if text is None:
        text = combined
    if "id" in cols and (frame["id"] != "").all():
        ids = frame["id"].astype(str)
    else:
        ids = _dedupe_ids([text_id(t) for t in combined])
    out["id"] = ids
    out["title"] = title.astype(str)
    out["text"] = text.astype(str)
    out["combined_text"] = combined.astype(str)
    out["label"] = parse_labels(frame["label"], where=where)
    out["source"] = frame["source"].astype(str) if "source" in cols else ""
    if "dataset" in cols:  # several inputs pooled by `prepare A B C`
        out["dataset"] = frame["dataset"].astype(str)
    return out.reset_index(drop=True)


def _dedupe_ids(ids: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    result = []
    for i in ids:
        n = seen.get(i, 0)
        seen[i] = n + 1
        result.append(i if n == 0 else f"{i}-{n}")
    return result


@dataclass
class SplitDir:
    """A loaded split dir: the three frames (possibly empty) and the manifest (``{}`` if none)."""

    path: Path
    frames: dict[str, pd.DataFrame]
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.resolve().name

    @property
    def fingerprint(self) -> str:
        """The manifest's fingerprint when it has one, else computed from the files."""
        return str(self.manifest.get("fingerprint") or fingerprint(self.frames))

    def split(self, name: str) -> pd.DataFrame:
        if name not in SPLITS:
            raise FakeNewsError(f"unknown split {name!r}; expected one of {', '.join(SPLITS)}.")
        frame = self.frames[name]
        if frame.empty:
            raise FakeNewsError(
                f"split {name!r} of {self.path} has no rows; choose another --split or re-run `fakenews prepare` with other --split ratios."
            )
        return frame


def check_manifest(data: dict[str, Any], *, where: Path | str, fix: str) -> dict[str, Any]:
    """A split manifest's typed fields (``fingerprint``, ``label_mapping``), each checked when
    present (a manifest from another tool may lack them); ``data`` back as it was."""
    fp = data.get("fingerprint")
    if fp is not None and not isinstance(fp, str):
        raise FakeNewsError(
            f"{where}: fingerprint should be a string (a sha256), found {fp!r}; {fix}."
        )
    mapping = data.get("label_mapping")
    if mapping is not None and not (
        isinstance(mapping, Mapping)
        and {str(k).strip() for k in mapping} <= {"0", "1"}
        and all(isinstance(v, str) for v in mapping.values())
    ):
        raise FakeNewsError(
            f'{where}: label_mapping should be {{"0": "real", "1": "fake"}}, found {mapping!r}; {fix}.'
        )
    return data


def load_split_dir(path: Path, *, require_manifest: bool = False) -> SplitDir:
    """Load and validate a split dir (ours or an external one with ``combined_text, label``)."""
    path = Path(path)
    if not path.exists():
        raise FakeNewsError(
            f"expected a split dir at {path}, found nothing there; create one with `fakenews prepare`."
        )
    if not path.is_dir():
        raise FakeNewsError(
            f"expected a split dir (a folder with train.csv, validation.csv, test.csv) at {path}, found a file."
        )
    missing = [f"{s}.csv" for s in SPLITS if not (path / f"{s}.csv").is_file()]
    if missing:
        raise FakeNewsError(
            f"split dir {path} is missing {', '.join(missing)}; expected train.csv, validation.csv and test.csv "
            "(create it with `fakenews prepare`)."
        )
    manifest: dict[str, Any] = {}
    if (path / MANIFEST).is_file():
        fix = "re-run `fakenews prepare` to write it"
        manifest = read_json_object(path / MANIFEST, what="split manifest", fix=fix)
        check_manifest(manifest, where=path / MANIFEST, fix=fix)
    elif require_manifest:
        raise FakeNewsError(
            f"split dir {path} has no {MANIFEST}; expected one written by `fakenews prepare` "
            f"(run `fakenews prepare {path} --format splits --out NEW_DIR` to make one)."
        )
    frames = {}
    for name in SPLITS:
        file = path / f"{name}.csv"
        raw = read_csv_text(file, what="split file")
        frames[name] = normalize_split_frame(raw, where=str(file))
    return SplitDir(path=path, frames=frames, manifest=manifest)


def write_split_files(out: Path, frames: Mapping[str, pd.DataFrame]) -> None:
    """Write the three split CSVs with exactly :data:`COLUMNS` (+ ``dataset`` when pooled; no
    manifest)."""
    for name in SPLITS:
        frame = frames.get(name, pd.DataFrame(columns=list(COLUMNS)))
        columns = [*COLUMNS, "dataset"] if "dataset" in frame.columns else list(COLUMNS)
        write_csv(Path(out) / f"{name}.csv", frame.loc[:, columns])
