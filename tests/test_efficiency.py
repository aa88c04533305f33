"""Benchmark timing core (bootstrap CIs, warm-up) and `fakenews benchmark` on a tiny run."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from fakenews.cli import main
from fakenews.efficiency import (
    EfficiencyResult,
    benchmark,
    dir_size_bytes,
    measure_throughput,
    percentile_with_ci,
    rate_with_ci,
    time_calls,
)
from fakenews.errors import FakeNewsError

CONTRACT_KEYS = {
    "params_total", "params_trainable", "size_mb", "memory_mb", "latency_ms_p50", "latency_ms_p50_ci",
    "latency_ms_p95", "latency_ms_p95_ci", "throughput_per_s", "throughput_per_s_ci", "batch_size",
    "max_length", "device", "torch_threads", "torch_version", "path", "n_articles", "peak_memory_mb",
}  # fmt: skip


def test_percentile_ci_contains_the_estimate() -> None:
    x = np.random.default_rng(1).lognormal(3, 0.3, 200)
    value, (lo, hi) = percentile_with_ci(x, 50)
    assert value == pytest.approx(np.median(x))
    assert lo <= value <= hi and hi - lo < 0.3 * value
    p95, (lo95, hi95) = percentile_with_ci(x, 95)
    assert p95 == pytest.approx(np.percentile(x, 95)) and lo95 <= p95 <= hi95
    assert percentile_with_ci([2.0, 2.0, 2.0], 50) == (2.0, (2.0, 2.0))
    with pytest.raises(
        FakeNewsError, match=re.escape("a confidence interval needs at least 2 timings; found 1.")
    ):
        percentile_with_ci([1.0], 50)


def test_rate_ci_is_a_ratio_of_sums() -> None:
    counts = [8, 8, 8, 8, 4]
    seconds = [0.10, 0.12, 0.09, 0.11, 0.05]
    value, (lo, hi) = rate_with_ci(counts, seconds)
    assert value == pytest.approx(36 / 0.47)
    assert lo <= value <= hi


def test_warmup_calls_are_not_timed() -> None:
    calls: list[str] = []
    seconds = time_calls(calls.append, ["a", "b", "c"], warmup=["w1", "w2"])
    assert calls == ["w1", "w2", "a", "b", "c"]
    assert seconds.shape == (3,) and (seconds >= 0).all()


def test_throughput_reuses_articles_to_fill_enough_batches() -> None:
    seen: list[list[str]] = []

    def predict(batch: list[str]) -> np.ndarray:
        seen.append(batch)
        return np.zeros((len(batch), 2))

    result = measure_throughput(predict, ["a", "b", "c"], 2, min_batches=4)
    assert result.n_batches == 4 and result.batch_size == 2
    assert seen[0] == ["a", "b"]  # warm-up
    assert seen[1:] == [["a", "b"], ["c", "a"], ["b", "c"], ["a", "b"]]
    assert result.per_s > 0 and result.ci[0] <= result.per_s <= result.ci[1]
    assert result.per_s_sustained > 0


def test_benchmark_cli_writes_every_contract_key(
    tiny_run_dir: Path, tiny_split_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = Path(shutil.copytree(tiny_run_dir, tmp_path / "run"))
    code = main(
        [
            "benchmark",
            str(run),
            "--data",
            str(tiny_split_dir),
            "--n-articles",
            "8",
            "--batch-size",
            "1",
            "--batch-size",
            "4",
            "--batch-size",
            "64",
            "--quiet",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "latency p50" in out and "achieved model FLOP/s" in out
    doc = json.loads((run / "efficiency.json").read_text())
    assert set(doc) >= CONTRACT_KEYS
    assert doc["n_articles"] == 8 and doc["max_length"] == 64 and doc["device"] == "cpu"
    assert doc["peak_memory_mb"] is None
    assert set(doc["throughput_by_batch_size"]) == {"1", "4"}  # 64 > 8 articles: skipped
    assert doc["batch_size"] in (1, 4)
    assert doc["latency_ms_p50_ci"][0] <= doc["latency_ms_p50"] <= doc["latency_ms_p50_ci"][1]
    assert doc["params_total"] == doc["params_trainable"] > 0
    summary = json.loads((run / "train_summary.json").read_text())
    assert doc["params_total"] == summary["params_total"]
    assert doc["size_mb"] == pytest.approx(dir_size_bytes(run / "model") / 2**20)
    assert doc["path"] == "torch-fp32-dynamic-padding-head-cpu"
    assert doc["flops_per_article"] > 0 and doc["mfu"] is None  # MFU only on known GPUs
    assert doc["achieved_flops_per_s"] == pytest.approx(
        doc["flops_per_article"] * doc["throughput_per_s"]
    )
    card = json.loads((run / "model_card.json").read_text())
    assert card["efficiency"]["latency_ms_p50"] == doc["latency_ms_p50"]
    assert "| latency, batch 1, p50 |" in (run / "README.md").read_text()


def test_benchmark_baseline(
    tiny_baseline_run_dir: Path, tiny_split_dir: Path, tmp_path: Path
) -> None:
    run = Path(shutil.copytree(tiny_baseline_run_dir, tmp_path / "run"))
    result = benchmark(run, data=tiny_split_dir, n_articles=6, batch_sizes=(1, 2), quiet=True)
    assert isinstance(result, EfficiencyResult)
    assert result.max_length is None and result.path == "sklearn-tfidf-logreg-cpu"
    assert result.params_total > 0 and result.memory_mb > 0


def test_benchmark_bad_inputs(
    tiny_run_dir: Path, tiny_split_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "benchmark",
                str(tiny_run_dir),
                "--data",
                str(tiny_split_dir),
                "--n-articles",
                "1",
                "--quiet",
            ]
        )
        == 1
    )
    assert capsys.readouterr().err.strip() == (
        "error: --n-articles must be at least 2 (a confidence interval needs 2 timings); found 1."
    )
    assert not (tiny_run_dir / "efficiency.json").exists()
    with pytest.raises(
        FakeNewsError,
        match=re.escape("unknown split 'dev'; expected one of train, validation, test (--split)."),
    ):
        benchmark(tiny_run_dir, data=tiny_split_dir, split="dev", quiet=True)
