"""``fakenews export``: ONNX export and int8 quantization of a tiny run, checked against PyTorch."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import onnx
import pandas as pd
import pytest

from fakenews.cli import main
from fakenews.errors import FakeNewsError
from fakenews.export import export_model
from fakenews.predict import predict_file
from fakenews.predictors import load_predictor
from fakenews.predictors.onnx import EXPORT_JSON, FP32_FILE, INT8_FILE, OnnxPredictor

EXPORT_KEYS = {
    "model_file",
    "quantize",
    "exporter",
    "n",
    "batch_size",
    "accuracy_torch",
    "accuracy_onnx",
    "accuracy_change_pts",
    "agreement",
    "max_abs_prob_diff",
    "torch_seconds",
    "onnx_seconds",
    "speedup",
    "size_mb_torch",
    "size_mb_onnx",
    "data_fingerprint",
}


def copy_run(src: Path, dst: Path) -> Path:
    """A private copy of a shared fixture run (export writes into the run dir)."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("checkpoints", "onnx"))
    return dst


def sample_texts(split_dir: Path) -> list[str]:
    test = pd.read_csv(split_dir / "test.csv", dtype=str, keep_default_na=False)
    # add a long article so that truncation and --long chunks are exercised (max_length is 64)
    return [*test["combined_text"].tolist(), " ".join(test["combined_text"].tolist())]


