"""Distributed ``fakenews predict``: 1 vs 2 processes under ``torchrun`` on the same input, the
checksums of both outputs (they must be identical), and a ``kill -9`` + rerun transcript.

The input is the WELFake sample repeated to ``--rows`` articles with fresh ids. The default model
is a tfidf-logreg run trained here on the sample with the CLI (``prepare`` then ``train``); pass
``--run`` for another (e.g. a minilm-l6 run with a smaller ``--rows``). Each configuration runs
the real command in a fresh process; the two take turns for ``--rounds`` rounds, and the ratio is
the median of the per-round ratios. Then one 2-process run is killed with ``kill -9`` (one
worker) once a third of the part files exist, and rerun: the rerun must skip the finished chunks
(its log says how many) and give the single-process bytes.

    python benchmarks/bench_distributed_predict.py                      # 100k rows, ~5-10 min here
    python benchmarks/bench_distributed_predict.py --run runs/minilm --rows 2000 --name minilm

Writes ``benchmarks/results/bench_distributed_predict[-NAME]-<machine>.json`` and the transcript
``...-kill9.txt`` beside it.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DEFAULT_DATA, ROOT, machine_info, machine_slug, table, write_result

FAKENEWS = [sys.executable, "-m", "fakenews"]
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node"]


def env() -> dict[str, str]:
    path = os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}


def train_baseline(data: Path, work: Path) -> Path:
    """A tfidf-logreg run trained on ``data`` with the CLI."""
    split, run = work / "split", work / "run-tfidf"
    for cmd in (
        [*FAKENEWS, "prepare", str(data), "--out", str(split), "-q"],
        [*FAKENEWS, "train", str(split), "--model", "tfidf-logreg", "--out", str(run), "-q"],
    ):
        subprocess.run(cmd, check=True, env=env())
    return run


def repeated_input(data: Path, rows: int, path: Path) -> Path:
    """``data`` repeated to ``rows`` rows, ids ``<repeat>-<id>``."""
    import pandas as pd

    frame = pd.read_csv(data, dtype=str, keep_default_na=False)
    reps = -(-rows // len(frame))
    parts = [frame.assign(id=[f"{r}-{i}" for i in frame["id"]]) for r in range(reps)]
    pd.concat(parts).head(rows)[["id", "title", "text"]].to_csv(path, index=False)
    return path


def predict_cmd(n_procs: int, run: Path, src: Path, out: Path, chunk: int) -> list[str]:
    args = ["predict", str(run), "--input", str(src), "--output", str(out), "--chunk-size", str(chunk)]  # fmt: skip
    if n_procs == 1:
        return [*FAKENEWS, *args, "-q"]
    return [*TORCHRUN, str(n_procs), "-m", "fakenews", *args]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def timed(cmd: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env(), capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stdout}{done.stderr}")
    return seconds, done.stdout + done.stderr


def compare(run: Path, src: Path, work: Path, chunk: int, rounds: int) -> dict[str, Any]:
    """1 and 2 processes in turn; wall seconds, checksums."""
    walls: dict[int, list[float]] = {1: [], 2: []}
    sums: dict[int, str] = {}
    for r in range(rounds):
        for n in (1, 2):
            out = work / f"out-{n}.csv"
            seconds, _ = timed(predict_cmd(n, run, src, out, chunk))
            walls[n].append(seconds)
            sums[n] = sha256(out)
            print(
                f"round {r + 1}: {n} process(es) {seconds:.1f} s  sha256 {sums[n][:16]}", flush=True
            )
    ratios = [a / b for a, b in zip(walls[1], walls[2], strict=True)]
    return {
        "wall_seconds": {str(n): w for n, w in walls.items()},
        "speedup_2_vs_1_median": statistics.median(ratios),
        "speedup_2_vs_1_min_max": [min(ratios), max(ratios)],
        "sha256": {str(n): s for n, s in sums.items()},
        "identical": sums[1] == sums[2],
    }


def kill_and_rerun(run: Path, src: Path, work: Path, chunk: int, n_chunks: int) -> tuple[list[str], dict[str, Any]]:  # fmt: skip
    """A 2-process run killed with kill -9 (one worker) at a third of its parts, then rerun."""
    out = work / "killed.csv"
    parts = work / "killed.csv.parts"
    lines: list[str] = []
    say = lines.append
    cmd = predict_cmd(2, run, src, out, chunk)
    say(f"$ {' '.join(cmd)}")
    proc = subprocess.Popen(
        cmd, env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    while len(list(parts.glob("chunk-*"))) < n_chunks // 3 and proc.poll() is None:
        time.sleep(0.05)
    workers = [p for p in psutil.Process(proc.pid).children(recursive=True) if "fakenews" in " ".join(p.cmdline())]  # fmt: skip
    victim = workers[-1]
    say(
        f"# {len(list(parts.glob('chunk-*')))} of {n_chunks} part files exist; kill -9 {victim.pid} (one of the 2 workers)"
    )
    os.kill(victim.pid, signal.SIGKILL)
    log, _ = proc.communicate()
    say(log.rstrip())
    finished = len(list(parts.glob("chunk-*")))
    say(
        f"# exit code {proc.returncode}; {out.name} exists: {out.exists()}; {finished} finished part files kept in {parts.name}/"
    )
    say(f"$ {' '.join(cmd)}")
    seconds, log = timed(cmd)
    say(log.rstrip())
    say(
        f"# exit code 0 after {seconds:.1f} s; {parts.name}/ exists: {parts.exists()}; sha256 {sha256(out)}"
    )
    return lines, {"parts_before_rerun": finished, "rerun_seconds": seconds, "sha256": sha256(out)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--run", type=Path, default=None, help="Run dir (default: train tfidf-logreg on --data)."
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--chunk-size", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--name", default="", help="Suffix of the results' name (e.g. minilm).")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-distributed-"))
    work.mkdir(parents=True, exist_ok=True)
    info = machine_info()
    run = args.run or train_baseline(args.data, work)
    src = repeated_input(args.data, args.rows, work / "input.csv")
    print(f"input: {args.rows} rows ({src.stat().st_size / 2**20:.1f} MiB); run: {run}; load {os.getloadavg()}", flush=True)  # fmt: skip
    result = compare(run, src, work, args.chunk_size, args.rounds)
    transcript, killed = kill_and_rerun(
        run, src, work, args.chunk_size, -(-args.rows // args.chunk_size)
    )
    killed["identical_to_single"] = killed["sha256"] == result["sha256"]["1"]
    name = "bench_distributed_predict" + (f"-{args.name}" if args.name else "")
    payload = {
        "machine": info, "run": str(run), "rows": args.rows, "chunk_size": args.chunk_size,
        "rounds": args.rounds, **result, "kill9": killed,
    }  # fmt: skip
    path = write_result(name, payload)
    text = path.with_name(f"{name}-{machine_slug()}-kill9.txt")
    text.write_text(
        "\n".join(x.rstrip() for x in "\n".join(transcript).splitlines()) + "\n", encoding="utf-8"
    )
    rows = [[n, f"{statistics.median(w):.1f}", result["sha256"][n]] for n, w in result["wall_seconds"].items()]  # fmt: skip
    print(table(rows, ["processes", "wall s (median)", "sha256"]))
    print(f"speed-up 2 vs 1: {result['speedup_2_vs_1_median']:.2f}x; identical: {result['identical']}; "
          f"kill -9 rerun identical: {killed['identical_to_single']} ({killed['parts_before_rerun']} parts reused)")  # fmt: skip
    print(f"wrote {path} and {text}")


if __name__ == "__main__":
    main()
