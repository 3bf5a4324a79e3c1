"""The settings of the endpoint derivation: the data cutoff, the month length and every threshold.

All response thresholds and the risk-score definition live here so that no rule carries a literal.
``EndpointSettings`` is frozen; change a value with ``dataclasses.replace`` (or ``.replace``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass, field
from typing import TypedDict, Unpack

import pandas as pd

from poems_cohort.clinical.risk import WANG_RISK_SCORE, RiskScoreDefinition
from poems_cohort.defaults import PAPER_CUTOFF, VEGF_UPPER_NORMAL

#: readings of CRH/CRV evaluability (see ``EndpointSettings``)
CRH_CRV_EVALUABLE: tuple[str, ...] = ("either", "both-or-responder")
#: readings of RN evaluability (see ``EndpointSettings``)
RN_EVALUABLE: tuple[str, ...] = ("baseline", "assessed")


def _as_timestamp(value: object) -> pd.Timestamp:
    if isinstance(value, pd.Timestamp):
        stamp = value
    elif isinstance(value, (str, dt.date, dt.datetime)):
        stamp = pd.Timestamp(value)
    else:
        raise ValueError(f"cutoff: expected a date, got {value!r}")
    if pd.isna(stamp):
        raise ValueError("cutoff: expected a date, got a missing value")
    if stamp.tz is not None:
        raise ValueError(f"cutoff: expected a calendar date without time zone, got {value!r}")
    return stamp.normalize()


class EndpointChanges(TypedDict, total=False):
    """The settings ``EndpointSettings.replace`` may change, with their types."""

    cutoff: pd.Timestamp
    days_per_month: float
    vegf_normal_below: float
    flc_ratio_normal: tuple[float, float]
    onls_min_drop: float
    egfr_race_factor: float
    risk_score: RiskScoreDefinition
    crh_crv_evaluable: str
    rn_evaluable: str


@dataclass(frozen=True, slots=True)
class EndpointSettings:
    """How responses, survival and the risk group are derived.

    ``cutoff``: data cutoff; nothing after it counts (default 2018-08-31, the paper's last
    follow-up date). ``days_per_month``: months = days / this (30.4375 = 365.25 / 12).
    ``vegf_normal_below``: CRV when VEGF (pg/ml) is strictly below this; a patient is evaluable
    when baseline VEGF is at or above it. ``flc_ratio_normal``: inclusive normal range of the
    serum kappa/lambda free light-chain ratio. ``onls_min_drop``: RN when ONLS is at least this
    many points below baseline; a patient is evaluable when baseline ONLS is at or above it.
    ``egfr_race_factor``: the CKD-EPI 2009 race multiplier applied to every computed eGFR (1.0 =
    the race term omitted; 1.159 is the published coefficient for Black patients).
    ``risk_score``: the risk-score definition (default: Wang et al.).
    ``crh_crv_evaluable``: who is evaluable for CRH/CRV (CRH or CRV reached): ``"either"``, a
    patient evaluable for CRH or for CRV; ``"both-or-responder"``, a patient evaluable for both,
    or a known responder to either (a patient evaluable for one only who did not respond to it
    cannot be judged). ``rn_evaluable``: ``"baseline"``, baseline ONLS at or above
    ``onls_min_drop``; ``"assessed"``, that and an ONLS recorded at an assessment after treatment
    start (with visits; without them a given ``rn_evaluable`` column or the baseline decides).
    """

    cutoff: pd.Timestamp = field(default_factory=lambda: pd.Timestamp(PAPER_CUTOFF))
    days_per_month: float = 30.4375
    vegf_normal_below: float = VEGF_UPPER_NORMAL
    flc_ratio_normal: tuple[float, float] = (0.26, 1.65)
    onls_min_drop: float = 1.0
    egfr_race_factor: float = 1.0
    risk_score: RiskScoreDefinition = WANG_RISK_SCORE
    crh_crv_evaluable: str = "both-or-responder"
    rn_evaluable: str = "assessed"

    def __post_init__(self) -> None:
        object.__setattr__(self, "cutoff", _as_timestamp(self.cutoff))
        for name in ("days_per_month", "vegf_normal_below", "onls_min_drop", "egfr_race_factor"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{name}: expected a number, got {value!r}")
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name}: expected a positive number, got {value!r}")
            object.__setattr__(self, name, float(value))
        low_high = tuple(self.flc_ratio_normal)
        if (len(low_high) != 2 or not all(isinstance(v, (int, float)) for v in low_high)
                or not 0 < low_high[0] < low_high[1] or not math.isfinite(low_high[1])):
            raise ValueError(
                f"flc_ratio_normal: expected (low, high) with 0 < low < high, got {self.flc_ratio_normal!r}"
            )
        object.__setattr__(self, "flc_ratio_normal", (float(low_high[0]), float(low_high[1])))
        if self.crh_crv_evaluable not in CRH_CRV_EVALUABLE:
            raise ValueError(f"crh_crv_evaluable: expected one of {list(CRH_CRV_EVALUABLE)}, "
                             f"got {self.crh_crv_evaluable!r}")
        if self.rn_evaluable not in RN_EVALUABLE:
            raise ValueError(f"rn_evaluable: expected one of {list(RN_EVALUABLE)}, "
                             f"got {self.rn_evaluable!r}")
        if not isinstance(self.risk_score, RiskScoreDefinition):
            raise ValueError(f"risk_score: expected a RiskScoreDefinition, got {self.risk_score!r}")

    def replace(self, **changes: Unpack[EndpointChanges]) -> EndpointSettings:
        """A copy with some settings changed (the original is untouched)."""
        return dataclasses.replace(self, **changes)
