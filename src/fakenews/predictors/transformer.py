"""The PyTorch forward pass of a ``save_pretrained`` sequence classifier, and loading one.

:class:`TransformerPredictor` loads model and tokenizer once, runs under
``torch.inference_mode`` in eval mode and shares its encoding with the ONNX predictor
(:mod:`fakenews.predictors.windows`).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from transformers.utils import logging as hf_logging

from fakenews.errors import FakeNewsError
from fakenews.predictors.base import (
    CPU_BATCH_SIZE,
    CUDA_BATCH_SIZE,
    InferencePrecision,
    Windowing,
    check_choice,
)
from fakenews.predictors.windows import TokenWindows, WindowedPredictor

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "spiece.model")
RETRAIN = "re-run `fakenews train`"


def bf16_supported(device: str) -> bool:
    """Whether ``device`` runs bf16 matrix products natively (CPU: AVX-512 BF16 or AMX via oneDNN)."""
    if device.startswith("cuda"):
        return bool(torch.cuda.is_bf16_supported())
    return bool(
        torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    )


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when a GPU is visible, else ``cpu``; other values are checked."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise FakeNewsError(
            f"--device {device} was asked for but no CUDA GPU is visible; use --device cpu."
        )
    if not (device == "cpu" or device.startswith("cuda")):
        raise FakeNewsError(f"--device must be auto, cpu or cuda[:N]; found {device!r}.")
    return device


class TorchForward:
    """``model(**inputs).logits`` on ``device`` under ``torch.inference_mode``."""

    def __init__(self, model: Any, device: str) -> None:
        self.model = model
        self.device = device

    def __call__(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        inputs = {k: torch.from_numpy(v).to(self.device) for k, v in feed.items()}
        with torch.inference_mode():
            return self.model(**inputs).logits.float().cpu().numpy()

    def parameter_counts(self) -> tuple[int, int]:
        params = list(self.model.parameters())
        return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)

    def memory_bytes(self) -> int:
        """Bytes held by the model's parameters and buffers (the weights in memory)."""
        tensors = [*self.model.parameters(), *self.model.buffers()]
        return int(sum(t.numel() * t.element_size() for t in tensors))

    def describe(self) -> str:
        dtype = str(next(self.model.parameters()).dtype).replace("torch.", "")
        return "torch-" + {"float32": "fp32", "float16": "fp16", "bfloat16": "bf16"}.get(
            dtype, dtype
        )


class TransformerPredictor(WindowedPredictor):
    """A ``save_pretrained`` sequence classifier + tokenizer, loaded once.

    Args:
        model_dir: folder with ``config.json``, weights and tokenizer files.
        windowing: max length, truncation strategy and long-article mode (:class:`Windowing`).
        batch_size: texts (or windows) per forward pass; default 8 on CPU, 64 on CUDA.
        device: ``auto`` (default: CUDA if visible, else CPU), ``cpu`` or ``cuda[:N]``.
        quiet: no progress bar when True (default).
        precision: ``fp32`` (default: the trained weights as they are, the exact path) or
            ``bf16`` (weights and activations in bfloat16: faster on GPUs and on CPUs with AVX-512
            BF16 or AMX, probabilities within about 1e-2; ``benchmarks/bench_inference.py``
            measures speed and agreement). Refused on devices without native bf16.
        temperature: calibration temperature dividing the logits (default 1.0 = none;
            :func:`~fakenews.predictors.load.load_predictor` sets the run's).
    """

    def __init__(
        self,
        model_dir: Path,
        *,
        windowing: Windowing | None = None,
        batch_size: int | None = None,
        device: str = "auto",
        quiet: bool = True,
        precision: InferencePrecision = "fp32",
        temperature: float = 1.0,
    ) -> None:
        check_choice(precision, InferencePrecision, "--precision")
        device = resolve_device(device)
        tokenizer, model = load_hf_model(Path(model_dir))
        model.to(device)
        if precision == "bf16":
            if not bf16_supported(device):
                raise FakeNewsError(
                    f"--precision bf16 needs native bf16 (a GPU, or a CPU with AVX-512 BF16 or AMX) and {device} "
                    "has none; use --precision fp32."
                )
            model.to(torch.bfloat16)
        model.eval()
        self.model = model
        self.model_dir = Path(model_dir)
        names = list(tokenizer.model_input_names)
        size = batch_size or (CUDA_BATCH_SIZE if device.startswith("cuda") else CPU_BATCH_SIZE)
        super().__init__(
            TokenWindows(tokenizer, windowing or Windowing(), names),
            TorchForward(model, device),
            batch_size=size,
            quiet=quiet,
            temperature=temperature,
        )


def load_hf_model(model_dir: Path) -> tuple[Any, Any]:
    """Tokenizer and sequence-classification model from ``model_dir``; corrupt files are user errors."""
    model_dir = Path(model_dir)
    weights = _check_model_files(model_dir)
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
    except Exception as exc:
        present = [f for f in TOKENIZER_FILES if (model_dir / f).is_file()]
        raise FakeNewsError(
            f"could not load the tokenizer from {model_dir} (files: {', '.join(present) or 'none'}; "
            f"{type(exc).__name__}: {exc}); {RETRAIN}."
        ) from None
    tf_logger = logging.getLogger("transformers")
    level, bars = tf_logger.level, hf_logging.is_progress_bar_enabled()
    try:
        # no "Loading weights" bar for a local model that loads in a fraction of a second
        tf_logger.setLevel(logging.ERROR)
        hf_logging.disable_progress_bar()
        model = AutoModelForSequenceClassification.from_pretrained(model_dir)
    except Exception as exc:
        raise FakeNewsError(
            f"could not load the model from {weights} ({type(exc).__name__}: {exc}); "
            f"the file is corrupt or incomplete: {RETRAIN}."
        ) from None
    finally:
        tf_logger.setLevel(level)
        if bars:
            hf_logging.enable_progress_bar()
    return tokenizer, model


def _check_model_files(model_dir: Path) -> Path:
    """``config.json`` must be JSON and a weights file must be there; returns the weights file."""
    config_file = model_dir / "config.json"
    if not config_file.is_file():
        raise FakeNewsError(
            f"{config_file} is missing; expected a `save_pretrained` model in {model_dir}: {RETRAIN}."
        )
    try:
        json.loads(config_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FakeNewsError(
            f"{config_file} is corrupt (not valid JSON: {exc}); {RETRAIN}."
        ) from None
    weights = next((model_dir / w for w in WEIGHT_FILES if (model_dir / w).is_file()), None)
    if weights is None:
        raise FakeNewsError(
            f"{model_dir} has no model weights ({' or '.join(WEIGHT_FILES)}); {RETRAIN}."
        )
    if weights.suffix == ".safetensors":
        _check_safetensors(weights)
    if not any((model_dir / f).is_file() for f in TOKENIZER_FILES):
        # else AutoTokenizer may build a default one that silently encodes the texts wrong
        raise FakeNewsError(
            f"{model_dir} has no tokenizer files ({', '.join(TOKENIZER_FILES)}); {RETRAIN}."
        )
    return weights


def _check_safetensors(path: Path) -> None:
    """Read every tensor's header so a truncated file fails here, naming itself."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            keys = list(handle.keys())
        if not keys:
            raise ValueError("it holds no tensors")
    except Exception as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FakeNewsError(
            f"{path} is corrupt or truncated ({msg}); re-run `fakenews train` to write it again."
        ) from None
