"""``train``: split dir -> run dir, for every transformer and the TF-IDF baseline.

The only place that builds ``transformers.TrainingArguments``. One call does::

    resolve --model (preset / hub id / dir / scratch:ARCH / tfidf-logreg) and the layered config
    check the split dir (manifest, non-empty two-class train split) and --out (new / --resume / --force)
    write config.yaml + data_manifest.json                      (what --resume checks against)
    tokenize once per (tokenizer, max_length, truncation, split)  (cached on disk)
    Trainer: dynamic padding, length-grouped batches, eval + checkpoint each epoch,
             early stopping on validation F1, best checkpoint reloaded, history.jsonl
    write train_summary.json, then model/ atomically           (model/ present = run complete)

``fakenews distill`` (:mod:`fakenews.distill`) runs the same transformer loop through
:func:`plan_run` and :func:`train_transformer` with a :class:`TrainHook`: extra training rows and
columns (the teacher's probabilities) and a Trainer whose loss reads them.

The same call runs under ``torchrun --nproc_per_node N -m fakenews train ...`` or
``accelerate launch -m fakenews train ...`` (DDP: gloo on CPU, NCCL on GPUs); only rank 0 writes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import math
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import datasets
import numpy as np
import torch
import transformers  # resolves its names lazily: transformers.Trainer (~4 s) loads on first use
from accelerate import PartialState

from fakenews.cache import TOKENIZED, TOKENIZERS, cache_dir
from fakenews.calibration import CalibrationResult, calibrate, check_policy_fits
from fakenews.config import RunConfig, flatten_keys, load_config, resolve_config
from fakenews.errors import FakeNewsError
from fakenews.io import atomic_dir, write_json, write_text
from fakenews.metrics import classification_metrics, decide, softmax
from fakenews.models.baseline import TfidfLogReg
from fakenews.models.build import (
    MAX_POSITIONS,
    ModelSource,
    build_model_and_tokenizer,
    resolve_model,
    scratch_config,
)
from fakenews.models.encoding import encode
from fakenews.rundir import RunDir, TrainSummary
from fakenews.splits import SplitDir, load_split_dir

logger = logging.getLogger(__name__)

ReportTo = Literal["none", "tensorboard", "mlflow"]
REPORT_TO: tuple[str, ...] = ("none", "tensorboard", "mlflow")
TOKENIZER_DIR = "tokenizer"
"""Under ``checkpoints/``: the tokenizer a scratch run trained, so resume and every rank use the same."""
CACHE_VERSION = "1"


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train` produced."""

    run_dir: Path
    """The complete run dir (``config.yaml``, ``data_manifest.json``, ``model/``, ...)."""

    config: RunConfig
    """The resolved config written to ``config.yaml``."""

    metrics: dict[str, float] = field(default_factory=dict)
    """Validation metrics of the final (best) model: ``accuracy``, ``f1`` (weighted), ``f1_macro``,
    ``precision``, ``recall``, ``loss`` (transformers only); empty without a validation split."""

    summary: TrainSummary | None = None
    """What ``train_summary.json`` holds (``None`` on ranks > 0)."""

    calibration: CalibrationResult | None = None
    """The calibration and decision threshold fitted at the end (``None`` without validation
    data or on ranks > 0)."""

    is_main_process: bool = True
    """False on ranks > 0 of a multi-process run (only rank 0 writes and reports)."""


@dataclass(frozen=True)
class RunPlan:
    """What :func:`plan_run` resolved and checked before anything is written."""

    source: ModelSource
    config: RunConfig
    split: SplitDir
    run: RunDir


@dataclass(frozen=True)
class TrainHook:
    """How a stage built on ``train`` (``distill``) changes the transformer loop."""

    extend_train: Callable[[Any, Any, RunConfig, RunDir], Any]
    """``(tokenized train dataset, tokenizer, config, run) -> dataset`` to train on (extra rows and
    columns); called once the run dir exists, rank 0 first."""

    trainer_factory: Callable[..., Any]
    """Builds the ``transformers.Trainer`` (a subclass whose ``compute_loss`` reads the extra
    columns) from the Trainer's keyword arguments."""

    summary: Mapping[str, Any] = field(default_factory=dict)
    """Extra :class:`TrainSummary` fields (``teacher``)."""


# ------------------------------------------------------------------------------ checks


def check_split_dir(split_dir: Path | str) -> SplitDir:
    """Load a split dir for training: manifest required, train split non-empty with both labels."""
    split = load_split_dir(Path(split_dir), require_manifest=True)
    train_frame = split.frames["train"]
    if train_frame.empty:
        raise FakeNewsError(
            f"the train split of {split.path} has no rows; re-run `fakenews prepare` with a train ratio > 0 (e.g. --split 0.7,0.15,0.15)."
        )
    counts = train_frame["label"].value_counts().to_dict()
    if len(counts) < 2:
        only, n = next(iter(counts.items()))
        name = "fake" if only == 1 else "real"
        raise FakeNewsError(
            f"the train split of {split.path} has only {name} articles ({n}); a classifier needs both real (0) and fake (1) "
            "articles: check the input's labels (prepare's --fake-label) or add articles of the other class."
        )
    return split


