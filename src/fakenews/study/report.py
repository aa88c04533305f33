"""The study's report: ``report/report.md`` and a self-contained ``report/report.html``.

Per model and protocol: the mean in-domain accuracy, the mean out-of-domain accuracy with a
bootstrap 95% CI, the gap in points and a verdict in words; per model the train × test accuracy
matrix as a heat map; per data set its shortcut audit (the ``shortcuts`` of its manifest).

The figures and the CI come from :mod:`fakenews.generalization` (shared with ``compare``).
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from fakenews.data.shortcuts import shortcut_warning
from fakenews.generalization import CI_NOTE, Generalization, generalization
from fakenews.io import read_json_object, write_bytes, write_text
from fakenews.reporting.figures import figure_png
from fakenews.splits import MANIFEST
from fakenews.study.spec import Study

TOP_MARKERS = 5


@dataclass(frozen=True)
class Summary:
    """One model under one protocol."""

    model: str
    protocol: str
    runs: int
    in_domain: float | None
    out_of_domain: float | None
    ci: tuple[float, float] | None
    gap_pt: float | None

    def verdict(self) -> str:
        who = f"{self.model} ({self.protocol.replace('_', '-')})"
        figures = Generalization(who, self.in_domain, self.out_of_domain, self.ci, self.gap_pt)
        return figures.verdict()


def summarize(cells: Sequence[Any]) -> list[Summary]:
    """One :class:`Summary` per (model, protocol), in study order."""
    out = []
    keys = list(dict.fromkeys((c.model, c.protocol) for c in cells))
    for model, protocol in keys:
        mine = [c for c in cells if c.model == model and c.protocol == protocol]
        unseen = [
            (f"{c.train} → {c.test}", c.accuracy, c.predictions) for c in mine if not c.in_domain
        ]
        g = generalization(model, [c.accuracy for c in mine if c.in_domain], unseen)
        runs = len({c.train for c in mine})
        out.append(Summary(model, protocol, runs, g.in_domain, g.out_of_domain, g.ci, g.gap_pt))
    return out


def heatmap(cells: Sequence[Any], model: str, tests: Sequence[str]) -> Figure:
    """Accuracy of ``model``'s runs: one row per train set, one column per test set."""
    mine = [c for c in cells if c.model == model]
    trains = list(dict.fromkeys(c.train for c in mine))
    grid = np.full((len(trains), len(tests)), np.nan)
    for c in mine:
        grid[trains.index(c.train), list(tests).index(c.test)] = c.accuracy
    fig = Figure(figsize=(1.6 + 1.3 * len(tests), 0.9 + 0.55 * len(trains)))
    ax = fig.add_subplot()
    image = ax.imshow(grid, cmap="RdYlGn", vmin=0.3, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(tests)), labels=list(tests), rotation=30, ha="right")
    ax.set_yticks(range(len(trains)), labels=trains)
    ax.set_xlabel("test set")
    ax.set_ylabel("trained on")
    for i in range(len(trains)):
        for j in range(len(tests)):
            if not np.isnan(grid[i, j]):
                ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", fontsize=9)
    ax.set_title(f"{model}: accuracy, train × test")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    return fig


def audit_lines(name: str, manifest: Mapping[str, Any]) -> tuple[str, list[list[str]], str | None]:
    """``(headline, marker rows, warning)`` of one data set's shortcut audit."""
    doc = manifest.get("shortcuts") or {}
    if not doc.get("train_articles"):
        return f"{name}: no train split (test only), not audited.", [], None
    best = doc.get("best_rule") or {}
    base = doc.get("baseline_accuracy")
    head = f"{name}: {len(doc.get('markers', []))} markers found"
    if base is not None:
        head += f"; majority-class baseline {base:.2f}"
    if best.get("accuracy") is not None:
        shown = ", ".join(best.get("markers", []))
        head += f"; best rule on ≤3 markers ({shown} → {best.get('label')}) {best['accuracy']:.2f}"
    rows = [
        [
            str(m["marker"]),
            str(m["label"]),
            f"{m['coverage']:.1%}",
            f"{m['precision']:.2f}",
            "n/a" if m.get("rule_accuracy") is None else f"{m['rule_accuracy']:.2f}",
        ]
        for m in doc.get("markers", [])[:TOP_MARKERS]
    ]
    return head + ".", rows, shortcut_warning(doc)


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def summary_rows(summaries: Sequence[Summary]) -> list[list[str]]:
    return [
        [
            s.model,
            s.protocol,
            str(s.runs),
            _fmt(s.in_domain),
            _fmt(s.out_of_domain),
            "n/a" if s.ci is None else f"{s.ci[0]:.2f}–{s.ci[1]:.2f}",
            "n/a" if s.gap_pt is None else f"{s.gap_pt:+.1f}",
        ]
        for s in summaries
    ]


SUMMARY_HEAD = [
    "model",
    "protocol",
    "runs",
    "in-domain acc",
    "out-of-domain acc",
    "95% CI",
    "gap (pt)",
]
COMPARE_NOTE = (
    "One comparison per training set: the models trained on it, on the same test articles "
    "(paired tests, bootstrap CIs, size, latency and throughput), with its own Generalization "
    "section."
)
AUDIT_HEAD = ["marker", "label", "coverage", "precision", "rule accuracy"]


