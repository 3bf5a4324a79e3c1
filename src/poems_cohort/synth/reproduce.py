"""The reproduction audit: every published number beside the value the study computes.

:func:`reproduce_study` takes the results of the study (:class:`~poems_cohort.study.StudyResults`)
and the published numbers (:func:`~poems_cohort.synth.published.load_published`) and gives one
:class:`ReproducedNumber` per published number with a status:

``exact``
    ours prints as the published value at its printed precision (half rounds up, as SPSS prints);
    a p-value printed ``0.000`` is matched by p < 0.0005 and one printed ``< 0.001`` by p < 0.001.
``close``
    within the tolerance of :data:`TOLERANCES` (documented in ``docs/reproduction.md``).
``inconsistent-in-paper``
    not exact, and the record proves the printed value impossible by itself (an ``impossible``
    conflict blaming it, :meth:`~poems_cohort.synth.published.Conflict.blames`), even when ours is
    within the tolerance of ``close``; or neither exact nor close, and the paper itself shows that
    the printed value cannot be true together with others: a member of an ``impossible`` or
    ``misplaced`` conflict of the published record (when the conflict states the intended value,
    only its first id, or a member whose partners we all reproduce exactly), or a
    ``disagreeing-repeat`` whose other printing we reproduce exactly.
``missed``
    none of the above, or a number the study does not compute (the note says which).
``not-a-result``
    a number that is no result of this cohort: another study's result (``scope = "cited"``) or a
    parameter of the methods (``scope = "definition"``).

A statement of significance (kind ``"significance"``: the paper says in words that a difference
is or is not significant) is ``exact`` when our p lies on the stated side of 0.05 and, when the
statement says which group does better, ours does; ``inconsistent-in-paper`` when not and the
paper's own numbers contradict the statement (a printed p of the same comparison on the other
side of 0.05, or a recorded conflict); ``missed`` otherwise. It is never ``close``.

The value behind each published number is found by a small extractor chosen from a table keyed by
the number's ``(kind, quantity)``; regimen, subgroup and comparison are read from the number.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from typing import Literal

import pandas as pd

from poems_cohort.study.names import BY_CRV as BY_CRV_STATUS
from poems_cohort.study.names import endpoint_label
from poems_cohort.study.results import StudyResults
from poems_cohort.synth.published import (
    SIGNIFICANCE as SIGNIFICANCE_KIND,
)
from poems_cohort.synth.published import (
    Conflict,
    PublishedNumber,
    PublishedStudy,
    comparison_groups,
    load_published,
    parse_direction,
)

EXACT = "exact"
CLOSE = "close"
INCONSISTENT = "inconsistent-in-paper"
MISSED = "missed"
NOT_A_RESULT = "not-a-result"
STATUSES: tuple[str, ...] = (EXACT, CLOSE, INCONSISTENT, MISSED, NOT_A_RESULT)

#: columns of ``reproduction.csv`` and of :meth:`Reproduction.to_frame`
COLUMNS: tuple[str, ...] = ("id", "location", "published", "reproduced", "reproduced_rounded",
                            "precision", "status", "note")

#: conflicts of the published record that prove a printed value cannot be true
PROVEN_CONFLICTS: tuple[str, ...] = ("impossible", "misplaced")
#: conflicts where one of the printings is wrong, which one decided by what we reproduce
REPEAT_CONFLICTS: tuple[str, ...] = ("disagreeing-repeat",)

SIGNIFICANCE = 0.05


# --------------------------------------------------------------------------------------------
# Rounding as printed


def round_printed(x: float, decimals: int) -> str:
    """``x`` printed with ``decimals`` decimals, half rounding up (away from zero), as SPSS does.

    The shortest decimal form of the float is rounded, so ``0.6125`` prints ``0.613`` even though
    the nearest double is a hair below it.
    """
    q = Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return f"{q:f}"


def prints_as(number: PublishedNumber, x: float) -> bool:
    """Whether a reproduced ``x`` prints as ``number`` (``< v``: x below v)."""
    if number.value is None or number.decimals is None or not math.isfinite(x):
        return False
    if number.relation == "<":
        return x < number.value
    return Decimal(round_printed(x, number.decimals)) == Decimal(number.printed.strip())


def rounded_text(number: PublishedNumber, x: float) -> str:
    """``x`` at the number's printed precision (``"< 0.001"`` when below a printed bound; the side
    of 0.05, ``"p < 0.05"`` or ``"p >= 0.05"``, for a statement of significance)."""
    if number.kind == SIGNIFICANCE_KIND and math.isfinite(x):
        return "p < 0.05" if x < SIGNIFICANCE else "p >= 0.05"
    if number.decimals is None or not math.isfinite(x):
        return ""
    if number.relation == "<" and number.value is not None and x < number.value:
        return f"< {number.printed.lstrip('<').strip()}"
    return round_printed(x, number.decimals)


# --------------------------------------------------------------------------------------------
# Tolerances of the status "close"


@dataclass(frozen=True, slots=True)
class Found:
    """The value the study computed for a published number, and where it comes from.

    ``denominator`` is the number of patients behind a percentage (for the one-patient tolerance),
    ``test`` the test that gave a p-value, ``groups`` the value of each compared group (rate,
    percent or 3-year survival) behind a statement of significance, for its direction.
    """

    value: float
    detail: str = ""
    denominator: int | None = None
    test: str | None = None
    groups: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Tolerance:
    """When a value that is not exact still counts as ``close``.

    - ``absolute``: ``|ours - published| <= amount``
    - ``relative``: ``|ours - published| <= amount * published``
    - ``one-patient``: a percentage within ``100 / N`` of the published one (one patient more or
      fewer in our denominator ``N``), and never more than ``amount`` points
    - ``same-side``: a p-value on the same side of 0.05 as the published one and, when ``amount``
      is positive, within ``amount`` of it
    - ``none``: only an exact value will do
    """

    rule: Literal["absolute", "relative", "one-patient", "same-side", "none"]
    amount: float = 0.0
    text: str = ""

    def admits(self, number: PublishedNumber, found: Found) -> bool:
        """Whether ``found`` is within this tolerance of ``number``."""
        if number.value is None or not math.isfinite(found.value):
            return False
        gap = abs(found.value - number.value)
        if self.rule == "absolute":
            return gap <= self.amount + 1e-9
        if self.rule == "relative":
            return gap <= self.amount * abs(number.value) + 1e-9
        if self.rule == "one-patient":
            if not found.denominator:
                return False
            return gap <= min(100.0 / found.denominator, self.amount) + 1e-9
        if self.rule == "same-side":
            same = (found.value < SIGNIFICANCE) == (number.value < SIGNIFICANCE)
            return same and (self.amount <= 0 or gap <= self.amount + 1e-9)
        return False


NO_TOLERANCE = Tolerance("none", text="exact only")

#: ``(kind, quantity)`` → tolerance; ``(kind, None)`` applies to every quantity of that kind.
TOLERANCES: dict[tuple[str, str | None], Tolerance] = {
    ("3y-rate", None): Tolerance("absolute", 1.0, "within 1 percentage point"),
    ("6m-rate", None): Tolerance("absolute", 2.0, "within 2 percentage points"),
    ("12m-rate", None): Tolerance("absolute", 2.0, "within 2 percentage points"),
    ("months", "followup_median"): Tolerance("absolute", 1.0, "within 1 month"),
    ("months", "time_to_crh_median"): Tolerance("absolute", 2.0, "within 2 months"),
    ("months", "time_to_crv_median"): Tolerance("absolute", 2.0, "within 2 months"),
    **{("range", f"time_to_{r}_{end}"): Tolerance("absolute", 1.0, "within 1 month")
       for r in ("crh", "crv") for end in ("min", "max")},
    ("percent", None): Tolerance("one-patient", 1.0,
                                 "within one patient (100/N points), at most 1 point"),
    ("p-value", "pfs"): Tolerance("same-side", text="log-rank: same side of 0.05"),
    ("p-value", "os"): Tolerance("same-side", text="log-rank: same side of 0.05"),
    ("p-value", None): Tolerance("same-side", 0.01,
                                 text="same side of 0.05 and within 0.01"),
    ("person-years", None): Tolerance("relative", 0.01, "within 1%"),
}


def tolerance_for(number: PublishedNumber) -> Tolerance:
    """The tolerance of ``close`` for ``number`` (``NO_TOLERANCE`` for counts, medians, …)."""
    return (TOLERANCES.get((number.kind, number.quantity))
            or TOLERANCES.get((number.kind, None))
            or NO_TOLERANCE)


# --------------------------------------------------------------------------------------------
# Extractors: from the study results to the value behind one published number


def _row(frame: pd.DataFrame, what: str, **where: object) -> pd.Series:
    sel = frame
    for column, value in where.items():
        if column not in sel.columns:
            raise LookupError(f"{what}: no column {column!r}")
        sel = sel[sel[column] == value]
    if len(sel) != 1:
        shown = ", ".join(f"{k}={v}" for k, v in where.items())
        raise LookupError(f"{what} has {'no' if sel.empty else len(sel)} row(s) for {shown}")
    return sel.iloc[0]


def _float(x: object) -> float:
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return v


Extractor = Callable[[StudyResults, PublishedNumber], Found]

#: published Table 1 quantity → Table 1 row key of the study, where they differ
TABLE1_KEYS: dict[str, str] = {
    "hypoalbuminemia": "albumin_lt_30",
    "renal_dysfunction": "egfr_lt_30",
    "urine_protein_gt_1g": "urine_protein_gt_1",
}
#: published quantities of the Table 1 rows
TABLE1_QUANTITIES: tuple[str, ...] = (
    "age_gt_50", "male", "onls_gt_4", "hepatomegaly", "splenomegaly", "lymphadenopathy",
    "iga_heavy_chain", "spe_gt_5", "bmpc_gt_10", "angioma", "peripheral_edema", "ascites",
    "pleural_effusion", "castleman", "papilledema", "osteosclerosis", "hypoalbuminemia",
    "renal_dysfunction", "urine_protein_gt_1g", "vegf_gt_4000", "risk_low", "risk_medium",
    "risk_high",
)
#: published quantity → Table 2 endpoint label
RESPONSES: dict[str, str] = {"crh": "CRH", "crv": "CRV", "crh_crv": "CRH/CRV", "rn": "RN"}
SURVIVAL: dict[str, str] = {"pfs": "PFS", "os": "OS"}
#: quantity → column of the events frame
EVENT_COUNTS: dict[str, str] = {
    "deaths": "deaths",
    "treatment_related_deaths": "treatment_related_deaths",
    "progressed_alive": "progressions_alive",
    "secondary_malignancy_count": "secondary_malignancies",
}
#: quantity → (continuous characteristic of Table 1, statistic)
CONTINUOUS: dict[str, tuple[str, str]] = {
    "age_median": ("Age, years", "median"),
    "age_min": ("Age, years", "min"),
    "age_max": ("Age, years", "max"),
    "onls_median": ("ONLS score", "median"),
}

_VERSUS = re.compile(r"^(?P<other>\w+) vs (?P<ref>\w+)$")


def _table1_key(quantity: str) -> str:
    return TABLE1_KEYS.get(quantity, quantity)


def _table1_cell(res: StudyResults, number: PublishedNumber, *, key: str, column: str) -> Found:
    row = _row(res.table1.rows, "Table 1", key=key, regimen=number.regimen)
    n, big_n = int(row["n"]), int(row["N"])
    value = {"percent": _float(row["percent"]), "n": float(n), "N": float(big_n)}[column]
    return Found(value, f"{n}/{big_n}", denominator=big_n)


def _table1_p(res: StudyResults, number: PublishedNumber, *, key: str) -> Found:
    row = _row(res.table1.rows, "Table 1", key=key, regimen="All")
    return Found(_float(row["p_value"]), str(row["test"]), test=str(row["test"]))


def _descriptive(res: StudyResults, number: PublishedNumber, *, key: str, column: str) -> Found:
    """A count described beside Table 1 (``res.table1.descriptive``)."""
    row = _row(res.table1.descriptive, "Table 1 (descriptive)", key=key,
               regimen=number.regimen)
    n, big_n = int(row["n"]), int(row["N"])
    value = float(n) if column == "n" else _float(row["percent"])
    return Found(value, f"{n}/{big_n} patients with a known value", denominator=big_n)


def _response_rate(res: StudyResults, number: PublishedNumber, *, endpoint: str) -> Found:
    row = _row(res.table2.rows, "Table 2", endpoint=endpoint, subgroup=number.subgroup,
               regimen=number.regimen)
    n, big_n = int(row["n"]), int(row["N"])
    return Found(_float(row["value"]), f"{n}/{big_n}", denominator=big_n)


def _comparison_p(res: StudyResults, number: PublishedNumber, *, endpoint: str,
                  pairwise: pd.DataFrame, overall: pd.DataFrame, what: str) -> Found:
    """A p-value of a regimen against the reference, or of all regimens together."""
    comparison = number.comparison or ""
    m = _VERSUS.match(comparison)
    if m and m.group("ref") == res.plan.reference:
        row = _row(pairwise, what, endpoint=endpoint, subgroup=number.subgroup,
                   regimen=m.group("other"))
    elif comparison == " vs ".join(res.plan.regimens) or set(comparison.split(" vs ")) == set(
            res.plan.regimens):
        row = _row(overall, f"{what} tests", endpoint=endpoint, subgroup=number.subgroup)
    else:
        raise LookupError(f"the study computes no p-value for the comparison {comparison!r}")
    test = str(row["test"])
    return Found(_float(row["p_value"]), test, test=test)


def _response_p(res: StudyResults, number: PublishedNumber, *, endpoint: str) -> Found:
    return _comparison_p(res, number, endpoint=endpoint, pairwise=res.table2.rows,
                         overall=res.table2.tests, what="Table 2")


def _survival_p(res: StudyResults, number: PublishedNumber, *, endpoint: str) -> Found:
    return _comparison_p(res, number, endpoint=endpoint, pairwise=res.survival.by_regimen,
                         overall=res.survival.tests, what="survival")


def _survival_rate(res: StudyResults, number: PublishedNumber, *, endpoint: str) -> Found:
    row = _row(res.survival.by_regimen, "survival", endpoint=endpoint,
               subgroup=number.subgroup, regimen=number.regimen)
    return Found(_float(row["rate"]), f"Kaplan-Meier, {int(row['N'])} patients, "
                 f"{int(row['events'])} events")


def _cumulative(res: StudyResults, number: PublishedNumber, *, response: str, month: float
                ) -> Found:
    row = _row(res.kinetics.cumulative, "response kinetics", response=response,
               regimen=number.regimen, month=month)
    return Found(_float(row["rate"]), "1 - Kaplan-Meier of the time to response")


def _kinetics(res: StudyResults, number: PublishedNumber, *, response: str, column: str
              ) -> Found:
    row = _row(res.kinetics.medians, "response kinetics", response=response,
               regimen=number.regimen)
    return Found(_float(row[column]), f"{column} among {int(row['responders'])} responders")


def _continuous(res: StudyResults, number: PublishedNumber, *, characteristic: str,
                column: str) -> Found:
    row = _row(res.table1.continuous, "Table 1 (continuous)", characteristic=characteristic,
               regimen=number.regimen)
    return Found(_float(row[column]), f"{column} of {int(row['N'])} patients")


def _patients(res: StudyResults, number: PublishedNumber) -> Found:
    if number.subgroup == "all":
        row = _row(res.survival.events, "events", regimen=number.regimen)
        return Found(float(row["patients"]), "included patients")
    row = _row(res.survival.by_regimen, "survival", endpoint="PFS", subgroup=number.subgroup,
               regimen="All" if number.regimen == "All" else number.regimen)
    return Found(float(row["N"]), f"patients in the {number.subgroup} subgroup")


def _event_count(res: StudyResults, number: PublishedNumber, *, column: str) -> Found:
    row = _row(res.survival.events, "events", regimen=number.regimen)
    return Found(float(row[column]), f"of {int(row['patients'])} patients")


def _event_share(res: StudyResults, number: PublishedNumber, *, column: str) -> Found:
    row = _row(res.survival.events, "events", regimen=number.regimen)
    n, big_n = int(row[column]), int(row["patients"])
    return Found(100.0 * n / big_n if big_n else math.nan, f"{n}/{big_n}", denominator=big_n)


def _followup_median(res: StudyResults, number: PublishedNumber) -> Found:
    row = _row(res.survival.followup, "follow-up", regimen=number.regimen)
    return Found(_float(row["median"]),
                 f"median observed follow-up; reverse Kaplan-Meier {_float(row['reverse_km']):.1f}")


def _person_years(res: StudyResults, number: PublishedNumber) -> Found:
    row = _row(res.survival.events, "events", regimen=number.regimen)
    return Found(_float(row["person_years"]), "sum of follow-up / 12")


#: the comparison of CRV responders with non-responders (PFS and OS by CRV, Supplement Fig. 1)
BY_CRV = "CRV vs No CRV"


def _significance(res: StudyResults, number: PublishedNumber) -> Found:
    """Our p-value behind a statement of significance, with the compared groups' values."""
    if number.comparison == BY_CRV:
        return _by_crv(res, number)
    extractor = EXTRACTORS.get(("p-value", number.quantity))
    if extractor is None:
        raise LookupError(f"the study computes no p-value for {number.quantity!r}")
    found = extractor(res, replace(number, kind="p-value"))
    try:
        groups = _group_values(res, number)
    except LookupError:
        groups = ()  # a stated direction is then reported as unchecked
    return replace(found, groups=groups)


