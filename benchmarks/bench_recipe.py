"""Time-to-quality: the study's recipe vs our preset, fine-tuning the same encoder on the same split.

Both fine-tune minilm-l6 (all-MiniLM-L6-v2, the one real pretrained encoder here) with
``fakenews.training.train`` on one split of the WELFake sample (``prepare``'s default 70/15/15,
seed 42), its train split cut to ``--train`` articles (seeded) and its validation split to
``--validation`` so that the study's recipe fits a 2-core CPU; the test split is whole.

- ``study``: the albert-base-v2 preset's recipe, which is the study's (lr 2e-5, batch 16 x
  gradient accumulation 2, 5 epochs, warm-up 1000 steps capped to 10 %, early stopping 3 / 0.001
  on validation F1, first 512 tokens), with every batch padded to 512 tokens, random batches and
  fp32, as the study trained;
- ``ours``: the minilm-l6 preset's defaults (128 tokens head+tail, lr 1e-4, 10 % warm-up, up to 8
  epochs with early stopping, dynamic padding, length-grouped batches).

Printed for each: wall-clock training time (``train_runtime_s``), test accuracy with its 95 %
bootstrap CI (``fakenews.stats.bootstrap``, 10,000 resamples, paired), inference articles/s on
the test articles (``fakenews benchmark``; the study: PyTorch fp32 at 512 tokens; ours: our
fastest path at the preset's length, ONNX int8 after ``fakenews export --quantize int8``,
PyTorch fp32 if the export is refused), and the ratios. Targets, printed and not tested: ours
reaches the study's test accuracy (within 0.5 pt or inside its CI) in <= 1/5 of its training
time, and infers >= 6x faster at <= 0.5 pt lower accuracy.

    nice -n 10 python benchmarks/bench_recipe.py --train 64 --validation 32 --n-articles 30   # ~10 min here (load 2-4)
    python benchmarks/bench_recipe.py --train 200 --validation 150   # the issue's size, unloaded

Writes ``benchmarks/results/recipe.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DEFAULT_DATA, RESULTS, machine_info, quiet_libraries, table

STUDY_EXTRA = {
    "data": {"padding": "max_length", "group_by_length": False},
    "train": {"precision": "fp32"},
}
ACCURACY_SLACK = 0.005
TRAIN_TIME_TARGET = 1 / 5
SPEED_TARGET = 6.0


def load_avg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def study_config(workdir: Path) -> Path:
    """The albert-base-v2 preset's recipe (the study's) without its model, padded to 512, fp32."""
    from fakenews.config import merge
    from fakenews.models.presets import get_preset

    recipe = {k: v for k, v in get_preset("albert-base-v2").recipe().items() if k != "model"}
    path = workdir / "study.yaml"
    path.write_text(yaml.safe_dump(merge(recipe, STUDY_EXTRA), sort_keys=False), encoding="utf-8")
    return path


def split_dir(data: Path, workdir: Path, *, n_train: int, n_validation: int, seed: int) -> Path:
    """``prepare``'s split of ``data``, its train and validation splits cut to seeded samples."""
    from fakenews.data.prepare import PrepareOptions, prepare
    from fakenews.splits import fingerprint, load_split_dir, write_split_files

    full = workdir / "full"
    prepare([data], full, PrepareOptions(), force=True, quiet=True)
    split = load_split_dir(full)
    frames = {k: split.frames[k] for k in ("train", "validation", "test")}
    for name, n in (("train", n_train), ("validation", n_validation)):
        frame = frames[name]
        if n < len(frame):
            keep = np.sort(np.random.default_rng(seed).choice(len(frame), size=n, replace=False))
            frames[name] = frame.iloc[keep].reset_index(drop=True)
    out = workdir / "split"
    out.mkdir()
    write_split_files(out, frames)
    counts = {k: {"total": len(v), "fake": int(v["label"].sum()), "real": int((v["label"] == 0).sum())}
              for k, v in frames.items()}  # fmt: skip
    manifest = {**split.manifest, "fingerprint": fingerprint(frames), "counts": counts,
                "subsample": {"train": n_train, "validation": n_validation, "seed": seed}}  # fmt: skip
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return out


