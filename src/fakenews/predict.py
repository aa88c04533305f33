"""Score new articles with a trained run: a few texts, or a file of any size streamed in chunks.

:func:`predict_texts` returns one :class:`Prediction` per text. :func:`predict_file` reads a CSV,
JSONL or Parquet file with a text column, or plain text with one article per line (``-`` for
stdin), ``chunk_size`` rows at a time (:mod:`fakenews.predict_input`), and writes
``id,pred,label_name,prob_fake`` in input order as CSV, JSONL or Parquet
(:mod:`fakenews.predict_output`), so memory stays flat whatever the number of rows
(``benchmarks/bench_predict_scaling.py`` shows it). Started by ``torchrun`` or ``accelerate
launch``, each process scores its share of the chunks and rank 0 merges them
(:mod:`fakenews.predict_parts`).

Which text is scored: ``--text-column`` when given, else ``combined_text``, else ``text``
(prefixed with ``title`` when the input has one: the ``combined_text`` the models were trained
on). Ids come from an ``id`` column/field when present, else the 1-based row (CSV, JSONL,
Parquet) or line number (plain text).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np

from fakenews import LABELS
from fakenews.errors import FakeNewsError
from fakenews.metrics import DEFAULT_THRESHOLD, decide
from fakenews.predict_input import Chunk, InputReader, kind, normalise_texts, open_input
from fakenews.predict_output import OUTPUT_COLUMNS, OutputTarget, RowsWriter, Scored, output_format
from fakenews.predict_parts import World, input_identity, parts_dir, predict_in_parts, rank_device
from fakenews.predictors.base import InferenceOptions, Predictor
from fakenews.predictors.load import load_predictor
from fakenews.progress import track
from fakenews.rundir import RunDir

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "OUTPUT_COLUMNS",
    "InputFormat",
    "OutputFormat",
    "PredictFileResult",
    "Prediction",
    "check_texts",
    "predict_file",
    "predict_texts",
    "score_chunk",
    "to_predictions",
]

InputFormat = Literal["auto", "csv", "jsonl", "txt", "parquet"]
OutputFormat = Literal["auto", "csv", "jsonl", "parquet"]
DEFAULT_CHUNK_SIZE = 1000
"""Rows read, scored and written at a time by :func:`predict_file` (and per part file)."""


@dataclass(frozen=True)
class Prediction:
    """One article's verdict: ``pred`` 1 = fake, 0 = real; ``prob_fake`` = P(fake) in [0, 1]."""

    pred: int
    label_name: str
    prob_fake: float


@dataclass(frozen=True)
class PredictFileResult:
    """What :func:`predict_file` read and wrote.

    ``output`` is ``None`` when the rows went to a stream (stdout), and on the ranks but 0 of
    a distributed run (rank 0 writes the file); ``skipped_blank`` counts blank lines of a
    plain-text input (they separate nothing and are not articles).
    """

    input: str
    output: str | None
    format: str
    output_format: str
    text_column: str | None
    n: int
    n_fake: int
    n_real: int
    skipped_blank: int
    seconds: float


def to_predictions(
    probs: np.ndarray, names: Sequence[str] = LABELS, threshold: float = DEFAULT_THRESHOLD
) -> list[Prediction]:
    """Predictions from ``(n, 2)`` probabilities, labelled by :func:`fakenews.metrics.decide`
    (fake when ``P(fake) >= threshold``)."""
    probs = np.asarray(probs, dtype=np.float64)
    preds = decide(probs[:, 1], threshold)
    return [
        Prediction(int(p), str(names[int(p)]), float(row[1]))
        for p, row in zip(preds, probs, strict=True)
    ]


def check_texts(texts: Sequence[Any], *, what: str = "text") -> list[str]:
    """Every text must be a non-blank string; the error names the first bad one (1-based).
    Lone surrogates (bytes of a command-line argument that are not UTF-8) become U+FFFD."""
    out = []
    for i, text in enumerate(texts, start=1):
        if not isinstance(text, str):
            raise FakeNewsError(
                f"{what} {i} is {kind(text)}; expected a string with the article's text."
            )
        if not text.strip():
            raise FakeNewsError(
                f"{what} {i} is empty or only whitespace; expected the article's text."
            )
        out.append(text)
    return normalise_texts(out, what=what)


