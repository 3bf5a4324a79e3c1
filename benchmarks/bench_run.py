"""Time each step of ``poems-cohort run`` on the bundled cohort (and on scaled cohorts if given).

Usage: python benchmarks/bench_run.py [DATA ...] [--repeat N]

Without DATA, the bundled synthetic cohort is used. Nothing is written (outputs stay in memory).
Each step is printed in seconds and as a multiple of a named baseline timed in the same run:
``pandas.read_csv`` of the same cohort files as text (the I/O floor every analysis pays), so the
ratios hold when the machine's speed drifts. The project's target: the whole run on the bundled
cohort in under 10 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from poems_cohort.data import bundled_cohort_path
from poems_cohort.workflow import run as run_pipeline

TARGET_SECONDS = 10.0


def read_csv_baseline(data: Path) -> float:
    """Seconds to read the cohort's CSV files with pandas (all columns as text)."""
    files = sorted(data.glob("*.csv")) if data.is_dir() else [data]
    t0 = time.perf_counter()
    for f in files:
        pd.read_csv(f, dtype=str, keep_default_na=False)
    return time.perf_counter() - t0


def bench(data: Path, repeat: int) -> None:
    rows: dict[str, list[float]] = {}
    baseline: list[float] = []
    n = 0
    for _ in range(repeat):
        baseline.append(read_csv_baseline(data))
        t0 = time.perf_counter()
        summary = run_pipeline(data, None)
        total = time.perf_counter() - t0
        n = len(summary.results.analysis_dataset)
        for name, seconds in summary.timings:
            rows.setdefault(name, []).append(seconds)
        rows.setdefault("total", []).append(total)
    base = min(baseline)
    print(f"\n{data} ({n} patients, best of {repeat}); baseline pandas.read_csv of the cohort "
          f"files: {base:.3f} s")
    for name, times in rows.items():
        print(f"  {name:<36} {min(times):8.3f} s  {min(times) / base:8.1f} x baseline")
    total = min(rows["total"])
    verdict = "met" if total < TARGET_SECONDS else "NOT met"
    print(f"  target: whole run under {TARGET_SECONDS:.0f} s: {verdict}")


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
