"""Table 2 says what its counts are (events/N on the survival rows) and a median that is
not reached, nor either bound, reads ``NR``."""

from __future__ import annotations

import pytest

from poems_cohort.report import format as fmt
from poems_cohort.report import tables
from poems_cohort.workflow import run as run_pipeline

NAN = float("nan")


@pytest.fixture(scope="module")
def results():
    return run_pipeline(None, None).results


def test_not_reached_collapses_only_when_nothing_is_reached():
    assert fmt.median_ci(NAN, NAN, NAN) == "NR"
    assert fmt.median_ci(NAN, 24.0, NAN) == "NR (24.0–NR)"
    assert fmt.median_ci(90, 42, NAN) == "90.0 (42.0–NR)"
    assert fmt.median_ci(NAN, NAN, NAN, 0) == fmt.MISSING


def test_survival_rows_label_their_counts_as_events_over_n(results):
    t = tables.table2(results)
    frame = t.frame
    sections = list(dict.fromkeys(frame["Endpoint"]))
    assert sections[-2:] == ["PFS, 3-year rate (events/N)", "OS, 3-year rate (events/N)"]
    assert not any("events/N" in s for s in sections[:-2])
    surv = results.survival.by_regimen
    count = next(c for c in frame.columns if c.startswith("All patients") and c.endswith("n/N"))
    for endpoint in ("PFS", "OS"):
        rows = frame[frame["Endpoint"] == f"{endpoint}, 3-year rate (events/N)"]
        for _, row in rows.iterrows():
            reg = "All" if row["Regimen"] == "All regimens" else row["Regimen"]
            want = surv[(surv["endpoint"] == endpoint) & (surv["subgroup"] == "all")
                        & (surv["regimen"] == reg)].iloc[0]
            assert row[count] == f"{int(want['events'])}/{int(want['N'])}"
    assert "events/N: events/patients" in t.note


def test_survival_table_shows_a_plain_nr(results):
    frame = tables.survival_table(results).frame
    medians = frame[[c for c in frame.columns if c.startswith("Median months")][0]]
    assert "NR" in set(medians)  # most bundled medians are not reached
    assert not medians.str.contains("NR (NR", regex=False).any()
