"""Options shared by the commands, as ``Annotated`` aliases, and the one helper that turns the
inference options into :class:`~fakenews.predictors.base.InferenceOptions`.

The inference choices (:data:`BACKENDS`, :data:`LONG_MODES`, :data:`PRECISIONS`) are read from
the ``Backend``, ``LongMode`` and ``InferencePrecision`` Literals of :mod:`fakenews.config` (light
to import, so ``fakenews --help`` stays fast), each with a note for the help text;
``InferenceOptions`` validates the value (so a bad one gets the library's one-line error).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast, get_args

import typer

from fakenews.config import Backend, InferencePrecision, LongMode

if TYPE_CHECKING:
    from fakenews.predictors.base import InferenceOptions

_NOTES = {
    "onnx": "needs `fakenews export` first",
    "truncate": "the run's truncation strategy",
    "chunks": "whole article, windows averaged",
    "fp32": "exact",
    "bf16": "torch backend of a transformer run; GPU, or CPU with AVX-512 BF16/AMX",
}


def _choices(literal: Any) -> Mapping[str, str]:
    return {c: _NOTES.get(c, "") for c in get_args(literal)}


BACKENDS = _choices(Backend)
LONG_MODES = _choices(LongMode)
PRECISIONS = _choices(InferencePrecision)


def one_of(choices: Mapping[str, str]) -> str:
    """``"a (note) | b (note)."`` for a help text: every choice, each with its note if any."""
    return " | ".join(f"{c} ({note})" if note else c for c, note in choices.items()) + "."


Quiet = Annotated[
    bool, typer.Option("--quiet", "-q", help="Only errors and the final result; no progress bars.")
]
Force = Annotated[
    bool, typer.Option("--force", help="Replace an existing, non-empty output directory.")
]
RunArg = Annotated[Path, typer.Argument(help="Run dir written by `fakenews train`.")]
DataOpt = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="Another split dir to score the run on (cross-data-set); default the run's own.",
    ),
]
SplitOpt = Annotated[str, typer.Option("--split", help="train | validation | test.")]
BackendOpt = Annotated[str, typer.Option("--backend", help=one_of(BACKENDS))]
LongOpt = Annotated[str, typer.Option("--long", help=one_of(LONG_MODES))]
PrecisionOpt = Annotated[str, typer.Option("--precision", help=one_of(PRECISIONS))]
BatchSizeOpt = Annotated[
    int | None,
    typer.Option("--batch-size", help="Texts per forward pass (default 8 on CPU, 64 on GPU)."),
]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto | cpu | cuda[:N] (torch backend).")]


def inference_options(
    *,
    backend: str = "torch",
    long: str = "truncate",
    batch_size: int | None = None,
    device: str = "auto",
    precision: str = "fp32",
) -> InferenceOptions:
    """The command's inference options, validated by ``InferenceOptions`` (one line per bad value)."""
    # Lazy like the stages (see fakenews.cli): fakenews.predictors loads torch.
    from fakenews.predictors.base import InferenceOptions

    return InferenceOptions(
        backend=cast("Backend", backend),
        long=cast("LongMode", long),
        batch_size=batch_size,
        device=device,
        precision=cast("InferencePrecision", precision),
    )
