import math

import numpy as np
import pandas as pd

from poems_cohort.clinical import EndpointSettings, ckd_epi_2009, resolve_egfr


def _patients(**cols):
    return pd.DataFrame(cols)


def test_ckd_epi_2009_at_the_knee_is_141_times_the_age_term():
    got = ckd_epi_2009(pd.Series([0.9]), pd.Series(["M"]), pd.Series([50.0]))
    assert math.isclose(got.iloc[0], 141 * 0.993**50, rel_tol=1e-13)


def test_ckd_epi_2009_female_above_kappa_uses_the_high_exponent_and_female_factor():
    got = ckd_epi_2009(pd.Series([1.4]), pd.Series(["F"]), pd.Series([40.0]))
    assert math.isclose(got.iloc[0], 141 * 2.0**-1.209 * 0.993**40 * 1.018, rel_tol=1e-13)


def test_ckd_epi_2009_male_below_kappa_uses_alpha():
    got = ckd_epi_2009(pd.Series([0.45]), pd.Series(["M"]), pd.Series([30.0]))
    assert math.isclose(got.iloc[0], 141 * 0.5**-0.411 * 0.993**30, rel_tol=1e-13)


def test_ckd_epi_2009_female_below_kappa_uses_the_female_alpha():
    got = ckd_epi_2009(pd.Series([0.35]), pd.Series(["F"]), pd.Series([60.0]))
    assert math.isclose(got.iloc[0], 141 * 0.5**-0.329 * 0.993**60 * 1.018, rel_tol=1e-13)


def test_ckd_epi_2009_race_factor_multiplies():
    got = ckd_epi_2009(pd.Series([0.9]), pd.Series(["M"]), pd.Series([50.0]), race_factor=1.159)
    assert math.isclose(got.iloc[0], 141 * 0.993**50 * 1.159, rel_tol=1e-13)


def test_ckd_epi_2009_missing_inputs_give_nan():
    got = ckd_epi_2009(
        pd.Series([np.nan, 1.0, 1.0, 0.0]),
        pd.Series(["M", pd.NA, "F", "F"], dtype="object"),
        pd.Series([50.0, 50.0, np.nan, 50.0]),
    )
    assert got.isna().all()
    assert got.dtype == "float64"


def test_given_egfr_wins_and_missing_is_computed():
    patients = _patients(
        egfr=[12.0, np.nan, np.nan],
        creatinine_mg_dl=[0.9, 0.9, np.nan],
        sex=["M", "M", "F"],
        age=[50.0, 50.0, 40.0],
    )
    got = resolve_egfr(patients)
    assert got.iloc[0] == 12.0
    assert math.isclose(got.iloc[1], 141 * 0.993**50, rel_tol=1e-13)
    assert np.isnan(got.iloc[2])
    assert got.name == "egfr"


def test_resolve_egfr_without_an_egfr_column_computes_all():
    patients = _patients(creatinine_mg_dl=[0.9], sex=["M"], age=[50.0])
    got = resolve_egfr(patients, race_factor=EndpointSettings().egfr_race_factor)
    assert math.isclose(got.iloc[0], 141 * 0.993**50, rel_tol=1e-13)
