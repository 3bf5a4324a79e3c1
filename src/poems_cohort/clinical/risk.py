"""The POEMS risk score of Wang et al. (Leukemia 2017) as a frozen, replaceable definition.

Each factor gives its points when present: age > 50 years (1), pulmonary hypertension (1), pleural
effusion (1), eGFR < 30 ml/min/1.73 m² (2). Totals 0, 1 and 2–5 are the low, medium and high risk
groups. A missing factor never counts as absent: the group is reported only when the known factors
already decide it (the lowest and highest possible totals fall in the same group), otherwise it is
missing, and the reason says which factors were missing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TypedDict, Unpack

import numpy as np
import pandas as pd


@dataclass(frozen=True, slots=True)
class RiskFactor:
    """One factor of a risk score.

    Present when ``column > above`` (if ``above`` is set), when ``column < below`` (if ``below``
    is set), or, with neither, when the yes/no ``column`` is true.
    """

    label: str
    column: str
    points: int
    above: float | None = None
    below: float | None = None

    def __post_init__(self) -> None:
        if self.above is not None and self.below is not None:
            raise ValueError(f"risk factor {self.label!r}: give 'above' or 'below', not both")
        if isinstance(self.points, bool) or not isinstance(self.points, int) or self.points < 1:
            raise ValueError(f"risk factor {self.label!r}: points must be a positive integer")

    def present(self, patients: pd.DataFrame) -> pd.Series:
        """Whether the factor is present per patient (pandas ``boolean``, ``<NA>`` if unknown)."""
        if self.column not in patients.columns:
            return pd.Series(pd.NA, index=patients.index, dtype="boolean")
        raw = patients[self.column]
        if self.above is None and self.below is None:
            return raw.astype("boolean")
        values = pd.to_numeric(raw, errors="coerce").astype("float64")
        hit = values > self.above if self.above is not None else values < self.below
        return hit.astype("boolean").mask(values.isna())


class RiskScoreChanges(TypedDict, total=False):
    """The fields ``RiskScoreDefinition.replace`` may change, with their types."""

    factors: tuple[RiskFactor, ...]
    groups: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class RiskScoreDefinition:
    """Factors and groups of a points-based risk score.

    ``groups`` lists ``(name, highest total in the group)`` from the lowest group up; the last
    bound must reach the maximum possible total.
    """

    factors: tuple[RiskFactor, ...]
    groups: tuple[tuple[str, int], ...]

    def __post_init__(self) -> None:
        bounds = [bound for _, bound in self.groups]
        if not self.factors or not self.groups:
            raise ValueError("a risk score needs at least one factor and one group")
        if bounds != sorted(bounds) or len(set(bounds)) != len(bounds):
            raise ValueError(f"risk groups must have increasing bounds, got {self.groups!r}")
        if bounds[-1] < self.max_points:
            raise ValueError(
                f"the last risk group ends at {bounds[-1]} but the factors can total {self.max_points}"
            )

    @property
    def max_points(self) -> int:
        """The highest possible total."""
        return sum(f.points for f in self.factors)

    def group_of(self, points: int) -> str:
        """The group a total falls in."""
        for name, bound in self.groups:
            if points <= bound:
                return name
        raise ValueError(f"risk total {points} is above every group")

    def replace(self, **changes: Unpack[RiskScoreChanges]) -> RiskScoreDefinition:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


WANG_RISK_SCORE = RiskScoreDefinition(
    factors=(
        RiskFactor("age > 50 years", "age", 1, above=50.0),
        RiskFactor("pulmonary hypertension", "pulmonary_hypertension", 1),
        RiskFactor("pleural effusion", "pleural_effusion", 1),
        RiskFactor("eGFR < 30 ml/min/1.73 m²", "egfr", 2, below=30.0),
    ),
    groups=(("low", 0), ("medium", 1), ("high", 5)),
)


def risk_score(
    patients: pd.DataFrame, definition: RiskScoreDefinition = WANG_RISK_SCORE
) -> pd.DataFrame:
    """Risk points, group and reason per patient (same index as ``patients``).

    ``risk_points`` (float64) is NaN when any factor is missing; ``risk_group`` (``"low"`` /
    ``"medium"`` / ``"high"``, object) is given whenever the known factors decide it, else
    ``<NA>``; ``risk_reason`` (object) is ``<NA>`` when every factor is known, otherwise it names
    the missing factors and whether the group was still decided. ``patients`` must carry the
    factors' columns (``egfr`` already resolved, see ``resolve_egfr``).
    """
    known = np.zeros(len(patients), dtype=np.int64)
    unknown = np.zeros(len(patients), dtype=np.int64)
    missing = np.zeros(len(patients), dtype=np.int64)  # bit j: factor j is missing
    for j, factor in enumerate(definition.factors):
        present = factor.present(patients)
        is_missing = present.isna().to_numpy()
        known += np.where(present.fillna(False).to_numpy(dtype=bool), factor.points, 0)
        unknown += np.where(is_missing, factor.points, 0)
        missing |= np.where(is_missing, 1 << j, 0)

    points = np.where(unknown == 0, known.astype("float64"), np.nan)
    # group and reason once per distinct (known points, unknown points, missing factors): a
    # handful of combinations, spread back to the patients (not a Python list per patient)
    span = definition.max_points + 1
    key = (known * span + unknown) << len(definition.factors) | missing
    distinct, at = np.unique(key, return_inverse=True)
    groups = np.empty(len(distinct), dtype=object)
    reasons = np.empty(len(distinct), dtype=object)
    for k, code in enumerate(distinct.tolist()):
        mask = code & ((1 << len(definition.factors)) - 1)
        low, extra = divmod(code >> len(definition.factors), span)
        labels = [f.label for j, f in enumerate(definition.factors) if mask >> j & 1]
        lowest, highest = definition.group_of(low), definition.group_of(low + extra)
        if not labels:
            groups[k], reasons[k] = lowest, pd.NA
        elif lowest == highest:
            groups[k] = lowest
            reasons[k] = (f"missing: {', '.join(labels)}; group {lowest} whatever their values "
                          f"({low} known point(s))")
        else:
            groups[k] = pd.NA
            reasons[k] = (f"missing: {', '.join(labels)}; total could be {low} to "
                          f"{low + extra}, group {lowest} to {highest}")
    groups, reasons = groups[at.reshape(-1)], reasons[at.reshape(-1)]
    return pd.DataFrame(
        {
            "risk_points": pd.Series(points, index=patients.index, dtype="float64"),
            "risk_group": pd.Series(groups, index=patients.index, dtype="object"),
            "risk_reason": pd.Series(reasons, index=patients.index, dtype="object"),
        }
    )
