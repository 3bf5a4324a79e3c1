"""``StudyResults``: every number of the study at full precision, and its JSON structure."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from poems_cohort.study._common import one, outcome_of
from poems_cohort.study.comparative_results import Comparative
from poems_cohort.study.kinetics import Kinetics
from poems_cohort.study.names import BY_REGIMEN, EVERYONE, SURVIVAL, TABLE1, TABLE2
from poems_cohort.study.plan import AnalysisPlan
from poems_cohort.study.policy import TestOutcome
from poems_cohort.study.survival import Survival
from poems_cohort.study.table1 import Table1
from poems_cohort.study.table2 import Table2


@dataclass(frozen=True, slots=True)
class StudyResults:
    """The study, computed once. Frames hold full-precision numbers; nothing here is rounded.

    ``analysis_dataset`` is the only patient-level content (it carries patient ids); it is not
    part of ``to_dict()``.
    """

    plan: AnalysisPlan
    flow: pd.DataFrame
    table1: Table1
    table2: Table2
    kinetics: Kinetics
    survival: Survival
    versions: dict[str, str]
    analysis_dataset: pd.DataFrame
    comparative: Comparative | None = None

    def __repr__(self) -> str:
        n = len(self.analysis_dataset)
        return (f"StudyResults({n} patients, regimens {list(self.plan.regimens)}, "
                f"{len(self.table1.rows)} Table 1 rows, {len(self.table2.rows)} Table 2 rows)")

    def test(self, source: str, endpoint: str, *, subgroup: str = EVERYONE,
             by: str = BY_REGIMEN) -> TestOutcome:
        """One test across all regimens: ``source`` is ``"table1"`` (``endpoint`` a Table 1
        label), ``"table2"`` (a response) or ``"survival"`` (PFS/OS, ``by`` regimen or CRV)."""
        if source == SURVIVAL:
            return self.survival.test(endpoint, by=by, subgroup=subgroup)
        if source == TABLE2:
            return self.table2.test(endpoint, subgroup=subgroup)
        if source == TABLE1:
            return outcome_of(one(self.table1.tests, "Table 1 test", endpoint=endpoint,
                                  subgroup=subgroup))
        raise KeyError(f"no test source {source!r}; one of {[TABLE1, TABLE2, SURVIVAL]}")

    def tests(self) -> pd.DataFrame:
        """Every all-regimen test (Table 1, Table 2 responses, survival) with its source."""
        parts = [self.table1.tests.assign(source=TABLE1),
                 self.table2.tests.assign(source=TABLE2),
                 self.survival.tests.assign(source=SURVIVAL)]
        cols = ["source", "endpoint", "subgroup", "test", "statistic", "df", "p_value"]
        return pd.concat(parts, ignore_index=True)[cols]

    def to_frame(self) -> pd.DataFrame:
        """Table 2, the main result, as one frame."""
        return self.table2.to_frame()

    def to_dict(self) -> dict[str, Any]:
        """The ``results.json`` structure (documented in ``docs/study.md``); NaN becomes None."""
        k, s = self.kinetics, self.survival
        extra = self.comparative.to_dict() if self.comparative is not None else {}
        return {
            **extra,
            "plan": self.plan.to_dict(),
            "versions": dict(self.versions),
            "flow": records(self.flow),
            "table1": records(self.table1.rows),
            "table1_continuous": records(self.table1.continuous),
            "table1_descriptive": records(self.table1.descriptive),
            "table2": records(self.table2.rows),
            "tests": records(self.tests()),
            "kinetics": {"medians": records(k.medians), "cumulative": records(k.cumulative)},
            "survival": records(s.by_regimen),
            "events": records(s.events),
            "followup": records(s.followup),
            "curves": records(pd.concat([k.curves, s.curves], ignore_index=True)),
            "at_risk": records(pd.concat([k.at_risk, s.at_risk], ignore_index=True)),
        }


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain-Python records: numpy scalars unwrapped, NaN/NA as None, an infinite value
    as ``"Inf"``/``"-Inf"``.

    Converted column by column (:func:`plain_column`), then zipped into rows: the same records
    as :func:`plain` applied to every value of ``frame.to_dict("records")``."""
    if frame.columns.has_duplicates:
        return [{str(k): plain(v) for k, v in row.items()} for row in frame.to_dict("records")]
    keys = [str(c) for c in frame.columns]
    columns = [plain_column(frame[c]) for c in frame.columns]
    return [dict(zip(keys, row, strict=True)) for row in zip(*columns, strict=True)]


def plain_column(values: pd.Series) -> list[Any]:
    """:func:`plain` of every value of a column, computed per column: numbers through NumPy,
    other values once per distinct value."""
    kind = values.dtype.kind
    if kind in "iub" and isinstance(values.dtype, np.dtype):
        return values.to_numpy().tolist()
    if kind == "f" and isinstance(values.dtype, np.dtype):
        x = values.to_numpy()
        out: list[Any] = x.tolist()
        for i in np.flatnonzero(~np.isfinite(x)).tolist():
            out[i] = _not_finite(out[i])
        return out
    if pd.api.types.infer_dtype(values, skipna=True) in FACTORIZED:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        lookup = [plain(v) for v in uniques.tolist()] + [None]
        return [lookup[c] for c in codes.tolist()]
    return [plain(v) for v in values.tolist()]


#: Kinds of column (``pandas.api.types.infer_dtype``) converted once per distinct value: those
#: whose equal values print alike (not floats: 0.0 and -0.0 are equal; not mixed objects:
#: 1, 1.0 and True are equal).
FACTORIZED = ("string", "empty", "integer", "boolean", "datetime64", "datetime", "date")


def _not_finite(f: float) -> str | None:
    """JSON has no infinity: an infinite value (an odds ratio or upper limit of a table with a
    zero cell, as R's ``fisher.test`` gives) is the string ``"Inf"`` or ``"-Inf"``, which R's
    jsonlite reads back as a number; NaN is ``null`` (missing)."""
    return None if math.isnan(f) else ("Inf" if f > 0 else "-Inf")


def plain(v: Any) -> Any:
    """A JSON-ready Python value."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, np.bool_ | bool):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, float | np.floating):
        f = float(v)
        return f if math.isfinite(f) else _not_finite(f)
    if isinstance(v, pd.Timestamp):
        return v.date().isoformat()
    return v
