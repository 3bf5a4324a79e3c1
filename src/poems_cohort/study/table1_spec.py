"""The rows of Table 1 as data: each a label, a source column and a kind.

Kinds:

- ``binary``: a yes/no column (``level`` unset), or the patients whose value equals ``level`` (a
  text level such as ``"M"`` or ``"IgA"``, or a number such as ``0``);
- ``above`` / ``below``: a number strictly above / below ``threshold``;
- ``categorical``: one row per level (``levels`` in order, default: the levels found, sorted),
  each counted and tested as that level against the others, with the r x c table of every level
  tested once more (in the tests);
- ``continuous``: median (IQR) and median (range), the Kruskal–Wallis test across the regimens
  and the Mann–Whitney test of each regimen against the reference; with ``mean_sd``, mean (SD)
  and one-way ANOVA too.

Counts use the patients whose value is known (the denominator N of each row); the patients with
a missing value are counted in ``unknown`` (the report shows an "Unknown" row when any). A row
with ``descriptive = true`` is counted but not tested and not shown in Table 1 (numbers the text
quotes beside the table).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal

from poems_cohort.cohort.inputs import label_problem

Table1Kind = Literal["binary", "above", "below", "categorical", "continuous"]
TABLE1_KINDS: tuple[str, ...] = ("binary", "above", "below", "categorical", "continuous")
#: the column types a plan gives to the study columns it reads (see ``study_columns``)
COLUMN_TYPES: dict[str, str] = {"binary": "boolean", "above": "number", "below": "number",
                                "continuous": "number", "categorical": "text"}


def slug(text: str) -> str:
    """A stable key from a label: ``"Age > 50 years"`` → ``"age_50_years"``."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "row"


@dataclass(frozen=True, slots=True)
class Table1Row:
    """One characteristic of Table 1 (see the module docstring for the kinds)."""

    label: str
    column: str
    kind: Table1Kind
    threshold: float | None = None
    level: str | float | None = None
    levels: tuple[str, ...] = ()
    level_labels: tuple[str, ...] = ()
    key: str = ""
    section: str = ""
    mean_sd: bool = False
    descriptive: bool = False

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(self, "key", slug(self.label))

    def level_keys(self) -> tuple[str, ...]:
        """The keys of a categorical row's levels (``risk_low``, …)."""
        return tuple(f"{self.key}_{slug(str(v))}" for v in self.levels)

    def level_label(self, i: int, level: str) -> str:
        """The label shown for the ``i``-th level."""
        if i < len(self.level_labels):
            return self.level_labels[i]
        return f"{self.label}: {level}"

    def to_dict(self) -> dict[str, Any]:
        """The row as plan keys (defaults left out)."""
        out: dict[str, Any] = {"label": self.label, "column": self.column, "kind": self.kind}
        if self.key != slug(self.label):
            out["key"] = self.key
        if self.threshold is not None:
            out["threshold"] = self.threshold
        if self.level is not None:
            out["level"] = self.level
        if self.levels:
            out["levels"] = list(self.levels)
        if self.level_labels:
            out["level_labels"] = list(self.level_labels)
        if self.section:
            out["section"] = self.section
        if self.mean_sd:
            out["mean_sd"] = True
        if self.descriptive:
            out["descriptive"] = True
        return out


def _yes(key: str, label: str, column: str, section: str = "") -> Table1Row:
    return Table1Row(label, column, "binary", key=key, section=section)


