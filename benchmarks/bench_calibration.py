"""Calibration and operating point: ECE before/after temperature scaling, and the test FPR of an
FPR-budget threshold, for trained run dirs.

For each RUN_DIR (any trained run; its split dir must still be there):

1. ``fakenews calibrate RUN_DIR --policy argmax`` (temperature on validation), then
   ``fakenews evaluate RUN_DIR``: validation and test ECE before (T = 1) and after calibration;
2. on a copy of the run (``model/`` and the small files; the run itself keeps ``argmax``):
   ``calibrate --policy fpr:B``, then ``evaluate``: the threshold chosen on validation and the
   FPR and recall it achieves on test. When validation has fewer than 1/B real articles the
   policy is refused (the message is recorded) and the loosest budget it can measure,
   ``fpr:ceil(1000 / n_real) / 1000``, is run instead.

    python benchmarks/bench_calibration.py RUN_DIR... [--policy fpr:0.05] [--out FILE]

Writes ``benchmarks/results/calibration.json`` (default) and prints one table.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine_info, quiet_libraries, table, write_result

SMALL_FILES = ("config.yaml", "data_manifest.json", "train_summary.json")


def _copy_run(run_dir: Path, out: Path) -> Path:
    """The parts of a run that calibrate and evaluate need (no checkpoints)."""
    out.mkdir(parents=True)
    for name in SMALL_FILES:
        if (run_dir / name).is_file():
            shutil.copy2(run_dir / name, out / name)
    shutil.copytree(run_dir / "model", out / "model")
    return out


def _ece_ci(labels: Any, probs: Any, n_boot: int = 2000) -> list[float]:
    """Percentile bootstrap 95% CI of the ECE over the test articles (seed 0)."""
    import numpy as np

    from fakenews.metrics import expected_calibration_error

    rng = np.random.default_rng(0)
    idx = rng.integers(0, len(labels), size=(n_boot, len(labels)))
    eces = [expected_calibration_error(labels[i], probs[i]) for i in idx]
    return [float(np.percentile(eces, 2.5)), float(np.percentile(eces, 97.5))]


def _test_figures(run_dir: Path) -> dict[str, Any]:
    from fakenews.evaluation import evaluate

    r = evaluate(run_dir, quiet=True)
    m = r.metrics
    fake = m.per_class["fake"]
    return {
        "n": m.n,
        "threshold": m.threshold,
        "ece": m.ece,
        "ece_ci95": _ece_ci(r.labels, r.probs),
        "ece_uncalibrated": r.ece_uncalibrated,
        "ece_uncalibrated_ci95": _ece_ci(r.labels, r.probs_uncalibrated),
        "brier": m.brier,
        "accuracy": m.accuracy,
        "fpr": m.fpr,
        "recall": fake.recall,
        "precision": fake.precision,
        "roc_auc": m.roc_auc,
    }


def _budget_policy(run_dir: Path, policy: str, workdir: Path) -> dict[str, Any]:
    """``policy`` (or the loosest measurable budget) on a copy: validation pick, test result."""
    from fakenews.calibration import calibrate
    from fakenews.errors import FakeNewsError

    copy = _copy_run(run_dir, workdir / f"{run_dir.name}-{policy.replace(':', '')}")
    out: dict[str, Any] = {"requested": policy}
    try:
        done = calibrate(copy, policy=policy)
    except FakeNewsError as exc:
        out["refused"] = str(exc)
        n_real = _n_real_validation(copy)
        policy = f"fpr:{math.ceil(1000.0 / n_real) / 1000.0:g}"
        done = calibrate(copy, policy=policy)
    out["policy"] = policy
    out["validation"] = {
        k: getattr(done.decision, k) for k in ("threshold", "fpr", "recall", "precision", "n_real")
    }
    out["test"] = _test_figures(copy)
    return out


def _n_real_validation(run_dir: Path) -> int:
    from fakenews.rundir import RunDir

    frame = RunDir.open(run_dir).split_dir().frames["validation"]
    return int((frame["label"] == 0).sum())


def measure(run_dir: Path, policy: str, workdir: Path) -> dict[str, Any]:
    from fakenews.calibration import calibrate
    from fakenews.rundir import RunDir

    done = calibrate(run_dir, policy="argmax")
    run = RunDir.open(run_dir)
    summary = run.summary
    return {
        "run": str(run_dir),
        "model": run.config.model.name,
        "data": Path(summary.split_dir).name if summary and summary.split_dir else None,
        "data_fingerprint": run.data_fingerprint,
        "max_length": run.config.data.max_length if run.kind == "transformer" else None,
        "epochs": run.config.train.epochs if run.kind == "transformer" else None,
        "calibration": done.calibration.to_dict(),
        "argmax": {"decision": done.decision.to_dict(), "test": _test_figures(run_dir)},
        "budget": _budget_policy(run_dir, policy, workdir),
    }


def _row(r: dict[str, Any]) -> list[Any]:
    c, t, b = r["calibration"], r["argmax"]["test"], r["budget"]
    return [
        r["model"], r["data"], f"{c['temperature']:.3f}",
        f"{c['ece_before']:.3f} -> {c['ece_after']:.3f}",
        f"{t['ece_uncalibrated']:.3f} -> {t['ece']:.3f}",
        f"{t['threshold']:.3f}",
        b["policy"] + (" (asked " + b["requested"] + ": refused)" if "refused" in b else ""),
        f"{b['validation']['threshold']:.3f}",
        f"{b['validation']['fpr']:.3f}", f"{b['test']['fpr']:.3f}", f"{b['test']['recall']:.3f}",
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])  # fmt: skip
    parser.add_argument("runs", type=Path, nargs="+", help="trained run dirs")
    parser.add_argument("--policy", default="fpr:0.05", help="the budget policy (default fpr:0.05)")
    parser.add_argument(
        "--out", type=Path, help="results JSON (default benchmarks/results/calibration.json)"
    )
    args = parser.parse_args()
    quiet_libraries()
    with tempfile.TemporaryDirectory(prefix="bench-calibration-") as tmp:
        results = [measure(run, args.policy, Path(tmp)) for run in args.runs]
    header = ["model", "data", "T", "val ECE", "test ECE", "argmax thr", "budget policy",
              "thr", "val FPR", "test FPR", "test recall"]  # fmt: skip
    print(table([_row(r) for r in results], header))
    payload = {"machine": machine_info(), "policy": args.policy, "runs": results}
    path = write_result("calibration", payload, out=args.out or RESULTS / "calibration.json")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
