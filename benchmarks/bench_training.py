"""Training: articles/s of the study's recipe vs fakenews' on the same model, articles and machine.

Both recipes train one epoch over the same ``--articles`` real articles (a seeded sample of the
WELFake sample, or of a split dir's train split) with ``fakenews.training.train``:

- ``study``: every batch padded to 512 tokens, random order, batch 16 x gradient accumulation 2
  (the study's), fp32 on CPU / fp16 on a GPU;
- ``ours``: dynamic padding, length-grouped batches, fakenews' defaults (batch 16, no
  accumulation, precision ``auto``: fp32 on CPU, bf16/fp16 on a GPU);
- ``ours-bf16`` (CPUs with bf16 instructions only): ``ours`` with ``train.precision=bf16``.

One epoch over the same articles means every recipe sees every article exactly once (a fixed
number of steps would let length grouping pick the longest batches first). There is no
validation split, so the time is the optimisation steps plus one checkpoint save per recipe.
Articles/s = articles / ``train_runtime_s`` of ``train_summary.json``; model FLOP/s counts the
real (unpadded) tokens, 3 forward passes per step (``fakenews.flops``), and MFU on known GPUs.

    python benchmarks/bench_training.py                          # ~4-5 min on 2 CPU cores
    python benchmarks/bench_training.py --articles 2048 --model scratch:albert --set model.size=base   # GPU

Writes ``benchmarks/results/bench_training-<machine>.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    DEFAULT_DATA,
    load_articles,
    machine_info,
    quiet_libraries,
    ratio_stats,
    table,
    write_result,
)

RECIPES = {
    "study": ["data.padding=max_length", "data.group_by_length=false", "train.batch_size=16", "train.gradient_accumulation=2"],
    "ours": ["data.padding=dynamic", "data.group_by_length=true", "train.batch_size=16", "train.gradient_accumulation=1"],
    "ours-bf16": ["data.padding=dynamic", "data.group_by_length=true", "train.batch_size=16", "train.gradient_accumulation=1",
                  "train.precision=bf16"],
}  # fmt: skip


def training_split_dir(data: Path, n: int, workdir: Path, *, seed: int) -> tuple[Path, Any]:
    """A split dir whose train split is ``n`` sampled real articles (no validation, no test)."""
    import pandas as pd

    from fakenews.data.prepare import PrepareOptions, prepare

    articles = load_articles(data, split="train", n=n, seed=seed)
    csv = workdir / "articles.csv"
    pd.DataFrame(
        {"id": range(len(articles.texts)), "text": articles.texts, "label": articles.labels}
    ).to_csv(csv, index=False)
    out = workdir / "split"
    prepare(
        [csv],
        out,
        PrepareOptions(split=(1.0, 0.0, 0.0), near_duplicates=0.0),
        force=True,
        quiet=True,
    )
    return out, articles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])  # fmt: skip
    parser.add_argument(
        "--model", default="minilm-l6", help="preset, path or scratch:ARCH (default minilm-l6)"
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        help="extra config override for every recipe (repeatable)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="CSV of articles or a split dir (its train split)",
    )
    parser.add_argument(
        "--articles",
        type=int,
        default=96,
        help="articles per recipe, one epoch (default 96 = 3 study steps)",
    )
    parser.add_argument(
        "--max-length", type=int, default=512, help="tokens per article (default 512, the study's)"
    )
    parser.add_argument(
        "--recipes", default="study,ours,ours-bf16", help="comma-separated recipes to run"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="times each recipe is trained, recipes interleaved (default 1)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the article sample (default 0)"
    )
    parser.add_argument(
        "--keep", type=Path, help="keep the run dirs here (default: a temp dir, deleted)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="results JSON (default benchmarks/results/bench_training-<machine>.json)",
    )
    args = parser.parse_args()
    quiet_libraries()

    import torch

    from fakenews.flops import mfu, training_flops
    from fakenews.models.encoding import encode
    from fakenews.training import train

    info = machine_info()
    cuda = torch.cuda.is_available()
    recipes = [r.strip() for r in args.recipes.split(",") if r.strip()]
    if "ours-bf16" in recipes and (cuda or not info["mkldnn_bf16_supported"]):
        print(
            "ours-bf16 skipped: "
            + (
                "on a GPU `ours` already uses bf16/fp16"
                if cuda
                else "this CPU has no bf16 instructions"
            )
        )
        recipes.remove("ours-bf16")
    if cuda:
        RECIPES["study"] = [*RECIPES["study"], "train.precision=fp16"]

    with tempfile.TemporaryDirectory(prefix="bench-training-") as tmp:
        workdir = Path(tmp)
        runs_root = args.keep or workdir / "runs"
        split_dir, articles = training_split_dir(args.data, args.articles, workdir, seed=args.seed)
        n_train = int(
            json.loads((split_dir / "manifest.json").read_text())["counts"]["train"]["total"]
        )
        common = [
            f"data.max_length={args.max_length}", "data.truncation=head", "train.epochs=1", "train.early_stopping_patience=null",
            "train.save_total_limit=1", "train.logging_steps=1000", "train.warmup_ratio=0.1", f"data.cache_dir={workdir / 'cache'}",
            *args.overrides,
        ]  # fmt: skip
        print(f"{n_train} articles from {articles.source}; model {args.model}; max_length {args.max_length}; "
              f"torch threads {torch.get_num_threads()}; recipes {', '.join(recipes)} x {args.rounds} round(s)")  # fmt: skip
        summaries: dict[str, list[dict[str, Any]]] = {r: [] for r in recipes}
        run_dirs: dict[str, Path] = {}
        for rnd in range(args.rounds):
            for name in recipes:
                out = runs_root / f"{name}-{rnd}"
                result = train(
                    split_dir,
                    args.model,
                    out,
                    overrides=[*common, *RECIPES[name]],
                    force=True,
                    quiet=True,
                )
                s = result.summary
                summaries[name].append(s)
                run_dirs[name] = out
                print(f"  round {rnd + 1}/{args.rounds}  {name:<10} {s['train_runtime_s']:7.1f} s  "
                      f"{s['train_articles_per_s']:.2f} articles/s  steps {s['global_step']}  {s['precision']}  loss {s['train_loss']:.3f}")  # fmt: skip
        first = run_dirs[recipes[0]] / "model"
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(first)
        model_config = json.loads((first / "config.json").read_text())
        import pandas as pd

        texts = (
            pd.read_csv(split_dir / "train.csv", keep_default_na=False)["combined_text"]
            .astype(str)
            .tolist()
        )
        lengths = [
            len(ids)
            for ids in encode(tokenizer, texts, max_length=args.max_length, truncation="head")[
                "input_ids"
            ]
        ]
        flops_epoch = training_flops(model_config, lengths)
        device = summaries[recipes[0]][0]["device"]

    base = "study" if "study" in recipes else recipes[0]
    results: dict[str, Any] = {}
    rows = []
    for name in recipes:
        secs = [s["train_runtime_s"] for s in summaries[name]]
        med = statistics.median(secs)
        r = ratio_stats([s["train_runtime_s"] for s in summaries[base]], secs)
        achieved = flops_epoch / med if flops_epoch is not None else None
        results[name] = {
            "overrides": RECIPES[name],
            "train_runtime_s": secs,
            "articles_per_s": n_train / med,
            "speedup_vs_study": r,
            "global_step": summaries[name][0]["global_step"],
            "precision": summaries[name][0]["precision"],
            "train_loss": [s["train_loss"] for s in summaries[name]],
            "achieved_model_flops_per_s": achieved,
            "mfu": mfu(achieved, "cuda" if device.startswith("cuda") else "cpu", device),
        }
        rows.append([name, summaries[name][0]["precision"], results[name]["global_step"], results[name]["articles_per_s"],
                     f"{r['median']:.2f}x ({r['min']:.2f}-{r['max']:.2f})",
                     f"{achieved / 1e9:.1f}" if achieved else "n/a",
                     f"{results[name]['mfu']:.1%}" if results[name]["mfu"] is not None else "n/a"])  # fmt: skip
    print()
    print(
        table(
            rows,
            [
                "recipe",
                "precision",
                "optimizer steps",
                "articles/s",
                "speed-up vs study (min-max)",
                "model GFLOP/s",
                "MFU",
            ],
        )
    )
    targets = {}
    if "study" in results:
        best = max(
            (n for n in results if n != "study"),
            key=lambda n: results[n]["speedup_vs_study"]["median"],
            default=None,
        )
        if best:
            ratio = results[best]["speedup_vs_study"]["median"]
            targets["training_2x"] = {"recipe": best, "ratio": ratio, "reached": ratio >= 2.0}
            print(
                f"target training_2x: {'REACHED' if ratio >= 2.0 else 'missed'} ({ratio:.2f}x with {best})"
            )
    payload = {
        "benchmark": "training",
        "machine": info,
        "device": device,
        "model": args.model,
        "overrides_common": common,
        "data": articles.source,
        "n_articles": n_train,
        "mean_tokens": float(np.mean(lengths)),
        "share_at_max_length": float(np.mean(np.asarray(lengths) >= args.max_length)),
        "max_length": args.max_length,
        "rounds": args.rounds,
        "model_flops_per_epoch": flops_epoch,
        "recipes": results,
        "targets": targets,
    }
    print(f"wrote {write_result('bench_training', payload, args.out)}")


if __name__ == "__main__":
    main()
