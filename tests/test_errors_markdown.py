"""``errors/<key>.md`` shows an article's HTML as text: snippets, ids and names are escaped."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fakenews.comparison.report import _md_id
from fakenews.evaluation.errors import errors_markdown
from fakenews.evaluation.result import EvaluationResult, error_table
from fakenews.metrics import compute_metrics

EVIL = "<script>alert(1)</script> & <img src=x onerror=alert(2)> | `code`"


def _result(texts: list[str], ids: list[str], data_name: str | None) -> EvaluationResult:
    labels = np.array([0, 1, 0, 1])
    prob_fake = np.array([0.9, 0.1, 0.2, 0.8])  # the first two are mistakes
    frame = pd.DataFrame({"id": ids, "combined_text": texts, "label": labels})
    predictions = frame[["id", "label"]].assign(prob_fake=prob_fake)
    return EvaluationResult(
        key="test",
        split="test",
        data_name=data_name,
        data_path=Path("split"),
        data_fingerprint="f" * 64,
        in_domain=data_name is None,
        metrics=compute_metrics(labels, np.column_stack([1 - prob_fake, prob_fake])),
        predictions=predictions,
        errors=error_table(frame, prob_fake),
    )


def test_snippets_ids_and_the_data_name_are_html_escaped() -> None:
    result = _result(
        [EVIL, "plain fake article", "fine", "fine"],
        ["a1", "x`</code><script>alert(3)</script>", "c", "d"],
        "<b>evil</b> data",
    )
    md = errors_markdown(result)
    assert "<script" not in md and "<img" not in md and "<b>" not in md
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(2)&gt;" in md
    assert "\\| &#96;code&#96;" in md  # a pipe cannot break the table, a backtick not the cell
    assert "| `a1` | 0.900 |" in md  # a plain id stays code
    assert "| x&#96;&lt;/code&gt;&lt;script&gt;alert(3)&lt;/script&gt; | 0.100 |" in md
    assert "articles from &lt;b&gt;evil&lt;/b&gt; data (split" in md


def test_the_comparison_report_writes_an_id_with_a_backtick_as_escaped_text() -> None:
    assert _md_id("politifact-15") == "`politifact-15`"
    assert _md_id("x`<script>") == "x&#96;&lt;script&gt;"
