"""Figure 2 (six Kaplan–Meier panels with numbers at risk) drawn from curves of n patients,
against the same figure drawn from the bundled cohort (347 patients) in the same run.

The curves are simulated directly (``tests/report/study_variants.py``: exponential event
times, uniform censoring, times to 1e-4 month so nearly every patient has a time of their
own) and put in place of the bundled study's PFS/OS curves; with ``--arms 8`` the three
regimens are first copied to eight arms. Each size is drawn (PNG at 300 dpi and SVG) as the
best of a few repeats. The ratio is that time over the bundled figure's time: the figures
draw step vertices and thinned ticks, so the ratio should stay near 1 at any n. The run fails
if an SVG exceeds 1 MB.

    python benchmarks/bench_figures.py                  # 1e4 1e5 1e6
    python benchmarks/bench_figures.py --sizes 1e6 --arms 8 --out /tmp/figures
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the simulated study variants live with the tests

from tests.report.study_variants import with_arms, with_patients  # noqa: E402

from poems_cohort.report.figures import figure2  # noqa: E402
from poems_cohort.workflow import run as run_pipeline  # noqa: E402
from timing import best_of  # noqa: E402  (benchmarks/timing.py, beside this script)

SVG_LIMIT = 1_000_000
ARM_NAMES = ["Bortezomib-dex", "Lenalidomide", "Daratumumab", "Radiotherapy", "ASCT",
             "MDex", "LDex", "Other"]



def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=["1e4", "1e5", "1e6"])
    ap.add_argument("--arms", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None, help="write each figure's PNG and SVG")
    args = ap.parse_args()
    results = run_pipeline(None, None).results
    if args.arms != 3:
        results = with_arms(results, ARM_NAMES[:args.arms])
    base_s, base = best_of(lambda: figure2(results), args.repeats)
    print(f"{'n':>9} {'draw (s)':>9} {'ratio':>6} {'SVG (kB)':>9} {'PNG (kB)':>9}")
    print(f"{'bundled':>9} {base_s:9.2f} {1.0:6.2f} {len(base.svg) / 1e3:9.0f} "
          f"{len(base.png) / 1e3:9.0f}")
    failed = len(base.svg) > SVG_LIMIT
    for size in args.sizes:
        n = int(float(size))
        big = with_patients(results, n)
        secs, fig = best_of(lambda big=big: figure2(big), args.repeats)
        print(f"{n:>9} {secs:9.2f} {secs / base_s:6.2f} {len(fig.svg) / 1e3:9.0f} "
              f"{len(fig.png) / 1e3:9.0f}")
        failed |= len(fig.svg) > SVG_LIMIT
        if args.out is not None:
            args.out.mkdir(parents=True, exist_ok=True)
            stem = args.out / f"figure2-{args.arms}arms-n{n}"
            stem.with_suffix(".png").write_bytes(fig.png)
            stem.with_suffix(".svg").write_bytes(fig.svg)
    if failed:
        print(f"an SVG exceeds {SVG_LIMIT / 1e6:g} MB", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
