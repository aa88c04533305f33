"""The one cache root of fakenews (ground layer: imports nothing of ours).

Everything fakenews caches lives under one folder, chosen in this order:

1. an explicit folder (``data.cache_dir`` in a run's config, ``--cache-dir`` of ``data fetch``);
2. ``$FAKENEWS_CACHE``;
3. ``$XDG_CACHE_HOME/fakenews``, else ``~/.cache/fakenews``.

Inside it, one sub-folder per kind of content: ``datasets/`` (``fakenews data fetch``),
``models/`` (``fakenews models fetch``), ``tokenized/`` (tokenized splits) and ``tokenizers/``
(tokenizers trained for ``scratch:*`` models).
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "FAKENEWS_CACHE"
"""Environment variable that moves the whole cache."""
MODEL_MIRROR_ENV = "FAKENEWS_MODEL_MIRROR"
"""Folders (``os.pathsep``-separated) holding model weight files, tried before the network."""

DATASETS = "datasets"
MODELS = "models"
TOKENIZED = "tokenized"
TOKENIZERS = "tokenizers"


def cache_root(explicit: Path | str | None = None) -> Path:
    """The cache folder: ``explicit``, else ``$FAKENEWS_CACHE``, else ``$XDG_CACHE_HOME/fakenews``."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fakenews"


def cache_dir(kind: str, explicit: Path | str | None = None) -> Path:
    """``cache_root(explicit) / kind`` — one of :data:`DATASETS`, :data:`MODELS`, :data:`TOKENIZED`,
    :data:`TOKENIZERS`."""
    return cache_root(explicit) / kind
