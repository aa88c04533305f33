"""The ONNX Runtime forward pass of a run's export (``RUN_DIR/onnx/``, written by
``fakenews export``).

:class:`OnnxPredictor` shares tokenization, truncation, ``long="chunks"`` windows and
length-sorted right-padded batches with the PyTorch predictor (:mod:`fakenews.predictors.windows`),
so both backends see exactly the same token ids; only the forward pass differs.

``onnx`` and ``onnxruntime`` are heavy imports that most runs never need: they are imported
when an export is first loaded, not with this module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from transformers import AutoTokenizer

from fakenews.errors import FakeNewsError
from fakenews.io import read_json_object
from fakenews.predictors.base import CPU_BATCH_SIZE, Windowing
from fakenews.predictors.windows import TokenWindows, WindowedPredictor

FP32_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"
EXPORT_JSON = "export.json"


def export_record(onnx_dir: Path) -> dict[str, Any]:
    """``export.json`` of an export folder (``{}`` when absent, e.g. mid-export)."""
    record = onnx_dir / EXPORT_JSON
    if not record.is_file():
        return {}
    return read_json_object(record, what="export record", fix="re-run `fakenews export`")


def find_onnx_model(onnx_dir: Path, run_path: Path | None = None) -> Path:
    """The model file of an export: the one ``export.json`` names, else whichever exists."""
    where = run_path if run_path is not None else onnx_dir.parent
    hint = f"run `fakenews export {where} --format onnx` first"
    if not onnx_dir.is_dir():
        raise FakeNewsError(
            f"{onnx_dir} does not exist; --backend onnx needs the ONNX export: {hint}."
        )
    named = export_record(onnx_dir).get("model_file")
    candidates = [named] if named else [FP32_FILE, INT8_FILE]
    for name in candidates:
        if (onnx_dir / str(name)).is_file():
            return onnx_dir / str(name)
    raise FakeNewsError(
        f"{onnx_dir} holds no {' or '.join(map(str, candidates))}; the export is incomplete: {hint}."
    )


def _load_tokenizer(folder: Path) -> Any:
    try:
        return AutoTokenizer.from_pretrained(folder)
    except Exception as exc:
        raise FakeNewsError(
            f"could not load the tokenizer copied into {folder} ({type(exc).__name__}: {exc}); "
            "re-run `fakenews export`."
        ) from None


def _session(model_file: Path, *, threads: int | None) -> Any:
    import onnxruntime as ort  # heavy, needed only for --backend onnx

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only
    if threads:
        options.intra_op_num_threads = threads
    try:
        return ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FakeNewsError(
            f"ONNX Runtime could not load {model_file} ({msg}); the file is corrupt or incomplete: re-run `fakenews export`."
        ) from None


class OnnxForward:
    """``session.run(["logits"], feed)`` on CPU, and the facts of the exported graph."""

    device = "cpu"

    def __init__(self, model_file: Path, *, threads: int | None = None) -> None:
        self.model_file = model_file
        self.session = _session(model_file, threads=threads)
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.fused = bool(export_record(model_file.parent).get("fused"))
        """Whether ONNX Runtime's transformer optimizer fused the graph (``fused`` in export.json)."""

    def __call__(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        inputs = {name: feed[name] for name in self.input_names}
        return np.asarray(self.session.run(["logits"], inputs)[0], dtype=np.float64)

    def parameter_counts(self) -> tuple[int, int]:
        """(total, 0): every initializer element of the graph (weights, and for int8 also the
        scales and zero points); nothing in an export is trainable."""
        import onnx  # heavy, needed only for --backend onnx

        model = onnx.load(str(self.model_file), load_external_data=False)
        return int(sum(int(np.prod(t.dims)) for t in model.graph.initializer)), 0

    def memory_bytes(self) -> int:
        """Size of the ONNX file (the weights ONNX Runtime holds)."""
        return int(self.model_file.stat().st_size)

    def describe(self) -> str:
        precision = "int8" if self.model_file.name == INT8_FILE else "fp32"
        return f"onnxruntime-{precision}{'-fused' if self.fused else ''}"


class OnnxPredictor(WindowedPredictor):
    """The ONNX export of a run, run by ONNX Runtime on CPU.

    Args:
        onnx_dir: the folder with the export (``RUN_DIR/onnx``).
        windowing: the run's max length and truncation, and the long-article mode.
        batch_size: texts (or windows) per forward pass; default 8 (the CPU default).
        quiet: no progress bar when True (default).
        threads: ONNX Runtime intra-op threads; default ``None`` lets ONNX Runtime choose
            (one per physical core).
        run_path: the run dir, named in the error when the export is missing.
        temperature: calibration temperature dividing the logits (default 1.0 = none;
            :func:`~fakenews.predictors.load.load_onnx_predictor` sets the run's).
    """

    def __init__(
        self,
        onnx_dir: Path,
        *,
        windowing: Windowing,
        batch_size: int | None = None,
        quiet: bool = True,
        threads: int | None = None,
        run_path: Path | None = None,
        temperature: float = 1.0,
    ) -> None:
        self.onnx_dir = Path(onnx_dir)
        self.model_file = find_onnx_model(self.onnx_dir, run_path)
        forward = OnnxForward(self.model_file, threads=threads)
        windows = TokenWindows(_load_tokenizer(self.onnx_dir), windowing, forward.input_names)
        super().__init__(
            windows,
            forward,
            batch_size=batch_size or CPU_BATCH_SIZE,
            quiet=quiet,
            temperature=temperature,
        )
