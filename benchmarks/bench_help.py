"""Start-up time of the command line: ``poems-cohort --help`` and ``run --help``.

Usage: python benchmarks/bench_help.py [--repeat 10]

Each command runs in a fresh interpreter (``python -m poems_cohort ...``); best of ``--repeat``.
The named baseline, timed in the same run, is ``python -c pass`` (the interpreter's own start-up),
so the ratio holds when the machine's speed drifts. For scale, ``python -c "import pandas"`` is
timed too: what every help would cost if the package imported pandas at start. Target: the help
under 0.5 s (and, as a ratio, within a few times the bare interpreter).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

TARGET_SECONDS = 0.5
CASES = {
    "baseline: python -c pass": ["-c", "pass"],
    "poems-cohort --help": ["-m", "poems_cohort", "--help"],
    "poems-cohort run --help": ["-m", "poems_cohort", "run", "--help"],
    "poems-cohort derive --help": ["-m", "poems_cohort", "derive", "--help"],
    "for scale: python -c 'import pandas'": ["-c", "import pandas"],
}


def best_of(args: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, *args], check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    results = {name: best_of(argv, args.repeat) for name, argv in CASES.items()}
    base = results["baseline: python -c pass"]
    print(f"best of {args.repeat}, each in a fresh process")
    for name, seconds in results.items():
        print(f"  {name:<38} {seconds:7.3f} s  {seconds / base:6.1f} x baseline")
    worst = max(s for n, s in results.items() if n.startswith("poems-cohort"))
    verdict = "met" if worst < TARGET_SECONDS else "NOT met"
    print(f"  target: every help under {TARGET_SECONDS} s: {verdict} (slowest {worst:.3f} s)")


if __name__ == "__main__":
    main()