@pytest.fixture(scope="module")
def fp32_run(
    tiny_run_dir: Path, tiny_split_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    run = copy_run(tiny_run_dir, tmp_path_factory.mktemp("export") / "fp32")
    code = main(
        [
            "export",
            str(run),
            "--format",
            "onnx",
            "--data",
            str(tiny_split_dir),
            "--repeats",
            "1",
            "-q",
        ]
    )
    assert code == 0
    return run


def test_fp32_export_writes_a_loadable_model_and_record(
    fp32_run: Path, tiny_split_dir: Path
) -> None:
    onnx_dir = fp32_run / "onnx"
    assert sorted(p.name for p in onnx_dir.iterdir()) == sorted(
        [FP32_FILE, EXPORT_JSON, "config.json", "tokenizer.json", "tokenizer_config.json"]
    )
    record = json.loads((onnx_dir / EXPORT_JSON).read_text(encoding="utf-8"))
    assert set(record) >= EXPORT_KEYS
    assert record["model_file"] == FP32_FILE and record["quantize"] == "none"
    assert record["n"] == 12 and record["agreement"] == 1.0 and record["accuracy_change_pts"] == 0.0
    assert record["max_abs_prob_diff"] < 1e-4
    assert record["speedup"] == pytest.approx(record["torch_seconds"] / record["onnx_seconds"])
    assert not list(fp32_run.glob(".onnx*"))  # no temporary folder left behind


@pytest.mark.parametrize("long", ["truncate", "chunks"])
def test_fp32_onnx_agrees_with_pytorch(fp32_run: Path, tiny_split_dir: Path, long: str) -> None:
    texts = sample_texts(tiny_split_dir)
    torch_probs = load_predictor(fp32_run, long=long).predict_proba(texts)  # type: ignore[arg-type]
    onnx_predictor = load_predictor(fp32_run, backend="onnx", long=long, batch_size=3)  # type: ignore[arg-type]
    assert isinstance(onnx_predictor, OnnxPredictor)
    onnx_probs = onnx_predictor.predict_proba(texts)
    assert onnx_probs.shape == (len(texts), 2) and onnx_probs.dtype == np.float64
    np.testing.assert_allclose(onnx_probs.sum(axis=1), 1.0, atol=1e-9)
    assert np.abs(onnx_probs - torch_probs).max() < 1e-4


def test_predict_uses_the_onnx_backend(fp32_run: Path, tmp_path: Path) -> None:
    src = tmp_path / "in.txt"
    src.write_text("first article\nsecond article about the senate\n", encoding="utf-8")
    out_torch, out_onnx = tmp_path / "torch.csv", tmp_path / "onnx.csv"
    predict_file(fp32_run, src, out_torch)
    assert (
        main(
            [
                "predict",
                str(fp32_run),
                "-i",
                str(src),
                "-o",
                str(out_onnx),
                "--backend",
                "onnx",
                "-q",
            ]
        )
        == 0
    )
    a, b = pd.read_csv(out_torch), pd.read_csv(out_onnx)
    assert a["pred"].tolist() == b["pred"].tolist()
    np.testing.assert_allclose(a["prob_fake"], b["prob_fake"], atol=1e-4)


def test_int8_quantization_is_smaller_and_reports_agreement(
    tiny_run_dir: Path, tiny_split_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = copy_run(tiny_run_dir, tmp_path / "run")
    code = main(
        [
            "export",
            str(run),
            "--quantize",
            "int8",
            "--data",
            str(tiny_split_dir),
            "--repeats",
            "1",
            "-q",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert re.search(
        r"wrote .*model\.int8\.onnx .* agreement [01]\.\d{4}, max \|Δp\| .* speed-up x\d", out
    )
    record = json.loads((run / "onnx" / EXPORT_JSON).read_text(encoding="utf-8"))
    assert record["model_file"] == INT8_FILE and record["quantize"] == "int8"
    assert not (run / "onnx" / FP32_FILE).exists()
    assert record["size_mb_onnx"] < record["size_mb_torch"]
    # the fused graph, quantized: int8 attention and linear layers, fp32 embedding tables
    assert record["fused"] is True and record["fused_ops"]["Attention"] == 2
    ops = {n.op_type for n in onnx.load(str(run / "onnx" / INT8_FILE)).graph.node}
    assert {"QAttention", "MatMulInteger", "EmbedLayerNormalization"} <= ops
    assert load_predictor(run, backend="onnx").describe().startswith("onnxruntime-int8-fused-")
    assert 0.0 <= record["agreement"] <= 1.0
    # The record's figures are what the exported model gives now.
    texts = sample_texts(tiny_split_dir)[:-1]
    torch_pred = load_predictor(run).predict_proba(texts).argmax(axis=1)
    onnx_pred = load_predictor(run, backend="onnx").predict_proba(texts).argmax(axis=1)
    assert record["agreement"] == pytest.approx(float(np.mean(torch_pred == onnx_pred)))


def test_a_quantized_model_that_loses_accuracy_is_refused_unless_forced(
    tiny_run_dir: Path,
    tiny_split_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = copy_run(tiny_run_dir, tmp_path / "run")
    test = pd.read_csv(tiny_split_dir / "test.csv", dtype=str, keep_default_na=False)
    truth = dict(zip(test["combined_text"], test["label"].astype(int), strict=True))

    def rigged(
        torch_p: object, onnx_p: object, texts: Sequence[str], repeats: int
    ) -> list[tuple[np.ndarray, float]]:
        # PyTorch always right, the export always wrong: a drop of 100 points.
        right = np.array([[1.0 - truth[t], float(truth[t])] for t in texts])
        return [(right, 1.0), (right[:, ::-1].copy(), 0.5)]

    monkeypatch.setattr("fakenews.export._time_both", rigged)
    argv = [
        "export",
        str(run),
        "--quantize",
        "int8",
        "--data",
        str(tiny_split_dir),
        "--max-drop",
        "1",
        "-q",
    ]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        "error: the int8 ONNX model's test accuracy is 0.0000 against 1.0000 for PyTorch, a drop of 100.00 points "
        "(more than --max-drop 1); nothing was written: export without --quantize, raise --max-drop, or pass --keep-worse to keep it."
    )
    assert not (run / "onnx").exists()
    assert not [p for p in run.iterdir() if p.name.startswith(".onnx")]

    assert main([*argv, "--keep-worse"]) == 0
    record = json.loads((run / "onnx" / EXPORT_JSON).read_text(encoding="utf-8"))
    assert record["forced"] is True and record["accuracy_change_pts"] == -100.0


def test_bad_exports(
    tiny_baseline_run_dir: Path,
    tiny_run_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["export", str(tiny_baseline_run_dir)]) == 1
    assert capsys.readouterr().err.strip() == (
        f"error: {tiny_baseline_run_dir} is a TF-IDF baseline run; ONNX export is for transformer runs "
        "(the baseline already runs fast on CPU without PyTorch: use --backend torch, the default)."
    )
    assert main(["export", str(tiny_run_dir), "--format", "tflite"]) == 1
    assert (
        capsys.readouterr().err.strip()
        == "error: --format must be onnx (the only export format); found 'tflite'."
    )
    assert main(["export", str(tiny_run_dir), "--quantize", "int4"]) == 1
    assert (
        capsys.readouterr().err.strip()
        == "error: --quantize must be int8 (or omitted for fp32); found 'int4'."
    )
    assert main(["export", str(tmp_path / "nope")]) == 1
    assert "found nothing there" in capsys.readouterr().err
    with pytest.raises(
        FakeNewsError, match=re.escape("--backend onnx needs the ONNX export: run `fakenews export")
    ):
        load_predictor(copy_run(tiny_run_dir, tmp_path / "run"), backend="onnx")


# --------------------------------------------------------------------------- fused graphs


def test_the_fp32_export_is_fused_and_says_so(fp32_run: Path) -> None:
    record = json.loads((fp32_run / "onnx" / EXPORT_JSON).read_text(encoding="utf-8"))
    # tiny scratch:bert, 2 layers: one fused attention and two skip layer norms per layer
    assert record["fused"] is True and record["fusion_note"] == ""
    assert record["fused_ops"]["Attention"] == 2
    assert record["fused_ops"]["EmbedLayerNormalization"] == 1
    assert record["fused_ops"]["SkipLayerNormalization"] == 4
    assert "onnxruntime.transformers.optimizer" in record["exporter"] and record["opset"] == 17
    predictor = load_predictor(fp32_run, backend="onnx")
    assert predictor.describe() == "onnxruntime-fp32-fused-dynamic-padding-head-cpu"


def tiny_model(arch: str) -> tuple[object, SimpleNamespace]:
    """A random-init tiny ``arch`` classifier (seeded) and a stand-in for its tokenizer."""
    import torch
    from transformers import AutoModelForSequenceClassification

    from fakenews.models.build import scratch_config

    torch.manual_seed(0)
    config = scratch_config(arch, "tiny", vocab_size=120, pad_token_id=0, max_positions=64)
    model = AutoModelForSequenceClassification.from_config(config).eval()
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if arch != "distilbert" else [])
    return model, SimpleNamespace(model_input_names=names)


def onnx_vs_torch(model: object, names: list[str], onnx_file: Path) -> float:
    """Largest |P(fake)| difference on a right-padded batch (rows of 30, 17 and 4 tokens)."""
    import onnxruntime as ort
    import torch

    ids = torch.randint(5, 120, (3, 30), generator=torch.Generator().manual_seed(3))
    mask = torch.ones_like(ids)
    mask[1, 17:], mask[2, 4:] = 0, 0
    ids[mask == 0] = 0
    feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}
    with torch.no_grad():
        expected = torch.softmax(model(**{n: feed[n] for n in names}).logits, dim=-1).numpy()  # type: ignore[operator]
    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    logits = session.run(["logits"], {i.name: feed[i.name].numpy() for i in session.get_inputs()})[
        0
    ]
    got = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return float(np.abs(got[:, 1] - expected[:, 1]).max())


@pytest.mark.parametrize(
    ("arch", "attention_fused"),
    [("bert", 2), ("distilbert", 2), ("albert", 1), ("mobilebert", 0)],
)
def test_each_architecture_exports_fused_where_it_can(
    arch: str, attention_fused: int, tmp_path: Path
) -> None:
    model, tokenizer = tiny_model(arch)
    out = tmp_path / "model.onnx"
    graph = export_model(model, tokenizer, out)
    # ALBERT's one shared layer fuses once; MobileBERT's bottleneck layers do not match.
    assert graph.fused is (attention_fused > 0)
    assert graph.opset == (17 if graph.fused else 18)
    assert graph.fused_ops.get("Attention", 0) == attention_fused
    if not graph.fused:
        assert (
            graph.note
            == "ONNX Runtime's BERT optimizer fused no attention in this mobilebert graph"
        )
        assert graph.exporter.startswith("torch.onnx.export(dynamo=True)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]
    assert onnx_vs_torch(model, tokenizer.model_input_names, out) < 1e-5
    assert model.config._attn_implementation == "sdpa"  # type: ignore[attr-defined]  # restored


def test_a_fused_graph_that_disagrees_with_pytorch_is_not_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("fakenews.export._max_logit_diff", lambda *args: 0.5)
    model, tokenizer = tiny_model("bert")
    graph = export_model(model, tokenizer, tmp_path / "model.onnx")
    assert not graph.fused and graph.fused_ops == {}
    assert (
        graph.note == "the fused graph's logits differ from PyTorch's by 5.00e-01 (more than 0.001)"
    )
    assert onnx_vs_torch(model, tokenizer.model_input_names, tmp_path / "model.onnx") < 1e-5
    unfused = export_model(model, tokenizer, tmp_path / "plain.onnx", fuse=False)
    assert not unfused.fused and unfused.note == "not requested (fuse=False)"


def test_a_partly_fused_albert_run_exports_and_agrees(
    tiny_albert_run_dir: Path, tiny_split_dir: Path, tmp_path: Path
) -> None:
    run = copy_run(tiny_albert_run_dir, tmp_path / "albert")
    argv = ["export", str(run), "--data", str(tiny_split_dir), "--repeats", "1", "-q"]
    assert main(argv) == 0
    record = json.loads((run / "onnx" / EXPORT_JSON).read_text(encoding="utf-8"))
    assert record["fused"] is True and record["fused_ops"]["Attention"] == 1  # 2 uses, 1 fused
    assert record["agreement"] == 1.0 and record["max_abs_prob_diff"] < 1e-4
    texts = sample_texts(tiny_split_dir)
    torch_probs = load_predictor(run, long="chunks").predict_proba(texts)
    onnx_probs = load_predictor(run, backend="onnx", long="chunks").predict_proba(texts)
    assert np.abs(onnx_probs - torch_probs).max() < 1e-4
