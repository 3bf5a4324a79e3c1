"""The reproduction of the published numbers as an appendix of the report.

Built from the table of ``reproduction.csv`` alone (the documented columns ``id``, ``location``,
``published``, ``reproduced_rounded``, ``status``, ``note``; see ``docs/reproduction.md``), so the
report layer needs nothing of how the numbers were matched and judged.
"""

from __future__ import annotations

import pandas as pd

from poems_cohort.report.appendix import Appendix, Folded
from poems_cohort.report.tables import DisplayTable

SECTION_ID = "reproduction"
TITLE = "Reproduction of the published numbers"
REQUIRED = ("id", "location", "published", "reproduced_rounded", "status", "note")
EXACT = "exact"

# The statuses in the order of docs/reproduction.md, with what each means.
STATUS_MEANINGS: dict[str, str] = {
    "exact": "ours prints as the published value at its printed precision",
    "close": "not exact, but within the tolerance set for that kind of number",
    "inconsistent-in-paper": "the paper's own numbers rule the printed value out",
    "missed": "none of the above; the note says why",
    "not-a-result": "another study's result or a parameter of the methods",
}

COLUMNS = {"id": "Id", "location": "Where printed", "published": "Published",
           "reproduced_rounded": "Ours", "status": "Status", "note": "Note"}
OURS_NOTE = ("Ours: the value computed on this cohort at the printed precision (half rounding "
             "up; — when the study gives none); reproduction.csv holds it at full precision.")


def _statuses(frame: pd.DataFrame) -> list[str]:
    """The documented statuses in order, then any other status found, in order of appearance."""
    known = list(STATUS_MEANINGS)
    return known + [s for s in dict.fromkeys(frame["status"]) if s not in STATUS_MEANINGS]


def _text(value: object) -> str:
    return "" if pd.isna(value) else str(value)


def _rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The shown columns as text (``—`` for a missing value of ours)."""
    shown = pd.DataFrame({label: [_text(v) for v in frame[col]]
                          for col, label in COLUMNS.items()})
    shown["Ours"] = [v or "—" for v in shown["Ours"]]
    return shown


def counts_table(frame: pd.DataFrame) -> DisplayTable:
    """The count of published numbers by status (zero included), with the total."""
    counts = frame["status"].value_counts()
    statuses = _statuses(frame)
    shown = pd.DataFrame({
        "Status": [*statuses, "Total"],
        "Numbers": [str(int(counts.get(s, 0))) for s in statuses] + [str(len(frame))],
        "Meaning": [STATUS_MEANINGS.get(s, "") for s in statuses] + [""],
    })
    return DisplayTable("reproduction_counts", "Published numbers by status", shown)


def not_exact_table(frame: pd.DataFrame) -> DisplayTable:
    """Every number not reproduced exactly, by status (in the order of the counts), then in
    the order of the published record."""
    order = {s: k for k, s in enumerate(_statuses(frame))}
    rows = frame[frame["status"] != EXACT]
    rows = rows.iloc[sorted(range(len(rows)), key=lambda i: (order[rows["status"].iloc[i]], i))]
    return DisplayTable("reproduction_not_exact",
                        f"Numbers not reproduced exactly ({len(rows)})", _rows(rows),
                        note=OURS_NOTE, text_columns=("Where printed", "Note"))


def full_table(frame: pd.DataFrame) -> DisplayTable:
    """Every published number, in the order of the published record."""
    return DisplayTable("reproduction", TITLE, _rows(frame), note=OURS_NOTE,
                        text_columns=("Where printed", "Note"))


def method_paragraph(frame: pd.DataFrame, reference: str = "") -> str:
    """What the section shows and where its rules are defined."""
    paper = f"the published study ({reference})" if reference else "the published study"
    return (f"Each of the {len(frame)} numbers and statements of significance printed in "
            f"{paper} is set beside the value this cohort gives, at the precision printed, "
            "and given a status. The statuses, the order in which they are applied and the "
            "tolerance of 'close' (within 2 units of the last printed digit, p-values also "
            "within 10%; counts exact only) are defined in the project documentation, in the "
            "'Reproduction results' section of docs/reproduction.md. The same rows, with our "
            "values at full precision, are in reproduction.csv beside this report and in the "
            "'reproduction' sheet of tables.xlsx.")


def reproduction_appendix(frame: pd.DataFrame, *, reference: str = "") -> Appendix:
    """The report section, the ``reproduction`` sheet and ``reproduction.csv`` for the table
    ``frame`` (one row per published number, the columns of ``reproduction.csv``).
    ``reference``: the paper as plain text (``"doi:10.1038/…"``), never a link."""
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise ValueError(f"the reproduction table lacks the column(s) {', '.join(missing)}")
    frame = frame.reset_index(drop=True)
    not_exact = not_exact_table(frame)
    full = full_table(frame)
    blocks: list[str | DisplayTable | Folded] = [method_paragraph(frame, reference),
                                                 counts_table(frame)]
    if len(not_exact.frame):
        blocks.append(not_exact)
    else:
        blocks.append("Every published number is reproduced exactly.")
    blocks.append(Folded(f"All {len(frame)} published numbers", full))
    csv = frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
    return Appendix(SECTION_ID, TITLE, tuple(blocks), sheets=(full,),
                    files=(("reproduction.csv", csv),))
