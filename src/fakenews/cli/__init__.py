"""The ``fakenews`` command line: one short typer command per pipeline stage.

Each ``*_cmd`` module holds plain module-level command functions (``evaluate_command``, ...)
and a ``register(app)`` that adds them; :data:`COMMAND_MODULES` lists the modules, in the order
``fakenews --help`` shows them (a new module: one line in the import, one in that tuple).
Commands only parse arguments and call the library; every :class:`FakeNewsError` becomes one
``error: ...`` line on stderr and exit code 1 (2 is reserved for checks that found a problem,
such as ``audit``).

The one deliberate exception to imports-at-top: commands import the library (stages,
predictors, renderers) inside their functions, so ``fakenews --help`` never loads torch,
transformers, pandas or matplotlib.
"""

from __future__ import annotations

import csv
import os
import platform
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from typer._click import exceptions as click_exc  # typer 0.29 vendors click

from fakenews import __version__
from fakenews.cache import cache_dir
from fakenews.cli import (
    calibrate_cmd,
    compare_cmd,
    data_cmd,
    demo_cmd,
    distill_cmd,
    evaluate_cmd,
    explain_cmd,
    export_cmd,
    models_cmd,
    predict_cmd,
    serve_cmd,
    study_cmd,
    train_cmd,
)
from fakenews.errors import FakeNewsError
from fakenews.progress import stderr_console

app = typer.Typer(
    name="fakenews",
    help="Fake-news detection with efficient transformers and baselines, on identical leakage-free splits.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        import torch  # lazy: heavy, and only --version needs it here
        import transformers

        typer.echo(
            f"fakenews {__version__} (Python {platform.python_version()}, torch {torch.__version__}, "
            f"transformers {transformers.__version__})"
        )
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version,
            is_eager=True,
            help="Print the versions of fakenews, Python, torch and transformers, and exit.",
        ),
    ] = False,
) -> None:
    """prepare -> train -> evaluate/benchmark -> compare -> predict/serve/export."""


COMMAND_MODULES = (
    data_cmd,
    train_cmd,
    calibrate_cmd,
    distill_cmd,
    evaluate_cmd,
    compare_cmd,
    study_cmd,
    predict_cmd,
    explain_cmd,
    serve_cmd,
    export_cmd,
    models_cmd,
    demo_cmd,
)
for _module in COMMAND_MODULES:
    _module.register(app)


INTERRUPTED = "interrupted (Ctrl-C); outputs are written atomically, so none is half-written."


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point. Returns the exit code (0 ok, 1 user error, 2 check failed,
    130 interrupted). Nothing reaches the terminal as a traceback: a bug is one line naming the
    log file that holds it."""
    console = stderr_console()
    try:
        result = app(args=argv, standalone_mode=False, prog_name="fakenews")
    except typer.Exit as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt):  # typer turns Ctrl-C into Exit(130)
            _say(console, INTERRUPTED)
        return _exit(exc.exit_code, argv)
    except click_exc.NoArgsIsHelpError as exc:
        exc.show()
        return _exit(0, argv)
    except (typer.Abort, KeyboardInterrupt):
        _say(console, INTERRUPTED)
        return _exit(130, argv)
    except BaseException as exc:  # the last line of defence: one line, never a traceback
        if isinstance(exc, SystemExit):
            raise
        _say(console, _one_line(exc))
        return _exit(1, argv)
    code = result if isinstance(result, int) else 0
    if code == 130:  # typer answers Ctrl-C with exit code 130 and no word
        _say(console, INTERRUPTED)
    return _exit(code, argv)


def _say(console: Console, message: str) -> None:
    console.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)


def _one_line(exc: BaseException) -> str:
    """The one error line for ``exc``: ours as they are, usage errors, then the usual failures of
    files and memory, and anything else as an internal error whose traceback goes to a log."""
    if isinstance(exc, FakeNewsError):
        return str(exc)
    if isinstance(exc, click_exc.ClickException):
        # Usage errors (unknown option, missing argument, bad value) are user errors too.
        return exc.format_message()
    if isinstance(exc, OSError):
        where = f" {exc.filename}" if exc.filename else ""
        return f"cannot use{where}: {exc.strerror or exc}; check the path, its permissions and the free disk space."
    if isinstance(exc, UnicodeError):
        return f"text that is not valid UTF-8 ({exc}); re-encode the input as UTF-8."
    if isinstance(exc, csv.Error):
        return (
            f"the input is not readable as CSV ({exc}); check its format, quoting and line endings."
        )
    if isinstance(exc, RecursionError):
        return "the input is nested too deeply to read; flatten it (e.g. JSON objects of plain fields)."
    if isinstance(exc, MemoryError):
        return "out of memory; use a smaller --batch-size or --chunk-size, or a machine with more memory."
    return f"internal error ({type(exc).__name__}: {' '.join(str(exc).split())[:200]}); please report it with {_crash_log(exc)}"


def _crash_log(exc: BaseException) -> str:
    """Write the traceback to a log under the cache root (else the temp dir); its path."""
    text = "".join(traceback.format_exception(exc))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for folder in (cache_dir("logs"), Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"fakenews-crash-{stamp}-{os.getpid()}.log"
            path.write_text(
                f"fakenews {__version__}: {' '.join(sys.argv)}\n{text}", encoding="utf-8"
            )
            return f"the log at {path}"
        except OSError:
            continue
    return "the traceback below the command that failed (no log could be written)"


def _exit(code: int, argv: list[str] | None) -> int:
    if argv is None:  # called as the console script
        sys.exit(code)
    return code
