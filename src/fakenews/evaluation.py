"""Score a run on a split: metrics, per-article predictions, error analysis and plots.

The metric functions take plain arrays (``labels`` 0/1, ``probs`` of shape ``(n, 2)`` with
columns ``[P(real), P(fake)]``) so they can be checked against scikit-learn and reused by
``compare``. :func:`evaluate` is the stage: it loads a run, predicts a split, and writes

``metrics/<key>.json``, ``predictions/<key>.csv``, ``errors/<key>.md|.csv`` and
``plots/<key>_{confusion,roc,reliability,length,per_class}.png``

where ``key`` is :func:`fakenews.rundir.eval_key` (``test`` in-domain, ``horne2017.test`` on
another data set), plus ``+chunks`` / ``+onnx`` for a non-default inference (``test+chunks``).
Everything is computed before the first file is written, and every file is written atomically,
so a bad input leaves the run dir as it was.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from fakenews import LABELS
from fakenews.errors import FakeNewsError
from fakenews.rundir import RunDir, eval_key
from fakenews.splits import SPLITS, SplitDir, load_split_dir

logger = logging.getLogger(__name__)

ECE_BINS = 15
"""Equal-width confidence bins of the expected calibration error (Guo et al., 2017)."""
SNIPPET_CHARS = 240
ERRORS_SHOWN = 25
"""False positives and false negatives listed in ``errors/<key>.md`` (the CSV has all)."""
DEFAULT_LABEL_MAPPING = {"0": "real", "1": "fake"}
PLOT_NAMES = ("confusion", "roc", "reliability", "length", "per_class")


# --------------------------------------------------------------------------- metric functions


def as_probs(probs: np.ndarray | Any) -> np.ndarray:
    """Check and return ``probs`` as float64 of shape ``(n, 2)``."""
    arr = np.asarray(probs, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"expected probabilities of shape (n, 2), found {arr.shape}")
    return arr


def predictions_from_probs(probs: np.ndarray) -> np.ndarray:
    """Predicted label: 1 (fake) when ``P(fake) > P(real)``, ties go to 0 (real)."""
    return np.argmax(as_probs(probs), axis=1).astype(int)


def confusion(labels: np.ndarray, preds: np.ndarray) -> np.ndarray:
    """2x2 ``[[tn, fp], [fn, tp]]``: rows true real/fake, columns predicted real/fake."""
    return skm.confusion_matrix(labels, preds, labels=[0, 1])


def false_positive_rate(labels: np.ndarray, preds: np.ndarray) -> float | None:
    """Share of real articles flagged as fake, ``fp / (fp + tn)``; ``None`` without real articles."""
    (tn, fp), _ = confusion(labels, preds)
    return None if tn + fp == 0 else float(fp / (tn + fp))


def false_negative_rate(labels: np.ndarray, preds: np.ndarray) -> float | None:
    """Share of fake articles let through as real, ``fn / (fn + tp)``; ``None`` without fake articles."""
    _, (fn, tp) = confusion(labels, preds)
    return None if fn + tp == 0 else float(fn / (fn + tp))


def roc_auc(labels: np.ndarray, prob_fake: np.ndarray) -> tuple[float | None, str | None]:
    """ROC-AUC of ``P(fake)``, or ``(None, why)`` when the labels hold one class only."""
    labels = np.asarray(labels)
    present = sorted({int(v) for v in labels})
    if len(present) < 2:
        only = LABELS[present[0]] if present else "no"
        return (
            None,
            f"ROC-AUC is undefined: the evaluated data has only {only} articles (n={len(labels)}).",
        )
    return float(skm.roc_auc_score(labels, prob_fake)), None


def reliability_table(
    labels: np.ndarray, probs: np.ndarray, n_bins: int = ECE_BINS
) -> pd.DataFrame:
    """Per confidence bin: ``lower, upper, count, confidence`` (mean), ``accuracy``.

    Confidence is the probability of the predicted class; bins are ``n_bins`` equal-width
    intervals of [0, 1] (the first one closed). Empty bins have ``count == 0`` and NaN means.
    """
    probs = as_probs(probs)
    labels = np.asarray(labels, dtype=int)
    preds = predictions_from_probs(probs)
    conf = probs.max(axis=1)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # np.digitize with right=True puts conf == edge into the lower bin; 0.0 goes to bin 0.
    index = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, n_bins - 1)
    rows = []
    for b in range(n_bins):
        mask = index == b
        count = int(mask.sum())
        rows.append(
            {
                "lower": edges[b],
                "upper": edges[b + 1],
                "count": count,
                "confidence": float(conf[mask].mean()) if count else np.nan,
                "accuracy": float((preds[mask] == labels[mask]).mean()) if count else np.nan,
            }
        )
    return pd.DataFrame(rows)


def expected_calibration_error(
    labels: np.ndarray, probs: np.ndarray, n_bins: int = ECE_BINS
) -> float:
    """ECE: the count-weighted mean of ``|accuracy - confidence|`` over the confidence bins."""
    table = reliability_table(labels, probs, n_bins)
    filled = table[table["count"] > 0]
    n = int(filled["count"].sum())
    if n == 0:
        return 0.0
    gap = (filled["accuracy"] - filled["confidence"]).abs()
    return float((gap * filled["count"]).sum() / n)


def brier_score(labels: np.ndarray, prob_fake: np.ndarray) -> float:
    """Mean squared error of ``P(fake)`` against the 0/1 label (binary Brier score)."""
    return float(skm.brier_score_loss(labels, prob_fake, pos_label=1))


@dataclass(frozen=True)
class ClassReport:
    """Precision, recall, F1 and support of one class (0 where undefined, as scikit-learn's ``zero_division=0``)."""

    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Metrics:
    """Every figure of one evaluation. Rates are fractions in [0, 1]; ``None`` means undefined."""

    n: int
    accuracy: float
    precision_weighted: float
    recall_weighted: float
    f1_weighted: float
    precision_macro: float
    recall_macro: float
    f1_macro: float
    roc_auc: float | None
    roc_auc_note: str | None
    fpr: float | None
    fnr: float | None
    confusion_matrix: tuple[tuple[int, int], tuple[int, int]]
    ece: float
    brier: float
    per_class: Mapping[str, ClassReport]
    mean_chars_correct: float | None
    mean_chars_wrong: float | None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if name == "per_class":
                value = {k: vars(v).copy() for k, v in value.items()}
            elif name == "confusion_matrix":
                value = [list(row) for row in value]
            if name == "roc_auc_note" and value is None:
                continue
            out[name] = value
        return out


def compute_metrics(labels: Any, probs: Any, chars: Any | None = None) -> Metrics:
    """All metrics from true ``labels`` (0/1), ``probs`` ``(n, 2)`` and optional text lengths."""
    labels = np.asarray(labels, dtype=int)
    probs = as_probs(probs)
    if len(labels) != len(probs):
        raise ValueError(f"{len(labels)} labels but {len(probs)} probability rows")
    if len(labels) == 0:
        raise ValueError("cannot compute metrics on zero articles")
    preds = predictions_from_probs(probs)
    kw: dict[str, Any] = {"labels": [0, 1], "zero_division": 0}
    p_w, r_w, f_w, _ = skm.precision_recall_fscore_support(labels, preds, average="weighted", **kw)
    p_m, r_m, f_m, _ = skm.precision_recall_fscore_support(labels, preds, average="macro", **kw)
    p_c, r_c, f_c, s_c = skm.precision_recall_fscore_support(labels, preds, average=None, **kw)
    per_class = {
        LABELS[i]: ClassReport(float(p_c[i]), float(r_c[i]), float(f_c[i]), int(s_c[i]))
        for i in (0, 1)
    }
    auc, note = roc_auc(labels, probs[:, 1])
    cm = confusion(labels, preds)
    correct = preds == labels
    mean_correct = mean_wrong = None
    if chars is not None:
        chars = np.asarray(chars, dtype=float)
        mean_correct = float(chars[correct].mean()) if correct.any() else None
        mean_wrong = float(chars[~correct].mean()) if (~correct).any() else None
    return Metrics(
        n=len(labels),
        accuracy=float(skm.accuracy_score(labels, preds)),
        precision_weighted=float(p_w),
        recall_weighted=float(r_w),
        f1_weighted=float(f_w),
        precision_macro=float(p_m),
        recall_macro=float(r_m),
        f1_macro=float(f_m),
        roc_auc=auc,
        roc_auc_note=note,
        fpr=false_positive_rate(labels, preds),
        fnr=false_negative_rate(labels, preds),
        confusion_matrix=((int(cm[0, 0]), int(cm[0, 1])), (int(cm[1, 0]), int(cm[1, 1]))),
        ece=expected_calibration_error(labels, probs),
        brier=brier_score(labels, probs[:, 1]),
        per_class=per_class,
        mean_chars_correct=mean_correct,
        mean_chars_wrong=mean_wrong,
    )


# --------------------------------------------------------------------------- the evaluate stage


@dataclass(frozen=True, eq=False)
class EvaluationResult:
    """One run scored on one split.

    ``predictions`` has one row per article in split-file order with columns
    ``id, label, pred, prob_fake, chars, correct``; ``errors`` lists the mistakes (FP then FN,
    most confident first) with ``id, label, pred, prob_fake, kind, chars, snippet``.
    """

    key: str
    split: str
    data_name: str | None
    data_path: Path
    data_fingerprint: str
    in_domain: bool
    metrics: Metrics
    predictions: pd.DataFrame
    errors: pd.DataFrame
    long: str = "truncate"
    backend: str = "torch"
    precision: str = "fp32"
    files: tuple[Path, ...] = field(default_factory=tuple)

    @property
    def labels(self) -> np.ndarray:
        return self.predictions["label"].to_numpy(dtype=int)

    @property
    def probs(self) -> np.ndarray:
        p = self.predictions["prob_fake"].to_numpy(dtype=np.float64)
        return np.column_stack([1.0 - p, p])

    def to_dict(self) -> dict[str, Any]:
        """The ``metrics/<key>.json`` document."""
        head = {
            "key": self.key,
            "split": self.split,
            "data_name": self.data_name,
            "data_path": str(Path(self.data_path).resolve()),
            "data_fingerprint": self.data_fingerprint,
            "in_domain": self.in_domain,
        }
        return {
            **head,
            **self.metrics.to_dict(),
            "long": self.long,
            "backend": self.backend,
            "precision": self.precision,
        }


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """First ``limit`` characters of ``text`` on one line."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def error_table(frame: pd.DataFrame, prob_fake: np.ndarray) -> pd.DataFrame:
    """False positives (real flagged fake, highest P(fake) first), then false negatives (lowest first)."""
    labels = frame["label"].to_numpy(dtype=int)
    preds = (np.asarray(prob_fake) > 0.5).astype(int)
    table = pd.DataFrame(
        {
            "id": frame["id"].astype(str).to_numpy(),
            "label": labels,
            "pred": preds,
            "prob_fake": np.asarray(prob_fake, dtype=np.float64),
            "kind": np.where(labels == 0, "FP", "FN"),
            "chars": frame["combined_text"].str.len().to_numpy(dtype=int),
            "snippet": [snippet(t) for t in frame["combined_text"]],
        }
    )
    wrong = table[labels != preds]
    fp = wrong[wrong["kind"] == "FP"].sort_values("prob_fake", ascending=False, kind="stable")
    fn = wrong[wrong["kind"] == "FN"].sort_values("prob_fake", ascending=True, kind="stable")
    return pd.concat([fp, fn]).reset_index(drop=True)


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
        lines += [
            f"{order}{more}.",
            "",
            "| id | P(fake) | chars | snippet |",
            "|---|---:|---:|---|",
        ]
        for row in rows.head(shown).itertuples(index=False):
            text = str(row.snippet).replace("|", "\\|")
            lines.append(f"| `{row.id}` | {row.prob_fake:.3f} | {row.chars} | {text} |")
        lines.append("")
    return "\n".join(lines)


def _normalize_mapping(mapping: Any) -> dict[str, str]:
    if not isinstance(mapping, Mapping) or not mapping:
        return dict(DEFAULT_LABEL_MAPPING)
    return {str(k).strip(): str(v).strip().lower() for k, v in mapping.items()}


def resolve_data(run: RunDir, data: Path | str | None) -> SplitDir:
    """The split dir to evaluate: ``data`` when given, else the one the run was trained on."""
    if data is not None:
        split_dir = load_split_dir(Path(data))
    else:
        split_dir = load_split_dir(run_split_dir(run))
    run_mapping = _normalize_mapping(run.read_data_manifest().get("label_mapping"))
    data_mapping = _normalize_mapping(split_dir.manifest.get("label_mapping"))
    if run_mapping != data_mapping:
        raise FakeNewsError(
            f"--data {split_dir.path} maps labels as {data_mapping} but the run was trained with {run_mapping}; "
            "re-prepare it with `fakenews prepare ... --fake-label` so that 1 means fake and 0 means real."
        )
    return split_dir


def run_split_dir(run: RunDir) -> Path:
    """The split dir the run was trained on, as recorded by ``train`` (``split_dir`` in
    ``train_summary.json``, or ``data.split_dir`` in ``config.yaml``)."""
    from fakenews.io import read_json

    summary = (
        read_json(run.train_summary, what="training summary") if run.train_summary.is_file() else {}
    )
    data_cfg = run.read_config().get("data") or {}
    raw = summary.get("split_dir") or data_cfg.get("split_dir")
    if not raw:
        raise FakeNewsError(
            f"{run.path} does not record the split dir it was trained on (split_dir in train_summary.json); "
            "pass --data SPLIT_DIR."
        )
    path = Path(str(raw))
    if not path.is_absolute():
        path = run.path / path
    if not path.is_dir():
        raise FakeNewsError(
            f"the run's split dir {path} is gone; pass --data SPLIT_DIR (a copy of it)."
        )
    return path


def variant_suffix(
    *, long: str = "truncate", backend: str = "torch", precision: str = "fp32"
) -> str:
    """``""`` for the default inference (torch fp32, truncate); else ``+onnx``, ``+bf16``,
    ``+chunks`` or a combination (``+bf16+chunks``).

    Appended to the evaluation key, so ``metrics/test.json`` always holds the default inference
    and another variant never overwrites it.
    """
    return (
        ("+onnx" if backend == "onnx" else "")
        + ("" if precision == "fp32" else f"+{precision}")
        + ("+chunks" if long == "chunks" else "")
    )


def evaluate(
    run_dir: Path | str,
    *,
    data: Path | str | None = None,
    split: str = "test",
    long: Literal["truncate", "chunks"] = "truncate",
    backend: Literal["torch", "onnx"] = "torch",
    batch_size: int | None = None,
    device: str = "auto",
    quiet: bool = False,
    precision: Literal["fp32", "bf16"] = "fp32",
) -> EvaluationResult:
    """Score ``run_dir`` on one split and write metrics, predictions, errors, plots and the model card.

    Args:
        run_dir: a run dir written by ``fakenews train``.
        data: a split dir to evaluate on (cross-data-set evaluation); default the run's own.
            Its label mapping must equal the run's.
        split: ``test`` (default), ``validation`` or ``train``.
        long: ``truncate`` (default: the run's truncation strategy) or ``chunks``.
        backend: ``torch`` (default) or ``onnx`` (needs ``fakenews export`` first).
        batch_size: texts per forward pass; default 8 on CPU, 64 on CUDA.
        device: ``auto`` (default), ``cpu`` or ``cuda[:N]``.
        quiet: no progress bars when True.
        precision: ``fp32`` (default) or ``bf16`` (torch backend of a transformer run, on a GPU
            or a CPU with native bf16); a bf16 evaluation is keyed ``test+bf16``.

    Returns:
        The :class:`EvaluationResult`; its ``files`` lists what was written.
    """
    from fakenews.inference import load_predictor

    run = RunDir.open(run_dir)
    if split not in SPLITS:
        raise FakeNewsError(
            f"unknown split {split!r}; expected one of {', '.join(SPLITS)} (--split)."
        )
    split_dir = resolve_data(run, data)
    frame = split_dir.split(split)
    in_domain = split_dir.fingerprint == run.data_fingerprint
    data_name = None if in_domain else split_dir.name
    predictor = load_predictor(
        run,
        backend=backend,
        long=long,
        batch_size=batch_size,
        device=device,
        quiet=quiet,
        precision=precision,
    )
    if getattr(predictor, "kind", "") == "baseline":
        long = "truncate"  # the baseline reads whole articles either way: same result, same key
    key = eval_key(split, data_name) + variant_suffix(
        long=long, backend=backend, precision=precision
    )
    logger.info(
        "evaluating %s on %s (%d articles, key %s)", run.path, split_dir.path, len(frame), key
    )
    probs = np.asarray(predictor.predict_proba(frame["combined_text"].tolist()), dtype=np.float64)
    if probs.shape != (len(frame), 2):
        raise RuntimeError(f"predictor returned shape {probs.shape} for {len(frame)} texts")
    chars = frame["combined_text"].str.len().to_numpy(dtype=int)
    labels = frame["label"].to_numpy(dtype=int)
    metrics = compute_metrics(labels, probs, chars)
    preds = predictions_from_probs(probs)
    predictions = pd.DataFrame(
        {
            "id": frame["id"].astype(str).to_numpy(),
            "label": labels,
            "pred": preds,
            "prob_fake": probs[:, 1],
            "chars": chars,
            "correct": preds == labels,
        }
    )
    result = EvaluationResult(
        key=key,
        split=split,
        data_name=data_name,
        data_path=split_dir.path,
        data_fingerprint=split_dir.fingerprint,
        in_domain=in_domain,
        metrics=metrics,
        predictions=predictions,
        errors=error_table(frame, probs[:, 1]),
        long=long,
        backend=backend,
        precision=precision,
    )
    files = write_evaluation(run, result)
    return replace(result, files=tuple(files))


def render_png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def write_evaluation(run: RunDir, result: EvaluationResult) -> list[Path]:
    """Render everything first, then write each file atomically; regenerate the model card."""
    from fakenews.io import write_bytes, write_csv, write_json, write_text
    from fakenews.reporting.model_card import write_model_card
    from fakenews.reporting.plots import evaluation_figures

    key = result.key
    pngs = {name: render_png(fig) for name, fig in evaluation_figures(result).items()}
    payloads: list[tuple[Path, Any]] = [
        (run.metrics(key), result.to_dict()),
        (run.predictions(key), result.predictions.loc[:, ["id", "label", "pred", "prob_fake"]]),
        (run.errors(key, ".csv"), result.errors),
        (run.errors(key, ".md"), errors_markdown(result)),
        *((run.plots / f"{key}_{name}.png", data) for name, data in pngs.items()),
    ]
    written = []
    for path, payload in payloads:
        if isinstance(payload, pd.DataFrame):
            write_csv(path, payload)
        elif isinstance(payload, bytes):
            write_bytes(path, payload)
        elif isinstance(payload, str):
            write_text(path, payload)
        else:
            write_json(path, payload)
        written.append(path)
    written.extend(write_model_card(run))
    return written
