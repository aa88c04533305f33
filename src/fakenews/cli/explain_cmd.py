"""``fakenews explain``: the words that pushed each article's prediction towards fake or real."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer
from rich.console import Console
from rich.text import Text

from fakenews.cli.common import DeviceOpt, Quiet, RunArg
from fakenews.errors import FakeNewsError
from fakenews.progress import configure_logging

if TYPE_CHECKING:
    from fakenews.explain import Explanation
    from fakenews.predict import InputFormat

TextsArg = Annotated[
    list[str] | None, typer.Argument(help="Article texts to explain (or use --input).")
]
InputOpt = Annotated[
    str | None,
    typer.Option(
        "--input",
        "-i",
        help="CSV/JSONL with a text column, or plain text one article per line; - for stdin.",
    ),
]
TopOpt = Annotated[int, typer.Option("--top", help="Words listed per article.")]
JsonOpt = Annotated[
    Path | None, typer.Option("--json", help="Write the explanations as JSON to this file.")
]
HtmlOpt = Annotated[
    Path | None,
    typer.Option("--html", help="Write a self-contained page with the words highlighted."),
]
StepsOpt = Annotated[
    int | None,
    typer.Option("--steps", help="Integrated Gradients points per article (transformers; 32)."),
]
TextColumnOpt = Annotated[
    str | None,
    typer.Option("--text-column", help="Column/field with the text (as for `predict`)."),
]
FormatOpt = Annotated[str, typer.Option("--format", help="auto | csv | jsonl | txt.")]

FAKE_RGB = (220, 38, 38)
REAL_RGB = (37, 99, 235)
GREY_RGB = (140, 140, 140)


def explain_command(
    run_dir: RunArg,
    texts: TextsArg = None,
    input: InputOpt = None,
    top: TopOpt = 10,
    json_out: JsonOpt = None,
    html_out: HtmlOpt = None,
    steps: StepsOpt = None,
    text_column: TextColumnOpt = None,
    format: FormatOpt = "auto",
    device: DeviceOpt = "auto",
    quiet: Quiet = False,
) -> None:
    """Explain predictions: each article with its words coloured (red towards fake, blue towards
    real) and its top words; --json / --html write them to files."""
    from fakenews.explain import (
        explain_texts,
        explanations_document,
        explanations_html,
    )
    from fakenews.io import write_json, write_text
    from fakenews.predict import read_articles
    from fakenews.rundir import RunDir

    configure_logging(quiet=quiet)
    if top < 1:
        raise FakeNewsError(f"--top must be at least 1; found {top}.")
    if texts and input is not None:
        raise FakeNewsError("pass article TEXT arguments or --input FILE, not both.")
    run = RunDir.open(run_dir)
    if input is not None:
        fmt = cast("InputFormat", format)
        texts = read_articles(input, format=fmt, text_column=text_column)[1]
    explanations = explain_texts(  # labelled at the run's threshold (decision.json, else 0.5)
        run, texts or [], threshold=run.threshold, steps=steps, device=device, quiet=quiet
    )
    # render both before writing either: a failure leaves no file behind
    document = explanations_document(explanations, run=run, top_k=top) if json_out else None
    page = explanations_html(explanations, top_k=top) if html_out else None
    if json_out is not None:
        write_json(json_out, document)
    if html_out is not None and page is not None:
        write_text(html_out, page)
    show_explanations(Console(soft_wrap=True), explanations, top=top)


def register(app: typer.Typer) -> None:
    """Add ``explain`` to ``app``."""
    app.command("explain")(explain_command)


def word_style(score: float, scale: float) -> str:
    """Grey for words that barely matter, red towards fake, blue towards real, by intensity."""
    t = 0.0 if scale <= 0 else min(1.0, abs(score) / scale)
    target = FAKE_RGB if score > 0 else REAL_RGB
    r, g, b = (round(grey + (c - grey) * t) for grey, c in zip(GREY_RGB, target, strict=True))
    return f"{'bold ' if t > 0.5 else ''}rgb({r},{g},{b})"


def coloured_text(e: Explanation) -> Text:
    """The part of the article the model read, each word coloured by its score; a stretch the
    model did not read (the middle under ``head_tail``) is elided."""
    text = Text()
    scale = max((abs(w.score) for w in e.attributions), default=0.0)
    ends = [end for _, end in e.attribution.reading.spans]
    pos = 0
    for w in e.attributions:
        cut = next((end for end in ends if pos <= end < w.start), None)
        if cut is None:
            text.append(e.text[pos : w.start])
        else:
            text.append(f" [...{w.start - cut:,} characters not read...] ", style="dim")
        text.append(e.text[w.start : w.end], style=word_style(w.score, scale))
        pos = w.end
    return text


def show_explanations(console: Console, explanations: Sequence[Explanation], *, top: int) -> None:
    """Each article: verdict, coloured text, what was read and the top words."""
    for i, e in enumerate(explanations, start=1):
        colour = "red" if e.label == 1 else "blue"
        console.print(
            Text.assemble(
                (f"[{i}] ", "bold"),
                (e.label_name.upper(), f"bold {colour}"),
                f"  P(fake) {e.prob_fake:.4f}  (threshold {e.threshold:g}; {e.method})",
            )
        )
        console.print(coloured_text(e))
        console.print(Text(e.truncated()["note"], style="dim"))
        console.print(Text(f"top {top} words (+ towards fake, - towards real):", style="bold"))
        for w in e.top(top):
            times = f" (x{w.count})" if w.count > 1 else ""
            console.print(
                Text(f"  {w.score:+.4f}  ")
                + Text(w.word + times, style=word_style(w.score, abs(w.score)))
            )
        console.print()
