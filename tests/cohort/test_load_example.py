from pathlib import Path

import pandas as pd

from poems_cohort.cohort import COLUMNS, VISIT_COLUMNS, Cohort, load_cohort

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ten-patients"


def test_the_example_cohort_loads_with_canonical_frames():
    cohort = load_cohort(EXAMPLE)
    assert isinstance(cohort, Cohort)
    assert cohort.regimen_counts() == {"ASCT": 4, "MDex": 3, "LDex": 3}
    assert list(cohort.patients.columns) == [c.name for c in COLUMNS]
    assert list(cohort.visits.to_frame().columns) == [c.name for c in VISIT_COLUMNS]
    assert len(cohort.visits) == 30
    assert cohort.warnings == ()
    dtypes = cohort.patients.dtypes
    assert dtypes["age"] == "float64"
    assert dtypes["treatment_start"] == "datetime64[ns]"
    assert dtypes["hepatomegaly"] == "boolean"
    assert dtypes["patient_id"] == "object"
    assert cohort.patients["crh_date"].isna().all()
    assert pd.isna(cohort.patients.loc[6, "onls"])
    assert cohort.patients.loc[1, "castleman"] is pd.NA
