"""The propensity model at registry size: the design built once into the frame's own block, and
the multinomial fit made over blocks of rows instead of whole-design copies, with the results of
the whole design."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from poems_cohort.stats import covariate_design, multinomial_logit
from poems_cohort.stats import propensity as prop_mod


def _data(n: int = 400, seed: int = 7) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    age = rng.normal(55, 10, n)
    age[rng.random(n) < 0.1] = np.nan
    sex = rng.choice(np.array(["F", "M"], dtype=object), n)
    sex[rng.random(n) < 0.05] = None
    stage = rng.integers(1, 4, n).astype(float)
    lin = 0.03 * np.nan_to_num(age, nan=55) + 0.4 * (stage == 3)
    arm = np.where(rng.random(n) < 1 / (1 + np.exp(-(lin - 1.8))), "B",
                   np.where(rng.random(n) < 0.4, "C", "A"))
    return pd.DataFrame({"age": age, "sex": sex, "stage": stage}), arm


def test_design_is_one_block_owned_by_the_frame_with_the_rule_s_values():
    data, _ = _data()
    d = covariate_design(data, continuous=["age"], categorical=["sex", "stage"])
    assert d.columns == ("age", "age_missing", "sex_M", "sex_missing", "stage_2",
                         "stage_3")
    assert d.frame._mgr.nblocks == 1
    values = d.frame.to_numpy()
    assert values.flags.f_contiguous  # the block (p x n, C order) seen as n x p
    age = data["age"].to_numpy()
    med = np.median(age[~np.isnan(age)])
    np.testing.assert_array_equal(d.frame["age"], np.where(np.isnan(age), med, age))
    np.testing.assert_array_equal(d.frame["age_missing"], np.isnan(age).astype(float))
    sex = data["sex"]
    np.testing.assert_array_equal(d.frame["sex_M"], (sex == "M").astype(float))
    np.testing.assert_array_equal(d.frame["sex_missing"], sex.isna().astype(float))
    np.testing.assert_array_equal(d.frame["stage_3"], (data["stage"] == 3).astype(float))
    assert list(d.frame.index) == list(data.index)


def test_design_with_no_column_keeps_the_rows():
    data = pd.DataFrame({"a": [1.0, 1.0, 1.0]}, index=[5, 6, 7])
    d = covariate_design(data, continuous=["a"])
    assert d.frame.shape == (3, 0) and list(d.frame.index) == [5, 6, 7]
    assert d.dropped == (("a", "a single value"),)


@pytest.mark.parametrize("rows", [37, 100, 399])
@pytest.mark.parametrize("as_array", [False, True])
def test_fit_over_blocks_of_rows_equals_the_fit_of_the_whole_design(monkeypatch, rows, as_array):
    data, arm = _data()
    x = covariate_design(data, continuous=["age"], categorical=["sex", "stage"]).frame
    xin = x.to_numpy() if as_array else x
    whole = multinomial_logit(xin, arm)
    monkeypatch.setattr(prop_mod, "_FIT_ROWS", rows)
    blocks = multinomial_logit(xin, arm)
    assert blocks.converged and whole.converged
    np.testing.assert_allclose(blocks.coef, whole.coef, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(blocks.se, whole.se, rtol=1e-10)
    np.testing.assert_allclose(blocks.fitted, whole.fitted, rtol=1e-10)
    assert blocks.loglik == pytest.approx(whole.loglik, rel=1e-12)
    assert blocks.iterations == whole.iterations


def test_one_block_when_the_cohort_fits_in_it(monkeypatch):
    data, arm = _data()
    x = covariate_design(data, continuous=["age"], categorical=["sex", "stage"]).frame
    a = multinomial_logit(x, arm)
    monkeypatch.setattr(prop_mod, "_FIT_ROWS", len(x))
    b = multinomial_logit(x, arm)
    assert np.array_equal(a.coef, b.coef) and np.array_equal(a.fitted, b.fitted)


@pytest.mark.parametrize("rows", [3, 1 << 16])
def test_first_bad_cell_in_row_order_is_named(monkeypatch, rows):
    monkeypatch.setattr(prop_mod, "_FIT_ROWS", rows)
    x = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, np.nan, 5.0, 6.0],
                      "b": [1.0, 0.0, 1.0, np.nan, 0.0, 1.0, 0.0],
                      "c": [1.0, np.inf, 0.0, 1.0, 0.0, 1.0, -np.inf]})
    arm = ["A", "B", "A", "B", "A", "B", "A"]
    with pytest.raises(ValueError, match=r"missing value in column 'b' at row position 3"):
        multinomial_logit(x, arm)
    with pytest.raises(ValueError, match=r"infinite value in column 'c' at row position 1"):
        multinomial_logit(x.fillna(0.0), arm)
    with pytest.raises(ValueError, match=r"x has 7 rows, treatment 6"):
        multinomial_logit(x.fillna(0.0).replace([np.inf, -np.inf], 0.0), arm[:6])


def test_collinear_design_is_refused_over_blocks(monkeypatch):
    monkeypatch.setattr(prop_mod, "_FIT_ROWS", 4)
    rng = np.random.default_rng(1)
    a = rng.normal(size=30)
    x = pd.DataFrame({"a": a, "b": 2 * a})
    with pytest.raises(ValueError, match="collinear"):
        multinomial_logit(x, rng.choice(["A", "B"], 30))


@pytest.mark.filterwarnings("ignore:Degrees of freedom:RuntimeWarning",
                            "ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("n", [2, 347, 20000])  # 2: one patient per arm, no variance
def test_balance_column_by_column_gives_the_sums_of_the_whole_arm(n):
    # the column-at-a-time means and variances are those of x[sel].mean(axis=0) and
    # .var(axis=0, ddof=1), bit for bit
    from poems_cohort.stats import balance_table

    rng = np.random.default_rng(n)
    x = pd.DataFrame({"a": rng.normal(50, 9, n), "b": (rng.random(n) < 0.3).astype(float),
                      "c": rng.gamma(2.0, 3.0, n)})
    arm = np.array(["A", "B"] * (n // 2) + ["A"] * (n % 2), dtype=object)
    w = rng.random(n) + 0.5
    tab = balance_table(x, arm, w).to_frame()
    xv = x.to_numpy()
    sel_a, sel_b = arm == "A", arm == "B"
    m_a, m_b = xv[sel_a].mean(axis=0), xv[sel_b].mean(axis=0)
    v_a, v_b = xv[sel_a].var(axis=0, ddof=1), xv[sel_b].var(axis=0, ddof=1)
    v_a[1], v_b[1] = m_a[1] * (1 - m_a[1]), m_b[1] * (1 - m_b[1])
    sd = np.sqrt((v_b + v_a) / 2)
    got = tab.set_index("covariate")
    assert np.array_equal(got["mean_group"].to_numpy(), m_b)
    assert np.array_equal(got["mean_reference"].to_numpy(), m_a)
    assert np.array_equal(got["sd_pooled"].to_numpy(), sd, equal_nan=True)
    wm_b = (w[sel_b] @ xv[sel_b]) / w[sel_b].sum()
    assert np.array_equal(got["weighted_mean_group"].to_numpy(), wm_b)


def test_balance_names_the_first_missing_cell_in_row_order():
    from poems_cohort.stats import balance_table

    x = pd.DataFrame({"a": [0.0, 1.0, np.nan, 1.0], "b": [1.0, np.nan, 0.0, 1.0]})
    with pytest.raises(ValueError, match=r"missing value in column 'b' at row position 1"):
        balance_table(x, ["A", "B", "A", "B"], np.ones(4))


@pytest.mark.parametrize("block", [7, 100, 1 << 16])
def test_balance_weighted_means_over_row_blocks(monkeypatch, block):
    # the weighted means are products with ROW_BLOCK of the arm's rows at a time, added in
    # order: one block is the one product of the whole arm, bit for bit; more blocks agree with
    # it to rounding
    from poems_cohort.stats import balance as bal_mod
    from poems_cohort.stats import balance_table

    monkeypatch.setattr(bal_mod, "ROW_BLOCK", block)
    rng = np.random.default_rng(block)
    n = 1001
    x = pd.DataFrame({"a": rng.normal(50, 9, n), "b": (rng.random(n) < 0.3).astype(float),
                      "c": rng.gamma(2.0, 3.0, n)})
    arm = rng.choice(np.array(["A", "B", "C"], dtype=object), n)
    w = rng.random(n) + 0.5
    got = balance_table(x, arm, w).to_frame()
    xv = x.to_numpy()
    for level in ("A", "B"):
        sel = arm == level
        rows, ws = np.flatnonzero(sel), w[sel]
        parts = [ws[b:b + block] @ xv[rows[b:b + block]] for b in range(0, len(rows), block)]
        total = parts[0]
        for part in parts[1:]:
            total = total + part
        col = "weighted_mean_reference" if level == "A" else "weighted_mean_group"
        have = got[got["group"] == "B"][col].to_numpy()
        assert np.array_equal(have, total / ws.sum())
        whole = (ws @ xv[sel]) / ws.sum()
        if block >= len(rows):
            assert np.array_equal(have, whole)
        else:
            assert len(parts) > 1
            np.testing.assert_allclose(have, whole, rtol=1e-13)


def test_balance_of_a_frame_with_a_block_per_column_is_that_of_one_block():
    # the columns are read one by one (no n x p copy of a frame of many blocks): the same
    # table, bit for bit, as from the consolidated frame
    from poems_cohort.stats import balance_table

    rng = np.random.default_rng(3)
    n = 500
    block = np.vstack([rng.normal(50, 9, n), (rng.random(n) < 0.3).astype(float),
                       rng.gamma(2.0, 3.0, n)])
    one = pd.DataFrame(block.T, columns=["a", "b", "c"], copy=False)
    many = pd.DataFrame({c: block[j].copy() for j, c in enumerate(one.columns)}, copy=False)
    assert one._mgr.nblocks == 1 and many._mgr.nblocks == 3
    arm = rng.choice(np.array(["A", "B", "C"], dtype=object), n)
    w = rng.random(n) + 0.5
    pd.testing.assert_frame_equal(balance_table(many, arm, w).to_frame(),
                                  balance_table(one, arm, w).to_frame(), check_exact=True)


@pytest.mark.parametrize("all_levels", [False, True])
def test_design_from_computed_columns_is_the_frame_s_design_bit_for_bit(all_levels):
    # covariate_design_from reads each covariate when it needs it (no frame of them all):
    # the same columns, values, medians and dropped covariates as from the frame
    data, _ = _data()
    data["one"] = 2.0
    data.index = pd.RangeIndex(100, 100 + len(data))
    calls: list[str] = []

    def getter(name: str):
        def get() -> pd.Series:
            calls.append(name)
            return data[name].copy()
        return get

    kw = {"continuous": ["age", "one"], "categorical": ["sex", "stage"], "prefix": "ps_",
          "all_levels": all_levels}
    whole = covariate_design(data, **kw)
    lazy = prop_mod.covariate_design_from({c: getter(c) for c in data.columns}, data.index, **kw)
    pd.testing.assert_frame_equal(lazy.frame, whole.frame, check_exact=True)
    assert (lazy.columns, lazy.source, lazy.kind, lazy.medians, lazy.dropped) == (
        whole.columns, whole.source, whole.kind, whole.medians, whole.dropped)
    assert lazy.frame._mgr.nblocks == 1
    assert set(calls) == {"age", "one", "sex", "stage"}  # only the covariates asked for


def test_design_from_computed_columns_refuses_bad_columns():
    data, _ = _data(n=10)
    cols = {"age": lambda: data["age"], "short": lambda: data["age"].iloc[:5],
            "arr": lambda: data["age"].to_numpy()}
    with pytest.raises(ValueError, match=r"no column\(s\) \['nope'\]"):
        prop_mod.covariate_design_from(cols, data.index, continuous=["nope"])
    with pytest.raises(ValueError, match="named more than once"):
        prop_mod.covariate_design_from(cols, data.index, continuous=["age"],
                                       categorical=["age"])
    with pytest.raises(ValueError, match=r"covariate 'short': expected a Series of 10 values"):
        prop_mod.covariate_design_from(cols, data.index, continuous=["short"])
    with pytest.raises(ValueError, match=r"covariate 'arr': expected a Series of 10 values, got "
                                         "ndarray"):
        prop_mod.covariate_design_from(cols, data.index, categorical=["arr"])


def test_design_from_computed_columns_keeps_the_columns_asked_for():
    data, _ = _data()
    kw = {"continuous": ["age"], "categorical": ["sex", "stage"]}
    whole = covariate_design(data, **kw)
    cols = {c: (lambda c=c: data[c]) for c in data.columns}
    for keep in (["age", "stage_3"], ["stage_3", "age_missing", "sex_M"], list(whole.columns)):
        got = prop_mod.covariate_design_from(cols, data.index, keep=keep, **kw)
        pd.testing.assert_frame_equal(got.frame, whole.frame[keep], check_exact=True)
        assert got.columns == tuple(keep) and got.medians == whole.medians
    for bad in (["age", "nope"], ["age", "age"]):
        with pytest.raises(ValueError, match="not distinct columns of the design"):
            prop_mod.covariate_design_from(cols, data.index, keep=bad, **kw)
