"""Table 1: baseline characteristics by regimen, with the p-value across regimens.

The rows are data: ``plan.table1`` (see :mod:`poems_cohort.study.table1_spec`; the default is the
published table with pulmonary hypertension). Every characteristic is counted with its own
denominator: patients whose value is missing are left out of that row's N (Castleman disease is
known only for the patients who had a biopsy) and counted in ``unknown``. Rows marked
``descriptive`` (the published text quotes patients with an ONLS of 0 and the share of lambda
light chains) are counted beside the table, without a test.

Continuous rows: median (IQR, R's default quantile type 7) and range, Kruskal–Wallis across the
regimens and Mann–Whitney (Wilcoxon rank-sum) of each regimen against the reference, as R's
``kruskal.test`` and ``wilcox.test`` (exact when both groups have fewer than 50 values and no ties,
else the normal approximation with continuity correction); optionally mean (SD) and one-way ANOVA
(R's ``oneway.test(var.equal = TRUE)``). scipy gives these tests; only R's choice between the exact
and the approximate Mann–Whitney p-value is made here.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.stats as ss

from poems_cohort.study._common import one, outcome_of, regimen_codes
from poems_cohort.study.names import ALL, EVERYONE
from poems_cohort.study.plan import AnalysisPlan
from poems_cohort.study.policy import TestOutcome, compare_counts, not_testable
from poems_cohort.study.table1_spec import Table1Row, slug

KRUSKAL = "Kruskal–Wallis"
MANN_WHITNEY = "Mann–Whitney"
ANOVA = "ANOVA"

DESCRIPTIVE_COLUMNS: tuple[str, ...] = ("key", "characteristic", "regimen", "n", "N", "percent")
ROW_COLUMNS: tuple[str, ...] = ("key", "characteristic", "section", "regimen", "n", "N",
                                "percent", "unknown", "p_value", "test")
CONTINUOUS_COLUMNS: tuple[str, ...] = (
    "key", "characteristic", "section", "regimen", "N", "unknown", "median", "q1", "q3", "min",
    "max", "mean", "sd", "p_value", "test", "p_vs_reference", "test_vs_reference", "anova_p")


@dataclass(frozen=True, slots=True)
class Table1:
    """Table 1 at full precision.

    ``rows``: one record per characteristic (or categorical level) and regimen (``"All"`` first):
    key, characteristic, section, regimen, n, N (known values), percent, unknown, p_value, test.
    ``continuous``: key, characteristic, section, regimen, N, unknown, median, q1, q3, min, max,
    mean, sd, p_value (Kruskal–Wallis), test, p_vs_reference (Mann–Whitney), test_vs_reference,
    anova_p (NaN unless the row asks for mean (SD)). ``tests``: one record per tested
    characteristic (and per categorical variable's r x c table). ``descriptive``: the counts of
    the descriptive rows (key, characteristic, regimen, n, N, percent).
    """

    rows: pd.DataFrame
    continuous: pd.DataFrame
    tests: pd.DataFrame
    descriptive: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(DESCRIPTIVE_COLUMNS)))

    def to_frame(self) -> pd.DataFrame:
        """The rows of Table 1."""
        return self.rows.copy()

    def row(self, key: str, *, regimen: str = ALL) -> pd.Series:
        """One count row (n, N, percent, unknown, p_value, test)."""
        return one(self.rows, "Table 1 row", key=key, regimen=regimen)

    def test(self, characteristic: str) -> TestOutcome:
        """The test across all regimens of a characteristic (its label)."""
        return outcome_of(one(self.tests, "Table 1 test", endpoint=characteristic,
                              subgroup=EVERYONE))


def _numbers(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_numeric(frame[column], errors="coerce").astype(float)


def indicator(frame: pd.DataFrame, spec: Table1Row) -> pd.Series:
    """Yes / no / missing (pandas ``boolean``) of a binary, above or below row."""
    if spec.kind in ("above", "below"):
        x = _numbers(frame, spec.column)
        assert spec.threshold is not None
        hit = x > spec.threshold if spec.kind == "above" else x < spec.threshold
        return pd.Series(hit, index=frame.index, dtype="boolean").mask(x.isna())
    if spec.level is None:
        return frame[spec.column].astype("boolean")
    if isinstance(spec.level, float):
        x = _numbers(frame, spec.column)
        return pd.Series(x == spec.level, index=frame.index, dtype="boolean").mask(x.isna())
    col = frame[spec.column]
    return pd.Series(col.astype(object) == spec.level, index=frame.index,
                     dtype="boolean").mask(col.isna())


def _with_absent_columns(baseline: pd.DataFrame, plan: AnalysisPlan) -> pd.DataFrame:
    """``baseline`` with each column of the plan's Table 1 that it lacks added as all missing
    (only those added: the frame is not copied)."""
    missing = [spec.column for spec in plan.table1 if spec.column not in baseline.columns]
    return baseline.assign(**dict.fromkeys(missing, pd.NA)) if missing else baseline


def table1_columns(baseline: pd.DataFrame, plan: AnalysisPlan,
                   have: Collection[str] = ()) -> pd.DataFrame:
    """Per patient (``baseline``'s rows, its ``patient_id`` first), the value each Table 1 row
    of ``plan`` counts, as ``t1_<key>``: 1 / 0 / missing for a binary, above or below row (a
    categorical of the integers 0 and 1: one byte a patient), the number for a continuous row,
    the value for a categorical row (left out when its column is among ``have``, the analysis
    dataset's own columns: the risk group). So Table 1, its unknowns included, can be
    recomputed from the analysis dataset alone. A column absent from ``baseline`` is all
    missing, as in :func:`compute_table1`."""
    frame = _with_absent_columns(baseline, plan)
    out: dict[str, pd.Series] = {"patient_id": frame["patient_id"]}
    for spec in plan.table1:
        name = f"t1_{spec.key}"
        if spec.kind == "continuous":
            out[name] = _numbers(frame, spec.column)
        elif spec.kind == "categorical":
            if spec.column not in have:
                out[name] = frame[spec.column]
        else:
            # 1 / 0 / missing in one byte a patient: the codes of the categories 0 and 1
            # (-1 missing), written 1, 0 and blank as an Int8 column would be
            hit = indicator(frame, spec)
            codes = hit.to_numpy(dtype=np.int8, na_value=-1)
            out[name] = pd.Series(pd.Categorical.from_codes(codes, categories=_ZERO_ONE),
                                  index=frame.index)
    return pd.DataFrame(out, index=frame.index)


#: the categories of a ``t1_*`` yes/no column
_ZERO_ONE = pd.Index([0, 1], dtype=np.int8)


def levels_of(frame: pd.DataFrame, spec: Table1Row) -> tuple[str, ...]:
    """The levels of a categorical row: the plan's, or those found (sorted)."""
    if spec.levels:
        return spec.levels
    return tuple(sorted({str(v) for v in frame[spec.column].dropna().unique()}))


def mann_whitney(x: np.ndarray, y: np.ndarray) -> TestOutcome:
    """Two-sided Wilcoxon rank-sum test as R's ``wilcox.test`` (statistic W of ``x``)."""
    if x.size == 0 or y.size == 0:
        return not_testable()
    pooled = np.concatenate([x, y])
    exact = x.size < 50 and y.size < 50 and np.unique(pooled).size == pooled.size
    res = ss.mannwhitneyu(x, y, alternative="two-sided", use_continuity=True,
                          method="exact" if exact else "asymptotic")
    p = float(res.pvalue)
    if not math.isfinite(p):
        return not_testable()
    return TestOutcome(MANN_WHITNEY, float(res.statistic), math.nan, p)


def kruskal_wallis(groups: list[np.ndarray]) -> TestOutcome:
    """The Kruskal–Wallis test (tie-corrected, as R's ``kruskal.test``) across the non-empty
    groups."""
    present = [g for g in groups if g.size]
    if len(present) < 2 or np.unique(np.concatenate(present)).size < 2:
        return not_testable()
    res = ss.kruskal(*present)
    return TestOutcome(KRUSKAL, float(res.statistic), float(len(present) - 1), float(res.pvalue))


def anova(groups: list[np.ndarray]) -> TestOutcome:
    """One-way ANOVA (equal variances, R's ``oneway.test(var.equal = TRUE)``) across the
    non-empty groups; not testable when a group holds a single value (R stops there)."""
    present = [g for g in groups if g.size]
    if len(present) < 2 or any(g.size < 2 for g in present):
        return not_testable()
    res = ss.f_oneway(*present)
    if not math.isfinite(float(res.pvalue)):
        return not_testable()
    return TestOutcome(ANOVA, float(res.statistic), float(len(present) - 1), float(res.pvalue))


def _test_record(label: str, outcome: TestOutcome) -> dict[str, object]:
    return {"endpoint": label, "subgroup": EVERYONE, "test": outcome.test,
            "statistic": outcome.statistic, "df": outcome.df, "p_value": outcome.p_value}


def compute_table1(baseline: pd.DataFrame, plan: AnalysisPlan) -> Table1:
    """Table 1 from the baseline frame (one row per included patient) and ``plan.table1``.

    A column absent from ``baseline`` counts as all missing.
    """
    frame = _with_absent_columns(baseline, plan)
    # regimen positions computed once (-1: another regimen); every count below is a boolean
    # mask of NumPy arrays, never a comparison of the text column per row and regimen
    codes = regimen_codes(frame["regimen"], plan.regimens)
    members = [codes == i for i in range(len(plan.regimens))]
    groups = [(ALL, np.ones(len(frame), dtype=bool))] + list(zip(plan.regimens, members,
                                                                 strict=True))
    rows: list[dict[str, object]] = []
    tests: list[dict[str, object]] = []
    cont: list[dict[str, object]] = []
    described: list[dict[str, object]] = []

    def count_rows(key: str, label: str, section: str, yes_no: pd.Series, tested: bool
                   ) -> None:
        known = yes_no.notna().to_numpy(dtype=bool)
        yes = yes_no.fillna(False).astype(bool).to_numpy(dtype=bool)
        outcome = not_testable()
        if tested:
            table = np.array([[int((yes & m).sum()), int((known & ~yes & m).sum())]
                              for m in members])
            outcome = compare_counts(table, plan.test_policy)
        for name, member in groups:
            n = int((yes & member).sum())
            big_n = int((known & member).sum())
            rec = {"key": key, "characteristic": label, "regimen": name, "n": n, "N": big_n,
                   "percent": 100.0 * n / big_n if big_n else math.nan}
            if tested:
                rows.append({**rec, "section": section,
                             "unknown": int((~known & member).sum()),
                             "p_value": outcome.p_value, "test": outcome.test})
            else:
                described.append(rec)
        if tested:
            tests.append(_test_record(label, outcome))

    for spec in plan.table1:
        if spec.kind == "continuous":
            cont += _continuous(frame, spec, groups, members, plan, tests)
        elif spec.kind == "categorical":
            values = frame[spec.column].astype(object)
            # each distinct value's text once (factorize), then spread to the rows
            value_codes, uniques = pd.factorize(values, use_na_sentinel=True)
            texts = np.array([str(v) for v in uniques] + [None], dtype=object)
            known = value_codes >= 0
            levels = levels_of(frame, spec)
            for i, level in enumerate(levels):
                is_level = (texts == level)[value_codes]
                hit = pd.Series(is_level, index=frame.index, dtype="boolean").mask(~known)
                count_rows(f"{spec.key}_{_level_key(level)}", spec.level_label(i, level),
                           spec.section, hit, not spec.descriptive)
            if not spec.descriptive:
                table = np.array([[int(((texts == lv)[value_codes] & known & m).sum())
                                   for lv in levels] for m in members])
                tests.append(_test_record(spec.label, compare_counts(table, plan.test_policy)))
        else:
            count_rows(spec.key, spec.label, spec.section, indicator(frame, spec),
                       not spec.descriptive)
    return Table1(rows=pd.DataFrame(rows, columns=list(ROW_COLUMNS)),
                  continuous=pd.DataFrame(cont, columns=list(CONTINUOUS_COLUMNS)),
                  tests=pd.DataFrame(tests, columns=["endpoint", "subgroup", "test",
                                                     "statistic", "df", "p_value"]),
                  descriptive=pd.DataFrame(described, columns=list(DESCRIPTIVE_COLUMNS)))


def _level_key(level: str) -> str:
    return slug(level)


def _continuous(frame: pd.DataFrame, spec: Table1Row, groups: list[tuple[str, np.ndarray]],
                members: list[np.ndarray], plan: AnalysisPlan, tests: list[dict[str, object]]
                ) -> list[dict[str, object]]:
    x = _numbers(frame, spec.column)
    values = {r: x[m].dropna().to_numpy() for r, m in zip(plan.regimens, members, strict=True)}
    kw = kruskal_wallis(list(values.values()))
    if not spec.descriptive:
        tests.append(_test_record(spec.label, kw))
    aov = anova(list(values.values())) if spec.mean_sd else not_testable()
    if spec.mean_sd and not spec.descriptive:
        tests.append(_test_record(f"{spec.label} (mean)", aov))
    out: list[dict[str, object]] = []
    for name, member in groups:
        v = x[member].dropna().to_numpy()
        vs = (mann_whitney(values[name], values[plan.reference])
              if name not in (ALL, plan.reference) else None)
        q1, q3 = (np.quantile(v, [0.25, 0.75]) if v.size else (math.nan, math.nan))
        out.append({
            "key": spec.key, "characteristic": spec.label, "section": spec.section,
            "regimen": name, "N": int(v.size), "unknown": int((x[member].isna()).sum()),
            "median": float(np.median(v)) if v.size else math.nan,
            "q1": float(q1), "q3": float(q3),
            "min": float(v.min()) if v.size else math.nan,
            "max": float(v.max()) if v.size else math.nan,
            "mean": float(v.mean()) if spec.mean_sd and v.size else math.nan,
            "sd": float(v.std(ddof=1)) if spec.mean_sd and v.size > 1 else math.nan,
            "p_value": kw.p_value, "test": kw.test,
            "p_vs_reference": vs.p_value if vs else math.nan,
            "test_vs_reference": vs.test if vs else None,
            "anova_p": aov.p_value})
    return out
