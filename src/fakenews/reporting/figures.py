"""The one Figure -> PNG helper (matplotlib's Agg canvas; no ``pyplot``, no global state)."""

from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

DPI = 110


def figure_png(figure: Figure, dpi: int = DPI) -> bytes:
    """PNG bytes of ``figure`` rendered with the Agg canvas."""
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()
