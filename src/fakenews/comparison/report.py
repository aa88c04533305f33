"""``report.md`` and one self-contained ``report.html`` of a :class:`fakenews.comparison.result.ComparisonResult`.

Both read top to bottom: data and leakage audit, models and recipes, the table, the paired
tests in plain words, the plots, error-analysis highlights, the cross-data-set matrix, notes
and method. The HTML embeds its figures as base64 PNG and its CSS inline; it references no
external font, script, stylesheet or URL, so it opens offline exactly as it was written. All text
that comes from data or run files is escaped with :func:`html.escape`.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fakenews import __version__
from fakenews.comparison.result import CROSS_LABEL, ComparisonResult, ModelRow, RunRecord
from fakenews.generalization import CI_NOTE
from fakenews.stats import METRICS, Estimate, format_p

NOT_MEASURED = "not measured"
METRIC_TITLES = {
    "accuracy": "Accuracy",
    "f1_weighted": "F1 (weighted)",
    "f1_macro": "F1 (macro)",
    "roc_auc": "ROC-AUC",
    "ece": "ECE",
}
EFFICIENCY_TITLES = ("Params", "Size (MB)", "ms/article (p50)", "articles/s", "Training time")
TABLE_HEADER = (
    "Run", "Model", "Threshold", *(METRIC_TITLES[m] for m in METRICS), *EFFICIENCY_TITLES
)  # fmt: skip
PLOT_TITLES = {
    "params": "Parameters per model",
    "size_mb": "Size on disk",
    "latency": "Latency per article",
    "throughput": "Throughput",
    "accuracy_vs_latency": "Accuracy vs latency (Pareto front)",
    "cross_dataset": "Cross-data-set accuracy",
}
SECTIONS = (
    ("data", "Data and leakage audit"),
    ("models", "Models and recipes"),
    ("table", "Results"),
    ("tests", "Paired tests"),
    ("plots", "Plots"),
    ("errors", "Error analysis"),
    ("cross", "Cross-data-set matrix"),
    ("generalization", "Generalization"),
    ("notes", "Notes and method"),
)
"""The report's sections in order: ``report.md`` and ``report.html`` number and title them from here."""
_NUMBERED = {key: (number, title) for number, (key, title) in enumerate(SECTIONS, 1)}
STEP_HEADER = ("step", "rows in", "removed", "rows out")
COUNT_HEADER = ("split", "total", "fake", "real")


# --------------------------------------------------------------------------- number formatting


def fmt(value: float | None, digits: int = 4) -> str:
    return NOT_MEASURED if value is None else f"{value:.{digits}f}"


def fmt_ci(est: Estimate, digits: int = 4) -> str:
    """``[0.9954, 0.9976]`` or ``""`` when the interval is undefined."""
    if est.low is None or est.high is None:
        return ""
    return f"[{est.low:.{digits}f}, {est.high:.{digits}f}]"


def fmt_estimate(est: Estimate, digits: int = 4) -> str:
    if est.value is None:
        return "undefined"
    ci = fmt_ci(est, digits)
    return f"{est.value:.{digits}f} {ci}".strip()


def fmt_params(n: int | None) -> str:
    if n is None:
        return NOT_MEASURED
    return f"{n / 1e6:.2f} M" if n >= 100_000 else f"{n:,}"


def fmt_seconds(s: float | None) -> str:
    if s is None:
        return NOT_MEASURED
    if s < 90:
        return f"{s:.1f} s"
    if s < 5400:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.2f} h"


def _fmt_float(value: float | None, digits: int) -> str:
    return NOT_MEASURED if value is None else f"{value:.{digits}f}"


def efficiency_cells(row: ModelRow) -> list[str]:
    """The five efficiency cells of a row, "not measured" where a file was missing."""
    return [
        fmt_params(row.params_total),
        _fmt_float(row.size_mb, 1),
        _fmt_float(row.latency_ms_p50, 2),
        _fmt_float(row.throughput_per_s, 1),
        fmt_seconds(row.train_runtime_s),
    ]


def threshold_cell(row: ModelRow) -> str:
    """The run's decision threshold, with its calibration temperature when calibrated."""
    if row.threshold is None:
        return NOT_MEASURED
    temp = row.temperature
    return f"{row.threshold:.3f}" + (f" (T {temp:.3g})" if temp is not None and temp != 1.0 else "")