def _group_values(res: StudyResults, number: PublishedNumber) -> tuple[tuple[str, float], ...]:
    """Each compared group's rate (Table 2), 3-year survival or Table 1 percent."""
    groups = comparison_groups(number.comparison or "")
    q = number.quantity
    if q in RESPONSES:
        rows = res.table2.rows
        sel = rows[(rows["endpoint"] == RESPONSES[q]) & (rows["subgroup"] == number.subgroup)]
        return tuple((g, _float(_row(sel, "Table 2", regimen=g)["value"])) for g in groups)
    if q in SURVIVAL:
        return tuple((g, _float(_row(res.survival.by_regimen, "survival", endpoint=SURVIVAL[q],
                                     subgroup=number.subgroup, regimen=g)["rate"]))
                     for g in groups)
    if q in TABLE1_QUANTITIES:
        return tuple((g, _float(_row(res.table1.rows, "Table 1", key=_table1_key(q),
                                     regimen=g)["percent"]))
                     for g in groups)
    raise LookupError(f"the study has no group values for {q!r}")


def _by_crv(res: StudyResults, number: PublishedNumber) -> Found:
    """PFS or OS of CRV responders against non-responders: the log-rank p and the landmark
    survival of both groups (from the curves)."""
    endpoint = SURVIVAL.get(number.quantity)
    if endpoint is None:
        raise LookupError(f"the study compares only PFS and OS by CRV, not {number.quantity!r}")
    row = _row(res.survival.tests, "survival tests",
               endpoint=endpoint_label(endpoint, BY_CRV_STATUS),
               subgroup=number.subgroup)
    curves = res.survival.curves
    groups: list[tuple[str, float]] = []
    if not curves.empty:
        landmark = res.plan.survival_landmark_months
        for g in comparison_groups(BY_CRV):
            steps = curves[(curves["endpoint"] == endpoint) & (curves["by"] == BY_CRV_STATUS)
                           & (curves["subgroup"] == number.subgroup) & (curves["group"] == g)
                           & (curves["time"] <= landmark)]
            value = float(steps.sort_values("time")["value"].iloc[-1]) if len(steps) else 1.0
            groups.append((g, 100.0 * value))
    test = str(row["test"])
    return Found(_float(row["p_value"]), test, test=test, groups=tuple(groups))


