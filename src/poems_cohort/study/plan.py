"""The analysis plan: a frozen specification of what the study computes.

The defaults reproduce the published analysis. A TOML file can override any field; an unknown key
is an ``InputError`` naming the key.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from poems_cohort.errors import InputError, Problem

TestPolicy = Literal["spss", "exact"]
TEST_POLICIES: tuple[str, ...] = ("spss", "exact")
RISK_GROUPS: tuple[str, ...] = ("low", "medium", "high")


@dataclass(frozen=True, slots=True)
class Subgroup:
    """A risk subgroup: its name and the risk groups it holds (``None``: every patient)."""

    name: str
    risk_groups: tuple[str, ...] | None

    def label(self) -> str:
        """A display label, e.g. ``"Medium-high risk"``."""
        if self.risk_groups is None:
            return "All patients"
        return f"{self.name[:1].upper()}{self.name[1:]} risk"


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
    - ``cutoff``: the data cutoff (last follow-up date), passed to the endpoint derivation.
    - ``test_policy``: ``"spss"`` or ``"exact"`` (see ``docs/study.md``).
    - ``confidence_level``: of every confidence interval.
    - ``proportion_ci``: ``"wilson"`` or ``"clopper-pearson"``.
    - ``risk_table_step_months``: spacing of the x ticks and of the numbers at risk.
    - ``supplementary_subgroup``: the subgroup of the PFS/OS-by-CRV analysis.
    """

    regimens: tuple[str, ...] = ("MDex", "ASCT", "LDex")
    reference: str = "ASCT"
    subgroups: tuple[Subgroup, ...] = DEFAULT_SUBGROUPS
    figure_subgroups: tuple[str, ...] = ("all", "low", "medium-high")
    response_landmarks_months: tuple[float, ...] = (6.0, 12.0)
    survival_landmark_months: float = 36.0
    cutoff: dt.date = dt.date(2018, 8, 31)
    test_policy: TestPolicy = "spss"
    confidence_level: float = 0.95
    proportion_ci: str = "wilson"
    risk_table_step_months: float = 12.0
    supplementary_subgroup: str = "medium-high"
    source: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        problems = _check(self)
        if problems:
            raise InputError(problems)

    def subgroup(self, name: str) -> Subgroup:
        """The subgroup called ``name``."""
        for s in self.subgroups:
            if s.name == name:
                return s
        raise KeyError(name)

    def endpoint_settings(self) -> Any:
        """The clinical layer's ``EndpointSettings`` with this plan's cutoff."""
        from poems_cohort.clinical import EndpointSettings

        return replace(EndpointSettings(), cutoff=self.cutoff)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description of the plan."""
        return {
            "regimens": list(self.regimens),
            "reference": self.reference,
            "subgroups": [
                {"name": s.name,
                 "risk_groups": None if s.risk_groups is None else list(s.risk_groups)}
                for s in self.subgroups
            ],
            "figure_subgroups": list(self.figure_subgroups),
            "response_landmarks_months": list(self.response_landmarks_months),
            "survival_landmark_months": self.survival_landmark_months,
            "cutoff": self.cutoff.isoformat(),
            "test_policy": self.test_policy,
            "confidence_level": self.confidence_level,
            "proportion_ci": self.proportion_ci,
            "risk_table_step_months": self.risk_table_step_months,
            "supplementary_subgroup": self.supplementary_subgroup,
        }


def _check(plan: AnalysisPlan) -> list[Problem]:
    src = plan.source or "analysis plan"
    out: list[Problem] = []

    def bad(key: str, value: object, expected: str) -> None:
        out.append(Problem(src, None, key, value, expected))

    if len(plan.regimens) < 2 or len(set(plan.regimens)) != len(plan.regimens):
        bad("regimens", list(plan.regimens), "at least two distinct regimen names")
    if plan.reference not in plan.regimens:
        bad("reference", plan.reference, f"one of the regimens {list(plan.regimens)}")
    names = [s.name for s in plan.subgroups]
    if len(set(names)) != len(names) or not names:
        bad("subgroups", names, "at least one subgroup, with distinct names")
    for s in plan.subgroups:
        if s.risk_groups is not None and (not s.risk_groups
                                          or not set(s.risk_groups) <= set(RISK_GROUPS)):
            bad("subgroups", list(s.risk_groups), f"risk groups among {list(RISK_GROUPS)}")
    for name in (*plan.figure_subgroups, plan.supplementary_subgroup):
        if name not in names:
            bad("figure_subgroups" if name in plan.figure_subgroups else "supplementary_subgroup",
                name, f"a subgroup name among {names}")
    if plan.test_policy not in TEST_POLICIES:
        bad("test_policy", plan.test_policy, f"one of {list(TEST_POLICIES)}")
    if plan.proportion_ci not in ("wilson", "clopper-pearson"):
        bad("proportion_ci", plan.proportion_ci, "'wilson' or 'clopper-pearson'")
    if not 0 < plan.confidence_level < 1:
        bad("confidence_level", plan.confidence_level, "a number between 0 and 1")
    if any(t <= 0 for t in plan.response_landmarks_months) or plan.survival_landmark_months <= 0:
        bad("landmarks", None, "positive times in months")
    if plan.risk_table_step_months <= 0:
        bad("risk_table_step_months", plan.risk_table_step_months, "a positive number of months")
    return out


_FIELDS = ("regimens", "reference", "subgroups", "figure_subgroups", "response_landmarks_months",
           "survival_landmark_months", "cutoff", "test_policy", "confidence_level",
           "proportion_ci", "risk_table_step_months", "supplementary_subgroup")


def load_plan(path: str | Path | None = None) -> AnalysisPlan:
    """The default plan, overridden by the keys of the TOML file ``path`` when given.

    Subgroups are given as a table of name = list of risk groups (``"all"`` for every patient)::

        test_policy = "exact"
        [subgroups]
        all = "all"
        low = ["low"]
    """
    if path is None:
        return AnalysisPlan()
    src = str(path)
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError([Problem(src, None, None, None, "an existing TOML file")]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError([Problem(src, None, None, None, f"valid TOML ({exc})")]) from None
    problems = [Problem(src, None, key, raw[key], f"a known plan key, one of {list(_FIELDS)}")
                for key in raw if key not in _FIELDS]
    values: dict[str, Any] = {}
    for key in _FIELDS:
        if key not in raw:
            continue
        try:
            values[key] = _convert(key, raw[key])
        except (TypeError, ValueError) as exc:
            problems.append(Problem(src, None, key, raw[key], str(exc)))
    if problems:
        raise InputError(problems)
    assert {f.name for f in fields(AnalysisPlan)} >= set(_FIELDS)
    return AnalysisPlan(**values, source=src)


def _convert(key: str, value: Any) -> Any:
    if key in ("regimens", "figure_subgroups"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise TypeError("a list of names")
        return tuple(value)
    if key == "response_landmarks_months":
        if not isinstance(value, list) or not all(isinstance(v, int | float) for v in value):
            raise TypeError("a list of numbers of months")
        return tuple(float(v) for v in value)
    if key in ("survival_landmark_months", "confidence_level", "risk_table_step_months"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError("a number")
        return float(value)
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
            else:
                raise TypeError(f'subgroup {name!r}: a list of risk groups or "all"')
        return tuple(out)
    if not isinstance(value, str):
        raise TypeError("a string")
    return value
