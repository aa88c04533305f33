"""How big and how fast a run is, measured on real articles: ``fakenews benchmark``.

Figures (``efficiency.json``): parameters (total, trainable), size of ``model/`` on disk, bytes
of the weights in memory, latency of one article at batch size 1 (p50, p95), throughput at the
best of several batch sizes, the device, torch threads and version, and on CUDA the peak memory.
Each timing has a bootstrap 95% confidence interval (``scipy.stats.bootstrap``, percentile
method, over articles for latency and over batches for throughput). Throughput is the batch size
over the median time per batch, so that a stall caused by another process does not dominate it.
Warm-up calls are made first and not counted. Latency is end to end, as a caller sees it: tokenization, forward pass
and softmax for one article whose text comes from the run's test split (or ``--data``).
``path`` names the inference path measured (backend, precision, padding, truncation, device);
``achieved_flops_per_s`` is the model FLOPs of the timed articles' real tokens (formula in
:mod:`fakenews.flops`) times the best throughput, and ``mfu`` its share of a known GPU's peak.

MB here is 2**20 bytes, as in the study (11.69 M fp32 parameters = 44.6 MB).
"""

from __future__ import annotations

import functools
import json
import logging
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import stats

from fakenews.errors import FakeNewsError
from fakenews.flops import forward_flops, mfu
from fakenews.io import write_json
from fakenews.predictors.base import InferenceOptions, Predictor
from fakenews.predictors.load import load_predictor
from fakenews.progress import track
from fakenews.reporting.model_card import write_model_card
from fakenews.rundir import RunDir
from fakenews.splits import SPLITS, SplitDir

logger = logging.getLogger(__name__)

MB = 2**20
DEFAULT_N_ARTICLES = 200
DEFAULT_BATCH_SIZES: tuple[int, ...] = (1, 8, 16, 32, 64)
LATENCY_WARMUP = 5
"""Single-article calls made before latency is timed (not counted)."""
MIN_BATCHES = 5
"""Timed batches per batch size at least (articles are reused in order when there are too few)."""
N_RESAMPLES = 2000
CONFIDENCE = 0.95


# --------------------------------------------------------------------------- timing core


def time_calls(
    fn: Callable[[Any], Any],
    inputs: Sequence[Any],
    *,
    warmup: Sequence[Any] = (),
    quiet: bool = True,
    description: str = "timing",
) -> np.ndarray:
    """Seconds per call of ``fn(x)`` for each ``x`` in ``inputs``, after untimed ``warmup`` calls."""
    for x in warmup:
        fn(x)
    seconds = np.empty(len(inputs), dtype=np.float64)
    for i, x in enumerate(track(inputs, total=len(inputs), description=description, quiet=quiet)):
        start = time.perf_counter()
        fn(x)
        seconds[i] = time.perf_counter() - start
    return seconds


def _interval(result: Any) -> tuple[float, float]:
    ci = result.confidence_interval
    return float(ci.low), float(ci.high)