def _build_extractors() -> dict[tuple[str, str], Extractor]:
    reg: dict[tuple[str, str], Extractor] = {}
    for q in TABLE1_QUANTITIES:
        key = _table1_key(q)
        reg["percent", q] = partial(_table1_cell, key=key, column="percent")
        reg["p-value", q] = partial(_table1_p, key=key)
    for g in ("low", "medium", "high"):
        reg["count", f"risk_{g}_count"] = partial(_table1_cell, key=f"risk_{g}", column="n")
    reg["count", "onls_zero"] = partial(_descriptive, key="onls_zero", column="n")
    reg["percent", "lambda_light_chain"] = partial(_descriptive, key="lambda_light_chain",
                                                   column="percent")
    reg["count", "castleman_count"] = partial(_table1_cell, key="castleman", column="n")
    reg["count", "castleman_biopsied"] = partial(_table1_cell, key="castleman", column="N")
    for q, label in RESPONSES.items():
        reg["percent", q] = partial(_response_rate, endpoint=label)
        reg["p-value", q] = partial(_response_p, endpoint=label)
    for q, label in SURVIVAL.items():
        reg["3y-rate", f"{q}3y"] = partial(_survival_rate, endpoint=label)
        reg["p-value", q] = partial(_survival_p, endpoint=label)
    for q in ("crh", "crv"):
        label = RESPONSES[q]
        for month in (6, 12):
            reg[f"{month}m-rate", f"{q}_{month}m"] = partial(_cumulative, response=label,
                                                             month=float(month))
        reg["months", f"time_to_{q}_median"] = partial(_kinetics, response=label,
                                                       column="median")
        for end in ("min", "max"):
            reg["range", f"time_to_{q}_{end}"] = partial(_kinetics, response=label, column=end)
    for q, (characteristic, column) in CONTINUOUS.items():
        kind = "median" if column == "median" else "range"
        reg[kind, q] = partial(_continuous, characteristic=characteristic, column=column)
    for q, column in EVENT_COUNTS.items():
        reg["count", q] = partial(_event_count, column=column)
    reg["percent", "treatment_related_mortality"] = partial(
        _event_share, column="treatment_related_deaths")
    reg["percent", "secondary_malignancy"] = partial(_event_share,
                                                     column="secondary_malignancies")
    reg["count", "patients"] = _patients
    reg["months", "followup_median"] = _followup_median
    reg["person-years", "followup_total"] = _person_years
    for q in (*TABLE1_QUANTITIES, *RESPONSES, *SURVIVAL):
        reg[SIGNIFICANCE_KIND, q] = _significance
    return reg


