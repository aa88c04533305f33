"""The short soak: 200 mixed good and bad requests from 8 concurrent clients against a real
``fakenews serve`` (TF-IDF run) on loopback; the long one is ``benchmarks/bench_soak.py``."""

from __future__ import annotations

import collections
import sys
from pathlib import Path

import psutil

from fakenews.splits import load_split_dir

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from _serve import BAD, SOAK_SERVE_ARGS, check, run_clients, served, soak_calls


def test_a_short_soak_gets_no_5xx_only_json_4xx_for_bad_requests_and_flat_memory(
    tiny_baseline_run_dir: Path, tiny_split_dir: Path
) -> None:
    texts = load_split_dir(tiny_split_dir).split("test")["combined_text"].tolist()
    with served(tiny_baseline_run_dir, *SOAK_SERVE_ARGS) as (port, pid):
        server = psutil.Process(pid)
        run_clients(port, soak_calls(texts, 100), 8)  # warm-up
        rss_warm = server.memory_info().rss
        outcomes, _ = run_clients(port, soak_calls(texts, 200), 8)
        rss_end = server.memory_info().rss
    assert len(outcomes) == 200
    assert [check(o) for o in outcomes if check(o) is not None] == []
    statuses = collections.Counter(o.status for o in outcomes)
    assert all(200 <= s < 500 for s in statuses)
    kinds = {o.kind for o in outcomes}
    assert set(BAD) <= kinds and {"good", "good_batch"} <= kinds  # every kind was sent
    assert rss_end < 1.10 * rss_warm, (rss_warm, rss_end)
