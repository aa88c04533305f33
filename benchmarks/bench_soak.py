"""The soak: 2,000 mixed good and bad requests from 16 concurrent clients against a real
``fakenews serve`` on loopback (with an API key and small limits, so every error kind occurs).

A third of the requests are good (one real article, or a batch of three); the rest cycle
through 14 bad kinds (empty, missing, null or too long text, unknown field, too many articles,
a non-object, malformed JSON, a non-JSON content type, a body over the limit, no key, a wrong
key, an unknown route, a wrong method). Checked: no 5xx and no dropped connection, every
answer JSON, every bad request its expected 4xx status and error code; the resident memory of
the server process after a warm-up pass of the same mix, and after the soak, must grow < 10%.

    python benchmarks/bench_soak.py --run RUN_DIR                  # ~1 min with a TF-IDF run
    python benchmarks/bench_soak.py --run RUN_DIR --requests 500 --clients 8

Writes ``benchmarks/results/bench_soak-<machine>.json``; exit 1 when a check fails.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DEFAULT_DATA, load_articles, machine_info, write_result
from _serve import SOAK_SERVE_ARGS, check, run_clients, served, soak_calls

MAX_GROWTH = 0.10


def soak(run: Path, texts: list[str], requests: int, clients: int, warmup: int) -> dict[str, Any]:
    """Warm up, read the RSS, soak, read it again; the tallies and what went wrong."""
    with served(run, *SOAK_SERVE_ARGS) as (port, pid):
        server = psutil.Process(pid)
        run_clients(port, soak_calls(texts, warmup), clients)
        rss_warm = server.memory_info().rss
        outcomes, wall = run_clients(port, soak_calls(texts, requests), clients)
        rss_end = server.memory_info().rss
    problems = [p for p in (check(o) for o in outcomes) if p is not None]
    statuses = collections.Counter(o.status for o in outcomes)
    return {
        "requests": len(outcomes),
        "clients": clients,
        "seconds": wall,
        "requests_per_s": len(outcomes) / wall,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "kinds": dict(collections.Counter(o.kind for o in outcomes)),
        "responses_5xx": sum(v for k, v in statuses.items() if k >= 500),
        "no_answer": statuses.get(0, 0),
        "wrong": len(problems),
        "wrong_examples": problems[:10],
        "rss_after_warmup_mb": rss_warm / 2**20,
        "rss_end_mb": rss_end / 2**20,
        "rss_growth": rss_end / rss_warm - 1,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="Run dir to serve.")
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="CSV or split dir of real articles."
    )
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument(
        "--warmup",
        type=int,
        default=300,
        help="Requests of the same mix before the first RSS reading.",
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)  # fmt: skip
    texts = load_articles(args.data, n=200).texts
    info = machine_info()
    print(f"soak: {args.requests} requests, {args.clients} clients; load average {os.getloadavg()}")
    result = soak(args.run, texts, args.requests, args.clients, args.warmup)
    ok = result["responses_5xx"] == 0 and result["no_answer"] == 0 and result["wrong"] == 0
    ok = ok and result["rss_growth"] < MAX_GROWTH
    print(
        f"{result['requests']} requests in {result['seconds']:.1f} s ({result['requests_per_s']:.0f}/s); "
        f"statuses {result['statuses']}; 5xx {result['responses_5xx']}; no answer {result['no_answer']}; "
        f"wrong answers {result['wrong']}; RSS {result['rss_after_warmup_mb']:.1f} -> "
        f"{result['rss_end_mb']:.1f} MB ({100 * result['rss_growth']:+.1f}%, limit +{100 * MAX_GROWTH:.0f}%)"
    )
    for problem in result["wrong_examples"]:
        print("  wrong:", problem)
    print("soak " + ("passed" if ok else "FAILED"))
    payload = {
        "run": str(args.run),
        "data": str(args.data),
        "result": result,
        "passed": ok,
        "machine": info,
    }
    print(f"wrote {write_result('bench_soak', payload, args.out)}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