def _existing_run_error(run: RunDir) -> FakeNewsError:
    if run.model.exists():
        return FakeNewsError(
            f"{run.path} already holds a complete run; choose a new --out or pass --force to replace it."
        )
    return FakeNewsError(
        f"{run.path} holds an interrupted run (no model/ yet); pass --resume to continue it or --force to start over."
    )


def check_out(out: Path, *, resume: bool, force: bool) -> None:
    """Refuse an ``--out`` that would mix two runs (read-only: every rank calls it)."""
    run = RunDir(out)
    if resume and force:
        raise FakeNewsError(
            "pass either --resume (continue the run in --out) or --force (replace it), not both."
        )
    if out.exists() and not out.is_dir():
        raise FakeNewsError(f"--out {out} is a file; expected a directory path for the run.")
    is_run = run.config_file.is_file()
    if resume:
        if not is_run:
            raise FakeNewsError(
                f"nothing to resume at {out} (no config.yaml from an earlier `fakenews train`); drop --resume to start a new run."
            )
        if run.model.exists():
            raise FakeNewsError(
                f"{out} is already complete (model/ exists); nothing to resume. Pass --force to train it again."
            )
        return
    if force:
        return
    if is_run:
        raise _existing_run_error(run)
    if out.is_dir() and any(out.iterdir()):
        raise FakeNewsError(
            f"--out {out} exists and is not empty; choose a new --out or pass --force to replace it."
        )


def check_resume(run: RunDir, config: RunConfig, split: SplitDir) -> None:
    """Refuse to resume when the config or the data differ from the run's."""
    stored = load_config(run.config_file)
    diff = stored.diff(config)
    if diff:
        old, new = flatten_keys(stored.to_dict()), flatten_keys(config.to_dict())
        shown = "; ".join(f"{k}: run has {old.get(k)!r}, now {new.get(k)!r}" for k in diff[:3])
        raise FakeNewsError(
            f"cannot resume {run.path}: the config differs ({shown}); resume with the run's own --model/--config/--set "
            "(see its config.yaml) or start a new --out."
        )
    old_fp = run.data_fingerprint
    if old_fp != split.fingerprint:
        raise FakeNewsError(
            f"cannot resume {run.path}: it was trained on data with fingerprint {old_fp} but {split.path} has "
            f"{split.fingerprint}; resume with the run's own split dir or start a new --out."
        )


# ----------------------------------------------------------------------------- metrics


def _compute_metrics(eval_pred: Any) -> dict[str, float]:
    logits, labels = eval_pred.predictions, eval_pred.label_ids
    if isinstance(logits, tuple):
        logits = logits[0]
    preds = decide(softmax(np.asarray(logits))[:, 1])  # THE decision rule, as everywhere else
    return classification_metrics(np.asarray(labels), preds)


# ------------------------------------------------------------------------------- train


def train(
    split_dir: Path | str,
    model: str,
    out: Path | str,
    *,
    config_path: Path | str | None = None,
    overrides: Mapping[str, Any] | Iterable[str] = (),
    resume: bool = False,
    force: bool = False,
    quiet: bool = False,
    report_to: ReportTo | str = "none",
) -> TrainResult:
    """Train ``model`` on ``split_dir`` and write the run dir ``out``.

    Args:
        split_dir: a split dir written by ``fakenews prepare`` (needs ``manifest.json``).
        model: a preset (``minilm-l6``, ``albert-base-v2``, ``tfidf-logreg``, ...), a hub id, a local
            model dir or run dir, or ``scratch:albert|bert|distilbert|mobilebert``.
        out: the run dir to write; must be new unless ``resume`` or ``force``.
        config_path: a YAML file layered over the preset's recipe.
        overrides: ``["train.epochs=3", ...]`` or ``{"train.epochs": 3}``, layered last.
        resume: continue the interrupted run in ``out`` from its last checkpoint (same config and data).
        force: delete ``out`` first and train from scratch.
        quiet: no progress bars.
        report_to: ``none`` (default), ``tensorboard`` (``out/tensorboard``) or ``mlflow`` (local file
            store ``out/mlruns`` unless ``MLFLOW_TRACKING_URI`` is set).
    """
    plan = plan_run(
        split_dir, model, out, config_path=config_path, overrides=overrides, resume=resume,
        force=force, report_to=report_to,
    )  # fmt: skip
    if plan.config.distill.teacher is not None or plan.config.distill.unlabeled is not None:
        raise FakeNewsError(
            "distill.teacher and distill.unlabeled are set by `fakenews distill TEACHER_RUN ...`, not by "
            "`fakenews train`; drop them from --set/--config or run `fakenews distill`."
        )
    val_labels = plan.split.frames["validation"]["label"].to_numpy(dtype=int)
    if len(val_labels):  # refuse an impossible policy before training, not after
        check_policy_fits(plan.config.decision.policy, plan.config.decision.fallback, val_labels)
    with _discard_if_failed(plan.run, resume=resume):
        if plan.source.origin == "baseline":
            result = _train_baseline(
                plan.split, plan.config, plan.run, force=force, report_to=report_to
            )
        else:
            result = train_transformer(
                plan, resume=resume, force=force, quiet=quiet, report_to=report_to
            )
    return calibrate_after_training(result, has_validation=len(val_labels) > 0, quiet=quiet)


