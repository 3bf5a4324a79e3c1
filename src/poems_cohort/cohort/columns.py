"""The data dictionary as code: every input column, its kind, unit, allowed values and aliases.

``COLUMNS`` describes the patients table, ``VISIT_COLUMNS`` the optional visits table. Readers use
the aliases to recognise a user's column names; validation uses kinds, ranges and allowed values;
``docs/data-dictionary.md`` documents the same facts for users.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["id", "category", "number", "boolean", "date"]


@dataclass(frozen=True, slots=True)
class Column:
    """One canonical input column.

    ``allowed`` lists the canonical spellings of a category; ``synonyms`` maps other accepted
    spellings (compared case-insensitively) to them. ``minimum``/``maximum`` bound numbers
    (inclusive); ``integer`` demands whole numbers. ``required`` columns must be present in the
    file (their cells may still be empty unless ``nonempty``).
    """

    name: str
    kind: Kind
    description: str
    unit: str | None = None
    allowed: tuple[str, ...] = ()
    synonyms: tuple[tuple[str, str], ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    required: bool = False
    nonempty: bool = False
    aliases: tuple[str, ...] = ()

    def __repr__(self) -> str:
        need = "required" if self.required else "optional"
        return f"Column({self.name!r}, {self.kind}, {need})"

    def required_text(self) -> str:
        """What a cell that must hold a value should hold (:meth:`expected` without "or
        empty")."""
        return self.expected().removesuffix(" or empty")

    def expected(self) -> str:
        """What a valid cell of this column looks like, in words."""
        if self.kind == "category":
            return "one of " + ", ".join(self.allowed) if self.allowed else "a non-empty text"
        if self.kind == "boolean":
            return "yes/no (also y/n, true/false, 1/0) or empty"
        if self.kind == "date":
            return "a date YYYY-MM-DD or empty"
        if self.kind == "id":
            return "a non-empty identifier"
        what = "an integer" if self.integer else "a number"
        if self.minimum is not None and self.maximum is not None:
            what += f" from {number_text(self.minimum)} to {number_text(self.maximum)}"
        elif self.minimum is not None:
            what += f" ≥ {number_text(self.minimum)}"
        if self.unit:
            what += f" ({self.unit})"
        return what


def number_text(x: float) -> str:
    """A bound as the data dictionary writes it: ``1,000,000``, ``0.01``, ``12``."""
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


def _yes_no(name: str, description: str, *aliases: str, required: bool = True) -> Column:
    return Column(name, "boolean", description, required=required, aliases=aliases)


LAB_RANGES: dict[str, tuple[float, float]] = {
    "spe_g_l": (0.0, 100.0),
    "albumin_g_l": (5.0, 70.0),
    "egfr": (1.0, 250.0),
    "creatinine_mg_dl": (0.1, 25.0),
    "urine_protein_g_24h": (0.0, 50.0),
    "vegf_pg_ml": (0.0, 1_000_000.0),
    "flc_kappa_mg_l": (0.01, 100_000.0),
    "flc_lambda_mg_l": (0.01, 100_000.0),
}
"""Plausible range of each laboratory column (inclusive, in the column's unit): a value outside
is physiologically impossible or a unit/typing error, and is refused rather than computed on
(a creatinine of 1e-300 mg/dl would give an eGFR of 1e100). The bounds are wide on purpose:
they stop impossible values, not unusual patients. Documented in docs/data-dictionary.md."""


def _lab(name: str, description: str, unit: str, *aliases: str, required: bool = True) -> Column:
    low, high = LAB_RANGES[name]
    return Column(name, "number", description, unit=unit, minimum=low, maximum=high,
                  required=required, aliases=aliases)


def _ife(name: str, description: str, *aliases: str, required: bool = False) -> Column:
    return Column(name, "category", description, required=required, aliases=aliases,
                  allowed=("positive", "negative"),
                  synonyms=(("pos", "positive"), ("+", "positive"), ("neg", "negative"),
                            ("-", "negative")))

COLUMNS: tuple[Column, ...] = (
    Column("patient_id", "id", "Patient identifier, unique in the patients table.",
           required=True, nonempty=True,
           aliases=("id", "patient", "patientid", "patient_no", "subject", "subject_id")),
    Column("sex", "category", "Sex.", allowed=("M", "F"),
           synonyms=(("male", "M"), ("female", "F")), required=True, aliases=("gender",)),
    Column("age", "number", "Age at treatment start.", unit="years", minimum=0.0, maximum=120.0,
           required=True, aliases=("age_years", "age_at_treatment", "age_at_diagnosis")),
    Column("regimen", "category", "First-line regimen (after regimen-alias mapping): any "
           "name; the analysis plan chooses the regimens compared.", required=True, nonempty=True,
           aliases=("treatment", "first_line_regimen", "first_line_treatment", "therapy")),
    Column("treatment_start", "date", "Date the first-line treatment started.", required=True,
           aliases=("start_date", "treatment_start_date", "treatment_date", "date_of_treatment")),
    Column("onls", "number", "Overall Neuropathy Limitations Scale at baseline.", unit="points",
           minimum=0.0, maximum=12.0, integer=True, required=True,
           aliases=("onls_score", "baseline_onls")),
    _yes_no("hepatomegaly", "Enlarged liver.", "hepatomegaly_yn"),
    _yes_no("splenomegaly", "Enlarged spleen.", "splenomegaly_yn"),
    _yes_no("lymphadenopathy", "Enlarged lymph nodes.", "lymph_node_enlargement"),
    Column("heavy_chain", "category", "Monoclonal heavy-chain type.",
           allowed=("IgA", "IgG", "IgM", "none"), synonyms=(("a", "IgA"), ("g", "IgG"),
           ("m", "IgM"), ("no", "none")), required=True, aliases=("heavy", "m_protein_heavy_chain")),
    Column("light_chain", "category", "Monoclonal light-chain type.", allowed=("lambda", "kappa"),
           synonyms=(("λ", "lambda"), ("l", "lambda"), ("κ", "kappa"), ("k", "kappa")),
           required=True, aliases=("light", "m_protein_light_chain")),
    _lab("spe_g_l", "Serum protein electrophoresis, M-spike.", "g/l", "spe", "m_spike"),
    Column("bmpc_pct", "number", "Bone-marrow plasma cells.", unit="%", minimum=0.0,
           maximum=100.0, required=True, aliases=("bmpc", "bone_marrow_plasma_cells")),
    _yes_no("angioma", "Angiomata (glomeruloid or cherry haemangioma).", "hemangioma"),
    _yes_no("peripheral_edema", "Peripheral oedema.", "edema", "oedema", "peripheral_oedema"),
    _yes_no("ascites", "Ascites."),
    _yes_no("pleural_effusion", "Pleural effusion.", "effusion"),
    _yes_no("pulmonary_hypertension", "Pulmonary hypertension.", "pah"),
    _yes_no("castleman", "Castleman disease on biopsy; empty = not biopsied.",
            "castleman_disease"),
    _yes_no("papilledema", "Papilloedema.", "papilloedema"),
    _yes_no("osteosclerosis", "Sclerotic bone lesions.", "sclerotic_bone_lesions"),
    _lab("albumin_g_l", "Serum albumin.", "g/l", "albumin"),
    _lab("egfr", "Estimated GFR; computed from creatinine (CKD-EPI 2009) when absent.",
         "ml/min/1.73 m²", "egfr_ml_min", required=False),
    _lab("creatinine_mg_dl", "Serum creatinine (used when eGFR is absent).", "mg/dl",
         "creatinine", "scr", required=False),
    _lab("urine_protein_g_24h", "24-hour urine protein.", "g/24 h", "urine_protein",
         "proteinuria"),
    _lab("vegf_pg_ml", "Serum VEGF at baseline.", "pg/ml", "vegf", "serum_vegf"),
    _ife("serum_ife", "Serum immunofixation at baseline.", "sife", required=True),
    _ife("urine_ife", "Urine immunofixation at baseline.", "uife", required=True),
    _lab("flc_kappa_mg_l", "Serum free light chain kappa at baseline.", "mg/l", "flc_kappa",
         "kappa_flc"),
    _lab("flc_lambda_mg_l", "Serum free light chain lambda at baseline.", "mg/l", "flc_lambda",
         "lambda_flc"),
    Column("progression_date", "date", "Date of progression; empty = none.", required=True,
           aliases=("progression", "pd_date", "date_of_progression", "relapse_date")),
    Column("death_date", "date", "Date of death; empty = alive.", required=True,
           aliases=("dead_date", "date_of_death", "dod")),
    Column("last_followup", "date", "Date of the last follow-up.", required=True,
           aliases=("last_follow_up", "last_fu", "last_followup_date", "followup_date",
                    "date_last_followup")),
    Column("death_cause", "category", "Cause of death.",
           allowed=("treatment-related", "disease", "other", "unknown"),
           synonyms=(("treatment related", "treatment-related"),
                     ("treatment_related", "treatment-related"), ("trm", "treatment-related")),
           aliases=("cause_of_death",)),
    _yes_no("secondary_malignancy", "Second malignancy during follow-up (optional: the report "
            "says 'not recorded' without it).", "second_malignancy", required=False),
    _yes_no("polyneuropathy", "Polyneuropathy (mandatory diagnostic criterion).",
            "peripheral_neuropathy", "neuropathy", required=False),
    _yes_no("monoclonal_plasma_cell", "Monoclonal plasma-cell disorder (mandatory criterion).",
            "monoclonal_plasma_cell_disorder", "monoclonal_gammopathy", required=False),
    _yes_no("endocrinopathy", "Endocrinopathy (minor criterion).", required=False),
    _yes_no("skin_changes", "Skin changes (minor criterion).", "skin_change", required=False),
    _yes_no("thrombocytosis_or_polycythemia", "Thrombocytosis or polycythaemia (minor criterion).",
            "thrombocytosis", "polycythemia", required=False),
    Column("crh_date", "date", "First date of haematologic complete response; empty = not reached.",
           aliases=("date_crh",)),
    Column("crv_date", "date", "First date of VEGF complete response; empty = not reached.",
           aliases=("date_crv",)),
    Column("rn_date", "date", "First date of neurological response; empty = not reached.",
           aliases=("date_rn",)),
    _yes_no("crh_evaluable", "Haematologic response evaluable.", required=False),
    _yes_no("crv_evaluable", "VEGF response evaluable.", required=False),
    _yes_no("rn_evaluable", "Neurological response evaluable.", required=False),
)

VISIT_COLUMNS: tuple[Column, ...] = (
    Column("patient_id", "id", "Patient identifier (must be in the patients table).",
           required=True, nonempty=True, aliases=COLUMNS[0].aliases),
    Column("visit_date", "date", "Date of the assessment.", required=True, nonempty=True,
           aliases=("date", "assessment_date", "visit")),
    _ife("serum_ife", "Serum immunofixation.", "sife"),
    _ife("urine_ife", "Urine immunofixation.", "uife"),
    _lab("flc_kappa_mg_l", "Serum free light chain kappa.", "mg/l", "flc_kappa", "kappa_flc",
         required=False),
    _lab("flc_lambda_mg_l", "Serum free light chain lambda.", "mg/l", "flc_lambda",
         "lambda_flc", required=False),
    _lab("vegf_pg_ml", "Serum VEGF.", "pg/ml", "vegf", "serum_vegf", required=False),
    Column("onls", "number", "ONLS score.", unit="points", minimum=0.0, maximum=12.0,
           integer=True, aliases=("onls_score",)),
)

RESPONSE_SOURCES: dict[str, tuple[str, ...]] = {
    "crh": ("serum_ife", "urine_ife"),
    "crv": ("vegf_pg_ml",),
    "rn": ("onls",),
}
"""The visits-table columns each response (CRH, CRV, RN) is judged from. Without a visits table a
response comes from the patients table's ``<response>_date`` column (and ``<response>_evaluable``).
A response whose source is absent is not evaluable for any patient (docs/endpoints.md)."""

BUILTIN_REGIMEN_ALIASES: dict[str, str] = {
    "asct": "ASCT",
    "auto-sct": "ASCT",
    "autosct": "ASCT",
    "auto sct": "ASCT",
    "sct": "ASCT",
    "hdm/asct": "ASCT",
    "hdt/asct": "ASCT",
    "autologous stem cell transplantation": "ASCT",
    "mdex": "MDex",
    "md": "MDex",
    "mel-dex": "MDex",
    "meldex": "MDex",
    "melphalan+dexamethasone": "MDex",
    "melphalan + dexamethasone": "MDex",
    "melphalan dexamethasone": "MDex",
    "ldex": "LDex",
    "rd": "LDex",
    "len-dex": "LDex",
    "lendex": "LDex",
    "lenalidomide+dexamethasone": "LDex",
    "lenalidomide + dexamethasone": "LDex",
    "lenalidomide dexamethasone": "LDex",
}
"""Regimen spellings recognised without any mapping (keys compared case-insensitively)."""

TABLE1_ONLY: tuple[str, ...] = ("heavy_chain", "light_chain", "spe_g_l", "bmpc_pct",
                                 "albumin_g_l", "urine_protein_g_24h")
"""Required columns read only by the published Table 1 (no clinical rule uses them): optional
for a plan whose Table 1 does not show them."""

REGIMENS: tuple[str, ...] = ("ASCT", "MDex", "LDex")
"""The published study's regimens (the targets of the built-in aliases). Any other regimen name
is valid input; the analysis plan names the regimens compared."""


def normalize_name(name: object) -> str:
    """Lower-case a column header and turn spaces, hyphens and dots into single underscores."""
    text = str(name).strip().lower()
    text = re.sub(r"[\s\-.]+", "_", text)
    return re.sub(r"_+", "_", text).strip("_")


def lookup(columns: tuple[Column, ...]) -> dict[str, str]:
    """Map every normalised canonical name and alias to its canonical column name."""
    found: dict[str, str] = {}
    for column in columns:
        for key in (column.name, *column.aliases):
            found.setdefault(normalize_name(key), column.name)
    return found


def by_name(columns: tuple[Column, ...]) -> dict[str, Column]:
    """The columns keyed by canonical name."""
    return {c.name: c for c in columns}


PATIENT_TABLE = by_name(COLUMNS)
VISIT_TABLE = by_name(VISIT_COLUMNS)


STUDY_COLUMN_TYPES: dict[str, Kind] = {"number": "number", "boolean": "boolean", "text": "category"}
"""The types an analysis plan gives to the study columns it reads (``AnalysisPlan.study_columns``)."""


def study_columns(types: dict[str, str] | None) -> tuple[Column, ...]:
    """The extra patient columns a plan reads, as columns of the given types (``"number"``,
    ``"boolean"`` or ``"text"``: any non-empty text). A column of the data dictionary keeps its
    own definition and is left out."""
    known = {c.name for c in COLUMNS}
    return tuple(Column(name, STUDY_COLUMN_TYPES[kind], "Study column (typed by the analysis "
                        "plan).") for name, kind in (types or {}).items() if name not in known)
