"""``fakenews predict``: score article texts given as arguments, or a whole file."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from fakenews.cli.common import (
    BackendOpt,
    BatchSizeOpt,
    DeviceOpt,
    LongOpt,
    PrecisionOpt,
    Quiet,
    RunArg,
    inference_options,
)
from fakenews.errors import FakeNewsError
from fakenews.progress import configure_logging

if TYPE_CHECKING:
    from fakenews.predict import InputFormat, OutputFormat, Prediction

SNIPPET = 70
"""Characters of each article echoed after its label and probability."""

TextsArg = Annotated[
    list[str] | None, typer.Argument(help="Article texts to score (or use --input).")
]
InputOpt = Annotated[
    str | None,
    typer.Option(
        "--input",
        "-i",
        help="CSV/JSONL/Parquet with a text column, or plain text one article per line; - for stdin.",
    ),
]
OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="File to write id,pred,label_name,prob_fake to: .csv, .jsonl or .parquet "
        "(default stdout, CSV). Written atomically; never the input.",
    ),
]
TextColumnOpt = Annotated[
    str | None,
    typer.Option(
        "--text-column",
        help="Column/field with the text (default combined_text, else title + text).",
    ),
]
IdColumnOpt = Annotated[
    str, typer.Option("--id-column", help="Column/field with ids (row numbers if absent).")
]
FormatOpt = Annotated[
    str,
    typer.Option(
        "--format",
        help="Input: auto | csv | jsonl | txt | parquet (auto: by suffix, else sniffed).",
    ),
]
OutputFormatOpt = Annotated[
    str,
    typer.Option(
        "--output-format",
        help="auto | csv | jsonl | parquet (auto: by --output's suffix, else csv).",
    ),
]
ChunkSizeOpt = Annotated[
    int,
    typer.Option(
        "--chunk-size",
        help="Rows read, scored and written at a time (and per part file of a distributed run).",
    ),
]


def predict_command(
    run_dir: RunArg,
    texts: TextsArg = None,
    input: InputOpt = None,
    output: OutputOpt = None,
    text_column: TextColumnOpt = None,
    id_column: IdColumnOpt = "id",
    format: FormatOpt = "auto",
    output_format: OutputFormatOpt = "auto",
    chunk_size: ChunkSizeOpt = 1000,
    backend: BackendOpt = "torch",
    long: LongOpt = "truncate",
    batch_size: BatchSizeOpt = None,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = "fp32",
    quiet: Quiet = False,
) -> None:
    """Score articles: TEXT arguments (label and probability per line) or a whole file."""
    from fakenews.predict import check_texts, predict_file, predict_texts

    configure_logging(quiet=quiet)
    _check_sources(texts, input, output)
    if chunk_size < 1:  # also with TEXT arguments, where no file is chunked: a typo is a typo
        raise FakeNewsError(f"--chunk-size must be at least 1; found {chunk_size}.")
    options = inference_options(
        backend=backend, long=long, batch_size=batch_size, device=device, precision=precision
    )
    if input is None:
        texts = check_texts(texts or [])  # lone surrogates of argv bytes become U+FFFD
        _echo_predictions(texts, predict_texts(run_dir, texts, quiet=quiet, options=options))
        return
    result = predict_file(
        run_dir, input, output if output is not None else sys.stdout, format=cast("InputFormat", format),
        output_format=cast("OutputFormat", output_format), text_column=text_column,
        id_column=id_column, chunk_size=chunk_size, quiet=quiet, options=options,
    )  # fmt: skip
    if result.output is not None and not quiet:
        typer.echo(
            f"wrote {result.n} predictions ({result.n_fake} fake, {result.n_real} real) to {output} "
            f"in {result.seconds:.1f} s",
            err=True,
        )


def register(app: typer.Typer) -> None:
    """Add ``predict`` to ``app``."""
    app.command("predict")(predict_command)


def _check_sources(texts: list[str] | None, input: str | None, output: Path | None) -> None:
    """Exactly one of TEXT arguments and --input; --output only with --input."""
    if texts and input is not None:
        raise FakeNewsError("pass article TEXT arguments or --input FILE, not both.")
    if not texts and input is None:
        raise FakeNewsError(
            'nothing to score; pass article texts (`fakenews predict RUN_DIR "text"`) or --input FILE (- for stdin).'
        )
    if input is None and output is not None:
        raise FakeNewsError("--output goes with --input; TEXT arguments are answered on stdout.")


def _echo_predictions(texts: Sequence[str], predictions: Sequence[Prediction]) -> None:
    """One line per article on stdout: label, P(fake) and the start of the text."""
    for text, p in zip(texts, predictions, strict=True):
        snippet = " ".join(text.split())
        snippet = snippet if len(snippet) <= SNIPPET else snippet[: SNIPPET - 1] + "…"
        typer.echo(f"{p.label_name}\t{p.prob_fake:.4f}\t{snippet}")
