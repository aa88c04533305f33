"""The generalization measurement (issue 13): summarise study dirs of ``fakenews study`` into
in-domain vs out-of-domain accuracy per model, protocol and marker option, and each data set's
shortcut audit.

Run the two studies first (long; other jobs share the CPU, so nice them)::

    nice -n 10 fakenews study benchmarks/studies/generalization_plain.yaml --out runs/gen-plain
    nice -n 10 fakenews study benchmarks/studies/generalization_strip.yaml --out runs/gen-strip

then::

    python benchmarks/bench_generalization.py --study plain=runs/gen-plain --study strip=runs/gen-strip

``--study LABEL=DIR[,DIR...]``: one marker option (``plain`` keeps the markers, ``strip`` is
``strip_markers: true``); several dirs of one label are read together (e.g. a tfidf-only study
with all protocols next to a MiniLM study with fewer), the first dir's row winning a duplicate.
``--wall LABEL=SECONDS`` records a measured wall time. Writes
``benchmarks/results/generalization-<machine>.csv`` (the summary) and ``.json`` (summary,
shortcut audits, wall times, every ``generalization.csv`` row) and prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS, machine_info, machine_slug, table, write_result

from fakenews.generalization import generalization
from fakenews.io import write_csv

REUTERS = "(Reuters)"


def _pairs(values: list[str], what: str) -> dict[str, str]:
    out = {}
    for value in values:
        label, sep, rest = value.partition("=")
        if not sep or not label or not rest:
            raise SystemExit(f"{what} expects LABEL=VALUE, found {value!r}")
        out[label] = rest
    return out


def read_rows(label: str, dirs: list[Path]) -> pd.DataFrame:
    """Every ``generalization.csv`` row of ``dirs`` with its predictions file, first dir first."""
    frames = []
    for d in dirs:
        frame = pd.read_csv(d / "report" / "generalization.csv")
        frame["predictions"] = [
            str(d / "runs" / r.train / r.model / "predictions" / f"{r.test}.test.csv")
            for r in frame.itertuples()
        ]
        frames.append(frame)
    rows = pd.concat(frames, ignore_index=True)
    rows = rows.drop_duplicates(["protocol", "model", "train", "test"], keep="first")
    return rows.assign(markers=label).reset_index(drop=True)


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    """Per (markers, model, protocol): runs, in-domain mean, OOD mean with its CI, the gap."""
    out = []
    for (markers, model, protocol), group in rows.groupby(
        ["markers", "model", "protocol"], sort=False
    ):
        inside = group[group["in_domain"]]
        unseen = [
            (f"{r.train} → {r.test}", float(r.accuracy), Path(r.predictions))
            for r in group[~group["in_domain"]].itertuples()
        ]
        g = generalization(model, inside["accuracy"].tolist(), unseen)
        out.append(
            {
                "markers": markers,
                "model": model,
                "protocol": protocol,
                "runs": group["train"].nunique(),
                "in_domain": g.in_domain,
                "out_of_domain": g.out_of_domain,
                "ood_ci_low": g.ci[0] if g.ci else None,
                "ood_ci_high": g.ci[1] if g.ci else None,
                "gap_pt": g.gap_pt,
                "ood_cells": len(unseen),
                "verdict": g.verdict(),
            }
        )
    return pd.DataFrame(out)


def audit(study_dir: Path) -> dict[str, Any]:
    """Each data set's shortcut audit (from its manifest), plus the ``(Reuters)`` rule on every
    article of the set (train + validation + test), as the issue measured it."""
    result = {}
    for manifest_path in sorted((study_dir / "data").glob("*/manifest.json")):
        name = manifest_path.parent.name
        doc = json.loads(manifest_path.read_text()).get("shortcuts") or {}
        markers = doc.get("markers", [])
        entry: dict[str, Any] = {
            "train_articles": doc.get("train_articles"),
            "test_articles": doc.get("test_articles"),
            "baseline_accuracy": doc.get("baseline_accuracy"),
            "best_rule": doc.get("best_rule"),
            "top_markers": markers[:5],
            "markers_found": len(markers),
        }
        entry["reuters_rule_all_articles"] = _reuters_rule(manifest_path.parent)
        result[name] = entry
    return result


def _reuters_rule(split_dir: Path) -> dict[str, Any] | None:
    frames = [pd.read_csv(p, dtype={"id": str}) for p in sorted(split_dir.glob("*.csv"))]
    frames = [f for f in frames if {"combined_text", "label"} <= set(f.columns)]
    if not frames:
        return None
    data = pd.concat(frames, ignore_index=True)
    has = data["combined_text"].astype(str).str.contains(REUTERS, regex=False)
    labels = data["label"].astype(int)
    # (Reuters) present -> real (0), absent -> fake (1)
    accuracy = float(((has & (labels == 0)) | (~has & (labels == 1))).mean())
    return {
        "articles": len(data),
        "real_with_marker": int((has & (labels == 0)).sum()),
        "real": int((labels == 0).sum()),
        "fake_with_marker": int((has & (labels == 1)).sum()),
        "fake": int((labels == 1).sum()),
        "accuracy": round(accuracy, 4),
    }


def _ood(r: Any) -> str:
    if pd.isna(r.out_of_domain):
        return "n/a (every set trained on)"
    return f"{r.out_of_domain:.3f} [{r.ood_ci_low:.3f}, {r.ood_ci_high:.3f}]"


def _print_summary(summary: pd.DataFrame) -> None:
    rows = [
        [
            r.markers, r.model, r.protocol, r.runs, f"{r.in_domain:.3f}", _ood(r),
            "n/a" if pd.isna(r.gap_pt) else f"{r.gap_pt:+.1f}",
        ]
        for r in summary.itertuples()
    ]  # fmt: skip
    head = ["markers", "model", "protocol", "runs", "in-domain", "OOD mean [95% CI]", "gap (pt)"]
    print(table(rows, head))


def _print_audits(audits: dict[str, dict[str, Any]]) -> None:
    for label, sets in audits.items():
        rows = []
        for name, a in sets.items():
            top = "; ".join(
                f"{m['marker']} → {m['label']} ({m['coverage']:.0%}, rule {m['rule_accuracy']:.2f})"
                for m in a["top_markers"][:3]
            )
            best = a.get("best_rule") or {}
            reuters = a.get("reuters_rule_all_articles") or {}
            rows.append([
                name, a["markers_found"], top or "none",
                f"{best.get('accuracy', float('nan')):.2f}" if best else "n/a",
                reuters.get("accuracy", "n/a"),
            ])  # fmt: skip
        print(f"\nshortcut audit ({label}):")
        head = [
            "data set",
            "markers",
            "top 3 (coverage, rule acc.)",
            "best rule ≤3",
            "(Reuters) rule, all",
        ]
        print(table(rows, head))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--study", action="append", required=True, help="LABEL=DIR[,DIR...]")
    parser.add_argument("--wall", action="append", default=[], help="LABEL=SECONDS (measured)")
    parser.add_argument("--note", default="", help="free text kept in the JSON (settings, load)")
    args = parser.parse_args(argv)
    studies = {k: [Path(p) for p in v.split(",")] for k, v in _pairs(args.study, "--study").items()}
    rows = pd.concat([read_rows(k, v) for k, v in studies.items()], ignore_index=True)
    summary = summarise(rows)
    audits = {label: audit(dirs[0]) for label, dirs in studies.items()}
    _print_summary(summary)
    _print_audits(audits)
    slug = machine_slug()
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_csv(RESULTS / f"generalization-{slug}.csv", summary)
    payload = {
        "machine": machine_info(),
        "studies": {k: [str(p) for p in v] for k, v in studies.items()},
        "wall_s": {k: float(v) for k, v in _pairs(args.wall, "--wall").items()},
        "note": args.note,
        "summary": summary.to_dict(orient="records"),
        "shortcut_audit": audits,
        "rows": rows.drop(columns=["predictions"]).to_dict(orient="records"),
    }
    path = write_result("generalization", payload)
    print(f"\nwrote {RESULTS / f'generalization-{slug}.csv'} and {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