def display_rows(result: ComparisonResult) -> tuple[list[str], list[list[str]]]:
    """Header and string rows of the table (quality with CIs, then efficiency), for any renderer."""
    header = list(TABLE_HEADER)
    rows = [
        [
            row.run,
            row.model,
            threshold_cell(row),
            *(fmt_estimate(row.quality[m]) for m in METRICS),
            *efficiency_cells(row),
        ]
        for row in result.rows
    ]
    return header, rows


# --------------------------------------------------------------------------- markdown


def _md(text: Any) -> str:
    """A Markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _md_safe(text: str) -> str:
    """Article text for Markdown: ``<``/``>``/``&`` escaped so a renderer shows, never runs, embedded HTML."""
    return html.escape(text, quote=False)


def _md_id(value: str) -> str:
    """An article id: in backticks when plain, else escaped text (a backtick in it would end the
    code span and let the rest render as HTML)."""
    if value and all(c.isalnum() or c in "._:+-" for c in value):
        return f"`{value}`"
    return _md_safe(value).replace("`", "&#96;")


def _md_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = [
        "| " + " | ".join(_md(h) for h in header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _scope(result: ComparisonResult) -> str:
    first = result.rows[0]
    if result.same_split:
        return (
            f"{len(result.rows)} runs on the same {result.split} split of {first.data} "
            f"(n = {first.n} articles, split fingerprint `{result.runs[0].fingerprint[:16]}…`)"
        )
    return f"{len(result.rows)} runs, each on its own {result.split} split (different data; see the label above)"


def table_markdown(result: ComparisonResult) -> str:
    """``table.md``: the one table, with its CI method and (cross-data-set) label."""
    header, rows = display_rows(result)
    lines = []
    if not result.same_split:
        lines += [f"**{_md_text(result_label(result))}**", ""]
    lines += [
        f"Quality on the {result.split} split with percentile bootstrap 95% CIs over the test articles "
        f"({result.n_bootstrap:,} resamples, seed {result.seed}); efficiency from efficiency.json "
        "(ms/article: p50 at batch size 1; articles/s: best batch size) and train_summary.json.",
        "",
        _md_table(header, rows),
    ]
    return "\n".join(lines)


def _md_text(text: str) -> str:
    return " ".join(text.split())


def result_label(result: ComparisonResult) -> str:
    return "" if result.same_split else CROSS_LABEL


def pairwise_rows(result: ComparisonResult) -> tuple[list[str], list[list[str]]]:
    header = [
        "A",
        "B",
        "acc. A − B (pt)",
        "95% CI (pt)",
        "A right, B wrong",
        "B right, A wrong",
        "McNemar p",
        "Holm p",
        "verdict",
    ]
    rows = []
    for p in result.pairs:
        rows.append(
            [
                p.a,
                p.b,
                f"{100 * p.diff:+.2f}",
                f"[{100 * p.diff_low:+.2f}, {100 * p.diff_high:+.2f}]",
                str(p.mcnemar.a_only),
                str(p.mcnemar.b_only),
                format_p(p.p_value).removeprefix("p ").removeprefix("= "),
                format_p(p.p_holm).removeprefix("p ").removeprefix("= "),
                (f"{p.winner} better" if p.winner else "no significant difference"),
            ]
        )
    return header, rows


def pairwise_markdown(result: ComparisonResult) -> str:
    """``pairwise.md``: one sentence per pair, then the numbers."""
    if not result.same_split:
        return f"**{result_label(result)}**\n\nNo paired tests: the runs were not tested on the same articles."
    header, rows = pairwise_rows(result)
    lines = [
        f"McNemar's exact test on the articles where two models disagree, paired bootstrap 95% CI of the "
        f"accuracy difference ({result.n_bootstrap:,} joint resamples of the test articles), Holm correction "
        f"across all {len(result.pairs)} pairs at alpha = {result.alpha}.",
        "",
    ]
    lines += [f"- {p.sentence}" for p in result.pairs]
    lines += ["", _md_table(header, rows)]
    return "\n".join(lines)


def _inputs(manifest: Mapping[str, Any]) -> list[list[str]]:
    rows = []
    for item in manifest.get("inputs") or []:
        if not isinstance(item, Mapping):
            continue
        sha = str(item.get("sha256") or "")
        rows.append(
            [
                str(item.get("path", "")),
                str(item.get("format", "")),
                str(item.get("rows", "")),
                (sha[:16] + "…") if sha else "not recorded",
            ]
        )
    return rows


def _steps(manifest: Mapping[str, Any]) -> list[list[str]]:
    rows = []
    for step in manifest.get("steps") or []:
        if isinstance(step, Mapping):
            rows.append(
                [
                    str(step.get("name", "")),
                    str(step.get("rows_in", "")),
                    str(step.get("removed", "")),
                    str(step.get("rows_out", "")),
                ]
            )
    return rows


def _counts(manifest: Mapping[str, Any]) -> list[list[str]]:
    counts = manifest.get("counts") or {}
    return [
        [str(name), str(c.get("total", "")), str(c.get("fake", "")), str(c.get("real", ""))]
        for name, c in counts.items()
        if isinstance(c, Mapping)
    ]


def _split_text(manifest: Mapping[str, Any]) -> str:
    split = manifest.get("split") or {}
    if not isinstance(split, Mapping) or not split:
        return "split method not recorded"
    parts = [f"{k} = {v}" for k, v in split.items() if v is not None]
    return ", ".join(parts)


def leakage_text(manifest: Mapping[str, Any]) -> tuple[str, bool]:
    """One sentence on cross-split sharing and whether it is a problem."""
    leak = manifest.get("leakage")
    if not isinstance(leak, Mapping):
        return (
            "leakage figures not recorded in the manifest (prepared outside `fakenews prepare`?); run `fakenews audit SPLIT_DIR`.",
            True,
        )
    exact = leak.get("exact_cross_split")
    near = leak.get("near_cross_split")
    thr = leak.get("near_threshold")
    near_text = (
        "near-duplicate detection was off"
        if near is None
        else f"{near} near-duplicate pairs (Jaccard ≥ {thr})"
    )
    bad = bool(exact) or bool(near)
    verdict = (
        "articles are shared across splits: test figures may be inflated"
        if bad
        else "no article is shared across splits"
    )
    return f"{exact} exact-duplicate pairs across splits, {near_text} — {verdict}.", bad


def _groups(result: ComparisonResult) -> list[tuple[str, list[RunRecord]]]:
    groups: dict[str, list[RunRecord]] = {}
    for r in result.runs:
        groups.setdefault(r.fingerprint, []).append(r)
    return list(groups.items())


def _recipe(run: RunRecord) -> list[tuple[str, str]]:
    cfg = run.config
    summary = run.train_summary
    items: list[tuple[str, Any]] = [("model", cfg.model.name), ("kind", cfg.model.kind)]
    if run.kind == "baseline":
        items += [(f"baseline.{k}", v) for k, v in cfg.to_dict()["baseline"].items()]
        items += [("chosen C", summary.chosen_C if summary else None)]
    else:
        items += [
            ("size", cfg.model.size),
            ("max_length", cfg.data.max_length),
            ("truncation", cfg.data.truncation),
        ]
        train = cfg.to_dict()["train"]
        for key in ("epochs", "learning_rate", "batch_size", "gradient_accumulation", "weight_decay", "warmup_ratio",
                    "scheduler", "metric", "precision"):  # fmt: skip
            items.append((key, train.get(key)))
    items += [("seed", cfg.seed)]
    teacher = summary.teacher if summary is not None else None
    if teacher:
        items += [
            ("distilled from", f"{teacher.get('run_dir')} ({teacher.get('model_name')})"),
            ("distill.temperature", teacher.get("temperature")),
            ("distill.alpha", teacher.get("alpha")),
            ("unlabeled articles", teacher.get("n_unlabeled")),
        ]
    if summary is not None:
        items += [
            ("trained on", summary.device),
            ("epochs completed", summary.epochs_completed),
            ("steps", summary.global_step),
            (f"best validation {summary.metric or 'metric'}", summary.best_metric),
            ("training time", fmt_seconds(_float(summary.train_runtime_s))),
        ]
    eff = run.efficiency or {}
    if eff:
        items += [
            ("benchmark", f"{eff.get('path', '?')} on {eff.get('device', '?')}, {eff.get('torch_threads', '?')} threads, "
                          + (f"max_length {eff['max_length']}, " if eff.get("max_length") else "")
                          + f"{eff.get('n_articles', '?')} articles"),
        ]  # fmt: skip
    else:
        items += [("benchmark", "not measured (no efficiency.json)")]
    return [(k, _short(v)) for k, v in items if v is not None and v != ""]


def _float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return ", ".join(_short(v) for v in value)
    return str(value)


def _md_h2(key: str) -> list[str]:
    number, title = _NUMBERED[key]
    return [f"## {number}. {title}", ""]


def render_markdown(result: ComparisonResult, captions: Mapping[str, str]) -> str:
    """``report.md``: the report as Markdown (figures linked from ``plots/``)."""
    sections = {
        "data": _md_data(result),
        "models": _md_models(result),
        "table": [*_md_h2("table"), table_markdown(result), ""],
        "tests": [*_md_h2("tests"), pairwise_markdown(result), ""],
        "plots": _md_plots(captions),
        "errors": _md_errors(result),
        "cross": _md_cross(result),
        "generalization": _md_generalization(result),
        "notes": [*_md_h2("notes"), *(f"- {n}" for n in [*result.notes, *method_lines(result)])],
    }
    out = _md_top(result)
    for key, _title in SECTIONS:
        out += sections[key]
    return "\n".join(out) + "\n"


def _md_top(result: ComparisonResult) -> list[str]:
    out = [f"# Comparison: {_scope(result)}", ""]
    if not result.same_split:
        out += [f"> **{result_label(result)}**", ""]
    if result.pairs:
        out += ["**Verdicts** (McNemar exact, Holm-adjusted):", ""]
        out += [f"- {p.sentence}" for p in result.pairs] + [""]
    return out


def _md_data(result: ComparisonResult) -> list[str]:
    out = _md_h2("data")
    for fp, runs in _groups(result):
        m = runs[0].data_manifest
        out += [
            f"**{runs[0].data_name}** — runs: {', '.join(r.name for r in runs)}; fingerprint `{fp}`",
            "",
        ]
        if _inputs(m):
            out += [_md_table(["input", "format", "rows", "sha256"], _inputs(m)), ""]
        if _steps(m):
            out += ["Cleaning steps:", "", _md_table(STEP_HEADER, _steps(m)), ""]
        out += [f"Split: {_split_text(m)}.", ""]
        if _counts(m):
            out += [_md_table(COUNT_HEADER, _counts(m)), ""]
        text, bad = leakage_text(m)
        out += [("**Warning:** " if bad else "Leakage: ") + text, ""]
    return out


def _md_models(result: ComparisonResult) -> list[str]:
    out = _md_h2("models")
    for r in result.runs:
        out += [f"- **{r.name}** (`{r.path}`): " + "; ".join(f"{k} {v}" for k, v in _recipe(r))]
    return [*out, ""]


def _md_plots(captions: Mapping[str, str]) -> list[str]:
    out = _md_h2("plots")
    for name, caption in captions.items():
        title = PLOT_TITLES.get(name, name)
        out += [f"**{title}**", "", f"![{title}](plots/{name}.png)", ""]
        if caption:  # also drawn under the plot
            out += [f"_{caption}_", ""]
    if not captions:
        out += ["No figure: no run has efficiency figures (run `fakenews benchmark RUN_DIR`).", ""]
    return out


def _md_errors(result: ComparisonResult) -> list[str]:
    out = _md_h2("errors")
    for e in result.errors:
        out += [
            f"**{e.run}**: {e.false_positives} false positives (real flagged fake), {e.false_negatives} false negatives (fake passed as real) of {e.n}.",
            "",
        ]
        if e.top:
            rows = [
                [_md_id(m.id), m.kind, f"{m.prob_fake:.3f}", m.chars if m.chars is not None else "",
                 _md_safe(m.snippet)]
                for m in e.top
            ]  # fmt: skip
            out += [_md_table(["id", "kind", "P(fake)", "chars", "snippet"], rows), ""]
        elif e.source is None and (e.false_positives or e.false_negatives):
            out += ["(no errors CSV: snippets not available; re-run `fakenews evaluate`.)", ""]
    if result.same_split:
        out += [_missed_text(result), ""]
    return out


def _md_cross(result: ComparisonResult) -> list[str]:
    if not result.has_cross_dataset:
        return [
            *_md_h2("cross"),
            "Not available: every run was evaluated on its own data set only (`fakenews evaluate RUN --data OTHER_SPLIT_DIR` adds one).",
            "",
        ]
    header, rows = cross_rows(result)
    return [
        *_md_h2("cross"),
        "Accuracy; `*` marks the in-domain cell (the run's own test split).",
        "",
        _md_table(header, rows),
        "",
    ]


GENERALIZATION_HEADER = (
    "Run",
    "In-domain accuracy",
    "Out-of-domain accuracy (mean)",
    "95% CI",
    "Gap (pt)",
    "Unseen data sets",
)
GENERALIZATION_MISSING = (
    "Not available: no run was evaluated on a data set it was not trained on "
    "(`fakenews evaluate RUN --data OTHER_SPLIT_DIR` adds one)."
)


def generalization_rows(result: ComparisonResult) -> list[list[str]]:
    """One row per run: in-domain, mean out-of-domain with its CI, the gap, the unseen sets."""
    return [
        [
            g.who,
            fmt(g.in_domain),
            fmt(g.out_of_domain),
            "n/a" if g.ci is None else f"{g.ci[0]:.4f} – {g.ci[1]:.4f}",
            "n/a" if g.gap_pt is None else f"{g.gap_pt:+.1f}",
            ", ".join(g.unseen) or "none",
        ]
        for g in result.generalization
    ]


def _md_generalization(result: ComparisonResult) -> list[str]:
    if not result.generalization:
        return [*_md_h2("generalization"), GENERALIZATION_MISSING, ""]
    return [
        *_md_h2("generalization"),
        *(f"- {_md_text(g.verdict())}" for g in result.generalization),
        "",
        _md_table(GENERALIZATION_HEADER, generalization_rows(result)),
        "",
        CI_NOTE,
        "",
    ]


def _missed_text(result: ComparisonResult) -> str:
    ids = result.missed_by_all
    if not ids:
        return "No article was misclassified by every model."
    shown = ", ".join(ids[:10]) + (" …" if len(ids) > 10 else "")
    return f"{len(ids)} article(s) were misclassified by every model: {shown}."


def cross_rows(result: ComparisonResult) -> tuple[list[str], list[list[str]]]:
    header = ["Run", *result.data_sets]
    rows = []
    for row in result.rows:
        cells = [row.run]
        for d in result.data_sets:
            cell = next((c for c in result.cross if c.run == row.run and c.data == d), None)
            cells.append(
                "not evaluated"
                if cell is None
                else f"{cell.accuracy:.4f}" + (" *" if cell.in_domain else "") + f" (n={cell.n})"
            )
        rows.append(cells)
    return header, rows


def method_lines(result: ComparisonResult) -> list[str]:
    lines = [
        f"Bootstrap: {result.n_bootstrap:,} resamples of the test articles with replacement (seed {result.seed}), "
        "percentile 95% intervals; for paired differences the same article indices are drawn for every model.",
        "ECE: 15 equal-width confidence bins, the count-weighted mean |accuracy − confidence|.",
        "Efficiency: copied from each run's efficiency.json (written by `fakenews benchmark`) and train_summary.json; "
        'a missing file shows as "not measured" and the run is left out of the plot.',
    ]
    if result.same_split:
        lines.insert(
            1,
            f"Paired tests: McNemar's exact test (two-sided binomial on the discordant articles), Holm-adjusted across "
            f"{len(result.pairs)} pair(s); a pair differs significantly when the adjusted p < {result.alpha}.",
        )
    return lines


# --------------------------------------------------------------------------- HTML

CSS = """
*{box-sizing:border-box}
body{font-family:-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;margin:0;color:#1d1d1f;background:#fff;line-height:1.45;font-size:15px}
main{max-width:1200px;margin:0 auto;padding:24px 28px 60px}
h1{font-size:1.6em;margin:.2em 0 .3em}
h2{font-size:1.25em;margin:1.8em 0 .5em;padding-bottom:.2em;border-bottom:2px solid #e3e3e8}
h3{font-size:1.05em;margin:1.2em 0 .4em}
p.sub{color:#555;margin:.2em 0 1em}
nav{background:#f5f5f7;border-radius:6px;padding:8px 14px;margin:12px 0 18px;font-size:.92em}
nav a{margin-right:14px;color:#2a5db0;text-decoration:none}
.label{background:#fff3cd;border:1px solid #e0b84f;border-radius:6px;padding:10px 14px;font-weight:600;margin:12px 0}
.warn{background:#fdecea;border:1px solid #e4a29b;border-radius:6px;padding:8px 12px}
.ok{background:#eaf6ec;border:1px solid #9fd3a8;border-radius:6px;padding:8px 12px}
.verdicts li{margin:.25em 0}
.scroll{overflow-x:auto;margin:.4em 0 1em}
table{border-collapse:collapse;font-size:.88em}
th,td{border:1px solid #d9d9de;padding:5px 8px;vertical-align:top;text-align:left}
th{background:#f0f0f4;font-weight:600}
tbody tr:nth-child(even){background:#fafafc}
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
td.na{color:#888;font-style:italic;text-align:right}
.ci{display:block;color:#666;font-size:.85em;white-space:nowrap}
th.group{text-align:center;background:#e6e9f2}
td.snip{max-width:620px;font-size:.95em}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em;background:#f3f3f6;padding:0 3px;border-radius:3px;word-break:break-all}
dl.recipe{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:.3em 0 1em;font-size:.9em}
dl.recipe dt{color:#555}
dl.recipe dd{margin:0}
.figs{display:flex;flex-wrap:wrap;gap:18px}
figure{margin:0;flex:1 1 460px;max-width:100%;border:1px solid #e3e3e8;border-radius:6px;padding:8px;background:#fff}
.cards figure{flex:1 1 330px}
figure img{max-width:100%;height:auto;display:block;margin:0 auto}
figcaption{font-size:.85em;color:#444;margin-top:4px}
td.best{font-weight:700}
td.own{outline:2px solid #c44e52;outline-offset:-2px;font-weight:700}
footer{margin-top:40px;color:#777;font-size:.85em}
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _scroll_table(head: str, body: Iterable[str]) -> str:
    """A table in a horizontally scrolling box; ``head`` and ``body`` are ``<tr>`` rows."""
    return f'<div class="scroll"><table><thead>{head}</thead><tbody>{"".join(body)}</tbody></table></div>'


def _html_table(
    header: Sequence[str], rows: Iterable[Sequence[Any]], *, numeric_from: int = 99
) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for i, c in enumerate(row):
            cls = ' class="num"' if i >= numeric_from else ""
            cells.append(f"<td{cls}>{_e(c)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return _scroll_table(f"<tr>{head}</tr>", body)


def _best_index(result: ComparisonResult, metric: str) -> set[int]:
    values = [r.quality[metric].value for r in result.rows]
    known = [v for v in values if v is not None]
    if len(known) < 2:
        return set()
    target = min(known) if metric == "ece" else max(known)
    return {i for i, v in enumerate(values) if v == target}


def _results_table(result: ComparisonResult) -> str:
    groups = (
        '<tr><th colspan="3"></th>'
        f'<th class="group" colspan="{len(METRICS)}">quality on {_e(result.split)} (bootstrap 95% CI)</th>'
        f'<th class="group" colspan="{len(EFFICIENCY_TITLES)}">efficiency (measured)</th></tr>'
    )
    head = "<tr>" + "".join(f"<th>{_e(h)}</th>" for h in TABLE_HEADER) + "</tr>"
    best = {m: _best_index(result, m) for m in METRICS}
    body = []
    for i, row in enumerate(result.rows):
        cells = [
            f"<td><b>{_e(row.run)}</b></td>",
            f'<td>{_e(row.model)}<span class="ci">{_e(row.kind)}</span></td>',
            f'<td class="num">{_e(threshold_cell(row))}</td>',
        ]
        for m in METRICS:
            est = row.quality[m]
            if est.value is None:
                cells.append('<td class="na">undefined</td>')
                continue
            cls = "num best" if i in best[m] else "num"
            cells.append(
                f'<td class="{cls}">{est.value:.4f}<span class="ci">{_e(fmt_ci(est))}</span></td>'
            )
        cells += _html_efficiency_cells(row)
        body.append("<tr>" + "".join(cells) + "</tr>")
    return _scroll_table(groups + head, body)


def _html_efficiency_cells(row: ModelRow) -> list[str]:
    """The five efficiency cells, latency and throughput with their benchmark CIs."""
    cis = {
        2: f"[{row.latency_ms_p50_ci[0]:.2f}, {row.latency_ms_p50_ci[1]:.2f}]" if row.latency_ms_p50_ci else "",
        3: f"[{row.throughput_per_s_ci[0]:.1f}, {row.throughput_per_s_ci[1]:.1f}]" if row.throughput_per_s_ci else "",
    }  # fmt: skip
    cells = []
    for j, text in enumerate(efficiency_cells(row)):
        if text == NOT_MEASURED:
            cells.append(f'<td class="na">{NOT_MEASURED}</td>')
            continue
        ci = cis.get(j, "")
        span = f'<span class="ci">{_e(ci)}</span>' if ci else ""
        cells.append(f'<td class="num">{_e(text)}{span}</td>')
    return cells


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def _h2(key: str) -> str:
    number, title = _NUMBERED[key]
    return f'<h2 id="{key}">{number}. {_e(title)}</h2>'


def _html_verdicts(result: ComparisonResult) -> str:
    return (
        '<ul class="verdicts">'
        + "".join(f"<li>{_e(p.sentence)}</li>" for p in result.pairs)
        + "</ul>"
    )


def render_html(
    result: ComparisonResult, pngs: Mapping[str, bytes], captions: Mapping[str, str]
) -> str:
    """``report.html``: one self-contained page (inline CSS, figures as data URIs, no external URL)."""
    sections = {
        "data": _html_data(result),
        "models": _html_models(result),
        "table": _html_results(result),
        "tests": _html_tests(result),
        "plots": _html_plots(pngs, captions),
        "errors": _html_errors(result),
        "cross": _html_cross(result),
        "generalization": _html_generalization(result),
        "notes": _html_notes(result),
    }
    parts = _html_top(result)
    for key, _title in SECTIONS:
        parts += sections[key]
    parts.append(
        f"<footer>Written by fakenews {_e(__version__)} <code>compare</code>. Files: {_e(', '.join(result.files))}.</footer>"
    )
    title = _e(f"fakenews comparison — {', '.join(r.run for r in result.rows)}")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{CSS}</style></head><body><main>\n"
        + "\n".join(parts)
        + "\n</main></body></html>\n"
    )


def _html_top(result: ComparisonResult) -> list[str]:
    parts = [
        f"<h1>Comparison of {len(result.rows)} fake-news classifiers</h1>",
        f'<p class="sub">{_e(_scope(result).replace("`", ""))}</p>',
    ]
    if not result.same_split:
        parts.append(f'<div class="label">{_e(result_label(result))}</div>')
    parts.append(
        "<nav>"
        + "".join(f'<a href="#{k}">{i}. {_e(t)}</a>' for i, (k, t) in enumerate(SECTIONS, 1))
        + "</nav>"
    )
    if result.pairs:
        parts.append("<h3>Verdicts</h3>" + _html_verdicts(result))
    return parts


def _html_data(result: ComparisonResult) -> list[str]:
    parts = [_h2("data")]
    for fp, runs in _groups(result):
        m = runs[0].data_manifest
        parts.append(f"<h3>{_e(runs[0].data_name)}</h3>")
        parts.append(
            f"<p>Runs: {_e(', '.join(r.name for r in runs))}. Split fingerprint <code>{_e(fp or 'not recorded')}</code>.</p>"
        )
        if _inputs(m):
            parts.append(
                _html_table(["input", "format", "rows", "sha256"], _inputs(m), numeric_from=2)
            )
        if _steps(m):
            parts.append(
                "<p>Cleaning steps, in order:</p>"
                + _html_table(STEP_HEADER, _steps(m), numeric_from=1)
            )
        parts.append(f"<p>Split: {_e(_split_text(m))}.</p>")
        if _counts(m):
            parts.append(_html_table(COUNT_HEADER, _counts(m), numeric_from=1))
        text, bad = leakage_text(m)
        parts.append(f'<p class="{"warn" if bad else "ok"}">{_e(text)}</p>')
    return parts


def _html_models(result: ComparisonResult) -> list[str]:
    parts = [_h2("models") + '<div class="figs cards">']
    for r in result.runs:
        items = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in _recipe(r))
        parts.append(
            f'<figure><h3 style="margin-top:0">{_e(r.name)}</h3><p class="sub"><code>{_e(r.path)}</code></p><dl class="recipe">{items}</dl></figure>'
        )
    return [*parts, "</div>"]


def _html_results(result: ComparisonResult) -> list[str]:
    parts = [_h2("table")]
    if not result.same_split:
        parts.append(f'<div class="label">{_e(result_label(result))}</div>')
    parts.append(
        f"<p>Quality with percentile bootstrap 95% CIs over the test articles ({result.n_bootstrap:,} resamples, "
        "seed "
        + _e(result.seed)
        + "); best value per column in bold. ms/article: p50 at batch size 1; articles/s: "
        "best batch size; both with their benchmark CIs. \u201cnot measured\u201d means the run has no such file.</p>"
    )
    return [*parts, _results_table(result)]


def _html_tests(result: ComparisonResult) -> list[str]:
    if not result.same_split:
        return [_h2("tests"), f'<p class="label">No paired tests: {_e(result_label(result))}</p>']
    header, rows = pairwise_rows(result)
    return [
        _h2("tests"),
        f"<p>McNemar's exact test on the articles where two models disagree; paired bootstrap 95% CI of the accuracy "
        f"difference (the same resampled articles for both models); Holm correction across {len(result.pairs)} pair(s) "
        f"at alpha = {result.alpha}.</p>",
        _html_verdicts(result),
        _html_table(header, rows, numeric_from=2),
    ]


def _html_plots(pngs: Mapping[str, bytes], captions: Mapping[str, str]) -> list[str]:
    if not pngs:
        return [
            _h2("plots"),
            "<p>No figure: no run has efficiency figures (run <code>fakenews benchmark RUN_DIR</code>).</p>",
        ]
    parts = [_h2("plots"), '<div class="figs">']
    for name, png in pngs.items():
        title = PLOT_TITLES.get(name, name)
        # The caption (runs left out) is drawn under the plot itself; repeat it only as alt text.
        alt = f"{title}. {captions.get(name, '')}".strip()
        parts.append(
            f"<figure>{_img(png, alt)}<figcaption><b>{_e(title)}</b></figcaption></figure>"
        )
    return [*parts, "</div>"]


ERRORS_HEAD = (
    "<tr><th>id</th><th>kind</th><th>P(fake)</th><th>chars</th>"
    "<th>snippet (most confident mistakes first)</th></tr>"
)


def _html_errors(result: ComparisonResult) -> list[str]:
    parts = [_h2("errors")]
    for e in result.errors:
        parts.append(
            f"<h3>{_e(e.run)}</h3><p>{e.false_positives} false positives (real flagged fake), "
            f"{e.false_negatives} false negatives (fake passed as real) of {e.n} articles.</p>"
        )
        if e.top:
            rows = (
                f'<tr><td><code>{_e(m.id)}</code></td><td>{_e(m.kind)}</td><td class="num">{m.prob_fake:.3f}</td>'
                f'<td class="num">{_e(m.chars if m.chars is not None else "")}</td><td class="snip">{_e(m.snippet)}</td></tr>'
                for m in e.top
            )
            parts.append(_scroll_table(ERRORS_HEAD, rows))
        elif e.source is None and (e.false_positives or e.false_negatives):
            parts.append(
                "<p>No errors CSV in this run: snippets not available (re-run <code>fakenews evaluate</code>).</p>"
            )
    if result.same_split:
        parts.append(f"<p>{_e(_missed_text(result))}</p>")
    return parts


def _html_cross(result: ComparisonResult) -> list[str]:
    if not result.has_cross_dataset:
        return [_h2("cross"), "<p>Not available: every run was evaluated on its own data set only "
                "(<code>fakenews evaluate RUN --data OTHER_SPLIT_DIR</code> adds one).</p>"]  # fmt: skip
    header, _rows = cross_rows(result)
    body = []
    for row in result.rows:
        cells = [f"<td><b>{_e(row.run)}</b></td>"]
        for d in result.data_sets:
            cell = next((c for c in result.cross if c.run == row.run and c.data == d), None)
            if cell is None:
                cells.append('<td class="na">not evaluated</td>')
                continue
            cls = "num own" if cell.in_domain else "num"
            star = " *" if cell.in_domain else ""
            cells.append(
                f'<td class="{cls}">{cell.accuracy:.4f}{star}<span class="ci">n = {cell.n}</span></td>'
            )
        body.append("<tr>" + "".join(cells) + "</tr>")
    head = "<tr>" + "".join(f"<th>{_e(h)}</th>" for h in header) + "</tr>"
    return [
        _h2("cross"),
        "<p>Accuracy of each run (rows) on each data set (columns); the outlined cell marked * is the run's own test split.</p>",
        _scroll_table(head, body),
    ]


def _html_generalization(result: ComparisonResult) -> list[str]:
    if not result.generalization:
        text = _e(GENERALIZATION_MISSING).replace("`", "")
        return [_h2("generalization"), f"<p>{text}</p>"]
    verdicts = "".join(f"<li>{_e(g.verdict())}</li>" for g in result.generalization)
    return [
        _h2("generalization"),
        f"<ul>{verdicts}</ul>",
        _html_table(GENERALIZATION_HEADER, generalization_rows(result), numeric_from=1),
        f"<p>{_e(CI_NOTE)}</p>",
    ]


def _html_notes(result: ComparisonResult) -> list[str]:
    items = "".join(f"<li>{_e(n)}</li>" for n in [*result.notes, *method_lines(result)])
    return [_h2("notes") + "<ul>", items, "</ul>"]
