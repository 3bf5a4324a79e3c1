import datetime as dt
import typing

import pandas as pd
import pytest

from poems_cohort.clinical import WANG_RISK_SCORE, EndpointSettings
from poems_cohort.clinical.settings import EndpointChanges


def test_defaults_follow_the_paper():
    s = EndpointSettings()
    assert s.cutoff == pd.Timestamp("2018-08-31")
    assert s.days_per_month == 30.4375
    assert s.vegf_normal_below == 600.0
    assert s.flc_ratio_normal == (0.26, 1.65)
    assert s.onls_min_drop == 1.0
    assert s.egfr_race_factor == 1.0
    assert s.risk_score is WANG_RISK_SCORE


def test_cutoff_accepts_text_and_dates():
    assert EndpointSettings(cutoff="2015-01-02").cutoff == pd.Timestamp("2015-01-02")
    assert EndpointSettings(cutoff=dt.date(2015, 1, 2)).cutoff == pd.Timestamp("2015-01-02")


def test_replace_returns_a_changed_copy():
    s = EndpointSettings()
    t = s.replace(vegf_normal_below=1000)
    assert t.vegf_normal_below == 1000.0 and s.vegf_normal_below == 600.0
    with pytest.raises(AttributeError):
        s.cutoff = pd.Timestamp("2020-01-01")


def test_replace_keywords_are_the_settings_with_their_types():
    """``replace`` is typed by ``EndpointChanges``: it must name every setting, typed as the field."""
    assert typing.get_type_hints(EndpointChanges) == typing.get_type_hints(EndpointSettings)
    assert EndpointChanges.__required_keys__ == frozenset()


def test_replace_refuses_an_unknown_setting():
    with pytest.raises(TypeError, match="vegf_normal"):
        EndpointSettings().replace(**{"vegf_normal": 1000.0})


@pytest.mark.parametrize(
    "changes",
    [
        {"cutoff": "not a date"},
        {"cutoff": None},
        {"days_per_month": 0},
        {"vegf_normal_below": -1},
        {"onls_min_drop": float("nan")},
        {"flc_ratio_normal": (1.65, 0.26)},
        {"flc_ratio_normal": (0.26,)},
        {"risk_score": "wang"},
    ],
)
def test_bad_settings_are_refused(changes):
    with pytest.raises(ValueError):
        EndpointSettings(**changes)
