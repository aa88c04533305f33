"""ONNX export and int8 quantization of a transformer run, checked against the PyTorch model.

``export_onnx(run_dir)`` writes ``RUN_DIR/onnx/``::

    onnx/
      model.onnx | model.int8.onnx   the classifier (inputs: the tokenizer's ids and mask;
                                     output ``logits`` of shape (batch, 2); batch and sequence
                                     axes dynamic)
      config.json, tokenizer files   copied from ``model/`` (labels, vocabulary)
      export.json                    what was exported and how it compares with PyTorch

The graph is written fused where ONNX Runtime's transformer optimizer can fuse it: the model
is exported with the TorchScript exporter (``torch.onnx.export(dynamo=False)``) with eager
attention, then ``onnxruntime.transformers.optimizer.optimize_model(model_type="bert")``
replaces each layer's attention subgraph by one ``Attention`` op, the embeddings by
``EmbedLayerNormalization``, residual + layer norm by ``SkipLayerNormalization`` and bias + GELU
by ``BiasGelu`` / ``FastGelu``. That is kept only when at least one attention fused and the fused
graph gives PyTorch's logits on a padded check batch; BERT, DistilBERT and MiniLM fuse fully,
ALBERT partly (its shared layer fuses once), MobileBERT not at all. Otherwise the plain graph of
``torch.onnx.export`` (the ``torch.export``-based exporter that is torch's default, falling back
to the TorchScript exporter for models it cannot trace) is written, and ONNX Runtime applies only
its own load-time fusions. ``export.json`` records which (``fused``, ``fused_ops``,
``fusion_note``). The fused ``Attention`` op reads the attention mask as one length per row, so a
fused graph expects right padding, which is what :class:`OnnxPredictor` feeds it.

The graph is optionally quantized with ONNX Runtime's dynamic int8 quantization (weights int8,
activations quantized on the fly; fused ``Attention`` becomes ``QAttention``; see
:func:`quantize_int8`). The export then scores the exported model and the PyTorch model on the
same articles of the run's test split with the same batch size and records accuracy change,
agreement and speed-up. A quantized model whose accuracy drops by more than ``max_drop`` points
is refused (nothing is written) unless ``force``.

:class:`OnnxPredictor` serves the export with ONNX Runtime: the same tokenization, truncation,
long-article windows and length-sorted batches as the PyTorch predictor in
:mod:`fakenews.predictors` (``predictors/onnx.py``), only the forward pass differs.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from fakenews.errors import FakeNewsError
from fakenews.io import atomic_dir, write_json
from fakenews.metrics import predictions_from_probs
from fakenews.predictors.base import CPU_BATCH_SIZE, InferenceOptions, Predictor
from fakenews.predictors.load import load_onnx_predictor, windowing_for
from fakenews.predictors.onnx import EXPORT_JSON, FP32_FILE, INT8_FILE
from fakenews.predictors.transformer import WEIGHT_FILES, TransformerPredictor
from fakenews.rundir import RunDir
from fakenews.splits import SplitDir

logger = logging.getLogger(__name__)

Quantize = Literal["none", "int8"]
OPSET = 18
"""ONNX opset of the plain export (18: what torch 2.13's exporter targets by default)."""
FUSED_OPSET = 17
"""ONNX opset of the fused export and of the TorchScript fallback (the optimizer's BERT fusions
match the graphs the TorchScript exporter writes)."""
FUSED_LOGITS_TOLERANCE = 1e-3
"""Largest accepted |logit| difference between the fused graph and PyTorch on the check batch."""
WARMUP_TEXTS = 8
"""Articles predicted once by each backend before timing starts (not counted)."""
MODEL_FILES_TO_COPY = (
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "spiece.model",
    "sentencepiece.bpe.model",
    "merges.txt",
    "vocab.json",
    "added_tokens.json",
)


# --------------------------------------------------------------------------- export


@dataclass(frozen=True)
class ExportResult:
    """What ``export_onnx`` wrote and measured (also the content of ``onnx/export.json``).

    Accuracies are fractions in [0, 1]; ``accuracy_change_pts`` is ``(onnx - torch) * 100``
    (negative: the export is worse); ``agreement`` is the share of articles with the same
    predicted label; ``speedup`` is PyTorch seconds / ONNX seconds on the same articles with
    the same batch size, median of ``timing_repeats`` passes (above 1: ONNX is faster).
    ``fused`` says whether ONNX Runtime's transformer optimizer fused the graph, ``fused_ops``
    counts the fused operators (``Attention``, ``SkipLayerNormalization``, ...) and
    ``fusion_note`` says why a graph was left unfused (empty when fused).
    """

    onnx_dir: str
    model_file: str
    format: str
    quantize: str
    exporter: str
    opset: int
    fused: bool
    fused_ops: dict[str, int]
    fusion_note: str
    data_path: str
    data_fingerprint: str
    split: str
    n: int
    batch_size: int
    max_length: int
    truncation: str
    accuracy_torch: float
    accuracy_onnx: float
    accuracy_change_pts: float
    max_drop_pts: float
    forced: bool
    agreement: float
    max_abs_prob_diff: float
    mean_abs_prob_diff: float
    torch_seconds: float
    onnx_seconds: float
    torch_articles_per_s: float
    onnx_articles_per_s: float
    speedup: float
    timing_repeats: int
    torch_threads: int
    onnxruntime_threads: str
    size_mb_torch: float
    size_mb_onnx: float
    torch_version: str
    onnxruntime_version: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def export_onnx(
    run_dir: Path | str,
    *,
    format: str = "onnx",
    quantize: Quantize = "none",
    max_drop: float = 1.0,
    keep_worse: bool = False,
    data: Path | str | None = None,
    split: str = "test",
    batch_size: int | None = None,
    repeats: int = 3,
    quiet: bool = True,
) -> ExportResult:
    """Export a transformer run to ``RUN_DIR/onnx/`` and compare it with the PyTorch model.

    Args:
        run_dir: a transformer run dir written by ``fakenews train``.
        format: ``onnx`` (the only format; default).
        quantize: ``none`` (default: fp32 ``model.onnx``) or ``int8`` (``model.int8.onnx``).
        max_drop: largest accepted accuracy drop of the export against PyTorch on ``split``,
            in percentage points (default 1.0); a larger drop is refused.
        keep_worse: keep an export whose accuracy dropped more than ``max_drop`` (``--keep-worse``).
        data: split dir to score on; default the one the run was trained on.
        split: ``test`` (default), ``validation`` or ``train``.
        batch_size: texts per forward pass for both backends; default 8 (the CPU default).
        repeats: timed passes over ``split`` per backend (default 3); the median counts.
        quiet: no progress bars when True (default).

    Returns:
        :class:`ExportResult`. An existing ``onnx/`` is replaced only when the new export succeeds.
    """
    run = _check_export_args(
        run_dir, format=format, quantize=quantize, max_drop=max_drop, repeats=repeats
    )
    split_dir = run.split_dir(data)
    frame = split_dir.split(split)
    batch = CPU_BATCH_SIZE if batch_size is None else batch_size  # 0 is refused, not replaced
    options = InferenceOptions(batch_size=batch, device="cpu")
    torch_predictor = TransformerPredictor(
        run.model,
        windowing=windowing_for(run, options),
        batch_size=batch,
        device="cpu",
        quiet=quiet,
        temperature=run.temperature,  # both backends give the run's calibrated P(fake)
    )
    if run.onnx.exists():
        logger.info("replacing the existing export in %s once the new one is checked", run.onnx)
    with atomic_dir(run.onnx, force=True, what="ONNX export folder") as tmp:
        result = _export_and_check(
            run,
            torch_predictor,
            tmp,
            frame,
            split_dir,
            _Asked(quantize, max_drop, keep_worse, split, batch, repeats),
            quiet=quiet,
        )
        write_json(tmp / EXPORT_JSON, result.to_dict())
    return result


@dataclass(frozen=True)
class _Asked:
    quantize: str
    max_drop: float
    keep_worse: bool
    split: str
    batch: int
    repeats: int


def _export_and_check(
    run: RunDir,
    torch_predictor: TransformerPredictor,
    tmp: Path,
    frame: Any,
    split_dir: SplitDir,
    a: _Asked,
    *,
    quiet: bool,
) -> ExportResult:
    """Write the graph into ``tmp``, score both backends, refuse a worse export unless asked."""
    texts = frame["combined_text"].tolist()
    graph, model_file = _write_graph(torch_predictor, run.model, tmp, quantize=a.quantize)
    options = InferenceOptions(batch_size=a.batch, device="cpu")
    onnx_predictor = load_onnx_predictor(run, options, onnx_dir=tmp, quiet=quiet)
    logger.info(
        "scoring PyTorch and ONNX on %d %s articles (batch %d)", len(texts), a.split, a.batch
    )
    labels = frame["label"].to_numpy(dtype=int)
    scores = _score_both(
        torch_predictor, onnx_predictor, texts, labels, a.repeats, threshold=run.threshold
    )
    drop = -scores["accuracy_change_pts"]
    if drop > a.max_drop and not a.keep_worse:
        raise FakeNewsError(
            f"the {a.quantize if a.quantize != 'none' else 'fp32'} ONNX model's {a.split} accuracy is "
            f"{scores['accuracy_onnx']:.4f} against {scores['accuracy_torch']:.4f} for PyTorch, a drop of "
            f"{drop:.2f} points (more than --max-drop {a.max_drop:g}); nothing was written: "
            "export without --quantize, raise --max-drop, or pass --keep-worse to keep it."
        )
    return ExportResult(
        onnx_dir=str(run.onnx), model_file=model_file.name, format="onnx", quantize=a.quantize,
        exporter=graph.exporter, opset=graph.opset, fused=graph.fused, fused_ops=graph.fused_ops,
        fusion_note=graph.note, data_path=str(split_dir.path), data_fingerprint=split_dir.fingerprint,
        split=a.split, n=len(texts), batch_size=a.batch, max_length=run.config.data.max_length,
        truncation=run.config.data.truncation, max_drop_pts=float(a.max_drop),
        forced=bool(a.keep_worse and drop > a.max_drop), timing_repeats=a.repeats,
        **_environment(run, model_file), **scores,
    )  # fmt: skip


def _environment(run: RunDir, model_file: Path) -> dict[str, Any]:
    """Threads, sizes and versions recorded in ``export.json``."""
    return {
        "torch_threads": _torch_threads(),
        "onnxruntime_threads": "default (one per physical core)",
        "size_mb_torch": _weights_mb(run.model),
        "size_mb_onnx": model_file.stat().st_size / 1e6,
        "torch_version": _version("torch"),
        "onnxruntime_version": _version("onnxruntime"),
    }


def _check_export_args(
    run_dir: Path | str, *, format: str, quantize: str, max_drop: float, repeats: int
) -> RunDir:
    if format != "onnx":
        raise FakeNewsError(f"--format must be onnx (the only export format); found {format!r}.")
    if quantize not in ("none", "int8"):
        raise FakeNewsError(f"--quantize must be int8 (or omitted for fp32); found {quantize!r}.")
    if repeats < 1:
        raise FakeNewsError(f"--repeats must be at least 1; found {repeats}.")
    if not max_drop >= 0:
        raise FakeNewsError(
            f"--max-drop must be a non-negative number of accuracy points; found {max_drop}."
        )
    run = RunDir.open(run_dir)
    if run.kind == "baseline":
        raise FakeNewsError(
            f"{run.path} is a TF-IDF baseline run; ONNX export is for transformer runs "
            "(the baseline already runs fast on CPU without PyTorch: use --backend torch, the default)."
        )
    return run


def _write_graph(
    torch_predictor: TransformerPredictor, model_dir: Path, tmp: Path, *, quantize: str
) -> tuple[GraphExport, Path]:
    """The graph (quantized when asked), the tokenizer files and a first ``export.json`` in ``tmp``."""
    fp32 = tmp / FP32_FILE
    graph = export_model(torch_predictor.model, torch_predictor.tokenizer, fp32)
    model_file = fp32
    if quantize == "int8":
        model_file = tmp / INT8_FILE
        quantize_int8(fp32, model_file)
        fp32.unlink()
    copy_tokenizer(model_dir, tmp)
    # lets the ONNX predictor find the model (and name its path) before the full record exists
    write_json(tmp / EXPORT_JSON, {"model_file": model_file.name, "fused": graph.fused})
    return graph, model_file


def _score_both(
    torch_predictor: Predictor,
    onnx_predictor: Predictor,
    texts: list[str],
    labels: np.ndarray,
    repeats: int,
    *,
    threshold: float,
) -> dict[str, Any]:
    """Accuracy, agreement, probability differences and speed of both backends on ``texts``,
    labels decided at the run's ``threshold``."""
    (torch_probs, torch_s), (onnx_probs, onnx_s) = _time_both(
        torch_predictor, onnx_predictor, texts, repeats
    )
    torch_pred = predictions_from_probs(torch_probs, threshold)
    onnx_pred = predictions_from_probs(onnx_probs, threshold)
    acc_torch = float(np.mean(torch_pred == labels))
    acc_onnx = float(np.mean(onnx_pred == labels))
    diff = np.abs(onnx_probs[:, 1] - torch_probs[:, 1])
    return {
        "accuracy_torch": acc_torch,
        "accuracy_onnx": acc_onnx,
        "accuracy_change_pts": (acc_onnx - acc_torch) * 100.0,
        "agreement": float(np.mean(torch_pred == onnx_pred)),
        "max_abs_prob_diff": float(diff.max()),
        "mean_abs_prob_diff": float(diff.mean()),
        "torch_seconds": torch_s,
        "onnx_seconds": onnx_s,
        "torch_articles_per_s": len(texts) / torch_s,
        "onnx_articles_per_s": len(texts) / onnx_s,
        "speedup": torch_s / onnx_s,
    }


def _time_both(
    first: Predictor, second: Predictor, texts: Sequence[str], repeats: int
) -> list[tuple[np.ndarray, float]]:
    """Probabilities and median wall seconds over ``repeats`` passes of each predictor on ``texts``.

    Both warm up on a few articles first (not counted); passes alternate between the two so
    that a busy machine slows both alike.
    """
    texts = list(texts)
    for predictor in (first, second):
        predictor.predict_proba(texts[:WARMUP_TEXTS])
    probs: list[np.ndarray] = [np.empty(0), np.empty(0)]
    seconds: list[list[float]] = [[], []]
    for _ in range(repeats):
        for i, predictor in enumerate((first, second)):
            start = time.perf_counter()
            probs[i] = np.asarray(predictor.predict_proba(texts), dtype=np.float64)
            seconds[i].append(time.perf_counter() - start)
    return [(probs[i], float(np.median(seconds[i]))) for i in (0, 1)]


@dataclass(frozen=True)
class GraphExport:
    """How :func:`export_model` wrote the graph.

    ``exporter`` names the torch exporter and version, ``opset`` the ONNX opset; ``fused`` is True
    when ONNX Runtime's transformer optimizer fused the graph, ``fused_ops`` its fused-operator
    counts (only those above 0; empty when not fused), ``note`` why fusion was not kept (empty when
    fused).
    """

    exporter: str
    opset: int
    fused: bool
    fused_ops: dict[str, int]
    note: str


class _NotFused(Exception):
    """The fused export was not possible or not kept; the message says why."""


def export_model(model: Any, tokenizer: Any, out: Path, *, fuse: bool = True) -> GraphExport:
    """Write ``model`` as one ONNX file with dynamic batch and sequence axes.

    With ``fuse`` (default), first tries the fused graph (TorchScript exporter, eager attention,
    ONNX Runtime's transformer optimizer) and keeps it when at least one attention fused and its
    logits match PyTorch's on a padded check batch; otherwise, or with ``fuse=False``, writes
    the plain graph of the default exporter.
    """
    names = ["input_ids", "attention_mask"]
    if "token_type_ids" in list(getattr(tokenizer, "model_input_names", [])):
        names.append("token_type_ids")
    note = "not requested (fuse=False)"
    if fuse:
        try:
            return _export_fused(model, names, out)
        except _NotFused as exc:
            note = str(exc)
            logger.info("writing the plain ONNX graph: %s", note)
            out.unlink(missing_ok=True)
    exporter, opset = _export_plain(model, names, out)
    return GraphExport(exporter=exporter, opset=opset, fused=False, fused_ops={}, note=note)


def _export_fused(model: Any, names: list[str], out: Path) -> GraphExport:
    """The TorchScript export with eager attention, fused by ONNX Runtime's BERT optimizer.

    Raises :class:`_NotFused` (nothing kept at ``out``) when the model does not export this way,
    no attention fused or the fused graph's logits differ from PyTorch's.
    """
    import torch

    config = model.config
    heads = int(getattr(config, "num_attention_heads", 0) or 0)
    hidden = int(getattr(config, "hidden_size", 0) or 0)
    previous = getattr(config, "_attn_implementation", None)
    raw = out.with_name(out.stem + ".unfused.onnx")
    try:
        # The SDPA attention of transformers exports as one op the optimizer cannot match;
        # eager attention is the same computation, written as the MatMul/Softmax chain it fuses.
        model.set_attn_implementation("eager")
        _torchscript_export(model, names, raw)
        fused_ops = _optimize_bert(
            raw, out, heads=heads, hidden=hidden, model_type=config.model_type
        )
        diff = _max_logit_diff(model, names, out)
        if not diff <= FUSED_LOGITS_TOLERANCE:
            raise _NotFused(
                f"the fused graph's logits differ from PyTorch's by {diff:.2e} "
                f"(more than {FUSED_LOGITS_TOLERANCE:g})"
            )
    except _NotFused:
        out.unlink(missing_ok=True)
        raise
    except Exception as exc:
        out.unlink(missing_ok=True)
        raise _NotFused(f"the fused export failed ({type(exc).__name__}: {exc})") from None
    finally:
        raw.unlink(missing_ok=True)
        if previous is not None:
            model.set_attn_implementation(previous)
        model.eval()  # the exporters restore the wrapper's mode recursively; keep inference mode
    return GraphExport(
        exporter=f"torch.onnx.export(dynamo=False) torch {torch.__version__} + "
        "onnxruntime.transformers.optimizer (model_type=bert)",
        opset=FUSED_OPSET,
        fused=True,
        fused_ops=fused_ops,
        note="",
    )


def _torchscript_export(model: Any, names: list[str], raw: Path) -> None:
    """The TorchScript exporter's graph (dynamic batch and sequence axes) at :data:`FUSED_OPSET`."""
    import torch

    with _quiet_export():
        torch.onnx.export(
            _logits_only(model, names).eval(),
            _example_inputs(model, names),
            str(raw),
            dynamo=False,
            input_names=names,
            output_names=["logits"],
            dynamic_axes={
                **{n: {0: "batch", 1: "sequence"} for n in names},
                "logits": {0: "batch"},
            },
            opset_version=FUSED_OPSET,
        )


def _optimize_bert(
    raw: Path, out: Path, *, heads: int, hidden: int, model_type: str
) -> dict[str, int]:
    """ONNX Runtime's BERT fusions of ``raw`` written to ``out``; the fused-operator counts."""
    with _quiet_onnxruntime():
        from onnxruntime.transformers.optimizer import optimize_model  # heavy, export only

        optimized = optimize_model(
            str(raw), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=0
        )
        counts = optimized.get_fused_operator_statistics()
        fused_ops = {k: int(v) for k, v in counts.items() if v}
        if not fused_ops.get("Attention", 0) + fused_ops.get("MultiHeadAttention", 0):
            raise _NotFused(
                f"ONNX Runtime's BERT optimizer fused no attention in this {model_type} graph"
            )
        optimized.save_model_to_file(str(out))
    return fused_ops


def _max_logit_diff(model: Any, names: list[str], onnx_file: Path) -> float:
    """Largest |logit| difference between ``onnx_file`` and ``model`` on a right-padded check batch."""
    import onnxruntime as ort
    import torch

    seq = int(min(24, getattr(model.config, "max_position_embeddings", 24) or 24))
    vocab = int(getattr(model.config, "vocab_size", 100) or 100)
    generator = torch.Generator().manual_seed(1)
    ids = torch.randint(low=min(5, vocab - 1), high=vocab, size=(3, seq), generator=generator)
    mask = torch.ones_like(ids)
    mask[1, seq // 2 :] = 0
    mask[2, 3:] = 0
    tensors = {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}
    with torch.no_grad():
        expected = model(**{n: tensors[n] for n in names}).logits.float().numpy()
    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    feed = {i.name: tensors[i.name].numpy() for i in session.get_inputs()}
    got = session.run(["logits"], feed)[0]
    return float(np.abs(got - expected).max())


def _export_plain(model: Any, names: list[str], out: Path) -> tuple[str, int]:
    """The unfused graph of ``torch.onnx.export``; returns the exporter used and its opset."""
    import torch

    wrapper = _logits_only(model, names).eval()
    example = _example_inputs(model, names)
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("sequence")
    try:
        with _quiet_export():
            program = torch.onnx.export(
                wrapper,
                example,
                None,
                dynamo=True,
                input_names=names,
                output_names=["logits"],
                dynamic_shapes=(tuple({0: batch, 1: seq} for _ in names),),
                opset_version=OPSET,
                verbose=False,
            )
            if program is None:
                raise RuntimeError("torch.onnx.export(dynamo=True) returned no program")
            program.save(str(out), external_data=False)
        exporter, opset = f"torch.onnx.export(dynamo=True) torch {torch.__version__}", OPSET
    except Exception as exc:  # some architectures do not trace with torch.export; TorchScript does
        logger.info(
            "torch.export-based ONNX export failed (%s); using the TorchScript exporter",
            type(exc).__name__,
        )
        out.unlink(missing_ok=True)
        axes = {n: {0: "batch", 1: "sequence"} for n in names}
        axes["logits"] = {0: "batch"}
        with _quiet_export():
            torch.onnx.export(
                wrapper,
                example,
                str(out),
                dynamo=False,
                input_names=names,
                output_names=["logits"],
                dynamic_axes=axes,
                opset_version=FUSED_OPSET,
            )
        exporter, opset = f"torch.onnx.export(dynamo=False) torch {torch.__version__}", FUSED_OPSET
    model.eval()  # the exporters restore the wrapper's mode recursively; keep inference mode
    return exporter, opset


def _logits_only(model: Any, names: list[str]) -> Any:
    """A module taking positional tensors in ``names`` order and returning logits (what ONNX graphs take)."""
    import torch

    class LogitsOnly(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: Any) -> Any:
            return self.model(**dict(zip(names, tensors, strict=True))).logits

    return LogitsOnly()


def _example_inputs(model: Any, names: list[str]) -> tuple[Any, ...]:
    """Two rows of distinct length so that neither axis is traced as a constant."""
    import torch

    seq = int(min(12, getattr(model.config, "max_position_embeddings", 12) or 12))
    vocab = int(getattr(model.config, "vocab_size", 100) or 100)
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(low=min(5, vocab - 1), high=vocab, size=(2, seq), generator=generator)
    mask = torch.ones((2, seq), dtype=torch.long)
    mask[1, seq // 2 :] = 0
    tensors = {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}
    return tuple(tensors[n] for n in names)


@contextlib.contextmanager
def _quiet_export() -> Iterator[None]:
    """Silence the exporters' warnings and torch's per-step log lines."""
    names = ("torch.onnx", "torch.export", "torch._dynamo", "onnxscript", "onnx_ir")
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    try:
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


@contextlib.contextmanager
def _quiet_onnxruntime() -> Iterator[None]:
    """Silence ONNX Runtime's Python tools (quantization, transformer optimizer), which log
    through the root logger and module-named loggers."""
    root = logging.getLogger()
    level = root.level
    try:
        root.setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.setLevel(level)


INT8_OP_TYPES = ("MatMul", "Attention", "Gather")
"""What :func:`quantize_int8` turns into int8: the linear layers (``MatMul``), a fused graph's
``Attention`` (to ``QAttention``: int8 Q/K/V projection) and a plain graph's embedding lookups
(``Gather``). A fused graph's ``EmbedLayerNormalization`` stays fp32: its int8 form
(``QEmbedLayerNormalization``, all three tables int8) gave no measurable speed (it is under 1% of
the run time) and on the MiniLM WELFake run moved P(fake) by up to 0.30 and flipped 2 of 150 test
labels, against 0.21 and none with the tables in fp32."""


def quantize_int8(src: Path, dst: Path) -> None:
    """ONNX Runtime dynamic quantization of :data:`INT8_OP_TYPES`: int8 weights with one scale
    per output channel (on the MiniLM PolitiFact run it moved P(fake) less than one scale per
    tensor did; on the WELFake run per-tensor flipped 7 of 150 labels at the same speed),
    activations quantized at run time. ``DefaultTensorType`` tells the quantizer that outputs
    of the fused contrib ops (which ONNX shape inference cannot type) are float."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet_onnxruntime():
        quantize_dynamic(
            str(src),
            str(dst),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=list(INT8_OP_TYPES),
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )


def copy_tokenizer(model_dir: Path, dst: Path) -> None:
    """Copy ``config.json`` and the tokenizer files so the export loads without ``model/``."""
    for name in MODEL_FILES_TO_COPY:
        if (model_dir / name).is_file():
            shutil.copy2(model_dir / name, dst / name)


def _weights_mb(model_dir: Path) -> float:
    """Size of the PyTorch weights file (what the ONNX file's size compares with)."""
    files = [model_dir / w for w in WEIGHT_FILES if (model_dir / w).is_file()]
    return sum(f.stat().st_size for f in files) / 1e6


def _torch_threads() -> int:
    import torch

    return int(torch.get_num_threads())


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)
