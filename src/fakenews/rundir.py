"""The run dir contract (output of ``train``, enriched by ``evaluate``/``benchmark``/``export``).

::

    RUN_DIR/
      config.yaml           resolved config (model.kind: transformer | baseline)  -> RunDir.config
      data_manifest.json    copy of the split dir's manifest (fingerprint!)         -> RunDir.manifest
      model/                save_pretrained model + tokenizer, or the baseline's files
      checkpoints/          Trainer checkpoints (resume)
      history.jsonl         one JSON object per logging step / epoch
      train_summary.json    wall time, steps, best checkpoint, device             -> RunDir.summary
      calibration.json      temperature fitted on validation (``fakenews calibrate``) -> RunDir.calibration
      decision.json         the decision policy's threshold on P(fake)            -> RunDir.decision, .threshold
      teacher_targets.csv   distill only: the teacher's P(fake) per article learnt from (id, source, text, prob_fake)
      metrics/<key>.json    key = split ("test") or "<data name>.<split>" for another data set,
                            + a variant suffix ("+onnx", "+bf16", "+chunks") for another inference
      predictions/<key>.csv id, label, pred, prob_fake
      errors/<key>.md|.csv  error analysis
      efficiency.json       benchmark figures
      plots/*.png           figures
      model_card.json, README.md
      onnx/                 exported model + export.json

Files written from a dataclass are read back into it once: :attr:`RunDir.config` is the
:class:`~fakenews.config.RunConfig`, :attr:`RunDir.summary` the :class:`TrainSummary`; the split
dir that trained the run is :meth:`RunDir.trained_split_dir`. Run dirs written by fakenews 0.1.0
load unchanged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from fakenews import LABELS
from fakenews.calibration_files import CALIBRATION_FILE, DECISION_FILE, Calibration, Decision
from fakenews.config import RunConfig, load_yaml
from fakenews.errors import FakeNewsError
from fakenews.io import read_json_object
from fakenews.metrics import DEFAULT_THRESHOLD
from fakenews.splits import SplitDir, check_manifest, load_split_dir, read_csv_text

CONFIG = "config.yaml"
DATA_MANIFEST = "data_manifest.json"
MODEL = "model"
TRAIN_SUMMARY = "train_summary.json"

RunKind = Literal["transformer", "baseline"]
DEFAULT_LABEL_MAPPING: dict[str, str] = {"0": LABELS[0], "1": LABELS[1]}
RETRAIN = "re-run `fakenews train`"


def eval_key(split: str, data_name: str | None = None) -> str:
    """Key of an evaluation's files: ``test`` in-domain, ``horne2017.test`` on another data set."""
    return split if not data_name else f"{data_name}.{split}"


def variant_suffix(
    *, long: str = "truncate", backend: str = "torch", precision: str = "fp32"
) -> str:
    """``""`` for the default inference (torch fp32, truncate); else ``+onnx``, ``+bf16``,
    ``+chunks`` or a combination (``+bf16+chunks``).

    Appended to the evaluation key, so ``metrics/test.json`` always holds the default inference
    and another variant never overwrites it.
    """
    return (
        ("+onnx" if backend == "onnx" else "")
        + ("" if precision == "fp32" else f"+{precision}")
        + ("+chunks" if long == "chunks" else "")
    )


def normalize_label_mapping(mapping: Any) -> dict[str, str]:
    """A manifest's ``label_mapping`` as ``{"0": "real", "1": "fake"}`` (the default when absent)."""
    if not isinstance(mapping, Mapping) or not mapping:
        return dict(DEFAULT_LABEL_MAPPING)
    return {str(k).strip(): str(v).strip().lower() for k, v in mapping.items()}


