"""Inference: the study's recipe vs fakenews' predictors, same model, same articles, one process.

Paths timed (each predicts the same real articles end to end: text in, probabilities out):

- ``study``: ``Trainer.predict`` with every article padded to ``max_length`` (512), batch 64, fp32
  on CPU (fp16 on a GPU), as the study ran it;
- ``torch-fp32`` (exact): ``fakenews.inference`` Predictor, same truncation, length-sorted batches,
  dynamic padding, fp32: the same predictions as the study's;
- ``torch-bf16`` (CPUs with bf16 instructions, or a GPU): the Predictor with ``precision="bf16"``;
- ``onnx-fp32`` / ``onnx-int8``: ``fakenews.export`` ONNX export run by ONNX Runtime (graph
  optimisation ALL, one thread per physical core), fp32 and dynamic int8; the graph fused by ONNX
  Runtime's transformer optimizer where the model allows it (what ``fakenews export`` writes);
- ``onnx-fp32-plain`` / ``onnx-int8-plain`` (not timed unless named in ``--paths``): the same
  without the optimizer's fusions (``export_model(fuse=False)``), as exported before.

The paths take turns round by round (A B C D, A B C D, ...) so that load from other processes
spreads over all of them; speed-ups are the median of the per-round ratios, with the spread.
Predictions are compared with the study recipe's (agreement = same predicted label); accuracy is
reported for a trained run (``--run``); the default model (all-MiniLM-L6-v2 with a fresh,
seeded classification head) is good for speed and agreement only.

    python benchmarks/bench_inference.py                                   # ~3-5 min on 2 CPU cores
    python benchmarks/bench_inference.py --run RUN_DIR --data SPLIT_DIR --split test --n-articles 0

Writes ``benchmarks/results/bench_inference-<machine>.json``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    DEFAULT_DATA,
    default_run,
    interleaved,
    load_articles,
    machine_info,
    quiet_libraries,
    ratio_stats,
    table,
    write_result,
)

STUDY_BATCH = 64


def study_predict(
    run_dir: Path, max_length: int, truncation: str, device: str, workdir: Path
) -> Any:
    """The study's recipe: tokenize, pad to ``max_length``, ``Trainer.predict`` at batch 64."""
    import datasets
    import torch
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    from fakenews.models.encoding import encode
    from fakenews.predictors.transformer import load_hf_model

    tokenizer, model = load_hf_model(run_dir / "model")
    cuda = device.startswith("cuda")
    args = TrainingArguments(
        output_dir=str(workdir / "study-trainer"), per_device_eval_batch_size=STUDY_BATCH, use_cpu=not cuda,
        fp16=cuda, report_to="none", disable_tqdm=True, dataloader_num_workers=0,
    )  # fmt: skip
    collator = DataCollatorWithPadding(tokenizer, padding="max_length", max_length=max_length)
    trainer = Trainer(model=model, args=args, data_collator=collator, processing_class=tokenizer)
    datasets.disable_progress_bars()

    def predict(texts: list[str]) -> np.ndarray:
        enc = encode(tokenizer, texts, max_length=max_length, truncation=truncation)  # type: ignore[arg-type]
        logits = trainer.predict(datasets.Dataset.from_dict(enc)).predictions
        if isinstance(logits, tuple):
            logits = logits[0]
        return (
            torch.softmax(torch.as_tensor(np.asarray(logits, dtype=np.float32)), dim=-1)
            .double()
            .numpy()
        )

    return predict