def predict_texts(
    run_dir: Path | str,
    texts: Sequence[str],
    *,
    options: InferenceOptions | None = None,
    quiet: bool = True,
    predictor: Predictor | None = None,
) -> list[Prediction]:
    """Predict each of ``texts`` (in order) with the run in ``run_dir``.

    Args:
        run_dir: a run dir written by ``fakenews train``.
        texts: article texts (title + " " + body, as in training); none may be blank.
        options: how to predict (:class:`~fakenews.predictors.base.InferenceOptions`: backend,
            long-article mode, batch size, device, precision).
        quiet: no progress bar when True (default).
        predictor: an already loaded predictor to use instead of loading one (default None).
    """
    run = RunDir.open(run_dir)
    texts = check_texts(texts)
    predictor = predictor or load_predictor(run, options, quiet=quiet)
    return to_predictions(predictor.predict_proba(texts), run.label_names, run.threshold)


def predict_file(
    run_dir: Path | str,
    input: Path | str,
    output: Path | str | IO[Any] | None = None,
    *,
    format: InputFormat = "auto",
    output_format: OutputFormat = "auto",
    text_column: str | None = None,
    id_column: str = "id",
    options: InferenceOptions | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    quiet: bool = True,
    predictor: Predictor | None = None,
    stdin: IO[Any] | None = None,
) -> PredictFileResult:
    """Stream ``input`` through the run's predictor and write ``id,pred,label_name,prob_fake``.

    Args:
        run_dir: a run dir written by ``fakenews train``.
        input: a CSV, JSONL, Parquet or plain-text file (one article per line); ``-``: stdin.
        output: a file path (written atomically: complete or not at all; never the input), a
            stream or ``None`` (stdout); a stream gets nothing until the whole input succeeded.
        format: ``auto`` (by suffix, else Parquet's magic bytes, else sniffed from the first
            line), ``csv``, ``jsonl``, ``txt`` or ``parquet``.
        output_format: ``auto`` (by the output's suffix, else CSV), ``csv``, ``jsonl``, ``parquet``.
        text_column: column/field with the text; default ``combined_text``, else ``text``
            (with ``title`` prepended when present).
        id_column: column/field with ids (default ``id``; row numbers when absent).
        options: how to predict, as in :func:`predict_texts`.
        chunk_size: rows per read-predict-write step (default 1000): memory depends on it alone;
            also the rows per part file of a distributed run.
        quiet: no progress bar when True (default).
        predictor: an already loaded predictor (default None: load the run's).
        stdin: stream read for ``-`` (default ``sys.stdin``).
    """
    run = RunDir.open(run_dir)
    if chunk_size < 1:
        raise FakeNewsError(f"--chunk-size must be at least 1; found {chunk_size}.")
    reader = open_input(
        input, format=format, text_column=text_column, id_column=id_column,
        chunk_size=chunk_size, stdin=stdin,
    )  # fmt: skip
    start = time.perf_counter()
    try:
        target, counts = _predict_reader(run, reader, output, output_format, options, predictor, quiet)  # fmt: skip
    finally:
        reader.close()
    return PredictFileResult(
        input=reader.name,
        output=str(target.path) if target.path is not None and counts is not None else None,
        format=reader.format,
        output_format=target.format,
        text_column=reader.text_column,
        n=reader.n_rows,
        n_fake=counts[1] if counts else 0,
        n_real=counts[0] if counts else 0,
        skipped_blank=reader.skipped_blank,
        seconds=time.perf_counter() - start,
    )


def _predict_reader(
    run: RunDir,
    reader: InputReader,
    output: Path | str | IO[Any] | None,
    output_format: str,
    options: InferenceOptions | None,
    predictor: Predictor | None,
    quiet: bool,
) -> tuple[OutputTarget, tuple[int, int] | None]:
    """The output checked first, then the rows: in one process, or this one's share of them."""
    target = OutputTarget(output, _output_format(output_format, output), reader.source.path)
    world = World.from_env()
    options = options or InferenceOptions()
    options = replace(options, device=rank_device(world, options.device))
    if world.size > 1 or (target.path is not None and parts_dir(target.path).exists()):
        counts = _predict_distributed(run, reader, target, options, predictor, world, quiet)
    else:
        counts = _predict_whole(run, reader, target, options, predictor, quiet)
    return target, counts


