"""Generated cohorts shared by the generator's tests: each is built once per test run.

The bundled cohort's generation (``bundled_generation``) is shared by the whole suite
(tests/conftest.py); the determinism and proportion tests share one scaled cohort.
"""

from __future__ import annotations

import pytest

from poems_cohort.synth.generator import SyntheticCohort, generate_cohort
from poems_cohort.synth.survival_times import AIM_MAX_PATIENTS

#: the scaled cohort of the determinism and proportion tests: just above the size from which the
#: generator skips its searches aimed at the printed numbers (``AIM_MAX_PATIENTS``; the searches'
#: own determinism is tested in test_survival_search.py and by the bundled cohort's byte
#: identity), so it builds in under a second instead of about 20 s
SMALL_SEED = 11
SMALL_SIZE = AIM_MAX_PATIENTS + 1


@pytest.fixture(scope="session")
def small_generation(tmp_path_factory) -> tuple[SyntheticCohort, object]:
    """A scaled cohort (``SMALL_SIZE`` patients, ``SMALL_SEED``) and the folder it was written to."""
    cohort = generate_cohort(SMALL_SEED, n_patients=SMALL_SIZE)
    out = tmp_path_factory.mktemp("small-seed")
    cohort.write(out)
    return cohort, out
