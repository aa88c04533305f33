"""Progress bars and logging that the CLI's ``--quiet`` turns off.

Library code asks for a bar with ``progress_bar(total, description, quiet=...)``; nothing here is
global state except the standard ``logging`` tree, which only the CLI configures.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator
from typing import TypeVar

from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

T = TypeVar("T")
logger = logging.getLogger("fakenews")


def stderr_console() -> Console:
    return Console(stderr=True)


def configure_logging(*, quiet: bool) -> None:
    """Called once by the CLI: INFO to stderr through rich, or only warnings with --quiet."""
    root = logging.getLogger("fakenews")
    root.handlers.clear()
    handler = RichHandler(console=stderr_console(), show_path=False, show_time=False, markup=False)
    root.addHandler(handler)
    root.setLevel(logging.WARNING if quiet else logging.INFO)
    root.propagate = False
    with contextlib.suppress(Exception):
        import transformers

        transformers.utils.logging.set_verbosity_error()
        if quiet:
            transformers.utils.logging.disable_progress_bar()
        import datasets

        datasets.utils.logging.set_verbosity_error()
        datasets.disable_progress_bars()


def make_progress(*, quiet: bool) -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=stderr_console(),
        disable=quiet,
        transient=False,
    )


def track(
    items: Iterable[T], *, total: int | None = None, description: str, quiet: bool
) -> Iterator[T]:
    """Iterate with a rich progress bar on stderr (silent when ``quiet``)."""
    with make_progress(quiet=quiet) as bar:
        task = bar.add_task(description, total=total)
        for item in items:
            yield item
            bar.advance(task)
