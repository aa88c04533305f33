"""Atomic file and directory writes: a stage either leaves complete output or none.

Write everything into a temporary sibling, then rename it into place. A crash or a user
error in between leaves the destination as it was.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from fakenews.errors import FakeNewsError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_output_dir(out: Path, *, force: bool, what: str = "output directory") -> None:
    """Refuse an ``out`` that exists and is not empty, unless ``force``."""
    if out.exists() and not out.is_dir():
        raise FakeNewsError(
            f"{what} {out} exists and is a file; expected a directory path. Choose another --out."
        )
    if out.is_dir() and any(out.iterdir()) and not force:
        raise FakeNewsError(
            f"{what} {out} already exists and is not empty; choose a new --out or pass --force to replace it."
        )


@contextlib.contextmanager
def atomic_dir(out: Path, *, force: bool = False, what: str = "output directory") -> Iterator[Path]:
    """Yield a temporary directory that replaces ``out`` only if the block succeeds."""
    out = Path(out)
    check_output_dir(out, force=force, what=what)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    tmp.chmod(0o777 & ~_umask())  # mkdtemp makes 0700; outputs are meant to be shared
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(out)


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary file path in ``path``'s folder; it replaces ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    tmp.chmod(0o666 & ~_umask())  # mkstemp makes 0600
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


def write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_json(path: Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    """CSV with RFC 4180 quoting, ``\\n`` line ends, UTF-8, no index: byte-stable for equal frames.

    Text fields holding a lone ``\\r`` are quoted too (the csv module's minimal quoting only
    looks for the ``\\n`` line terminator), so every field survives a round trip.
    """
    has_cr = any(
        frame[c].astype(str).str.contains("\r", regex=False).any()
        for c in frame.columns
        if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c])
    )
    quoting = csv.QUOTE_NONNUMERIC if has_cr else csv.QUOTE_MINIMAL
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n", quoting=quoting)


def read_json(path: Path, *, what: str = "file") -> Any:
    """Read a JSON file, turning a missing or corrupt file into a one-line user error."""
    path = Path(path)
    if not path.is_file():
        raise FakeNewsError(f"expected {what} at {path}, found nothing there.")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FakeNewsError(
            f"{what} {path} is not valid JSON ({exc}); re-create it with the command that writes it."
        ) from None


def read_json_object(path: Path, *, what: str = "file", fix: str = "") -> dict[str, Any]:
    """:func:`read_json` for files that must hold a JSON object (``{...}``): a list, a number or
    a string there is a one-line error naming the file, what was found and ``fix``."""
    data = read_json(path, what=what)
    if not isinstance(data, dict):
        found = type(data).__name__.replace("NoneType", "null")
        raise FakeNewsError(
            f"{what} {path} should hold a JSON object ({{...}}), found a {found}; "
            f"{fix or 're-create it with the command that writes it'}."
        )
    return data


def read_json_if_readable(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or ``None`` when the file is absent, unreadable, not JSON or
    not an object: for optional figures a renderer shows as "not measured" rather than fail on."""
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None
