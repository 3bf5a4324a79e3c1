"""The analysis plan: a frozen specification of what the study computes.

The defaults reproduce the published analysis. A TOML file can override any field; an unknown key
is an ``InputError`` naming the key.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from poems_cohort.clinical.settings import EndpointSettings
from poems_cohort.cohort.columns import REGIMENS, TABLE1_ONLY
from poems_cohort.cohort.inputs import label_problem, read_toml
from poems_cohort.defaults import PAPER_CUTOFF, VEGF_UPPER_NORMAL
from poems_cohort.errors import InputError, Problem
from poems_cohort.study.comparative_plan import (
    ComparativePlan,
    check_comparative,
    convert_comparative,
)
from poems_cohort.study.table1_spec import COLUMN_TYPES, PAPER_TABLE1, Table1Row, parse_rows

TestPolicy = Literal["spss", "exact"]
TEST_POLICIES: tuple[str, ...] = ("spss", "exact")
ProportionCI = Literal["wilson", "clopper-pearson"]
PROPORTION_CIS: tuple[str, ...] = ("wilson", "clopper-pearson")
RISK_GROUPS: tuple[str, ...] = ("low", "medium", "high")
#: the most regimens a plan compares (the Okabe–Ito palette has eight colours)
MAX_ARMS = 8
#: the smallest spacing of the time-axis ticks and numbers at risk, in months
MIN_STEP_MONTHS = 1.0


def canonical_regimen(name: str) -> str:
    """The canonical spelling of one of the published study's regimen names given in any case
    (``"ldex"`` → ``"LDex"``); any other name is returned stripped of surrounding spaces (it must
    then match the cohort's regimen text exactly)."""
    if isinstance(name, str):
        for r in REGIMENS:
            if name.strip().lower() == r.lower():
                return r
        return name.strip()
    return name


RISK_GROUP = "risk_group"


@dataclass(frozen=True, slots=True)
class Subgroup:
    """A subgroup: its name and the values of ``column`` it holds (``risk_groups``; ``None``:
    every patient). The column is the derived risk group by default, or any categorical column
    of the cohort (a study column); ``title`` is the label shown (default: ``"Low risk"`` for a
    risk subgroup, else ``"<column>: <values>"``)."""

    name: str
    risk_groups: tuple[str, ...] | None
    column: str = RISK_GROUP
    title: str = ""

    @property
    def values(self) -> tuple[str, ...] | None:
        """The values of ``column`` in the subgroup (``None``: every patient)."""
        return self.risk_groups

    def label(self) -> str:
        """A display label, e.g. ``"Medium-high risk"``."""
        if self.title:
            return self.title
        if self.risk_groups is None:
            return "All patients"
        if self.column == RISK_GROUP:
            return f"{self.name[:1].upper()}{self.name[1:]} risk"
        return f"{self.column}: {', '.join(self.risk_groups)}"

    def to_dict(self) -> dict[str, Any]:
        """The subgroup as plan keys."""
        out: dict[str, Any] = {"name": self.name, "risk_groups": (
            None if self.risk_groups is None else list(self.risk_groups))}
        if self.column != RISK_GROUP:
            out["column"] = self.column
        if self.title:
            out["title"] = self.title
        return out


DEFAULT_SUBGROUPS: tuple[Subgroup, ...] = (
    Subgroup("all", None),
    Subgroup("low", ("low",)),
    Subgroup("medium-high", ("medium", "high")),
    Subgroup("high", ("high",)),
)


@dataclass(frozen=True, slots=True)
class AnalysisPlan:
    """What the study computes and how. Update with ``dataclasses.replace`` or ``load_plan``.

    - ``regimens``: the regimens compared, in display order.
    - ``reference``: the regimen every other regimen is compared with.
    - ``subgroups``: the risk subgroups of Table 2 and of the survival analysis.
    - ``figure_subgroups``: the subgroups drawn in Figure 2 (PFS and OS panels).
    - ``response_landmarks_months``: times of the cumulative response rates.
    - ``survival_landmark_months``: time of the PFS and OS rates (3 years).
    - ``cutoff``: the data cutoff (last follow-up date): reading, eligibility and the endpoints.
    - ``vegf_normal_below``: the upper limit of normal of VEGF (pg/ml): the diagnostic criterion
      (at or above) and the VEGF response CRV (below).
    - ``test_policy``: ``"spss"`` or ``"exact"`` (see ``docs/study.md``).
    - ``confidence_level``: of every confidence interval.
    - ``proportion_ci``: ``"wilson"`` or ``"clopper-pearson"``.
    - ``risk_table_step_months``: spacing of the x ticks and of the numbers at risk.
    - ``supplementary_subgroup``: the subgroup of the PFS/OS-by-CRV analysis.
    - ``table1``: the rows of Table 1 (:class:`~poems_cohort.study.table1_spec.Table1Row`).
    - ``crh_crv_evaluable``, ``rn_evaluable``: readings of evaluability passed to the endpoint
      derivation (``EndpointSettings``); the defaults are the readings under which the paper's
      own CRH/CRV, RN and ONLS numbers agree (docs/reproduction.md).
    - ``comparative``: hazard ratios, weights, RMST, competing risks, landmarks
      (:class:`~poems_cohort.study.comparative_plan.ComparativePlan`).
    """

    regimens: tuple[str, ...] = ("MDex", "ASCT", "LDex")
    reference: str = "ASCT"
    subgroups: tuple[Subgroup, ...] = DEFAULT_SUBGROUPS
    figure_subgroups: tuple[str, ...] = ("all", "low", "medium-high")
    response_landmarks_months: tuple[float, ...] = (6.0, 12.0)
    survival_landmark_months: float = 36.0
    cutoff: dt.date = PAPER_CUTOFF
    vegf_normal_below: float = VEGF_UPPER_NORMAL
    test_policy: TestPolicy = "spss"
    confidence_level: float = 0.95
    proportion_ci: ProportionCI = "wilson"
    risk_table_step_months: float = 12.0
    supplementary_subgroup: str = "medium-high"
    table1: tuple[Table1Row, ...] = PAPER_TABLE1
    crh_crv_evaluable: str = "both-or-responder"
    rn_evaluable: str = "assessed"
    comparative: ComparativePlan = ComparativePlan()
    source: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        # regimen names in any case mean the canonical ones ("Ldex" is LDex)
        object.__setattr__(self, "regimens", tuple(canonical_regimen(r) for r in self.regimens))
        object.__setattr__(self, "reference", canonical_regimen(self.reference))
        problems = _check(self)
        if problems:
            raise InputError(problems)

    def subgroup(self, name: str) -> Subgroup:
        """The subgroup called ``name``."""
        for s in self.subgroups:
            if s.name == name:
                return s
        raise KeyError(name)

    def endpoint_settings(self) -> EndpointSettings:
        """The clinical layer's ``EndpointSettings`` with this plan's cutoff, VEGF threshold and
        readings of evaluability."""
        return replace(EndpointSettings(), cutoff=self.cutoff,
                       vegf_normal_below=self.vegf_normal_below,
                       crh_crv_evaluable=self.crh_crv_evaluable, rn_evaluable=self.rn_evaluable)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description of the plan."""
        return {
            "regimens": list(self.regimens),
            "reference": self.reference,
            "subgroups": [s.to_dict() for s in self.subgroups],
            "figure_subgroups": list(self.figure_subgroups),
            "response_landmarks_months": list(self.response_landmarks_months),
            "survival_landmark_months": self.survival_landmark_months,
            "cutoff": self.cutoff.isoformat(),
            "vegf_normal_below": self.vegf_normal_below,
            "test_policy": self.test_policy,
            "confidence_level": self.confidence_level,
            "proportion_ci": self.proportion_ci,
            "risk_table_step_months": self.risk_table_step_months,
            "supplementary_subgroup": self.supplementary_subgroup,
            "table1": [r.to_dict() for r in self.table1],
            "crh_crv_evaluable": self.crh_crv_evaluable,
            "rn_evaluable": self.rn_evaluable,
            "comparative": self.comparative.to_dict(),
        }

    def optional_columns(self) -> tuple[str, ...]:
        """The required columns of the data dictionary this plan does not need (those read only
        by a Table 1 that does not show them): they may be absent from the cohort."""
        shown = {r.column for r in self.table1}
        return tuple(c for c in TABLE1_ONLY if c not in shown)

    def study_columns(self) -> dict[str, str]:
        """The cohort columns the plan reads beyond the analysis dataset, with the type each
        must have (``"number"``, ``"boolean"`` or ``"text"``): Table 1's sources and the
        subgroups' columns. A column of the data dictionary keeps its own type."""
        out: dict[str, str] = {}
        for row in self.table1:
            kind = COLUMN_TYPES[row.kind]
            if row.kind == "binary" and row.level is not None:
                kind = "number" if isinstance(row.level, float) else "text"
            out.setdefault(row.column, kind)
        for sg in self.subgroups:
            if sg.risk_groups is not None and sg.column != RISK_GROUP:
                out.setdefault(sg.column, "text")
        return out


def _finite(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _check(plan: AnalysisPlan) -> list[Problem]:
    """Every problem of the plan at once, each naming its key and value."""
    src = plan.source or "analysis plan"
    out: list[Problem] = []

    def bad(key: str, value: object, expected: str) -> None:
        out.append(Problem(src, None, key, value, expected))

    regimens = list(plan.regimens)
    whys = [why for r in regimens if (why := label_problem(r)) is not None]
    if whys:
        bad("regimens", regimens, f"regimen names, each a non-empty text ({whys[0]})")
    if len(regimens) > MAX_ARMS:
        bad("regimens", regimens, f"at most {MAX_ARMS} regimens (the colours and line styles "
            "of the figures)")
    if len(regimens) < 2 or len(set(regimens)) != len(regimens):
        bad("regimens", regimens, "at least two distinct regimen names")
    if plan.reference not in regimens:
        bad("reference", plan.reference, f"one of the regimens {regimens}")
    names = [s.name for s in plan.subgroups]
    if len(set(names)) != len(names) or not names:
        bad("subgroups", names, "at least one subgroup, with distinct names")
    for name in names:
        if (why := label_problem(name)) is not None:
            bad("subgroups", name, f"a subgroup name: {why}")
    for s in plan.subgroups:
        if s.risk_groups is not None and s.column != RISK_GROUP and not s.risk_groups:
            bad("subgroups", {s.name: list(s.risk_groups)}, f"values of the column {s.column}")
        if s.risk_groups is not None and s.column == RISK_GROUP and (
                not s.risk_groups or not set(s.risk_groups) <= set(RISK_GROUPS)):
            bad("subgroups", {s.name: list(s.risk_groups)},
                f'risk groups among {list(RISK_GROUPS)}, or "all"')
    everyone = [s for s in plan.subgroups if s.name == "all"]
    if not everyone or everyone[0].risk_groups is not None:
        bad("subgroups", names, 'a subgroup all = "all" holding every patient (the report '
            "shows the whole cohort first)")
    figures = list(plan.figure_subgroups)
    if not figures or len(set(figures)) != len(figures):
        bad("figure_subgroups", figures, "at least one subgroup name, each once")
    for name in figures:
        if name not in names:
            bad("figure_subgroups", name, f"a subgroup name among {names}")
    if plan.supplementary_subgroup not in names:
        bad("supplementary_subgroup", plan.supplementary_subgroup,
            f"a subgroup name among {names}")
    if plan.test_policy not in TEST_POLICIES:
        bad("test_policy", plan.test_policy, f"one of {list(TEST_POLICIES)}")
    if plan.proportion_ci not in PROPORTION_CIS:
        bad("proportion_ci", plan.proportion_ci, f"one of {list(PROPORTION_CIS)}")
    if not (_finite(plan.confidence_level) and 0 < plan.confidence_level < 1):
        bad("confidence_level", plan.confidence_level,
            "a number strictly between 0 and 1 (e.g. 0.95)")
    landmarks = list(plan.response_landmarks_months)
    if (not landmarks or not all(_finite(t) and t > 0 for t in landmarks)
            or len(set(landmarks)) != len(landmarks)):
        bad("response_landmarks_months", landmarks,
            "at least one time in months, each positive and given once (e.g. [6, 12])")
    if not (_finite(plan.survival_landmark_months) and plan.survival_landmark_months > 0):
        bad("survival_landmark_months", plan.survival_landmark_months,
            "a positive number of months (e.g. 36)")
    step = plan.risk_table_step_months
    if not (_finite(step) and step >= MIN_STEP_MONTHS):
        bad("risk_table_step_months", step,
            f"a number of months, at least {MIN_STEP_MONTHS:g} (e.g. 12)")
    if not (_finite(plan.vegf_normal_below) and plan.vegf_normal_below > 0):
        bad("vegf_normal_below", plan.vegf_normal_below, "a positive VEGF level in pg/ml (e.g. 600)")
    keys = [r.key for r in plan.table1]
    if len(set(keys)) != len(keys):
        bad("table1", sorted({k for k in keys if keys.count(k) > 1}),
            "distinct row keys (give each row its own label or key)")
    if not any(not r.descriptive for r in plan.table1):
        bad("table1", [r.label for r in plan.table1], "at least one Table 1 row")
    from poems_cohort.clinical.settings import CRH_CRV_EVALUABLE, RN_EVALUABLE

    if plan.crh_crv_evaluable not in CRH_CRV_EVALUABLE:
        bad("crh_crv_evaluable", plan.crh_crv_evaluable, f"one of {list(CRH_CRV_EVALUABLE)}")
    if plan.rn_evaluable not in RN_EVALUABLE:
        bad("rn_evaluable", plan.rn_evaluable, f"one of {list(RN_EVALUABLE)}")
    if not isinstance(plan.cutoff, dt.date):
        bad("cutoff", plan.cutoff, "a date (YYYY-MM-DD)")
    out += check_comparative(plan.comparative, src)
    return out


_FIELDS = ("regimens", "reference", "subgroups", "figure_subgroups", "response_landmarks_months",
           "survival_landmark_months", "cutoff", "vegf_normal_below", "test_policy",
           "confidence_level", "proportion_ci", "risk_table_step_months",
           "supplementary_subgroup", "table1", "crh_crv_evaluable", "rn_evaluable",
           "comparative")


#: named plans shipped with the package (``--plan leukemia-2019``); the first is the default
PRESETS: dict[str, AnalysisPlan] = {"leukemia-2019": AnalysisPlan(source="leukemia-2019")}
DEFAULT_PRESET = "leukemia-2019"


def load_plan(path: str | Path | None = None) -> AnalysisPlan:
    """The default plan (the preset ``leukemia-2019``: the published analysis), a preset by
    name, or the default overridden by the keys of the TOML file ``path``.

    Subgroups are given as a table of name = list of risk groups (``"all"`` for every patient)::

        test_policy = "exact"
        [subgroups]
        all = "all"
        low = ["low"]
    """
    if path is None:
        return AnalysisPlan()
    src = str(path)
    if "\0" not in src and not Path(path).exists():
        if src in PRESETS:
            return PRESETS[src]
        raise InputError([Problem(src, None, None, None, "an existing plan file or a preset "
                                  f"name ({', '.join(PRESETS)})")])
    raw = read_toml(Path(path), "plan file")
    problems = [Problem(src, None, key, raw[key], f"a known plan key, one of {list(_FIELDS)}")
                for key in raw if key not in _FIELDS]
    values: dict[str, Any] = {}
    for key in _FIELDS:
        if key not in raw:
            continue
        if key == "table1":
            rows, found = parse_rows(raw[key])
            problems += [Problem(src, None, k, v, e) for k, v, e in found]
            if not found:
                values[key] = rows
            continue
        try:
            values[key] = _convert(key, raw[key])
        except (TypeError, ValueError) as exc:
            problems.append(Problem(src, None, key, raw[key], str(exc)))
    assert {f.name for f in fields(AnalysisPlan)} >= set(_FIELDS)
    try:
        plan = AnalysisPlan(**values, source=src)
    except InputError as exc:  # report the values' problems with the conversion ones
        failed = {p.column for p in problems}
        problems += [p for p in exc.problems if p.column not in failed]
        raise InputError(problems) from None
    if problems:
        raise InputError(problems)
    return plan


def _convert(key: str, value: Any) -> Any:
    if key in ("regimens", "figure_subgroups"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise TypeError("a list of names")
        return tuple(value)
    if key == "response_landmarks_months":
        if not isinstance(value, list) or not all(isinstance(v, int | float) for v in value):
            raise TypeError("a list of numbers of months")
        return tuple(float(v) for v in value)
    if key in ("survival_landmark_months", "confidence_level", "risk_table_step_months",
               "vegf_normal_below"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError("a number")
        return float(value)
    if key == "comparative":
        return convert_comparative(value)
    if key == "cutoff":
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            return dt.date.fromisoformat(value)
        raise TypeError("a date (YYYY-MM-DD)")
    if key == "subgroups":
        if not isinstance(value, dict):
            raise TypeError('a table of name = ["low", ...] or "all"')
        out = []
        for name, groups in value.items():
            if groups == "all":
                out.append(Subgroup(name, None))
            elif isinstance(groups, list) and all(isinstance(g, str) for g in groups):
                out.append(Subgroup(name, tuple(groups)))
            elif (isinstance(groups, dict) and isinstance(groups.get("column"), str)
                  and isinstance(groups.get("values"), list)
                  and all(isinstance(g, str) for g in groups["values"])
                  and isinstance(groups.get("title", ""), str)
                  and set(groups) <= {"column", "values", "title"}):
                out.append(Subgroup(name, tuple(groups["values"]), column=groups["column"],
                                    title=groups.get("title", "")))
            else:
                raise TypeError(f'subgroup {name!r}: a list of risk groups, "all", or a table '
                                '{column = "...", values = ["..."], title = "..."}')
        return tuple(out)
    if not isinstance(value, str):
        raise TypeError("a string")
    return value