#: ``(kind, quantity)`` of a published number → the extractor of our value
EXTRACTORS: dict[tuple[str, str], Extractor] = _build_extractors()


def extract(results: StudyResults, number: PublishedNumber) -> Found:
    """Our value behind ``number``; ``LookupError`` (with the reason) when the study has none."""
    extractor = EXTRACTORS.get((number.kind, number.quantity))
    if extractor is None:
        raise LookupError(f"the study does not compute this number ({number.kind}, "
                          f"{number.quantity})")
    return extractor(results, number)


# --------------------------------------------------------------------------------------------
# Status


@dataclass(frozen=True, slots=True)
class ReproducedNumber:
    """One published number beside ours: a row of ``reproduction.csv``."""

    id: str
    location: str
    published: str
    reproduced: float
    reproduced_rounded: str
    precision: int | None
    status: str
    note: str

    def __repr__(self) -> str:
        return (f"ReproducedNumber({self.id}: published {self.published}, "
                f"ours {self.reproduced_rounded or 'none'}, {self.status})")


def _join(*parts: str) -> str:
    """Non-empty parts joined by "; " (a part's own final full stop dropped)."""
    return "; ".join(p.rstrip(".") for p in parts if p)


def judge(number: PublishedNumber, found: Found | None, *, reason: str = "",
          conflicts: tuple[Conflict, ...] = (), reproduced_elsewhere: frozenset[str] = frozenset(),
          evidence: tuple[PublishedNumber, ...] = ()) -> tuple[str, str]:
    """``(status, note)`` of one published number given our value ``found`` (``None``: none).

    ``conflicts`` are the published conflicts naming the number; ``reproduced_elsewhere`` the ids
    whose published value we reproduce exactly (for disagreeing repeats); ``evidence`` the printed
    p-values a statement of significance rests on.
    """
    if number.scope != "study":
        what = "another study's result" if number.scope == "cited" else "a parameter of the methods"
        return NOT_A_RESULT, f"{what}, not a result of this cohort"
    if number.kind == SIGNIFICANCE_KIND:
        return _judge_statement(number, found, reason=reason, conflicts=conflicts,
                                reproduced_elsewhere=reproduced_elsewhere, evidence=evidence)
    value = found.value if found is not None else math.nan
    detail = found.detail if found is not None else reason
    if found is not None and prints_as(number, value):
        return EXACT, detail
    tolerance = tolerance_for(number)
    blamed = [c for c in conflicts if c.blames(number.id)]
    if blamed:
        near = ""
        if found is not None and tolerance.admits(number, found):
            near = (f"ours, {rounded_text(number, value)}, is within the tolerance of close "
                    f"({tolerance.text})")
        intended = _intended_note(number, conflicts, value)
        return INCONSISTENT, _join(*(f"{c.kind}: {c.note}" for c in blamed), intended, near,
                                   detail)
    if found is not None and tolerance.admits(number, found):
        return CLOSE, _join(tolerance.text, detail, *(c.note for c in conflicts))
    proof = _proof(number, conflicts, reproduced_elsewhere)
    if proof:
        intended = _intended_note(number, conflicts, value)
        return INCONSISTENT, _join(proof, intended, detail)
    if found is not None and not math.isfinite(value):
        detail = _join("the study gives no value here", detail)
    return MISSED, _join(detail, *(c.note for c in conflicts))


