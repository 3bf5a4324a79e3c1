"""Time each step of ``poems-cohort run`` on the bundled cohort (and on a scaled cohort if given).

Usage: python benchmarks/bench_run.py [DATA ...] [--repeat N]
Without DATA, the bundled synthetic cohort is used. Nothing is written (outputs stay in memory).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from poems_cohort.data import bundled_cohort_path
from poems_cohort.report.pipeline import run_pipeline


def bench(data: Path, repeat: int) -> None:
    rows: dict[str, list[float]] = {}
    n = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        summary = run_pipeline(data, None)
        total = time.perf_counter() - t0
        n = len(summary.results.analysis_dataset)
        for name, seconds in summary.timings:
            rows.setdefault(name, []).append(seconds)
        rows.setdefault("total", []).append(total)
    print(f"\n{data} ({n} patients, best of {repeat})")
    for name, times in rows.items():
        print(f"  {name:<36} {min(times):8.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    targets = args.data or [bundled_cohort_path()]
    for data in targets:
        if not Path(data).exists():
            print(f"skipped: {data} does not exist")
            continue
        bench(Path(data), args.repeat)


if __name__ == "__main__":
    main()
