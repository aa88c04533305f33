"""The training config: frozen dataclasses, YAML load/dump and dotted ``--set`` overrides.

A run's config is built in layers, each one overriding the last::

    defaults (the dataclasses below)
      -> the preset's recipe (``configs/<preset>.yaml``)
      -> a user YAML file (``--config my.yaml``)
      -> ``--set section.key=value`` overrides (values are parsed as YAML: ``3e-5``, ``null``, ``[1, 10]``)

The result is written to ``RUN_DIR/config.yaml`` with the sections ``model``, ``data``, ``train``,
``baseline``, ``calibrate``, ``decision``, ``distill`` and the top-level ``seed``. Every check happens in ``__post_init__`` and raises
:class:`~fakenews.errors.FakeNewsError` quoting the bad value.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import yaml

from fakenews.calibration_files import CalibrationMethod, parse_policy
from fakenews.errors import FakeNewsError

ModelKind = Literal["transformer", "baseline"]
ModelSize = Literal["tiny", "small", "base"]
Truncation = Literal["head", "head_tail"]
Padding = Literal["dynamic", "max_length"]
Metric = Literal["f1", "accuracy"]
TrainPrecision = Literal["auto", "fp32", "fp16", "bf16"]
Device = Literal["auto", "cpu", "cuda"]
Scheduler = Literal["linear", "cosine", "constant", "constant_with_warmup"]
ClassWeight = Literal["none", "balanced"]
"""``train.class_weight``: ``none`` or ``balanced`` (each class weighted ``n / (2 * n_class)``)."""
Backend = Literal["torch", "onnx"]
"""Inference backend: ``torch`` loads ``model/``, ``onnx`` the export under ``onnx/``."""
LongMode = Literal["truncate", "chunks"]
"""Long articles at inference: the run's truncation, or overlapping windows averaged."""
InferencePrecision = Literal["fp32", "bf16"]
"""Inference precision of the torch backend (``train.precision`` is :data:`TrainPrecision`)."""

BASELINE_NAMES: frozenset[str] = frozenset({"tfidf-logreg"})
"""Model names that are classical baselines (``model.kind: baseline``), not transformers."""


def _allowed(name: str, value: Any, literal: Any, section: str) -> None:
    allowed = get_args(literal)
    if value not in allowed:
        raise FakeNewsError(
            f"{section}.{name} must be one of {', '.join(map(str, allowed))}; found {value!r}. "
            f"Fix it with --set {section}.{name}={allowed[0]}."
        )


def _positive(section: str, name: str, value: float, *, zero_ok: bool = False) -> None:
    if value < 0 or (value == 0 and not zero_ok):
        bound = ">= 0" if zero_ok else "> 0"
        raise FakeNewsError(f"{section}.{name} must be {bound}; found {value!r}.")


@dataclass(frozen=True)
class ModelConfig:
    """Which model to train."""

    name: str = "minilm-l6"
    """A preset (``minilm-l6`` default, ``albert-base-v2``, ``tfidf-logreg``, ... see
    ``fakenews.models.presets``), a hub id (``owner/name``), a local model dir, or
    ``scratch:albert|bert|distilbert|mobilebert`` (random init + tokenizer trained on the train split)."""

    kind: ModelKind = "transformer"
    """``transformer`` (default) or ``baseline``; set from ``name`` (``tfidf-logreg`` is a baseline)."""

    size: ModelSize = "base"
    """Only for ``scratch:*``: ``tiny`` (hidden 32, 2 layers, 2 heads, intermediate 64), ``small``
    (hidden 256, 4 layers, 4 heads) or ``base`` (default; the ``*-base`` architecture, e.g. albert-base-v2:
    hidden 768, 12 layers, 128-dim factorised embeddings, one shared layer group)."""

    vocab_size: int = 30000
    """Only for ``scratch:*``: target vocabulary of the tokenizer trained on the train split (default 30000,
    ALBERT's; a small train split yields fewer)."""

    keep_layers: int | None = None
    """Only for pretrained encoders: keep the bottom N encoder layers and drop the rest before
    fine-tuning (Sajjad et al. 2020, "Poor Man's BERT"); default null keeps them all. N is 1 up to the
    model's layer count (checked when the model is built); the saved model is an N-layer model."""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise FakeNewsError(
                f"model.name must be a preset, hub id, path or scratch:ARCH; found {self.name!r}."
            )
        _allowed("kind", self.kind, ModelKind, "model")
        _allowed("size", self.size, ModelSize, "model")
        _positive("model", "vocab_size", self.vocab_size)
        expected = "baseline" if self.name in BASELINE_NAMES else "transformer"
        if self.kind != expected:
            raise FakeNewsError(
                f"model.kind is {self.kind!r} but model {self.name!r} is a {expected}; drop model.kind from your config."
            )
        layers = self.keep_layers
        if layers is not None and (isinstance(layers, bool) or layers < 1):
            raise FakeNewsError(
                f"model.keep_layers must be a number of encoder layers >= 1 (or null to keep all); found {layers!r}."
            )
        if layers is not None and (self.kind == "baseline" or self.name.startswith("scratch:")):
            what = "a baseline" if self.kind == "baseline" else "built from scratch at model.size"
            raise FakeNewsError(
                f"model.keep_layers applies to pretrained encoders, but {self.name!r} is {what}; drop model.keep_layers."
            )