@dataclass(frozen=True)
class TrainSummary:
    """``train_summary.json``: what one training run did, for both kinds of run.

    ``train`` fills every field that applies; fields of one kind only are ``None`` for the
    other (the baseline has no loss and no checkpoints; a transformer no ``chosen_C``). Every
    field has a default so that summaries written by other tools or older versions still load.
    """

    model_name: str | None = None
    kind: RunKind | None = None
    train_runtime_s: float | None = None
    """Wall-clock seconds of fitting (tokenization and saving excluded)."""
    train_articles_per_s: float | None = None
    epochs_completed: float | None = None
    global_step: int | None = None
    best_checkpoint: str | None = None
    """Relative to the run dir; ``None`` for the baseline or without validation."""
    best_metric: float | None = None
    metric: str | None = None
    """The validation metric that chose the best checkpoint (``train.metric``)."""
    device: str | None = None
    world_size: int | None = None
    params_total: int | None = None
    n_train: int | None = None
    n_validation: int | None = None
    data_fingerprint: str | None = None
    split_dir: str | None = None
    """The split dir that trained the run, absolute (:meth:`RunDir.trained_split_dir`)."""
    validation: dict[str, float] = field(default_factory=dict)
    """Validation metrics of the kept model (``accuracy``, ``f1``, ``f1_macro``, ...)."""
    resumed: bool = False
    stopped_early: bool | None = None
    precision: str | None = None
    torch_threads: int | None = None
    total_steps_planned: int | None = None
    warmup_steps: int | None = None
    train_loss: float | None = None
    resumed_from: str | None = None
    transformers_version: str | None = None
    chosen_C: float | None = None
    """The baseline's inverse regularisation strength chosen on validation."""
    teacher: dict[str, Any] | None = None
    """Only for a run of ``fakenews distill``: the teacher (``run_dir``, ``model_name``, ``kind``,
    ``data_fingerprint``, ``test_accuracy`` when it was evaluated) and the recipe (``temperature``,
    ``alpha``, ``n_unlabeled``); ``None`` for a run of ``fakenews train``."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str) -> TrainSummary:
        """Read back what :meth:`to_dict` wrote (unknown keys from newer versions are ignored)."""
        known = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        if kwargs.get("kind") not in (None, "transformer", "baseline"):
            raise FakeNewsError(
                f"{where}: kind must be transformer or baseline, found {kwargs.get('kind')!r}; {RETRAIN}."
            )
        validation = kwargs.get("validation") or {}
        if not isinstance(validation, Mapping) or not all(
            v is None or (isinstance(v, int | float) and not isinstance(v, bool))
            for v in validation.values()
        ):
            raise FakeNewsError(
                f"{where}: validation must be a mapping of metrics to numbers, found {validation!r}; {RETRAIN}."
            )
        if not isinstance(kwargs.get("teacher") or {}, Mapping):
            raise FakeNewsError(
                f"{where}: teacher must be a mapping (the distillation teacher); {RETRAIN}."
            )
        for name in _NUMBERS:
            value = kwargs.get(name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                raise FakeNewsError(
                    f"{where}: {name} must be a number, found {value!r}; {RETRAIN}."
                )
        for name in ("model_name", "split_dir", "best_checkpoint", "device", "data_fingerprint"):
            value = kwargs.get(name)
            if value is not None and not isinstance(value, str):
                raise FakeNewsError(
                    f"{where}: {name} must be a string, found {value!r}; {RETRAIN}."
                )
        kwargs["validation"] = dict(kwargs.get("validation") or {})
        if kwargs.get("teacher") is not None:
            kwargs["teacher"] = dict(kwargs["teacher"])
        return cls(**kwargs)


_NUMBERS = (
    "train_runtime_s", "train_articles_per_s", "epochs_completed", "global_step", "best_metric",
    "world_size", "params_total", "n_train", "n_validation", "train_loss", "chosen_C",
)  # fmt: skip


@dataclass(frozen=True)
class RunDir:
    """A run dir. ``RunDir.open`` checks that it is one; the constructor does not.

    Typed reads are parsed once per object and cached: :attr:`config`, :attr:`manifest`,
    :attr:`summary`.
    """

    path: Path

    @classmethod
    def open(cls, path: Path | str) -> RunDir:
        run = cls(Path(path))
        if not run.path.exists():
            raise FakeNewsError(
                f"expected a run dir at {run.path}, found nothing there; create one with `fakenews train`."
            )
        if not run.path.is_dir():
            raise FakeNewsError(
                f"expected a run dir (a folder written by `fakenews train`) at {run.path}, found a file."
            )
        for needed in (CONFIG, DATA_MANIFEST, MODEL):
            if not (run.path / needed).exists():
                raise FakeNewsError(
                    f"{run.path} is not a complete run dir: {needed} is missing; "
                    "re-run `fakenews train` (with --resume if it was interrupted)."
                )
        run.check_files()
        return run

    def check_files(self) -> None:
        """Read ``config.yaml``, ``data_manifest.json`` and ``train_summary.json`` into their
        typed forms now, so a file of the wrong shape fails (one line naming it) before a
        command computes or writes anything."""
        _ = self.config, self.manifest, self.summary

    # -- paths written by train
    @property
    def config_file(self) -> Path:
        return self.path / CONFIG

    @property
    def data_manifest(self) -> Path:
        return self.path / DATA_MANIFEST

    @property
    def model(self) -> Path:
        return self.path / MODEL

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def history(self) -> Path:
        return self.path / "history.jsonl"

    @property
    def train_summary(self) -> Path:
        return self.path / TRAIN_SUMMARY

    @property
    def calibration_file(self) -> Path:
        return self.path / CALIBRATION_FILE

    @property
    def decision_file(self) -> Path:
        return self.path / DECISION_FILE

    @property
    def teacher_targets(self) -> Path:
        """``fakenews distill`` only: the teacher's P(fake) of every article the student learns from."""
        return self.path / "teacher_targets.csv"

    # -- paths written by evaluate / benchmark / export
    def metrics(self, key: str) -> Path:
        return self.path / "metrics" / f"{key}.json"

    def predictions(self, key: str) -> Path:
        return self.path / "predictions" / f"{key}.csv"

    def errors(self, key: str, suffix: str = ".md") -> Path:
        return self.path / "errors" / f"{key}{suffix}"

    @property
    def plots(self) -> Path:
        return self.path / "plots"

    @property
    def efficiency(self) -> Path:
        return self.path / "efficiency.json"

    @property
    def model_card_json(self) -> Path:
        return self.path / "model_card.json"

    @property
    def readme(self) -> Path:
        return self.path / "README.md"

    @property
    def onnx(self) -> Path:
        return self.path / "onnx"

    # -- typed reads (each parsed once)
    @cached_property
    def config(self) -> RunConfig:
        """``config.yaml`` as the :class:`RunConfig` that ``train`` wrote."""
        if not self.config_file.is_file():
            raise FakeNewsError(f"{self.path} has no {CONFIG}; {RETRAIN}.")
        data = load_yaml(self.config_file)
        model = data.get("model")
        named = isinstance(model, Mapping) and model.get("name") and model.get("kind")
        if not named and (model is None or isinstance(model, Mapping)):  # else from_dict says
            found = "an empty file" if not data else f"model: {model!r}"
            raise FakeNewsError(
                f"{self.config_file} should name the run's model (model: {{name: ..., kind: "
                f"transformer|baseline}}), found {found}; {RETRAIN}."
            )
        return RunConfig.from_dict(data, where=str(self.config_file))

    @property
    def kind(self) -> RunKind:
        return self.config.model.kind

    @cached_property
    def manifest(self) -> dict[str, Any]:
        """``data_manifest.json``: the manifest of the split dir the run was trained on."""
        fix = f"{RETRAIN} to write it"
        data = read_json_object(self.data_manifest, what="run data manifest", fix=fix)
        return check_manifest(data, where=self.data_manifest, fix=fix)

    @property
    def data_fingerprint(self) -> str:
        return str(self.manifest.get("fingerprint", ""))

    @property
    def label_mapping(self) -> dict[str, str]:
        return normalize_label_mapping(self.manifest.get("label_mapping"))

    @property
    def label_names(self) -> tuple[str, str]:
        """Class names by label id (default ``("real", "fake")``)."""
        mapping = self.label_mapping
        return (mapping.get("0", LABELS[0]), mapping.get("1", LABELS[1]))

    @cached_property
    def summary(self) -> TrainSummary | None:
        """``train_summary.json`` as a :class:`TrainSummary`; ``None`` when the file is absent."""
        if not self.train_summary.is_file():
            return None
        data = read_json_object(self.train_summary, what="training summary", fix=RETRAIN)
        return TrainSummary.from_dict(data, where=str(self.train_summary))

    @cached_property
    def calibration(self) -> Calibration | None:
        """``calibration.json`` as a :class:`Calibration`; ``None`` when the run has none (T = 1)."""
        if not self.calibration_file.is_file():
            return None
        fix = "re-run `fakenews calibrate RUN_DIR`"
        data = read_json_object(self.calibration_file, what="calibration file", fix=fix)
        return Calibration.from_dict(data, where=str(self.calibration_file))

    @cached_property
    def decision(self) -> Decision | None:
        """``decision.json`` as a :class:`Decision`; ``None`` when the run has none (threshold 0.5)."""
        if not self.decision_file.is_file():
            return None
        fix = "re-run `fakenews calibrate RUN_DIR`"
        data = read_json_object(self.decision_file, what="decision file", fix=fix)
        return Decision.from_dict(data, where=str(self.decision_file))

    @property
    def temperature(self) -> float:
        """The calibration temperature (1.0 without ``calibration.json``)."""
        return self.calibration.temperature if self.calibration is not None else 1.0

    @property
    def threshold(self) -> float:
        """The decision threshold on calibrated P(fake) (0.5 without ``decision.json``)."""
        return self.decision.threshold if self.decision is not None else DEFAULT_THRESHOLD

    def trained_split_dir(self) -> Path:
        """The split dir the run was trained on (``split_dir`` in ``train_summary.json``)."""
        raw = self.summary.split_dir if self.summary is not None else None
        if not raw:
            raise FakeNewsError(
                f"{self.path} does not record the split dir it was trained on (split_dir in "
                "train_summary.json); pass --data SPLIT_DIR."
            )
        path = Path(raw)
        if not path.is_absolute():
            path = self.path / path
        if not path.is_dir():
            raise FakeNewsError(
                f"the run's split dir {path} is gone; pass --data SPLIT_DIR (a copy of it)."
            )
        return path

    def split_dir(self, data: Path | str | None = None) -> SplitDir:
        """The split dir to score: ``data`` when given, else the one that trained the run.

        Its label mapping must equal the run's.
        """
        split_dir = load_split_dir(Path(data) if data is not None else self.trained_split_dir())
        theirs = normalize_label_mapping(split_dir.manifest.get("label_mapping"))
        if theirs != self.label_mapping:
            raise FakeNewsError(
                f"--data {split_dir.path} maps labels as {theirs} but the run was trained with {self.label_mapping}; "
                "re-prepare it with `fakenews prepare ... --fake-label` so that 1 means fake and 0 means real."
            )
        return split_dir


