"""Scaling of ``fakenews predict RUN_DIR --input FILE --output FILE``: time and peak memory on 1k,
10k and 100k articles, each size in a fresh process.

The inputs are synthesised by repeating the real articles (the WELFake sample by default) with
fresh ids, so every size reads the same kind of text. Each size runs the real ``fakenews``
command in its own subprocess; its peak resident memory is measured by GNU ``time`` (``%M``)
and cross-checked by sampling its RSS with psutil every 20 ms. The default
model is a TF-IDF + logistic-regression run trained here on the sample (seconds), so 100k
articles take minutes; pass a transformer run with smaller sizes to see the same for it.

    python benchmarks/bench_predict_scaling.py                                   # ~2-4 min
    python benchmarks/bench_predict_scaling.py --run RUN_DIR --sizes 100,1000    # a transformer

Targets printed: peak memory of the largest size within 1.5x of the smallest; cost per 1k
articles flat (linear time). Writes ``benchmarks/results/bench_predict_scaling-<machine>.json``.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DEFAULT_DATA, load_articles, machine_info, quiet_libraries, table, write_result


def baseline_run(data: Path, workdir: Path) -> Path:
    """A tfidf-logreg run trained on ``data`` (prepared 70/15/15 into ``workdir``)."""
    from fakenews.data.prepare import prepare
    from fakenews.training import train

    split = workdir / "split"
    if data.is_dir():
        split = data
    else:
        prepare([data], split, force=True, quiet=True)
    train(split, "tfidf-logreg", workdir / "run-tfidf", force=True, quiet=True)
    return workdir / "run-tfidf"


def write_input(texts: list[str], n: int, path: Path) -> int:
    """``id,combined_text`` with ``n`` rows: the real articles repeated in order; returns bytes."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["id", "combined_text"])
        for i in range(n):
            writer.writerow([f"a{i}", texts[i % len(texts)]])
    return path.stat().st_size


