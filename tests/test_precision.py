"""``--precision bf16`` through evaluate, benchmark, predict and serve (where the CPU has bf16)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fakenews.cli import main
from fakenews.predictors import InferenceOptions
from fakenews.predictors.transformer import bf16_supported
from fakenews.rundir import variant_suffix
from fakenews.serving import create_app

BF16 = bf16_supported("cpu")
ARTICLE = "The senate passed the bill on Tuesday after a long debate."


def copy_run(run: Path, tmp_path: Path) -> Path:
    out = tmp_path / "run"
    shutil.copytree(run, out, ignore=shutil.ignore_patterns("checkpoints"))
    return out


def test_variant_keys_name_every_non_default_inference() -> None:
    assert variant_suffix() == ""
    assert variant_suffix(precision="bf16") == "+bf16"
    assert variant_suffix(precision="bf16", long="chunks") == "+bf16+chunks"
    assert variant_suffix(backend="onnx", long="chunks") == "+onnx+chunks"


@pytest.mark.skipif(not BF16, reason="this CPU has no native bf16 (AVX-512 BF16 or AMX)")
def test_bf16_evaluate_benchmark_predict_and_serve(
    tiny_run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = copy_run(tiny_run_dir, tmp_path)
    assert main(["evaluate", str(run), "--precision", "bf16", "--quiet"]) == 0
    assert main(["evaluate", str(run), "--quiet"]) == 0
    bf16 = json.loads((run / "metrics" / "test+bf16.json").read_text())
    fp32 = json.loads((run / "metrics" / "test.json").read_text())
    assert (bf16["key"], bf16["precision"], fp32["precision"]) == ("test+bf16", "bf16", "fp32")
    assert bf16["n"] == fp32["n"]
    assert abs(bf16["accuracy"] - fp32["accuracy"]) <= 1 / bf16["n"] + 1e-9

    assert main(["benchmark", str(run), "--precision", "bf16", "--n-articles", "4",
                 "--batch-size", "2", "--quiet"]) == 0  # fmt: skip
    efficiency = json.loads((run / "efficiency.json").read_text())
    assert efficiency["path"].startswith("torch-bf16")

    capsys.readouterr()
    assert main(["predict", str(run), ARTICLE, "--precision", "bf16", "--quiet"]) == 0
    label, prob, _ = capsys.readouterr().out.strip().split("\t")
    assert label in ("fake", "real") and 0.0 <= float(prob) <= 1.0

    client = TestClient(create_app(run, options=InferenceOptions(precision="bf16")))
    info = client.get("/model").json()
    assert info["precision"] == "bf16"
    assert info["served_accuracy"] == {
        "accuracy": bf16["accuracy"],
        "n": bf16["n"],
        "source": "metrics/test+bf16.json",
    }
    assert client.post("/predict", json={"text": ARTICLE}).json()["label_name"] in ("fake", "real")


def test_bf16_is_refused_without_native_bf16(
    tiny_run_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("fakenews.predictors.transformer.bf16_supported", lambda device: False)
    assert main(["predict", str(tiny_run_dir), ARTICLE, "--precision", "bf16"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "--precision bf16 needs native bf16 (a GPU, or a CPU with AVX-512 BF16 or AMX)" in err


def test_bf16_is_refused_for_the_baseline_and_onnx(
    tiny_baseline_run_dir: Path, tiny_run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["predict", str(tiny_baseline_run_dir), ARTICLE, "--precision", "bf16"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "--precision bf16 applies to the torch backend of transformer runs" in err
    assert "not to the TF-IDF baseline; drop --precision." in err
    assert main(["evaluate", str(tiny_run_dir), "--precision", "fp16"]) == 1
    assert "--precision" in capsys.readouterr().err