def fit(
    name: str, split: Path, workdir: Path, config: Path | None, sets: list[str]
) -> dict[str, Any]:
    from fakenews.evaluation import evaluate
    from fakenews.training import train

    print(f"[{name}] training (load {load_avg()})", flush=True)
    result = train(
        split, "minilm-l6", workdir / name, config_path=config, overrides=sets, quiet=True
    )
    summary = result.summary
    assert summary is not None
    ev = evaluate(result.run_dir, quiet=True)
    print(f"[{name}] {summary.train_runtime_s:.0f} s, {summary.epochs_completed} epochs, test accuracy "
          f"{ev.metrics.accuracy:.4f} (load {load_avg()})", flush=True)  # fmt: skip
    return {"run_dir": str(result.run_dir), "train_runtime_s": summary.train_runtime_s,
            "epochs_completed": summary.epochs_completed, "global_step": summary.global_step,
            "max_length": result.config.data.max_length, "load_after_training": load_avg()}  # fmt: skip


def infer(
    name: str, run: Path, *, onnx: bool, n_articles: int, threads: int | None
) -> dict[str, Any]:
    """Best articles/s over batch sizes 8 and 16 on the test split (``fakenews benchmark``)."""
    from fakenews.efficiency import benchmark
    from fakenews.errors import FakeNewsError
    from fakenews.export import export_onnx
    from fakenews.predictors.base import InferenceOptions

    backend, note = "torch", "PyTorch fp32"
    if onnx:
        try:
            export_onnx(run, quantize="int8", quiet=True)
            backend, note = "onnx", "ONNX Runtime int8"
        except FakeNewsError as exc:
            note = f"PyTorch fp32 (int8 export refused: {exc})"
    eff = benchmark(run, n_articles=n_articles, batch_sizes=(8, 16), options=InferenceOptions(backend=backend), threads=threads,
                    quiet=True)  # fmt: skip
    print(f"[{name}] {note}: {eff.throughput_per_s:.1f} articles/s (load {load_avg()})", flush=True)
    return {"path": eff.path, "backend": note, "articles_per_s": eff.throughput_per_s,
            "articles_per_s_ci": list(eff.throughput_per_s_ci), "batch_size": eff.batch_size,
            "latency_ms_p50": eff.latency_ms_p50, "load_after": load_avg()}  # fmt: skip


def accuracies(runs: dict[str, Path], onnx_run: tuple[str, Path] | None) -> dict[str, Any]:
    """Test accuracy with 95 % CIs (paired bootstrap), from each run's predictions/test.csv."""
    import pandas as pd

    from fakenews.stats import bootstrap

    frames = {
        n: pd.read_csv(p / "predictions" / "test.csv", dtype={"id": str}) for n, p in runs.items()
    }
    if onnx_run is not None and (onnx_run[1] / "predictions" / "test+onnx.csv").is_file():
        frames[f"{onnx_run[0]}-onnx-int8"] = pd.read_csv(
            onnx_run[1] / "predictions" / "test+onnx.csv", dtype={"id": str}
        )
    ref = next(iter(frames.values()))
    ids = ref["id"].tolist()
    models = {}
    for n, f in frames.items():
        f = f.set_index("id").loc[ids]
        models[n] = (f["pred"].to_numpy(dtype=int), f["prob_fake"].to_numpy(dtype=float))
    result = bootstrap(ref["label"].to_numpy(dtype=int), models, n_bootstrap=10_000, seed=0)
    out = {}
    for n in models:
        est = result.models[n]["accuracy"]
        out[n] = {"accuracy": est.value, "ci": [est.low, est.high], "n": result.n}
    return out


def onnx_test_predictions(run: Path) -> None:
    """The ONNX int8 path's own test predictions (``evaluate --backend onnx``) for its accuracy."""
    from fakenews.evaluation import evaluate
    from fakenews.predictors.base import InferenceOptions

    if (run / "onnx").is_dir():
        evaluate(run, options=InferenceOptions(backend="onnx"), quiet=True)


