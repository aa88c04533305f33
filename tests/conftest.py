"""Shared fixtures: the real data in ../shared/data and a tiny split dir cut from it."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from fakenews.splits import COLUMNS, combine, fingerprint, write_split_files

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("FAKENEWS_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data sets beside the repo (read-only). CI always has them."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}; set FAKENEWS_SHARED_DATA to its folder")
    return SHARED_DATA


def politifact_frame(shared: Path) -> pd.DataFrame:
    frame = pd.read_csv(
        shared / "fakenewsnet_politifact" / "fakenewsnet_politifact.csv",
        dtype=str,
        keep_default_na=False,
    )
    frame["combined_text"] = [
        combine(t, x) for t, x in zip(frame["title"], frame["text"], strict=True)
    ]
    frame["label"] = frame["label"].astype(int)
    return (
        frame[frame["text"].str.strip() != ""]
        .drop_duplicates("combined_text")
        .reset_index(drop=True)
    )


@pytest.fixture(scope="session")
def tiny_split_dir(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """40/12/12 real PolitiFact articles, balanced, written by hand in the split dir layout.

    Independent of ``prepare`` so that train/evaluate tests do not depend on its details.
    """
    frame = politifact_frame(shared_data)
    fake = frame[frame["label"] == 1].head(32)
    real = frame[frame["label"] == 0].head(32)
    frames = {
        "train": pd.concat([fake.iloc[:20], real.iloc[:20]]),
        "validation": pd.concat([fake.iloc[20:26], real.iloc[20:26]]),
        "test": pd.concat([fake.iloc[26:32], real.iloc[26:32]]),
    }
    frames = {k: v.loc[:, list(COLUMNS)].reset_index(drop=True) for k, v in frames.items()}
    out = tmp_path_factory.mktemp("splits") / "tiny_politifact"
    out.mkdir()
    write_split_files(out, frames)
    manifest = {
        "fingerprint": fingerprint(frames),
        "label_mapping": {"0": "real", "1": "fake"},
        "counts": {
            k: {
                "total": len(v),
                "fake": int(v["label"].sum()),
                "real": int((v["label"] == 0).sum()),
            }
            for k, v in frames.items()
        },
        "seed": 42,
        "inputs": [{"path": "fakenewsnet_politifact.csv"}],
    }
    import json

    (out / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return out


# --- trained run dirs (issue 3): tiny models trained in seconds on `tiny_split_dir` -------------

TINY_TRAIN_SETTINGS: tuple[str, ...] = (
    "model.size=tiny",  # hidden 32, 2 layers, 2 heads, intermediate 64
    "data.max_length=64",
    "train.epochs=6",
    "train.batch_size=8",
    "train.learning_rate=5e-3",  # tiny random-init models need a large step to learn in 6 epochs
    "train.early_stopping_patience=null",
    "train.logging_steps=5",
    # On 12 validation articles a random-init tiny model fits T ~ 0.04, which would magnify
    # float32 batch-composition noise 25x in every probability; calibration has its own tests.
    "calibrate.method=none",
)
"""``--set`` overrides of the tiny fixture runs; tests reuse them to train comparable runs."""


def _tiny_train(
    tmp_path_factory: pytest.TempPathFactory, split_dir: Path, model: str, name: str
) -> Path:
    from fakenews.training import train

    root = tmp_path_factory.mktemp("runs")
    settings = [*TINY_TRAIN_SETTINGS, f"data.cache_dir={root / 'token-cache'}"]
    result = train(
        split_dir,
        model,
        root / name,
        overrides=settings if model != "tfidf-logreg" else (),
        quiet=True,
    )
    return result.run_dir


@pytest.fixture(scope="session")
def tiny_run_dir(tmp_path_factory: pytest.TempPathFactory, tiny_split_dir: Path) -> Path:
    """A complete run dir: scratch:bert, tiny size, 6 epochs on ``tiny_split_dir`` (seconds)."""
    return _tiny_train(tmp_path_factory, tiny_split_dir, "scratch:bert", "tiny-bert")


@pytest.fixture(scope="session")
def tiny_albert_run_dir(tmp_path_factory: pytest.TempPathFactory, tiny_split_dir: Path) -> Path:
    """A complete run dir: scratch:albert (SentencePiece-style Unigram tokenizer), tiny size."""
    return _tiny_train(tmp_path_factory, tiny_split_dir, "scratch:albert", "tiny-albert")


@pytest.fixture(scope="session")
def tiny_baseline_run_dir(tmp_path_factory: pytest.TempPathFactory, tiny_split_dir: Path) -> Path:
    """A complete run dir of the tfidf-logreg baseline on ``tiny_split_dir``."""
    return _tiny_train(tmp_path_factory, tiny_split_dir, "tfidf-logreg", "tiny-tfidf")
