"""``distill``: teacher run + split dir -> a student run dir (Hinton et al. 2015).

The student is fine-tuned by :func:`fakenews.training.train_transformer` (the same loop,
checkpoints, ``--resume`` after ``kill -9``, history, summary and saved model as ``train``) with a
:class:`~fakenews.training.TrainHook` that changes two things:

* the training rows carry the teacher's P(fake) — computed once with the teacher's own predictor
  (any run dir, the TF-IDF baseline included) and kept in ``RUN_DIR/teacher_targets.csv``, so a
  resumed run does not ask the teacher again; ``--unlabeled FILE`` adds articles that only the
  teacher labels;
* the loss is :func:`distillation_loss`: ``alpha * KL(teacher_T || student_T) * T**2 +
  (1 - alpha) * CE(student, label)``, the labelled articles alone in the CE term. The teacher's
  two-class logit is ``log(p / (1 - p))`` (for a transformer teacher exactly its logit
  difference), divided by ``T`` to soften it.

Validation, early stopping and the kept checkpoint use the plain labels, as for ``train``. The
student run dir is an ordinary run dir; ``train_summary.json`` (``teacher``) and ``config.yaml``
(``distill``) record the teacher and the recipe.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
import transformers

from fakenews.config import DistillConfig, RunConfig, parse_overrides
from fakenews.errors import FakeNewsError
from fakenews.io import read_json_if_readable, write_csv
from fakenews.models.build import resolve_model
from fakenews.predict import read_articles
from fakenews.predictors.load import load_predictor
from fakenews.rundir import RunDir, eval_key
from fakenews.splits import SplitDir
from fakenews.training import (
    ReportTo,
    RunPlan,
    TrainHook,
    TrainResult,
    calibrate_after_training,
    plan_run,
    tokenize_split,
    train_transformer,
)

logger = logging.getLogger(__name__)

TEACHER_LOGIT = "teacher_logit"
"""Training column: the teacher's logit ``log(p / (1 - p))`` of P(fake)."""
HAS_LABEL = "has_label"
"""Training column: 1 for a labelled (train split) article, 0 for an ``--unlabeled`` one."""
PROB_EPS = 1e-6
"""Teacher probabilities are clipped to [eps, 1 - eps] (the baseline can say 0 or 1 exactly)."""
SOURCES = ("train", "unlabeled")


# -------------------------------------------------------------------------------- the loss


def distillation_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    teacher_logit: torch.Tensor,
    has_label: torch.Tensor,
    *,
    temperature: float,
    alpha: float,
) -> torch.Tensor:
    """``alpha * KL(teacher_T || student_T) * T**2 + (1 - alpha) * CE(student, labels)``.

    Args:
        logits: the student's ``(n, 2)`` logits ``[real, fake]``.
        labels: ``(n,)`` 0/1 labels (ignored where ``has_label`` is 0).
        teacher_logit: ``(n,)`` the teacher's ``log(p / (1 - p))`` of P(fake).
        has_label: ``(n,)`` 1 for labelled articles, 0 for teacher-only ones.
        temperature: ``T`` > 0, softening both sides of the KL term.
        alpha: the KL term's weight, 0 to 1.

    The KL term is the mean over all ``n`` articles, the CE term over the labelled ones (0 when
    the batch has none).
    """
    logits = logits.float()
    t = float(temperature)
    p_fake = torch.sigmoid(teacher_logit.float() / t)
    teacher = torch.stack([1.0 - p_fake, p_fake], dim=-1)
    log_student = F.log_softmax(logits / t, dim=-1)
    kl = F.kl_div(log_student, teacher, reduction="batchmean") * (t * t)
    labeled = has_label.bool()
    if bool(labeled.any()):
        ce = F.cross_entropy(logits[labeled], labels[labeled].long())
    else:
        ce = logits.sum() * 0.0
    return alpha * kl + (1.0 - alpha) * ce