def plan_run(
    split_dir: Path | str,
    model: str,
    out: Path | str,
    *,
    config_path: Path | str | None = None,
    overrides: Mapping[str, Any] | Iterable[str] = (),
    resume: bool = False,
    force: bool = False,
    report_to: str = "none",
) -> RunPlan:
    """Resolve the model and config and check the split dir and ``out`` (reads only)."""
    if report_to not in REPORT_TO:
        raise FakeNewsError(
            f"--report-to must be one of {', '.join(REPORT_TO)}; found {report_to!r}."
        )
    source = resolve_model(model)
    recipe = source.preset.recipe() if source.preset is not None else None
    config = resolve_config(model, recipe=recipe, config_path=config_path, overrides=overrides)
    split = check_split_dir(split_dir)
    out = Path(out)
    check_out(out, resume=resume, force=force)
    run = RunDir(out)
    if resume:
        check_resume(run, config, split)
    return RunPlan(source=source, config=config, split=split, run=run)


def calibrate_after_training(
    result: TrainResult, *, has_validation: bool, quiet: bool
) -> TrainResult:
    """Rank 0: ``calibrate.method`` and ``decision.policy`` on validation (``calibration.json``,
    ``decision.json``); without validation data the run keeps T = 1 and threshold 0.5."""
    if not result.is_main_process:
        return result
    if not has_validation:
        logger.warning(
            "no validation split: the run is not calibrated and decides at 0.5 "
            "(prepare a validation share and run `fakenews calibrate RUN_DIR`)."
        )
        return result
    c = result.config
    done = calibrate(
        result.run_dir,
        method=c.calibrate.method,
        policy=c.decision.policy,
        fallback=c.decision.fallback,
        quiet=quiet,
    )
    return dataclasses.replace(result, calibration=done)


def _stamp(path: Path) -> tuple[int, int] | None:
    with contextlib.suppress(OSError):
        stat = path.stat()
        return (stat.st_ino, stat.st_mtime_ns)
    return None


@contextlib.contextmanager
def _discard_if_failed(run: RunDir, *, resume: bool) -> Iterator[None]:
    """A new run that fails before its first checkpoint is removed again, so the next ``train``
    does not call it interrupted; one stopped by Ctrl-C, or after a checkpoint, stays for
    ``--resume``. Only a run dir this call started is touched (its config.yaml is new)."""
    before = _stamp(run.config_file)
    existed = run.path.is_dir()
    try:
        yield
    except Exception:
        started = _stamp(run.config_file) not in (None, before)
        if (
            started
            and not resume
            and os.environ.get("RANK", "0") == "0"
            and last_checkpoint(run) is None
        ):
            shutil.rmtree(run.path, ignore_errors=True)
            if existed:
                run.path.mkdir(exist_ok=True)  # it was an empty folder (else check_out refused it)
        raise


def _start_run_dir(
    run: RunDir, config: RunConfig, split: SplitDir, *, force: bool, resume: bool
) -> None:
    """Rank 0: (re)create the run dir with config.yaml and data_manifest.json."""
    if force and run.path.exists():
        shutil.rmtree(run.path)
    run.path.mkdir(parents=True, exist_ok=True)
    if not resume:
        write_text(run.config_file, config.to_yaml())
        write_json(run.data_manifest, split.manifest)
        run.history.unlink(missing_ok=True)


def _save_model_dir(run: RunDir, save: Any) -> None:
    """Write ``model/`` atomically: ``save(tmp_dir)`` fills a temp dir that is renamed into place."""
    with atomic_dir(run.model, force=True, what="model dir") as tmp:
        save(tmp)


# ---------------------------------------------------------------------------- baseline


def _train_baseline(
    split: SplitDir, config: RunConfig, run: RunDir, *, force: bool, report_to: str
) -> TrainResult:
    state = PartialState(cpu=True)
    state.wait_for_everyone()  # every rank has checked the inputs before rank 0 writes
    if not state.is_main_process:
        state.wait_for_everyone()
        return TrainResult(run.path, config, is_main_process=False)
    if report_to != "none":
        logger.info(
            "--report-to %s is ignored for the tfidf-logreg baseline (nothing is trained in steps).",
            report_to,
        )
    _start_run_dir(run, config, split, force=force, resume=False)
    started = time.perf_counter()
    model = _fit_baseline(split, config)
    runtime = time.perf_counter() - started
    val_frame = split.frames["validation"]
    metrics: dict[str, float] = {}
    if not val_frame.empty:
        preds = decide(model.predict_proba(val_frame["combined_text"].tolist())[:, 1])
        metrics = classification_metrics(val_frame["label"].to_numpy(), preds)
    _write_baseline_history(run, model, config.train.metric, metrics)
    summary = _baseline_summary(split, config, model, runtime=runtime, metrics=metrics)
    write_json(run.train_summary, summary.to_dict())
    _save_model_dir(run, model.save)
    state.wait_for_everyone()
    return TrainResult(run.path, config, metrics, summary)


