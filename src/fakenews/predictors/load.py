"""``load_predictor(run, options) -> Predictor``: the one way to get predictions from a run dir."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from fakenews.errors import FakeNewsError
from fakenews.predictors.attribution import Attributor, BaselineAttributor
from fakenews.predictors.base import InferenceOptions, Predictor, Windowing
from fakenews.predictors.baseline import BaselinePredictor
from fakenews.rundir import RunDir

logger = logging.getLogger(__name__)


def windowing_for(run: RunDir, options: InferenceOptions) -> Windowing:
    """The run's ``data.max_length`` and ``data.truncation`` with the asked long-article mode."""
    data = run.config.data
    return Windowing(
        max_length=data.max_length,
        truncation=data.truncation,
        long=options.long,
        stride=options.stride,
    )


def run_temperature(run: RunDir, options: InferenceOptions) -> float:
    """The run's calibration temperature (``calibration.json``), or 1.0 when ``options.calibrated``
    is False or the run was never calibrated."""
    return run.temperature if options.calibrated else 1.0


def load_predictor(
    run: RunDir | Path | str,
    options: InferenceOptions | None = None,
    *,
    quiet: bool = True,
    **fields: Any,
) -> Predictor:
    """A predictor for any run dir, calibrated with the run's temperature
    (``calibration.json``) unless ``options.calibrated`` is False.

    Args:
        run: the run dir (a :class:`RunDir` or a path).
        options: the :class:`InferenceOptions` (backend, long, batch size, device, precision,
            stride); default the defaults.
        quiet: no progress bar when True (default).
        **fields: shorthand for fields of ``options`` (``load_predictor(run, backend="onnx")``).
    """
    run = run if isinstance(run, RunDir) else RunDir.open(run)
    options = replace(options or InferenceOptions(), **fields)
    if options.backend == "onnx":
        if run.kind == "baseline":
            raise FakeNewsError(
                f"{run.path} is a TF-IDF baseline run; it has no ONNX export (use --backend torch, the default)."
            )
        return load_onnx_predictor(run, options, quiet=quiet)
    if run.kind == "baseline":
        if options.precision != "fp32":
            raise FakeNewsError(
                f"--precision {options.precision} applies to the torch backend of transformer runs, "
                "not to the TF-IDF baseline; drop --precision."
            )
        if options.long == "chunks":
            logger.info("the TF-IDF baseline reads whole articles; --long chunks changes nothing")
        return BaselinePredictor(
            run.model,
            batch_size=options.batch_size,
            quiet=quiet,
            temperature=run_temperature(run, options),
        )
    # torch and transformers are heavy (~150 MB resident, seconds to import) and the baseline
    # never needs them: they load with the first transformer run.
    from fakenews.predictors.transformer import TransformerPredictor

    return TransformerPredictor(
        run.model,
        windowing=windowing_for(run, options),
        batch_size=options.batch_size,
        device=options.device,
        quiet=quiet,
        precision=options.precision,
        temperature=run_temperature(run, options),
    )


def load_onnx_predictor(
    run: RunDir,
    options: InferenceOptions,
    *,
    onnx_dir: Path | None = None,
    threads: int | None = None,
    quiet: bool = True,
) -> Predictor:
    """The ONNX export of ``run`` (``onnx_dir``, default ``RUN_DIR/onnx``) as a predictor."""
    folder = Path(onnx_dir) if onnx_dir is not None else run.onnx
    if not folder.is_dir():
        raise FakeNewsError(
            f"{folder} does not exist; --backend onnx needs the ONNX export: "
            f"run `fakenews export {run.path} --format onnx` first."
        )
    from fakenews.predictors.onnx import OnnxPredictor  # transformers' tokenizer: see above

    return OnnxPredictor(
        folder,
        windowing=windowing_for(run, options),
        batch_size=options.batch_size,
        quiet=quiet,
        threads=threads,
        run_path=run.path,
        temperature=run_temperature(run, options),
    )


def load_attributor(
    run: RunDir | Path | str,
    *,
    device: str = "auto",
    steps: int | None = None,
    predictor: Predictor | None = None,
) -> Attributor:
    """Word attributions for a run's model (:mod:`fakenews.predictors.attribution`): the exact
    coefficient x tf-idf split for the baseline, Integrated Gradients (``steps`` points, default
    32) over the torch model for a transformer run, read as the run's truncation reads it.

    ``predictor``: the run's already loaded predictor; its model is shared (not loaded a second
    time) when it is the baseline or an fp32 torch model, else the attributor loads its own.
    """
    run = run if isinstance(run, RunDir) else RunDir.open(run)
    if run.kind == "baseline":
        loaded = predictor.model if isinstance(predictor, BaselinePredictor) else None
        return BaselineAttributor(loaded or BaselinePredictor(run.model).model)
    # torch, transformers and captum load with the first transformer run, as in load_predictor
    from fakenews.predictors.integrated_gradients import (
        DEFAULT_STEPS,
        IntegratedGradientsAttributor,
    )
    from fakenews.predictors.transformer import TransformerPredictor, load_hf_model, resolve_device

    windowing = windowing_for(run, InferenceOptions())
    if isinstance(predictor, TransformerPredictor) and _is_fp32(predictor.model):
        model, tokenizer, device = predictor.model, predictor.tokenizer, predictor.device
    else:
        device = resolve_device(device)
        tokenizer, model = load_hf_model(run.model)
        model.to(device)
        model.eval()
    return IntegratedGradientsAttributor(
        model, tokenizer, windowing, device=device, steps=steps or DEFAULT_STEPS
    )


def _is_fp32(model: Any) -> bool:
    return str(next(model.parameters()).dtype) == "torch.float32"
