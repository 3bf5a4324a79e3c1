"""Scaled cohorts (``n_patients`` other than 347): every patient is a POEMS patient, and the
files are written as ``to_csv`` with ``float_format="%.10g"`` would write them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from poems_cohort.cohort import apply_eligibility, load_cohort
from poems_cohort.cohort.eligibility import diagnostic_criteria
from poems_cohort.synth.assign import baseline_patients
from poems_cohort.synth.generator import SyntheticCohort, generate_cohort, write_cohort
from poems_cohort.synth.targets import default_targets

#: yes/no/empty columns of the diagnostic criteria in the generator's baseline frame
CRITERIA_FLAGS = (
    "polyneuropathy", "monoclonal_plasma_cell", "castleman", "osteosclerosis", "hepatomegaly",
    "splenomegaly", "lymphadenopathy", "peripheral_edema", "ascites", "pleural_effusion",
    "endocrinopathy", "skin_changes", "angioma", "papilledema", "thrombocytosis_or_polycythemia",
)  # fmt: skip


@pytest.mark.parametrize("seed", [1, 2])
def test_every_patient_of_a_large_baseline_meets_the_criteria(seed):
    # a patient without any minor criterion turns up about twice per 100,000 draws
    frame = baseline_patients(default_targets().scaled(100_000), np.random.default_rng(seed))
    flags = frame.copy()
    for col in CRITERIA_FLAGS:
        flags[col] = pd.array(frame[col].map({"yes": True, "no": False}), dtype="boolean")
    criteria = diagnostic_criteria(flags)
    assert criteria.notna().all().all()
    assert criteria.all().to_dict() == dict.fromkeys(criteria.columns, True)


@pytest.mark.parametrize(("seed", "size"), [(1, 5_000), (2, 6_000)])
def test_scaled_cohort_validates_and_nobody_is_excluded(tmp_path, seed, size):
    generate_cohort(seed, n_patients=size).write(tmp_path)
    cohort = load_cohort(tmp_path)  # raises on any error
    assert cohort.warnings == ()
    eligibility = apply_eligibility(cohort)
    assert eligibility.flow.screened == size
    assert sum(eligibility.flow.excluded.values()) == 0
    assert eligibility.flow.included == size
    assert eligibility.decisions["diagnosis"].all()


def test_files_are_what_pandas_writes_with_float_format(tmp_path):
    patients = pd.DataFrame({
        "patient_id": pd.Series(["SYN-0001", "SYN-0002", "SYN-0003", "SYN-0004"], dtype="str"),
        "note": pd.Series(["a, b", 'say "x"', None, ""], dtype="str"),
        "value": [0.0, -0.0, np.nan, 1 / 3],
        "big": [1e15, 123456789012.5, -2.5e-7, 30000.0],
        "day": pd.to_datetime(["2001-02-03", None, "2018-08-31", "2000-01-01"]),
    })
    visits = pd.DataFrame({"patient_id": ["SYN-0001", "SYN-0001"],
                           "visit_date": pd.to_datetime(["2001-02-03", "2001-03-05"]),
                           "onls": [np.nan, 4.0]})
    cohort = SyntheticCohort(patients=patients, visits=visits, seed=0,
                             targets=default_targets())
    write_cohort(cohort, tmp_path / "new")
    (tmp_path / "old").mkdir()
    for name, frame, dates in (("patients", patients, ("day",)), ("visits", visits,
                                                                  ("visit_date",))):
        expected = frame.copy()
        for col in dates:
            expected[col] = expected[col].dt.strftime("%Y-%m-%d").fillna("")
        expected.to_csv(tmp_path / "old" / f"{name}.csv", index=False, lineterminator="\n",
                        float_format="%.10g")
        new = (tmp_path / "new" / f"{name}.csv").read_bytes()
        assert new == (tmp_path / "old" / f"{name}.csv").read_bytes(), name
