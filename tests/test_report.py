"""The report: self-contained HTML (nothing fetched), escaped data, every section, honest gaps."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from fakenews.comparison import compare
from fakenews.comparison.report import SECTIONS
from test_compare import EFF, make_run, synthetic

EVIL = '<script>alert(\'x\')</script> <img src="https://evil.example/x.png"> & "quoted"'


@pytest.fixture()
def report_dir(tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    y, p_a = synthetic(120, 0.9, rng)
    _, p_b = synthetic(120, 0.75, rng, y)
    a = make_run(
        tmp_path,
        "a",
        y,
        p_a,
        efficiency=EFF,
        train_summary={"train_runtime_s": 61.0},
        snippets=[EVIL],
    )
    b = make_run(tmp_path, "b", y, p_b, model="tfidf-logreg", kind="baseline")
    out = tmp_path / "report"
    compare([a, b], out, n_bootstrap=300, quiet=True)
    return out


def test_html_is_self_contained(report_dir: Path) -> None:
    page = (report_dir / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    # Assets: every src/href is a data URI or an in-page anchor; nothing to fetch.
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", page, flags=re.I)
    assert refs and all(r.startswith(("data:image/png;base64,", "#")) for r in refs), refs
    assert not re.search(r"""(?:src|href)\s*=\s*["']?https?://""", page, flags=re.I)
    assert not re.search(r"@import|url\(|<link|<script", page, flags=re.I)
    assert (
        page.count('src="data:image/png;base64,') == 5
    )  # params, size, latency, throughput, accuracy vs latency


def test_html_escapes_data(report_dir: Path) -> None:
    page = (report_dir / "report.html").read_text(encoding="utf-8")
    assert "<script>alert" not in page and 'evil.example/x.png">' not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "&amp; &quot;quoted&quot;" in page
    md = (report_dir / "report.md").read_text(encoding="utf-8")
    assert "<script>" not in md and "&lt;script&gt;alert('x')&lt;/script&gt;" in md


def test_every_section_in_order(report_dir: Path) -> None:
    page = (report_dir / "report.html").read_text(encoding="utf-8")
    positions = [page.index(f'<h2 id="{key}">') for key, _ in SECTIONS]
    assert positions == sorted(positions)
    md = (report_dir / "report.md").read_text(encoding="utf-8")
    headings = [line for line in md.splitlines() if line.startswith("## ")]
    assert headings == [f"## {i}. {title}" for i, (_, title) in enumerate(SECTIONS, 1)]
    for text in (
        "a beats b by 15.0 pt",  # the verdict
        "exact_duplicate",  # cleaning steps from data_manifest.json
        "0 exact-duplicate pairs across splits",  # leakage audit
        "not measured",  # b was never benchmarked
        "![Accuracy vs latency (Pareto front)](plots/accuracy_vs_latency.png)",
        "Not available: every run was evaluated on its own data set only",
    ):
        assert text in md, text
    assert "61.0 s" in md  # a's training time, b's is missing
    assert "Not measured (left out, not zero): b" in md


def test_report_without_any_efficiency(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    y, p_a = synthetic(60, 0.9, rng)
    _, p_b = synthetic(60, 0.9, rng, y)
    runs = [make_run(tmp_path, "x", y, p_a), make_run(tmp_path, "y", y, p_b)]
    (runs[1] / "errors" / "test.csv").unlink()
    out = tmp_path / "r"
    result = compare(runs, out, n_bootstrap=200, quiet=True)
    assert not (out / "plots").exists() and not any(f.startswith("plots/") for f in result.files)
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "No figure: no run has efficiency figures" in page
    assert "No errors CSV in this run: snippets not available" in page
    assert "no significant difference between x and y" in page