def holds(number: PublishedNumber, found: Found) -> bool:
    """Whether ``found`` reproduces ``number`` exactly (a statement: side and direction)."""
    if number.kind == SIGNIFICANCE_KIND:
        return statement_verdict(number, found)[0]
    return prints_as(number, found.value)


def _p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {round_printed(p, 3)}"


def statement_verdict(number: PublishedNumber, found: Found) -> tuple[bool, str]:
    """Whether our p lies on the stated side of 0.05 and the stated group does better, and the
    note saying so (``"p = 0.043 (log-rank); ASCT 84.6, LDex 67.7"``)."""
    p = found.value
    if not math.isfinite(p):
        return False, _join("the study gives no p-value here", found.detail)
    stated_below = number.relation == "<"
    side_ok = (p < SIGNIFICANCE) == stated_below
    values = ", ".join(f"{g} {v:.1f}" for g, v in found.groups if math.isfinite(v))
    parts = [f"{_p_text(p)} ({found.detail})" if found.detail else _p_text(p), values]
    if not side_ok:
        parts.append(f"not {'below' if stated_below else 'at or above'} 0.05 as stated")
    direction_ok = True
    if number.direction is not None:
        group, way = parse_direction(number.direction)
        by_group = dict(found.groups)
        mine = by_group.get(group, math.nan)
        others = [v for g, v in found.groups if g != group]
        if not math.isfinite(mine) or not others or not all(math.isfinite(v) for v in others):
            direction_ok = False
            parts.append(f"no values to check that {group} is {way}")
        else:
            direction_ok = all(mine > v for v in others) if way == "higher" else all(
                mine < v for v in others)
            if not direction_ok:
                parts.append(f"{group} is not {way}, as stated")
    return side_ok and direction_ok, _join(*parts)


