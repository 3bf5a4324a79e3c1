"""The analysis plan as TOML: the commented template of ``poems-cohort plan init`` and the
effective plan of ``poems-cohort plan show``. ``load_plan`` reads back what is written here."""

from __future__ import annotations

import json
import math
from dataclasses import replace

from poems_cohort.study.plan import AnalysisPlan, Subgroup
from poems_cohort.study.table1_spec import Table1Row

#: one comment per key, in the order written (``docs/study.md`` documents the same keys)
COMMENTS: dict[str, str] = {
    "regimens": "Regimens compared (2 to 8), in display order; the cohort's regimen names "
                "after alias mapping.\n# Patients on other regimens are excluded and counted "
                "per regimen in the patient flow.",
    "reference": "The regimen every other regimen is compared with.",
    "test_policy": '"exact": Fisher\'s exact test (any table) when an expected count is below '
                   '5, else Pearson\'s chi-square.\n# "spss": the published analysis (Fisher '
                   "only for 2x2 tables).",
    "cutoff": "Data cutoff: nothing after it counts (reading, eligibility, endpoints).",
    "vegf_normal_below": "Upper limit of normal of VEGF (pg/ml): the diagnostic criterion "
                         "(at or above) and the VEGF response CRV (below).",
    "confidence_level": "Of every confidence interval.",
    "proportion_ci": '"wilson" or "clopper-pearson" (response rates).',
    "response_landmarks_months": "Times of the cumulative response rates.",
    "survival_landmark_months": "Time of the PFS and OS rates.",
    "risk_table_step_months": "Spacing of the time axis ticks and the numbers at risk.",
    "figure_subgroups": "Subgroups shown in Figure 2 and Table 2 (the others go to "
                        "Supplementary Table 1).",
    "supplementary_subgroup": "Subgroup of the PFS/OS-by-CRV comparison.",
    "crh_crv_evaluable": '"both-or-responder": evaluable for CRH/CRV when evaluable for both, '
                         'or a responder to either;\n# "either": when evaluable for CRH or CRV '
                         "(docs/endpoints.md).",
    "rn_evaluable": '"assessed": RN needs an ONLS scored after treatment start; "baseline": a '
                    "baseline ONLS of 1 or more suffices.",
    "subgroups": 'name = "all" (every patient), a list of risk groups (low, medium, high), or '
                 "{ column = \"...\", values = [\"...\"], title = \"...\" }\n# for any "
                 'categorical column of the cohort. A subgroup "all" is required.',
    "comparative": "The comparative analyses (docs/study.md, 'Comparative analyses'): the "
                   "multivariable Cox covariates,\n# the propensity covariates ([] = the "
                   "default rule), stabilised weights, truncation percentiles [lo, hi],\n# the "
                   "RMST horizon, the landmarks and the months of the cumulative incidences.",
    "table1": "Table 1 rows, in order: label, column, kind = binary | above | below | "
              "categorical | continuous.\n# binary: a yes/no column, or level = \"M\" (text) "
              "or level = 0 (number); above/below: threshold = 50;\n# categorical: levels = "
              "[...] (and level_labels); continuous: median (IQR), range, Kruskal–Wallis,\n# "
              "Mann–Whitney vs the reference; mean_sd = true adds mean (SD) and ANOVA. section = "
              "\"...\" groups rows;\n# descriptive = true counts without a test, beside the "
              "table. A column outside the data dictionary\n# is read as a study column typed by "
              "its row (number, yes/no or text).",
}

SCALARS = ("regimens", "reference", "test_policy", "cutoff", "vegf_normal_below",
           "confidence_level", "proportion_ci", "response_landmarks_months",
           "survival_landmark_months", "risk_table_step_months", "figure_subgroups",
           "supplementary_subgroup", "crh_crv_evaluable", "rn_evaluable")


def _value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and math.isfinite(v) else repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if hasattr(v, "isoformat"):
        return v.isoformat()  # a TOML local date
    raise TypeError(f"no TOML form for {v!r}")


def _subgroup(s: Subgroup) -> str:
    if s.values is None:
        return f"{_key(s.name)} = \"all\""
    if s.column == "risk_group" and not s.title:
        return f"{_key(s.name)} = {_value(list(s.values))}"
    parts = [f"column = {_value(s.column)}", f"values = {_value(list(s.values))}"]
    if s.title:
        parts.append(f"title = {_value(s.title)}")
    return f"{_key(s.name)} = {{ {', '.join(parts)} }}"


def _key(name: str) -> str:
    return name if name.replace("-", "").replace("_", "").isalnum() else json.dumps(name)


def _row(r: Table1Row) -> list[str]:
    return ["[[table1]]", *(f"{k} = {_value(v)}" for k, v in r.to_dict().items())]


def plan_toml(plan: AnalysisPlan, *, comments: bool = True, title: str = "") -> str:
    """The plan as TOML that ``load_plan`` reads back to an equal plan."""
    lines: list[str] = [f"# {line}" for line in title.splitlines()] if title else []

    def note(key: str) -> None:
        if comments:
            lines.append("")
            lines.extend(f"# {c}" if not c.startswith("#") else c
                         for c in COMMENTS[key].split("\n"))

    values = plan.to_dict()
    for key in SCALARS:
        note(key)
        lines.append(f"{key} = {_value(values[key] if key != 'cutoff' else plan.cutoff)}")
    note("subgroups")
    lines += ["", "[subgroups]"] if not comments else ["[subgroups]"]
    lines += [_subgroup(s) for s in plan.subgroups]
    note("comparative")
    lines += ["", "[comparative]"] if not comments else ["[comparative]"]
    lines += [f"{k} = {_value(v)}" for k, v in plan.comparative.to_dict().items()]
    note("table1")
    for r in plan.table1:
        lines += ["", *_row(r)] if lines[-1] != "" and not lines[-1].startswith("#") else _row(r)
    return "\n".join(lines).lstrip("\n") + "\n"


def template() -> str:
    """The commented template of ``poems-cohort plan init``: every key with its default, the
    test policy ``exact`` (the default for a new plan)."""
    return plan_toml(replace(AnalysisPlan(), test_policy="exact"), title=(
        "poems-cohort analysis plan (docs/study.md documents every key).\n"
        "Edit the values; remove a key to keep its default (the published study's)."))
