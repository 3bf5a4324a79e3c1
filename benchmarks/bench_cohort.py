"""Reading and validating a cohort: ``load_cohort`` against ``pd.read_csv`` of the same files.

For each size a synthetic cohort (``generate_cohort(seed, n_patients=n)``, patients.csv and
visits.csv) is written to a temporary folder. ``load_cohort`` (read, map names, convert every
cell, check every rule) is timed against the baseline ``pd.read_csv(..., dtype=str,
keep_default_na=False)`` of the same two files, in the same run: the ratio (load_cohort time /
read_csv time) says how much the checking costs on top of merely reading the text. Best of a
few repeats; the loaded cohort must hold every patient and visit or the run fails.

    python benchmarks/bench_cohort.py                  # 1e3, 1e4, 1e5 patients
    python benchmarks/bench_cohort.py --sizes 2e4 1e5 --repeats 5
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd

from poems_cohort.cohort import load_cohort
from poems_cohort.synth.generator import generate_cohort
from timing import best_of  # benchmarks/timing.py, beside this script

SEED = 1



def baseline(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The named baseline: the two files read as text by pandas, nothing checked."""
    return (pd.read_csv(folder / "patients.csv", dtype=str, keep_default_na=False),
            pd.read_csv(folder / "visits.csv", dtype=str, keep_default_na=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e3, 1e4, 1e5])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"{'patients':>9} {'visits':>9} {'load_cohort s':>14} {'read_csv s':>11} {'ratio':>7} "
          f"{'s per 1e5 rows':>15}")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            n = int(size)
            folder = Path(tmp) / f"cohort-{n}"
            generate_cohort(SEED, n_patients=n).write(folder)
            t_base, (patients, visits) = best_of(lambda f=folder: baseline(f), args.repeats)
            t_load, cohort = best_of(lambda f=folder: load_cohort(f), args.repeats)
            if len(cohort.patients) != len(patients) or len(cohort.visits) != len(visits):
                raise AssertionError(f"n={n}: load_cohort lost rows")
            rows = len(patients) + len(visits)
            print(f"{n:>9} {len(visits):>9} {t_load:>14.3f} {t_base:>11.3f} "
                  f"{t_load / t_base:>6.1f}x {t_load / rows * 1e5:>15.3f}", flush=True)


if __name__ == "__main__":
    main()
