"""A run dir's model card: ``README.md`` (Hugging Face layout) and ``model_card.json``.

Both are built from files in the run dir only (``config.yaml``, ``train_summary.json``,
``data_manifest.json``, ``metrics/*.json``, ``efficiency.json``), so every figure in them was
measured by ``train``, ``evaluate`` or ``benchmark``. A figure that was not measured says so and
names the command that measures it. ``evaluate`` and ``benchmark`` both regenerate the card.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from fakenews.config import RunConfig
from fakenews.io import read_json_if_readable, write_json, write_text
from fakenews.rundir import RunDir, RunKind, TrainSummary

NOT_BENCHMARKED = "not measured — run `fakenews benchmark`"
NOT_EVALUATED = "not measured — run `fakenews evaluate`"
NOT_TRAINED = "not recorded — train_summary.json is missing"
NOT_CALIBRATED = (
    "not calibrated — run `fakenews calibrate` (P(fake) as the model gives it, threshold 0.5)"
)

INTENDED_USE = (
    "Binary classification of English news articles (title + body) as fake (1) or real (0), "
    "as a research baseline and as a first-pass filter that routes articles to human fact-checkers."
)
OUT_OF_SCOPE = [
    "Deciding on its own whether a claim is true: the model learns the style and sources of its "
    "training data, not facts, and has no knowledge of events after that data was collected.",
    "Moderating or removing content, or judging people or outlets, without human review.",
    "Text that differs from the training articles: social-media posts, short claims, other "
    "languages, other time periods or topics (see the cross-data-set results below, when measured).",
]


@dataclass(frozen=True)
class ModelCard:
    """The card as data (``model_card.json``) and as Markdown (``README.md``)."""

    data: dict[str, Any]
    markdown: str


def _collect_metrics(run: RunDir) -> dict[str, dict[str, Any]]:
    folder = run.path / "metrics"
    out: dict[str, dict[str, Any]] = {}
    if folder.is_dir():
        for file in sorted(folder.glob("*.json")):
            doc = read_json_if_readable(file)
            if doc is not None:
                out[str(doc.get("key", file.stem))] = doc
    return out


def _split_dir_name(summary: TrainSummary | None, metrics: dict[str, dict[str, Any]]) -> str | None:
    raw = summary.split_dir if summary is not None else None
    if not raw:  # the split dir an in-domain evaluation read
        raw = next(
            (
                m.get("data_path")
                for m in metrics.values()
                if m.get("in_domain") and m.get("data_path")
            ),
            None,
        )
    return Path(str(raw)).name if raw else None


def _leakage_notes(manifest: dict[str, Any]) -> list[str]:
    leak = manifest.get("leakage")
    if not isinstance(leak, dict):
        return [
            "The data manifest holds no leakage audit; run `fakenews audit SPLIT_DIR` on the split dir."
        ]
    exact = leak.get("exact_cross_split")
    near = leak.get("near_cross_split")
    if not exact and not near:
        return [
            f"Leakage audit of the split dir: {exact or 0} exact and {near or 0} near-duplicate articles "
            "shared between train, validation and test."
        ]
    return [
        f"Leakage audit of the split dir found {exact or 0} exact and {near or 0} near-duplicate articles "
        "shared between splits: test metrics may be optimistic."
    ]


@dataclass(frozen=True)
class _Sources:
    """The run dir's files a card is built from, each read once (typed where the file is)."""

    name: str
    kind: RunKind
    config: RunConfig
    summary: TrainSummary | None
    manifest: dict[str, Any]
    metrics: dict[str, dict[str, Any]]
    efficiency: dict[str, Any] | None
    calibration: dict[str, Any] | None = None
    decision: dict[str, Any] | None = None

    @classmethod
    def read(cls, run: RunDir) -> _Sources:
        return cls(
            name=run.path.resolve().name,
            kind=run.kind,
            config=run.config,
            summary=run.summary,
            manifest=run.manifest,
            metrics=_collect_metrics(run),
            efficiency=read_json_if_readable(run.efficiency),
            calibration=read_json_if_readable(run.calibration_file),
            decision=read_json_if_readable(run.decision_file),
        )

    @property
    def in_domain(self) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.metrics.items() if v.get("in_domain", True)}

    @property
    def cross(self) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.metrics.items() if not v.get("in_domain", True)}


