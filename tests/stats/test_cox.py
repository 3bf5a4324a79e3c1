"""Cox model: closed-form small cases, invariances, edge cases and input checks."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from poems_cohort.stats import cox_ph


def _frame(time, event, x, **extra) -> pd.DataFrame:
    return pd.DataFrame({"time": time, "event": event, "x": x, **extra})


def test_three_subjects_no_ties_closed_form() -> None:
    # deaths at 1, 2, 3 with x = 1, 0, 1: L = u/(2u+1) * 1/(1+u); dlogL/db = 0 <=> u^2 = 1/2
    d = _frame([1, 2, 3], [1, 1, 1], [1.0, 0.0, 1.0])
    fit = cox_ph(d, "time", "event", ["x"])
    np.testing.assert_allclose(fit.coef, [-0.5 * math.log(2)], rtol=1e-13)
    u = 1 / math.sqrt(2)
    np.testing.assert_allclose(fit.loglik, math.log(u / (2 * u + 1)) - math.log(1 + u), rtol=1e-13)
    np.testing.assert_allclose(fit.loglik_null, math.log(1 / 3) + math.log(1 / 2), rtol=1e-14)
    # score test at 0: U = 1 - 2/3 - 1/2 = -1/6, I = 2/9 + 1/4 = 17/36 -> U^2/I = 1/17
    np.testing.assert_allclose(fit.score_test.statistic, 1 / 17, rtol=1e-13)
    # information at the MLE: u(1+... ) -> var = 1 / (2u/(2u+1)^2 + u/(1+u)^2)
    info = 2 * u / (2 * u + 1) ** 2 + u / (1 + u) ** 2
    np.testing.assert_allclose(fit.se, [1 / math.sqrt(info)], rtol=1e-12)
    assert fit.converged and fit.n == 3 and fit.n_events == 3


@pytest.mark.parametrize("shift", [0.0, 1.0])  # shift 1 puts the tied deaths at time zero
def test_tied_deaths_efron_and_breslow_closed_form(shift: float) -> None:
    # A (x=1) and B (x=0) die at t=1, C (x=0) dies at t=2.
    # Efron: logL = b - log(u+2) - log((u+3)/2) -> u^2 = 6; Breslow: b - 2 log(u+2) -> u = 2
    d = _frame(np.array([1, 1, 2.0]) - shift, [1, 1, 1], [1.0, 0.0, 0.0])
    efron = cox_ph(d, "time", "event", ["x"], ties="efron")
    breslow = cox_ph(d, "time", "event", ["x"], ties="breslow")
    np.testing.assert_allclose(efron.coef, [0.5 * math.log(6)], rtol=1e-13)
    np.testing.assert_allclose(breslow.coef, [math.log(2)], rtol=1e-13)
    u = math.sqrt(6)
    np.testing.assert_allclose(efron.loglik, math.log(u) - math.log(u + 2) - math.log((u + 3) / 2),
                               rtol=1e-13)
    np.testing.assert_allclose(breslow.loglik, math.log(2) - 2 * math.log(4), rtol=1e-13)


def test_efron_with_case_weights_uses_mean_death_weight() -> None:
    # weights A=2, B=1, C=1: terms log(2u+2) and log(u+1.5), each with mean weight 1.5:
    # dlogL/db = 2 - 1.5 (u/(u+1) + u/(u+1.5)) = 0
    d = _frame([1, 1, 2], [1, 1, 1], [1.0, 0.0, 0.0], w=[2.0, 1.0, 1.0])
    fit = cox_ph(d, "time", "event", ["x"], weights="w")
    u = math.exp(fit.coef[0])
    np.testing.assert_allclose(1.5 * (u / (u + 1) + u / (u + 1.5)), 2.0, rtol=1e-13)
    np.testing.assert_allclose(fit.loglik, 2 * math.log(u) - 1.5 * (math.log(2 * u + 2)
                                                                    + math.log(u + 1.5)),
                               rtol=1e-13)


def test_book_example_breslow_and_ph_test() -> None:
    # R survival tests/book1.R 'test1' without its NA row: Breslow MLE exp(b) = (3 + sqrt(33))/2,
    # and the cox.zph score test for g(t) = t in closed form from the per-death-time terms.
    d = _frame([9, 1, 1, 6, 6, 8], [1, 1, 0, 1, 1, 0], [0.0, 1, 1, 1, 0, 0])
    fit = cox_ph(d, "time", "event", ["x"], ties="breslow")
    r = (3 + math.sqrt(33)) / 2
    np.testing.assert_allclose(fit.coef, [math.log(r)], rtol=1e-13)
    u = np.array([1 / (r + 1), 3 / (r + 3), -r / (r + 3), 0])
    imat = np.array([r / (r + 1) ** 2, 3 * r / (r + 3) ** 2, 3 * r / (r + 3) ** 2, 0])
    g = np.array([1, 6, 6, 9.0])
    u2 = np.array([u.sum(), (g * u).sum()])
    i2 = np.array([[imat.sum(), (g * imat).sum()], [(g * imat).sum(), (g * g * imat).sum()]])
    expected = float(np.linalg.solve(i2, u2) @ u2)
    ph = fit.proportional_hazards_test("identity")
    np.testing.assert_allclose(ph.statistic, [expected], rtol=1e-10)
    np.testing.assert_allclose(ph.global_test.statistic, expected, rtol=1e-10)


def _sim(n: int = 200, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    grp = rng.choice(["a", "b", "c"], n)
    t = np.ceil(rng.exponential(1 / np.exp(0.5 * x1 + (grp == "b")), n) * 5)
    return pd.DataFrame({"time": t, "event": rng.random(n) < 0.7, "x1": x1, "grp": grp,
                         "s": rng.choice(["u", "v"], n)})


def test_duplicated_rows_equal_weight_two_and_row_order_is_irrelevant() -> None:
    d = _sim()
    base = cox_ph(d, "time", "event", ["x1", "grp"], strata="s")
    doubled = cox_ph(pd.concat([d, d], ignore_index=True), "time", "event", ["x1", "grp"],
                     strata="s", ties="breslow")
    weighted = cox_ph(d.assign(w=2.0), "time", "event", ["x1", "grp"], strata="s",
                      weights="w", ties="breslow")
    np.testing.assert_allclose(weighted.coef, doubled.coef, rtol=1e-10)
    np.testing.assert_allclose(weighted.loglik, doubled.loglik, rtol=1e-12)
    shuffled = cox_ph(d.sample(frac=1, random_state=3), "time", "event", ["x1", "grp"], strata="s")
    np.testing.assert_allclose(shuffled.coef, base.coef, rtol=1e-10)
    assert base.names == ("x1", "grpb", "grpc") and base.strata == ("u", "v")


def test_stratum_without_events_contributes_nothing() -> None:
    d = _sim()
    extra = pd.DataFrame({"time": [3.0, 5, 8], "event": False, "x1": [0.1, 2.0, -1.0],
                          "grp": ["a", "b", "c"], "s": "w"})
    a = cox_ph(d, "time", "event", ["x1", "grp"], strata="s")
    b = cox_ph(pd.concat([d, extra], ignore_index=True), "time", "event", ["x1", "grp"], strata="s")
    np.testing.assert_allclose(b.coef, a.coef, rtol=1e-12)
    np.testing.assert_allclose(b.loglik, a.loglik, rtol=1e-13)


def test_factor_levels_follow_categorical_order() -> None:
    d = _sim()
    d["grp"] = pd.Categorical(d["grp"], categories=["c", "a", "b"])
    fit = cox_ph(d, "time", "event", ["grp", "x1"])
    assert fit.names == ("grpa", "grpb", "x1") and fit.terms == ("grp", "x1")
    frame = fit.to_frame()
    assert list(frame.index) == ["grpa", "grpb", "x1"]
    assert list(frame.columns) == ["coef", "exp_coef", "se", "robust_se", "z", "p_value", "lower",
                                   "upper"]
    assert frame["robust_se"].isna().all()
    assert "Cox model" in repr(fit)
    ph = fit.proportional_hazards_test()
    assert ph.terms == ("grp", "x1") and list(ph.df) == [2, 1] and ph.global_test.df == 3


def test_robust_with_unit_weights_is_close_to_model_based_and_scores_are_consistent() -> None:
    d = _sim(400)
    fit = cox_ph(d, "time", "event", ["x1"], robust=True)
    assert fit.robust_se is not None and fit.robust_score_test is not None
    np.testing.assert_allclose(fit.robust_se, fit.se, rtol=0.2)  # correct model: sandwich ~ naive
    np.testing.assert_allclose(fit.z, fit.coef / fit.robust_se, rtol=1e-15)
    np.testing.assert_allclose(fit.var, np.diag(fit.robust_se ** 2), rtol=1e-12)


def test_all_censored_level_warns_and_does_not_crash() -> None:
    d = pd.DataFrame({"time": [1, 2, 3, 4, 5, 6, 7.0], "event": [1, 0, 1, 1, 0, 0, 0],
                      "g": ["a", "a", "a", "b", "b", "c", "c"]})
    with pytest.warns(RuntimeWarning, match="gc may be infinite"):
        fit = cox_ph(d, "time", "event", ["g"])
    assert not fit.converged and fit.coef[1] < -20
    # the likelihood-ratio statistic tends to its supremum from below
    assert np.isfinite(fit.likelihood_ratio_test.statistic)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.assign(time=d.time.where(d.index != 3, -1.0)), "negative time"),
        (lambda d: d.assign(event=d.event.astype(int).where(d.index != 2, 2)), "expected 0 or 1"),
        (lambda d: d.assign(x1=d.x1.where(d.index != 5)), "missing"),
        (lambda d: d.assign(event=False), "no events"),
        (lambda d: d.assign(x2=2 * d.x1), "collinear"),
        (lambda d: d.assign(grp=pd.Categorical(d.grp, categories=["a", "b", "c", "z"])),
         "'z' has no observations"),
    ],
)
def test_bad_input_raises(change, message: str) -> None:
    d = change(_sim(50))
    covs = ["x1", "grp"] + (["x2"] if "x2" in d else [])
    with pytest.raises(ValueError, match=message):
        cox_ph(d, "time", "event", covs)


def test_bad_arguments_raise() -> None:
    d = _sim(50)
    with pytest.raises(ValueError, match="no column 'nope'"):
        cox_ph(d, "time", "event", ["nope"])
    with pytest.raises(ValueError, match="ties"):
        cox_ph(d, "time", "event", ["x1"], ties="exact")
    with pytest.raises(ValueError, match="negative weight"):
        cox_ph(d.assign(w=-1.0), "time", "event", ["x1"], weights="w")
    with pytest.raises(ValueError, match="differ in length"):
        cox_ph(d, "time", "event", ["x1"], weights=np.ones(3))
    with pytest.raises(ValueError, match="transform"):
        cox_ph(d, "time", "event", ["x1"]).proportional_hazards_test("rank")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cox_ph(d, "time", "event", ["x1"])  # a regular fit warns about nothing


def test_rescaled_risk_sets_give_the_same_fit(monkeypatch) -> None:
    """The per-chunk rescaling (used when x beta spans more than ``WINDOW``) against the single
    reference: with a tiny window every few tie groups start a new chunk, and the fit, the robust
    variance (score residuals) and the proportional-hazards test must not change."""
    from poems_cohort.stats import _cox_kernel

    d = _sim(300).assign(s=lambda f: np.arange(len(f)) % 3, w=lambda f: 0.5 + (f.index % 4) / 4)
    kw = {"ties": "efron", "weights": "w", "robust": True, "strata": "s"}
    plain = cox_ph(d, "time", "event", ["x1", "grp"], **kw)
    seen = []
    real = _cox_kernel._risk_scales

    def spy(pr, eta):
        out = real(pr, eta)
        seen.append(0 if out.chunks is None else len(out.chunks))
        return out

    monkeypatch.setattr(_cox_kernel, "WINDOW", 0.05)
    monkeypatch.setattr(_cox_kernel, "_risk_scales", spy)
    chunked = cox_ph(d, "time", "event", ["x1", "grp"], **kw)
    assert max(seen) > 20  # the rescaling really ran
    np.testing.assert_allclose(chunked.coef, plain.coef, rtol=1e-12)
    np.testing.assert_allclose(chunked.loglik, plain.loglik, rtol=1e-13)
    np.testing.assert_allclose(chunked.naive_var, plain.naive_var, rtol=1e-10)
    np.testing.assert_allclose(chunked.robust_se, plain.robust_se, rtol=1e-10)
    np.testing.assert_allclose(chunked.proportional_hazards_test().statistic,
                               plain.proportional_hazards_test().statistic, rtol=1e-10)


def test_strata_far_apart_do_not_overflow() -> None:
    """Strata at covariate levels 2000 apart (x beta ~ 2000): the fit equals the one with the
    levels moved together, since a risk set never leaves its stratum."""
    d = _sim(200).assign(s=lambda f: np.arange(len(f)) % 2)
    far = d.assign(x1=d["x1"] + np.where(d["s"] == 1, 2000.0, -2000.0))
    a = cox_ph(far, "time", "event", ["x1"], strata="s")
    b = cox_ph(d, "time", "event", ["x1"], strata="s")
    assert np.isfinite(a.loglik) and a.converged and abs(a.coef[0]) > 0.3
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-9)
    np.testing.assert_allclose(a.loglik, b.loglik, rtol=1e-12)
    np.testing.assert_allclose(a.se, b.se, rtol=1e-9)


def test_events_without_information_are_refused() -> None:
    # the only death is alone in its risk set: the partial likelihood is 1 whatever beta
    # (R runs out of iterations at beta = 0 with no variance)
    d = _frame([1, 2, 3.0], [0, 0, 1], [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="carry no information"):
        cox_ph(d, "time", "event", ["x"])


def test_a_diverging_adjustment_covariate_is_named_and_left_out_of_the_ph_test() -> None:
    # every event has male = 1: its coefficient runs to +infinity (monotone likelihood) while
    # the group coefficient has a finite maximum
    rng = np.random.default_rng(11)
    n = 60
    group = np.repeat(["A", "B"], n // 2)
    time = rng.exponential(10.0, n).round(2) + 0.01
    male = (rng.random(n) < 0.6).astype(float)
    event = ((rng.random(n) < 0.5) & (male == 1)).astype(int)
    d = pd.DataFrame({"time": time, "event": event, "male": male,
                      "group": pd.Categorical(group, categories=["A", "B"])})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = cox_ph(d, "time", "event", ["group", "male"])
        only_group = cox_ph(d, "time", "event", ["group"])
    assert not fit.converged and fit.infinite == ("male",)
    assert only_group.converged and only_group.infinite == ()
    assert math.isfinite(fit.exp_coef[0]) and math.isfinite(fit.se[0])
    full = fit.proportional_hazards_test("km")
    kept = fit.proportional_hazards_test("km", drop_infinite=True)
    assert full.terms == ("group", "male") and kept.terms == ("group",)
    assert kept.global_test.df == 1 and full.global_test.df == 2
    # the group's own test is the same score test whether or not male's column is tested
    np.testing.assert_allclose(kept.statistic[0], full.statistic[0], rtol=1e-6)
    # on a converged fit, leaving out nothing changes nothing
    a = only_group.proportional_hazards_test("km")
    b = only_group.proportional_hazards_test("km", drop_infinite=True)
    np.testing.assert_array_equal(a.statistic, b.statistic)
    assert a.global_test == b.global_test


def test_the_kernel_writes_the_design_column_by_column_as_from_the_matrix() -> None:
    # cox_ph hands the kernel one function per design column (the n x p design in the data's
    # order is never made): the sorted copy is the one made from the matrix, bit for bit
    from poems_cohort.stats import _cox_kernel as K
    from poems_cohort.stats.cox import _design, _design_matrix

    rng = np.random.default_rng(4)
    n = 300
    d = pd.DataFrame({"t": rng.exponential(5, n).round(1), "e": rng.integers(0, 2, n),
                      "age": rng.normal(60, 9, n), "arm": rng.choice(["A", "B", "C"], n),
                      "flag": rng.random(n) < 0.4})
    columns, names, _ = _design(d, ["age", "arm", "flag"])
    assert names == ("age", "armB", "armC", "flag")
    x = _design_matrix(columns, n)
    args = (d["t"].to_numpy(float), d["e"].to_numpy(float), np.ones(n), np.zeros(n, np.int64))
    a, b = K.prepare(x, *args, efron=True), K.prepare(columns, *args, efron=True)
    assert np.array_equal(a.xt, b.xt) and np.array_equal(a.order, b.order)
    assert np.array_equal(a.wx_dead, b.wx_dead)
    # rows of weight 0 are left out as before: the fit is that of the other rows
    w = np.where(rng.random(n) < 0.2, 0.0, 1.0)
    fit = cox_ph(d.assign(w=w), "t", "e", ["age", "arm", "flag"], weights="w")
    sub = cox_ph(d[w > 0], "t", "e", ["age", "arm", "flag"])
    np.testing.assert_array_equal(fit.coef, sub.coef)
    assert fit.loglik == sub.loglik and fit.n == sub.n == int((w > 0).sum())
    # a boolean covariate is written as 1.0 / 0.0 when the kernel asks (no float copy held)
    as_bool = cox_ph(d, "t", "e", ["age", "arm", "flag"])
    as_float = cox_ph(d.assign(flag=d["flag"] * 1.0), "t", "e", ["age", "arm", "flag"])
    np.testing.assert_array_equal(as_bool.coef, as_float.coef)
    np.testing.assert_array_equal(as_bool.var, as_float.var)
    assert as_bool.loglik == as_float.loglik
