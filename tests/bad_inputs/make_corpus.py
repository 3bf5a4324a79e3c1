"""Writes the bad-input corpus from three patients of examples/ten-patients.

Run from anywhere: ``python tests/bad_inputs/make_corpus.py``. Each file holds one defect; the
expected problem of each is listed in EXPECTED.toml, checked by tests/cohort/test_bad_inputs.py.
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parents[1] / "examples" / "ten-patients"


def base() -> tuple[list[str], list[list[str]]]:
    with (EXAMPLE / "patients.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))
    keep = [r for r in rows[1:] if r[0] in ("P01", "P05", "P08")]
    return rows[0], keep


def visits() -> tuple[list[str], list[list[str]]]:
    with (EXAMPLE / "visits.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], [r for r in rows[1:] if r[0] in ("P01", "P05", "P08")]


def text(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def edited(changes: dict[tuple[str, str], str]) -> str:
    """Patients CSV with cells changed: {(patient_id, column): new value}."""
    header, rows = base()
    for (pid, column), value in changes.items():
        row = next(r for r in rows if r[0] == pid)
        row[header.index(column)] = value
    return text(header, rows)


def dropped(*columns: str) -> str:
    header, rows = base()
    keep = [i for i, name in enumerate(header) if name not in columns]
    return text([header[i] for i in keep], [[r[i] for i in keep] for r in rows])


def write(name: str, content: str | bytes) -> None:
    path = HERE / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


def main() -> None:
    for old in HERE.iterdir():
        if old.is_dir():
            shutil.rmtree(old)
        elif old.name not in ("make_corpus.py", "EXPECTED.toml", "README.md"):
            old.unlink()
    header, rows = base()
    write("missing_required_column.csv", dropped("regimen"))
    write("no_egfr_or_creatinine.csv", dropped("egfr", "creatinine_mg_dl"))
    write("duplicate_patient_id.csv", edited({("P08", "patient_id"): "P01"}))
    write("empty_patient_id.csv", edited({("P05", "patient_id"): ""}))
    write("onls_out_of_range.csv", edited({("P01", "onls"): "13"}))
    write("onls_not_integer.csv", edited({("P08", "onls"): "4.5"}))
    write("negative_lab.csv", edited({("P05", "albumin_g_l"): "-3"}))
    write("age_out_of_range.csv", edited({("P01", "age"): "130"}))
    write("bad_number.csv", edited({("P01", "spe_g_l"): "5,2"}))
    write("unparseable_date.csv", edited({("P01", "treatment_start"): "12/03/2013"}))
    write("impossible_calendar_date.csv", edited({("P08", "last_followup"): "2018-02-30"}))
    write("death_before_start.csv", edited({("P08", "death_date"): "2016-10-01"}))
    write("progression_before_start.csv", edited({("P01", "progression_date"): "2012-12-31"}))
    write("followup_before_death.csv", edited({("P05", "last_followup"): "2016-08-01"}))
    write("bad_boolean.csv", edited({("P01", "hepatomegaly"): "maybe"}))
    write("unknown_category.csv", edited({("P05", "heavy_chain"): "IgD"}))
    write("unknown_sex.csv", edited({("P08", "sex"): "X"}))
    write("duplicate_column.csv", text([*header, "age_years"], [[*r, "50"] for r in rows]))
    write("empty.csv", "")
    write("header_only.csv", ",".join(header) + "\n")
    write("semicolon_separated.csv", text(header, rows).replace(",", ";"))
    ragged = text(header, rows).splitlines()
    ragged[2] += ",extra"
    write("ragged_row.csv", "\n".join(ragged) + "\n")
    comma = edited({("P01", "hepatomegaly"): "maybe"}).splitlines()
    spe = header.index("spe_g_l")
    cells = comma[2].split(",")
    cells[spe] = "31,5"  # a decimal comma, unquoted
    comma[2] = ",".join(cells)
    write("decimal_comma.csv", "\n".join(comma) + "\n")
    short = text(header, rows).splitlines()
    short[3] = ",".join(short[3].split(",")[:6])  # P08's line cut after 6 fields
    write("short_line.csv", "\n".join(short) + "\n")
    write("not_utf8.csv", edited({("P01", "death_cause"): "d\u00e9c\u00e8s"}).encode("latin-1"))
    write("not_a_workbook.xlsx", "patient_id,sex\nP01,M\n")
    write("patients.json", '[{"patient_id": "P01"}]\n')
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Sheet1"
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    workbook.save(HERE / "missing_sheet.xlsx")
    vheader, vrows = visits()
    write("visit_of_unknown_patient/patients.csv", text(header, rows))
    vrows[1][0] = "P99"
    write("visit_of_unknown_patient/visits.csv", text(vheader, vrows))
    vheader, vrows = visits()
    vrows[3][1] = "soon"
    write("visit_bad_date/patients.csv", text(header, rows))
    write("visit_bad_date/visits.csv", text(vheader, vrows))
    vheader, vrows = visits()
    vrows[5][1] = "2016-10-01"  # P05 died on 2016-09-03
    write("visit_after_death/patients.csv", text(header, rows))
    write("visit_after_death/visits.csv", text(vheader, vrows))
    vheader, vrows = visits()
    write("folder_without_patients/visits.csv", text(vheader, vrows))


if __name__ == "__main__":
    main()