def _fit_baseline(split: SplitDir, config: RunConfig) -> TfidfLogReg:
    """TF-IDF + logistic regression, ``C`` chosen on the validation split when there is one."""
    train_frame, val_frame = split.frames["train"], split.frames["validation"]
    b = config.baseline
    return TfidfLogReg(
        ngram_max=b.ngram_max, min_df=b.min_df, max_features=b.max_features, c_grid=b.c_grid,
        metric=config.train.metric, seed=config.seed,
        class_weight=None if config.train.class_weight == "none" else config.train.class_weight,
    ).fit(
        train_frame["combined_text"].tolist(), train_frame["label"].tolist(),
        val_frame["combined_text"].tolist() or None, val_frame["label"].tolist() or None,
    )  # fmt: skip


def _write_baseline_history(
    run: RunDir, model: TfidfLogReg, metric: str, metrics: Mapping[str, float]
) -> None:
    """``history.jsonl``: the validation score of every ``C`` tried, then the chosen one."""
    with run.history.open("w", encoding="utf-8") as fh:
        for c, score in model.scores_.items():
            fh.write(json.dumps({"C": c, f"validation_{metric}": score}) + "\n")
        chosen = {"C": model.C_, "chosen": True, **{f"eval_{k}": v for k, v in metrics.items()}}
        fh.write(json.dumps(chosen) + "\n")


def _baseline_summary(
    split: SplitDir,
    config: RunConfig,
    model: TfidfLogReg,
    *,
    runtime: float,
    metrics: dict[str, float],
) -> TrainSummary:
    n_train = len(split.frames["train"])
    return TrainSummary(
        model_name=config.model.name,
        kind="baseline",
        train_runtime_s=runtime,
        train_articles_per_s=n_train / runtime if runtime > 0 else None,
        epochs_completed=1,
        global_step=1,
        best_checkpoint=None,
        best_metric=metrics.get(config.train.metric),
        metric=config.train.metric,
        device="cpu",
        world_size=1,
        params_total=model.n_parameters,
        n_train=n_train,
        n_validation=len(split.frames["validation"]),
        data_fingerprint=split.fingerprint,
        split_dir=str(split.path.resolve()),
        validation=metrics,
        chosen_C=model.C_,
        resumed=False,
    )


# ------------------------------------------------------------------------- transformer


def _device_settings(config: RunConfig) -> tuple[bool, str]:
    """(use_cpu, precision) from ``train.device`` / ``train.precision`` and what this machine has."""
    t = config.train
    has_cuda = torch.cuda.is_available()
    if t.device == "cuda" and not has_cuda:
        raise FakeNewsError(
            "train.device=cuda but no CUDA GPU is visible; use --set train.device=auto (or cpu)."
        )
    use_cpu = t.device == "cpu" or not has_cuda
    precision = t.precision
    if precision == "auto":
        precision = "fp32" if use_cpu else ("bf16" if torch.cuda.is_bf16_supported() else "fp16")
    if precision == "fp16" and use_cpu:
        raise FakeNewsError(
            "train.precision=fp16 needs a CUDA GPU and none is used; use --set train.precision=fp32."
        )
    return use_cpu, precision


def _warmup_steps(config: RunConfig, total_steps: int) -> int:
    t = config.train
    ratio_steps = math.ceil(t.warmup_ratio * total_steps)
    if t.warmup_steps is None:
        return ratio_steps
    return min(t.warmup_steps, ratio_steps) if t.warmup_ratio > 0 else t.warmup_steps


def _training_arguments(
    config: RunConfig, run: RunDir, *, use_cpu: bool, precision: str, has_eval: bool, quiet: bool
) -> Any:
    t = config.train
    eval_strategy = "epoch" if has_eval else "no"
    return transformers.TrainingArguments(
        output_dir=str(run.checkpoints),
        num_train_epochs=t.epochs,
        learning_rate=t.learning_rate,
        per_device_train_batch_size=t.batch_size,
        per_device_eval_batch_size=t.eval_batch_size,
        gradient_accumulation_steps=t.gradient_accumulation,
        weight_decay=t.weight_decay,
        max_grad_norm=t.max_grad_norm,
        lr_scheduler_type=t.scheduler,
        warmup_steps=0,  # set from the real step count in _train_transformer
        eval_strategy=eval_strategy,
        save_strategy="epoch",
        logging_strategy="steps",
        logging_steps=t.logging_steps,
        save_total_limit=t.save_total_limit,
        load_best_model_at_end=has_eval,
        metric_for_best_model=t.metric if has_eval else None,
        greater_is_better=True if has_eval else None,
        train_sampling_strategy="group_by_length" if config.data.group_by_length else "random",
        length_column_name="length",
        seed=config.seed,
        use_cpu=use_cpu,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        dataloader_num_workers=t.dataloader_workers,
        report_to="none",  # tracking callbacks are added explicitly (paths under the run dir)
        disable_tqdm=quiet,
        run_name=run.path.name,
        save_only_model=False,  # optimizer + scheduler + RNG states: exact --resume
        ddp_find_unused_parameters=False,
        # One label per article, so each process's loss is already a mean over its batch and
        # DDP's gradient averaging is exact. Left on, transformers 5 multiplies that mean by the
        # number of processes (it expects a token-summed LM loss): logged train and eval losses
        # came out 2x under 2 processes and the gradient-norm clip bit twice as early.
        average_tokens_across_devices=False,
    )


