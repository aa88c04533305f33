"""Predictors: class probabilities for a list of texts, from any run dir.

Every predictor has ``predict_proba(texts) -> np.ndarray`` of shape ``(n, 2)``, float64,
columns ``[P(real), P(fake)]``, rows in input order; :func:`load_predictor` returns one for a
transformer run, a baseline run, or the ONNX export under ``RUN_DIR/onnx/``.

The transformer predictor loads model and tokenizer once, runs under ``torch.inference_mode``
in eval mode, sorts texts by token length so that each batch is padded only to its own
longest member (dynamic padding), and restores input order at the end. Articles longer than
``max_length`` tokens are cut with the run's truncation strategy by the same
:func:`fakenews.models.encoding.encode` that training used (``head``: the first tokens;
``head_tail``: 128 : 382 of the start and the end, after Sun et al. 2019), or with
``long="chunks"`` read whole as overlapping windows whose probabilities are averaged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, get_args, runtime_checkable

import numpy as np

from fakenews.errors import FakeNewsError
from fakenews.models.encoding import encode
from fakenews.progress import track
from fakenews.rundir import RunDir

logger = logging.getLogger(__name__)

Backend = Literal["torch", "onnx"]
LongMode = Literal["truncate", "chunks"]
Truncation = Literal["head", "head_tail"]
Precision = Literal["fp32", "bf16"]

CPU_BATCH_SIZE = 8
"""Default batch size on CPU. Length-sorted batches of 8 beat 16 and 64 on 512-token WELFake
articles for torch fp32, ONNX fp32 and ONNX int8 alike (less padding per batch, activations that
stay in cache; ``benchmarks/bench_inference.py --sweep``); per-call overhead is negligible at 8."""
CUDA_BATCH_SIZE = 64

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "spiece.model")


@runtime_checkable
class Predictor(Protocol):
    """Anything with ``predict_proba(texts) -> (n, 2)`` float64 ``[P(real), P(fake)]``."""

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray: ...


def _check_choice(value: str, allowed: Any, flag: str) -> None:
    options = get_args(allowed)
    if value not in options:
        raise FakeNewsError(f"{flag} must be one of {', '.join(options)}; found {value!r}.")


def bf16_supported(device: str) -> bool:
    """Whether ``device`` runs bf16 matrix products natively (CPU: AVX-512 BF16 or AMX via oneDNN)."""
    import torch

    if device.startswith("cuda"):
        return bool(torch.cuda.is_bf16_supported())
    return bool(
        torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    )


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when a GPU is visible, else ``cpu``; other values are checked."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise FakeNewsError(
            f"--device {device} was asked for but no CUDA GPU is visible; use --device cpu."
        )
    if not (device == "cpu" or device.startswith("cuda")):
        raise FakeNewsError(f"--device must be auto, cpu or cuda[:N]; found {device!r}.")
    return device


# --------------------------------------------------------------------------- token windows


@dataclass(frozen=True)
class Windowing:
    """How one article becomes model inputs.

    Args:
        max_length: tokens per window including special tokens (default from the run's
            ``data.max_length``).
        truncation: ``head`` (default) keeps the first tokens; ``head_tail`` keeps the start and
            the end in the ratio 128 : 382 (see :mod:`fakenews.models.encoding`).
        long: ``truncate`` (default) gives one window per article; ``chunks`` covers the whole
            article with windows ``stride`` tokens apart and averages their probabilities.
        stride: step between chunk starts in content tokens; default half a window.
    """

    max_length: int = 512
    truncation: Truncation = "head"
    long: LongMode = "truncate"
    stride: int | None = None

    def __post_init__(self) -> None:
        _check_choice(self.truncation, Truncation, "data.truncation")
        _check_choice(self.long, LongMode, "--long")
        if self.max_length < 8:
            raise FakeNewsError(
                f"data.max_length must be at least 8 tokens; found {self.max_length}."
            )
        if self.stride is not None and self.stride < 1:
            raise FakeNewsError(
                f"--stride must be a positive number of tokens; found {self.stride}."
            )

    def chunks(self, content: list[int], room: int) -> list[list[int]]:
        """Overlapping windows of ``room`` content ids (no special tokens) covering the whole article."""
        if len(content) <= room:
            return [content]
        step = self.stride or max(1, room // 2)
        starts = list(range(0, len(content) - room + 1, step))
        if starts[-1] + room < len(content):  # always cover the tail
            starts.append(len(content) - room)
        return [content[s : s + room] for s in starts]


class TransformerPredictor:
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
    """

    kind = "transformer"

    def __init__(
        self,
        model_dir: Path,
        *,
        windowing: Windowing | None = None,
        batch_size: int | None = None,
        device: str = "auto",
        quiet: bool = True,
        precision: Precision = "fp32",
    ) -> None:
        import torch

        _check_choice(precision, Precision, "--precision")
        self.model_dir = Path(model_dir)
        self.windowing = windowing or Windowing()
        self.device = resolve_device(device)
        if batch_size is not None and batch_size < 1:
            raise FakeNewsError(f"--batch-size must be at least 1; found {batch_size}.")
        self.batch_size = batch_size or (
            CUDA_BATCH_SIZE if self.device.startswith("cuda") else CPU_BATCH_SIZE
        )
        self.quiet = quiet
        self.tokenizer, self.model = load_hf_model(self.model_dir)
        self.model.to(self.device)
        if precision == "bf16":
            if not bf16_supported(self.device):
                raise FakeNewsError(
                    f"--precision bf16 needs native bf16 (a GPU, or a CPU with AVX-512 BF16 or AMX) and {self.device} "
                    "has none; use --precision fp32."
                )
            self.model.to(torch.bfloat16)
        self.model.eval()
        self._torch = torch
        self._input_names = list(
            getattr(self.tokenizer, "model_input_names", ["input_ids", "attention_mask"])
        )
        self._init_encoding()

    def _init_encoding(self) -> None:
        """The tokenizer's special tokens, pad id and the room they leave for text."""
        self._prefix, self._suffix = _special_tokens(self.tokenizer)
        pad = self.tokenizer.pad_token_id
        self._pad_id = int(pad) if pad is not None else 0
        self._room = self.windowing.max_length - len(self._prefix) - len(self._suffix)
        if self._room < 1:
            raise FakeNewsError(
                f"data.max_length {self.windowing.max_length} leaves no room for text after "
                f"{len(self._prefix) + len(self._suffix)} special tokens; raise it."
            )

    # -- facts for benchmark / model card
    @property
    def path(self) -> str:
        """Name of the inference path, e.g. ``torch-fp32-dynamic-padding``."""
        dtype = str(next(self.model.parameters()).dtype).replace("torch.", "")
        dtype = {"float32": "fp32", "float16": "fp16", "bfloat16": "bf16"}.get(dtype, dtype)
        mode = "chunks" if self.windowing.long == "chunks" else self.windowing.truncation
        return f"torch-{dtype}-dynamic-padding-{mode}-{self.device.split(':')[0]}"

    def parameter_counts(self) -> tuple[int, int]:
        """(total, trainable) parameters of the loaded model."""
        params = list(self.model.parameters())
        return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)

    def memory_bytes(self) -> int:
        """Bytes held by the model's parameters and buffers (the weights in memory)."""
        tensors = [*self.model.parameters(), *self.model.buffers()]
        return int(sum(t.numel() * t.element_size() for t in tensors))

    # -- encoding
    def encode(self, texts: Sequence[str]) -> list[list[list[int]]]:
        """Token ids per text, as a list of windows, each with the model's special tokens."""
        texts = _check_texts(texts)
        if not texts:
            return []
        w = self.windowing
        if w.long == "truncate":
            # The very function training used, so the model sees what it saw in training.
            ids = encode(self.tokenizer, texts, max_length=w.max_length, truncation=w.truncation)[
                "input_ids"
            ]
            return [[list(row)] for row in ids]
        content = self.tokenizer(texts, add_special_tokens=False, truncation=False, verbose=False)[
            "input_ids"
        ]
        return [
            [self._prefix + c + self._suffix for c in w.chunks(list(ids), self._room)]
            for ids in content
        ]

    def token_counts(self, texts: Sequence[str]) -> np.ndarray:
        """Tokens fed to the model per text (all windows together, special tokens included)."""
        return np.array([sum(len(w) for w in windows) for windows in self.encode(texts)], dtype=int)

    # -- prediction
    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """``(n, 2)`` float64 ``[P(real), P(fake)]`` in input order."""
        encoded = self.encode(texts)
        if not encoded:
            return np.zeros((0, 2), dtype=np.float64)
        flat = [w for windows in encoded for w in windows]
        owner = np.repeat(np.arange(len(encoded)), [len(ws) for ws in encoded])
        probs = self._forward_sorted(flat)
        out = np.zeros((len(encoded), 2), dtype=np.float64)
        np.add.at(out, owner, probs)  # mean over each article's windows
        out /= np.bincount(owner, minlength=len(encoded))[:, None]
        return out

    def _forward_sorted(self, windows: list[list[int]]) -> np.ndarray:
        # Longest first: a batch that does not fit in memory fails at once, not at the end.
        order = np.argsort([-len(w) for w in windows], kind="stable")
        batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        probs = np.zeros((len(windows), 2), dtype=np.float64)
        torch = self._torch
        with torch.inference_mode():
            for idx in track(
                batches, total=len(batches), description="predicting", quiet=self.quiet
            ):
                inputs = self._pad([windows[i] for i in idx])
                logits = self.model(**inputs).logits.float()
                probs[idx] = torch.softmax(logits, dim=-1).cpu().double().numpy()
        return probs

    def _pad(self, batch: list[list[int]]) -> dict[str, Any]:
        torch = self._torch
        width = max(len(w) for w in batch)
        ids = torch.full((len(batch), width), self._pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, w in enumerate(batch):
            ids[row, : len(w)] = torch.tensor(w, dtype=torch.long)
            mask[row, : len(w)] = 1
        inputs = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            inputs["token_type_ids"] = torch.zeros_like(ids)
        return {k: v.to(self.device) for k, v in inputs.items()}


class BaselinePredictor:
    """The TF-IDF + logistic-regression baseline (it reads whole articles; ``long`` does not apply)."""

    kind = "baseline"

    def __init__(
        self, model_dir: Path, *, batch_size: int | None = None, quiet: bool = True
    ) -> None:
        from fakenews.models.baseline import TfidfLogReg

        self.model_dir = Path(model_dir)
        self.batch_size = batch_size or 256
        self.quiet = quiet
        try:
            self.model = TfidfLogReg.load(self.model_dir)
        except FakeNewsError:
            raise
        except Exception as exc:  # corrupt files: name the folder, no traceback
            raise FakeNewsError(
                f"could not load the baseline model from {self.model_dir} ({type(exc).__name__}: {exc}); "
                "its files are corrupt or incomplete: re-run `fakenews train`."
            ) from None
        self.device = "cpu"

    @property
    def path(self) -> str:
        return "sklearn-tfidf-logreg-cpu"

    def parameter_counts(self) -> tuple[int, int]:
        """(total, trainable): n-gram weights, intercept and idf (all fitted)."""
        n = int(self.model.n_parameters)
        return n, n

    def memory_bytes(self) -> int:
        return baseline_memory_bytes(self.model)

    def token_counts(self, texts: Sequence[str]) -> np.ndarray:
        """Whitespace tokens per text (the baseline has no subword tokenizer)."""
        return np.array([len(t.split()) for t in _check_texts(texts)], dtype=int)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        texts = _check_texts(texts)
        if not texts:
            return np.zeros((0, 2), dtype=np.float64)
        chunks = [texts[i : i + self.batch_size] for i in range(0, len(texts), self.batch_size)]
        parts = [
            np.asarray(self.model.predict_proba(list(c)), dtype=np.float64)
            for c in track(chunks, total=len(chunks), description="predicting", quiet=self.quiet)
        ]
        return np.concatenate(parts, axis=0)


def baseline_memory_bytes(model: Any) -> int:
    """Bytes of the fitted baseline: idf, weights and intercept arrays plus the vocabulary dict."""
    import sys

    vocab = model.vectorizer_.vocabulary_
    arrays = (model.vectorizer_.idf_, model.classifier_.coef_, model.classifier_.intercept_)
    total = sum(np.asarray(a).nbytes for a in arrays) + sys.getsizeof(vocab)
    total += sum(sys.getsizeof(k) + sys.getsizeof(v) for k, v in vocab.items())
    return int(total)


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError(
            "predict_proba expects a sequence of texts, not one string; wrap it in a list"
        )
    return ["" if t is None else str(t) for t in texts]


def _special_tokens(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The special token ids the tokenizer puts before and after a single text."""
    enc = tokenizer("x", return_special_tokens_mask=True)
    ids, mask = list(enc["input_ids"]), list(enc["special_tokens_mask"])
    n_pre = next((i for i, m in enumerate(mask) if not m), len(mask))
    n_post = next((i for i, m in enumerate(reversed(mask)) if not m), 0)
    return ids[:n_pre], ids[len(ids) - n_post :]


def load_hf_model(model_dir: Path) -> tuple[Any, Any]:
    """Tokenizer and sequence-classification model from ``model_dir``; corrupt files are user errors."""
    import logging as _logging

    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model_dir = Path(model_dir)
    config_file = model_dir / "config.json"
    if not config_file.is_file():
        raise FakeNewsError(
            f"{config_file} is missing; expected a `save_pretrained` model in {model_dir}: re-run `fakenews train`."
        )
    try:
        json.loads(config_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FakeNewsError(
            f"{config_file} is corrupt (not valid JSON: {exc}); re-run `fakenews train`."
        ) from None
    weights = next((model_dir / w for w in WEIGHT_FILES if (model_dir / w).is_file()), None)
    if weights is None:
        raise FakeNewsError(
            f"{model_dir} has no model weights ({' or '.join(WEIGHT_FILES)}); re-run `fakenews train`."
        )
    if weights.suffix == ".safetensors":
        _check_safetensors(weights)
    tf_logger = _logging.getLogger("transformers")
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
    except Exception as exc:
        present = [f for f in TOKENIZER_FILES if (model_dir / f).is_file()]
        raise FakeNewsError(
            f"could not load the tokenizer from {model_dir} (files: {', '.join(present) or 'none'}; "
            f"{type(exc).__name__}: {exc}); re-run `fakenews train`."
        ) from None
    level = tf_logger.level
    try:
        tf_logger.setLevel(_logging.ERROR)
        model = AutoModelForSequenceClassification.from_pretrained(model_dir)
    except Exception as exc:
        raise FakeNewsError(
            f"could not load the model from {weights} ({type(exc).__name__}: {exc}); "
            "the file is corrupt or incomplete: re-run `fakenews train`."
        ) from None
    finally:
        tf_logger.setLevel(level)
    return tokenizer, model


def _check_safetensors(path: Path) -> None:
    """Read every tensor's header and bytes so a truncated file fails here, naming itself."""
    from safetensors import safe_open

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


# --------------------------------------------------------------------------- loading a run


def run_kind(config: dict[str, Any]) -> str:
    kind = str((config.get("model") or {}).get("kind", "transformer"))
    if kind not in ("transformer", "baseline"):
        raise FakeNewsError(
            f"config.yaml model.kind must be transformer or baseline; found {kind!r}."
        )
    return kind


def windowing_from_config(
    config: dict[str, Any], *, long: LongMode = "truncate", stride: int | None = None
) -> Windowing:
    data = config.get("data") or {}
    try:
        max_length = int(data.get("max_length", 512))
    except (TypeError, ValueError):
        raise FakeNewsError(
            f"config.yaml data.max_length must be an integer; found {data.get('max_length')!r}."
        ) from None
    return Windowing(
        max_length=max_length, truncation=data.get("truncation", "head"), long=long, stride=stride
    )


def load_predictor(
    run: RunDir | Path | str,
    *,
    backend: Backend = "torch",
    long: LongMode = "truncate",
    batch_size: int | None = None,
    device: str = "auto",
    stride: int | None = None,
    quiet: bool = True,
    precision: Precision = "fp32",
) -> Any:
    """A predictor for any run dir.

    Args:
        run: the run dir (a :class:`RunDir` or a path).
        backend: ``torch`` (default) loads ``model/``; ``onnx`` loads the export under ``onnx/``
            (write it with ``fakenews export RUN_DIR --format onnx``).
        long: ``truncate`` (default, the run's truncation strategy) or ``chunks`` (whole article
            as overlapping windows, probabilities averaged). The baseline always reads whole texts.
        batch_size: texts per forward pass; default 8 on CPU, 64 on CUDA.
        device: ``auto`` (default), ``cpu`` or ``cuda[:N]``.
        stride: chunk step in tokens for ``long="chunks"``; default half a window.
        quiet: no progress bar when True (default).
        precision: ``fp32`` (default) or ``bf16`` for the torch backend of a transformer run (see
            :class:`TransformerPredictor`); the ONNX export's precision is chosen at export time.
    """
    run = run if isinstance(run, RunDir) else RunDir.open(run)
    _check_choice(backend, Backend, "--backend")
    _check_choice(long, LongMode, "--long")
    _check_choice(precision, Precision, "--precision")
    config = run.read_config()
    kind = run_kind(config)
    if precision != "fp32" and (backend == "onnx" or kind == "baseline"):
        what = (
            "an ONNX export (its precision is set by `fakenews export --quantize`)"
            if backend == "onnx"
            else "the TF-IDF baseline"
        )
        raise FakeNewsError(
            f"--precision {precision} applies to the torch backend of transformer runs, not to {what}; drop --precision."
        )
    if backend == "onnx":
        return _load_onnx(run, config, long=long, batch_size=batch_size, stride=stride, quiet=quiet)
    if kind == "baseline":
        if long == "chunks":
            logger.info(
                "the TF-IDF baseline reads whole articles; --long chunks changes nothing for it"
            )
        return BaselinePredictor(run.model, batch_size=batch_size, quiet=quiet)
    return TransformerPredictor(
        run.model,
        windowing=windowing_from_config(config, long=long, stride=stride),
        batch_size=batch_size,
        device=device,
        quiet=quiet,
        precision=precision,
    )


def _load_onnx(run: RunDir, config: dict[str, Any], **kwargs: Any) -> Any:
    hint = f"run `fakenews export {run.path} --format onnx` first"
    if not run.onnx.is_dir():
        raise FakeNewsError(
            f"{run.onnx} does not exist; --backend onnx needs the ONNX export: {hint}."
        )
    try:
        from fakenews.export import OnnxPredictor  # type: ignore[attr-defined]
    except ImportError:
        raise FakeNewsError(
            f"the ONNX backend is not available in this installation; {hint}."
        ) from None
    return OnnxPredictor(run, **kwargs)