def _contradicting_evidence(number: PublishedNumber, evidence: tuple[PublishedNumber, ...]
                            ) -> str:
    """The printed p-values of the same comparison on the other side of 0.05 ('' when none)."""
    stated_below = number.relation == "<"
    against = [e for e in evidence if e.value is not None and e.kind == "p-value"
               and ((e.value <= SIGNIFICANCE if e.relation == "<" else e.value < SIGNIFICANCE)
                    != stated_below)]
    if not against:
        return ""
    shown = ", ".join(f"p = {e.printed} ({e.id})" for e in against)
    return f"the paper's own numbers contradict the statement: it prints {shown} for this comparison"


def _judge_statement(number: PublishedNumber, found: Found | None, *, reason: str,
                     conflicts: tuple[Conflict, ...], reproduced_elsewhere: frozenset[str],
                     evidence: tuple[PublishedNumber, ...]) -> tuple[str, str]:
    """A statement of significance: exact, inconsistent-in-paper or missed (never close)."""
    if found is None:
        verdict, detail = False, reason
    else:
        verdict, detail = statement_verdict(number, found)
    if verdict:
        return EXACT, detail
    contradiction = _contradicting_evidence(number, evidence)
    if contradiction:
        return INCONSISTENT, _join(contradiction, detail)
    proof = _proof(number, conflicts, reproduced_elsewhere)
    if proof:
        return INCONSISTENT, _join(proof, detail)
    return MISSED, _join(detail, *(c.note for c in conflicts))