def best_sentence(summaries: Sequence[Summary]) -> str | None:
    scored = [s for s in summaries if s.out_of_domain is not None]
    if not scored:
        return None
    best = max(scored, key=lambda s: s.out_of_domain or 0.0)
    return (
        f"Best on unseen data sets: {best.model} under {best.protocol} "
        f"({best.out_of_domain:.2f} mean out-of-domain accuracy)."
    )


def _md_table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def esc(cell: str) -> str:
        return cell.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _html_table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def write_report(
    study: Study,
    out: Path,
    cells: Sequence[Any],
    data_dirs: Mapping[str, Path],
    comparisons: Mapping[str, Path] | None = None,
) -> list[Path]:
    """Write ``report.md``, ``report.html`` and ``heatmap_<model>.png``; return their paths.
    ``comparisons`` (train set → ``compare`` report dir) are linked from the report."""
    report = out / "report"
    summaries = summarize(cells)
    tests = [d.name for d in study.datasets]
    pngs = {m.name: figure_png(heatmap(cells, m.name, tests)) for m in study.models}
    audits = [
        audit_lines(name, read_json_object(path / MANIFEST, what="split manifest"))
        for name, path in data_dirs.items()
    ]
    links = {
        name: os.path.relpath(path / "report.html", report)
        for name, path in (comparisons or {}).items()
    }
    parts = _Parts(study, summaries, audits, pngs, links)
    files = []
    for model, png in pngs.items():
        write_bytes(report / f"heatmap_{model}.png", png)
        files.append(report / f"heatmap_{model}.png")
    write_text(report / "report.md", parts.markdown())
    write_text(report / "report.html", parts.html())
    return [*files, report / "report.md", report / "report.html"]


@dataclass(frozen=True)
class _Parts:
    study: Study
    summaries: Sequence[Summary]
    audits: Sequence[tuple[str, list[list[str]], str | None]]
    pngs: Mapping[str, bytes]
    comparisons: Mapping[str, str] = field(default_factory=dict)
    """Train set → the relative link to its comparison report."""

    @property
    def title(self) -> str:
        return f"Generalization study: {self.study.path.name}"

    def markdown(self) -> str:
        lines = [f"# {self.title}", "", "## Generalization", ""]
        lines += [f"- {s.verdict()}" for s in self.summaries]
        best = best_sentence(self.summaries)
        lines += [
            "",
            *([best, ""] if best else []),
            _md_table(SUMMARY_HEAD, summary_rows(self.summaries)),
        ]
        lines += ["", CI_NOTE, "", "## Train × test accuracy", ""]
        lines += [f"![{m}](heatmap_{m}.png)" for m in self.pngs]
        lines += ["", "## Shortcut audit", ""]
        for head, rows, warning in self.audits:
            lines += [head, ""]
            if warning:
                lines += [f"> **Warning:** {warning}", ""]
            if rows:
                lines += [_md_table(AUDIT_HEAD, rows), ""]
        if self.comparisons:
            lines += ["## Comparisons", "", COMPARE_NOTE, ""]
            lines += [f"- [{name}]({link})" for name, link in self.comparisons.items()]
            lines.append("")
        lines += ["Full table: `generalization.csv`.", ""]
        return "\n".join(lines)

    def html(self) -> str:
        e = html.escape
        body = [f"<h1>{e(self.title)}</h1>", "<h2>Generalization</h2><ul>"]
        body += [f"<li>{e(s.verdict())}</li>" for s in self.summaries]
        body.append("</ul>")
        best = best_sentence(self.summaries)
        if best:
            body.append(f"<p><strong>{e(best)}</strong></p>")
        body += [_html_table(SUMMARY_HEAD, summary_rows(self.summaries)), f"<p>{e(CI_NOTE)}</p>"]
        body.append("<h2>Train × test accuracy</h2>")
        for model, png in self.pngs.items():
            data = base64.b64encode(png).decode("ascii")
            body.append(f'<img alt="{e(model)} heat map" src="data:image/png;base64,{data}">')
        body.append("<h2>Shortcut audit</h2>")
        for head, rows, warning in self.audits:
            body.append(f"<p>{e(head)}</p>")
            if warning:
                body.append(f'<p class="warn">Warning: {e(warning)}</p>')
            if rows:
                body.append(_html_table(AUDIT_HEAD, rows))
        if self.comparisons:
            body += ["<h2>Comparisons</h2>", f"<p>{e(COMPARE_NOTE)}</p>", "<ul>"]
            body += [
                f'<li><a href="{e(link)}">{e(name)}</a></li>'
                for name, link in self.comparisons.items()
            ]
            body.append("</ul>")
        body.append("<p>Full table: generalization.csv.</p>")
        style = (
            "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
            "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px}"
            ".warn{color:#a40000}img{max-width:100%}"
        )
        return (
            f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{e(self.title)}'
            f"</title><style>{style}</style></head><body>{''.join(body)}</body></html>\n"
        )