def _tokenizer_fingerprint(tokenizer: Any) -> str:
    digest = hashlib.sha256()
    backend = getattr(tokenizer, "backend_tokenizer", None)
    digest.update(
        (
            backend.to_str() if backend is not None else repr(sorted(tokenizer.get_vocab().items()))
        ).encode()
    )
    digest.update(
        repr(sorted((k, str(v)) for k, v in tokenizer.special_tokens_map.items())).encode()
    )
    return digest.hexdigest()


def tokenize_split(
    tokenizer: Any, frame: Any, *, name: str, config: RunConfig, split_fingerprint: str
) -> Any:
    """A ``datasets.Dataset`` of ``input_ids``/``attention_mask``/``labels``/``length``, cached on disk
    per (tokenizer, max_length, truncation, split fingerprint, split name)."""
    d = config.data
    key = hashlib.sha256(
        "|".join(
            [
                CACHE_VERSION,
                _tokenizer_fingerprint(tokenizer),
                str(d.max_length),
                d.truncation,
                split_fingerprint,
                name,
            ]
        ).encode()
    ).hexdigest()[:32]
    folder = cache_dir(TOKENIZED, config.data.cache_dir)
    folder.mkdir(parents=True, exist_ok=True)
    cache_file = folder / f"{name}-{key}.arrow"

    def _encode(batch: dict[str, list[Any]]) -> dict[str, Any]:
        enc: dict[str, Any] = dict(
            encode(tokenizer, batch["text"], max_length=d.max_length, truncation=d.truncation)
        )
        enc["length"] = [len(ids) for ids in enc["input_ids"]]
        return enc

    raw = datasets.Dataset.from_dict(
        {
            "text": frame["combined_text"].astype(str).tolist(),
            "labels": frame["label"].astype(int).tolist(),
        }
    )
    hit = cache_file.is_file()
    dataset = raw.map(
        _encode, batched=True, batch_size=256, remove_columns=["text"], cache_file_name=str(cache_file),
        load_from_cache_file=True, desc=f"tokenize {name}",
    )  # fmt: skip
    logger.info(
        "%s: %d articles tokenized (%s %s)",
        name,
        len(dataset),
        "cache hit" if hit else "cached to",
        cache_file,
    )
    return dataset


def history_callback(path: Path) -> Any:
    """A TrainerCallback appending every log (loss, learning rate, eval metrics) to ``path`` as one
    JSON line; rank 0 only."""
    return _HistoryCallback(path)


class _HistoryCallback(transformers.TrainerCallback):
    def __init__(self, path: Path) -> None:
        self.path = path

    def on_log(
        self,
        args: Any,
        state: Any,
        control: Any,
        logs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not state.is_world_process_zero or not logs:
            return
        row = {"step": state.global_step, "epoch": round(float(state.epoch or 0), 4), **logs}
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, default=float) + "\n")
        if "eval_loss" in logs:
            shown = ", ".join(
                f"{k[5:]} {v:.4f}"
                for k, v in logs.items()
                if k.startswith("eval_") and k[5:] in _METRIC_KEYS
            )
            logger.info("epoch %.0f: validation %s", float(state.epoch or 0), shown)


def _truncate_history(path: Path, step: int) -> None:
    """Drop history rows after ``step`` (logged by the interrupted attempt past its last checkpoint)."""
    if not path.is_file():
        return
    keep = [
        line
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
        if (row := _history_row(line)) is not None and row.get("step", 0) <= step
    ]
    path.write_text("".join(f"{line}\n" for line in keep), encoding="utf-8")


def _history_row(line: str) -> dict[str, Any] | None:
    """One line of ``history.jsonl``; ``None`` for one that is no JSON object, such as the
    partial last line of a run killed while writing it (dropped on resume)."""
    try:
        row = json.loads(line)
    except ValueError:
        return None
    return row if isinstance(row, dict) else None


