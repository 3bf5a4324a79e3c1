"""Log-rank tests against R ``survdiff`` (tests/reference).

R: ``survdiff(Surv(time, event) ~ group [+ strata(s)], rho = 0|1)``; pairwise: the same on each
pair of groups; ``extra``: a k-sample test on another grouping with NA rows dropped.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from poems_cohort.stats import logrank_test, pairwise_logrank
from tests.reference_data import DATASETS, arr, load_csv, load_json

RTOL = 1e-10
ATOL = 1e-12


def same(ours, ref, what: str, rtol: float = RTOL) -> None:
    a = np.atleast_1d(np.asarray(ours, dtype=float))
    b = np.atleast_1d(np.asarray(arr(ref) if not isinstance(ref, np.ndarray) else ref, float))
    assert a.shape == b.shape, f"{what}: shape {a.shape} vs R {b.shape}"
    np.testing.assert_allclose(a, b, rtol=rtol, atol=ATOL, err_msg=what)


def as_factor(values: pd.Series, levels: list[str]) -> pd.Categorical:
    """R's factor labels as strings (numeric codes such as 1.0 print as "1")."""
    labels = values.map(lambda v: str(int(v)) if isinstance(v, float) else str(v))
    return pd.Categorical(labels, categories=levels)


def check(res, r: dict, what: str) -> None:
    assert [str(g) for g in res.groups] == r["groups"], what
    same(res.statistic, r["chisq"], f"{what} chisq")
    assert res.df == r["df"], f"{what} df"
    same(res.p_value, r["p"], f"{what} p", rtol=1e-9)
    same(res.observed, r["obs"], f"{what} observed")
    same(res.expected, r["exp"], f"{what} expected")
    same(res.variance, np.array(r["var"], dtype=float), f"{what} variance")
    same(res.n, r["n_per_group"], f"{what} n")
    frame = res.to_frame()
    assert list(frame.columns) == ["group", "n", "observed", "expected", "variance"]
    same(frame["expected"], r["exp"], f"{what} to_frame")


CASES = [(ds, rho) for ds in DATASETS for rho in (0, 1)]


@pytest.mark.parametrize(("ds", "rho"), CASES)
def test_k_sample_matches_r(ds: str, rho: int) -> None:
    spec, df = load_json(ds)["spec"], load_csv(ds)
    r = load_json(ds)["logrank"]["k_sample"][f"rho{rho}"]
    res = logrank_test(df[spec["time"]], df[spec["event"]],
                       as_factor(df[spec["group"]], spec["group_levels"]), rho=rho)
    check(res, r, f"{ds} rho={rho}")


@pytest.mark.parametrize(("ds", "rho"), [c for c in CASES
                                         if load_json(c[0])["logrank"]["stratified"]])
def test_stratified_matches_r(ds: str, rho: int) -> None:
    spec, df = load_json(ds)["spec"], load_csv(ds)
    r = load_json(ds)["logrank"]["stratified"][f"rho{rho}"]
    res = logrank_test(df[spec["time"]], df[spec["event"]],
                       as_factor(df[spec["group"]], spec["group_levels"]),
                       strata=df[spec["strata"]], rho=rho)
    assert res.stratified
    check(res, r, f"{ds} stratified rho={rho}")


@pytest.mark.parametrize(("ds", "rho"), CASES)
def test_pairwise_matches_r(ds: str, rho: int) -> None:
    spec, df = load_json(ds)["spec"], load_csv(ds)
    refs = load_json(ds)["logrank"]["pairwise"][f"rho{rho}"]
    out = pairwise_logrank(df[spec["time"]], df[spec["event"]],
                           as_factor(df[spec["group"]], spec["group_levels"]), rho=rho)
    assert list(out.columns) == ["group1", "group2", "statistic", "df", "p_value", "p_adjusted"]
    assert len(out) == len(refs)
    for row, r in zip(out.itertuples(), refs, strict=True):
        assert (row.group1, row.group2) == (r["group1"], r["group2"])
        same(row.statistic, r["chisq"], f"{ds} {row.group1}-{row.group2}")
        assert row.df == r["df"]
        same(row.p_value, r["p"], f"{ds} {row.group1}-{row.group2} p", rtol=1e-9)
        assert row.p_adjusted == row.p_value  # adjust=None


EXTRA = [(ds, var, rho) for ds in DATASETS for var in load_json(ds)["logrank"]["extra"]
         for rho in (0, 1)]


@pytest.mark.parametrize(("ds", "var", "rho"), EXTRA)
def test_extra_groupings_match_r(ds: str, var: str, rho: int) -> None:
    spec, df = load_json(ds)["spec"], load_csv(ds)
    r = load_json(ds)["logrank"]["extra"][var][f"rho{rho}"]
    d = df[df[var].notna()]
    assert len(df) - len(d) == r["n_dropped_na"]
    res = logrank_test(d[spec["time"]], d[spec["event"]], as_factor(d[var], r["groups"]), rho=rho)
    check(res, r, f"{ds} {var} rho={rho}")


def test_pairwise_adjustment_on_s1() -> None:
    spec, df = load_json("s1")["spec"], load_csv("s1")
    refs = load_json("s1")["logrank"]["pairwise"]["rho0"]
    raw = np.array([r["p"] for r in refs])
    group = as_factor(df[spec["group"]], spec["group_levels"])
    bonf = pairwise_logrank(df[spec["time"]], df[spec["event"]], group, adjust="bonferroni")
    np.testing.assert_allclose(bonf["p_adjusted"], np.minimum(1, 3 * raw), rtol=1e-9)
    holm = pairwise_logrank(df[spec["time"]], df[spec["event"]], group, adjust="holm")
    order = np.argsort(raw)
    expected = np.empty(3)
    expected[order] = np.minimum(1, np.maximum.accumulate(np.array([3, 2, 1]) * raw[order]))
    np.testing.assert_allclose(holm["p_adjusted"], expected, rtol=1e-9)
    versus = pairwise_logrank(df[spec["time"]], df[spec["event"]], group, reference="LDex",
                              adjust="holm")
    assert list(zip(versus.group1, versus.group2, strict=True)) == [("LDex", "ASCT"),
                                                                      ("LDex", "MDex")]
    by_pair = {frozenset((r["group1"], r["group2"])): r["chisq"] for r in refs}
    for row in versus.itertuples():
        same(row.statistic, by_pair[frozenset((row.group1, row.group2))], "versus reference")
