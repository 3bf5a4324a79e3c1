"""Small helpers to read canonical columns that may be absent, and to turn dates into months."""

from __future__ import annotations

import numpy as np
import pandas as pd


def dates(frame: pd.DataFrame, name: str) -> pd.Series:
    """A date column as ``datetime64[ns]`` (all ``NaT`` when the column is absent)."""
    if name not in frame.columns:
        return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    return pd.to_datetime(frame[name]).astype("datetime64[ns]")


def numbers(frame: pd.DataFrame, name: str) -> pd.Series:
    """A numeric column as ``float64`` (all NaN when the column is absent)."""
    if name not in frame.columns:
        return pd.Series(np.nan, index=frame.index, dtype="float64")
    return pd.to_numeric(frame[name], errors="coerce").astype("float64")


def flags(frame: pd.DataFrame, name: str) -> pd.Series:
    """A yes/no column as pandas ``boolean`` (all ``<NA>`` when the column is absent)."""
    if name not in frame.columns:
        return pd.Series(pd.NA, index=frame.index, dtype="boolean")
    return frame[name].astype("boolean")


def texts(frame: pd.DataFrame, name: str) -> pd.Series:
    """A text column as ``object`` with ``<NA>`` for missing (all ``<NA>`` when absent)."""
    if name not in frame.columns:
        return pd.Series(pd.NA, index=frame.index, dtype="object")
    column = frame[name].astype("object")
    return column.where(column.notna(), pd.NA)


def months_between(start: pd.Series, end: pd.Series, days_per_month: float) -> pd.Series:
    """Whole days from ``start`` to ``end`` divided by ``days_per_month`` (NaN if either is NaT)."""
    return ((end - start) / pd.Timedelta(days=1) / days_per_month).astype("float64")


def as_int01(values: pd.Series) -> pd.Series:
    """A ``boolean`` series as nullable ``Int64`` 0/1 (``<NA>`` stays missing)."""
    return values.astype("boolean").astype("Int64")
