"""Generated cohorts shared by the generator's tests: each is built once per test run.

Generating the bundled cohort takes several seconds of CPU (the survival layouts are searched),
so the tests that read it, and the byte-for-byte comparison with the bundled files, share one
generation; the determinism and proportion tests share one scaled cohort.
"""

from __future__ import annotations

import pytest

from poems_cohort.synth.generator import DEFAULT_SEED, SyntheticCohort, generate_cohort

#: the scaled cohort of the determinism and proportion tests: large enough that every regimen
#: takes the ordinary survival layouts (the search for a pooled rate above both subgroups stops at
#: 500 patients per regimen) and the searches end quickly, small enough to build in seconds
SMALL_SEED = 11
SMALL_SIZE = 1500


@pytest.fixture(scope="session")
def bundled_generation(tmp_path_factory) -> tuple[SyntheticCohort, object]:
    """The cohort of the default seed and the folder it was written to."""
    cohort = generate_cohort(DEFAULT_SEED)
    out = tmp_path_factory.mktemp("bundled-seed")
    cohort.write(out)
    return cohort, out


@pytest.fixture(scope="session")
def small_generation(tmp_path_factory) -> tuple[SyntheticCohort, object]:
    """A scaled cohort (``SMALL_SIZE`` patients, ``SMALL_SEED``) and the folder it was written to."""
    cohort = generate_cohort(SMALL_SEED, n_patients=SMALL_SIZE)
    out = tmp_path_factory.mktemp("small-seed")
    cohort.write(out)
    return cohort, out
