"""``fakenews train``: split dir -> run dir (any preset, hub id, local dir, scratch:ARCH, tfidf-logreg)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fakenews.cli.common import Force, Quiet
from fakenews.progress import configure_logging

SplitDirArg = Annotated[Path, typer.Argument(help="Split dir written by `fakenews prepare`.")]
ModelOpt = Annotated[
    str,
    typer.Option(
        "--model",
        "-m",
        help="Preset (minilm-l6, albert-base-v2, distilbert-base-uncased, mobilebert-uncased, tinybert-4l, "
        "bert-base-uncased, tfidf-logreg), hub id owner/name, local model dir, or scratch:albert|bert|distilbert|mobilebert.",
    ),
]
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Run dir to write.")]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="YAML file layered over the preset's recipe.")
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set", help="Override one config value, e.g. --set train.epochs=3 (repeatable)."
    ),
]
ResumeOpt = Annotated[
    bool, typer.Option("--resume", help="Continue an interrupted run from its last checkpoint.")
]
ReportToOpt = Annotated[
    str,
    typer.Option("--report-to", help="none | tensorboard | mlflow (local store RUN_DIR/mlruns)."),
]


def train_command(
    split_dir: SplitDirArg,
    model: ModelOpt,
    out: OutOpt,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    resume: ResumeOpt = False,
    report_to: ReportToOpt = "none",
    force: Force = False,
    quiet: Quiet = False,
) -> None:
    """Train a model on a split dir and write a run dir (config.yaml, model/, checkpoints/, history.jsonl)."""
    from fakenews.training import train

    configure_logging(quiet=quiet)
    result = train(
        split_dir, model, out, config_path=config, overrides=tuple(set_ or ()), resume=resume, force=force,
        quiet=quiet, report_to=report_to,
    )  # fmt: skip
    if not result.is_main_process:
        return
    shown = ", ".join(f"{k} {v:.4f}" for k, v in result.metrics.items() if k != "loss")
    typer.echo(f"run dir: {result.run_dir}")
    typer.echo(f"validation: {shown or 'n/a (empty validation split)'}")
    if result.calibration is not None:
        from fakenews.cli.calibrate_cmd import summary

        typer.echo(summary(result.calibration))


def register(app: typer.Typer) -> None:
    """Add ``train`` to ``app``."""
    app.command("train")(train_command)
