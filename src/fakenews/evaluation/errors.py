"""``errors/<key>.md``: the error analysis of one evaluation, rendered from its result.

Everything that comes from the data (article snippets, ids, the data set's name) is written
HTML-escaped, so a Markdown renderer (or an HTML report built from this file) shows an article's
``<script>`` as text and never runs it.
"""

from __future__ import annotations

import html
import re

from fakenews.evaluation.result import EvaluationResult

ERRORS_SHOWN = 25
"""False positives and false negatives listed in ``errors/<key>.md`` (the CSV has all)."""


_PLAIN = re.compile(r"[\w.:+-]+")


def _fmt(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def md_text(value: object) -> str:
    """Data as Markdown text on one line: HTML-escaped (``<``, ``>``, ``&``, quotes), table pipes
    and backticks escaped, whitespace collapsed."""
    text = html.escape(" ".join(str(value).split()), quote=True)
    return text.replace("|", "\\|").replace("`", "&#96;")


def md_code(value: object) -> str:
    """An id or key: in backticks when it is plain (letters, digits, ``.:+-_``), else as
    :func:`md_text` (a code span would show the escapes literally)."""
    text = str(value)
    return f"`{text}`" if _PLAIN.fullmatch(text) else md_text(text)


def errors_markdown(result: EvaluationResult, *, shown: int = ERRORS_SHOWN) -> str:
    """``errors/<key>.md``: counts by class, length of correct vs wrong, the most confident mistakes."""
    m = result.metrics
    (tn, fp), (fn, tp) = m.confusion_matrix
    where = md_text(result.data_name) if result.data_name else "the run's own split dir"
    key = md_code(result.key)
    lines = [
        f"# Errors on {key}",
        "",
        f"{m.n} articles from {where} (split `{result.split}`, fingerprint `{result.data_fingerprint[:12]}`); "
        f"{fp + fn} misclassified ({_fmt(1 - m.accuracy, 4)} error rate).",
        "",
        "| true class | articles | correct | wrong | error rate |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, right, bad in (("real", tn, fp), ("fake", tp, fn)):
        total = right + bad
        rate = _fmt(bad / total) if total else "n/a"
        lines.append(f"| {name} | {total} | {right} | {bad} | {rate} |")
    lines += [
        "",
        f"- False positives (real flagged as fake): **{fp}**",
        f"- False negatives (fake passed as real): **{fn}**",
        f"- Mean length of correctly classified articles: {_fmt(m.mean_chars_correct, 0)} characters",
        f"- Mean length of misclassified articles: {_fmt(m.mean_chars_wrong, 0)} characters",
        "",
    ]
    for kind, title, order in (
        ("FP", "False positives: real articles flagged as fake", "highest P(fake) first"),
        ("FN", "False negatives: fake articles passed as real", "lowest P(fake) first"),
    ):
        rows = result.errors[result.errors["kind"] == kind]
        lines += [f"## {title}", ""]
        if rows.empty:
            lines += ["None.", ""]
            continue
        more = (
            f" (the {shown} most confident of {len(rows)}; all are in errors/{md_text(result.key)}.csv)"
            if len(rows) > shown
            else ""
        )
        words = "top_words" in rows.columns  # the words behind each listed mistake, when explained
        lines += [
            f"{order}{more}.",
            "",
            "| id | P(fake) | chars | snippet |"
            + (" top words (+ fake, - real) |" if words else ""),
            "|---|---:|---:|---|" + ("---|" if words else ""),
        ]
        for row in rows.head(shown).itertuples(index=False):
            cells = [md_code(row.id), f"{row.prob_fake:.3f}", str(row.chars), md_text(row.snippet)]
            if words:
                cells.append(md_text(str(row.top_words)))
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)