def last_checkpoint(run: RunDir) -> Path | None:
    """The newest complete ``checkpoints/checkpoint-N`` (``trainer_state.json`` is written last), or None."""
    if not run.checkpoints.is_dir():
        return None
    numbered = [p for p in run.checkpoints.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()]
    for path in sorted(numbered, key=lambda p: int(p.name.split("-")[-1]), reverse=True):
        try:
            json.loads((path / "trainer_state.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # killed while this checkpoint was being written
        return path
    return None


def _tracking_callbacks(report_to: str, run: RunDir) -> list[Any]:
    # Lazy: each needs an optional dependency (tensorboard, mlflow) that only --report-to asks for.
    if report_to == "tensorboard":
        from torch.utils.tensorboard import SummaryWriter
        from transformers.integrations import TensorBoardCallback

        return [TensorBoardCallback(tb_writer=SummaryWriter(log_dir=str(run.path / "tensorboard")))]
    if report_to == "mlflow":
        import mlflow
        from transformers.integrations import MLflowCallback

        if not os.environ.get("MLFLOW_TRACKING_URI"):
            # a local store in the run dir (MLflow's file store is deprecated: SQLite, its successor)
            store = run.path.resolve() / "mlruns"
            store.mkdir(parents=True, exist_ok=True)
            mlflow.set_tracking_uri(f"sqlite:///{store / 'mlflow.db'}")
            name = os.environ.get("MLFLOW_EXPERIMENT_NAME", "fakenews")
            if mlflow.get_experiment_by_name(name) is None:
                mlflow.create_experiment(name, artifact_location=(store / "artifacts").as_uri())
            mlflow.set_experiment(name)
        else:
            mlflow.set_experiment(os.environ.get("MLFLOW_EXPERIMENT_NAME", "fakenews"))
        return [MLflowCallback()]
    return []


@contextlib.contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def _progress_bars(*, enabled: bool) -> Iterator[None]:
    """Turn the transformers / datasets progress bars off for the block when ``enabled`` is False."""
    hf_logging = transformers.utils.logging
    if enabled:
        yield
        return
    hf_before, ds_before = hf_logging.is_progress_bar_enabled(), datasets.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if hf_before:
            hf_logging.enable_progress_bar()
        if ds_before:
            datasets.enable_progress_bars()


def _device_name(args: Any) -> str:
    device = args.device
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return str(device.type)


@dataclass(frozen=True)
class _Setup:
    """What :func:`_setup` resolved: the Trainer's arguments and this process's place in the run."""

    args: Any  # transformers.TrainingArguments
    state: Any  # accelerate.PartialState of the process group
    precision: str
    has_eval: bool

    @property
    def main(self) -> bool:
        """Rank 0: the only process that writes the run dir."""
        return bool(self.state.is_main_process)


@dataclass(frozen=True)
class _Data:
    """Tokenized splits, the padding collator and the planned number of optimizer steps."""

    train: Any  # datasets.Dataset
    validation: Any | None
    collator: Any
    total_steps: int
    class_weights: tuple[float, float] | None = None
    """Loss weights of (real, fake) under ``train.class_weight=balanced``; ``None`` = unweighted."""


def balanced_class_weights(labels: Any) -> tuple[float, float]:
    """``n / (2 * n_class)`` per class (scikit-learn's ``class_weight="balanced"``)."""
    counts = np.bincount(np.asarray(labels, dtype=int), minlength=2)[:2].astype(np.float64)
    n = float(counts.sum())
    return (n / (2.0 * max(counts[0], 1.0)), n / (2.0 * max(counts[1], 1.0)))


class WeightedCrossEntropy:
    """The Trainer's ``compute_loss_func`` for ``train.class_weight=balanced``: cross-entropy with
    per-class weights, summed and divided by the labels in the accumulated batch (what the
    Trainer passes as ``num_items_in_batch``), or a weighted mean when it passes none."""

    def __init__(self, weights: tuple[float, float]) -> None:
        self.weights = torch.tensor(weights, dtype=torch.float32)

    def __call__(self, outputs: Any, labels: Any, num_items_in_batch: Any = None) -> Any:
        logits = outputs["logits"] if isinstance(outputs, Mapping) else outputs[0]
        weight = self.weights.to(device=logits.device, dtype=logits.dtype)
        if num_items_in_batch is None:
            return torch.nn.functional.cross_entropy(logits, labels, weight=weight)
        total = torch.nn.functional.cross_entropy(logits, labels, weight=weight, reduction="sum")
        return total / num_items_in_batch


@dataclass(frozen=True)
class _Fit:
    """What :func:`_fit` did: the trainer after ``train()``, its output and the resume point."""

    trainer: Any  # transformers.Trainer
    output: Any  # transformers.TrainOutput
    runtime_s: float
    checkpoint: Path | None
    start_epoch: float


def train_transformer(
    plan: RunPlan,
    *,
    resume: bool = False,
    force: bool = False,
    quiet: bool = False,
    report_to: str = "none",
    hook: TrainHook | None = None,
) -> TrainResult:
    """setup (devices, arguments, process group) -> model -> data -> fit -> save (rank 0).

    ``hook`` (``distill``'s) adds training rows/columns and its own loss; ``None`` = plain training.
    """
    split, source, config, run = plan.split, plan.source, plan.config, plan.run
    setup = _setup(config, run, split, quiet=quiet)
    with _torch_threads(config.train.torch_threads), _progress_bars(enabled=not quiet):
        transformers.set_seed(config.seed)
        model, tokenizer = _model_and_run_dir(
            source, config, run, split, setup, resume=resume, force=force
        )
        data = _data(tokenizer, split, config, setup, run=run, hook=hook)
        trainer = _trainer(
            model, tokenizer, data, config, run, setup, report_to=report_to, hook=hook
        )
        fit = _fit(trainer, data, config, run, setup, resume=resume)
        summary = _transformer_summary(fit, model, data, config, split, run, setup)
        if hook is not None:
            summary = dataclasses.replace(summary, **hook.summary)
        if setup.main:
            _save_transformer(run, summary, fit.trainer, tokenizer)
        setup.state.wait_for_everyone()
    return TrainResult(run.path, config, summary.validation, summary, is_main_process=setup.main)


def _setup(config: RunConfig, run: RunDir, split: SplitDir, *, quiet: bool) -> _Setup:
    """Device and precision, the TrainingArguments, and the process group (torchrun / accelerate)."""
    use_cpu, precision = _device_settings(config)
    has_eval = not split.frames["validation"].empty
    if not has_eval:
        logger.warning(
            "the validation split is empty: no early stopping, the last epoch's model is kept."
        )
    args = _training_arguments(
        config, run, use_cpu=use_cpu, precision=precision, has_eval=has_eval, quiet=quiet
    )
    _ = args.device  # sets up the process group under torchrun / accelerate launch (gloo on CPU)
    state = args.distributed_state
    state.wait_for_everyone()  # every rank checked --out before rank 0 touches it
    return _Setup(args=args, state=state, precision=precision, has_eval=has_eval)


def _model_and_run_dir(
    source: ModelSource,
    config: RunConfig,
    run: RunDir,
    split: SplitDir,
    setup: _Setup,
    *,
    resume: bool,
    force: bool,
) -> tuple[Any, Any]:
    """Build the model and tokenizer, then (rank 0) start the run dir around them."""
    tokenizer_dir = run.checkpoints / TOKENIZER_DIR
    # Build before writing anything: a model that cannot be loaded leaves no run dir behind.
    with setup.args.main_process_first(desc="build model"):
        if resume and source.origin == "scratch" and tokenizer_dir.is_dir():
            model, tokenizer = _scratch_with_tokenizer(source, config, tokenizer_dir)
        else:  # rank 0 trains a scratch tokenizer into the cache; the other ranks read it there
            model, tokenizer = build_model_and_tokenizer(
                source, config.model, train_texts=split.frames["train"]["combined_text"].tolist(),
                max_length=config.data.max_length,
                tokenizer_cache=cache_dir(TOKENIZERS, config.data.cache_dir),
            )  # fmt: skip
    with setup.args.main_process_first(desc="set up run dir"):
        if setup.main:
            _start_run_dir(run, config, split, force=force, resume=resume)
            if source.origin == "scratch" and not tokenizer_dir.is_dir():
                # what --resume rebuilds the model around
                tokenizer.save_pretrained(str(tokenizer_dir))
    return model, tokenizer


def _data(
    tokenizer: Any,
    split: SplitDir,
    config: RunConfig,
    setup: _Setup,
    *,
    run: RunDir,
    hook: TrainHook | None,
) -> _Data:
    """Tokenize (rank 0 first, into the cache), pad by batch, and plan the steps and warm-up."""
    fingerprint = split.fingerprint
    with setup.args.main_process_first(desc="tokenize"):
        train_ds = tokenize_split(
            tokenizer,
            split.frames["train"],
            name="train",
            config=config,
            split_fingerprint=fingerprint,
        )
        val_ds: Any = None
        if setup.has_eval:
            val_ds = tokenize_split(
                tokenizer, split.frames["validation"], name="validation", config=config,
                split_fingerprint=fingerprint,
            )  # fmt: skip
        if hook is not None:
            train_ds = hook.extend_train(train_ds, tokenizer, config, run)
    t = config.train
    batches = math.ceil(len(train_ds) / (t.batch_size * setup.args.world_size))
    steps_per_epoch = max(1, math.ceil(batches / t.gradient_accumulation))
    total_steps = math.ceil(t.epochs * steps_per_epoch)
    setup.args.warmup_steps = _warmup_steps(config, total_steps)
    padding = "max_length" if config.data.padding == "max_length" else "longest"
    collator = transformers.DataCollatorWithPadding(
        tokenizer,
        padding=padding,
        max_length=config.data.max_length if padding == "max_length" else None,
    )
    weights = None
    if t.class_weight == "balanced":
        weights = balanced_class_weights(split.frames["train"]["label"].to_numpy())
        logger.info("class_weight=balanced: loss weights real %.3f, fake %.3f", *weights)
    return _Data(
        train=train_ds,
        validation=val_ds,
        collator=collator,
        total_steps=total_steps,
        class_weights=weights,
    )


def _trainer(
    model: Any,
    tokenizer: Any,
    data: _Data,
    config: RunConfig,
    run: RunDir,
    setup: _Setup,
    *,
    report_to: str,
    hook: TrainHook | None = None,
) -> Any:
    """The Trainer with history, early stopping and (rank 0) tracking callbacks, bars kept quiet."""
    t = config.train
    callbacks: list[Any] = [history_callback(run.history)]
    if setup.has_eval and t.early_stopping_patience is not None:
        callbacks.append(
            transformers.EarlyStoppingCallback(
                early_stopping_patience=t.early_stopping_patience,
                early_stopping_threshold=t.early_stopping_threshold,
            )
        )
    if setup.main:
        callbacks.extend(_tracking_callbacks(report_to, run))
    factory = hook.trainer_factory if hook is not None else transformers.Trainer
    trainer = factory(
        model=model,
        args=setup.args,
        train_dataset=data.train,
        eval_dataset=data.validation,
        processing_class=tokenizer,
        data_collator=data.collator,
        compute_metrics=_compute_metrics,
        callbacks=callbacks,
        compute_loss_func=(
            WeightedCrossEntropy(data.class_weights) if data.class_weights is not None else None
        ),
    )
    _quiet_progress(trainer)
    return trainer


def _fit(
    trainer: Any, data: _Data, config: RunConfig, run: RunDir, setup: _Setup, *, resume: bool
) -> _Fit:
    """Train, from the run's last complete checkpoint when resuming (history cut back to it)."""
    checkpoint = last_checkpoint(run) if resume else None
    start_epoch = 0.0
    if checkpoint is not None:
        ckpt_state = json.loads((checkpoint / "trainer_state.json").read_text(encoding="utf-8"))
        start_epoch = float(ckpt_state.get("epoch") or 0.0)
        if setup.main:
            _truncate_history(run.history, int(ckpt_state.get("global_step", 0)))
        logger.info("resuming from %s (epoch %.0f)", checkpoint, start_epoch)
    elif resume:
        logger.info(
            "no complete checkpoint in %s yet: training from the start with the run's config.",
            run.checkpoints,
        )
    logger.info(
        "training %s on %d articles (%s, world size %d, %s): %d steps, %d warm-up",
        config.model.name, len(data.train), _device_name(setup.args), setup.args.world_size,
        setup.precision, data.total_steps, setup.args.warmup_steps,
    )  # fmt: skip
    started = time.perf_counter()
    output = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    runtime = time.perf_counter() - started
    return _Fit(trainer, output, runtime, checkpoint, start_epoch)


def _transformer_summary(
    fit: _Fit,
    model: Any,
    data: _Data,
    config: RunConfig,
    split: SplitDir,
    run: RunDir,
    setup: _Setup,
) -> TrainSummary:
    st = fit.trainer.state
    best = Path(st.best_model_checkpoint).resolve() if st.best_model_checkpoint else None
    epochs_done = float(st.epoch or 0.0)
    runtime = fit.runtime_s
    return TrainSummary(
        model_name=config.model.name,
        kind="transformer",
        train_runtime_s=runtime,
        train_articles_per_s=(epochs_done - fit.start_epoch) * len(data.train) / runtime
        if runtime > 0
        else None,
        epochs_completed=round(epochs_done, 4),
        global_step=int(st.global_step),
        best_checkpoint=_relative(best, run.path),
        best_metric=st.best_metric,
        metric=config.train.metric,
        stopped_early=bool(epochs_done + 1e-9 < config.train.epochs),
        device=_device_name(setup.args),
        world_size=setup.args.world_size,
        precision=setup.precision,
        torch_threads=int(torch.get_num_threads()),
        params_total=int(model.num_parameters()),
        n_train=len(split.frames["train"]),
        n_validation=len(split.frames["validation"]),
        data_fingerprint=split.fingerprint,
        split_dir=str(split.path.resolve()),
        total_steps_planned=data.total_steps,
        warmup_steps=setup.args.warmup_steps,
        train_loss=float(fit.output.training_loss),
        validation=_best_eval_metrics(st.log_history, best),
        resumed=fit.checkpoint is not None,
        resumed_from=fit.checkpoint.name if fit.checkpoint is not None else None,
        transformers_version=transformers.__version__,
    )


def _save_transformer(run: RunDir, summary: TrainSummary, trainer: Any, tokenizer: Any) -> None:
    """Rank 0: ``train_summary.json``, then ``model/`` (its presence marks the run complete)."""
    write_json(run.train_summary, summary.to_dict())

    def save(tmp: Path) -> None:
        trainer.model.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))

    _save_model_dir(run, save)