def _proof(number: PublishedNumber, conflicts: tuple[Conflict, ...],
           reproduced_elsewhere: frozenset[str]) -> str:
    """The reason the paper itself rules the printed value out ('' when it does not).

    A proven conflict names values that cannot all be true. When the record states what the first
    value was meant to be (``intended``), that value is the one ruled out, and another member only
    when we reproduce all the others exactly (it is then the odd one out); without ``intended``
    any member may be the wrong one.
    """
    for c in conflicts:
        others = [i for i in c.ids if i != number.id]
        if c.kind in PROVEN_CONFLICTS:
            blamed = c.intended is None or c.ids[0] == number.id
            if blamed or all(i in reproduced_elsewhere for i in others):
                return f"{c.kind}: {c.note}"
        if c.kind in REPEAT_CONFLICTS:
            kept = [i for i in others if i in reproduced_elsewhere]
            if kept:
                return f"{c.kind} (we reproduce {', '.join(kept)}): {c.note}"
    return ""


def _intended_note(number: PublishedNumber, conflicts: tuple[Conflict, ...], value: float
                   ) -> str:
    for c in conflicts:
        if c.intended is not None and c.ids and c.ids[0] == number.id and math.isfinite(value):
            intended = PublishedNumber(
                id=number.id, printed=c.intended, value=float(c.intended),
                decimals=len(c.intended.partition(".")[2]), relation="=", kind=number.kind,
                regimen=number.regimen, subgroup=number.subgroup, location=number.location,
                quantity=number.quantity)
            verdict = "ours prints as it" if prints_as(intended, value) else "ours does not"
            return f"the paper most likely meant {c.intended} ({verdict})"
    return ""