def verdicts(
    acc: dict[str, Any], fits: dict[str, Any], speed: dict[str, Any], ours_infer: str
) -> dict[str, Any]:
    study, ours = acc["study"], acc["ours"]
    inside = study["ci"][0] <= ours["accuracy"] <= study["ci"][1]
    reaches = ours["accuracy"] >= study["accuracy"] - ACCURACY_SLACK or inside
    time_ratio = fits["ours"]["train_runtime_s"] / fits["study"]["train_runtime_s"]
    speedup = speed["ours"]["articles_per_s"] / speed["study"]["articles_per_s"]
    infer_acc = acc.get(ours_infer, ours)["accuracy"]
    return {
        "ours_reaches_study_accuracy": bool(reaches),
        "train_time_ratio": time_ratio,
        "train_time_target_met": bool(reaches and time_ratio <= TRAIN_TIME_TARGET),
        "inference_speedup": speedup,
        "inference_accuracy_drop_pt": 100 * (study["accuracy"] - infer_acc),
        "inference_target_met": bool(
            speedup >= SPEED_TARGET and study["accuracy"] - infer_acc <= ACCURACY_SLACK
        ),
    }


def report(payload: dict[str, Any]) -> None:
    acc, fits, speed, v = (
        payload["accuracy"],
        payload["training"],
        payload["inference"],
        payload["verdicts"],
    )
    rows = []
    for name in ("study", "ours"):
        a = acc[name]
        rows.append([name, f"{fits[name]['train_runtime_s']:.0f}", fits[name]["epochs_completed"],
                     f"{a['accuracy']:.3f} [{a['ci'][0]:.3f}, {a['ci'][1]:.3f}]",
                     f"{speed[name]['articles_per_s']:.1f} ({speed[name]['backend']})"])  # fmt: skip
    print(
        table(
            rows, ["recipe", "train s", "epochs", "test accuracy [95% CI]", "inference articles/s"]
        )
    )
    if "ours-onnx-int8" in acc:
        a = acc["ours-onnx-int8"]
        print(
            f"ours through ONNX int8: test accuracy {a['accuracy']:.3f} [{a['ci'][0]:.3f}, {a['ci'][1]:.3f}]"
        )
    print(f"training time ours/study: {v['train_time_ratio']:.3f} (target <= {TRAIN_TIME_TARGET:.2f} while reaching "
          f"the study's accuracy: {'met' if v['train_time_target_met'] else 'NOT met'}; reaches it: "
          f"{v['ours_reaches_study_accuracy']})")  # fmt: skip
    print(f"inference ours/study: {v['inference_speedup']:.2f}x at {v['inference_accuracy_drop_pt']:+.1f} pt accuracy "
          f"drop (target >= {SPEED_TARGET:.0f}x at <= 0.5 pt: {'met' if v['inference_target_met'] else 'NOT met'})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="raw CSV (default the WELFake sample)"
    )
    parser.add_argument("--train", type=int, default=100, help="train articles (default 100)")
    parser.add_argument(
        "--validation", type=int, default=50, help="validation articles (default 50)"
    )
    parser.add_argument(
        "--n-articles", type=int, default=60, help="test articles timed at batch size 1"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads", type=int, help="torch threads for both recipes (train and benchmark)"
    )
    parser.add_argument("--keep", type=Path, help="keep the run dirs here (default: a temp dir)")
    parser.add_argument("--out", type=Path, default=RESULTS / "recipe.json")
    args = parser.parse_args()
    quiet_libraries()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        split = split_dir(
            args.data, workdir, n_train=args.train, n_validation=args.validation, seed=args.seed
        )
        load_before = load_avg()
        sets = [f"train.torch_threads={args.threads}"] if args.threads else []
        fits = {"study": fit("study", split, workdir, study_config(workdir), sets),
                "ours": fit("ours", split, workdir, None, sets)}  # fmt: skip
        runs = {n: Path(f["run_dir"]) for n, f in fits.items()}
        speed = {"study": infer("study", runs["study"], onnx=False, n_articles=args.n_articles, threads=args.threads),
                 "ours": infer("ours", runs["ours"], onnx=True, n_articles=args.n_articles, threads=args.threads)}  # fmt: skip
        onnx_test_predictions(runs["ours"])
        acc = accuracies(runs, ("ours", runs["ours"]))
        ours_infer = "ours-onnx-int8" if "ours-onnx-int8" in acc else "ours"
        payload = {
            "threads": args.threads,
            "split": {
                "data": str(args.data),
                "train": args.train,
                "validation": args.validation,
                "test": acc["study"]["n"],
                "seed": args.seed,
            },
            "model": "minilm-l6",
            "load_before": load_before,
            "training": fits,
            "inference": speed,
            "accuracy": acc,
            "verdicts": verdicts(acc, fits, speed, ours_infer),
            "machine": machine_info(),
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    report(payload)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
