"""``fakenews calibrate``: temperature scaling and a decision threshold, fitted on validation."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from fakenews.cli.common import Quiet, RunArg
from fakenews.progress import configure_logging

if TYPE_CHECKING:
    from fakenews.calibration import CalibrationResult

MethodOpt = Annotated[
    str,
    typer.Option(
        "--method",
        help="temperature (temperature scaling on the validation split) | none (T = 1).",
    ),
]
PolicyOpt = Annotated[
    str | None,
    typer.Option(
        "--policy",
        help="Decision threshold: argmax | max_f1 | fpr:0.05 (false-positive budget) | "
        "precision:0.95, picked on validation (default: the run's decision.policy, argmax).",
    ),
]
CalDataOpt = Annotated[
    Path | None,
    typer.Option(
        "--data", help="A copy of the split dir the run was trained on (default: the recorded one)."
    ),
]
FallbackOpt = Annotated[
    str | None,
    typer.Option(
        "--fallback",
        help="Policy to use when validation is too small for --policy (e.g. argmax); "
        "default: refuse. Recorded in decision.json.",
    ),
]


def calibrate_command(
    run_dir: RunArg,
    method: MethodOpt = "temperature",
    policy: PolicyOpt = None,
    fallback: FallbackOpt = None,
    data: CalDataOpt = None,
    quiet: Quiet = False,
) -> None:
    """Fit temperature scaling and the decision threshold on validation: RUN_DIR/calibration.json, decision.json."""
    from fakenews.calibration import calibrate

    configure_logging(quiet=quiet)
    result = calibrate(
        run_dir, method=method, policy=policy, fallback=fallback, data=data, quiet=quiet
    )
    typer.echo(summary(result))


def summary(result: CalibrationResult) -> str:
    """Two lines: the temperature and validation ECE/Brier, then the threshold and its rates."""
    c, d = result.calibration, result.decision
    first = (
        f"calibration ({c.method}): T = {c.temperature:.3f}; validation ECE "
        f"{c.ece_before:.3f} -> {c.ece_after:.3f}, Brier {c.brier_before:.3f} -> {c.brier_after:.3f} (n = {c.n})"
    )
    fell = f" (fallback from {d.requested}: validation too small)" if d.fallback_reason else ""
    second = (
        f"decision ({d.policy}{fell}): threshold {d.threshold:.3f}; validation FPR {d.fpr:.3f}, "
        f"recall {d.recall:.3f}, precision {d.precision:.3f}, F1 {d.f1:.3f} "
        f"({d.n_real} real, {d.n_fake} fake)"
    )
    return f"{first}\n{second}"


def register(app: typer.Typer) -> None:
    """Add ``calibrate`` to ``app``."""
    app.command("calibrate")(calibrate_command)
