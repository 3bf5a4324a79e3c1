"""Writes the bad-input corpus from three patients of examples/ten-patients.

Run from anywhere: ``python tests/bad_inputs/make_corpus.py``. Each file holds one defect; the
expected problem of each is listed in EXPECTED.toml, checked by tests/cohort/test_bad_inputs.py.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

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


def workbook(name: str, header: list[str], rows: list[list[str]],
             edit: Callable[[Workbook], None] | None = None, title: str = "patients") -> Path:
    """An .xlsx file with one sheet ``title`` holding the table (text cells), then ``edit``."""
    book = Workbook()
    sheet = book.active
    sheet.title = title
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    if edit is not None:
        edit(book)
    path = HERE / name
    book.save(path)
    return path


def patch_part(path: Path, part: str, change: Callable[[bytes], bytes]) -> None:
    """Rewrite one part (file) inside an .xlsx zip archive."""
    with zipfile.ZipFile(path) as archive:
        items = [(info, archive.read(info.filename)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in items:
            archive.writestr(info, change(data) if info.filename == part else data)


def cell_ref(header: list[str], column: str, row: int) -> str:
    return f"{get_column_letter(header.index(column) + 1)}{row}"


def trust_corpus() -> None:
    """The inputs of issue 8 (never compute on misread data; never a traceback)."""
    header, rows = base()
    sheet_xml = "xl/worksheets/sheet1.xml"

    def formula(book: Workbook) -> None:  # P08 (row 4) died on a date computed by a formula
        book.active[cell_ref(header, "death_date", 4)] = "=DATE(2017,1,1)"

    workbook("formula_without_result.xlsx", header, rows, formula)

    def merged(book: Workbook) -> None:  # castleman of P01 and P05 merged: P05 reads as empty
        first, last = cell_ref(header, "castleman", 2), cell_ref(header, "castleman", 3)
        book.active.merge_cells(f"{first}:{last}")

    workbook("merged_cells.xlsx", header, rows, merged)

    def twice(book: Workbook) -> None:
        other = book.create_sheet("Patients ")
        for row in book.active.iter_rows(values_only=True):
            other.append(list(row))

    workbook("two_patients_sheets.xlsx", header, rows, twice)

    def chart(book: Workbook) -> None:
        book.create_chartsheet("patients")

    workbook("chartsheet_patients.xlsx", header, rows, chart, title="data")
    path = workbook("truncated_sheet.xlsx", header, rows)
    patch_part(path, sheet_xml, lambda data: data[: len(data) * 3 // 5])
    path = workbook("excel_error_cell.xlsx", header, rows)
    age = cell_ref(header, "age", 2).encode()
    patch_part(path, sheet_xml, lambda data: re.sub(
        rb'<c r="' + age + rb'"[^>]*>.*?</c>',
        b'<c r="' + age + b'" t="e"><v>#DIV/0!</v></c>', data, count=1))

    write("thousands_underscore.csv", edited({("P01", "vegf_pg_ml"): "4_820"}))
    write("thousands_comma.csv", edited({("P01", "vegf_pg_ml"): "4,820"}))
    write("fullwidth_digits.csv", edited({("P01", "age"): "\uff14\uff12"}))
    arabic = str.maketrans("0123456789", "\u0660\u0661\u0662\u0663\u0664\u0665\u0666"
                           "\u0667\u0668\u0669")
    start = next(r for r in rows if r[0] == "P05")[header.index("treatment_start")]
    write("arabic_indic_date.csv", edited({("P05", "treatment_start"): start.translate(arabic)}))
    write("id_control_character.csv", edited({("P05", "patient_id"): "P\x0705"}))
    write("id_newline.csv", edited({("P05", "patient_id"): "P0\n5"}))
    write("id_zero_width.csv", edited({("P08", "patient_id"): "P0\u200b8"}))
    write("id_case_duplicate.csv", edited({("P08", "patient_id"): "p01"}))
    write("id_fullwidth_duplicate.csv", edited({("P08", "patient_id"): "\uff30\uff10\uff11"}))
    write("creatinine_zero.csv", edited({("P05", "creatinine_mg_dl"): "0"}))
    write("creatinine_tiny.csv", edited({("P05", "creatinine_mg_dl"): "1e-300"}))
    write("lab_1e300.csv", edited({("P08", "vegf_pg_ml"): "1e300"}))
    frame = pd.DataFrame(rows, columns=header)
    frame["patient_id"] = [[pid] for pid in frame["patient_id"]]
    frame.to_parquet(HERE / "parquet_list_id.parquet", index=False)
    frame = pd.DataFrame(rows, columns=header)
    frame["vegf_pg_ml"] = [{"value": float(v), "unit": "pg/ml"} for v in frame["vegf_pg_ml"]]
    frame.to_parquet(HERE / "parquet_record_vegf.parquet", index=False)

    write("mapping_regimen_swap.toml", '[regimens]\nASCT = "LDex"\nLDex = "ASCT"\n')
    write("mapping_builtin_realias.toml", '[regimens]\nRd = "ASCT"\n')
    write("mapping_label_control.toml", '[regimens]\n"auto\\u0000sct" = "ASCT"\n')
    write("mapping_nested.toml", "x = " + "[" * 50_000 + "]" * 50_000 + "\n")
    write("plan_nested.toml", "regimens = " + "[" * 50_000 + "]" * 50_000 + "\n")
    write("plan_huge_integer.toml", "survival_landmark_months = " + "9" * 400 + "\n")
    write("plan_label_control.toml", '[subgroups]\nall = "all"\nlow = ["low"]\n'
          '"medium-high" = ["medium", "high"]\n"high\\u0007" = ["high"]\n')


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
    trust_corpus()


if __name__ == "__main__":
    main()
