"""Table 2: best responses and 3-year survival by regimen, overall and per risk subgroup.

Response rates are counted among the patients evaluable for that response, with a Wilson (by
default) confidence interval; each regimen is compared with the reference regimen in a 2x2 table,
and all regimens together in an r x 2 table, both under the plan's test policy. PFS and OS rows
come from the survival analysis (Kaplan–Meier rate at the landmark, log-rank p-values).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from poems_cohort import stats
from poems_cohort.study._common import (
    ALL,
    as_float,
    flag,
    in_subgroup,
    one,
    outcome_of,
    percent,
    regimen_codes,
)
from poems_cohort.study.names import EVERYONE, RESPONSE_ENDPOINTS
from poems_cohort.study.plan import AnalysisPlan
from poems_cohort.study.policy import TestOutcome, compare_counts

#: endpoint label, response column, evaluability column
RESPONSES: tuple[tuple[str, str, str], ...] = RESPONSE_ENDPOINTS

COLUMNS = ["endpoint", "subgroup", "regimen", "n", "N", "value", "ci_low", "ci_high", "p_value",
           "test"]


@dataclass(frozen=True, slots=True)
class Table2:
    """Table 2 at full precision: ``rows`` (see ``COLUMNS``) and the all-regimen ``tests``."""

    rows: pd.DataFrame
    tests: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """The rows of Table 2."""
        return self.rows.copy()

    def row(self, endpoint: str, *, subgroup: str = EVERYONE, regimen: str = ALL) -> pd.Series:
        """One row (n, N, value, its limits, the p-value against the reference and its test)."""
        return one(self.rows, "Table 2 row", endpoint=endpoint, subgroup=subgroup,
                   regimen=regimen)

    def test(self, endpoint: str, *, subgroup: str = EVERYONE) -> TestOutcome:
        """The test of a response across all regimens in ``subgroup``."""
        return outcome_of(one(self.tests, "Table 2 test", endpoint=endpoint, subgroup=subgroup))


def compute_table2(ds: pd.DataFrame, plan: AnalysisPlan, survival_rows: pd.DataFrame) -> Table2:
    """Table 2 from the analysis dataset and the survival analysis's ``by_regimen`` rows."""
    rows: list[dict[str, object]] = []
    tests: list[dict[str, object]] = []
    for endpoint, col, evaluable in RESPONSES:
        for sg in plan.subgroups:
            sub = in_subgroup(ds, sg)
            # regimen positions once per subgroup; the counts are masks of NumPy arrays
            codes = regimen_codes(sub["regimen"], plan.regimens)
            ev = flag(sub[evaluable]).to_numpy(dtype=bool)
            hit = flag(sub[col]).to_numpy(dtype=bool) & ev
            groups = [(ALL, np.ones(len(sub), dtype=bool))] + [
                (r, codes == i) for i, r in enumerate(plan.regimens)]
            counts = {name: (int((hit & m).sum()), int((ev & m).sum())) for name, m in groups}
            table = np.array([[n, big_n - n] for n, big_n in
                              (counts[r] for r in plan.regimens)])
            overall = compare_counts(table, plan.test_policy)
            tests.append({"endpoint": endpoint, "subgroup": sg.name, "test": overall.test,
                          "statistic": overall.statistic, "df": overall.df,
                          "p_value": overall.p_value})
            ref_n, ref_big = counts[plan.reference]
            for name, _ in groups:
                n, big_n = counts[name]
                if big_n:
                    ci = stats.proportion_ci(n, big_n, method=plan.proportion_ci,
                                             conf_level=plan.confidence_level)
                    est, lo, hi = as_float(ci.estimate), as_float(ci.lower), as_float(ci.upper)
                else:
                    est = lo = hi = math.nan
                p, test = math.nan, None
                if name not in (ALL, plan.reference):
                    vs = compare_counts([[n, big_n - n], [ref_n, ref_big - ref_n]],
                                        plan.test_policy)
                    p, test = vs.p_value, vs.test
                rows.append({"endpoint": endpoint, "subgroup": sg.name, "regimen": name,
                             "n": n, "N": big_n, "value": percent(est), "ci_low": percent(lo),
                             "ci_high": percent(hi), "p_value": p, "test": test})
    surv = survival_rows.rename(columns={"events": "n", "rate": "value"})
    rows += surv[COLUMNS].to_dict("records")
    return Table2(rows=pd.DataFrame(rows, columns=COLUMNS), tests=pd.DataFrame(tests))
