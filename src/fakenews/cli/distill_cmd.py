"""``fakenews distill``: a teacher run + a split dir -> a student run dir (Hinton et al. 2015)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fakenews.cli.common import Force, Quiet
from fakenews.cli.train_cmd import ConfigOpt, OutOpt, ReportToOpt, ResumeOpt, SplitDirArg
from fakenews.progress import configure_logging

TeacherArg = Annotated[
    Path,
    typer.Argument(
        help="Teacher run dir (any run of `fakenews train`, the tfidf-logreg baseline included)."
    ),
]
StudentOpt = Annotated[
    str,
    typer.Option(
        "--student",
        help="Transformer to train: a preset (minilm-l6, mpnet-base, ...), hub id, local model dir or "
        "scratch:ARCH (not tfidf-logreg).",
    ),
]
UnlabeledOpt = Annotated[
    Path | None,
    typer.Option(
        "--unlabeled",
        help="CSV/JSONL/text file of extra articles the teacher labels (KL term only).",
    ),
]
DistillSetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override one config value, e.g. --set distill.temperature=2 --set distill.alpha=0.5 "
        "--set model.keep_layers=3 (repeatable).",
    ),
]


def distill_command(
    teacher_run: TeacherArg,
    split_dir: SplitDirArg,
    student: StudentOpt,
    out: OutOpt,
    unlabeled: UnlabeledOpt = None,
    config: ConfigOpt = None,
    set_: DistillSetOpt = None,
    resume: ResumeOpt = False,
    report_to: ReportToOpt = "none",
    force: Force = False,
    quiet: Quiet = False,
) -> None:
    """Train a student on a split dir from a teacher run's soft labels plus the true labels:
    loss = alpha * KL(teacher_T || student_T) * T^2 + (1 - alpha) * CE."""
    from fakenews.distill import distill

    configure_logging(quiet=quiet)
    result = distill(
        teacher_run, split_dir, student=student, out=out, unlabeled=unlabeled, config_path=config,
        overrides=tuple(set_ or ()), resume=resume, force=force, quiet=quiet, report_to=report_to,
    )  # fmt: skip
    if not result.is_main_process:
        return
    shown = ", ".join(f"{k} {v:.4f}" for k, v in result.metrics.items() if k != "loss")
    recipe = result.config.distill
    typer.echo(f"run dir: {result.run_dir}")
    typer.echo(f"teacher: {recipe.teacher} (T={recipe.temperature:g}, alpha={recipe.alpha:g})")
    typer.echo(f"validation: {shown or 'n/a (empty validation split)'}")


def register(app: typer.Typer) -> None:
    """Add ``distill`` to ``app``."""
    app.command("distill")(distill_command)