def build_model_card(run: RunDir | Path | str) -> ModelCard:
    """Collect every measured figure of ``run`` into a :class:`ModelCard`."""
    run = run if isinstance(run, RunDir) else RunDir(Path(run))
    src = _Sources.read(run)
    card: dict[str, Any] = {
        "model": _model_entry(src),
        "intended_use": INTENDED_USE,
        "out_of_scope_use": OUT_OF_SCOPE,
        "data": _data_entry(src.manifest, _split_dir_name(src.summary, src.metrics)),
        "training": _training_entry(src),
        "metrics": src.metrics if src.metrics else NOT_EVALUATED,
        "efficiency": src.efficiency if src.efficiency is not None else NOT_BENCHMARKED,
        "calibration": src.calibration if src.calibration is not None else NOT_CALIBRATED,
        "decision": src.decision if src.decision is not None else NOT_CALIBRATED,
        "limitations": _limitations(src),
    }
    return ModelCard(data=card, markdown=_markdown(card, src))


# --------------------------------------------------------------------------- model_card.json


def _model_entry(src: _Sources) -> dict[str, Any]:
    transformer = src.kind == "transformer"
    return {
        "run": src.name,
        "name": src.config.model.name,
        "kind": src.kind,
        "max_length": src.config.data.max_length if transformer else None,
        "truncation": src.config.data.truncation if transformer else None,
        "distilled_from": (_teacher(src) or {}).get("run_dir"),
        "labels": {"0": "real", "1": "fake"},
    }


def _data_entry(manifest: dict[str, Any], split_dir: str | None) -> dict[str, Any]:
    return {
        "split_dir": split_dir,
        "fingerprint": manifest.get("fingerprint"),
        "label_mapping": manifest.get("label_mapping"),
        "counts": manifest.get("counts"),
        "split": manifest.get("split"),
        "inputs": manifest.get("inputs"),
        "cleaning_steps": manifest.get("steps"),
        "leakage": manifest.get("leakage"),
    }


def _training_entry(src: _Sources) -> dict[str, Any]:
    """The config sections that shaped this kind of run (as in ``config.yaml``) and the summary."""
    config = src.config.to_dict()
    own = "data" if src.kind == "transformer" else "baseline"
    sections = ("model", own, "train", *(("distill",) if _teacher(src) else ()), "seed")
    return {
        "config": {k: config[k] for k in sections},
        "summary": src.summary.to_dict() if src.summary is not None else NOT_TRAINED,
    }


def _teacher(src: _Sources) -> dict[str, Any] | None:
    """The distillation teacher recorded in ``train_summary.json`` (``None``: not distilled)."""
    return src.summary.teacher if src.summary is not None else None


def _distillation_lines(src: _Sources) -> list[str]:
    """The teacher and the recipe of a run of ``fakenews distill`` (nothing for ``train``)."""
    teacher = _teacher(src)
    if not teacher:
        return []
    accuracy = teacher.get("test_accuracy")
    acc = f", test accuracy {_num(accuracy)}" if isinstance(accuracy, int | float) else ""
    alpha, temp = teacher.get("alpha"), teacher.get("temperature")
    unlabeled = teacher.get("n_unlabeled") or 0
    return [
        "### Distillation",
        "",
        f"Distilled from the teacher run `{teacher.get('run_dir')}` (`{teacher.get('model_name')}`, "
        f"{teacher.get('kind')}{acc}; split fingerprint `{str(teacher.get('data_fingerprint'))[:12]}`).",
        f"Recipe (Hinton et al. 2015): loss = {_setting(alpha)} × KL(teacher_T ‖ student_T) × T² + "
        f"(1 − {_setting(alpha)}) × cross-entropy with the labels, T = {_setting(temp)}; the teacher's "
        f"P(fake) of every article is in `{teacher.get('targets', 'teacher_targets.csv')}`"
        + (
            f"; {unlabeled} unlabeled articles labelled by the teacher alone." if unlabeled else "."
        ),
        "",
    ]


