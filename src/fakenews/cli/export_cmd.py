"""``fakenews export``: a transformer run -> ONNX (optionally int8), checked against PyTorch."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from fakenews.cli.common import BatchSizeOpt, Quiet, RunArg, SplitOpt
from fakenews.progress import configure_logging

if TYPE_CHECKING:
    from fakenews.export import ExportResult, Quantize

logger = logging.getLogger("fakenews")

ExportFormatOpt = Annotated[str, typer.Option("--format", help="onnx (the only format).")]
QuantizeOpt = Annotated[
    str | None,
    typer.Option("--quantize", help="int8: ONNX Runtime dynamic int8 quantization (default fp32)."),
]
MaxDropOpt = Annotated[
    float,
    typer.Option(
        "--max-drop", help="Refuse an export whose test accuracy drops by more points than this."
    ),
]
KeepWorseOpt = Annotated[
    bool,
    typer.Option(
        "--keep-worse", help="Keep the export even if its accuracy dropped more than --max-drop."
    ),
]
OldForceOpt = Annotated[
    bool, typer.Option("--force", hidden=True, help="Old name of --keep-worse (deprecated).")
]
CheckDataOpt = Annotated[
    Path | None, typer.Option("--data", help="Split dir to check on (default the run's own).")
]
RepeatsOpt = Annotated[
    int, typer.Option("--repeats", help="Timed passes per backend; the median counts.")
]


def export_command(
    run_dir: RunArg,
    format: ExportFormatOpt = "onnx",
    quantize: QuantizeOpt = None,
    max_drop: MaxDropOpt = 1.0,
    keep_worse: KeepWorseOpt = False,
    force: OldForceOpt = False,
    data: CheckDataOpt = None,
    split: SplitOpt = "test",
    batch_size: BatchSizeOpt = None,
    repeats: RepeatsOpt = 3,
    quiet: Quiet = False,
) -> None:
    """Export a transformer run to RUN_DIR/onnx/ and compare it with PyTorch on the test split."""
    from fakenews.export import export_onnx

    configure_logging(quiet=quiet)
    if force:
        logger.warning(
            "export --force is now --keep-worse (--force replaces outputs everywhere else)"
        )
    result = export_onnx(
        run_dir, format=format, quantize=cast("Quantize", quantize or "none"), max_drop=max_drop,
        keep_worse=keep_worse or force, data=data, split=split, batch_size=batch_size, repeats=repeats,
        quiet=quiet,
    )  # fmt: skip
    typer.echo(_summary(result))


def register(app: typer.Typer) -> None:
    """Add ``export`` to ``app``."""
    app.command("export")(export_command)


def _summary(result: ExportResult) -> str:
    """The one line that says what was written and how the export compares with PyTorch."""
    return (
        f"wrote {Path(result.onnx_dir) / result.model_file} ({result.size_mb_onnx:.1f} MB; PyTorch weights "
        f"{result.size_mb_torch:.1f} MB). On {result.n} {result.split} articles: accuracy {result.accuracy_onnx:.4f} "
        f"vs {result.accuracy_torch:.4f} PyTorch ({result.accuracy_change_pts:+.2f} pts), "
        f"agreement {result.agreement:.4f}, max |Δp| {result.max_abs_prob_diff:.2e}, "
        f"speed-up x{result.speedup:.2f} ({result.onnx_articles_per_s:.1f} vs {result.torch_articles_per_s:.1f} articles/s, "
        f"batch {result.batch_size})."
    )
