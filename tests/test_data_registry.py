"""Data registry: cache → mirror → network, every file checked; never touches the network here."""

from __future__ import annotations

import dataclasses
import functools
import http.server
import logging
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pooch
import pytest

from fakenews.cli import main
from fakenews.data import registry
from fakenews.data.prepare import prepare
from fakenews.data.registry import DATASETS, fetch
from fakenews.errors import FakeNewsError

UNREACHABLE = "http://127.0.0.1:9/"  # the discard port: connection refused at once


class ListHandler(logging.Handler):
    """Keeps the messages logged to it (pooch's logger writes to its own stderr handler)."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(autouse=True)
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(registry.MIRROR_ENV, raising=False)
    monkeypatch.delenv(registry.CACHE_ENV, raising=False)


def test_packaged_registries_list_every_file(shared_data: Path) -> None:
    politifact = DATASETS["fakenewsnet_politifact"].registry()
    assert len(politifact) == 241 and "PolitiFact/News.txt" in politifact
    raw = shared_data / "fakenewsnet_politifact/raw"
    assert set(politifact) == {p.relative_to(raw).as_posix() for p in raw.rglob("*") if p.is_file()}
    assert DATASETS["welfake"].registry() == {
        "WELFake_Dataset.csv": "md5:73c9675a4b3d09f86a6933d0b8d7d908"
    }
    assert DATASETS["welfake"].urls() == {
        "WELFake_Dataset.csv": "https://zenodo.org/records/4561253/files/WELFake_Dataset.csv?download=1"
    }
    # The LIAR README's sha256 values.
    assert (
        DATASETS["liar"].registry()["train.tsv"]
        == "sha256:23ef8cb7ff57b25c941100d0744039cebc595d65a67ea190f72b330a658d8c36"
    )


def test_fetch_from_mirror_then_from_cache(shared_data: Path, tmp_path: Path) -> None:
    mirror = shared_data / "fakenewsnet_politifact/raw"
    pooch_log = ListHandler()
    pooch.get_logger().addHandler(pooch_log)
    try:
        path = fetch("fakenewsnet_politifact", mirror=mirror, cache_dir=tmp_path, quiet=False)
    finally:
        pooch.get_logger().removeHandler(pooch_log)
    # A copy from the mirror is not reported as a download from the set's URL (pooch's own
    # log line), even when not quiet.
    assert not [m for m in pooch_log.messages if "Downloading" in m]
    assert path == tmp_path / "datasets/fakenewsnet_politifact"
    assert len([p for p in path.rglob("*") if p.is_file()]) == 241
    # Second time: no mirror, no network, the cache serves it.
    assert fetch("fakenewsnet_politifact", cache_dir=tmp_path, offline=True) == path
    result = prepare([path], tmp_path / "split")
    assert (
        result.counts["train"]["total"]
        + result.counts["validation"]["total"]
        + result.counts["test"]["total"]
        == 232
    )


def test_mirror_from_the_environment_with_the_set_name_as_folder(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror = tmp_path / "mirror"
    shutil.copytree(shared_data / "liar/raw", mirror / "liar")
    monkeypatch.setenv(registry.MIRROR_ENV, str(mirror))
    monkeypatch.setenv(registry.CACHE_ENV, str(tmp_path / "cache"))
    path = fetch("liar", offline=True)
    assert path == tmp_path / "cache/datasets/liar"
    assert sorted(p.name for p in path.iterdir()) == ["test.tsv", "train.tsv", "valid.tsv"]


def test_a_corrupt_mirror_file_is_refused(shared_data: Path, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    shutil.copytree(shared_data / "liar/raw", mirror)
    (mirror / "valid.tsv").write_text("tampered\n")
    with pytest.raises(
        FakeNewsError,
        match=re.escape(
            f"mirror file {mirror / 'valid.tsv'} does not match the registry's sha256 for liar"
        ),
    ):
        fetch("liar", mirror=mirror, cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache/datasets/liar/valid.tsv").exists()


def test_nothing_reachable_names_the_three_places(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = dataclasses.replace(DATASETS["fakenewsnet_politifact"], base_url=UNREACHABLE)
    monkeypatch.setitem(DATASETS, "fakenewsnet_politifact", spec)
    with pytest.raises(FakeNewsError) as info:
        fetch("fakenewsnet_politifact", cache_dir=tmp_path)
    message = str(info.value)
    first = "PolitiFact/FakeNewsContent/PolitiFact_Fake_1-Webpage.json"
    assert message.startswith(
        f"data set 'fakenewsnet_politifact' is not available: {first} is not in the cache ({tmp_path / 'datasets/fakenewsnet_politifact'}), "
        f"not in a mirror (none given (--mirror or $FAKENEWS_DATA_MIRROR)), and the download from {UNREACHABLE}{first} failed (ConnectionError"
    )
    assert message.endswith(
        f"Fix: on a machine with internet run `fakenews data fetch fakenewsnet_politifact` and copy {tmp_path / 'datasets/fakenewsnet_politifact'} "
        f"here, or point --mirror / $FAKENEWS_DATA_MIRROR at a folder holding {first} (source: {spec.source})."
    )
    assert "\n" not in message


def test_offline_cli_error_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["data", "fetch", "welfake", "--cache-dir", str(tmp_path), "--offline", "--quiet"])
        == 1
    )
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"error: data set 'welfake' is not available: WELFake_Dataset.csv is not in the cache ({tmp_path / 'datasets/welfake'}), "
        "not in a mirror (none given (--mirror or $FAKENEWS_DATA_MIRROR)), and the download from "
        "https://zenodo.org/records/4561253/files/WELFake_Dataset.csv?download=1 was not tried (offline). "
        f"Fix: on a machine with internet run `fakenews data fetch welfake` and copy {tmp_path / 'datasets/welfake'} here, or point "
        "--mirror / $FAKENEWS_DATA_MIRROR at a folder holding WELFake_Dataset.csv "
        "(source: Zenodo record 4561253, WELFake_Dataset.csv (md5 73c9675a4b3d09f86a6933d0b8d7d908)).\n"
    )


def test_cli_fetch_prints_the_path_and_list_shows_the_cache(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "data",
            "fetch",
            "liar",
            "--mirror",
            str(shared_data / "liar/raw"),
            "--cache-dir",
            str(tmp_path),
            "--quiet",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0 and captured.out == f"{tmp_path / 'datasets/liar'}\n"
    assert main(["data", "list", "--cache-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name in ("welfake", "fakenewsnet_politifact", "liar"):
        assert name in out
    assert "3/3 files" in out and "0/241 files" in out


def test_unknown_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "fetch", "isot", "--quiet"]) == 1
    assert capsys.readouterr().err == (
        "error: unknown data set 'isot'; expected one of welfake, fakenewsnet_politifact, liar (see `fakenews data list`).\n"
    )


@pytest.fixture
def http_folder() -> Iterator[Callable[[Path], str]]:
    """Serve a folder over HTTP on 127.0.0.1 (the network path, without the internet)."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def serve(folder: Path) -> str:
        handler = functools.partial(QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def test_download_over_http_is_checked_and_cached(
    shared_data: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    http_folder: Callable[[Path], str],
) -> None:
    url = http_folder(shared_data / "liar/raw")
    monkeypatch.setitem(DATASETS, "liar", dataclasses.replace(DATASETS["liar"], base_url=url))
    path = fetch("liar", cache_dir=tmp_path)
    assert sorted(p.name for p in path.iterdir()) == ["test.tsv", "train.tsv", "valid.tsv"]
    for name in ("train.tsv", "valid.tsv", "test.tsv"):
        assert (path / name).read_bytes() == (shared_data / "liar/raw" / name).read_bytes()
    # Then the cache serves it, with the network switched off.
    assert fetch("liar", cache_dir=tmp_path, offline=True) == path


def test_a_download_that_does_not_match_its_hash_is_refused(
    shared_data: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    http_folder: Callable[[Path], str],
) -> None:
    served = tmp_path / "served"
    shutil.copytree(shared_data / "liar/raw", served)
    (served / "valid.tsv").write_text("tampered\n")
    url = http_folder(served)
    monkeypatch.setitem(DATASETS, "liar", dataclasses.replace(DATASETS["liar"], base_url=url))
    with pytest.raises(FakeNewsError) as info:
        fetch("liar", cache_dir=tmp_path / "cache")
    message = str(info.value)
    assert (
        f"the download from {url}valid.tsv failed (ValueError: SHA256 hash of downloaded file"
        in message
    )
    assert "\n" not in message
    assert not (tmp_path / "cache/datasets/liar/valid.tsv").exists()
