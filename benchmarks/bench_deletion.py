"""The deletion test: do a run's explanations say something true?

For each article of a run's test split (or a seeded sample of ``--limit`` of them), take away
every occurrence (case-insensitive) of the ``k`` words that pushed hardest towards the class the
model predicted, and, ``--draws`` times, ``k`` random words of what the model read; measure how
far P(predicted class) drops (positive = towards the other class). Averaged over the articles,
taking the top-k words must drop it more than taking k random words (the *comprehensiveness*
of DeYoung et al. 2020, ERASER). Printed per model for k = 1, 5, 10, with the share of articles
where the top words moved it more (``top wins``).

    python benchmarks/bench_deletion.py RUN_DIR [RUN_DIR ...] [--limit 60] [--steps 16]

Writes ``benchmarks/results/deletion.json`` (``--out`` elsewhere).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine_info, quiet_libraries, table, write_result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run dirs written by `fakenews train`")
    parser.add_argument("--split", default="test")
    parser.add_argument("--ks", default="1,5,10", help="comma-separated k values (default 1,5,10)")
    parser.add_argument("--limit", type=int, default=None, help="articles per run (default all)")
    parser.add_argument(
        "--steps", type=int, default=16, help="IG points per article (transformers)"
    )
    parser.add_argument("--draws", type=int, default=3, help="random word sets per article and k")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS / "deletion.json")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from fakenews.explain import deletion_test

    args = parse_args(argv)
    quiet_libraries()
    ks = tuple(int(k) for k in args.ks.split(","))
    machine = machine_info()
    results: list[dict[str, Any]] = []
    rows: list[list[Any]] = []
    for run in args.runs:
        start = time.perf_counter()
        result = deletion_test(
            run, split=args.split, ks=ks, limit=args.limit, steps=args.steps,
            draws=args.draws, seed=args.seed, device="cpu", quiet=False,
        )  # fmt: skip
        seconds = time.perf_counter() - start
        results.append({**result.to_dict(), "seconds": round(seconds, 1)})
        print(f"{result.model} ({result.method}): {result.n} articles in {seconds:.0f} s")
        rows += [
            [result.model, r.k, r.top_drop, r.random_drop, r.top_drop - r.random_drop, r.top_wins]
            for r in result.rows
        ]
    header = ["model", "k", "drop, top-k words", "drop, k random words", "difference", "top wins"]
    print(table(rows, header))
    path = write_result("deletion", {"machine": machine, "runs": results}, out=args.out)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