def run_predict(command: list[str], workdir: Path, interval: float = 0.02) -> dict[str, Any]:
    """Run ``command``; wall seconds, exit code, peak RSS by GNU time (``%M``, exact) and by psutil
    sampling. GNU time is a small process that forks the command, so the peak is the command's own
    (``ru_maxrss`` read from this Python process would start at this process's size: Linux keeps
    the fork parent's high-water mark across ``exec``)."""
    gnu_time = shutil.which("time", path="/usr/bin:/bin")
    report = workdir / "time.txt"
    full = [gnu_time, "-f", "%M", "-o", str(report), *command] if gnu_time else command
    start = time.perf_counter()
    proc = subprocess.Popen(full, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sampled = [0]
    done = threading.Event()

    def sample() -> None:
        try:
            p = psutil.Process(proc.pid)
            while not done.is_set():
                procs = [p, *p.children(recursive=True)]
                rss = sum(q.memory_info().rss for q in procs if q.name() != "time")
                sampled[0] = max(sampled[0], rss)
                time.sleep(interval)
        except psutil.Error:
            pass

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    _, stderr = proc.communicate()
    seconds = time.perf_counter() - start
    done.set()
    thread.join()
    peak = (
        float(report.read_text().split()[-1]) / 1024
        if gnu_time and report.is_file()
        else sampled[0] / 2**20
    )
    return {"seconds": seconds, "returncode": proc.returncode, "peak_rss_mb": peak,
            "peak_rss_by": "GNU time %M" if gnu_time else "psutil sampling",
            "sampled_peak_rss_mb": sampled[0] / 2**20, "stderr": stderr.decode("utf-8", "replace")[-2000:]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])  # fmt: skip
    parser.add_argument(
        "--run",
        type=Path,
        help="run dir to predict with (default: a tfidf-logreg run trained here)",
    )
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="real articles to repeat (CSV or split dir)"
    )
    parser.add_argument(
        "--sizes",
        default="1000,10000,100000",
        help="articles per input file (default 1000,10000,100000)",
    )
    parser.add_argument(
        "--extra",
        default="",
        help="extra options for `fakenews predict`, e.g. '--backend onnx --batch-size 8'",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="results JSON (default benchmarks/results/bench_predict_scaling-<machine>.json)",
    )
    args = parser.parse_args()
    quiet_libraries()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    fakenews = shutil.which("fakenews", path=str(Path(sys.executable).parent)) or shutil.which(
        "fakenews"
    )
    command_head = [fakenews] if fakenews else [sys.executable, "-m", "fakenews"]
    info = machine_info()

    with tempfile.TemporaryDirectory(prefix="bench-predict-") as tmp:
        workdir = Path(tmp)
        run = args.run or baseline_run(args.data, workdir)
        texts = load_articles(args.data, split="test").texts
        print(f"run {run}; {len(texts)} real articles from {args.data} repeated; sizes {sizes}")
        rows_out: dict[int, dict[str, Any]] = {}
        for n in sizes:
            src, dst = workdir / f"in-{n}.csv", workdir / f"out-{n}.csv"
            size = write_input(texts, n, src)
            command = [
                *command_head,
                "predict",
                str(run),
                "--input",
                str(src),
                "--output",
                str(dst),
                "--quiet",
                *args.extra.split(),
            ]
            r = run_predict(command, workdir)
            if r["returncode"] != 0:
                raise SystemExit(f"`{' '.join(command)}` failed ({r['returncode']}): {r['stderr']}")
            with dst.open(encoding="utf-8") as fh:
                written = sum(1 for _ in fh) - 1
            r.update(
                {
                    "n": n,
                    "input_mb": size / 2**20,
                    "rows_written": written,
                    "seconds_per_1k": r["seconds"] / (n / 1000),
                }
            )
            rows_out[n] = r
            print(f"  {n:>7} articles  {r['seconds']:8.1f} s  {r['seconds_per_1k']:6.2f} s/1k  peak {r['peak_rss_mb']:7.1f} MB "
                  f"(sampled {r['sampled_peak_rss_mb']:.1f})  input {r['input_mb']:.0f} MB")  # fmt: skip
            src.unlink()
            dst.unlink()
        command_shown = " ".join(
            [
                "fakenews",
                "predict",
                "RUN_DIR",
                "--input",
                "FILE",
                "--output",
                "FILE",
                "--quiet",
                *args.extra.split(),
            ]
        )

    small, large = rows_out[sizes[0]], rows_out[sizes[-1]]
    peak_ratio = large["peak_rss_mb"] / small["peak_rss_mb"]
    # marginal cost between the two largest sizes: start-up and model loading cancel out
    marginal = None
    if len(sizes) >= 2:
        a, b = rows_out[sizes[-2]], rows_out[sizes[-1]]
        marginal = (b["seconds"] - a["seconds"]) / ((b["n"] - a["n"]) / 1000)
    rows = [[n, r["seconds"], r["seconds_per_1k"], r["peak_rss_mb"], r["sampled_peak_rss_mb"], r["peak_rss_mb"] / small["peak_rss_mb"]]
            for n, r in rows_out.items()]  # fmt: skip
    print()
    print(
        table(
            rows,
            [
                "articles",
                "seconds",
                "s per 1k",
                "peak RSS MB (GNU time)",
                "peak RSS MB (sampled)",
                "peak / smallest",
            ],
        )
    )
    if marginal is not None:
        print(
            f"marginal cost between {sizes[-2]:,} and {sizes[-1]:,}: {marginal:.2f} s per 1k articles"
        )
    reached = peak_ratio <= 1.5
    print(
        f"target peak_{sizes[-1]}/{sizes[0]} <= 1.5x: {'REACHED' if reached else 'missed'} ({peak_ratio:.2f}x)"
    )
    payload = {
        "benchmark": "predict_scaling",
        "machine": info,
        "run": str(args.run)
        if args.run
        else "tfidf-logreg trained on the WELFake sample (70/15/15 split)",
        "command": command_shown,
        "data": str(args.data),
        "sizes": {
            str(n): {k: v for k, v in r.items() if k != "stderr"} for n, r in rows_out.items()
        },
        "marginal_seconds_per_1k": marginal,
        "targets": {"peak_ratio_1.5x": {"ratio": peak_ratio, "reached": reached}},
    }
    print(f"wrote {write_result('bench_predict_scaling', payload, args.out)}")


if __name__ == "__main__":
    main()
