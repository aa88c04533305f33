"""Distributed ``predict`` under a real ``torchrun`` with 2 CPU processes (gloo), and kill -9.

Each process scores every other chunk into ``OUT.parts``; rank 0 merges them. The merged file
must be byte-identical to a single-process run's, and a rerun after ``kill -9`` of one process
must skip the chunks that were finished.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from fakenews.cli import main
from fakenews.predict_parts import CHUNK_DELAY_ENV

REPO = Path(__file__).resolve().parents[1]
N_ROWS = 300
SKIPPED = re.compile(r"rank (\d)/2: scored (\d+) chunk\(s\), skipped (\d+) finished chunk\(s\)")


@pytest.fixture(scope="module")
def articles(tiny_split_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 real articles (the tiny split's, repeated) with unique ids, as CSV."""
    train = pd.read_csv(tiny_split_dir / "train.csv", dtype=str, keep_default_na=False)
    rows = pd.concat([train] * (N_ROWS // len(train) + 1)).head(N_ROWS)
    frame = pd.DataFrame({"id": [f"a{i}" for i in range(N_ROWS)], "text": rows["combined_text"].tolist()})  # fmt: skip
    path = tmp_path_factory.mktemp("distributed") / "articles.csv"
    frame.to_csv(path, index=False)
    return path


def torchrun(
    run: Path, src: Path, out: Path, *more: str, delay: float = 0.0
) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
        "COLUMNS": "200",  # one log line per line
        CHUNK_DELAY_ENV: str(delay),
    }
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "fakenews", "predict", str(run), "--input", str(src), "--output", str(out), *more,
    ]  # fmt: skip
    return subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def single(run: Path, src: Path, out: Path, *more: str) -> bytes:
    assert main(["predict", str(run), "--input", str(src), "--output", str(out), "-q", *more]) == 0
    return out.read_bytes()


def test_two_processes_write_the_same_bytes_as_one(
    tiny_baseline_run_dir: Path, articles: Path, tmp_path: Path
) -> None:
    expected = single(tiny_baseline_run_dir, articles, tmp_path / "one.csv", "--chunk-size", "16")
    proc = torchrun(tiny_baseline_run_dir, articles, tmp_path / "two.csv", "--chunk-size", "16")
    log, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, log
    assert (tmp_path / "two.csv").read_bytes() == expected
    scored = {int(m[0]): int(m[1]) for m in SKIPPED.findall(log)}
    assert scored == {0: 10, 1: 9}  # 19 chunks of 16 rows, round-robin
    assert "merged 19 part(s)" in log
    assert not (tmp_path / "two.csv.parts").exists()


def test_a_rerun_after_kill_9_skips_the_finished_chunks(
    tiny_baseline_run_dir: Path, articles: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    opts = ("--chunk-size", "10")  # 30 chunks, 15 per process
    expected = single(tiny_baseline_run_dir, articles, tmp_path / "one.jsonl", *opts)
    capsys.readouterr()
    out = tmp_path / "two.jsonl"
    parts = tmp_path / "two.jsonl.parts"
    proc = torchrun(tiny_baseline_run_dir, articles, out, *opts, delay=0.4)
    deadline = time.monotonic() + 90
    while len(list(parts.glob("chunk-*.jsonl"))) < 4 and time.monotonic() < deadline:
        time.sleep(0.1)
    children = psutil.Process(proc.pid).children(recursive=True)
    workers = [p for p in children if "fakenews" in " ".join(p.cmdline())]
    assert len(workers) == 2
    os.kill(workers[1].pid, signal.SIGKILL)
    killed_log, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0 and not out.exists()
    finished = len(list(parts.glob("chunk-*.jsonl")))
    assert 4 <= finished < 30, killed_log
    manifest = json.loads((parts / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["chunk_size"] == 10 and manifest["input"] == str(articles.resolve())

    # the rerun may use any number of processes: here one, in this process
    assert main(["predict", str(tiny_baseline_run_dir), "-i", str(articles), "-o", str(out), *opts]) == 0  # fmt: skip
    log = capsys.readouterr().err
    assert out.read_bytes() == expected
    assert f"rank 0/1: scored {30 - finished} chunk(s), skipped {finished} finished chunk(s)" in log
    assert not parts.exists()


def test_parts_of_another_input_are_not_reused(
    tiny_baseline_run_dir: Path, articles: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.csv"
    parts = tmp_path / "out.csv.parts"
    parts.mkdir()
    stale = {"input": "/elsewhere/old.csv", "size": 10, "mtime_ns": 1}
    (parts / "manifest.json").write_text(json.dumps(stale), encoding="utf-8")
    assert main(["predict", str(tiny_baseline_run_dir), "-i", str(articles), "-o", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        f"error: {parts} holds parts of another prediction (input was '/elsewhere/old.csv', now "
        f"'{articles.resolve()}'); remove {parts} to start over, or rerun with the same input and options."
    )
    assert not out.exists()
