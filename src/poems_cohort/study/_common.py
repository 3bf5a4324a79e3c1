"""Small helpers shared by the study modules: subsets, flags, Kaplan–Meier look-ups."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from poems_cohort import stats
from poems_cohort.study.names import ALL
from poems_cohort.study.plan import AnalysisPlan, Subgroup
from poems_cohort.study.policy import TestOutcome

__all__ = ["ALL", "as_float", "columns_of", "flag", "groups_of", "in_subgroup", "kaplan_meier",
           "median_of", "one", "outcome_of", "percent", "join_on_patient", "regimen_codes", "same_order", "survival_at"]


def one(frame: pd.DataFrame, what: str, **where: object) -> pd.Series:
    """The single row of ``frame`` whose columns equal ``where`` (a ``KeyError`` naming
    ``what`` and the values when there is none)."""
    mask = np.ones(len(frame), dtype=bool)
    for column, value in where.items():
        mask &= (frame[column] == value).to_numpy(dtype=bool)
    hits = frame[mask]
    if len(hits) == 0:
        shown = ", ".join(f"{k}={v!r}" for k, v in where.items())
        raise KeyError(f"no {what} with {shown}")
    return hits.iloc[0]


def outcome_of(row: pd.Series) -> TestOutcome:
    """A row of a tests frame (test, statistic, df, p_value) as a ``TestOutcome``."""
    return TestOutcome(str(row["test"]), float(row["statistic"]), float(row["df"]),
                       float(row["p_value"]))


def in_subgroup(ds: pd.DataFrame, subgroup: Subgroup) -> pd.DataFrame:
    """The rows of ``ds`` in ``subgroup`` (patients without a value of the subgroup's column
    belong only to "all")."""
    wanted = subgroup.values
    if wanted is None:
        return ds
    # each distinct value is tested once (factorize), not each row: a registry repeats few
    codes, uniques = pd.factorize(ds[subgroup.column].astype(object), use_na_sentinel=True)
    keep = np.array([str(v) in wanted for v in uniques] + [False], dtype=bool)
    return ds[keep[codes]]  # code -1 (missing) takes the last entry: False


def columns_of(ds: pd.DataFrame, plan: AnalysisPlan, *columns: str) -> pd.DataFrame:
    """``ds`` narrowed to ``columns``, ``regimen`` and the columns of the plan's subgroups (those
    present; no copy): each subset of rows an analysis takes then copies these columns only,
    not the whole dataset's."""
    wanted = dict.fromkeys(["regimen", *(sg.column for sg in plan.subgroups
                                         if sg.values is not None), *columns])
    return ds[[c for c in wanted if c in ds.columns]]


def same_order(a: pd.Series, b: pd.Series) -> bool:
    """Whether ``a`` and ``b`` hold the same identifiers, none missing or repeated, in the same
    order (then a one-to-one merge on them is a column-wise concatenation)."""
    if len(a) != len(b) or a.isna().any() or b.isna().any():
        return False
    if isinstance(a.dtype, pd.StringDtype) and isinstance(b.dtype, pd.StringDtype):
        # text columns (pandas' text type, e.g. frames read by pandas 3) compared as they are:
        # no Python string made per value (at 10⁷ patients, 0.6 GB each for a moment)
        same = bool(np.asarray(a.array == b.array, dtype=bool).all()) and a.is_unique
        # Arrow's hash table of the identifiers (about 100 bytes a patient) is freed into
        # Arrow's allocator, which keeps its blocks: given back now, else held through the study
        import pyarrow

        pyarrow.default_memory_pool().release_unused()
        return same
    equal = np.asarray(a.to_numpy(dtype=object) == b.to_numpy(dtype=object), dtype=bool)
    return bool(equal.all()) and not a.duplicated().any()


def join_on_patient(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    """``left`` with the columns of ``right`` (both with ``patient_id``) for each of its rows,
    keeping ``left``'s index: the left one-to-one merge on ``patient_id``. When both hold the
    same patients in the same order (always, after eligibility) the columns are set side by
    side instead (copy-on-write: none is copied)."""
    if same_order(left["patient_id"], right["patient_id"]):
        return pd.concat([left, right.drop(columns="patient_id").set_axis(left.index)], axis=1)
    frame = left.merge(right, on="patient_id", how="left", validate="one_to_one")
    frame.index = left.index
    return frame


def flag(series: pd.Series) -> pd.Series:
    """A 0/1, True/False or boolean column as plain bool, missing as False."""
    return series.astype("boolean").fillna(False).astype(bool)


def groups_of(ds: pd.DataFrame, plan: AnalysisPlan) -> list[tuple[str, pd.DataFrame]]:
    """``("All", ds)`` then one ``(regimen, rows)`` per regimen of the plan, in display order."""
    codes = regimen_codes(ds["regimen"], plan.regimens)
    return [(ALL, ds)] + [(r, ds[codes == i]) for i, r in enumerate(plan.regimens)]


def regimen_codes(regimen: pd.Series, regimens: tuple[str, ...] | list[str]) -> np.ndarray:
    """Per row, the position of its regimen in ``regimens`` (-1: another or missing): computed
    once, so that a table's counts per regimen are ``codes == i`` or one ``np.bincount`` instead
    of a comparison of the text column per characteristic and regimen."""
    codes, uniques = pd.factorize(regimen.astype(object), use_na_sentinel=True)
    position = {r: i for i, r in enumerate(regimens)}
    lookup = np.array([position.get(v, -1) if isinstance(v, str) else -1 for v in uniques]
                      + [-1], dtype=np.int64)
    return lookup[codes]


def kaplan_meier(time: pd.Series, event: pd.Series, *, conf_level: float
                 ) -> stats.KaplanMeier | None:
    """The Kaplan–Meier fit (log-log intervals at ``conf_level``), or ``None`` when there is no
    observation."""
    if len(time) == 0:
        return None
    return stats.kaplan_meier(np.asarray(time, dtype=float), np.asarray(event, dtype=int),
                              conf_level=conf_level, conf_type="log-log")


def survival_at(km: stats.KaplanMeier | None, t: float) -> tuple[float, float, float]:
    """Survival and its confidence limits at ``t``; NaN when the curve does not reach ``t``."""
    if km is None:
        return (math.nan, math.nan, math.nan)
    tab = km.table
    if len(tab) == 0 or float(np.max(tab["time"])) < t and float(tab["surv"].iloc[-1]) > 0:
        return (math.nan, math.nan, math.nan)
    try:
        row = km.at([t]).iloc[0]
    except ValueError:
        return (math.nan, math.nan, math.nan)
    return (float(row["surv"]), float(row["lower"]), float(row["upper"]))


def median_of(km: stats.KaplanMeier | None) -> tuple[float, float, float]:
    """The median survival time and its confidence limits (NaN when not reached)."""
    if km is None:
        return (math.nan, math.nan, math.nan)
    m = km.median()
    return (as_float(m.estimate), as_float(m.lower), as_float(m.upper))


def as_float(x: object) -> float:
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return v if math.isfinite(v) else math.nan


def percent(x: float) -> float:
    """A proportion as a percent (NaN stays NaN)."""
    return 100.0 * x if not math.isnan(x) else math.nan