@dataclass(frozen=True)
class DataConfig:
    """How articles become model inputs (always the split's ``combined_text``)."""

    max_length: int = 512
    """Tokens per article including special tokens (default 512, the study's; at most the model's
    position embeddings)."""

    truncation: Truncation = "head"
    """``head`` (default: keep the first ``max_length`` tokens) or ``head_tail`` (keep the first 128 and
    last 382 of 510 body tokens, scaled to ``max_length``; Sun et al. 2019)."""

    padding: Padding = "dynamic"
    """``dynamic`` (default: pad each batch to its longest article) or ``max_length`` (pad every batch to
    ``max_length``, as the study did; only to reproduce it)."""

    group_by_length: bool = True
    """Batch articles of similar length together (default true) so dynamic padding pads little."""

    cache_dir: str | None = None
    """Cache of tokenized splits (keyed by tokenizer, max_length, truncation, split fingerprint) and of
    tokenizers trained for ``scratch:*`` models; default null = ``$XDG_CACHE_HOME/fakenews`` (``~/.cache/fakenews``)."""

    def __post_init__(self) -> None:
        if isinstance(self.max_length, bool) or not 8 <= self.max_length <= 8192:
            raise FakeNewsError(
                f"data.max_length must be an integer from 8 to 8192; found {self.max_length!r}."
            )
        _allowed("truncation", self.truncation, Truncation, "data")
        _allowed("padding", self.padding, Padding, "data")


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation (mapped to ``transformers.TrainingArguments`` in ``fakenews.training`` only)."""

    epochs: float = 3.0
    """Training epochs (default 3; early stopping may end sooner)."""

    learning_rate: float = 5e-5
    """Peak learning rate of AdamW (default 5e-5)."""

    batch_size: int = 16
    """Articles per device per step (default 16)."""

    eval_batch_size: int = 32
    """Articles per device per evaluation step (default 32)."""

    gradient_accumulation: int = 1
    """Steps whose gradients are summed before an update (default 1; the study used 2)."""

    weight_decay: float = 0.01
    """AdamW weight decay (default 0.01)."""

    warmup_steps: int | None = None
    """Linear warm-up steps (default null = use ``warmup_ratio`` alone). With ``warmup_ratio`` > 0 as
    well, warm-up is ``min(warmup_steps, warmup_ratio * total_steps)`` (the study: 1000 capped to 10%)."""

    warmup_ratio: float = 0.0
    """Warm-up as a fraction of all optimisation steps, from 0 (default) to < 1."""

    scheduler: Scheduler = "linear"
    """Learning-rate schedule after warm-up: ``linear`` (default), ``cosine``, ``constant``,
    ``constant_with_warmup``."""

    max_grad_norm: float = 1.0
    """Gradient clipping norm (default 1.0)."""

    early_stopping_patience: int | None = 3
    """Stop after this many evaluations without improvement of ``metric`` (default 3; null = never)."""

    early_stopping_threshold: float = 0.001
    """Smallest improvement of ``metric`` that counts (default 0.001)."""

    metric: Metric = "f1"
    """Validation metric that picks the best checkpoint and drives early stopping: ``f1`` (default,
    weighted F1) or ``accuracy``."""

    precision: TrainPrecision = "auto"
    """``auto`` (default: bf16 on GPUs that support it, else fp16 on GPU, fp32 on CPU), ``fp32``,
    ``fp16`` (GPU only) or ``bf16``."""

    device: Device = "auto"
    """``auto`` (default: CUDA when available), ``cpu`` or ``cuda``."""

    logging_steps: int = 10
    """Log training loss to ``history.jsonl`` every this many steps (default 10)."""

    save_total_limit: int | None = 2
    """Checkpoints kept in ``checkpoints/`` besides the best one (default 2; null = all)."""

    torch_threads: int | None = None
    """CPU threads for torch (default null = leave torch's default)."""

    dataloader_workers: int = 0
    """Data-loader worker processes (default 0 = load in the training process)."""

    class_weight: ClassWeight = "none"
    """``none`` (default) or ``balanced``: weight each class's loss by ``n / (2 * n_class)`` of the
    training split (weighted cross-entropy for transformers, ``class_weight`` of the baseline's
    logistic regression), for imbalanced data such as moderation queues."""

    def __post_init__(self) -> None:
        _positive("train", "epochs", self.epochs)
        _positive("train", "learning_rate", self.learning_rate)
        for name in ("batch_size", "eval_batch_size", "gradient_accumulation", "logging_steps"):
            _positive("train", name, getattr(self, name))
        _positive("train", "weight_decay", self.weight_decay, zero_ok=True)
        _positive("train", "max_grad_norm", self.max_grad_norm, zero_ok=True)
        _positive("train", "early_stopping_threshold", self.early_stopping_threshold, zero_ok=True)
        _positive("train", "dataloader_workers", self.dataloader_workers, zero_ok=True)
        if self.warmup_steps is not None:
            _positive("train", "warmup_steps", self.warmup_steps, zero_ok=True)
        if not 0 <= self.warmup_ratio < 1:
            raise FakeNewsError(
                f"train.warmup_ratio must be in [0, 1); found {self.warmup_ratio!r}."
            )
        for name in ("early_stopping_patience", "save_total_limit", "torch_threads"):
            value = getattr(self, name)
            if value is not None:
                _positive("train", name, value)
        _allowed("scheduler", self.scheduler, Scheduler, "train")
        _allowed("metric", self.metric, Metric, "train")
        _allowed("precision", self.precision, TrainPrecision, "train")
        _allowed("device", self.device, Device, "train")
        _allowed("class_weight", self.class_weight, ClassWeight, "train")
        if self.device == "cpu" and self.precision == "fp16":
            raise FakeNewsError(
                "train.precision=fp16 needs a GPU but train.device=cpu; use --set train.precision=fp32 (or bf16)."
            )


@dataclass(frozen=True)
class BaselineConfig:
    """The TF-IDF + logistic-regression baseline (``--model tfidf-logreg``)."""

    ngram_max: int = 2
    """Longest word n-gram (default 2: unigrams and bigrams)."""

    min_df: int = 2
    """Drop n-grams seen in fewer training articles (default 2)."""

    max_features: int | None = 200_000
    """Keep the most frequent n-grams (default 200000; null = all)."""

    c_grid: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0)
    """Inverse regularisation strengths tried; the best on validation ``train.metric`` wins
    (default [0.1, 1, 10, 100]; ties go to the smaller C)."""

    def __post_init__(self) -> None:
        _positive("baseline", "ngram_max", self.ngram_max)
        _positive("baseline", "min_df", self.min_df)
        if self.max_features is not None:
            _positive("baseline", "max_features", self.max_features)
        if not self.c_grid or any(not isinstance(c, int | float) or c <= 0 for c in self.c_grid):
            raise FakeNewsError(
                f"baseline.c_grid must be a non-empty list of positive numbers; found {list(self.c_grid)!r}."
            )
        object.__setattr__(self, "c_grid", tuple(float(c) for c in self.c_grid))


