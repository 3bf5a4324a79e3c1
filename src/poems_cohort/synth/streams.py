"""Choose the random streams of the survival and visits steps for one seed.

The generator's searches make counts, medians and most rates exact by construction; the
log-rank p-values, some 3-year rates and the 6- and 12-month cumulative response rates depend
on where the random draws put events and responses. With the baseline fixed by the seed, this
module tries the first ``tries`` survival streams (visits stream 0), then the first ``tries``
visits streams with the best survival stream, and keeps the pair whose reproduction has the
fewest missed numbers, then the most exact ones::

    python -m poems_cohort.synth.streams --seed 2019 --tries 12

The result is recorded by hand in ``synth.generator.STREAMS`` (the search takes minutes; the
generator itself stays a single pass).
"""

from __future__ import annotations

import argparse
import tempfile

from poems_cohort.cohort import load_cohort
from poems_cohort.study.plan import AnalysisPlan
from poems_cohort.synth.generator import DEFAULT_SEED, generate_cohort
from poems_cohort.synth.published import load_published
from poems_cohort.synth.reproduce import EXACT, MISSED, reproduce_study
from poems_cohort.workflow import run_study


def score(seed: int, streams: tuple[int, int]) -> tuple[int, int]:
    """``(missed, exact)`` of the reproduction of the cohort made with ``seed`` and ``streams``."""
    cohort = generate_cohort(seed, streams=streams)
    with tempfile.TemporaryDirectory() as folder:
        cohort.write(folder)
        loaded = load_cohort(folder)
    summary = reproduce_study(run_study(loaded, AnalysisPlan()), load_published()).summary()
    return summary[MISSED], summary[EXACT]


def search(seed: int, tries: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """The best ``(survival, visits)`` streams and their ``(missed, exact)``."""
    best = ((0, 0), score(seed, (0, 0)))
    print(best, flush=True)

    def better(a: tuple[int, int], b: tuple[int, int]) -> bool:
        return (a[0], -a[1]) < (b[0], -b[1])

    for k in range(1, tries):
        got = score(seed, (k, 0))
        print((k, 0), got, flush=True)
        if better(got, best[1]):
            best = ((k, 0), got)
    survival = best[0][0]
    for k in range(1, tries):
        got = score(seed, (survival, k))
        print((survival, k), got, flush=True)
        if better(got, best[1]):
            best = ((survival, k), got)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--tries", type=int, default=12)
    args = parser.parse_args()
    streams, (missed, exact) = search(args.seed, args.tries)
    print(f"seed {args.seed}: streams {streams}, {missed} missed, {exact} exact")


if __name__ == "__main__":
    main()
