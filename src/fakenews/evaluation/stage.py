"""``evaluate``: score a run on a split and write metrics, per-article predictions, the error
analysis, plots and the model card.

It writes ``metrics/<key>.json``, ``predictions/<key>.csv``, ``errors/<key>.md|.csv`` and
``plots/<key>_{confusion,roc,reliability,length,per_class}.png``, where ``key`` is
:func:`fakenews.rundir.eval_key` (``test`` in-domain, ``horne2017.test`` on another data set),
plus ``+chunks`` / ``+onnx`` / ``+bf16`` for a non-default inference (``test+chunks``).
Everything is computed before the first file is written, and every file is written atomically,
so a bad input leaves the run dir as it was.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fakenews.errors import FakeNewsError
from fakenews.evaluation.errors import ERRORS_SHOWN, errors_markdown
from fakenews.evaluation.explained import ERROR_IG_STEPS, with_top_words
from fakenews.evaluation.plots import evaluation_figures
from fakenews.evaluation.result import EvaluationResult, error_table
from fakenews.io import write_bytes, write_csv, write_json, write_text
from fakenews.metrics import (
    DEFAULT_THRESHOLD,
    compute_metrics,
    decide,
    expected_calibration_error,
    with_temperature,
)
from fakenews.predictors.base import InferenceOptions, Predictor
from fakenews.predictors.load import load_attributor, load_predictor
from fakenews.reporting.figures import figure_png
from fakenews.reporting.model_card import write_model_card
from fakenews.rundir import RunDir, eval_key
from fakenews.splits import SPLITS, SplitDir

logger = logging.getLogger(__name__)


def evaluate(
    run_dir: Path | str,
    *,
    data: Path | str | None = None,
    split: str = "test",
    options: InferenceOptions | None = None,
    threshold: float | None = None,
    plots: bool = True,
    quiet: bool = False,
    explain_errors: bool | None = None,
    predictor: Predictor | None = None,
) -> EvaluationResult:
    """Score ``run_dir`` on one split and write metrics, predictions, errors, plots and the model card.

    Args:
        run_dir: a run dir written by ``fakenews train``.
        data: a split dir to evaluate on (cross-data-set evaluation); default the run's own.
            Its label mapping must equal the run's.
        split: ``test`` (default), ``validation`` or ``train``.
        options: how to predict (:class:`~fakenews.predictors.base.InferenceOptions`: backend,
            long-article mode, batch size, device, precision); a non-default inference is keyed
            apart (``test+bf16``, ``test+onnx``, ``test+chunks``). Probabilities are calibrated
            with the run's temperature unless ``options.calibrated`` is False.
        threshold: decide at this P(fake) instead of the run's threshold and write nothing
            (``evaluate --threshold``: another operating point, the run left as it is).
            apart (``test+bf16``, ``test+onnx``, ``test+chunks``).
        plots: draw the evaluation plots (default True); ``study`` turns them off for speed.
        quiet: no progress bars when True.
        explain_errors: top words of the listed mistakes in errors/ (None: baseline only).
        predictor: the run's predictor for ``options``, already loaded (default: loaded here).

    Returns the :class:`EvaluationResult`; ``files`` lists what was written (none with ``threshold``).
    """
    options = options or InferenceOptions()
    run = RunDir.open(run_dir)
    _check_args(split, threshold)
    split_dir = run.split_dir(data)
    frame = split_dir.split(split)
    key, data_name, in_domain = _key(run, split_dir, split, options)
    logger.info(
        "evaluating %s on %s (%d articles, key %s)", run.path, split_dir.path, len(frame), key
    )
    predictor = predictor or load_predictor(run, options, quiet=quiet)
    result = _score_run(run, frame, predictor, options, threshold, explain_errors)
    result = replace(
        result,
        key=key,
        split=split,
        data_name=data_name,
        data_path=split_dir.path,
        data_fingerprint=split_dir.fingerprint,
        in_domain=in_domain,
        long="truncate" if run.kind == "baseline" else options.long,
        backend=options.backend,
        precision=options.precision,
    )
    if threshold is not None:
        return result
    files = write_evaluation(run, result, plots=plots)
    return replace(result, files=tuple(files))


def _key(
    run: RunDir, split_dir: SplitDir, split: str, options: InferenceOptions
) -> tuple[str, str | None, bool]:
    """The evaluation's key (``test``, ``horne.test+onnx``, ...), data name and in-domain flag."""
    in_domain = split_dir.fingerprint == run.data_fingerprint
    data_name = None if in_domain else split_dir.name
    return eval_key(split, data_name) + options.variant(run.kind), data_name, in_domain


