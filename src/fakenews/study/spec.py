"""The study file: ``STUDY.yaml`` → a frozen :class:`Study`, validated in full before anything runs.

::

    datasets:
      welfake:    {path: ../shared/data/welfake_sample1000/welfake_sample1000.csv}
      politifact: {path: ../shared/data/fakenewsnet_politifact/fakenewsnet_politifact.csv, strip_markers: true}
      horne:      {path: ../shared/data/horne2017/horne2017_random.csv, test_only: true}
    models:
      - tfidf-logreg
      - {name: minilm-small, model: minilm-l6, set: {data.max_length: 64, train.epochs: 2}}
    protocols: [in_domain, pooled, leave_one_out]

Paths are relative to the study file (or absolute). A data set takes the options of
``fakenews prepare`` (:data:`DATASET_KEYS`); ``test_only: true`` prepares it with the split
``0,0,1``: it is only ever evaluated on. Every bad entry is one :class:`FakeNewsError` line.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from fakenews.config import resolve_config
from fakenews.data.prepare import PrepareOptions
from fakenews.data.shortcuts import ShortcutOptions
from fakenews.data.sources import ReadOptions
from fakenews.errors import FakeNewsError
from fakenews.models.presets import PRESETS, find_preset

PROTOCOLS: tuple[str, ...] = ("in_domain", "pooled", "leave_one_out")
"""``in_domain``: train on each set, test on every set (the cross matrix); ``pooled``: train on
the union of the trainable sets; ``leave_one_out``: train on all trainable sets but one."""
TOP_KEYS: tuple[str, ...] = (
    "datasets",
    "models",
    "protocols",
    "data_root",
    "benchmark",
    "bench_articles",
)
DEFAULT_BENCH_ARTICLES = 30
READ_KEYS: tuple[str, ...] = (
    "format",
    "text_column",
    "title_column",
    "label_column",
    "id_column",
    "fake_labels",
    "real_labels",
)
PREPARE_KEYS: tuple[str, ...] = (
    "split",
    "seed",
    "group_by",
    "near_duplicates",
    "drop_near_duplicates",
    "min_text_chars",
    "strip_markers",
    "strip_patterns",
)
DATASET_KEYS: tuple[str, ...] = ("path", "test_only", *READ_KEYS, *PREPARE_KEYS)
MODEL_KEYS: tuple[str, ...] = ("name", "model", "set")
TEST_ONLY_SPLIT: tuple[float, float, float] = (0.0, 0.0, 1.0)
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
"""A data set or model name: it names folders (``data/NAME``) and evaluation keys."""


@dataclass(frozen=True)
class DatasetSpec:
    """One data set of the study: where it is and how ``prepare`` reads and splits it."""

    name: str
    path: Path
    options: PrepareOptions
    test_only: bool = False


@dataclass(frozen=True)
class ModelSpec:
    """One model: a preset with ``--set`` overrides, shown as ``name``."""

    name: str
    model: str
    overrides: tuple[tuple[str, Any], ...] = ()

    @property
    def override_list(self) -> list[str]:
        """``["data.max_length=64", ...]`` for :func:`fakenews.training.train`."""
        return [f"{k}={_yaml_value(v)}" for k, v in self.overrides]


@dataclass(frozen=True)
class TrainSet:
    """What one run trains on: the names of the trainable data sets pooled (one for in-domain)."""

    members: tuple[str, ...]

    @property
    def name(self) -> str:
        return "+".join(self.members)


@dataclass(frozen=True)
class Study:
    """A validated study: data sets, models, protocols and the study file it came from."""

    path: Path
    datasets: tuple[DatasetSpec, ...]
    models: tuple[ModelSpec, ...]
    protocols: tuple[str, ...] = ("in_domain",)
    benchmark: bool = True
    """``benchmark`` every trained run (``efficiency.json``); ``benchmark: false`` skips it."""
    bench_articles: int = DEFAULT_BENCH_ARTICLES
    """Test articles timed per run by ``benchmark``."""

    @property
    def trainable(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.datasets if not d.test_only)

    def train_sets(self, protocol: str) -> tuple[TrainSet, ...]:
        """The training sets of ``protocol``, in study order."""
        names = self.trainable
        if protocol == "in_domain":
            return tuple(TrainSet((n,)) for n in names)
        if protocol == "pooled":
            return (TrainSet(names),)
        return tuple(TrainSet(tuple(m for m in names if m != left)) for left in names)


def _yaml_value(value: Any) -> str:
    """A ``--set`` value as text that :func:`fakenews.config.parse_overrides` reads back."""
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("\n...").strip()


def _suggest(key: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    return f"did you mean {close[0]!r}? " if close else ""


def _check_keys(entry: Mapping[str, Any], known: tuple[str, ...], where: str) -> None:
    for key in entry:
        if key not in known:
            raise FakeNewsError(
                f"{where}: unknown key {key!r}; {_suggest(str(key), known)}"
                f"expected one of {', '.join(known)}."
            )


def _check_name(name: Any, where: str) -> str:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise FakeNewsError(
            f"{where}: name {name!r} is not usable; expected letters, digits, '_', '.' or '-' "
            "(it names a folder), e.g. welfake."
        )
    return name


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping (two data sets named
    alike would otherwise silently become one)."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise FakeNewsError(
                f"name {key!r} appears twice (line {key_node.start_mark.line + 1}); give each "
                "data set, model and key its own name."
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _unique_mapping,  # type: ignore[arg-type]
)


def load_study(path: Path | str, *, data_root: Path | str | None = None) -> Study:
    """Read and validate ``STUDY.yaml``; nothing is written. ``data_root`` replaces the file's
    own ``data_root`` (the folder data set paths are relative to)."""
    path = Path(path)
    if not path.is_file():
        raise FakeNewsError(
            f"expected a study file at {path}, found nothing there; check the path."
        )
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except FakeNewsError as exc:
        raise FakeNewsError(f"study file {path}: {exc}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise FakeNewsError(f"study file {path} is not valid YAML ({first}).") from None
    if not isinstance(raw, dict):
        raise FakeNewsError(
            f"study file {path} should hold a mapping with {', '.join(TOP_KEYS)}, "
            f"found {type(raw).__name__.replace('NoneType', 'nothing')}."
        )
    if data_root is not None:
        raw = {**raw, "data_root": str(Path(data_root).expanduser().resolve())}
    return parse_study(raw, path)


def parse_study(raw: Mapping[str, Any], path: Path) -> Study:
    """Validate the mapping of a study file (paths relative to ``data_root``, by default the
    study file's folder; ``data_root`` itself is relative to that folder or absolute)."""
    where = f"study file {path}"
    _check_keys(raw, TOP_KEYS, where)
    for key in ("datasets", "models"):
        if key not in raw:
            raise FakeNewsError(f"{where}: missing {key!r}; see docs/study.md for the shape.")
    root = _data_root(raw.get("data_root"), path, where)
    datasets = _datasets(raw["datasets"], path, root)
    models = _models(raw["models"], where)
    protocols = _protocols(raw.get("protocols", ["in_domain"]), where)
    trainable = [d.name for d in datasets if not d.test_only]
    if not trainable:
        raise FakeNewsError(
            f"{where}: every data set is test_only; expected at least one to train on."
        )
    for protocol in protocols:
        if protocol != "in_domain" and len(trainable) < 2:
            raise FakeNewsError(
                f"{where}: protocol {protocol!r} needs at least two trainable data sets, found "
                f"one ({trainable[0]}); add another data set without test_only or drop {protocol}."
            )
    benchmark, bench_articles = _benchmark_options(raw, where)
    return Study(path, datasets, models, protocols, benchmark, bench_articles)


def _data_root(raw: Any, path: Path, where: str) -> Path:
    if raw is None:
        return path.parent
    if not isinstance(raw, str) or not raw:
        raise FakeNewsError(f"{where}: data_root should be a folder path, found {raw!r}.")
    root = Path(raw).expanduser()
    root = root if root.is_absolute() else (path.parent / root).resolve()
    if not root.is_dir():
        raise FakeNewsError(
            f"{where}: data_root {raw} is not a folder (looked at {root}); point it at the folder "
            "that holds the data sets (e.g. the shared data: `fakenews demo --data DIR`)."
        )
    return root


def _benchmark_options(raw: Mapping[str, Any], where: str) -> tuple[bool, int]:
    benchmark = raw.get("benchmark", True)
    if not isinstance(benchmark, bool):
        raise FakeNewsError(f"{where}: benchmark should be true or false, found {benchmark!r}.")
    articles = raw.get("bench_articles", DEFAULT_BENCH_ARTICLES)
    if isinstance(articles, bool) or not isinstance(articles, int) or articles < 5:
        raise FakeNewsError(
            f"{where}: bench_articles should be a whole number >= 5 (test articles timed per "
            f"run), found {articles!r}."
        )
    return benchmark, articles


def _datasets(raw: Any, path: Path, root: Path) -> tuple[DatasetSpec, ...]:
    where = f"study file {path}: datasets"
    if not isinstance(raw, dict) or not raw:
        raise FakeNewsError(
            f"{where} should map names to {{path: ...}}, e.g. welfake: {{path: data.csv}}; "
            f"found {raw!r}."
        )
    specs = []
    for name, entry in raw.items():
        _check_name(name, where)
        specs.append(_dataset(name, entry, path, root))
    return tuple(specs)


def _dataset(name: str, entry: Any, study_path: Path, root: Path) -> DatasetSpec:
    where = f"study file {study_path}: data set {name!r}"
    if isinstance(entry, str):
        entry = {"path": entry}
    if not isinstance(entry, dict):
        raise FakeNewsError(f"{where} should be {{path: FILE, ...}}, found {entry!r}.")
    _check_keys(entry, DATASET_KEYS, where)
    if "path" not in entry:
        raise FakeNewsError(f"{where} has no 'path'; expected {{path: FILE_OR_FOLDER, ...}}.")
    data_path = Path(str(entry["path"])).expanduser()
    if not data_path.is_absolute():
        data_path = (root / data_path).resolve()
    if not data_path.exists():
        relative = "data_root" if root != study_path.parent else "the study file"
        raise FakeNewsError(
            f"{where}: path {entry['path']} not found (looked at {data_path}); paths are "
            f"relative to {relative} or absolute."
        )
    test_only = entry.get("test_only", False)
    if not isinstance(test_only, bool):
        raise FakeNewsError(f"{where}: test_only should be true or false, found {test_only!r}.")
    if test_only and "split" in entry:
        raise FakeNewsError(f"{where}: give test_only or split, not both (test_only is 0,0,1).")
    return DatasetSpec(name, data_path, _prepare_options(entry, test_only, where), test_only)


def _prepare_options(entry: Mapping[str, Any], test_only: bool, where: str) -> PrepareOptions:
    read = {k: entry[k] for k in READ_KEYS if k in entry}
    for key in ("fake_labels", "real_labels", "strip_patterns"):
        value = entry.get(key)
        if value is not None and not isinstance(value, list | tuple):
            value = [value]
        if key in read:
            read[key] = tuple(str(v) for v in value or ())
    options = {k: entry[k] for k in PREPARE_KEYS if k in entry}
    if "strip_patterns" in options:
        patterns = options["strip_patterns"]
        options["strip_patterns"] = tuple(
            patterns if isinstance(patterns, list | tuple) else [patterns]
        )
    if test_only:
        options["split"] = TEST_ONLY_SPLIT
    elif isinstance(options.get("split"), list):
        options["split"] = tuple(options["split"])
    try:
        return PrepareOptions(read=ReadOptions(**read), shortcuts=ShortcutOptions(), **options)
    except FakeNewsError as exc:
        raise FakeNewsError(f"{where}: {exc}") from None
    except TypeError as exc:
        raise FakeNewsError(f"{where}: a value has the wrong type ({exc}).") from None


def _models(raw: Any, where: str) -> tuple[ModelSpec, ...]:
    if not isinstance(raw, list) or not raw:
        raise FakeNewsError(
            f"{where}: models should be a list of presets or {{name, model, set}}, e.g. "
            f"[tfidf-logreg]; found {raw!r}."
        )
    specs = [_model(entry, f"{where}: models[{i}]") for i, entry in enumerate(raw)]
    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen:
            raise FakeNewsError(
                f"{where}: model name {spec.name!r} appears twice; give each model its own name "
                "({name: ..., model: ..., set: {...}})."
            )
        seen.add(spec.name)
    return tuple(specs)


def _model(entry: Any, where: str) -> ModelSpec:
    if isinstance(entry, str):
        entry = {"name": entry, "model": entry}
    if not isinstance(entry, dict):
        raise FakeNewsError(
            f"{where} should be a preset name or {{name, model, set}}, found {entry!r}."
        )
    _check_keys(entry, MODEL_KEYS, where)
    model = entry.get("model", entry.get("name"))
    if not isinstance(model, str) or find_preset(model) is None:
        raise FakeNewsError(
            f"{where}: unknown model preset {model!r}; {_suggest(str(model), tuple(PRESETS))}"
            f"known presets: {', '.join(PRESETS)}."
        )
    name = _check_name(entry.get("name", model), where)
    overrides = entry.get("set") or {}
    if not isinstance(overrides, dict):
        raise FakeNewsError(f"{where}: set should map dotted keys to values, found {overrides!r}.")
    spec = ModelSpec(name, model, tuple((str(k), v) for k, v in overrides.items()))
    preset = find_preset(model)
    recipe = preset.recipe() if preset is not None else None
    try:
        resolve_config(model, recipe=recipe, overrides=spec.override_list)
    except FakeNewsError as exc:
        raise FakeNewsError(f"{where}: {exc}") from None
    return spec


def _protocols(raw: Any, where: str) -> tuple[str, ...]:
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not items:
        raise FakeNewsError(
            f"{where}: protocols should be a list of {', '.join(PROTOCOLS)}, found {raw!r}."
        )
    for item in items:
        if item not in PROTOCOLS:
            raise FakeNewsError(
                f"{where}: unknown protocol {item!r}; {_suggest(str(item), PROTOCOLS)}"
                f"expected one of {', '.join(PROTOCOLS)}."
            )
    if len(set(items)) != len(items):
        dup = next(p for p in items if items.count(p) > 1)
        raise FakeNewsError(f"{where}: protocol {dup!r} is listed twice; list each once.")
    return tuple(items)
