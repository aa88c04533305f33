"""Closing-note table (docs/study.md) from report-<split>/comparison.json + each run's files."""

import json
import pathlib

R = pathlib.Path("/work/scratch/distill/runs")
OUT = pathlib.Path("/work/wt/distill/benchmarks/results")
LABEL = {
    "tfidf": "tfidf-logreg",
    "minilm": "minilm-l6",
    "minilm3": "minilm-l6, keep_layers=3",
    "mpnet": "mpnet-base (64 tokens, 1 epoch)",
    "student": "student: minilm-l6 keep_layers=3, distilled",
}
ORDER = ["mpnet", "minilm", "minilm3", "student", "tfidf"]
doc = {}
lines = []
for d, dname in (("pf", "PolitiFact"), ("wf", "WELFake sample")):
    rep = R / f"report-{d}" / "comparison.json"
    if not rep.is_file():
        continue
    comp = json.loads(rep.read_text())
    rows = {r["run"]: r for r in comp["table"]}
    out = []
    for key in ORDER:
        name = f"{d}-{key}"
        if name not in rows:
            continue
        r = rows[name]
        q = r["quality"]["accuracy"]
        e = r["efficiency"]
        run = R / name
        summ = json.loads((run / "train_summary.json").read_text())
        cfg = (run / "config.yaml").read_text()
        eff = (
            json.loads((run / "efficiency.json").read_text())
            if (run / "efficiency.json").is_file()
            else {}
        )
        t = summ.get("teacher")
        out.append(
            {
                "run": name,
                "model": LABEL[key],
                "n_test": r["n"],
                "accuracy": q["value"],
                "ci": [q["ci_low"], q["ci_high"]],
                "params": e["params_total"],
                "size_mb": e["size_mb"],
                "ms_per_article_p50": e["latency_ms_p50"],
                "throughput_per_s": e["throughput_per_s"],
                "train_runtime_s": e["train_runtime_s"],
                "epochs": summ.get("epochs_completed"),
                "max_length": eff.get("max_length"),
                "teacher": (t or {}).get("run_dir"),
                "benchmark_path": e.get("path"),
            }
        )
    doc[d] = {"data": dname, "n_test": next(iter(rows.values()))["n"], "rows": out}
    lines += [
        f"**{dname}** ({doc[d]['n_test']} test articles)",
        "",
        "| model | test accuracy [95% CI] | parameters | MB | ms/article (p50, batch 1) | training time |",
        "|---|---|---|---|---|---|",
    ]
    for o in out:
        teacher = f" ← {pathlib.Path(o['teacher']).name}" if o["teacher"] else ""
        params = f"{o['params'] / 1e6:.1f} M" if o["params"] >= 1e6 else f"{o['params']:,}"
        lines.append(
            f"| {o['model']}{teacher} | {o['accuracy']:.3f} [{o['ci'][0]:.3f}, {o['ci'][1]:.3f}] | "
            f"{params} | {o['size_mb']:.1f} | {o['ms_per_article_p50']:.1f} | "
            f"{o['train_runtime_s']:.0f} s ({o['epochs']:g} ep) |"
        )
    lines.append("")
(OUT / "closing_table.json").write_text(json.dumps(doc, indent=2) + "\n")
print("\n".join(lines))