@dataclass(frozen=True)
class CalibrateConfig:
    """Probability calibration that ``train`` runs at its end (``fakenews calibrate`` re-runs it)."""

    method: CalibrationMethod = "temperature"
    """``temperature`` (default: temperature scaling fitted on the validation split, Guo et al.
    2017) or ``none`` (keep the model's probabilities; ``--set calibrate.method=none``)."""

    def __post_init__(self) -> None:
        _allowed("method", self.method, CalibrationMethod, "calibrate")


@dataclass(frozen=True)
class DecisionConfig:
    """How ``train`` picks the decision threshold on calibrated P(fake), on the validation split."""

    policy: str = "argmax"
    """``argmax`` (default: threshold 0.5), ``max_f1`` (the fake class's F1), ``fpr:B`` (the lowest
    threshold whose false-positive rate is at most B, e.g. ``fpr:0.05``) or ``precision:P`` (the
    lowest threshold whose precision on fake is at least P, e.g. ``precision:0.95``)."""

    fallback: str | None = None
    """Policy used when validation is too small for ``policy`` (default null: refuse with an
    error instead), e.g. ``argmax``; the fallback is recorded in ``decision.json``."""

    def __post_init__(self) -> None:
        parse_policy(self.policy, flag="decision.policy")
        if self.fallback is not None:
            parse_policy(self.fallback, flag="decision.fallback")