def percentile_with_ci(
    samples: Sequence[float] | np.ndarray, q: float, *, seed: int = 0
) -> tuple[float, tuple[float, float]]:
    """The ``q``-th percentile of ``samples`` and its bootstrap 95% CI (needs 2+ samples)."""
    x = np.asarray(samples, dtype=np.float64)
    if len(x) < 2:
        raise FakeNewsError(
            f"a confidence interval needs at least 2 timings; found {len(x)}. Use more articles (--n-articles)."
        )
    value = float(np.percentile(x, q))
    if np.ptp(x) == 0:
        return value, (value, value)
    res = stats.bootstrap(
        (x,),
        lambda s, axis: np.percentile(s, q, axis=axis),
        vectorized=True,
        n_resamples=N_RESAMPLES,
        confidence_level=CONFIDENCE,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return value, _interval(res)


def rate_with_ci(
    counts: Sequence[float] | np.ndarray, seconds: Sequence[float] | np.ndarray, *, seed: int = 0
) -> tuple[float, tuple[float, float]]:
    """``sum(counts) / sum(seconds)`` and its bootstrap 95% CI, resampling (count, seconds) pairs."""
    n = np.asarray(counts, dtype=np.float64)
    s = np.asarray(seconds, dtype=np.float64)
    if len(n) < 2:
        raise FakeNewsError(
            f"a confidence interval needs at least 2 timed batches; found {len(n)}."
        )
    value = float(n.sum() / s.sum())
    if np.ptp(s / n) == 0:
        return value, (value, value)
    res = stats.bootstrap(
        (n, s),
        lambda a, b, axis: a.sum(axis=axis) / b.sum(axis=axis),
        vectorized=True,
        paired=True,
        n_resamples=N_RESAMPLES,
        confidence_level=CONFIDENCE,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return value, _interval(res)


@dataclass(frozen=True)
class Throughput:
    """Articles per second at one batch size, over ``n_batches`` timed batches.

    ``per_s`` is ``batch_size / median(seconds per batch)``, with the bootstrap CI of that
    median: robust to the stalls other processes cause on a shared machine, and equal to
    ``1000 / latency_ms_p50`` at batch size 1. ``per_s_sustained`` is all articles over all
    seconds (outliers included).
    """

    batch_size: int
    per_s: float
    ci: tuple[float, float]
    n_batches: int
    per_s_sustained: float


def measure_throughput(
    predict: Callable[[list[str]], Any],
    texts: Sequence[str],
    batch_size: int,
    *,
    min_batches: int = MIN_BATCHES,
    quiet: bool = True,
) -> Throughput:
    """Time ``predict`` on consecutive batches of ``batch_size`` texts (one untimed warm-up batch).

    The texts are used in their given order (articles as they arrive, not sorted by length);
    when they fill fewer than ``min_batches`` full batches they are reused from the start.
    """
    texts = list(texts)
    n_batches = max(min_batches, len(texts) // batch_size)
    pool = [texts[i % len(texts)] for i in range(n_batches * batch_size)]
    batches = [pool[i : i + batch_size] for i in range(0, len(pool), batch_size)]
    seconds = time_calls(
        predict,
        batches,
        warmup=[batches[0]],
        quiet=quiet,
        description=f"throughput, batch {batch_size}",
    )
    median, (lo, hi) = percentile_with_ci(seconds, 50)
    sustained, _ = rate_with_ci([batch_size] * len(batches), seconds)
    return Throughput(
        batch_size=batch_size,
        per_s=batch_size / median,
        ci=(batch_size / hi, batch_size / lo),
        n_batches=len(batches),
        per_s_sustained=sustained,
    )


# --------------------------------------------------------------------------- facts


def dir_size_bytes(path: Path) -> int:
    """Bytes of every file under ``path``."""
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def device_name(device: str) -> str:
    """The GPU's or CPU's model name."""
    if device.startswith("cuda"):
        import torch

        return str(torch.cuda.get_device_name(torch.device(device)))
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def forward_flops_per_article(
    predictor: Predictor, model_dir: Path, texts: Sequence[str]
) -> float | None:
    """Mean forward FLOPs per article of ``texts`` as ``predictor`` feeds them to the model (its
    windows' real token counts, no padding); None for the baseline or an uncovered architecture."""
    config_file = Path(model_dir) / "config.json"
    lengths = predictor.window_lengths(texts)
    if not lengths or not config_file.is_file():
        return None
    total = forward_flops(json.loads(config_file.read_text(encoding="utf-8")), lengths)
    return None if total is None else total / len(texts)


# --------------------------------------------------------------------------- the benchmark stage


@dataclass(frozen=True)
class EfficiencyResult:
    """The ``efficiency.json`` figures of one run (all measured by :func:`benchmark`).

    Times are milliseconds, sizes MB (2**20 bytes), CIs ``(low, high)`` bootstrap 95%.
    """

    params_total: int
    params_trainable: int
    size_mb: float
    memory_mb: float
    latency_ms_p50: float
    latency_ms_p50_ci: tuple[float, float]
    latency_ms_p95: float
    latency_ms_p95_ci: tuple[float, float]
    throughput_per_s: float
    throughput_per_s_ci: tuple[float, float]
    batch_size: int
    """The batch size of the best throughput."""
    max_length: int | None
    """Tokens per article (transformers); None for the baseline, which reads whole articles."""
    device: str
    device_name: str
    torch_threads: int
    torch_version: str
    path: str
    """Inference path measured, e.g. ``torch-fp32-dynamic-padding-head-cpu``."""
    n_articles: int
    """Distinct real articles timed at batch size 1."""
    peak_memory_mb: float | None
    """CUDA only: peak memory allocated by torch during the benchmark; None on CPU."""
    throughput_by_batch_size: dict[int, Throughput] = field(default_factory=dict)
    mean_tokens: float | None = None
    """Mean tokens fed to the model per timed article."""
    data_name: str = ""
    data_fingerprint: str = ""
    split: str = "test"
    warmup_calls: int = LATENCY_WARMUP
    flops_per_article: float | None = None
    """Forward-pass model FLOPs per timed article, from the model's config and the articles' real
    token counts (:func:`fakenews.flops.forward_flops`); None for the baseline and architectures
    the formula does not cover (MobileBERT)."""
    achieved_flops_per_s: float | None = None
    """``flops_per_article x throughput_per_s``: the useful model FLOP/s of the best batch size."""
    mfu: float | None = None
    """Achieved FLOP/s / the GPU's dense 16-bit peak, on GPUs in :data:`fakenews.flops.GPU_PEAK_FLOPS`
    only; None on CPUs."""

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key, value in list(out.items()):
            if isinstance(value, tuple):
                out[key] = list(value)
        out["throughput_by_batch_size"] = {
            str(b): {
                "per_s": t.per_s,
                "ci": list(t.ci),
                "n_batches": t.n_batches,
                "per_s_sustained": t.per_s_sustained,
            }
            for b, t in self.throughput_by_batch_size.items()
        }
        return out


def benchmark(
    run_dir: Path | str,
    *,
    data: Path | str | None = None,
    split: str = "test",
    n_articles: int = DEFAULT_N_ARTICLES,
    batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES,
    options: InferenceOptions | None = None,
    threads: int | None = None,
    quiet: bool = False,
) -> EfficiencyResult:
    """Measure size, latency and throughput of a run and write ``efficiency.json`` + the model card.

    Args:
        run_dir: a run dir written by ``fakenews train``.
        data: split dir whose articles are timed; default the run's own.
        split: which split's articles (default ``test``).
        n_articles: distinct articles timed at batch size 1 (default 200; fewer if the split is smaller).
        batch_sizes: batch sizes tried for throughput (default 1, 8, 16, 32, 64; those larger than
            the number of articles are skipped).
        options: the inference measured (backend, device, precision; its batch size is ignored:
            ``batch_sizes`` are tried); the measured path (``efficiency.json``'s ``path``) names it.
        threads: torch intra-op threads during the measurement; default None leaves torch's own
            choice (restored afterwards when set).
        quiet: no progress bars when True.
    """
    if threads is not None and threads < 1:
        raise FakeNewsError(f"--threads must be at least 1; found {threads}.")
    run = RunDir.open(run_dir)
    texts, sizes, split_dir = _benchmark_articles(run, data, split, n_articles, batch_sizes)
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        options = replace(options or InferenceOptions(), batch_size=max(sizes))
        predictor = load_predictor(run, options, quiet=True)
        logger.info(
            "benchmarking %s on %d articles of %s (%s)", run.path, len(texts), split_dir.path, predictor.device
        )  # fmt: skip
        timings = _time_predictor(predictor, texts, sizes, quiet=quiet)
        result = _efficiency_result(run, predictor, texts, timings, split_dir, split)
    finally:
        torch.set_num_threads(before)
    write_json(run.efficiency, result.to_dict())
    write_model_card(run)
    return result


def _benchmark_articles(
    run: RunDir,
    data: Path | str | None,
    split: str,
    n_articles: int,
    batch_sizes: Sequence[int],
) -> tuple[list[str], list[int], SplitDir]:
    """The timed articles and the usable batch sizes (those not larger than the articles)."""
    if split not in SPLITS:
        raise FakeNewsError(
            f"unknown split {split!r}; expected one of {', '.join(SPLITS)} (--split)."
        )
    if n_articles < 2:
        raise FakeNewsError(
            f"--n-articles must be at least 2 (a confidence interval needs 2 timings); found {n_articles}."
        )
    sizes = sorted({int(b) for b in batch_sizes})
    if not sizes or sizes[0] < 1:
        raise FakeNewsError(f"batch sizes must be positive integers; found {list(batch_sizes)}.")
    split_dir = run.split_dir(data)
    texts = split_dir.split(split)["combined_text"].tolist()[:n_articles]
    if len(texts) < 2:
        raise FakeNewsError(
            f"split {split!r} of {split_dir.path} has {len(texts)} article; the benchmark needs at least 2."
        )
    return texts, [b for b in sizes if b <= len(texts)] or [sizes[0]], split_dir


def _predict_at(predictor: Predictor, batch_size: int, texts: list[str]) -> np.ndarray:
    return predictor.predict_proba(texts, batch_size=batch_size)


@dataclass(frozen=True)
class _Timings:
    p50: tuple[float, tuple[float, float]]
    p95: tuple[float, tuple[float, float]]
    by_size: dict[int, Throughput]
    peak_memory_mb: float | None


def _time_predictor(
    predictor: Predictor, texts: list[str], sizes: list[int], *, quiet: bool
) -> _Timings:
    """Latency at batch size 1 (each article once, after a warm-up) and throughput per batch size."""
    dev = predictor.device
    cuda = dev.startswith("cuda")
    if cuda:
        torch.cuda.reset_peak_memory_stats(torch.device(dev))
    warm = [texts[i % len(texts)] for i in range(LATENCY_WARMUP)]
    seconds = time_calls(
        lambda t: predictor.predict_proba([t]), texts, warmup=warm, quiet=quiet,
        description="latency, batch 1",
    )  # fmt: skip
    ms = seconds * 1000.0
    by_size = {
        b: measure_throughput(functools.partial(_predict_at, predictor, b), texts, b, quiet=quiet)
        for b in sizes
    }
    peak = torch.cuda.max_memory_allocated(torch.device(dev)) / MB if cuda else None
    return _Timings(percentile_with_ci(ms, 50), percentile_with_ci(ms, 95), by_size, peak)


def _efficiency_result(
    run: RunDir,
    predictor: Predictor,
    texts: list[str],
    t: _Timings,
    split_dir: SplitDir,
    split: str,
) -> EfficiencyResult:
    best = max(t.by_size.values(), key=lambda x: x.per_s)
    total, trainable = predictor.parameter_counts()
    counts = predictor.token_counts(texts)
    flops = forward_flops_per_article(predictor, run.model, texts)
    achieved = flops * best.per_s if flops is not None else None
    dev = predictor.device
    return EfficiencyResult(
        params_total=int(total),
        params_trainable=int(trainable),
        size_mb=dir_size_bytes(run.model) / MB,
        memory_mb=float(predictor.memory_bytes()) / MB,
        latency_ms_p50=t.p50[0],
        latency_ms_p50_ci=t.p50[1],
        latency_ms_p95=t.p95[0],
        latency_ms_p95_ci=t.p95[1],
        throughput_per_s=best.per_s,
        throughput_per_s_ci=best.ci,
        batch_size=best.batch_size,
        max_length=run.config.data.max_length if run.kind == "transformer" else None,
        device=dev,
        device_name=device_name(dev),
        torch_threads=torch.get_num_threads(),
        torch_version=torch.__version__,
        path=predictor.describe(),
        n_articles=len(texts),
        peak_memory_mb=t.peak_memory_mb,
        throughput_by_batch_size=t.by_size,
        mean_tokens=float(np.mean(counts)) if len(counts) else None,
        data_name=split_dir.name,
        data_fingerprint=split_dir.fingerprint,
        split=split,
        flops_per_article=flops,
        achieved_flops_per_s=achieved,
        mfu=mfu(achieved, dev, device_name(dev)),
    )
