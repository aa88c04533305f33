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

import platform
import sys
from typing import Annotated

import typer
from typer._click import exceptions as click_exc  # typer 0.29 vendors click

from fakenews import __version__
from fakenews.cli import (
    compare_cmd,
    data_cmd,
    demo_cmd,
    evaluate_cmd,
    export_cmd,
    models_cmd,
    predict_cmd,
    serve_cmd,
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
    evaluate_cmd,
    compare_cmd,
    predict_cmd,
    serve_cmd,
    export_cmd,
    models_cmd,
    demo_cmd,
)
for _module in COMMAND_MODULES:
    _module.register(app)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point. Returns the exit code (0 ok, 1 user error, 2 check failed)."""
    console = stderr_console()
    try:
        result = app(args=argv, standalone_mode=False, prog_name="fakenews")
    except FakeNewsError as exc:
        console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        return _exit(1, argv)
    except typer.Abort:
        console.print("error: interrupted.", markup=False, highlight=False)
        return _exit(1, argv)
    except typer.Exit as exc:
        return _exit(exc.exit_code, argv)
    except click_exc.NoArgsIsHelpError as exc:
        exc.show()
        return _exit(0, argv)
    except click_exc.ClickException as exc:
        # Usage errors (unknown option, missing argument, bad value) are user errors too.
        console.print(
            f"error: {exc.format_message()}", markup=False, highlight=False, soft_wrap=True
        )
        return _exit(1, argv)
    code = result if isinstance(result, int) else 0
    return _exit(code, argv)


def _exit(code: int, argv: list[str] | None) -> int:
    if argv is None:  # called as the console script
        sys.exit(code)
    return code