@dataclass(frozen=True)
class DistillConfig:
    """Knowledge distillation (``fakenews distill``; ignored by ``fakenews train``).

    The student's loss is ``alpha * KL(teacher_T || student_T) * T**2 + (1 - alpha) * CE(student,
    label)`` (Hinton et al. 2015): ``teacher_T`` and ``student_T`` are the two models' class
    probabilities softened by the temperature ``T``; the ``T**2`` keeps the soft term's gradients on
    the scale of the hard one's as ``T`` grows. Articles without a label (``--unlabeled``) only
    contribute the KL term.
    """

    temperature: float = 2.0
    """Softening temperature ``T`` of both models' logits in the KL term (default 2; 1 = the plain
    probabilities, higher = softer targets that say more about the teacher's doubt)."""

    alpha: float = 0.5
    """Weight of the KL (teacher) term, from 0 to 1 (default 0.5): 1 = learn from the teacher
    alone, 0 = from the labels alone (plain fine-tuning)."""

    teacher: str | None = None
    """Set by ``fakenews distill``: the teacher run dir (absolute); null for a run of ``train``."""

    unlabeled: str | None = None
    """Set by ``fakenews distill --unlabeled FILE``: the extra articles the teacher labelled
    (absolute path); null = the train split alone."""

    def __post_init__(self) -> None:
        t = self.temperature
        if isinstance(t, bool) or not isinstance(t, int | float) or not 0 < t <= 100:
            raise FakeNewsError(
                f"distill.temperature must be a number > 0 and <= 100; found {t!r}. Fix it with --set distill.temperature=2."
            )
        a = self.alpha
        if isinstance(a, bool) or not isinstance(a, int | float) or not 0 <= a <= 1:
            raise FakeNewsError(
                f"distill.alpha must be a number from 0 to 1 (the teacher's share of the loss); found {a!r}. "
                "Fix it with --set distill.alpha=0.5."
            )


