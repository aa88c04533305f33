"""Training throughput with and without length-grouped dynamic padding (GPU check of issue 3).

Trains the albert-base-v2 architecture from scratch (``scratch:albert``, ``model.size=base``) at
``max_length`` 512 twice on the same split dir: once padding every batch to 512 in random order
(the study's setup), once with dynamic padding and length-grouped batches (fakenews' default),
and prints the articles/s that ``train`` measured for each (``train_summary.json``).

    python benchmarks/train_padding.py SPLIT_DIR --out bench-runs [--epochs 5]

On a small split dir (e.g. ``prepare``d welfake_sample1000: ~700 training articles, 44 steps of
16 per epoch) 5 epochs are ~220 optimisation steps.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from fakenews.training import train

MODES = {
    "max_length padding, random order (study)": [
        "data.padding=max_length",
        "data.group_by_length=false",
    ],
    "dynamic padding, length-grouped (default)": [
        "data.padding=dynamic",
        "data.group_by_length=true",
    ],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("split_dir", type=Path)
    parser.add_argument("--out", type=Path, default=Path("bench-runs"))
    parser.add_argument("--epochs", type=float, default=5.0)
    args = parser.parse_args()
    common = [
        "model.size=base", "data.max_length=512", "data.truncation=head", f"train.epochs={args.epochs}",
        "train.batch_size=16", "train.learning_rate=1e-4", "train.early_stopping_patience=null", "train.save_total_limit=1",
    ]  # fmt: skip
    rows = []
    for i, (mode, sets) in enumerate(MODES.items()):
        result = train(
            args.split_dir,
            "scratch:albert",
            args.out / f"mode{i}",
            overrides=[*common, *sets],
            force=True,
            quiet=True,
        )
        s = result.summary
        rows.append({"mode": mode, "articles_per_s": s["train_articles_per_s"], "train_runtime_s": s["train_runtime_s"],
                     "global_step": s["global_step"], "device": s["device"], "precision": s["precision"],
                     "val_accuracy": result.metrics.get("accuracy")})  # fmt: skip
    for row in rows:
        print(json.dumps(row))
    speedup = rows[1]["articles_per_s"] / rows[0]["articles_per_s"]
    print(f"dynamic + length-grouped padding: {speedup:.2f}x the articles/s of padding to 512")


if __name__ == "__main__":
    main()
