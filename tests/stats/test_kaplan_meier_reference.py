"""Kaplan–Meier, medians, quantiles and RMST against R (tests/reference).

R calls (see tests/reference/make_reference.R): ``survfit(Surv(time, event) ~ 1, data = d,
conf.type = ct [, weights = w, robust = FALSE])``, ``summary(f, times, extend = TRUE)``,
``summary(f)$table``, ``quantile(f, c(.25, .5, .75))`` and ``summary(f, rmean = tau)$table``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from poems_cohort.stats import kaplan_meier, kaplan_meier_by_group
from tests.reference_data import DATASETS, arr, load_csv, load_json

RTOL = 1e-8
ATOL = 1e-10
CONF_TYPES = ("log-log", "log", "plain")


def assert_same(ours, ref, what: str) -> None:
    a = np.atleast_1d(np.asarray(ours, dtype=float))
    b = np.atleast_1d(arr(ref) if not isinstance(ref, np.ndarray) else ref)
    assert a.shape == b.shape, f"{what}: shape {a.shape} vs R {b.shape}"
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=f"{what}: NaN/NA positions")
    np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True, err_msg=what)


def subset(ds: str, group: str) -> pd.DataFrame:
    df = load_csv(ds)
    if group == "all":
        return df
    col = load_json(ds)["spec"]["group"]
    return df[df[col].astype(str) == group]


def km_cases(section: str) -> list[tuple[str, str, str | None]]:
    out = []
    for ds in DATASETS:
        ref = load_json(ds).get(section)
        if not ref:
            continue
        for g, gref in ref["groups"].items():
            if section == "km":
                out.append((ds, g, None))
            else:
                out.extend((ds, g, variant) for variant in gref)
    return out


def check_fit(ds: str, group: str, ref: dict, fixed_times: list, *, weighted: bool,
              robust: bool | None) -> None:
    spec = load_json(ds)["spec"]
    d = subset(ds, group)
    w = d[spec["weight"]] if weighted else None
    for ct in CONF_TYPES:
        km = kaplan_meier(d[spec["time"]], d[spec["event"]], weights=w, conf_type=ct, robust=robust)
        tag = f"{ds}/{group}/{ct}"
        tb = ref["table"]
        assert km.std_err_scale == ref["std_err_scale"]
        for col in ("time", "n_risk", "n_event", "n_censor", "surv", "std_err", "se_surv",
                    "cumhaz"):
            assert_same(km.table[col] if col in km.table else getattr(km, col), tb[col],
                        f"{tag} table.{col}")
        if not km.robust:
            assert_same(km.std_chaz, tb["std_chaz"], f"{tag} std_chaz")
        assert_same(km.lower, tb["ci"][ct]["lower"], f"{tag} lower")
        assert_same(km.upper, tb["ci"][ct]["upper"], f"{tag} upper")

        at, ar = km.at(fixed_times), ref["at_times"]
        for col in ("time", "n_risk", "n_event", "n_censor", "surv"):
            assert_same(at[col], ar[col], f"{tag} at.{col}")
        assert_same(at["se_surv"], ar["std_err"], f"{tag} at.se_surv")
        assert_same(at["lower"], ar["ci"][ct]["lower"], f"{tag} at.lower")
        assert_same(at["upper"], ar["ci"][ct]["upper"], f"{tag} at.upper")

        med, mr = km.median(), ref["median"][ct]
        assert_same([med.estimate, med.lower, med.upper], [mr["median"], mr["lower"], mr["upper"]],
                    f"{tag} median")
        if ct == "log-log":
            qr = ref["quantiles_loglog"]
            q = km.quantile(qr["probs"])
            assert_same(q["estimate"], qr["quantile"], f"{tag} quantile")
            assert_same(q["lower"], qr["lower"], f"{tag} quantile lower")
            assert_same(q["upper"], qr["upper"], f"{tag} quantile upper")


@pytest.mark.parametrize(("ds", "group", "variant"), km_cases("km"))
def test_km_matches_r(ds: str, group: str, variant: None) -> None:
    ref = load_json(ds)["km"]
    gref = ref["groups"][group]
    assert kaplan_meier(subset(ds, group)[load_json(ds)["spec"]["time"]],
                        subset(ds, group)[load_json(ds)["spec"]["event"]]).n == gref["n"]
    check_fit(ds, group, gref, ref["fixed_times"], weighted=False, robust=None)


@pytest.mark.parametrize(("ds", "group", "variant"), km_cases("weighted_km"))
def test_weighted_km_matches_r(ds: str, group: str, variant: str) -> None:
    ref = load_json(ds)["weighted_km"]
    robust = None if variant == "robust_default" else False
    check_fit(ds, group, ref["groups"][group][variant], ref["fixed_times"], weighted=True,
              robust=robust)


def test_weighted_default_is_robust_for_non_integer_weights() -> None:
    spec = load_json("s1")["spec"]
    d = load_csv("s1")
    km = kaplan_meier(d[spec["time"]], d[spec["event"]], weights=d[spec["weight"]])
    assert km.robust and km.std_err_scale == "surv"
    np.testing.assert_array_equal(km.std_err, km.se_surv)


@pytest.mark.parametrize("ds", DATASETS)
def test_rmst_matches_r(ds: str) -> None:
    ref = load_json(ds)["rmst"]
    spec = load_json(ds)["spec"]
    for group, r in ref["groups"].items():
        d = subset(ds, group)
        res = kaplan_meier(d[spec["time"]], d[spec["event"]]).rmst(ref["tau"])
        assert_same([res.estimate, res.std_err], [r["rmean"], r["se_rmean"]], f"{ds}/{group} rmst")


@pytest.mark.parametrize("ds", DATASETS)
def test_by_group_equals_r_and_single_fits(ds: str) -> None:
    spec, df = load_json(ds)["spec"], load_csv(ds)
    ref = load_json(ds)["km"]
    labels = df[spec["group"]].astype(str)
    fits = kaplan_meier_by_group(df[spec["time"]], df[spec["event"]],
                                 pd.Categorical(labels, categories=spec["group_levels"]))
    assert list(fits.groups) == spec["group_levels"]
    for label, km in fits:
        check_fit_object(km, ref["groups"][label], f"{ds}/{label} by group")
        single = kaplan_meier(df[spec["time"]][labels == label], df[spec["event"]][labels == label])
        for col in ("time", "n_risk", "n_event", "surv", "std_err", "lower", "upper"):
            np.testing.assert_array_equal(getattr(km, col), getattr(single, col))
        assert km.n == single.n and km.events == single.events
    assert list(fits.to_frame().columns)[0] == "group"


def test_weighted_by_group_equals_single_fits() -> None:
    spec, df = load_json("s1")["spec"], load_csv("s1")
    ref = load_json("s1")["weighted_km"]["groups"]
    fits = kaplan_meier_by_group(df[spec["time"]], df[spec["event"]], df[spec["group"]],
                                 weights=df[spec["weight"]])
    for label, km in fits:
        assert km.robust
        check_fit_object(km, ref[label]["robust_default"], f"s1/{label} weighted by group")


def check_fit_object(km, ref: dict, what: str) -> None:
    for col in ("time", "n_risk", "n_event", "n_censor", "surv", "std_err", "se_surv"):
        assert_same(getattr(km, col), ref["table"][col], f"{what} {col}")
    assert_same(km.lower, ref["table"]["ci"]["log-log"]["lower"], f"{what} lower")
    assert_same(km.upper, ref["table"]["ci"]["log-log"]["upper"], f"{what} upper")