class DistillTrainer(transformers.Trainer):
    """A Trainer whose training loss is :func:`distillation_loss` (evaluation: the plain CE)."""

    loss_is_scaled_for_ga = False  # a per-batch mean: the Trainer divides it by the accumulation

    def __init__(self, *args: Any, recipe: DistillConfig, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.recipe = recipe

    def _set_signature_columns_if_needed(self) -> None:
        super()._set_signature_columns_if_needed()
        # keep the teacher's columns in the batches (the Trainer drops what forward() does not take)
        columns: list[str] = list(self._signature_columns or [])
        extra = [c for c in (TEACHER_LOGIT, HAS_LABEL) if c not in columns]
        self._signature_columns = columns + extra  # type: ignore[assignment]

    def compute_loss(
        self,
        model: Any,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: Any = None,
    ) -> Any:
        if TEACHER_LOGIT not in inputs:  # validation batches: the labels' cross-entropy
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        teacher_logit, has_label = inputs.pop(TEACHER_LOGIT), inputs.pop(HAS_LABEL)
        labels = inputs.pop("labels")
        outputs = model(**inputs)
        loss = distillation_loss(
            outputs.logits, labels, teacher_logit, has_label,
            temperature=self.recipe.temperature, alpha=self.recipe.alpha,
        )  # fmt: skip
        return (loss, outputs) if return_outputs else loss


# ---------------------------------------------------------------------------- the stage


@dataclass(frozen=True)
class _Teacher:
    """The teacher run and what the student's summary says about it."""

    run: RunDir
    info: dict[str, Any]


def distill(
    teacher_run: Path | str,
    split_dir: Path | str,
    *,
    student: str,
    out: Path | str,
    unlabeled: Path | str | None = None,
    config_path: Path | str | None = None,
    overrides: Mapping[str, Any] | Iterable[str] = (),
    resume: bool = False,
    force: bool = False,
    quiet: bool = False,
    report_to: ReportTo | str = "none",
) -> TrainResult:
    """Distil ``teacher_run`` into a ``student`` fine-tuned on ``split_dir``; write the run dir ``out``.

    Args:
        teacher_run: any complete run dir (transformer or TF-IDF baseline).
        split_dir: the split dir to train the student on (ideally the teacher's: ``compare``
            refuses a student whose teacher was trained on another split).
        student: a transformer preset, hub id, local model dir or ``scratch:ARCH`` (as ``train
            --model``); not ``tfidf-logreg``.
        out: the student's run dir; must be new unless ``resume`` or ``force``.
        unlabeled: a CSV, JSONL or text file of extra articles (read as ``predict`` reads them)
            that the teacher labels; they enter the KL term only.
        config_path, overrides: layered over the student preset's recipe, as for ``train``
            (``distill.temperature``, ``distill.alpha`` among them).
        resume, force, quiet, report_to: as for ``train``.
    """
    teacher = _open_teacher(teacher_run)
    _check_student(student)
    items = dict(overrides) if isinstance(overrides, Mapping) else parse_overrides(overrides)
    unlabeled_path = _check_unlabeled(unlabeled)
    items["distill.teacher"] = str(teacher.run.path.resolve())
    items["distill.unlabeled"] = str(unlabeled_path) if unlabeled_path is not None else None
    plan = plan_run(
        split_dir, student, out, config_path=config_path, overrides=items, resume=resume,
        force=force, report_to=report_to,
    )  # fmt: skip
    _warn_other_split(teacher, plan.split)
    targets, cached = _targets(teacher, plan, unlabeled_path, resume=resume)
    recipe = plan.config.distill
    n_unlabeled = int((targets["source"] == "unlabeled").sum())
    hook = _hook(teacher, plan, targets, cached=cached, n_unlabeled=n_unlabeled)
    logger.info(
        "distilling %s (%s) into %s: T=%s, alpha=%s, %d train + %d unlabeled articles",
        teacher.run.path, teacher.info["model_name"], student, recipe.temperature, recipe.alpha,
        len(targets) - n_unlabeled, n_unlabeled,
    )  # fmt: skip
    result = train_transformer(
        plan, resume=resume, force=force, quiet=quiet, report_to=report_to, hook=hook
    )
    # an ordinary run dir: calibrated and given its threshold on validation, as `train` does
    return calibrate_after_training(
        result, has_validation=len(plan.split.frames["validation"]) > 0, quiet=quiet
    )


def _hook(
    teacher: _Teacher, plan: RunPlan, targets: pd.DataFrame, *, cached: bool, n_unlabeled: int
) -> TrainHook:
    """The distillation's part of the shared training loop: rows, loss, summary."""
    recipe = plan.config.distill
    info = {**teacher.info, "temperature": recipe.temperature, "alpha": recipe.alpha,
            "n_unlabeled": n_unlabeled, "targets": plan.run.teacher_targets.name}  # fmt: skip
    return TrainHook(
        extend_train=functools.partial(_extend_train, targets=targets, write=not cached),
        trainer_factory=functools.partial(DistillTrainer, recipe=recipe),
        summary={"teacher": info},
    )


def _open_teacher(path: Path | str) -> _Teacher:
    path = Path(path)
    if not path.exists():
        raise FakeNewsError(
            f"expected a teacher run dir at {path}, found nothing there; pass a run dir written by "
            "`fakenews train` (or `fakenews distill`)."
        )
    if path.is_dir() and not (path / "config.yaml").is_file():
        raise FakeNewsError(
            f"{path} is not a run dir (no config.yaml); pass a teacher run dir written by `fakenews train`."
        )
    run = RunDir.open(path)
    test = read_json_if_readable(run.metrics(eval_key("test"))) or {}
    accuracy = test.get("accuracy")
    info = {
        "run_dir": str(run.path.resolve()),
        "model_name": run.config.model.name,
        "kind": run.kind,
        "data_fingerprint": run.data_fingerprint,
        "test_accuracy": float(accuracy) if isinstance(accuracy, int | float) else None,
    }
    return _Teacher(run=run, info=info)


def _check_student(student: str) -> None:
    source = resolve_model(student)  # unknown names: its one-line error listing the presets
    if source.origin == "baseline":
        raise FakeNewsError(
            f"--student {student} is the TF-IDF baseline, but distillation needs a transformer student "
            "(its loss reads the student's logits); pass e.g. --student minilm-l6 (the baseline can be the teacher)."
        )


def _check_unlabeled(unlabeled: Path | str | None) -> Path | None:
    if unlabeled is None:
        return None
    path = Path(unlabeled)
    if not path.is_file():
        found = "a directory" if path.is_dir() else "nothing"
        raise FakeNewsError(
            f"expected a CSV, JSONL or text file of articles at --unlabeled {path}, found {found}; check the path."
        )
    return path.resolve()


def _warn_other_split(teacher: _Teacher, split: SplitDir) -> None:
    if teacher.info["data_fingerprint"] != split.fingerprint:
        logger.warning(
            "the teacher %s was trained on another split (fingerprint %s, this split %s): it may have "
            "seen this split's test articles, so `fakenews compare` will refuse the student.",
            teacher.run.path, teacher.info["data_fingerprint"], split.fingerprint,
        )  # fmt: skip


# ------------------------------------------------------------------------ teacher targets


def _targets(
    teacher: _Teacher, plan: RunPlan, unlabeled: Path | None, *, resume: bool
) -> tuple[pd.DataFrame, bool]:
    """The teacher's P(fake) of every train (and unlabeled) article, and whether they come from the
    run dir (a resumed run has them) rather than from the teacher now (written once the run dir
    exists)."""
    train = plan.split.frames["train"]
    path = plan.run.teacher_targets
    if resume and path.is_file():
        cached = pd.read_csv(
            path, dtype={"id": str, "source": str, "text": str}, keep_default_na=False
        )
        ids = cached.loc[cached["source"] == "train", "id"].tolist()
        if ids == train["id"].astype(str).tolist():
            logger.info("teacher targets: %d articles read from %s", len(cached), path)
            return cached, True
        logger.warning("%s does not match the train split: asking the teacher again", path)
    frames = [pd.DataFrame({"id": train["id"].astype(str), "source": "train",
                            "text": train["combined_text"].astype(str)})]  # fmt: skip
    if unlabeled is not None:
        ids, texts = read_articles(unlabeled)
        if not texts:
            raise FakeNewsError(
                f"--unlabeled {unlabeled} holds no articles; pass a file with at least one."
            )
        frames.append(pd.DataFrame({"id": ids, "source": "unlabeled", "text": texts}))
    table = pd.concat(frames, ignore_index=True)
    predictor = load_predictor(teacher.run, quiet=True)
    table["prob_fake"] = np.asarray(predictor.predict_proba(table["text"].tolist()))[:, 1]
    # the train split holds the train texts; only the unlabeled ones are kept (for --resume)
    table.loc[table["source"] == "train", "text"] = ""
    logger.info("teacher targets: P(fake) of %d articles from %s", len(table), teacher.run.path)
    return table, False


def teacher_logits(prob_fake: np.ndarray) -> np.ndarray:
    """``log(p / (1 - p))`` with ``p`` clipped to [1e-6, 1 - 1e-6]: the teacher's two-class logit."""
    p = np.clip(np.asarray(prob_fake, dtype=np.float64), PROB_EPS, 1.0 - PROB_EPS)
    return np.log(p / (1.0 - p))


def _extend_train(
    train_ds: Any,
    tokenizer: Any,
    config: RunConfig,
    run: RunDir,
    *,
    targets: pd.DataFrame,
    write: bool,
) -> Any:
    """The tokenized train split + the teacher's logits, then the unlabeled articles (no CE)."""
    if write:
        write_csv(run.teacher_targets, targets)
    train_rows = targets[targets["source"] == "train"]
    train_ds = train_ds.add_column(
        TEACHER_LOGIT, teacher_logits(train_rows["prob_fake"].to_numpy()).tolist()
    )
    train_ds = train_ds.add_column(HAS_LABEL, [1] * len(train_ds))
    extra = targets[targets["source"] == "unlabeled"]
    if extra.empty:
        return train_ds
    frame = pd.DataFrame({"combined_text": extra["text"].tolist(), "label": 0})
    digest = hashlib.sha256("\n\0".join(frame["combined_text"]).encode()).hexdigest()
    extra_ds = tokenize_split(
        tokenizer, frame, name="unlabeled", config=config, split_fingerprint=digest
    )
    extra_ds = extra_ds.add_column(
        TEACHER_LOGIT, teacher_logits(extra["prob_fake"].to_numpy()).tolist()
    )
    extra_ds = extra_ds.add_column(HAS_LABEL, [0] * len(extra_ds))
    return datasets.concatenate_datasets([train_ds, extra_ds])
