"""``errors/<key>.md``: the error analysis of one evaluation, rendered from its result."""

from __future__ import annotations

from fakenews.evaluation.result import EvaluationResult

ERRORS_SHOWN = 25
"""False positives and false negatives listed in ``errors/<key>.md`` (the CSV has all)."""


def _fmt(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def errors_markdown(result: EvaluationResult, *, shown: int = ERRORS_SHOWN) -> str:
    """``errors/<key>.md``: counts by class, length of correct vs wrong, the most confident mistakes."""
    m = result.metrics
    (tn, fp), (fn, tp) = m.confusion_matrix
    where = result.data_name or "the run's own split dir"
    lines = [
        f"# Errors on `{result.key}`",
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
            f" (the {shown} most confident of {len(rows)}; all are in `errors/{result.key}.csv`)"
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
            text = str(row.snippet).replace("|", "\\|")
            tail = " " + str(row.top_words).replace("|", "\\|") + " |" if words else ""
            lines.append(f"| `{row.id}` | {row.prob_fake:.3f} | {row.chars} | {text} |{tail}")
        lines.append("")
    return "\n".join(lines)
