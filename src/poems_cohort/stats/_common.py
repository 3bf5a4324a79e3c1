"""Input checks and result plumbing shared by the statistics modules.

Every public function of ``poems_cohort.stats`` checks its inputs here once, at the boundary, with a
``ValueError`` that says what is wrong and where; the computing kernels behind trust their inputs.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd


class NotTestableError(ValueError):
    """A test that cannot be computed on these data (no events, one group left, a singular
    variance). The message says why; callers that tabulate tests report "not testable"."""


class NonNumericError(TypeError, ValueError):
    """Text or another non-number where numbers are expected: a programming error at the stats
    API (a ``TypeError``; also a ``ValueError``, like every other refused input here)."""


def _text_position(values: Any) -> int | None:
    """Position of the first text (``str``/``bytes``) or non-numeric object entry, else None.

    numpy converts ``"1"`` to 1.0 without a word; a statistic must never compute on text.
    """
    if isinstance(values, (str, bytes)):
        return 0
    if isinstance(values, pd.Series | pd.Index):
        if pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
            return None
        raw = values.to_numpy(dtype=object)
    elif isinstance(values, np.ndarray):
        if values.dtype.kind in "biufc":
            return None
        if values.dtype.kind in "USV":
            return 0
        raw = values
    else:
        try:
            raw = np.asarray(values)
        except (TypeError, ValueError):
            return None
        if raw.dtype.kind in "biufc":
            return None
        if raw.dtype.kind in "USV":
            return 0
    if raw.dtype.kind != "O":
        return None
    for i, v in enumerate(raw.ravel()):
        if isinstance(v, (str, bytes)) or not (v is None or v is pd.NA or isinstance(v, numbers.Number)):
            return i
    return None


def reject_text(name: str, values: Any) -> None:
    """``NonNumericError`` (a ``TypeError``) when ``values`` holds text or other non-numbers (a programming error at
    this API: the cohort readers turn the user's text into numbers, or say why they cannot)."""
    i = _text_position(values)
    if i is not None:
        flat = np.asarray(values, dtype=object).ravel() if not isinstance(values, (str, bytes)) \
            else [values]
        raise NonNumericError(f"{name}: expected numbers, got {type(flat[i]).__name__} {flat[i]!r:.40} "
                        f"at position {i}")


def as_number(name: str, value: Any) -> float:
    """A scalar parameter as float: a real number (not text, not bool), else
    ``NonNumericError``."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise NonNumericError(f"{name}: expected a number, got {type(value).__name__} "
                              f"{value!r:.40}")
    return float(value)


def as_float_array(name: str, values: Any, *, allow_nan: bool = False) -> np.ndarray:
    """A 1-D float64 copy of ``values``; refuses text (``TypeError``), non-numeric, infinite or
    (by default) NaN entries."""
    reject_text(name, values)
    try:
        arr = np.asarray(pd.Series(values, copy=False) if isinstance(values, pd.Series) else values,
                         dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise NonNumericError(f"{name}: expected numbers, got {values!r:.80}") from exc
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    bad = np.isnan(arr)
    if not allow_nan and bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name}: {int(bad.sum())} missing (NaN) value(s), first at position {i}")
    inf = np.isinf(arr)
    if inf.any():
        i = int(np.flatnonzero(inf)[0])
        raise ValueError(f"{name}: infinite value at position {i}")
    return arr


def as_times(name: str, values: Any) -> np.ndarray:
    """Follow-up times: finite, not missing, not negative."""
    arr = as_float_array(name, values)
    neg = arr < 0
    if neg.any():
        i = int(np.flatnonzero(neg)[0])
        raise ValueError(f"{name}: negative time {float(arr[i])!r} at position {i}")
    return arr


def as_status(name: str, values: Any, *, max_code: int = 1) -> np.ndarray:
    """Event indicators (``max_code=1``: 0/1; competing risks: 0..k). Returns int64."""
    arr = as_float_array(name, np.asarray(values, dtype=object).astype(float)
                         if np.asarray(values).dtype == bool else values)
    ok = (arr == np.round(arr)) & (arr >= 0) & (arr <= max_code)
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        allowed = "0 or 1" if max_code == 1 else f"an integer from 0 to {max_code}"
        raise ValueError(f"{name}: value {float(arr[i])!r} at position {i}; expected {allowed}")
    return arr.astype(np.int64)


def as_weights(name: str, values: Any) -> np.ndarray:
    """Case weights: finite and not negative."""
    arr = as_float_array(name, values)
    if (arr < 0).any():
        i = int(np.flatnonzero(arr < 0)[0])
        raise ValueError(f"{name}: negative weight {float(arr[i])!r} at position {i}")
    return arr


def as_groups(name: str, values: Any, *, levels: Sequence[Any] | None = None
              ) -> tuple[np.ndarray, tuple[Any, ...]]:
    """Integer codes 0..k-1 and the level labels.

    Levels are ``levels`` when given (values outside them are an error), else the categories of a
    pandas Categorical, else the sorted distinct values (R's factor order). Missing values are an
    error: drop them before calling.
    """
    # an array stays an object Series: pandas would otherwise infer its text as a ``str``
    # column, and coding that against the levels costs 80 bytes a row (18 as objects)
    s = values if isinstance(values, pd.Series) else (
        pd.Series(values) if isinstance(values, pd.Categorical)
        else pd.Series(np.asarray(values, dtype=object), dtype=object))
    if s.isna().any():
        i = int(np.flatnonzero(s.isna().to_numpy())[0])
        raise ValueError(f"{name}: missing value at position {i}")
    if levels is None:
        if isinstance(s.dtype, pd.CategoricalDtype):
            levels = list(s.cat.categories)
        else:
            levels = sorted(pd.unique(s), key=lambda v: (str(type(v)), v))
    cat = pd.Categorical(s, categories=list(levels))
    codes = np.asarray(cat.codes, dtype=np.int64)
    if (codes < 0).any():
        i = int(np.flatnonzero(codes < 0)[0])
        raise ValueError(f"{name}: value {s.iloc[i]!r} at position {i} is not one of {list(levels)}")
    return codes, tuple(levels)


def check_same_length(**arrays: np.ndarray) -> int:
    """All arrays have one length; returns it. Names the lengths when they differ."""
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{k}={n}" for k, n in lengths.items())
        raise ValueError(f"inputs differ in length: {shown}")
    n = next(iter(lengths.values()))
    if n == 0:
        raise ValueError("no observations: the inputs are empty")
    return n


def frame_repr(title: str, frame: pd.DataFrame, max_rows: int = 12) -> str:
    """A readable multi-line repr: a title line then the (possibly truncated) frame."""
    with pd.option_context("display.max_rows", max_rows, "display.width", 100,
                           "display.precision", 6):
        return f"{title}\n{frame!r}"


def as_group_codes(name: str, values: Any, *, levels: Sequence[Any] | None = None
                   ) -> tuple[np.ndarray, tuple[Any, ...]]:
    """Same contract as :func:`as_groups`, by hashing (``pd.factorize``) instead of building an
    object array: linear time, fit for tens of millions of rows.

    Levels are ``levels`` when given, else a Categorical's categories, else the sorted distinct
    values (R's factor order). Missing values and values outside ``levels`` are errors.
    """
    if isinstance(values, pd.Series):
        values = values.array if isinstance(values.dtype, pd.CategoricalDtype) else values.to_numpy()
    if isinstance(values, pd.Categorical) and levels is None:
        codes = np.asarray(values.codes, dtype=np.int64)
        cats = tuple(values.categories.tolist())
        if (codes < 0).any():
            raise ValueError(f"{name}: missing value at position {int(np.flatnonzero(codes < 0)[0])}")
        return codes, cats
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    if arr.dtype.kind in "iub" and arr.size and levels is None:
        small = _small_integer_codes(arr)
        if small is not None:
            return small
    raw, uniques = pd.factorize(arr, use_na_sentinel=True)
    if (raw < 0).any():
        raise ValueError(f"{name}: missing value at position {int(np.flatnonzero(raw < 0)[0])}")
    found = list(np.asarray(uniques, dtype=object).tolist()) if len(uniques) else []
    if levels is None:
        levels = sorted(found, key=lambda v: (str(type(v)), v))
    levels = list(levels)
    position = {lv: i for i, lv in enumerate(levels)}
    remap = np.empty(len(found), dtype=np.int64)
    for j, v in enumerate(found):
        if v not in position:
            i = int(np.flatnonzero(raw == j)[0])
            raise ValueError(f"{name}: value {v!r} at position {i} is not one of {levels}")
        remap[j] = position[v]
    return remap[raw], tuple(levels)


def _small_integer_codes(arr: np.ndarray) -> tuple[np.ndarray, tuple[Any, ...]] | None:
    """Integer (or boolean) groups spanning a small range: codes by a lookup table, no hashing."""
    lo, hi = int(arr.min()), int(arr.max())
    if hi - lo > 1_000_000:
        return None
    as_int = arr.astype(np.int64, copy=False)
    shifted = as_int - lo if lo else as_int
    present = np.flatnonzero(np.bincount(shifted, minlength=hi - lo + 1))
    if len(present) == hi - lo + 1 and lo == 0 and arr.dtype.kind != "b":
        return shifted, tuple(range(hi + 1))  # already the codes 0..k-1
    lookup = np.zeros(hi - lo + 1, dtype=np.int64)
    lookup[present] = np.arange(len(present))
    labels = (present + lo).tolist()
    if arr.dtype.kind == "b":
        labels = [bool(v) for v in labels]
    return lookup[shifted], tuple(labels)


def as_binary_status(name: str, values: Any) -> np.ndarray:
    """:func:`as_status` with ``max_code=1``, with a fast path for integer and boolean arrays."""
    arr = values.to_numpy() if isinstance(values, pd.Series) else values
    if isinstance(arr, np.ndarray) and arr.dtype.kind in "iub" and arr.ndim == 1:
        if arr.dtype.kind == "b":
            return arr.astype(np.int64)
        bad = (arr != 0) & (arr != 1)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{name}: value {int(arr[i])} at position {i}; expected 0 or 1")
        return arr.astype(np.int64, copy=False)
    return as_status(name, values)


def first_cell(columns: Sequence[np.ndarray], test: Any) -> tuple[int, int] | None:
    """(row, column) of the first cell where ``test`` (e.g. ``np.isnan``) holds, in row order
    as ``np.nonzero`` of the whole 2-D array gives it, found one column at a time (no n x p
    temporary); ``None`` when no cell does."""
    hits = [(int(np.argmax(t)), j) for j, t in enumerate(test(col) for col in columns) if t.any()]
    return min(hits) if hits else None