@dataclass(frozen=True)
class RunConfig:
    """Everything ``fakenews train`` needs besides the split dir and the output dir."""

    model: ModelConfig = field(default_factory=ModelConfig)
    """Which model (section ``model``)."""

    data: DataConfig = field(default_factory=DataConfig)
    """Inputs (section ``data``)."""

    train: TrainConfig = field(default_factory=TrainConfig)
    """Optimisation (section ``train``)."""

    baseline: BaselineConfig = field(default_factory=BaselineConfig)
    """The TF-IDF baseline's settings (section ``baseline``; ignored by transformers)."""

    calibrate: CalibrateConfig = field(default_factory=CalibrateConfig)
    """Probability calibration after training (section ``calibrate``)."""

    decision: DecisionConfig = field(default_factory=DecisionConfig)
    """The decision threshold's policy (section ``decision``)."""
    distill: DistillConfig = field(default_factory=DistillConfig)
    """Distillation (section ``distill``; used by ``fakenews distill`` only)."""

    seed: int = 42
    """Seed for weight init, data order and dropout (default 42, the study's)."""

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise FakeNewsError(f"seed must be a non-negative integer; found {self.seed!r}.")

    # -- conversions
    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (tuples become lists), in field order: what ``config.yaml`` holds."""
        return _plain(dataclasses.asdict(self))

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "config") -> RunConfig:
        """Build from a nested mapping; unknown keys and wrong types are one-line errors."""
        return _build(cls, data, prefix="", where=where)

    def with_overrides(self, overrides: Mapping[str, Any], *, where: str = "--set") -> RunConfig:
        """A copy with dotted keys replaced: ``{"train.learning_rate": 3e-5}``."""
        data = self.to_dict()
        for key, value in overrides.items():
            _set_dotted(data, key, value, where=where)
        return RunConfig.from_dict(data, where=where)

    def diff(self, other: RunConfig) -> list[str]:
        """Dotted keys whose values differ between two configs (for ``--resume``)."""
        mine, theirs = flatten_keys(self.to_dict()), flatten_keys(other.to_dict())
        return [k for k in mine if mine.get(k) != theirs.get(k)]


# ---------------------------------------------------------------- loading and overrides


def valid_keys() -> list[str]:
    """Every dotted key a config may set (``model.name``, ``train.learning_rate``, ``seed``, ...)."""
    return list(flatten_keys(RunConfig().to_dict()))


def load_yaml(path: Path | str) -> dict[str, Any]:
    """Read a YAML config file into a mapping (``{}`` for an empty file)."""
    path = Path(path)
    if not path.is_file():
        raise FakeNewsError(
            f"expected a YAML config file at {path}, found {'a directory' if path.is_dir() else 'nothing'}; check --config."
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        reason = " ".join(str(exc).split())
        raise FakeNewsError(
            f"config file {path} is not valid YAML ({reason}); fix the file."
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise FakeNewsError(
            f"config file {path} must hold a mapping (model:, data:, train:, ...), found a {type(data).__name__}."
        )
    return data


def parse_override(item: str) -> tuple[str, Any]:
    """``"train.learning_rate=3e-5"`` -> ``("train.learning_rate", 3e-05)``; the value is parsed as YAML."""
    key, sep, raw = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise FakeNewsError(f"--set expects key=value (e.g. --set train.epochs=3); found {item!r}.")
    if key not in valid_keys():
        raise FakeNewsError(f"--set {key}: {_unknown_key_hint(key)}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    # YAML 1.1 reads "3e-5" as a string (no dot); accept it as the number it means.
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = float(value) if any(ch in value.lower() for ch in ".e") else value
    return key, value


def parse_overrides(items: Iterable[str]) -> dict[str, Any]:
    return dict(parse_override(item) for item in items)


def merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Recursive dict merge: values of ``update`` win; nested mappings merge."""
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def _unknown_key_hint(key: str) -> str:
    keys = valid_keys()
    section, _, leaf = key.rpartition(".")
    # an abbreviation by initials ("train.lr" -> train.learning_rate, "train.bs" -> train.batch_size)
    close = [
        k
        for k in keys
        if k.rpartition(".")[0] == section
        and "".join(w[0] for w in k.rpartition(".")[2].split("_")) == leaf
    ]
    close = close or difflib.get_close_matches(key, keys, n=1, cutoff=0.5)
    if not close:  # a right leaf under a wrong section ("training.epochs") still deserves a hint
        close = [k for k in keys if k.rsplit(".", 1)[-1] == leaf][:1] or difflib.get_close_matches(
            leaf, keys, n=1, cutoff=0.5
        )
    hint = f"did you mean {close[0]!r}?" if close else f"valid keys: {', '.join(keys)}."
    return f"unknown config key {key!r}; {hint}"


