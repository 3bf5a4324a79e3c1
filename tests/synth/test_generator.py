"""The generated cohort, read back by the cohort layer and analysed by the clinical layer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from poems_cohort.clinical import derive_analysis_dataset
from poems_cohort.cohort import apply_eligibility, load_cohort
from poems_cohort.synth import survival_times
from poems_cohort.synth.generator import generate_cohort
from poems_cohort.synth.survival_times import km_at
from poems_cohort.synth.targets import default_targets


def km_percent(time, event, at: float) -> float:
    """Kaplan–Meier survival at ``at`` in percent: a tiny independent estimator for the tests."""
    time = np.asarray(time, float)
    event = np.asarray(event, bool)
    s = 1.0
    for t in np.unique(time[event & (time <= at)]):
        at_risk = (time >= t).sum()
        s *= 1 - (event & (time == t)).sum() / at_risk
    return 100 * s


@pytest.fixture(scope="module")
def generated(bundled_generation):
    """The cohort of the default seed (built once per test run, ``tests/synth/conftest.py``)."""
    return bundled_generation


@pytest.fixture(scope="module")
def analysis(generated):
    cohort, out = generated
    loaded = load_cohort(out)
    ds = derive_analysis_dataset(loaded)
    ds["subgroup"] = np.where(ds["risk_group"] == "low", "low", "medium-high")
    return loaded, ds


def test_files_validate_without_warnings_and_everyone_is_eligible(analysis):
    loaded, _ = analysis
    assert loaded.warnings == ()
    flow = apply_eligibility(loaded)
    assert len(flow.included.patients) == 347


def test_ids_are_labelled_synthetic(generated):
    cohort, _ = generated
    assert cohort.patients["patient_id"].str.fullmatch(r"SYN-\d{4}").all()
    assert cohort.patients["patient_id"].is_unique
    assert set(cohort.visits["patient_id"]) <= set(cohort.patients["patient_id"])


def test_response_counts_per_regimen_and_subgroup(generated, analysis):
    cohort, _ = generated
    _, ds = analysis
    for t in cohort.targets.regimens:
        for sg in ("low", "medium-high"):
            cell = ds[(ds["regimen"] == t.regimen) & (ds["subgroup"] == sg)]
            for resp in ("crh", "crv", "rn"):
                want = t.responses[(resp, sg)]
                got = (int((cell[resp] == 1).sum()), int((cell[f"{resp}_evaluable"] == 1).sum()))
                assert got == (want.n, want.of), (t.regimen, sg, resp)
            # CRH/CRV (evaluable for both, or a responder to either) follows from CRH and CRV
            want = t.responses[("crh_crv", sg)]
            assert int((cell["crh_crv"] == 1).sum()) == want.n
            assert int((cell["crh_crv_evaluable"] == 1).sum()) == want.of
            both = (cell["crh_evaluable"] == 1) & (cell["crv_evaluable"] == 1)
            responder = (cell["crh"] == 1) | (cell["crv"] == 1)
            assert ((cell["crh_crv_evaluable"] == 1) == (both | responder)).all()


#: cells whose published 3-year rate cannot be printed by a Kaplan–Meier estimate of the cell
#: (MDex low risk: 18 patients; 94.3% would need a risk set of 17.4 at one death; the cohort
#: takes 94.1, tests/synth/test_survival_search.py)
UNREACHABLE = {("OS", "MDex", "low")}
#: cells the survival search leaves within 0.2 points (none on the bundled seed since the search
#: polishes: MDex low-risk PFS, once 87.7 for 87.8, prints)
NEAR: set[tuple[str, str, str]] = set()


def test_three_year_survival_per_cell(generated, analysis):
    cohort, _ = generated
    _, ds = analysis
    for t in cohort.targets.regimens:
        for sg in ("low", "medium-high"):
            cell = ds[(ds["regimen"] == t.regimen) & (ds["subgroup"] == sg)]
            for ep, target in (("PFS", t.pfs_3y[sg]), ("OS", t.os_3y[sg])):
                col = ep.lower()
                got = km_percent(cell[f"{col}_months"], cell[f"{col}_event"] == 1, 36.0)
                if (ep, t.regimen, sg) in UNREACHABLE | NEAR:
                    assert abs(got - target) < 0.2
                else:
                    assert abs(got - target) < 0.051, (ep, t.regimen, sg, got, target)


def test_events_followup_and_person_years(generated, analysis):
    cohort, _ = generated
    _, ds = analysis
    assert int(ds["death"].sum()) == 49
    assert int(ds["treatment_related_death"].sum()) == 2
    assert set(ds.loc[ds["treatment_related_death"] == 1, "regimen"]) == {"ASCT"}
    assert int(((ds["progression"] == 1) & (ds["death"] == 0)).sum()) == 51
    for t in cohort.targets.regimens:
        fu = ds.loc[ds["regimen"] == t.regimen, "followup_months"].median()
        assert round(fu) == t.median_followup
    assert round(ds["followup_months"].median()) == 45
    assert abs(ds["followup_months"].sum() / 12 - 1420) < 15
    assert int(ds["secondary_malignancy"].sum()) == 1
    p = cohort.patients
    assert p["treatment_start"].min() >= pd.Timestamp("2000-01-01")
    assert p["last_followup"].max() <= pd.Timestamp("2018-08-31")


def test_time_to_response_medians_and_ranges(generated, analysis):
    cohort, _ = generated
    _, ds = analysis
    for t in cohort.targets.regimens:
        part = ds[ds["regimen"] == t.regimen]
        for resp, k in (("crh", t.crh_kinetics), ("crv", t.crv_kinetics)):
            months = part.loc[part[resp] == 1, f"{resp}_months"]
            assert abs(months.median() - k.median) < 0.05, (t.regimen, resp, months.median())
            assert round(months.min()) == k.minimum
            assert round(months.max()) == k.maximum
    for resp, k in (("crh", cohort.targets.crh_kinetics), ("crv", cohort.targets.crv_kinetics)):
        # the pooled medians are printed in whole months (10, 8): they print as published
        months = ds.loc[ds[resp] == 1, f"{resp}_months"]
        assert abs(months.median() - k.median) < 0.5, (resp, months.median())
        assert (round(months.min()), round(months.max())) == (k.minimum, k.maximum)


#: 6- and 12-month cumulative rates the search does not print on the bundled cohort (see
#: docs/reproduction.md, "Kinetics"): (response, regimen or "All", month)
KINETICS_NOT_PRINTED = frozenset({("crh", "All", 6), ("crh", "All", 12), ("crv", "All", 6)})


def kinetics_rates(ds: pd.DataFrame, targets) -> dict[tuple[str, str, int], tuple[float, float]]:
    """(response, group, month) -> (1 - KM in percent, published) from the analysis dataset."""
    out = {}
    groups = [(t.regimen, ds[ds["regimen"] == t.regimen], t) for t in targets.regimens]
    groups.append(("All", ds, targets))
    for name, part, t in groups:
        for resp in ("crh", "crv"):
            k = getattr(t, f"{resp}_kinetics")
            ev = part[part[f"{resp}_evaluable"] == 1]
            hit = (ev[resp] == 1).to_numpy()
            time = np.where(hit, ev[f"{resp}_months"], ev[f"{resp}_last_months"])
            for month, target in ((6, k.rate_6), (12, k.rate_12)):
                out[resp, name, month] = (100 - km_percent(time, hit, month), target)
    return out


def test_cumulative_response_rates_print_as_published(generated, analysis):
    cohort, _ = generated
    _, ds = analysis
    for key, (got, target) in kinetics_rates(ds, cohort.targets).items():
        if key in KINETICS_NOT_PRINTED:
            assert abs(got - target) < 6, (key, got, target)
        else:
            assert round(got, 1) == target, (key, got, target)


def test_cumulative_response_rates_print_with_other_survival_dates(tmp_path, monkeypatch):
    """The search aims at the published rates whatever dates the survival step gives: another
    survival (and visits) stream prints the same rates.

    The dates are those of the aimed search and its first repairs on streams (0, 0), without
    the two last repairs (deaths after 3 years between regimens, times across regimens for the
    cohort's rates): they take about 10 of the 11 minutes of this generation. With the first of
    them alone, streams (0, 0) missed four rates; with both, they print every one (measured,
    docs/reproduction.md "Deaths after 3 years")."""
    monkeypatch.setattr(survival_times, "_late_deaths_across", lambda f, res, a, r, s: res)
    monkeypatch.setattr(survival_times, "_cohort_rates_across", lambda f, res, a, r, s: res)
    cohort = generate_cohort(streams=(0, 0))
    cohort.write(tmp_path)
    ds = derive_analysis_dataset(load_cohort(tmp_path))
    missed = {key for key, (got, target) in kinetics_rates(ds, cohort.targets).items()
              if round(got, 1) != target}
    assert missed <= KINETICS_NOT_PRINTED, missed


def test_km_helper_matches_the_test_oracle():
    rng = np.random.default_rng(3)
    for _ in range(20):
        days = rng.integers(1, 2000, size=40)
        event = rng.random(40) < 0.5
        assert abs(100 * km_at(days, event, 1095) - km_percent(days, event, 1095)) < 1e-9


def test_same_seed_same_bytes_other_seed_differs(tmp_path, small_generation):
    """Determinism at a small size: the same seed again gives the same bytes (the bundled
    cohort, regenerated once per run, is compared byte for byte in test_generator_bundled.py);
    another seed gives other patients from the first stage on."""
    from poems_cohort.synth.assign import baseline_patients
    from tests.synth.conftest import SMALL_SEED, SMALL_SIZE

    _, first = small_generation
    generate_cohort(SMALL_SEED, n_patients=SMALL_SIZE).write(tmp_path)
    for name in ("patients.csv", "visits.csv"):
        assert (tmp_path / name).read_bytes() == (first / name).read_bytes(), name
    targets = default_targets().scaled(SMALL_SIZE)
    a = baseline_patients(targets, np.random.default_rng(SMALL_SEED))
    b = baseline_patients(targets, np.random.default_rng(SMALL_SEED + 1))
    assert not a.equals(b)


def test_scaled_cohort_keeps_proportions(small_generation):
    from tests.synth.conftest import SMALL_SIZE

    cohort, out = small_generation
    p = cohort.patients
    assert len(p) == SMALL_SIZE
    # 79 : 165 : 103 of 5001, largest remainder (1138.54, 2377.97, 1484.45)
    assert SMALL_SIZE == 5001
    assert p["regimen"].value_counts().to_dict() == {"ASCT": 2378, "LDex": 1484, "MDex": 1139}
    assert p["patient_id"].str.fullmatch(r"SYN-\d{4}").all() and p["patient_id"].is_unique
    assert abs((p["age"] > 50).mean() - 0.403) < 0.01
    loaded = load_cohort(out)
    ds = derive_analysis_dataset(loaded)
    asct = ds[ds["regimen"] == "ASCT"]
    assert abs(km_percent(asct["os_months"], asct["os_event"] == 1, 36) - 94.4) < 2.0


#: published log-rank p-values of each regimen against ASCT: (endpoint, subgroup, regimen) -> p
PUBLISHED_LOGRANK = {
    ("pfs", "all", "MDex"): 0.568, ("pfs", "all", "LDex"): 0.003,
    ("pfs", "low", "MDex"): 0.351, ("pfs", "low", "LDex"): 0.016,
    ("pfs", "medium-high", "MDex"): 0.364, ("pfs", "medium-high", "LDex"): 0.037,
    ("os", "all", "MDex"): 0.088, ("os", "all", "LDex"): 0.067,
    ("os", "low", "MDex"): 0.701, ("os", "low", "LDex"): 0.826,
    ("os", "medium-high", "MDex"): 0.155, ("os", "medium-high", "LDex"): 0.099,
}


def test_logrank_p_values_on_the_published_side_of_005(analysis):
    from poems_cohort import stats

    _, ds = analysis
    for (ep, sg, regimen), published in PUBLISHED_LOGRANK.items():
        part = ds if sg == "all" else ds[ds["subgroup"] == sg]
        part = part[part["regimen"].isin(["ASCT", regimen])]
        res = stats.logrank_test(part[f"{ep}_months"].to_numpy(float),
                                 part[f"{ep}_event"].to_numpy(int),
                                 part["regimen"].to_numpy(object))
        assert (res.p_value < 0.05) == (published < 0.05), (ep, sg, regimen, res.p_value)
    # all three regimens, OS: published p = 0.079
    res = stats.logrank_test(ds["os_months"].to_numpy(float), ds["os_event"].to_numpy(int),
                             ds["regimen"].to_numpy(object))
    assert res.p_value > 0.05


def test_response_curves_level_off_below_100_percent(analysis):
    """1 - KM of the time to CRH and CRV ends below 90% with non-responders still at risk."""
    _, ds = analysis
    for regimen in ("MDex", "ASCT", "LDex"):
        for resp in ("crh", "crv"):
            ev = ds[(ds["regimen"] == regimen) & (ds[f"{resp}_evaluable"] == 1)]
            hit = (ev[resp] == 1).to_numpy()
            time = np.where(hit, ev[f"{resp}_months"], ev[f"{resp}_last_months"]).astype(float)
            final = 100 - km_percent(time, hit, time.max())
            assert 100 * hit.mean() < final < 90, (regimen, resp, final)
            assert (time[~hit] > time[hit].max()).sum() >= 1, (regimen, resp)


# --------------------------------------------------------------------------------------------
# A cohort that looks real: accrual over each regimen's era, no mass ties in follow-up


def test_accrual_spreads_over_each_regimen_era(generated):
    """Treatment starts lie in the regimen's era (MDex from 2000, ASCT from 2002, LDex from
    2009, all until October 2017), begin within two years of the era's start and put at most
    a sixth of a regimen's patients into one calendar year."""
    from poems_cohort.synth.survival_times import ERA_START, LAST_START

    cohort, _ = generated
    p = cohort.patients
    for regimen, first in ERA_START.items():
        start = pd.to_datetime(p.loc[p["regimen"] == regimen, "treatment_start"])
        assert start.min() >= first and start.max() <= LAST_START, regimen
        assert start.min() < first + pd.DateOffset(years=2), regimen
        shares = start.dt.year.value_counts(normalize=True)
        assert shares.max() <= 1 / 6, (regimen, shares.idxmax(), shares.max())
        assert len(shares) == LAST_START.year - first.year + 1, regimen   # every year has some


def test_at_most_three_patients_share_a_follow_up_to_the_day(analysis):
    _, ds = analysis
    counts = ds["followup_months"].round(9).value_counts()
    assert counts.max() <= 3, counts.head()