# --------------------------------------------------------------------------------------------
# The reproduction


@dataclass(frozen=True, slots=True)
class Reproduction:
    """Every published number beside ours, in the order of the published record."""

    rows: tuple[ReproducedNumber, ...]

    def __repr__(self) -> str:
        counts = ", ".join(f"{s} {n}" for s, n in self.summary().items())
        return f"Reproduction({len(self.rows)} numbers: {counts})"

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, number_id: str) -> ReproducedNumber:
        for r in self.rows:
            if r.id == number_id:
                return r
        raise KeyError(f"no reproduced number with id {number_id!r}")

    def summary(self) -> dict[str, int]:
        """Counts by status, every status present (zero when none), in :data:`STATUSES` order."""
        counts = dict.fromkeys(STATUSES, 0)
        for r in self.rows:
            counts[r.status] += 1
        return counts

    def to_frame(self) -> pd.DataFrame:
        """One row per published number, columns :data:`COLUMNS` (``reproduced`` at full
        precision, NaN when the study has no value; ``precision`` the printed decimals)."""
        frame = pd.DataFrame([{c: getattr(r, c) for c in COLUMNS} for r in self.rows],
                             columns=list(COLUMNS))
        frame["reproduced"] = frame["reproduced"].astype(float)
        frame["precision"] = frame["precision"].astype("Int64")
        return frame


def reproduce_study(results: StudyResults, published: PublishedStudy | None = None
                    ) -> Reproduction:
    """Set every published number beside the value of ``results``, with its status and note."""
    published = published if published is not None else load_published()
    found: dict[str, Found | None] = {}
    reasons: dict[str, str] = {}
    for number in published:
        if number.scope != "study":
            continue
        try:
            found[number.id] = extract(results, number)
        except LookupError as exc:
            found[number.id], reasons[number.id] = None, str(exc)
    reproduced = frozenset(n.id for n in published
                           if (f := found.get(n.id)) is not None and holds(n, f))
    rows = []
    for number in published:
        f = found.get(number.id)
        conflicts = tuple(c for c in published.conflicts if number.id in c.ids)
        evidence = tuple(published[i] for i in number.evidence)
        status, note = judge(number, f, reason=reasons.get(number.id, ""), conflicts=conflicts,
                             reproduced_elsewhere=reproduced, evidence=evidence)
        value = f.value if f is not None else math.nan
        rows.append(ReproducedNumber(
            id=number.id, location=number.location, published=number.printed,
            reproduced=float(value), reproduced_rounded=rounded_text(number, value),
            precision=number.decimals, status=status, note=note))
    return Reproduction(rows=tuple(rows))
