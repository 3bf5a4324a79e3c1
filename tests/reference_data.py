"""Load the R golden values in ``tests/reference`` (made by ``tests/reference/make_reference.R``).

JSON numbers are full double precision; ``"NaN"``, ``"Inf"`` and ``"-Inf"`` are strings and ``null``
is R's NA or "not applicable". ``load_json`` turns the strings into floats and leaves ``None``;
``arr`` makes a float array with NaN for ``None``.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REFERENCE = Path(__file__).parent / "reference"
_SPECIAL = {"NaN": float("nan"), "Inf": float("inf"), "-Inf": float("-inf")}


def _convert(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _convert(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_convert(v) for v in x]
    if isinstance(x, str) and x in _SPECIAL:
        return _SPECIAL[x]
    return x


@cache
def load_json(name: str) -> dict:
    """``name`` without extension, e.g. ``"lung"``."""
    with open(REFERENCE / f"{name}.json", encoding="utf-8") as fh:
        return _convert(json.load(fh))


def load_csv(name: str) -> pd.DataFrame:
    return pd.read_csv(REFERENCE / f"{name}.csv")


def arr(values: Any) -> np.ndarray:
    """Float array, ``None`` → NaN."""
    if not isinstance(values, list):
        values = [values]
    return np.array([np.nan if v is None else v for v in values], dtype=float)


DATASETS = ("lung", "veteran", "aml", "s1", "s2", "s3")