def _set_dotted(data: dict[str, Any], key: str, value: Any, *, where: str) -> None:
    if key not in valid_keys():
        raise FakeNewsError(f"{where} {key}: {_unknown_key_hint(key)}")
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise FakeNewsError(f"{where}: {part} must be a mapping of keys, found {node!r}.")
    node[parts[-1]] = value


def flatten_keys(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"train": {"epochs": 3}}`` -> ``{"train.epochs": 3}``."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            out.update(flatten_keys(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _build(cls: type, data: Mapping[str, Any], *, prefix: str, where: str) -> Any:
    if not isinstance(data, Mapping):
        section = prefix.rstrip(".") or "config"
        raise FakeNewsError(f"{where}: {section} must be a mapping of keys, found {data!r}.")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if key not in fields:
            raise FakeNewsError(f"{where}: {_unknown_key_hint(dotted)}")
        hint = hints[key]
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            kwargs[key] = _build(
                hint, value if value is not None else {}, prefix=f"{dotted}.", where=where
            )
        else:
            kwargs[key] = _coerce(value, hint, dotted, where=where)
    return cls(**kwargs)


def _coerce(value: Any, hint: Any, key: str, *, where: str) -> Any:
    """Check ``value`` against a field's type; ints pass as floats, lists as tuples."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            return _coerce(value, inner[0], key, where=where)
    if origin is Literal:
        if value in args:
            return value
        raise FakeNewsError(
            f"{where}: {key} must be one of {', '.join(map(str, args))}; found {value!r}."
        )
    if origin is tuple:
        if isinstance(value, list | tuple):
            return tuple(_coerce(v, args[0], key, where=where) for v in value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return (_coerce(value, args[0], key, where=where),)
        return _wrong_type(value, "a list of numbers", key, where)
    if hint is bool:
        if isinstance(value, bool):
            return value
        return _wrong_type(value, "true or false", key, where)
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return _wrong_type(value, "an integer", key, where)
    if hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        return _wrong_type(value, "a number", key, where)
    if hint is str:
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        return _wrong_type(value, "a string", key, where)
    return value


def _wrong_type(value: Any, expected: str, key: str, where: str) -> Any:
    nullable = key in _NULLABLE
    raise FakeNewsError(
        f"{where}: {key} expects {expected}{' or null' if nullable else ''}; found {value!r} ({type(value).__name__})."
    )


def _nullable_keys() -> frozenset[str]:
    out = set()
    for section in (
        ModelConfig,
        DataConfig,
        TrainConfig,
        BaselineConfig,
        CalibrateConfig,
        DecisionConfig,
        DistillConfig,
    ):
        name = {
            ModelConfig: "model",
            DataConfig: "data",
            TrainConfig: "train",
            BaselineConfig: "baseline",
            CalibrateConfig: "calibrate",
            DecisionConfig: "decision",
            DistillConfig: "distill",
        }[section]
        for key, hint in typing.get_type_hints(section).items():
            if type(None) in get_args(hint):
                out.add(f"{name}.{key}")
    return frozenset(out)


_NULLABLE = _nullable_keys()


def resolve_config(
    model: str,
    *,
    recipe: Mapping[str, Any] | None = None,
    config_path: Path | str | None = None,
    overrides: Mapping[str, Any] | Iterable[str] = (),
) -> RunConfig:
    """Layer defaults <- preset recipe <- ``--config`` file <- ``--set`` overrides, with ``model.name = model``."""
    data: dict[str, Any] = dict(recipe or {})
    where = "preset recipe"
    if config_path is not None:
        data = merge(data, load_yaml(config_path))
        where = f"config file {config_path}"
    kind = "baseline" if model in BASELINE_NAMES else "transformer"
    identity = {"model.name": model, "model.kind": kind}
    for key, value in identity.items():
        _set_dotted(data, key, value, where=where)
    base = RunConfig.from_dict(data, where=where)
    items = dict(overrides) if isinstance(overrides, Mapping) else parse_overrides(overrides)
    if not items:
        return base
    return base.with_overrides({**items, **identity}, where="--set")


def load_config(path: Path | str) -> RunConfig:
    """Read a run's ``config.yaml`` back into a :class:`RunConfig`."""
    return RunConfig.from_dict(load_yaml(path), where=str(path))
