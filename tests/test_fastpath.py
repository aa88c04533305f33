"""The bf16 fast path of the torch Predictor: what it runs, how close it stays, when it is refused."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import fakenews.predictors.transformer as inference
from fakenews.errors import FakeNewsError
from fakenews.predictors import load_predictor
from fakenews.splits import load_split_dir


def _texts(split_dir: Path) -> list[str]:
    return load_split_dir(split_dir).split("test")["combined_text"].tolist()


def test_bf16_path_runs_in_bf16_and_stays_close_to_fp32(
    tiny_run_dir: Path, tiny_split_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        inference, "bf16_supported", lambda device: True
    )  # torch runs bf16 on any CPU, slowly
    texts = _texts(tiny_split_dir)
    exact = load_predictor(tiny_run_dir, device="cpu")
    fast = load_predictor(tiny_run_dir, device="cpu", precision="bf16")
    assert exact.describe() == "torch-fp32-dynamic-padding-head-cpu"
    assert fast.describe() == "torch-bf16-dynamic-padding-head-cpu"
    p32, p16 = exact.predict_proba(texts), fast.predict_proba(texts)
    assert p16.dtype == np.float64 and p16.shape == (len(texts), 2)
    np.testing.assert_allclose(p16.sum(axis=1), 1.0, atol=1e-6)
    assert np.max(np.abs(p16 - p32)) < 0.05  # bf16 keeps 8 bits of mantissa


def test_bf16_refused_without_native_support(
    tiny_run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inference, "bf16_supported", lambda device: False)
    with pytest.raises(
        FakeNewsError,
        match=re.escape(
            "--precision bf16 needs native bf16 (a GPU, or a CPU with AVX-512 BF16 or AMX) and cpu has none; use --precision fp32."
        ),
    ):
        load_predictor(tiny_run_dir, device="cpu", precision="bf16")


def test_precision_checked_and_only_for_torch_transformers(
    tiny_run_dir: Path, tiny_baseline_run_dir: Path
) -> None:
    with pytest.raises(
        FakeNewsError, match=re.escape("--precision must be one of fp32, bf16; found 'fp16'.")
    ):
        load_predictor(tiny_run_dir, device="cpu", precision="fp16")  # type: ignore[arg-type]
    with pytest.raises(
        FakeNewsError,
        match=re.escape(
            "--precision bf16 applies to the torch backend of transformer runs, not to the TF-IDF baseline; drop --precision."
        ),
    ):
        load_predictor(tiny_baseline_run_dir, precision="bf16")
