"""The CLI's last line of defence: every failure is one line on stderr, never a traceback."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import typer

import fakenews.cli as cli
from fakenews.cli import main


def _failing(exc: BaseException):  # type: ignore[no-untyped-def]
    def command() -> None:
        raise exc

    return command


@pytest.mark.parametrize(
    ("exc", "code", "message"),
    [
        (
            PermissionError(13, "Permission denied", "/out/x.csv"),
            1,
            "error: cannot use /out/x.csv: Permission denied; check the path",
        ),
        (
            UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
            1,
            "error: text that is not valid UTF-8",
        ),
        (
            csv.Error("new-line character seen in unquoted field"),
            1,
            "error: the input is not readable as CSV",
        ),
        (
            RecursionError("maximum recursion depth exceeded"),
            1,
            "error: the input is nested too deeply",
        ),
        (MemoryError(), 1, "error: out of memory; use a smaller --batch-size"),
        (KeyboardInterrupt(), 130, "error: interrupted (Ctrl-C)"),
    ],
)
def test_known_failures_are_one_line(
    exc: BaseException,
    code: int,
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = typer.Typer()
    app.command("boom")(_failing(exc))
    app.command("other")(lambda: None)
    monkeypatch.setattr(cli, "app", app)
    assert main(["boom"]) == code
    err = capsys.readouterr().err.lstrip("\n")  # click ends the ^C line before we speak
    assert err.startswith(message) and err.count("\n") == 1 and "Traceback" not in err


def test_a_bug_is_one_line_naming_a_log_with_the_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKENEWS_CACHE", str(tmp_path))
    app = typer.Typer()
    app.command("boom")(_failing(ValueError("an unexpected state")))
    app.command("other")(lambda: None)
    monkeypatch.setattr(cli, "app", app)
    assert main(["boom"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(
        "error: internal error (ValueError: an unexpected state); please report it with the log at "
    )
    log = Path(err.rsplit("the log at ", 1)[1].strip())
    assert log.parent == tmp_path / "logs" and "Traceback" in log.read_text(encoding="utf-8")
