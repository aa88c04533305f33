"""compare: refusals (one line each) and a tiny end-to-end comparison of synthetic run dirs.

Run dirs are written here directly from arrays (the run dir contract), so these tests do not
depend on train/evaluate/benchmark and take about a second.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from fakenews.cli import main
from fakenews.comparison import compare
from fakenews.comparison.report import table_markdown
from fakenews.comparison.result import CROSS_LABEL, pareto_front
from fakenews.errors import FakeNewsError

FP_A = "a" * 64
FP_B = "b" * 64


def manifest(fingerprint: str = FP_A, n_test: int = 200) -> dict[str, Any]:
    return {
        "fingerprint": fingerprint,
        "label_mapping": {"0": "real", "1": "fake"},
        "inputs": [
            {"path": "/data/politifact.csv", "format": "csv", "sha256": "f" * 64, "rows": 1000}
        ],
        "steps": [
            {"name": "read", "rows_in": 1000, "removed": 0, "rows_out": 1000},
            {"name": "empty", "rows_in": 1000, "removed": 12, "rows_out": 988},
            {"name": "exact_duplicate", "rows_in": 988, "removed": 30, "rows_out": 958},
        ],
        "split": {
            "method": "stratified",
            "ratios": [0.7, 0.15, 0.15],
            "seed": 42,
            "group_by": None,
        },
        "counts": {
            "train": {"total": 670, "fake": 335, "real": 335},
            "test": {"total": n_test, "fake": n_test // 2, "real": n_test // 2},
        },
        "leakage": {
            "exact_cross_split": 0,
            "near_cross_split": 0,
            "near_threshold": 0.9,
            "pairs": [],
        },
    }


def make_run(
    root: Path,
    name: str,
    labels: np.ndarray,
    prob_fake: np.ndarray,
    *,
    fingerprint: str = FP_A,
    model: str = "minilm-l6",
    kind: str = "transformer",
    efficiency: Mapping[str, Any] | None = None,
    train_summary: Mapping[str, Any] | None = None,
    ids: list[str] | None = None,
    extra: Mapping[str, tuple[np.ndarray, np.ndarray, str]] | None = None,
    evaluated: bool = True,
    snippets: list[str] | None = None,
) -> Path:
    """A run dir as train + evaluate (+ benchmark) would leave it, from labels and P(fake).

    ``extra`` adds cross-data-set evaluations: ``{data_name: (labels, prob_fake, fingerprint)}``.
    """
    run = root / name
    (run / "model").mkdir(parents=True)
    (run / "config.yaml").write_text(
        yaml.safe_dump(
            {
                "model": {"name": model, "kind": kind},
                "data": {"max_length": 128, "truncation": "head"},
                "train": {"epochs": 1, "learning_rate": 5e-5, "batch_size": 8},
                "seed": 42,
            }
        ),
        encoding="utf-8",
    )
    (run / "data_manifest.json").write_text(
        json.dumps(manifest(fingerprint, len(labels))), encoding="utf-8"
    )
    if train_summary is not None:
        (run / "train_summary.json").write_text(json.dumps(dict(train_summary)), encoding="utf-8")
    if efficiency is not None:
        (run / "efficiency.json").write_text(json.dumps(dict(efficiency)), encoding="utf-8")
    if not evaluated:
        return run
    ids = ids or [f"art-{i:04d}" for i in range(len(labels))]
    evaluations = {"test": (labels, prob_fake, fingerprint, None, ids)}
    for data, (y, p, fp) in (extra or {}).items():
        evaluations[f"{data}.test"] = (y, p, fp, data, [f"{data}-{i}" for i in range(len(y))])
    for key, (y, p, fp, data_name, key_ids) in evaluations.items():
        pred = (np.asarray(p) > 0.5).astype(int)
        (run / "metrics").mkdir(exist_ok=True)
        (run / "predictions").mkdir(exist_ok=True)
        (run / "errors").mkdir(exist_ok=True)
        doc = {
            "key": key, "split": "test", "data_name": data_name, "data_fingerprint": fp, "in_domain": data_name is None,
            "n": len(y), "accuracy": float((pred == y).mean()), "f1_macro": None, "roc_auc": None,
        }  # fmt: skip
        (run / "metrics" / f"{key}.json").write_text(json.dumps(doc), encoding="utf-8")
        frame = pd.DataFrame({"id": key_ids, "label": y, "pred": pred, "prob_fake": p})
        frame.to_csv(run / "predictions" / f"{key}.csv", index=False)
        wrong = frame[frame["label"] != frame["pred"]].copy()
        wrong["kind"] = np.where(wrong["label"] == 0, "FP", "FN")
        wrong["chars"] = 100
        texts = snippets or ["some article text"]
        wrong["snippet"] = [texts[i % len(texts)] for i in range(len(wrong))]
        wrong.to_csv(run / "errors" / f"{key}.csv", index=False)
    return run


def synthetic(
    n: int, accuracy: float, rng: np.random.Generator, labels: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Labels and P(fake) with exactly round(accuracy * n) correct predictions."""
    y = labels if labels is not None else np.repeat([0, 1], n // 2)
    correct = np.zeros(n, dtype=bool)
    correct[rng.permutation(n)[: round(accuracy * n)]] = True
    pred = np.where(correct, y, 1 - y)
    conf = rng.uniform(0.55, 0.99, n)
    return y, np.where(pred == 1, conf, 1 - conf)


EFF = {
    "params_total": 22_713_216, "size_mb": 86.7, "latency_ms_p50": 12.5, "latency_ms_p50_ci": [12.1, 12.9],
    "throughput_per_s": 150.0, "throughput_per_s_ci": [140.0, 160.0], "device": "cpu", "path": "torch-fp32-dynamic-padding",
    "torch_threads": 2, "max_length": 128, "n_articles": 200,
}  # fmt: skip


@pytest.fixture()
def three_runs(tmp_path: Path) -> list[Path]:
    rng = np.random.default_rng(7)
    y, p_a = synthetic(200, 0.95, rng)
    _, p_b = synthetic(200, 0.80, rng, y)
    _, p_c = synthetic(200, 0.94, rng, y)
    y2, p_x = synthetic(60, 0.7, rng)
    runs = tmp_path / "runs"
    return [
        make_run(runs, "minilm", y, p_a, efficiency=EFF, train_summary={"train_runtime_s": 312.0, "params_total": 22_713_216},
                 extra={"horne2017": (y2, p_x, "c" * 64)}, snippets=["<script>alert('x')</script> & <b>bold</b> https://evil.example/x.png"]),
        make_run(runs, "tfidf", y, p_b, model="tfidf-logreg", kind="baseline",
                 efficiency={**EFF, "params_total": 400_002, "size_mb": 3.2, "latency_ms_p50": 0.4,
                             "latency_ms_p50_ci": [0.38, 0.42], "throughput_per_s": 9000.0, "throughput_per_s_ci": [8800.0, 9200.0]},
                 train_summary={"train_runtime_s": 4.0}),
        make_run(runs, "albert", y, p_c, model="scratch:albert"),  # never benchmarked, no train summary
    ]  # fmt: skip


def test_end_to_end_writes_every_file(three_runs: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = compare(three_runs, out, n_bootstrap=500, quiet=True)
    for name in (
        "table.csv",
        "table.md",
        "pairwise.csv",
        "pairwise.md",
        "cross_dataset.csv",
        "report.md",
        "report.html",
        "comparison.json",
    ):
        assert (out / name).is_file(), name
    for name in (
        "params",
        "size_mb",
        "latency",
        "throughput",
        "accuracy_vs_latency",
        "cross_dataset",
    ):
        assert (out / "plots" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    assert sorted(result.files) == sorted(
        str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()
    )
    assert not list(tmp_path.glob(".report.tmp-*"))

    table = pd.read_csv(out / "table.csv")
    assert list(table["run"]) == ["minilm", "tfidf", "albert"]
    assert table["accuracy"].tolist() == pytest.approx([0.95, 0.80, 0.94])
    assert (table["accuracy_ci_low"] < table["accuracy"]).all() and (
        table["accuracy"] < table["accuracy_ci_high"]
    ).all()
    # Missing efficiency is empty in the CSV and "not measured" in Markdown, never invented.
    albert = table.set_index("run").loc["albert"]
    assert (
        pd.isna(albert["latency_ms_p50"])
        and pd.isna(albert["params_total"])
        and pd.isna(albert["train_runtime_s"])
    )
    md = (out / "table.md").read_text(encoding="utf-8")
    assert md == table_markdown(result) + "\n"
    assert md.count("not measured") == 5  # albert's five efficiency cells
    assert "22.71 M" in md and "5.2 min" in md

    pairs = pd.read_csv(out / "pairwise.csv")
    assert len(pairs) == 3
    by_pair = {(r.a, r.b): r for r in pairs.itertuples()}
    assert by_pair[("minilm", "tfidf")].significant
    assert by_pair[("minilm", "tfidf")].sentence.startswith(
        "minilm beats tfidf by 15.0 pt, 95% CI "
    )
    assert by_pair[("minilm", "albert")].sentence.startswith(
        "no significant difference between minilm and albert"
    )

    cross = pd.read_csv(out / "cross_dataset.csv")
    assert list(cross.columns) == ["run", "model", "politifact", "horne2017", "in_domain"]
    assert cross["in_domain"].tolist() == ["politifact"] * 3
    assert cross.loc[0, "horne2017"] == pytest.approx(0.7) and cross[
        "horne2017"
    ].isna().tolist() == [False, True, True]

    doc = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    assert doc["same_split"] and doc["label"] is None
    assert doc["pareto_accuracy_vs_latency"] == ["tfidf", "minilm"]
    assert {p["a"] for p in doc["pairwise"]} == {"minilm", "tfidf"}
    assert doc["table"][2]["efficiency"]["latency_ms_p50"] is None
    assert (
        "efficiency not measured for albert (no efficiency.json): run `fakenews benchmark RUN_DIR`."
        in doc["notes"]
    )


def test_same_seed_same_output(three_runs: list[Path], tmp_path: Path) -> None:
    a = compare(three_runs[:2], tmp_path / "a", n_bootstrap=300, quiet=True)
    b = compare(three_runs[:2], tmp_path / "b", n_bootstrap=300, quiet=True)
    assert (tmp_path / "a" / "table.csv").read_bytes() == (
        tmp_path / "b" / "table.csv"
    ).read_bytes()
    assert a.pairs == b.pairs


def test_refuses_one_run(three_runs: list[Path], tmp_path: Path) -> None:
    with pytest.raises(
        FakeNewsError,
        match=re.escape(f"compare needs at least two run dirs, found only {three_runs[0]};"),
    ):
        compare(three_runs[:1], tmp_path / "out")


def test_refuses_mismatched_fingerprints(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    y, p = synthetic(40, 0.9, rng)
    a = make_run(tmp_path, "a", y, p, fingerprint=FP_A)
    b = make_run(tmp_path, "b", y, p, fingerprint=FP_B)
    expected = (
        f"runs were trained on different splits: {a} has split fingerprint {FP_A} but {b} has {FP_B}; "
        "paired tests need the same test articles, so train every run on the same split dir, "
        "or pass --allow-different-splits for a cross-data-set table without paired tests."
    )
    with pytest.raises(FakeNewsError, match=f"^{re.escape(expected)}$"):
        compare([a, b], tmp_path / "out", quiet=True)
    assert not (tmp_path / "out").exists()


def test_allow_different_splits_is_labelled_and_unpaired(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    y, p = synthetic(40, 0.9, rng)
    y2, p2 = synthetic(60, 0.8, rng)
    a = make_run(tmp_path, "a", y, p, fingerprint=FP_A)
    b = make_run(tmp_path, "b", y2, p2, fingerprint=FP_B)
    out = tmp_path / "out"
    result = compare([a, b], out, allow_different_splits=True, n_bootstrap=200, quiet=True)
    assert not result.same_split and result.pairs == ()
    assert not (out / "pairwise.csv").exists()
    assert (
        pd.read_csv(out / "table.csv")["comparison"].tolist()
        == ["cross-data-set: different test sets, not paired"] * 2
    )
    for name in ("table.md", "report.md", "report.html"):
        assert CROSS_LABEL in (out / name).read_text(encoding="utf-8").replace("\n", " "), name
    assert json.loads((out / "comparison.json").read_text(encoding="utf-8"))["label"] == CROSS_LABEL


def test_refuses_unevaluated_run(three_runs: list[Path], tmp_path: Path) -> None:
    y, p = synthetic(200, 0.9, np.random.default_rng(1))
    raw = make_run(tmp_path, "raw", y, p, evaluated=False)
    with pytest.raises(
        FakeNewsError,
        match=re.escape(
            f"run {raw} has not been evaluated on its test split (metrics/test.json is missing); run `fakenews evaluate {raw}` first."
        ),
    ):
        compare([three_runs[0], raw], tmp_path / "out", quiet=True)


def test_refuses_different_articles(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    y, p = synthetic(40, 0.9, rng)
    a = make_run(tmp_path, "a", y, p)
    b = make_run(tmp_path, "b", y, p, ids=[f"other-{i}" for i in range(40)])
    with pytest.raises(
        FakeNewsError,
        match=re.escape(
            f"predictions/test.csv of {a} and {b} cover different articles (40 ids only in the first, 40 only in the second"
        ),
    ):
        compare([a, b], tmp_path / "out", quiet=True)


def test_refuses_existing_out_unless_force(three_runs: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "report"
    out.mkdir()
    (out / "keep.txt").write_text("x", encoding="utf-8")
    with pytest.raises(
        FakeNewsError,
        match=re.escape(
            f"report dir {out} already exists and is not empty; choose a new --out or pass --force"
        ),
    ):
        compare(three_runs[:2], out, quiet=True)
    assert (out / "keep.txt").exists()
    compare(three_runs[:2], out, force=True, n_bootstrap=200, quiet=True)
    assert not (out / "keep.txt").exists() and (out / "report.html").is_file()


def test_pareto_front() -> None:
    points = {
        "fast": (1.0, 0.80),
        "slow_good": (10.0, 0.95),
        "dominated": (12.0, 0.90),
        "mid": (5.0, 0.90),
    }
    assert pareto_front(points) == ("fast", "mid", "slow_good")


def test_cli_compare(
    three_runs: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cli-report"
    code = main(
        ["compare", *map(str, three_runs[:2]), "--out", str(out), "--bootstrap", "200", "--quiet"]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "minilm beats tfidf by 15.0 pt" in " ".join(captured.out.split())
    assert str(out / "report.html") in captured.out.replace("\n", "")


def test_cli_errors_are_one_line(
    three_runs: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["compare", str(three_runs[0]), "--out", str(tmp_path / "x"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: compare needs at least two run dirs") and err.count("\n") == 1