def _score_run(
    run: RunDir,
    frame: pd.DataFrame,
    predictor: Predictor,
    options: InferenceOptions,
    threshold: float | None,
    explain_errors: bool | None,
) -> EvaluationResult:
    """Predict, score at the chosen threshold (the run's unless given), explain the mistakes."""
    probs = _predict(predictor, frame)
    temperature = float(predictor.temperature)
    chosen = run.threshold if threshold is None else float(threshold)
    uncalibrated = with_temperature(probs, temperature)  # back to T = 1
    result = score(frame, probs, threshold=chosen, uncalibrated=uncalibrated)
    if run.kind == "baseline" if explain_errors is None else explain_errors:
        result = _explain_errors(run, result, frame, options, predictor)
    return replace(result, temperature=temperature)


def _predict(predictor: Predictor, frame: pd.DataFrame) -> np.ndarray:
    """Calibrated ``(n, 2)`` probabilities of ``frame``'s articles."""
    probs = np.asarray(predictor.predict_proba(frame["combined_text"].tolist()), dtype=np.float64)
    if probs.shape != (len(frame), 2):
        raise RuntimeError(f"predictor returned shape {probs.shape} for {len(frame)} texts")
    return probs


def _check_args(split: str, threshold: float | None) -> None:
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise FakeNewsError(f"--threshold must be a probability from 0 to 1; found {threshold}.")
    if split not in SPLITS:
        raise FakeNewsError(
            f"unknown split {split!r}; expected one of {', '.join(SPLITS)} (--split)."
        )


def _explain_errors(
    run: RunDir,
    result: EvaluationResult,
    frame: pd.DataFrame,
    options: InferenceOptions,
    predictor: Predictor,
) -> EvaluationResult:
    """The top words of each listed mistake, in the error table (``top_words``); the attributor
    shares the evaluated model where it can."""
    attributor = load_attributor(
        run, device=options.device, steps=ERROR_IG_STEPS, predictor=predictor
    )
    errors = with_top_words(result.errors, frame, attributor, shown=ERRORS_SHOWN)
    return replace(result, errors=errors)


def score(
    frame: pd.DataFrame,
    probs: np.ndarray,
    *,
    threshold: float,
    uncalibrated: np.ndarray | None = None,
) -> EvaluationResult:
    """Metrics (at ``threshold`` and at 0.5), per-article predictions and the error table of
    ``probs`` on a split ``frame``; ``uncalibrated`` are the same articles' probabilities at
    T = 1 (default ``probs``). The identity fields of the result are left for the caller."""
    uncalibrated = probs if uncalibrated is None else uncalibrated
    chars = frame["combined_text"].str.len().to_numpy(dtype=int)
    labels = frame["label"].to_numpy(dtype=int)
    preds = decide(probs[:, 1], threshold)
    predictions = pd.DataFrame(
        {
            "id": frame["id"].astype(str).to_numpy(),
            "label": labels,
            "pred": preds,
            "prob_fake": probs[:, 1],
            "prob_fake_uncalibrated": uncalibrated[:, 1],
            "chars": chars,
            "correct": preds == labels,
        }
    )
    return EvaluationResult(
        key="",
        split="",
        data_name=None,
        data_path=Path("."),
        data_fingerprint="",
        in_domain=True,
        metrics=compute_metrics(labels, probs, chars, threshold=threshold),
        predictions=predictions,
        errors=error_table(frame, probs[:, 1], threshold),
        ece_uncalibrated=expected_calibration_error(labels, uncalibrated),
        at_default=compute_metrics(labels, probs, chars, threshold=DEFAULT_THRESHOLD),
    )


def write_evaluation(run: RunDir, result: EvaluationResult, *, plots: bool = True) -> list[Path]:
    """Render everything first, then write each file atomically; regenerate the model card
    (``plots=False``: no ``plots/<key>_*.png``)."""
    key = result.key
    figures = evaluation_figures(result) if plots else {}
    pngs = {name: figure_png(fig) for name, fig in figures.items()}
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
