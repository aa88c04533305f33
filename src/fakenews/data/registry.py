"""Known public data sets by name, fetched and checked with ``pooch``.

Each set has a registry file shipped in the package (``fakenews/data/registries/<name>.txt``, pooch
format: relative path, ``alg:hash``, optional URL) and a base URL pinned to one release. ``fetch``
looks in three places, in this order, and checks every file's hash wherever it came from:

1. the cache: ``datasets/<name>/`` under the one cache root of :mod:`fakenews.cache`
   (``cache_dir``, else ``$FAKENEWS_CACHE``, else ``$XDG_CACHE_HOME/fakenews`` or
   ``~/.cache/fakenews``);
2. a mirror: ``mirror``, else ``$FAKENEWS_DATA_MIRROR`` (several folders separated by ``os.pathsep``);
   a mirror serves the registry's relative paths, either directly (``DIR/PolitiFact/...``) or
   under the set's name (``DIR/fakenewsnet_politifact/PolitiFact/...``);
3. the network (the pinned URL), unless ``offline``.

The path it returns is ready for ``fakenews prepare`` (format auto-detected).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pooch

from fakenews import cache
from fakenews.cache import CACHE_ENV as CACHE_ENV  # re-exported: the variable that moves the cache
from fakenews.errors import FakeNewsError

logger = logging.getLogger(__name__)

MIRROR_ENV = "FAKENEWS_DATA_MIRROR"
NETWORK_TIMEOUT_S = 30


@dataclass(frozen=True)
class DataSet:
    """A public data set the registry knows.

    Attributes:
        name: the name ``fakenews data fetch`` takes.
        description: one line: what it is and its labels.
        source: where it comes from (pinned release).
        base_url: URL the registry's relative paths are appended to.
        size: total size as published / measured from the pinned files.
        entry: relative path (in the set's cache folder) that ``fetch`` returns; ``""`` = the folder.
        citation: whom to cite; the terms of use.
    """

    name: str
    description: str
    source: str
    base_url: str
    size: str
    entry: str
    citation: str

    def _rows(self) -> list[list[str]]:
        """The packaged registry file's entries: relative path, ``alg:hash`` [, URL]."""
        text = (
            resources.files("fakenews.data")
            .joinpath("registries", f"{self.name}.txt")
            .read_text(encoding="utf-8")
        )
        rows = (line.split() for line in text.splitlines())
        return [row for row in rows if row and not row[0].startswith("#")]

    def registry(self) -> dict[str, str]:
        """Relative path → ``alg:hash``, from the packaged registry file."""
        return {row[0]: row[1] for row in self._rows()}

    def urls(self) -> dict[str, str]:
        """Per-file URLs given in the registry file (third column), if any."""
        return {row[0]: row[2] for row in self._rows() if len(row) == 3}


DATASETS: dict[str, DataSet] = {
    d.name: d
    for d in (
        DataSet(
            name="welfake",
            description="WELFake: 72,134 news articles",
            source="Zenodo record 4561253, WELFake_Dataset.csv (md5 73c9675a4b3d09f86a6933d0b8d7d908)",
            base_url="https://zenodo.org/records/4561253/files/",
            size="245.1 MB, 1 file",
            entry="WELFake_Dataset.csv",
            citation="Verma et al., WELFake, IEEE TCSS 2021, doi:10.1109/TCSS.2021.3068519; research use",
        ),
        DataSet(
            name="fakenewsnet_politifact",
            description="FakeNewsNet PolitiFact: 240 articles (JSON)",
            source="github.com/KaiDMML/FakeNewsNet @ 15f35bd0769cbb850249a9011fc8dd34c1cd62d6, Data/PolitiFact/",
            base_url="https://raw.githubusercontent.com/KaiDMML/FakeNewsNet/15f35bd0769cbb850249a9011fc8dd34c1cd62d6/Data/",
            size="1.6 MB, 241 files",
            entry="",
            citation="Shu et al. 2017/2018 (FakeNewsNet); article texts belong to their publishers; research use",
        ),
        DataSet(
            name="liar",
            description="LIAR: 12,836 statements, official split",
            source="github.com/nishitpatel01/Fake_News_Detection @ 880a2782ab627c10e4f9cf98c3d753d48439a9d1, liar_dataset/",
            base_url="https://raw.githubusercontent.com/nishitpatel01/Fake_News_Detection/880a2782ab627c10e4f9cf98c3d753d48439a9d1/liar_dataset/",
            size="3.0 MB, 3 files",
            entry="",
            citation="Wang, 'Liar, Liar Pants on Fire', ACL 2017; research use only",
        ),
    )
}


def get(name: str) -> DataSet:
    if name not in DATASETS:
        raise FakeNewsError(
            f"unknown data set {name!r}; expected one of {', '.join(DATASETS)} (see `fakenews data list`)."
        )
    return DATASETS[name]


def cache_root(cache_dir: Path | str | None = None) -> Path:
    """Where fetched sets live: ``datasets/`` under the cache root (``cache_dir``, else
    ``$FAKENEWS_CACHE``, else the OS cache; see :mod:`fakenews.cache`)."""
    return cache.cache_dir(cache.DATASETS, cache_dir)


def mirror_roots(mirror: Path | str | Sequence[Path | str] | None = None) -> list[Path]:
    """The mirror folders to try: ``mirror``, else ``$FAKENEWS_DATA_MIRROR`` (``os.pathsep``-separated)."""
    if mirror is not None:
        items = [mirror] if isinstance(mirror, (str, Path)) else list(mirror)
        roots = [Path(m) for m in items]
        for root in roots:
            if not root.is_dir():
                raise FakeNewsError(
                    f"--mirror {root} is not a folder; expected a folder serving the data set's files."
                )
        return roots
    env = os.environ.get(MIRROR_ENV, "")
    return [Path(p) for p in env.split(os.pathsep) if p]


def cached_files(name: str, *, cache_dir: Path | str | None = None) -> int:
    """How many of the set's files are in the cache (by presence; ``fetch`` checks hashes)."""
    folder = cache_root(cache_dir) / name
    return sum((folder / rel).is_file() for rel in get(name).registry())


def _hash_ok(path: Path, known: str) -> bool:
    if not path.is_file():
        return False
    alg, _, value = known.partition(":")
    return pooch.file_hash(str(path), alg=alg) == value


@contextlib.contextmanager
def _pooch_log(quiet: bool) -> Iterator[None]:
    log = pooch.get_logger()
    level = log.level
    log.setLevel(logging.WARNING if quiet else logging.INFO)
    try:
        yield
    finally:
        log.setLevel(level)


def _copier(source: Path) -> Callable[[str, str, Any], None]:
    """A pooch downloader that copies ``source`` (a mirror file) instead of downloading."""

    def download(url: str, output_file: str, pup: Any) -> None:
        shutil.copyfile(source, output_file)

    return download


def fetch(
    name: str,
    *,
    mirror: Path | str | Sequence[Path | str] | None = None,
    cache_dir: Path | str | None = None,
    offline: bool = False,
    quiet: bool = True,
) -> Path:
    """Make the set ``name`` available locally and return its path (a file or a folder).

    Every file is checked against the packaged hash. Raises :class:`FakeNewsError` naming the
    three places looked in (cache, mirror, network) when a file is in none of them.
    """
    spec = get(name)
    registry = spec.registry()
    cache = cache_root(cache_dir) / name
    mirrors = mirror_roots(mirror)
    pup = pooch.create(
        path=cache, base_url=spec.base_url, registry=registry, urls=spec.urls(), retry_if_failed=0
    )
    counts = {"cache": 0, "mirror": 0, "network": 0}
    network = pooch.HTTPDownloader(progressbar=not quiet, timeout=NETWORK_TIMEOUT_S)
    for rel, known in registry.items():
        if _hash_ok(cache / rel, known):
            counts["cache"] += 1
            continue
        local = next(
            (p for root in mirrors for p in (root / rel, root / name / rel) if p.is_file()),
            None,
        )
        if local is not None:
            _from_mirror(pup, rel, local, known, name)
            counts["mirror"] += 1
            continue
        if offline:
            raise FakeNewsError(
                _not_found(spec, rel, cache, mirrors, pup.get_url(rel), "was not tried (offline)")
            )
        try:
            with _pooch_log(quiet):
                pup.fetch(rel, downloader=network)
        except Exception as exc:  # requests' connection errors, HTTP errors, hash mismatch
            reason = " ".join(str(exc).split())[:200] or type(exc).__name__
            why = f"failed ({type(exc).__name__}: {reason})"
            raise FakeNewsError(
                _not_found(spec, rel, cache, mirrors, pup.get_url(rel), why)
            ) from None
        counts["network"] += 1
    logger.info(
        "%s: %d file(s) from the cache, %d from a mirror, %d downloaded, in %s",
        name, counts["cache"], counts["mirror"], counts["network"], cache,
    )  # fmt: skip
    return cache / spec.entry if spec.entry else cache


def _from_mirror(pup: Any, rel: str, local: Path, known: str, name: str) -> None:
    """Copy ``rel`` from a mirror file into the cache, hash-checked by pooch."""
    try:
        # pooch would log this copy as "Downloading file ... from <url>": untrue, so
        # its log is kept to warnings here, whatever --quiet says.
        with _pooch_log(quiet=True):
            pup.fetch(rel, downloader=_copier(local))
    except ValueError as exc:
        raise FakeNewsError(
            f"mirror file {local} does not match the registry's {known.partition(':')[0]} for {name} "
            f"({str(exc).splitlines()[0]}); the mirror holds another version: replace the file."
        ) from None


def _not_found(
    spec: DataSet, rel: str, cache: Path, mirrors: Sequence[Path], url: str, network: str
) -> str:
    looked = (
        ", ".join(str(m) for m in mirrors) if mirrors else f"none given (--mirror or ${MIRROR_ENV})"
    )
    return (
        f"data set {spec.name!r} is not available: {rel} is not in the cache ({cache}), not in a mirror ({looked}), "
        f"and the download from {url} {network}. Fix: on a machine with internet run "
        f"`fakenews data fetch {spec.name}` and copy {cache} here, or point --mirror / ${MIRROR_ENV} at a folder "
        f"holding {rel} (source: {spec.source})."
    )
