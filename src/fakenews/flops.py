"""Model FLOPs of an encoder classifier from its config and real token counts, and MFU on known GPUs.

A first-order count (Kaplan et al. 2020, "Scaling Laws for Neural Language Models", table 1): a
multiply-add is 2 FLOPs and only matrix products count (embedding look-ups, softmax, layer norm,
GELU and the bias adds are under 1% and left out). For one sequence of ``L`` tokens through an
encoder of ``n`` layers, hidden size ``h`` and feed-forward size ``i``::

    forward(L) = n * (2 * L * (4*h*h + 2*h*i)   # Q, K, V, output projection and the two FFN matrices
                      + 4 * L*L * h)            # attention scores Q K^T and the weighted sum A V
               + 2 * L * e * h                  # ALBERT only: embedding (size e) -> hidden projection
               + 2 * h*h + 4 * h                # pooler and 2-class classifier (one token)

``2 * L * (4h^2 + 2hi)`` is ``2 x (weights of one layer) x tokens``: the "2 x encoder parameters x
tokens" rule, with ALBERT's one shared layer counted once per use. Training costs three forward
passes (the backward pass two): :func:`training_flops`. Pad tokens are not counted: the figures
are the useful work of the real tokens, so padding shows up as lower achieved FLOP/s.

MFU (model FLOPs utilisation, Chowdhery et al. 2022) = achieved model FLOP/s / the device's dense
16-bit tensor-core peak; reported only for GPUs in :data:`GPU_PEAK_FLOPS` (never for CPUs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

BERT_LIKE = frozenset(
    {
        "bert",
        "albert",
        "roberta",
        "xlm-roberta",
        "electra",
        "camembert",
        "deberta",
        "deberta-v2",
        "mpnet",
    }
)
"""``model_type`` values whose config has ``hidden_size``, ``num_hidden_layers``, ``intermediate_size``."""

GPU_PEAK_FLOPS: tuple[tuple[str, float], ...] = (
    ("H200", 989.4e12),
    ("H100 PCIe", 756.0e12),
    ("H100", 989.4e12),
    ("A100", 312.0e12),
    ("L40S", 362.1e12),
    ("L4", 121.0e12),
    ("V100", 125.0e12),
    ("T4", 65.0e12),
)
"""Dense bf16/fp16 tensor-core peak FLOP/s by GPU name (NVIDIA data sheets; first match wins,
so ``H100 PCIe`` comes before ``H100``; SXM figures otherwise)."""


def encoder_dims(config: Mapping[str, Any]) -> dict[str, int] | None:
    """``{layers, hidden, intermediate, embedding}`` of a BERT-like or DistilBERT config; None for
    other architectures (e.g. MobileBERT's bottlenecks, which this formula does not describe)."""
    model_type = str(config.get("model_type", ""))
    if model_type == "distilbert":
        h = int(config["dim"])
        return {
            "layers": int(config["n_layers"]),
            "hidden": h,
            "intermediate": int(config["hidden_dim"]),
            "embedding": h,
        }
    if model_type in BERT_LIKE:
        h = int(config["hidden_size"])
        return {
            "layers": int(config["num_hidden_layers"]),
            "hidden": h,
            "intermediate": int(config["intermediate_size"]),
            "embedding": int(config.get("embedding_size") or h),
        }
    return None


def forward_flops(config: Mapping[str, Any], lengths: Sequence[int] | np.ndarray) -> float | None:
    """FLOPs of one forward pass over sequences of ``lengths`` tokens (summed); None when the
    architecture is not covered (see :func:`encoder_dims`)."""
    dims = encoder_dims(config)
    if dims is None:
        return None
    n, h, i, e = dims["layers"], dims["hidden"], dims["intermediate"], dims["embedding"]
    L = np.asarray(lengths, dtype=np.float64)
    per_seq = n * (2 * L * (4 * h * h + 2 * h * i) + 4 * L * L * h) + 2 * h * h + 4 * h
    if e != h:
        per_seq = per_seq + 2 * L * e * h
    return float(per_seq.sum())


def training_flops(config: Mapping[str, Any], lengths: Sequence[int] | np.ndarray) -> float | None:
    """FLOPs of one training step (forward + backward = 3 forward passes) over ``lengths``."""
    f = forward_flops(config, lengths)
    return None if f is None else 3.0 * f


def gpu_peak_flops(device_name: str) -> float | None:
    """Dense 16-bit peak FLOP/s of a known GPU (by name, e.g. ``NVIDIA H200``), else None."""
    for key, peak in GPU_PEAK_FLOPS:
        if key.lower() in device_name.lower():
            return peak
    return None


def mfu(achieved_flops_per_s: float | None, device: str, device_name: str) -> float | None:
    """Achieved / peak on a known CUDA GPU; None on CPUs, unknown GPUs or without a FLOP count."""
    if achieved_flops_per_s is None or not device.startswith("cuda"):
        return None
    peak = gpu_peak_flops(device_name)
    return None if peak is None else achieved_flops_per_s / peak
