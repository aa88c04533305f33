"""Figures of ``fakenews compare``, drawn from measured numbers only.

Each function returns a ``(Figure, caption)`` pair or ``None`` when no run has the figure.
A run without a measurement is left out of the bars and named in the caption (and in a
footnote on the figure itself); nothing is zero-filled. Figures are built with
``matplotlib.figure.Figure`` (no ``pyplot``, no global state, never shown); PNG rendering goes
through the Agg canvas.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter

from fakenews.comparison.result import ComparisonResult, ModelRow

BAR = "#4C72B0"
FRONT = "#C44E52"
OTHER = "#8C8C8C"
Figured = tuple[Figure, str]
PLAIN = FuncFormatter(lambda v, _pos: f"{v:g}")


def _missing_caption(missing: Sequence[str], what: str) -> str:
    if not missing:
        return ""
    return f"Not measured (left out, not zero): {', '.join(missing)} — no {what}."


def _footnote(fig: Figure, text: str) -> None:
    if text:
        fig.text(0.01, 0.005, text, fontsize=8, color="#555555", ha="left", va="bottom", wrap=True)


def bar_figure(
    values: Mapping[str, float | None],
    *,
    title: str,
    ylabel: str,
    fmt: str = "{:.3g}",
    errors: Mapping[str, tuple[float, float] | None] | None = None,
    missing_what: str = "measurement",
    log: bool | None = None,
) -> Figured | None:
    """One bar per run with a measured value (labelled with it), optional CI whiskers.

    ``log`` None picks a log axis when the values span more than 50x.
    """
    measured = {
        k: float(v) for k, v in values.items() if v is not None and np.isfinite(v) and v > 0
    }
    missing = [k for k in values if k not in measured]
    if not measured:
        return None
    names = list(measured)
    heights = np.array([measured[k] for k in names])
    if log is None:
        log = len(heights) > 1 and heights.max() / heights.min() > 50
    fig = Figure(figsize=(max(4.8, 1.1 * len(names) + 2.5), 3.8))
    ax = fig.add_subplot()
    yerr = None
    if errors:
        bounds = {k: ci for k in names if (ci := errors.get(k)) is not None}
        low = [measured[k] - bounds[k][0] if k in bounds else 0.0 for k in names]
        high = [bounds[k][1] - measured[k] if k in bounds else 0.0 for k in names]
        yerr = np.clip(np.array([low, high]), 0, None)
    bars = ax.bar(
        range(len(names)), heights, color=BAR, yerr=yerr, capsize=4 if yerr is not None else 0
    )
    ax.bar_label(bars, labels=[fmt.format(h) for h in heights], padding=3, fontsize=9)
    ax.set_xticks(
        range(len(names)),
        names,
        rotation=20 if len(names) > 3 else 0,
        ha="right" if len(names) > 3 else "center",
    )
    ax.set_ylabel(ylabel + (" (log scale)" if log else ""))
    if log:
        ax.set_yscale("log")
        ax.set_ylim(heights.min() / 3, heights.max() * 6)
        ax.yaxis.set_major_formatter(PLAIN)
    else:
        top = (heights + (yerr[1] if yerr is not None else 0)).max()
        ax.set_ylim(0, top * 1.18)
    ax.set_title(title, fontsize=11)
    ax.spines[["top", "right"]].set_visible(False)
    caption = _missing_caption(missing, missing_what)
    fig.tight_layout(rect=(0, 0.06 if caption else 0, 1, 1))
    _footnote(fig, caption)
    return fig, caption


def accuracy_latency_figure(
    rows: Sequence[ModelRow], pareto: Sequence[str], *, subtitle: str = ""
) -> Figured | None:
    """Accuracy (bootstrap 95% CI) against p50 latency (its CI), the Pareto front joined and marked."""
    points = [
        r for r in rows if r.latency_ms_p50 is not None and r.quality["accuracy"].value is not None
    ]
    missing = [r.run for r in rows if r not in points]
    if not points:
        return None
    fig = Figure(figsize=(6.4, 4.4))
    ax = fig.add_subplot()
    for r in points:
        _accuracy_latency_point(ax, r, on_front=r.run in pareto)
    front = [r for r in points if r.run in pareto]
    front.sort(key=_latency)
    if len(front) > 1:
        ax.step(
            [_latency(r) for r in front], np.array([r.quality["accuracy"].value for r in front], dtype=float),
            where="post", color=FRONT, linestyle="--", linewidth=1.2, zorder=2,
        )  # fmt: skip
    ax.plot(
        [],
        [],
        "o",
        color=FRONT,
        label="Pareto front (no other run is both faster and more accurate)",
    )
    if len(front) < len(points):
        ax.plot([], [], "o", color=OTHER, label="dominated")
    ax.legend(fontsize=8, loc="lower right", frameon=False)
    _latency_axis(ax, [_latency(r) for r in points])
    ax.set_ylabel("accuracy (95% CI)")
    ax.margins(x=0.2, y=0.25)
    low, high = ax.get_ylim()
    ax.set_ylim(low, min(high, 1.005))  # accuracy cannot exceed 1
    ax.set_title("Accuracy vs latency" + (f" — {subtitle}" if subtitle else ""), fontsize=11)
    ax.spines[["top", "right"]].set_visible(False)
    caption = _missing_caption(missing, "latency in efficiency.json")
    fig.tight_layout(rect=(0, 0.06 if caption else 0, 1, 1))
    _footnote(fig, caption)
    return fig, caption


def _latency(row: ModelRow) -> float:
    """p50 latency of a row that has one (the accuracy-latency plot keeps only those)."""
    return float(row.latency_ms_p50 or 0.0)


def _accuracy_latency_point(ax: Axes, r: ModelRow, *, on_front: bool) -> None:
    """One run: a dot with its accuracy and latency CIs as whiskers, labelled with its name."""
    acc = r.quality["accuracy"]
    x, y = _latency(r), float(acc.value or 0.0)
    xerr = (
        [[x - r.latency_ms_p50_ci[0]], [r.latency_ms_p50_ci[1] - x]]
        if r.latency_ms_p50_ci
        else None
    )
    yerr = [[y - acc.low], [acc.high - y]] if acc.low is not None and acc.high is not None else None
    ax.errorbar(
        x, y, xerr=np.clip(xerr, 0, None) if xerr else None, yerr=np.clip(yerr, 0, None) if yerr else None,
        fmt="o", color=FRONT if on_front else OTHER, ecolor="#999999", capsize=3, markersize=7, zorder=3,
    )  # fmt: skip
    ax.annotate(r.run, (x, y), textcoords="offset points", xytext=(6, 6), fontsize=9)


def _latency_axis(ax: Axes, xs: Sequence[float]) -> None:
    """A log latency axis when the runs span more than 20x, else a linear one."""
    if len(xs) > 1 and max(xs) / min(xs) > 20:
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(PLAIN)
        ax.set_xlabel("ms per article, p50 at batch size 1 (log scale)")
    else:
        ax.set_xlabel("ms per article, p50 at batch size 1")


def cross_dataset_figure(
    runs: Sequence[str],
    data_sets: Sequence[str],
    accuracy: Mapping[tuple[str, str], float],
    in_domain: Mapping[str, str],
) -> Figured | None:
    """Heatmap of accuracy, rows run, columns data set; the in-domain cell is outlined and starred.

    Cells never evaluated are left blank (grey) and say "not evaluated".
    """
    if len(data_sets) < 2 or not accuracy:
        return None
    grid = np.full((len(runs), len(data_sets)), np.nan)
    for i, r in enumerate(runs):
        for j, d in enumerate(data_sets):
            if (r, d) in accuracy:
                grid[i, j] = accuracy[(r, d)]
    fig = Figure(figsize=(max(5.0, 1.6 * len(data_sets) + 2.8), max(2.8, 0.6 * len(runs) + 1.8)))
    ax = fig.add_subplot()
    masked = np.ma.masked_invalid(grid)
    cmap = colormaps["viridis"].with_extremes(bad="#e6e6e6")
    image = ax.imshow(masked, cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto")
    for i, r in enumerate(runs):
        for j, d in enumerate(data_sets):
            own = in_domain.get(r) == d
            if np.isnan(grid[i, j]):
                ax.text(
                    j, i, "not evaluated", ha="center", va="center", fontsize=8, color="#666666"
                )
                continue
            colour = "black" if grid[i, j] > 0.6 else "white"
            ax.text(j, i, f"{grid[i, j]:.3f}" + (" *" if own else ""), ha="center", va="center", fontsize=11 if own else 10,
                    color=colour)  # fmt: skip
            if own:
                ax.add_patch(
                    Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor=FRONT, linewidth=2.5)
                )
    ax.set_xticks(range(len(data_sets)), data_sets, rotation=15, ha="right")
    ax.set_yticks(range(len(runs)), runs)
    ax.set_xlabel("evaluated on")
    ax.set_title("Accuracy across data sets (* and outline: in-domain test split)", fontsize=10)
    bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    bar.set_label("accuracy")
    fig.tight_layout()
    return fig, ""


def comparison_figures(result: ComparisonResult) -> dict[str, Figured]:
    """Every figure of the report, by file stem (``plots/<name>.png``); absent figures are skipped."""
    rows = result.rows
    sub = "" if result.same_split else "different test sets"
    out: dict[str, Figured | None] = {
        "params": bar_figure(
            {r.run: (r.params_total / 1e6 if r.params_total else None) for r in rows},
            title="Parameters", ylabel="parameters (millions)", fmt="{:.2f} M", missing_what="parameter count",
        ),
        "size_mb": bar_figure(
            {r.run: r.size_mb for r in rows}, title="Size on disk", ylabel="MB (2^20 bytes)",
            fmt="{:.1f}", missing_what="efficiency.json",
        ),
        "latency": bar_figure(
            {r.run: r.latency_ms_p50 for r in rows}, title="Latency per article (p50, batch size 1; 95% CI)",
            ylabel="ms / article", fmt="{:.2f}", errors={r.run: r.latency_ms_p50_ci for r in rows},
            missing_what="efficiency.json",
        ),
        "throughput": bar_figure(
            {r.run: r.throughput_per_s for r in rows}, title="Throughput (best batch size; 95% CI)",
            ylabel="articles / s", fmt="{:.1f}", errors={r.run: r.throughput_per_s_ci for r in rows},
            missing_what="efficiency.json",
        ),
        "accuracy_vs_latency": accuracy_latency_figure(rows, result.pareto, subtitle=sub),
    }  # fmt: skip
    if result.has_cross_dataset:
        out["cross_dataset"] = cross_dataset_figure(
            [r.run for r in rows],
            result.data_sets,
            {(c.run, c.data): c.accuracy for c in result.cross},
            {c.run: c.data for c in result.cross if c.in_domain},
        )
    return {k: v for k, v in out.items() if v is not None}