def _limitations(src: _Sources) -> list[str]:
    limitations = [
        "Trained on one data set: accuracy on articles from other sources, periods or topics is "
        "usually much lower (compare the cross-data-set rows of the metrics table when present).",
        *_leakage_notes(src.manifest),
    ]
    if src.kind == "transformer":
        data = src.config.data
        limitations.append(
            f"Articles are cut to {data.max_length} tokens (truncation: {data.truncation}); "
            "evidence later in a long article is not seen unless evaluated with `--long chunks`."
        )
    cross = src.cross
    if not cross:
        limitations.append(
            "No cross-data-set evaluation yet: run `fakenews evaluate RUN_DIR --data OTHER_SPLIT_DIR`."
        )
    for key, doc in sorted(cross.items()):
        limitations.append(
            f"On {key} (another data set, n={doc.get('n')}) accuracy is {_num(doc.get('accuracy'))} "
            f"and weighted F1 {_num(doc.get('f1_weighted'))}."
        )
    return limitations


# --------------------------------------------------------------------------- README.md


def _num(value: Any, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _setting(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ", ".join(_setting(v) for v in value)
    return "null" if value is None else str(value)


def _front_matter(card: dict[str, Any], in_domain: dict[str, Any], kind: str) -> str:
    meta: dict[str, Any] = {
        "library_name": "transformers" if kind == "transformer" else "sklearn",
        "pipeline_tag": "text-classification",
        "tags": ["fake-news-detection", "text-classification", "fakenews"],
        "metrics": ["accuracy", "f1", "precision", "recall", "roc_auc"],
    }
    base = card["model"].get("name")
    if (
        kind == "transformer"
        and isinstance(base, str)
        and "/" in base
        and not base.startswith(("/", ".", "scratch:"))
    ):
        meta["base_model"] = base
    dataset = card["data"].get("split_dir") or "training split dir"
    results = [
        _model_index_result(key, doc, dataset)
        for key, doc in sorted(in_domain.items())
        if "+"
        not in key  # a non-default inference variant (test+chunks): in the tables, not the index
    ]
    if results:
        meta["model-index"] = [{"name": card["model"]["run"], "results": results}]
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n"


def _model_index_result(key: str, doc: dict[str, Any], dataset: str) -> dict[str, Any]:
    values = [
        {"type": "accuracy", "value": doc.get("accuracy"), "name": "accuracy"},
        {"type": "f1", "value": doc.get("f1_weighted"), "name": "F1 (weighted)"},
        {
            "type": "precision",
            "value": doc.get("precision_weighted"),
            "name": "precision (weighted)",
        },
        {"type": "recall", "value": doc.get("recall_weighted"), "name": "recall (weighted)"},
    ]
    if doc.get("roc_auc") is not None:
        values.append({"type": "roc_auc", "value": doc.get("roc_auc"), "name": "ROC-AUC"})
    return {
        "task": {"type": "text-classification", "name": "Fake-news detection"},
        "dataset": {"name": dataset, "type": "fakenews-split-dir", "split": doc.get("split", key)},
        "metrics": values,
    }


METRIC_COLUMNS = (
    ("n", "n"),
    ("accuracy", "accuracy"),
    ("precision_weighted", "precision (w)"),
    ("recall_weighted", "recall (w)"),
    ("f1_weighted", "F1 (w)"),
    ("f1_macro", "F1 (macro)"),
    ("roc_auc", "ROC-AUC"),
    ("fpr", "FPR"),
    ("fnr", "FNR"),
    ("ece", "ECE"),
    ("ece_uncalibrated", "ECE (T = 1)"),
    ("brier", "Brier"),
    ("threshold", "threshold"),
)


def _metrics_table(docs: dict[str, Any]) -> list[str]:
    head = "| evaluation | " + " | ".join(label for _, label in METRIC_COLUMNS) + " |"
    rule = "|---|" + "---:|" * len(METRIC_COLUMNS)
    rows = [head, rule]
    for key, doc in sorted(docs.items()):
        rows.append(
            f"| `{key}` | " + " | ".join(_num(doc.get(col)) for col, _ in METRIC_COLUMNS) + " |"
        )
    return rows


def _markdown(card: dict[str, Any], src: _Sources) -> str:
    """``README.md``: the front matter, then one block of lines per section."""
    sections = (
        _title_section(card, src.kind),
        _use_section(card),
        _how_to_use_section(src.kind),
        _data_section(card["data"]),
        _training_section(src),
        _calibration_section(src.calibration, src.decision),
        _evaluation_section(src.in_domain, src.cross),
        _efficiency_section(card["efficiency"]),
        ["## Limitations", "", *[f"- {item}" for item in card["limitations"]], ""],
    )
    lines = [_front_matter(card, src.in_domain, src.kind)]
    for section in sections:
        lines += section
    return "\n".join(lines)


def _title_section(card: dict[str, Any], kind: str) -> list[str]:
    model = card["model"]
    return [
        f"# {model['run']}",
        "",
        f"A {kind} fake-news classifier (`{model.get('name')}`) trained with "
        "`fakenews` on a leakage-checked split. Labels: 0 = real, 1 = fake. "
        "Every number below was measured by `fakenews train`, `evaluate` or `benchmark` on this run.",
        "",
    ]


def _use_section(card: dict[str, Any]) -> list[str]:
    return [
        "## Intended use",
        "",
        card["intended_use"],
        "",
        "### Out-of-scope use",
        "",
        *[f"- {item}" for item in card["out_of_scope_use"]],
        "",
    ]


def _how_to_use_section(kind: str) -> list[str]:
    if kind != "transformer":
        return [
            "## How to use",
            "",
            '`fakenews predict RUN_DIR "text"` or `fakenews serve RUN_DIR`.',
            "",
        ]
    return [
        "## How to use",
        "",
        "```python",
        "from transformers import pipeline",
        'clf = pipeline("text-classification", model="model")  # the model/ folder of this run',
        'clf("Title of the article. Body of the article ...", truncation=True)',
        "```",
        "",
        'or `fakenews predict RUN_DIR "text"` / `fakenews serve RUN_DIR`.',
        "",
    ]


def _data_section(data: dict[str, Any]) -> list[str]:
    mapping = data.get("label_mapping") or {"0": "real", "1": "fake"}
    lines = [
        "## Data",
        "",
        f"- Split dir: `{data.get('split_dir') or 'not recorded'}`, fingerprint `{data.get('fingerprint')}`",
        "- Labels: " + ", ".join(f"{k} = {v}" for k, v in mapping.items()),
    ]
    split = data.get("split")
    if isinstance(split, dict):
        lines.append(
            f"- Split: {split.get('method', '?')}, ratios {split.get('ratios')}, seed {split.get('seed')}"
            + (f", grouped by `{split['group_by']}`" if split.get("group_by") else "")
        )
    inputs = data.get("inputs")
    if isinstance(inputs, list) and inputs:
        names = ", ".join(
            f"`{Path(str(i.get('path', '?'))).name}`" for i in inputs if isinstance(i, dict)
        )
        lines.append(f"- Inputs: {names}")
    counts = data.get("counts")
    if isinstance(counts, dict) and counts:
        lines += ["", "| split | articles | fake | real |", "|---|---:|---:|---:|"]
        lines += [
            f"| {name} | {_num(c.get('total'))} | {_num(c.get('fake'))} | {_num(c.get('real'))} |"
            for name, c in counts.items()
            if isinstance(c, dict)
        ]
    steps = data.get("cleaning_steps")
    if isinstance(steps, list) and steps:
        removed = "; ".join(
            f"{s.get('name')} removed {s.get('removed')}" for s in steps if isinstance(s, dict)
        )
        lines += ["", f"Cleaning: {removed}."]
    return [*lines, ""]


def _training_section(src: _Sources) -> list[str]:
    config = src.config.to_dict()
    if src.kind == "transformer":
        settings = {f"train.{k}": v for k, v in config["train"].items()}
        settings["data.max_length"] = src.config.data.max_length
        settings["data.truncation"] = src.config.data.truncation
    else:  # the baseline uses its own section and only train.metric
        settings = {f"baseline.{k}": v for k, v in config["baseline"].items()}
        settings["train.metric"] = src.config.train.metric
    rows = [f"| {k} | {_setting(v)} |" for k, v in settings.items()]
    return [
        "## Training",
        "",
        "| setting | value |",
        "|---|---|",
        *rows,
        f"| seed | {src.config.seed} |",
        "",
        _summary_line(src.summary, src.kind),
        "",
        *_distillation_lines(src),
    ]


def _summary_line(summary: TrainSummary | None, kind: str) -> str:
    if summary is None:
        return f"Training summary: {NOT_TRAINED}."
    runtime = summary.train_runtime_s
    minutes = runtime / 60 if isinstance(runtime, int | float) else None
    if kind == "transformer":
        what = f"Trained for {_num(summary.epochs_completed, 2)} epochs / {_num(summary.global_step)} steps"
    else:
        chosen = summary.chosen_C
        what = "Fitted" + (f" (C = {_setting(chosen)})" if chosen is not None else "")
    best = summary.best_checkpoint
    return (
        f"{what} in {_num(runtime, 1)} s ({_num(minutes, 1)} min, {_num(summary.train_articles_per_s, 1)} articles/s) "
        f"on {summary.device}"
        + (f"; best checkpoint `{best}`" if best else "")
        + (
            f"; best validation {summary.metric} {_num(summary.best_metric)}"
            if summary.best_metric is not None
            else ""
        )
        + "."
    )


def _calibration_section(
    calibration: dict[str, Any] | None, decision: dict[str, Any] | None
) -> list[str]:
    """How P(fake) is calibrated and where the decision threshold sits (both on validation)."""
    lines = ["## Calibration and decision threshold", ""]
    if calibration is None:
        return [*lines, f"P(fake): {NOT_CALIBRATED}.", ""]
    c = calibration
    lines.append(
        f"P(fake) is calibrated by {c.get('method')} scaling (T = {_num(c.get('temperature'), 3)}) on "
        f"{c.get('n')} validation articles: ECE {_num(c.get('ece_before'))} -> {_num(c.get('ece_after'))}, "
        f"Brier {_num(c.get('brier_before'))} -> {_num(c.get('brier_after'))}."
    )
    if decision is not None:
        d = decision
        fell = (
            f" (asked for {d.get('requested')}: {d.get('fallback_reason')})"
            if d.get("fallback_reason")
            else ""
        )
        lines.append(
            f"Articles with P(fake) >= {_num(d.get('threshold'))} are labelled fake (policy "
            f"`{d.get('policy')}`{fell}); on validation: FPR {_num(d.get('fpr'))}, recall "
            f"{_num(d.get('recall'))}, precision {_num(d.get('precision'))}."
        )
    return [*lines, ""]


def _evaluation_section(in_domain: dict[str, Any], cross: dict[str, Any]) -> list[str]:
    lines = ["## Evaluation", ""]
    if in_domain:
        lines += ["Held-out split(s) of the training data set:", "", *_metrics_table(in_domain), ""]
        for key, doc in sorted(in_domain.items()):
            cm = doc.get("confusion_matrix")
            if isinstance(cm, list) and len(cm) == 2:
                lines.append(
                    f"- `{key}` confusion matrix (rows true real/fake, columns predicted): "
                    f"TN {cm[0][0]}, FP {cm[0][1]}, FN {cm[1][0]}, TP {cm[1][1]}."
                    + (f" {doc['roc_auc_note']}" if doc.get("roc_auc_note") else "")
                )
        lines.append("")
    else:
        lines += [f"Metrics: {NOT_EVALUATED}.", ""]
    if cross:
        lines += [
            "Cross-data-set evaluation (the model was not trained on these):",
            "",
            *_metrics_table(cross),
            "",
        ]
    return lines


def _efficiency_section(eff: dict[str, Any] | str) -> list[str]:
    if not isinstance(eff, dict):
        return ["## Efficiency", "", f"Efficiency: {eff}.", ""]
    rows = [f"| {a} | {b} |" for a, b in _efficiency_rows(eff)]
    return ["## Efficiency", "", "| figure | value |", "|---|---|", *rows, ""]


def _ci(eff: dict[str, Any], name: str, digits: int = 2) -> str:
    bounds = eff.get(f"{name}_ci")
    if isinstance(bounds, list) and len(bounds) == 2:
        return f" (95% CI {_num(bounds[0], digits)}–{_num(bounds[1], digits)})"
    return ""


def _efficiency_rows(eff: dict[str, Any]) -> list[tuple[str, str]]:
    length = f"max_length {eff['max_length']}" if eff.get("max_length") else "whole articles"
    rows = [
        ("parameters (total / trainable)", f"{_num(eff.get('params_total'))} / {_num(eff.get('params_trainable'))}"),
        ("size on disk (model/)", f"{_num(eff.get('size_mb'), 1)} MB"),
        ("weights in memory", f"{_num(eff.get('memory_mb'), 1)} MB"),
        ("latency, batch 1, p50", f"{_num(eff.get('latency_ms_p50'), 2)} ms{_ci(eff, 'latency_ms_p50')}"),
        ("latency, batch 1, p95", f"{_num(eff.get('latency_ms_p95'), 2)} ms{_ci(eff, 'latency_ms_p95')}"),
        ("throughput", f"{_num(eff.get('throughput_per_s'), 1)} articles/s at batch {eff.get('batch_size')}"
                       f"{_ci(eff, 'throughput_per_s', 1)}"),
        ("measured on", f"{eff.get('device')} ({eff.get('device_name', '')}), {eff.get('torch_threads')} threads, "
                        f"torch {eff.get('torch_version')}"),
        ("inference path", f"`{eff.get('path')}`, {length}, {eff.get('n_articles')} real articles"),
    ]  # fmt: skip
    flops = eff.get("achieved_flops_per_s")
    if isinstance(flops, int | float):
        mfu = eff.get("mfu")
        rows.append(
            (
                "achieved model FLOP/s",
                f"{flops / 1e9:.1f} GFLOP/s"
                + (f" (MFU {100 * mfu:.1f}%)" if isinstance(mfu, int | float) else ""),
            )
        )
    if eff.get("peak_memory_mb") is not None:
        rows.append(("CUDA peak memory", f"{_num(eff.get('peak_memory_mb'), 1)} MB"))
    return rows


def write_model_card(run: RunDir | Path | str) -> list[Path]:
    """Write ``model_card.json`` and ``README.md`` into the run dir (atomically); return their paths."""
    run = run if isinstance(run, RunDir) else RunDir(Path(run))
    card = build_model_card(run)
    write_json(run.model_card_json, card.data)
    write_text(run.readme, card.markdown)
    return [run.model_card_json, run.readme]
