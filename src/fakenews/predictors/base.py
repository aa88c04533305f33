"""What every predictor is: the :class:`Predictor` protocol, the one bag of inference options
(:class:`InferenceOptions`) and how an article becomes model windows (:class:`Windowing`).

A predictor returns ``predict_proba(texts) -> np.ndarray`` of shape ``(n, 2)``, float64,
columns ``[P(real), P(fake)]``, rows in input order; the facts ``benchmark`` and the model card
need (parameters, memory, tokens per text, a name for the inference path) are part of the
protocol, so no caller probes for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, get_args, runtime_checkable

import numpy as np

from fakenews.config import Backend, InferencePrecision, LongMode, Truncation
from fakenews.errors import FakeNewsError
from fakenews.rundir import RunKind, variant_suffix

__all__ = [
    "Backend",
    "InferenceOptions",
    "InferencePrecision",
    "LongMode",
    "Predictor",
    "Windowing",
]

CPU_BATCH_SIZE = 8
"""Default batch size on CPU. Length-sorted batches of 8 beat 16 and 64 on 512-token WELFake
articles for torch fp32, ONNX fp32 and ONNX int8 alike (less padding per batch, activations that
stay in cache; ``benchmarks/bench_inference.py --sweep``); per-call overhead is negligible at 8."""
CUDA_BATCH_SIZE = 64
BASELINE_BATCH_SIZE = 256


def check_choice(value: Any, allowed: Any, flag: str) -> None:
    """``value`` must be one of the ``Literal`` ``allowed``; else one line naming ``flag``."""
    options = get_args(allowed)
    if value not in options:
        raise FakeNewsError(f"{flag} must be one of {', '.join(options)}; found {value!r}.")


@dataclass(frozen=True)
class InferenceOptions:
    """How a run is asked for predictions (validated once, here).

    Args:
        backend: ``torch`` (default) loads ``model/``; ``onnx`` the export under ``onnx/``
            (write it with ``fakenews export RUN_DIR --format onnx``).
        long: ``truncate`` (default: the run's truncation strategy) or ``chunks`` (the whole
            article as overlapping windows, probabilities averaged). The baseline reads whole
            articles either way.
        batch_size: texts (or windows) per forward pass; default ``None`` = 8 on CPU, 64 on
            CUDA, 256 for the baseline.
        device: ``auto`` (default: CUDA when visible, else CPU), ``cpu`` or ``cuda[:N]``.
        precision: ``fp32`` (default, the exact path) or ``bf16`` (torch backend of a
            transformer run, on a GPU or a CPU with AVX-512 BF16/AMX).
        stride: chunk step in tokens for ``long="chunks"``; default half a window.
        calibrated: apply the run's calibration temperature (``calibration.json``, default
            True); False gives the model's own probabilities (``evaluate``'s ``ece_uncalibrated``).
    """

    backend: Backend = "torch"
    long: LongMode = "truncate"
    batch_size: int | None = None
    device: str = "auto"
    precision: InferencePrecision = "fp32"
    stride: int | None = None
    calibrated: bool = True

    def __post_init__(self) -> None:
        check_choice(self.backend, Backend, "--backend")
        check_choice(self.long, LongMode, "--long")
        check_choice(self.precision, InferencePrecision, "--precision")
        if self.batch_size is not None and (
            isinstance(self.batch_size, bool) or self.batch_size < 1
        ):
            raise FakeNewsError(f"--batch-size must be at least 1; found {self.batch_size}.")
        if self.stride is not None and self.stride < 1:
            raise FakeNewsError(
                f"--stride must be a positive number of tokens; found {self.stride}."
            )
        if not (self.device in ("auto", "cpu") or self.device.startswith("cuda")):
            raise FakeNewsError(f"--device must be auto, cpu or cuda[:N]; found {self.device!r}.")
        if self.precision != "fp32" and self.backend == "onnx":
            raise FakeNewsError(
                f"--precision {self.precision} applies to the torch backend of transformer runs, not to an "
                "ONNX export (its precision is set by `fakenews export --quantize`); drop --precision."
            )

    def variant(self, kind: RunKind) -> str:
        """The evaluation-key suffix of this inference for a run of ``kind`` (``""``, ``+onnx``,
        ``+chunks``, ...); the baseline reads whole articles, so ``long`` does not apply to it."""
        long = "truncate" if kind == "baseline" else self.long
        return variant_suffix(long=long, backend=self.backend, precision=self.precision)


@dataclass(frozen=True)
class Windowing:
    """How one article becomes model inputs.

    Args:
        max_length: tokens per window including special tokens (default from the run's
            ``data.max_length``).
        truncation: ``head`` (default) keeps the first tokens; ``head_tail`` keeps the start and
            the end in the ratio 128 : 382 (see :mod:`fakenews.models.encoding`).
        long: ``truncate`` (default) gives one window per article; ``chunks`` covers the whole
            article with windows ``stride`` tokens apart and averages their probabilities.
        stride: step between chunk starts in content tokens; default half a window.
    """

    max_length: int = 512
    truncation: Truncation = "head"
    long: LongMode = "truncate"
    stride: int | None = None

    def __post_init__(self) -> None:
        check_choice(self.truncation, Truncation, "data.truncation")
        check_choice(self.long, LongMode, "--long")
        if self.max_length < 8:
            raise FakeNewsError(
                f"data.max_length must be at least 8 tokens; found {self.max_length}."
            )
        if self.stride is not None and self.stride < 1:
            raise FakeNewsError(
                f"--stride must be a positive number of tokens; found {self.stride}."
            )

    def chunks(self, content: list[int], room: int) -> list[list[int]]:
        """Overlapping windows of ``room`` content ids (no special tokens) covering the whole article."""
        if len(content) <= room:
            return [content]
        step = self.stride or max(1, room // 2)
        starts = list(range(0, len(content) - room + 1, step))
        if starts[-1] + room < len(content):  # always cover the tail
            starts.append(len(content) - room)
        return [content[s : s + room] for s in starts]


@runtime_checkable
class Predictor(Protocol):
    """What every predictor offers (transformer, ONNX and baseline alike)."""

    kind: RunKind
    """``transformer`` or ``baseline``: the kind of run it predicts for."""
    device: str
    """Where the forward pass runs (``cpu``, ``cuda:0``)."""
    batch_size: int
    """Texts (or windows) per forward pass when ``predict_proba`` is not told otherwise."""
    temperature: float
    """Calibration temperature dividing the logit before the softmax (1.0 = the model as trained;
    :func:`~fakenews.predictors.load.load_predictor` sets the run's)."""

    def predict_proba(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        """``(n, 2)`` float64 ``[P(real), P(fake)]`` in input order, at :attr:`temperature`."""
        ...

    def logits(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        """``(n,)`` float64 logit of fake before calibration (what the temperature divides)."""
        ...

    def token_counts(self, texts: Sequence[str]) -> np.ndarray:
        """Tokens fed to the model per text (all windows, special tokens included)."""
        ...

    def window_lengths(self, texts: Sequence[str]) -> list[int]:
        """Tokens of each forward window for ``texts`` (what the FLOP count needs); ``[]`` for
        the baseline, which has no windows."""
        ...

    def parameter_counts(self) -> tuple[int, int]:
        """(total, trainable) parameters."""
        ...

    def memory_bytes(self) -> int:
        """Bytes of the weights held in memory."""
        ...

    def describe(self) -> str:
        """The inference path, e.g. ``torch-fp32-dynamic-padding-head-cpu``."""
        ...


def check_temperature(temperature: float) -> float:
    """A calibration temperature must be a finite number above 0."""
    t = float(temperature)
    if not (np.isfinite(t) and t > 0):
        raise FakeNewsError(
            f"the calibration temperature must be a number above 0, found {temperature!r}; "
            "re-run `fakenews calibrate RUN_DIR`."
        )
    return t


def check_texts(texts: Sequence[str]) -> list[str]:
    """``texts`` as a list of strings (``None`` becomes ``""``); one string is a caller's bug."""
    if isinstance(texts, str):
        raise TypeError(
            "predict_proba expects a sequence of texts, not one string; wrap it in a list"
        )
    return ["" if t is None else str(t) for t in texts]