def _output_format(explicit: str, output: Path | str | IO[Any] | None) -> str:
    return output_format(explicit, output if isinstance(output, str | Path) else None)


def _predict_whole(
    run: RunDir,
    reader: InputReader,
    target: OutputTarget,
    options: InferenceOptions,
    predictor: Predictor | None,
    quiet: bool,
) -> tuple[int, int]:
    """One process: every chunk scored and written to the output's temporary file."""
    chunks = reader.chunks()
    # a missing column or bad first row fails before any loading or output
    first = next(chunks, None)
    predictor = predictor or load_predictor(run, options, quiet=True)
    rest = itertools.chain([first] if first is not None else [], chunks)
    with target.open() as handle:
        writer = RowsWriter(handle, target.format)
        counts = _write_predictions(rest, predictor, run, writer, quiet=quiet)
        writer.close()
    return counts[0], counts[1]


def _predict_distributed(
    run: RunDir,
    reader: InputReader,
    target: OutputTarget,
    options: InferenceOptions,
    predictor: Predictor | None,
    world: World,
    quiet: bool,
) -> tuple[int, int] | None:
    """This process's share of the chunks as part files; rank 0 merges them (see predict_parts)."""
    manifest = {
        **input_identity(reader),
        "run_dir": str(run.path.resolve()),
        "chunk_size": reader.chunk_size,
        "format": reader.format,
        "output_format": target.format,
        "text_column": reader.text_column,
        "id_column": reader.id_column,
        "backend": options.backend,
        "long": options.long,
        "precision": options.precision,
        "batch_size": options.batch_size,
        # parts scored before a re-calibration would disagree with the rest
        "calibrated": options.calibrated,
        "temperature": run.temperature,
        "threshold": run.threshold,
    }

    def load() -> Any:
        loaded = predictor or load_predictor(run, options, quiet=True)
        return lambda chunk: score_chunk(loaded, run, chunk)

    return predict_in_parts(reader, target, manifest, load, world=world, quiet=quiet)


def score_chunk(predictor: Predictor, run: RunDir, chunk: Chunk) -> Scored:
    """One chunk's predictions (:func:`to_predictions` of the predictor's probabilities, decided
    at the run's threshold)."""
    probs = np.asarray(predictor.predict_proba(chunk.texts), dtype=np.float64)
    preds = to_predictions(probs, run.label_names, run.threshold)
    return Scored(
        chunk.ids,
        [p.pred for p in preds],
        [p.label_name for p in preds],
        [p.prob_fake for p in preds],
    )


def read_articles(
    input: Path | str,
    *,
    format: InputFormat = "auto",
    text_column: str | None = None,
    id_column: str = "id",
    stdin: IO[Any] | None = None,
) -> tuple[list[str], list[str]]:
    """``(ids, texts)`` of a whole CSV / JSONL / Parquet / plain-text file (or ``-``), read and
    checked as :func:`predict_file` reads it; for commands that need every article at once
    (``explain``)."""
    reader = open_input(
        input, format=format, text_column=text_column, id_column=id_column,
        chunk_size=DEFAULT_CHUNK_SIZE, stdin=stdin,
    )  # fmt: skip
    ids: list[str] = []
    texts: list[str] = []
    try:
        for chunk in reader.chunks():
            ids.extend(chunk.ids)
            texts.extend(chunk.texts)
    finally:
        reader.close()
    return ids, texts


def _write_predictions(
    chunks: Iterator[Chunk],
    predictor: Predictor,
    run: RunDir,
    writer: RowsWriter,
    *,
    quiet: bool,
) -> list[int]:
    """Predict chunk by chunk and write ``id,pred,label_name,prob_fake`` (labels decided at the
    run's threshold); counts per label."""
    counts = [0, 0]
    for chunk in track(chunks, description="predicting", quiet=quiet):
        scored = score_chunk(predictor, run, chunk)
        writer.write(scored)
        for pred in scored.preds:
            counts[pred] += 1
    return counts
