"""Options shared by every command."""

from __future__ import annotations

from typing import Annotated

import typer

Quiet = Annotated[
    bool, typer.Option("--quiet", "-q", help="Only errors and the final result; no progress bars.")
]
Precision = Annotated[
    str,
    typer.Option(
        "--precision",
        help="fp32 (exact) | bf16 (torch backend of a transformer run; GPU, or CPU with AVX-512 BF16/AMX).",
    ),
]
Force = Annotated[
    bool, typer.Option("--force", help="Replace an existing, non-empty output directory.")
]
