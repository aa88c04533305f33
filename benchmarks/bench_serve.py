"""Serving under load: a real ``fakenews serve`` on loopback, 1, 4 and 16 concurrent clients,
micro-batching off (``--max-batch 1``: one request at a time) and on, in the same run.

Two servers of the same run start side by side (one per mode) and the cells take turns: for
each client count, batching off, then on (on, then off in the next round), ``--rounds`` times;
the table shows each cell's median over rounds, the ratio is the median of the per-round ratios
(this CPU is shared: its speed changes from one minute to the next). Each client is a thread with one keep-alive
``http.client`` connection posting one real article per request (the WELFake sample by
default). Per cell: requests/s, p50 and p99 latency, errors (anything but a 200), and from the
batching server's ``/metrics`` the mean articles per forward pass.

    python benchmarks/bench_serve.py --run RUN_DIR                 # a minilm-l6 run, ~5 min here
    python benchmarks/bench_serve.py --run RUN_DIR --requests 64 --clients 1,16

Target printed: at 16 clients, batching on >= 3x the requests/s of one-at-a-time, p99 < 2 s.
Writes ``benchmarks/results/bench_serve-<machine>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DEFAULT_DATA, load_articles, machine_info, table, write_result
from _serve import Call, fetch, metric, percentile, run_clients, served

TARGET_RATIO = 3.0
TARGET_P99_S = 2.0


def article_calls(texts: list[str], n: int, offset: int = 0) -> list[Call]:
    headers = {"content-type": "application/json"}
    return [
        Call("good", "POST", "/predict", json.dumps({"text": texts[(offset + i) % len(texts)]}).encode(), headers)
        for i in range(n)
    ]  # fmt: skip


def cell(port: int, texts: list[str], clients: int, requests: int) -> dict[str, Any]:
    """One (mode, clients) measurement: ``requests`` (at least 4 per client) articles."""
    n = max(requests, 4 * clients)
    outcomes, wall = run_clients(port, article_calls(texts, n, offset=clients), clients)
    seconds = [o.seconds for o in outcomes]
    return {
        "clients": clients,
        "requests": len(outcomes),
        "seconds": wall,
        "requests_per_s": len(outcomes) / wall,
        "p50_ms": 1000 * percentile(seconds, 50),
        "p99_ms": 1000 * percentile(seconds, 99),
        "errors": sum(o.status != 200 for o in outcomes),
    }


def batch_means(port: int) -> tuple[float, float]:
    """Total articles and forward passes so far, from ``/metrics``."""
    text = fetch(port, "/metrics")
    return metric(text, "fakenews_batch_articles_sum"), metric(
        text, "fakenews_batch_articles_count"
    )


def measure(args: argparse.Namespace, texts: list[str]) -> list[dict[str, Any]]:
    """Every (round, clients, mode) cell; the modes take turns, their order flipping each round."""
    rows: list[dict[str, Any]] = []
    extra = ["--max-wait-ms", str(args.max_wait_ms)]
    if args.batch_size:
        extra += ["--batch-size", str(args.batch_size)]
    with (
        served(args.run, "--max-batch", "1", *extra) as (off_port, _),
        served(args.run, "--max-batch", str(args.max_batch), *extra) as (on_port, _),
    ):
        for port in (off_port, on_port):  # warm-up: first requests load lazily built kernels
            run_clients(port, article_calls(texts, 8), 4)
        for round_ in range(args.rounds):
            for clients in args.clients:
                modes = [("off", off_port), ("on", on_port)]
                for mode, port in modes if round_ % 2 == 0 else modes[::-1]:
                    rows.append({"round": round_ + 1, **one_cell(port, mode, texts, clients, args)})
    return rows


def one_cell(
    port: int, mode: str, texts: list[str], clients: int, args: argparse.Namespace
) -> dict[str, Any]:
    before = batch_means(port)
    row = {"batching": mode, **cell(port, texts, clients, args.requests)}
    after = batch_means(port)
    passes = after[1] - before[1]
    row["articles_per_pass"] = (after[0] - before[0]) / passes if passes else 0.0
    print(
        f"  clients {clients:>2}  batching {mode:<3}  {row['requests_per_s']:7.2f} req/s"
        f"  p50 {row['p50_ms']:7.0f} ms  p99 {row['p99_ms']:7.0f} ms"
        f"  errors {row['errors']}  articles/pass {row['articles_per_pass']:.1f}"
        f"  load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    return row


def median_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (clients, mode): the median over rounds of each figure; errors summed."""
    keys = sorted(
        {(r["clients"], r["batching"]) for r in rows}, key=lambda k: (k[0], k[1] != "off")
    )
    out = []
    for clients, mode in keys:
        cells = [r for r in rows if r["clients"] == clients and r["batching"] == mode]
        merged: dict[str, Any] = {"clients": clients, "batching": mode, "rounds": len(cells)}
        for name in ("requests_per_s", "p50_ms", "p99_ms", "articles_per_pass"):
            merged[name] = statistics.median(c[name] for c in cells)
        merged["errors"] = sum(c["errors"] for c in cells)
        out.append(merged)
    return out