_METRIC_KEYS = frozenset({"accuracy", "f1", "f1_macro", "precision", "recall", "loss"})


def _best_eval_metrics(log_history: list[dict[str, Any]], best: Path | None) -> dict[str, float]:
    """Validation metrics logged at the best checkpoint (the model that ends in model/)."""
    evals = [row for row in log_history if "eval_loss" in row]
    if not evals:
        return {}
    row = evals[-1]
    if best is not None and best.name.split("-")[-1].isdigit():
        step = int(best.name.split("-")[-1])
        row = next((r for r in evals if r.get("step") == step), row)
    return {
        k[5:]: float(v) for k, v in row.items() if k.startswith("eval_") and k[5:] in _METRIC_KEYS
    }


def _relative(path: Path | None, root: Path) -> str | None:
    if path is None:
        return None
    root = root.resolve()
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def _scratch_with_tokenizer(
    source: ModelSource, config: RunConfig, tokenizer_dir: Path
) -> tuple[Any, Any]:
    """A scratch model around the tokenizer the run already trained (resume, ranks > 0)."""
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(tokenizer_dir))
    model_config = scratch_config(
        source.location, config.model.size, vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id,
        max_positions=max(MAX_POSITIONS, config.data.max_length),
    )  # fmt: skip
    return transformers.AutoModelForSequenceClassification.from_config(model_config), tokenizer


def _quiet_progress(trainer: Any) -> None:
    """Keep the tqdm bars but not the Trainer's raw log dicts (they go to history.jsonl)."""
    # PrinterCallback is used instead of the bars when they are off: it prints every log.
    trainer.remove_callback(transformers.PrinterCallback)
    for cb in list(trainer.callback_handler.callbacks):
        if type(cb) is transformers.ProgressCallback:
            trainer.remove_callback(cb)
            quiet_cb = transformers.ProgressCallback()
            quiet_cb.on_log = lambda *a, **k: None  # type: ignore[method-assign]
            trainer.add_callback(quiet_cb)