#: the published study's Table 1, with pulmonary hypertension (one of the four risk factors)
PAPER_TABLE1: tuple[Table1Row, ...] = (
    Table1Row("Age, years", "age", "continuous", key="age"),
    Table1Row("ONLS score", "onls", "continuous", key="onls"),
    Table1Row("Age > 50 years", "age", "above", threshold=50, key="age_gt_50"),
    Table1Row("Male", "sex", "binary", level="M", key="male"),
    Table1Row("ONLS > 4", "onls", "above", threshold=4, key="onls_gt_4"),
    _yes("hepatomegaly", "Hepatomegaly", "hepatomegaly", "Organomegaly"),
    _yes("splenomegaly", "Splenomegaly", "splenomegaly", "Organomegaly"),
    _yes("lymphadenopathy", "Lymphadenopathy", "lymphadenopathy", "Organomegaly"),
    Table1Row("IgA heavy chain", "heavy_chain", "binary", level="IgA", key="iga_heavy_chain"),
    Table1Row("SPE > 5 g/l", "spe_g_l", "above", threshold=5, key="spe_gt_5"),
    Table1Row("BMPC > 10%", "bmpc_pct", "above", threshold=10, key="bmpc_gt_10"),
    _yes("angioma", "Angioma", "angioma"),
    _yes("peripheral_edema", "Peripheral edema", "peripheral_edema"),
    _yes("ascites", "Ascites", "ascites"),
    _yes("pleural_effusion", "Pleural effusion", "pleural_effusion"),
    _yes("pulmonary_hypertension", "Pulmonary hypertension", "pulmonary_hypertension"),
    _yes("castleman", "Castleman disease (biopsied)", "castleman"),
    _yes("papilledema", "Papilledema", "papilledema"),
    _yes("osteosclerosis", "Osteosclerosis", "osteosclerosis"),
    Table1Row("Albumin < 30 g/l", "albumin_g_l", "below", threshold=30, key="albumin_lt_30"),
    Table1Row("eGFR < 30 ml/min/1.73 m²", "egfr", "below", threshold=30, key="egfr_lt_30"),
    Table1Row("24-h urine protein > 1 g", "urine_protein_g_24h", "above", threshold=1,
              key="urine_protein_gt_1"),
    Table1Row("VEGF > 4000 pg/ml", "vegf_pg_ml", "above", threshold=4000, key="vegf_gt_4000"),
    Table1Row("Risk group (low/medium/high)", "risk_group", "categorical", key="risk",
              levels=("low", "medium", "high"),
              level_labels=("Low risk", "Medium risk", "High risk"),
              section="Risk stratification"),
    Table1Row("ONLS score 0", "onls", "binary", level=0.0, key="onls_zero", descriptive=True),
    Table1Row("Lambda light chain", "light_chain", "binary", level="lambda",
              key="lambda_light_chain", descriptive=True),
)

_ROW_KEYS = ("label", "column", "kind", "threshold", "level", "levels", "level_labels", "key",
             "section", "mean_sd", "descriptive")


def _finite(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def parse_rows(value: Any) -> tuple[tuple[Table1Row, ...], list[tuple[str, object, str]]]:
    """Table 1 rows from the plan's ``[[table1]]`` array of tables, and every problem found as
    ``(key, value, expected)``."""
    problems: list[tuple[str, object, str]] = []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        return (), [("table1", value, "an array of tables [[table1]] (label, column, kind)")]
    rows: list[Table1Row] = []
    for i, raw in enumerate(value, start=1):
        where = f"table1[{i}]"
        n_before = len(problems)
        unknown = [k for k in raw if k not in _ROW_KEYS]
        for k in unknown:
            problems.append((f"{where}.{k}", raw[k], f"a Table 1 row key, one of {list(_ROW_KEYS)}"))
        for k in ("label", "column"):
            if (why := label_problem(raw.get(k))) is not None:
                problems.append((f"{where}.{k}", raw.get(k), why))
        kind = raw.get("kind")
        if kind not in TABLE1_KINDS:
            problems.append((f"{where}.kind", kind, f"one of {list(TABLE1_KINDS)}"))
        threshold = raw.get("threshold")
        if kind in ("above", "below") and not _finite(threshold):
            problems.append((f"{where}.threshold", threshold, f"a number (the {kind} kind)"))
        level = raw.get("level")
        if level is not None and not (isinstance(level, str) or _finite(level)):
            problems.append((f"{where}.level", level, "a text or a number"))
        for k in ("levels", "level_labels"):
            v = raw.get(k, [])
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                problems.append((f"{where}.{k}", v, "a list of texts"))
            else:
                problems.extend((f"{where}.{k}", x, why) for x in v
                                if (why := label_problem(x)) is not None)
        for k in ("mean_sd", "descriptive"):
            if not isinstance(raw.get(k, False), bool):
                problems.append((f"{where}.{k}", raw.get(k), "true or false"))
        for k in ("key", "section"):
            if not isinstance(raw.get(k, ""), str):
                problems.append((f"{where}.{k}", raw.get(k), "a text"))
            elif raw.get(k) and (why := label_problem(raw[k])) is not None:
                problems.append((f"{where}.{k}", raw[k], why))
        if len(problems) > n_before:
            continue
        rows.append(Table1Row(
            label=raw["label"].strip(), column=raw["column"].strip(), kind=kind,
            threshold=float(threshold) if threshold is not None else None,
            level=float(level) if _finite(level) else level,
            levels=tuple(raw.get("levels", [])), level_labels=tuple(raw.get("level_labels", [])),
            key=raw.get("key", ""), section=raw.get("section", ""),
            mean_sd=raw.get("mean_sd", False), descriptive=raw.get("descriptive", False)))
    return tuple(rows), problems