def summary(rows: list[dict[str, Any]], clients: int) -> dict[str, Any]:
    """At ``clients``: the median over rounds of the on/off requests/s ratio, and the p99."""
    ratios = []
    for round_ in sorted({r["round"] for r in rows}):
        by = {r["batching"]: r for r in rows if r["round"] == round_ and r["clients"] == clients}
        ratios.append(by["on"]["requests_per_s"] / by["off"]["requests_per_s"])
    ratio = statistics.median(ratios)
    p99 = statistics.median(
        r["p99_ms"] / 1000 for r in rows if r["clients"] == clients and r["batching"] == "on"
    )
    return {
        "clients": clients,
        "ratio_on_vs_off": ratio,
        "ratio_per_round": ratios,
        "p99_on_s": p99,
        "target_ratio": TARGET_RATIO,
        "target_p99_s": TARGET_P99_S,
        "meets_ratio": ratio >= TARGET_RATIO,
        "meets_p99": p99 < TARGET_P99_S,
        "errors": sum(r["errors"] for r in rows),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--run", type=Path, required=True, help="Run dir to serve (minilm-l6 for the target)."
    )
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="CSV or split dir of real articles."
    )
    parser.add_argument(
        "--n-articles", type=int, default=200, help="Distinct articles cycled through."
    )
    parser.add_argument(
        "--clients", type=lambda s: [int(x) for x in s.split(",")], default=[1, 4, 16]
    )
    parser.add_argument(
        "--requests", type=int, default=96, help="Requests per cell (at least 4 per client)."
    )
    parser.add_argument(
        "--max-batch", type=int, default=32, help="--max-batch of the batching server."
    )
    parser.add_argument("--max-wait-ms", type=float, default=5.0)
    parser.add_argument(
        "--rounds", type=int, default=3, help="Rounds of every cell (ratio: median over rounds)."
    )
    parser.add_argument(
        "--batch-size", type=int, default=None, help="--batch-size of both servers."
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)  # fmt: skip
    texts = [t for t in load_articles(args.data, n=args.n_articles).texts if len(t) <= 100_000]
    info = machine_info()
    print(f"{len(texts)} articles from {args.data}; load average {os.getloadavg()}", flush=True)
    rows = measure(args, texts)
    top = summary(rows, max(args.clients))
    medians = median_rows(rows)
    header = ["clients", "batching", "requests/s", "p50 ms", "p99 ms", "errors", "articles/pass"]
    cells = [[r["clients"], r["batching"], r["requests_per_s"], r["p50_ms"], r["p99_ms"], r["errors"], r["articles_per_pass"]] for r in medians]  # fmt: skip
    print(table(cells, header))
    print(
        f"at {top['clients']} clients: batching on = {top['ratio_on_vs_off']:.2f}x (median of rounds "
        f"{', '.join(f'{x:.2f}' for x in top['ratio_per_round'])}) the requests/s of "
        f"one-at-a-time (target >= {TARGET_RATIO}x: {'met' if top['meets_ratio'] else 'NOT met'}); "
        f"p99 {top['p99_on_s']:.2f} s (target < {TARGET_P99_S} s: {'met' if top['meets_p99'] else 'NOT met'})"
    )
    payload = {
        "run": str(args.run),
        "data": str(args.data),
        "settings": {k: v for k, v in vars(args).items() if k not in ("run", "data", "out")},
        "rows": rows,
        "medians": medians,
        "summary": top,
        "machine": info,
    }
    print(f"wrote {write_result('bench_serve', payload, args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
