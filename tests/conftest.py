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
    frame = pd.read_csv(shared / "fakenewsnet_politifact" / "fakenewsnet_politifact.csv", dtype=str, keep_default_na=False)
    frame["combined_text"] = [combine(t, x) for t, x in zip(frame["title"], frame["text"], strict=True)]
    frame["label"] = frame["label"].astype(int)
    return frame[frame["text"].str.strip() != ""].drop_duplicates("combined_text").reset_index(drop=True)


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
        "counts": {k: {"total": len(v), "fake": int(v["label"].sum()), "real": int((v["label"] == 0).sum())} for k, v in frames.items()},
        "seed": 42,
        "inputs": [{"path": "fakenewsnet_politifact.csv"}],
    }
    import json

    (out / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return out
