"""The plan's ``confidence_level`` reaches every interval of the study.

R values (R 4.2.2, survival 3.5-3) on the twelve-patient cohort of ``cohort12.py``::

    prop.test(6, 11, correct = FALSE, conf.level = 0.90)$conf.int
    # 0.31506814265851824 0.75789503485788912
    f <- survfit(Surv(c(20, 40, 48, 60), c(1, 1, 0, 0)) ~ 1, conf.type = "log-log",
                 conf.int = 0.90)
    summary(f, times = 36)        # 0.75, lower 0.22340897368138835, upper 0.94627698693516082
    k <- survfit(Surv(c(4, 6, 10, 30), c(1, 1, 1, 0)) ~ 1, conf.type = "log-log",
                 conf.int = 0.90)
    1 - summary(k, times = 6)$surv   # 0.5, 1 - upper 0.19071740114773861,
                                     #      1 - lower 0.89673901602961392
    os <- c(48, 50, 60, 30, 70, 72, 18, 40, 44, 42, 38, 25)
    ev <- c(0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 1)
    quantile(survfit(Surv(os, 1 - ev) ~ 1, conf.type = "log", conf.int = 0.50), 0.5)
    # 48, lower 44, upper 50
"""

import math

import numpy as np
import pytest

from poems_cohort import stats
from poems_cohort.study import AnalysisPlan, compute_study
from tests.study import cohort12


def _run(level: float):
    return compute_study(cohort12.baseline(), cohort12.analysis_dataset(), cohort12.flow(),
                         AnalysisPlan(confidence_level=level))


def row(frame, **where):
    sel = frame
    for k, v in where.items():
        sel = sel[sel[k] == v]
    assert len(sel) == 1, where
    return sel.iloc[0]


@pytest.fixture(scope="module")
def r90():
    return _run(0.90)


def test_wilson_interval_at_90_percent_equals_r_and_the_closed_form(r90):
    crh = row(r90.table2.rows, endpoint="CRH", subgroup="all", regimen="All")
    assert (crh["n"], crh["N"]) == (6, 11)
    # by hand: z = qnorm(0.95), Wilson centre ± half-width
    z = 1.6448536269514722
    p, n = 6 / 11, 11
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert crh["ci_low"] == pytest.approx(100 * (centre - half), rel=1e-13)
    assert crh["ci_high"] == pytest.approx(100 * (centre + half), rel=1e-13)
    assert crh["ci_low"] == pytest.approx(31.506814265851824, rel=1e-13)
    assert crh["ci_high"] == pytest.approx(75.789503485788912, rel=1e-13)


def test_every_response_interval_uses_the_plan_level(r90):
    for rec in r90.table2.rows.to_dict("records"):
        if rec["endpoint"] in ("PFS", "OS") or rec["N"] == 0:
            continue
        ci = stats.proportion_ci(int(rec["n"]), int(rec["N"]), conf_level=0.90)
        assert rec["ci_low"] == pytest.approx(100 * ci.lower, rel=1e-13, abs=1e-12)
        assert rec["ci_high"] == pytest.approx(100 * ci.upper, rel=1e-13, abs=1e-12)


def test_landmark_survival_at_90_percent_equals_r(r90):
    pfs = row(r90.table2.rows, endpoint="PFS", subgroup="all", regimen="ASCT")
    assert pfs["value"] == pytest.approx(75.0, rel=1e-14)
    assert pfs["ci_low"] == pytest.approx(22.340897368138835, rel=1e-12)
    assert pfs["ci_high"] == pytest.approx(94.627698693516082, rel=1e-12)
    surv = row(r90.survival.by_regimen, endpoint="PFS", subgroup="all", regimen="ASCT")
    assert surv["ci_low"] == pfs["ci_low"]


def test_survival_curves_and_medians_use_the_plan_level(r90):
    ds = cohort12.analysis_dataset()
    part = ds[ds["regimen"] == "MDex"]
    km = stats.kaplan_meier(part["pfs_months"].to_numpy(float), part["pfs_event"].to_numpy(int),
                            conf_level=0.90, conf_type="log-log")
    curve = r90.survival.curves
    mine = curve[(curve["endpoint"] == "PFS") & (curve["by"] == "regimen")
                 & (curve["subgroup"] == "all") & (curve["group"] == "MDex")]
    np.testing.assert_allclose(mine["lower"].to_numpy(), km.table["lower"].to_numpy(float),
                               rtol=1e-14)
    med = km.median()
    got = row(r90.survival.by_regimen, endpoint="PFS", subgroup="all", regimen="MDex")
    assert got["median"] == pytest.approx(float(med.estimate))
    for mine_v, ref in ((got["median_low"], med.lower), (got["median_high"], med.upper)):
        assert (math.isnan(mine_v) and not math.isfinite(float(ref))) or mine_v == float(ref)


def test_cumulative_response_at_90_percent_equals_r(r90):
    six = row(r90.kinetics.cumulative, response="CRH", regimen="ASCT", month=6.0)
    assert six["rate"] == pytest.approx(50.0, rel=1e-14)
    assert six["ci_low"] == pytest.approx(19.071740114773861, rel=1e-12)
    assert six["ci_high"] == pytest.approx(89.673901602961392, rel=1e-12)


def test_reverse_km_followup_uses_the_plan_level():
    res = _run(0.50)
    fu = row(res.survival.followup, regimen="All")
    assert (fu["reverse_km"], fu["reverse_km_low"], fu["reverse_km_high"]) == (48.0, 44.0, 50.0)
    default = row(_run(0.95).survival.followup, regimen="All")
    assert default["reverse_km_low"] == 42.0 and math.isnan(default["reverse_km_high"])
