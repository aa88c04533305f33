"""Options shared by every command."""

from __future__ import annotations

from typing import Annotated

import typer

Quiet = Annotated[
    bool, typer.Option("--quiet", "-q", help="Only errors and the final result; no progress bars.")
]
Force = Annotated[
    bool, typer.Option("--force", help="Replace an existing, non-empty output directory.")
]