# -- files written by evaluate, read back by compare, study and the model card

METRIC_NUMBERS: tuple[str, ...] = (
    "n", "accuracy", "precision_weighted", "recall_weighted", "f1_weighted", "precision_macro",
    "recall_macro", "f1_macro", "roc_auc", "fpr", "fnr", "ece", "brier", "threshold",
)  # fmt: skip
METRIC_STRINGS: tuple[str, ...] = ("key", "split", "data_name", "data_path", "data_fingerprint")
PREDICTION_COLUMNS: tuple[str, ...] = ("id", "label", "pred", "prob_fake")


def read_metrics(path: Path, *, fix: str) -> dict[str, Any]:
    """``metrics/<key>.json``: a JSON object whose figures are numbers (or null) and whose
    identity fields are strings (or null); anything else is one line naming the file and ``fix``."""
    doc = read_json_object(path, what="metrics file", fix=fix)
    for name in METRIC_NUMBERS:
        value = doc.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise FakeNewsError(f"{path}: {name} should be a number, found {value!r}; {fix}.")
    for name in METRIC_STRINGS:
        value = doc.get(name)
        if value is not None and not isinstance(value, str):
            raise FakeNewsError(f"{path}: {name} should be a string, found {value!r}; {fix}.")
    return doc


def read_predictions(path: Path, *, fix: str) -> pd.DataFrame:
    """``predictions/<key>.csv`` as ``id`` (str), ``label`` and ``pred`` (0/1) and ``prob_fake``
    (a probability), one row per article; a missing column, an unknown label, a probability
    outside [0, 1] or a repeated id is one line naming the file and ``fix``."""
    frame = read_csv_text(path, what="predictions file")
    missing = [c for c in PREDICTION_COLUMNS if c not in frame.columns]
    if missing:
        raise FakeNewsError(
            f"{path} lacks column(s) {', '.join(missing)}; expected {','.join(PREDICTION_COLUMNS)}; {fix}."
        )
    if frame.empty:
        raise FakeNewsError(f"{path} has no rows; {fix}.")
    if frame["id"].duplicated().any():
        dup = frame.loc[frame["id"].duplicated(), "id"].iloc[0]
        raise FakeNewsError(f"{path} lists article id {dup!r} twice; ids must be unique; {fix}.")
    out = pd.DataFrame({"id": frame["id"].astype(str)})
    for column in ("label", "pred"):
        values = frame[column].str.strip()
        bad = values[~values.isin(("0", "1"))]
        if len(bad):
            raise FakeNewsError(
                f"{path}: {column} should be 0 (real) or 1 (fake), found {bad.iloc[0]!r}; {fix}."
            )
        out[column] = values.astype(int).to_numpy()
    probs = pd.to_numeric(frame["prob_fake"].str.strip(), errors="coerce")
    bad = frame["prob_fake"][probs.isna() | (probs < 0) | (probs > 1)]
    if len(bad):
        raise FakeNewsError(
            f"{path}: prob_fake should be a probability from 0 to 1, found {bad.iloc[0]!r}; {fix}."
        )
    out["prob_fake"] = probs.astype(float).to_numpy()
    return out