def export_onnx_variants(run_dir: Path, workdir: Path, paths: list[str]) -> dict[str, Path]:
    """The ONNX exports named in ``paths`` (``onnx-fp32``, ``onnx-int8``, ``onnx-fp32-plain``,
    ``onnx-int8-plain``) of the run's model, each in its own folder of ``workdir`` (not in the
    run dir) with an ``export.json`` saying whether its graph is fused."""
    from fakenews.export import copy_tokenizer, export_model, quantize_int8
    from fakenews.io import write_json
    from fakenews.predictors.onnx import EXPORT_JSON
    from fakenews.predictors.transformer import load_hf_model

    tokenizer, model = load_hf_model(run_dir / "model")
    dirs: dict[str, Path] = {}
    for graph in ("", "-plain"):
        wanted = [p for p in (f"onnx-fp32{graph}", f"onnx-int8{graph}") if p in paths]
        if not wanted:
            continue
        fp32_dir = workdir / f"onnx-fp32{graph}"
        fp32_dir.mkdir(parents=True, exist_ok=True)
        info = export_model(model, tokenizer, fp32_dir / "model.onnx", fuse=not graph)
        print(
            f"  {fp32_dir.name}: {info.exporter}; fused {info.fused} {info.fused_ops or info.note}"
        )
        record = {"fused": info.fused, "fused_ops": info.fused_ops, "fusion_note": info.note}
        write_json(fp32_dir / EXPORT_JSON, {"model_file": "model.onnx", **record})
        copy_tokenizer(run_dir / "model", fp32_dir)
        dirs[f"onnx-fp32{graph}"] = fp32_dir
        if f"onnx-int8{graph}" in wanted:
            int8_dir = workdir / f"onnx-int8{graph}"
            int8_dir.mkdir(parents=True, exist_ok=True)
            quantize_int8(fp32_dir / "model.onnx", int8_dir / "model.int8.onnx")
            write_json(int8_dir / EXPORT_JSON, {"model_file": "model.int8.onnx", **record})
            copy_tokenizer(run_dir / "model", int8_dir)
            dirs[f"onnx-int8{graph}"] = int8_dir
    return dirs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])  # fmt: skip
    parser.add_argument(
        "--run",
        type=Path,
        help="a transformer run dir (default: all-MiniLM-L6-v2 + fresh seeded head)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="CSV of articles or a split dir (default: WELFake sample)",
    )
    parser.add_argument("--split", default="test", help="split of a split dir (default test)")
    parser.add_argument(
        "--n-articles", type=int, default=64, help="articles timed (default 64; 0 = all)"
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="timing rounds, paths interleaved (default 2)"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="our batch size (default: the Predictor's for the device)",
    )
    parser.add_argument(
        "--max-length", type=int, default=512, help="max tokens of the default model (default 512)"
    )
    parser.add_argument(
        "--paths",
        default="study,torch-fp32,torch-bf16,onnx-fp32,onnx-int8",
        help="comma-separated paths to time",
    )
    parser.add_argument(
        "--sweep",
        default="",
        help="also time torch-fp32 and onnx-int8 once at these batch sizes, e.g. 4,8,16,32",
    )
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument(
        "--out",
        type=Path,
        help="results JSON (default benchmarks/results/bench_inference-<machine>.json)",
    )
    args = parser.parse_args()
    quiet_libraries()

    import torch

    from fakenews.predictors import load_predictor
    from fakenews.predictors.transformer import resolve_device

    device = resolve_device(args.device)
    cuda = device.startswith("cuda")
    info = machine_info()
    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    bf16_ok = cuda or info["mkldnn_bf16_supported"]
    if "torch-bf16" in paths and not bf16_ok:
        print("torch-bf16 skipped: this CPU has no bf16 instructions (avx512_bf16 / AMX)")
        paths.remove("torch-bf16")
    if cuda:
        paths = [
            p for p in paths if not p.startswith("onnx")
        ]  # the export runs on the CPU provider

    with tempfile.TemporaryDirectory(prefix="bench-inference-") as tmp:
        workdir = Path(tmp)
        run_dir = args.run or default_run(workdir, max_length=args.max_length)
        from fakenews.rundir import RunDir

        run = RunDir.open(run_dir)
        window = run.config.data
        articles = load_articles(args.data, split=args.split, n=args.n_articles or None)
        texts = articles.texts
        print(f"{len(texts)} articles from {articles.source}; model {run_dir} "
              f"(max_length {window.max_length}, truncation {window.truncation}); device {device}; "
              f"torch threads {torch.get_num_threads()}")  # fmt: skip

        fns: dict[str, Any] = {}
        facts: dict[str, Any] = {}
        if "study" in paths:
            fns["study"] = study_predict(
                run_dir, window.max_length, window.truncation, device, workdir
            )
            facts["study"] = {
                "path": f"trainer-predict-pad{window.max_length}-batch{STUDY_BATCH}-{'fp16' if cuda else 'fp32'}-{device}"
            }
        predictor = load_predictor(run, device=device, batch_size=args.batch_size)
        if "torch-fp32" in paths:
            fns["torch-fp32"] = predictor.predict_proba
            facts["torch-fp32"] = {"path": predictor.describe(), "batch_size": predictor.batch_size}
        if "torch-bf16" in paths:
            bf16 = load_predictor(run, device=device, batch_size=args.batch_size, precision="bf16")
            fns["torch-bf16"] = bf16.predict_proba
            facts["torch-bf16"] = {"path": bf16.describe(), "batch_size": bf16.batch_size}
        onnx_dirs: dict[str, Path] = {}
        if any(p.startswith("onnx") for p in paths):
            from fakenews.io import read_json
            from fakenews.predictors.base import InferenceOptions
            from fakenews.predictors.load import load_onnx_predictor

            print("exporting to ONNX ...")
            onnx_dirs = export_onnx_variants(run_dir, workdir, paths)
            for name in [p for p in paths if p.startswith("onnx")]:
                p = load_onnx_predictor(
                    run, InferenceOptions(batch_size=args.batch_size), onnx_dir=onnx_dirs[name]
                )
                record = read_json(onnx_dirs[name] / "export.json", what="export record")
                fns[name] = p.predict_proba
                facts[name] = {"path": p.describe(), "batch_size": p.batch_size,
                               "fused_ops": record["fused_ops"], "fusion_note": record["fusion_note"]}  # fmt: skip

        counts = predictor.token_counts(texts)
        from fakenews.efficiency import forward_flops_per_article

        flops_article = forward_flops_per_article(predictor, run.model, texts)
        print(
            f"tokens per article: mean {counts.mean():.0f}, {np.mean(counts >= window.max_length):.0%} at {window.max_length}"
        )
        for fn in fns.values():  # warm-up, untimed
            fn(texts[: min(8, len(texts))])
        probs = {
            name: np.asarray(fn(texts)) for name, fn in fns.items()
        }  # predictions, also a warm-up
        print(f"timing {len(fns)} paths x {args.rounds} rounds on {len(texts)} articles ...")
        seconds, cpu_seconds = interleaved(
            {k: (lambda f=f: f(texts)) for k, f in fns.items()}, args.rounds
        )

        sweep: dict[str, dict[int, float]] = {}
        if args.sweep:
            import time

            for name in ("torch-fp32", "onnx-int8"):
                if name not in fns:
                    continue
                sweep[name] = {}
                for b in [int(x) for x in args.sweep.split(",")]:
                    p = (load_predictor(run, device=device, batch_size=b) if name == "torch-fp32"
                         else load_onnx_predictor(run, InferenceOptions(batch_size=b), onnx_dir=onnx_dirs[name]))  # fmt: skip
                    p.predict_proba(texts[:8])
                    start = time.perf_counter()
                    p.predict_proba(texts)
                    sweep[name][b] = len(texts) / (time.perf_counter() - start)
                    print(f"  sweep {name} batch {b}: {sweep[name][b]:.2f} articles/s")

    base = "study" if "study" in fns else next(iter(fns))
    base_pred = probs[base].argmax(axis=1)
    trained = args.run is not None
    results: dict[str, Any] = {}
    rows = []
    for name in fns:
        med = statistics.median(seconds[name])
        pred = probs[name].argmax(axis=1)
        r = ratio_stats(seconds[base], seconds[name])
        rc = ratio_stats(cpu_seconds[base], cpu_seconds[name])
        results[name] = {
            **facts[name],
            "seconds": seconds[name],
            "cpu_seconds": cpu_seconds[name],
            "speedup_vs_study_cpu_time": rc,
            "articles_per_s": len(texts) / med,
            "model_flops_per_s": flops_article * len(texts) / med if flops_article else None,
            "ms_per_article": 1000 * med / len(texts),
            "speedup_vs_study": r,
            "agreement_with_study": float(np.mean(pred == base_pred)),
            "max_abs_prob_fake_diff": float(np.max(np.abs(probs[name][:, 1] - probs[base][:, 1]))),
            "accuracy": float(np.mean(pred == articles.labels)),
        }
        acc = results[name]["accuracy"]
        acc_change = (acc - results[base]["accuracy"]) * 100
        results[name]["accuracy_change_pts"] = acc_change
        gflops = results[name]["model_flops_per_s"]
        rows.append([name, results[name]["articles_per_s"], results[name]["ms_per_article"], f"{gflops / 1e9:.0f}" if gflops else "n/a",
                     f"{r['median']:.2f}x ({r['min']:.2f}-{r['max']:.2f})", f"{rc['median']:.2f}x",
                     f"{results[name]['agreement_with_study']:.1%}", results[name]["max_abs_prob_fake_diff"],
                     f"{acc:.3f} ({acc_change:+.1f} pt)" if trained else "n/a (fresh head)"])  # fmt: skip
    print()
    print(
        table(
            rows,
            [
                "path",
                "articles/s",
                "ms/article",
                "model GFLOP/s",
                "speed-up vs study, wall (min-max)",
                "speed-up, CPU time",
                "same label",
                "max |dP(fake)|",
                "accuracy",
            ],
        )
    )
    targets = {}
    if "study" in results:
        if "torch-fp32" in results:
            s = results["torch-fp32"]
            targets["exact_1.8x"] = {"ratio": s["speedup_vs_study"]["median"], "identical_predictions": s["agreement_with_study"] == 1.0,
                                     "reached": s["speedup_vs_study"]["median"] >= 1.8 and s["agreement_with_study"] == 1.0}  # fmt: skip
        if "onnx-int8" in results:
            s = results["onnx-int8"]
            ok_acc = abs(s["accuracy_change_pts"]) <= 0.5 if trained else None
            targets["int8_4x"] = {"ratio": s["speedup_vs_study"]["median"], "accuracy_change_pts": s["accuracy_change_pts"] if trained else None,
                                  "reached": s["speedup_vs_study"]["median"] >= 4.0 and ok_acc is not False}  # fmt: skip
    for key, t in targets.items():
        print(f"target {key}: {'REACHED' if t['reached'] else 'missed'} ({t['ratio']:.2f}x)")
    payload = {
        "benchmark": "inference",
        "machine": info,
        "device": device,
        "model": str(args.run)
        if args.run
        else "all-MiniLM-L6-v2 + fresh classification head (seed 0)",
        "trained": trained,
        "data": articles.source,
        "n_articles": len(texts),
        "mean_tokens": float(counts.mean()),
        "model_flops_per_article": flops_article,
        "model_flops_note": "fakenews.flops.forward_flops on the real (unpadded) tokens; the study's padded work is larger",
        "share_at_max_length": float(np.mean(counts >= window.max_length)),
        "max_length": window.max_length,
        "truncation": window.truncation,
        "rounds": args.rounds,
        "paths": results,
        "batch_size_sweep": {k: {str(b): v for b, v in d.items()} for k, d in sweep.items()},
        "targets": targets,
    }
    print(f"wrote {write_result('bench_inference', payload, args.out)}")


if __name__ == "__main__":
    main()
