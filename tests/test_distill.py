"""`fakenews distill`: the loss, both kinds of teacher, --unlabeled, resume after kill -9, the
student as an ordinary run dir (evaluate, compare, model card) and one-line errors."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from conftest import TINY_TRAIN_SETTINGS
from fakenews.cli import main
from fakenews.comparison import compare
from fakenews.distill import distill, distillation_loss, teacher_logits
from fakenews.errors import FakeNewsError
from fakenews.evaluation import evaluate
from fakenews.predictors.load import load_predictor
from fakenews.rundir import RunDir
from fakenews.splits import fingerprint, load_split_dir, write_split_files
from fakenews.training import last_checkpoint, train


def settings(tmp_path: Path, *extra: str) -> list[str]:
    return [*TINY_TRAIN_SETTINGS, f"data.cache_dir={tmp_path / 'cache'}", *extra]


def cli_args(
    teacher: Path, split_dir: Path, out: Path, overrides: list[str], *extra: str
) -> list[str]:
    sets = [arg for item in overrides for arg in ("--set", item)]
    return ["distill", str(teacher), str(split_dir), "--student", "scratch:bert", "--out", str(out),
            *sets, "--quiet", *extra]  # fmt: skip


def subprocess_env() -> dict[str, str]:
    src = str(Path(__file__).resolve().parents[1] / "src")
    return {
        **os.environ,
        "PYTHONPATH": src,
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }


def copy_run(run: Path, tmp_path: Path, name: str) -> Path:
    """A private copy of a session fixture run (evaluate writes into it)."""
    return Path(shutil.copytree(run, tmp_path / name))


# ----------------------------------------------------------------------------- the loss


def test_the_loss_is_alpha_kl_times_t_squared_plus_one_minus_alpha_ce() -> None:
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 2, generator=gen)
    labels = torch.tensor([0, 1, 1, 0, 1, 0])
    teacher = torch.randn(6, generator=gen) * 3
    has_label = torch.tensor([1, 1, 1, 1, 0, 0])  # the last two: unlabeled articles
    t = 2.5
    p = torch.sigmoid(teacher / t)
    target = torch.stack([1 - p, p], dim=-1)
    log_q = F.log_softmax(logits / t, dim=-1)
    kl = (target * (target.log() - log_q)).sum(-1).mean() * t * t
    ce = F.cross_entropy(logits[:4], labels[:4])

    def loss(alpha: float) -> float:
        return float(
            distillation_loss(logits, labels, teacher, has_label, temperature=t, alpha=alpha)
        )

    assert loss(1.0) == pytest.approx(float(kl), rel=1e-5)  # pure KL: the labels do not count
    assert loss(0.0) == pytest.approx(float(ce), rel=1e-5)  # pure CE, labelled rows only
    assert loss(0.3) == pytest.approx(0.3 * float(kl) + 0.7 * float(ce), rel=1e-5)
    flipped = labels.clone()
    flipped[4:] = 1 - flipped[4:]  # the labels of unlabeled rows are placeholders
    assert float(
        distillation_loss(logits, flipped, teacher, has_label, temperature=t, alpha=0.0)
    ) == pytest.approx(float(ce), rel=1e-6)


def test_the_kl_term_vanishes_when_the_student_matches_the_teacher() -> None:
    teacher = torch.tensor([2.0, -1.0, 0.5])
    student = torch.stack([torch.zeros(3), teacher], dim=-1)  # logit difference = teacher's logit
    loss = distillation_loss(
        student,
        torch.zeros(3, dtype=torch.long),
        teacher,
        torch.zeros(3),
        temperature=4.0,
        alpha=1.0,
    )
    assert float(loss) == pytest.approx(0.0, abs=1e-6)


def test_teacher_logits_invert_the_probabilities_and_clip_certainty() -> None:
    logits = teacher_logits(np.array([0.5, 0.8807970779778823, 0.0, 1.0]))
    np.testing.assert_allclose(logits[:2], [0.0, 2.0], atol=1e-9)
    assert np.isfinite(logits).all() and logits[2] < -13 and logits[3] > 13


# ------------------------------------------------------------------------ end to end


def test_a_transformer_teacher_distils_into_an_ordinary_run_dir_with_unlabeled_articles(
    tiny_run_dir: Path, tiny_split_dir: Path, tmp_path: Path
) -> None:
    teacher = copy_run(tiny_run_dir, tmp_path, "teacher")
    teacher_eval = evaluate(teacher, quiet=True)
    unlabeled = tmp_path / "extra.jsonl"
    test_frame = load_split_dir(tiny_split_dir).frames["validation"]
    rows = [
        {"id": f"u{i}", "title": "", "text": t} for i, t in enumerate(test_frame["combined_text"])
    ]
    unlabeled.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")

    result = distill(
        teacher, tiny_split_dir, student="scratch:bert", out=tmp_path / "student", unlabeled=unlabeled,
        overrides=settings(tmp_path, "train.epochs=2", "distill.temperature=3", "distill.alpha=0.7"),
        quiet=True,
    )  # fmt: skip
    run = RunDir.open(result.run_dir)
    assert run.config.distill.teacher == str(teacher.resolve())
    assert run.config.distill.unlabeled == str(unlabeled.resolve())
    assert (run.config.distill.temperature, run.config.distill.alpha) == (3.0, 0.7)
    info = run.summary.teacher
    assert info["model_name"] == "scratch:bert" and info["kind"] == "transformer"
    assert info["data_fingerprint"] == run.data_fingerprint
    assert info["test_accuracy"] == pytest.approx(teacher_eval.metrics.accuracy)
    assert info["n_unlabeled"] == len(rows) and (info["temperature"], info["alpha"]) == (3.0, 0.7)
    assert run.summary.n_train == 40  # the labelled articles; the unlabeled ones come on top

    targets = pd.read_csv(run.teacher_targets, dtype={"id": str}, keep_default_na=False)
    assert targets["source"].value_counts().to_dict() == {"train": 40, "unlabeled": len(rows)}
    extra = targets[targets["source"] == "unlabeled"]
    expected = load_predictor(teacher).predict_proba(extra["text"].tolist())[:, 1]
    np.testing.assert_allclose(extra["prob_fake"].to_numpy(), expected, atol=1e-6)
    # every optimizer step saw the unlabeled rows too: (40 + 12) / 8 = 7 batches per epoch
    assert run.summary.global_step == 2 * 7

    student_eval = evaluate(run.path, quiet=True)
    assert 0.0 <= student_eval.metrics.accuracy <= 1.0
    card = (run.path / "README.md").read_text(encoding="utf-8")
    assert (
        f"Distilled from the teacher run `{teacher.resolve()}` (`scratch:bert`, transformer" in card
    )
    assert "loss = 0.7 × KL(teacher_T ‖ student_T) × T² + (1 − 0.7) × cross-entropy" in card
    assert f"{len(rows)} unlabeled articles labelled by the teacher alone." in card
    report = compare([teacher, run.path], tmp_path / "report", n_bootstrap=200, quiet=True)
    assert {r.name for r in report.runs} == {"teacher", "student"}
    assert "distilled from" in (tmp_path / "report" / "report.md").read_text(encoding="utf-8")


def test_the_tfidf_baseline_teaches_from_its_own_probabilities(
    tiny_baseline_run_dir: Path, tiny_split_dir: Path, tmp_path: Path
) -> None:
    result = distill(
        tiny_baseline_run_dir, tiny_split_dir, student="scratch:bert", out=tmp_path / "student",
        overrides=settings(tmp_path, "train.epochs=1", "distill.alpha=1"), quiet=True,
    )  # fmt: skip
    run = RunDir.open(result.run_dir)
    assert (
        run.summary.teacher["kind"] == "baseline" and run.summary.teacher["test_accuracy"] is None
    )
    assert run.summary.teacher["n_unlabeled"] == 0
    targets = pd.read_csv(run.teacher_targets, dtype={"id": str}, keep_default_na=False)
    train_frame = load_split_dir(tiny_split_dir).frames["train"]
    assert targets["id"].tolist() == train_frame["id"].astype(str).tolist()
    expected = load_predictor(tiny_baseline_run_dir).predict_proba(
        train_frame["combined_text"].tolist()
    )[:, 1]
    np.testing.assert_allclose(targets["prob_fake"].to_numpy(), expected, atol=1e-9)
    assert run.summary.global_step == 5 and (run.model / "config.json").is_file()


# ---------------------------------------------------------------------------- resume


def test_kill_9_then_resume_finishes_without_asking_the_teacher_again(
    tiny_baseline_run_dir: Path,
    tiny_split_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    overrides = settings(tmp_path, "train.epochs=3")
    killed = tmp_path / "killed"
    args = cli_args(tiny_baseline_run_dir, tiny_split_dir, killed, overrides)
    proc = subprocess.Popen(
        [sys.executable, "-m", "fakenews", *args], env=subprocess_env(), stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while last_checkpoint(RunDir(killed)) is None:
        assert proc.poll() is None, (
            f"distill ended before its first checkpoint: {proc.stderr.read().decode() if proc.stderr else ''}"
        )
        assert time.monotonic() < deadline, "no checkpoint after 120 s"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL and not (killed / "model").exists()
    targets = RunDir(killed).teacher_targets
    before = (targets.stat().st_mtime_ns, targets.read_bytes())

    assert (
        main(
            cli_args(
                tiny_baseline_run_dir,
                tiny_split_dir,
                killed,
                [*overrides, "distill.alpha=0.9"],
                "--resume",
            )
        )
        == 1
    )
    assert (
        f"error: cannot resume {killed}: the config differs (distill.alpha: run has 0.5, now 0.9)"
        in capsys.readouterr().err
    )
    assert main([*args, "--resume"]) == 0
    assert f"run dir: {killed}" in capsys.readouterr().out
    run = RunDir.open(killed)
    assert run.summary.resumed is True and run.summary.epochs_completed == 3.0
    assert (targets.stat().st_mtime_ns, targets.read_bytes()) == before  # read back, not recomputed

    fresh = distill(tiny_baseline_run_dir, tiny_split_dir, student="scratch:bert", out=tmp_path / "fresh",
                    overrides=overrides, quiet=True)  # fmt: skip
    assert run.summary.validation == pytest.approx(fresh.metrics, abs=1e-6)
    assert run.summary.global_step == fresh.summary.global_step


# ------------------------------------------------------------------------ compare, errors


def test_compare_refuses_a_student_whose_teacher_learnt_from_another_split(
    tiny_split_dir: Path, tiny_baseline_run_dir: Path, tmp_path: Path
) -> None:
    split = load_split_dir(tiny_split_dir)
    frames = {k: split.frames[k] for k in ("train", "validation", "test")}
    frames["train"] = frames["train"].iloc[2:].reset_index(drop=True)  # another split
    other = tmp_path / "other_split"
    other.mkdir()
    write_split_files(other, frames)
    manifest = {**split.manifest, "fingerprint": fingerprint(frames)}
    (other / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    teacher = train(other, "tfidf-logreg", tmp_path / "teacher", quiet=True).run_dir
    student = distill(teacher, tiny_split_dir, student="scratch:bert", out=tmp_path / "student",
                      overrides=settings(tmp_path, "train.epochs=1"), quiet=True).run_dir  # fmt: skip
    baseline = copy_run(tiny_baseline_run_dir, tmp_path, "baseline")
    evaluate(student, quiet=True)
    evaluate(baseline, quiet=True)
    with pytest.raises(
        FakeNewsError,
        match=re.escape(
            f"run {student} was distilled from {teacher.resolve()}, trained on another split (fingerprint "
            f"{manifest['fingerprint']}, the student's {split.fingerprint}), so its teacher may have seen "
            "these test articles; distil from a teacher trained on the student's split dir."
        ),
    ):
        compare([baseline, student], tmp_path / "report", n_bootstrap=100, quiet=True)
    assert not (tmp_path / "report").exists()


@pytest.mark.parametrize(
    ("teacher", "student", "extra", "message"),
    [
        ("missing", "scratch:bert", [], "error: expected a teacher run dir at {tmp}/missing, found nothing there; "
         "pass a run dir written by `fakenews train` (or `fakenews distill`)."),
        ("empty", "scratch:bert", [], "error: {tmp}/empty is not a run dir (no config.yaml); pass a teacher run "
         "dir written by `fakenews train`."),
        ("teacher", "minilm-l7", [], "error: unknown model preset 'minilm-l7'"),
        ("teacher", "tfidf-logreg", [], "error: --student tfidf-logreg is the TF-IDF baseline, but distillation "
         "needs a transformer student (its loss reads the student's logits); pass e.g. --student minilm-l6 "
         "(the baseline can be the teacher)."),
        ("teacher", "scratch:bert", ["--set", "distill.alpha=1.5"], "error: distill.alpha must be a number "
         "from 0 to 1 (the teacher's share of the loss); found 1.5. Fix it with --set distill.alpha=0.5."),
        ("teacher", "scratch:bert", ["--set", "distill.temperature=0"], "error: distill.temperature must be "
         "a number > 0 and <= 100; found 0.0. Fix it with --set distill.temperature=2."),
        ("teacher", "scratch:bert", ["--unlabeled", "{tmp}/nope.csv"], "error: expected a CSV, JSONL or text file "
         "of articles at --unlabeled {tmp}/nope.csv, found nothing; check the path."),
    ],
)  # fmt: skip
def test_bad_distill_inputs_are_one_line_errors(
    teacher: str, student: str, extra: list[str], message: str, tiny_baseline_run_dir: Path,
    tiny_split_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    (tmp_path / "empty").mkdir()
    teacher_path = tiny_baseline_run_dir if teacher == "teacher" else tmp_path / teacher
    args = ["distill", str(teacher_path), str(tiny_split_dir), "--student", student,
            "--out", str(tmp_path / "out"), *[a.format(tmp=tmp_path) for a in extra]]  # fmt: skip
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith(message.format(tmp=tmp_path)) and err.count("\n") == 1
    assert not (tmp_path / "out").exists()  # nothing written


def test_train_refuses_the_settings_only_distill_writes(
    tiny_split_dir: Path, tmp_path: Path
) -> None:
    with pytest.raises(
        FakeNewsError,
        match=re.escape(
            "distill.teacher and distill.unlabeled are set by `fakenews distill TEACHER_RUN ...`, not by "
            "`fakenews train`; drop them from --set/--config or run `fakenews distill`."
        ),
    ):
        train(tiny_split_dir, "tfidf-logreg", tmp_path / "run", overrides=["distill.teacher=/x"])
    assert not (tmp_path / "run").exists()
