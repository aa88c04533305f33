"""The command line as a whole: plain command functions, choices from the Literals, a fast --help."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest

import fakenews
from fakenews.cli import app, common, main
from fakenews.cli.compare_cmd import compare_command
from fakenews.cli.demo_cmd import demo_command
from fakenews.cli.distill_cmd import distill_command
from fakenews.cli.evaluate_cmd import benchmark_command, evaluate_command
from fakenews.cli.export_cmd import export_command
from fakenews.cli.predict_cmd import predict_command
from fakenews.cli.serve_cmd import serve_command
from fakenews.cli.train_cmd import train_command
from fakenews.predictors.base import Backend, InferencePrecision, LongMode


def test_each_command_is_a_plain_function_you_can_import() -> None:
    registered = {c.name: c.callback for c in app.registered_commands}
    expected = {
        "train": train_command,
        "distill": distill_command,
        "evaluate": evaluate_command,
        "benchmark": benchmark_command,
        "compare": compare_command,
        "predict": predict_command,
        "serve": serve_command,
        "export": export_command,
        "demo": demo_command,
    }
    assert expected.items() <= registered.items()


def test_the_inference_choices_are_the_literals_values() -> None:
    assert tuple(common.BACKENDS) == get_args(Backend)
    assert tuple(common.LONG_MODES) == get_args(LongMode)
    assert tuple(common.PRECISIONS) == get_args(InferencePrecision)


def test_help_lists_the_choices_with_their_notes() -> None:
    assert common.one_of(common.BACKENDS) == "torch | onnx (needs `fakenews export` first)."
    assert common.one_of(common.LONG_MODES) == (
        "truncate (the run's truncation strategy) | chunks (whole article, windows averaged)."
    )


def test_a_bad_choice_gets_the_libraries_one_line_error(
    tiny_baseline_run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["predict", str(tiny_baseline_run_dir), "a text", "--backend", "tf"]) == 1
    assert (
        capsys.readouterr().err.strip()
        == "error: --backend must be one of torch, onnx; found 'tf'."
    )
    assert main(["evaluate", str(tiny_baseline_run_dir), "--long", "all"]) == 1
    assert (
        capsys.readouterr().err.strip()
        == "error: --long must be one of truncate, chunks; found 'all'."
    )


def test_help_loads_neither_torch_nor_pandas() -> None:
    # A fresh interpreter: this test process has long imported both.
    code = (
        "import sys\n"
        "from fakenews.cli import main\n"
        "assert main(['--help']) == 0\n"
        "print(sorted(m for m in ('torch', 'transformers', 'pandas', 'matplotlib') if m in sys.modules))\n"
    )
    src = str(Path(fakenews.__file__).parents[1])  # the code under test, wherever it is
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert "predict" in done.stdout and done.stdout.strip().endswith("[]")
