"""``poems-cohort reproduce`` writes the whole study output, reproduction.csv and a report
section on a small synthetic cohort (the bundled cohort's run is in ``test_reproduce.py``)."""

from __future__ import annotations

import io
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from poems_cohort.cli import app
from poems_cohort.data import (
    SYNTHETIC_MARKER,
    synthetic_marker_text,
    write_synthetic_manifest,
)
from poems_cohort.report.reproduction import STATUS_MEANINGS, TITLE
from poems_cohort.synth.reproduce import EXACT, STATUSES
from tests.report.test_run_outputs import EXPECTED, files_of

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ten-patients"


class SectionTables(HTMLParser):
    """The cell texts of every table inside ``<section id=...>``, and whether each lies in a
    ``<details>`` element."""

    def __init__(self, section_id: str) -> None:
        super().__init__()
        self.section_id = section_id
        self.depth = 0          # section nesting while inside the wanted section
        self.in_details = False
        self.tables: list[tuple[bool, list[list[str]]]] = []
        self.cell: list[str] | None = None
        self.title = ""
        self._in_h2 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth == 0:
            if tag == "section" and dict(attrs).get("id") == self.section_id:
                self.depth = 1
            return
        if tag == "section":
            self.depth += 1
        elif tag == "details":
            self.in_details = True
        elif tag == "h2":
            self._in_h2 = True
        elif tag == "table":
            self.tables.append((self.in_details, []))
        elif tag == "tr":
            self.tables[-1][1].append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if self.depth == 0:
            return
        if tag == "section":
            self.depth -= 1
        elif tag == "details":
            self.in_details = False
        elif tag == "h2":
            self._in_h2 = False
        elif tag in ("td", "th") and self.cell is not None:
            self.tables[-1][1][-1].append("".join(self.cell))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)
        elif self._in_h2:
            self.title += data


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("synthetic") / "cohort"
    shutil.copytree(EXAMPLE, folder)
    (folder / SYNTHETIC_MARKER).write_text(synthetic_marker_text(2019, 10), encoding="utf-8")
    write_synthetic_manifest(folder)
    return folder


@pytest.fixture(scope="module")
def out(cohort, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("reproduce") / "out"
    result = CliRunner().invoke(app, ["reproduce", str(cohort), "--out", str(folder),
                                      "--quiet"])
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture(scope="module")
def frame(out) -> pd.DataFrame:
    return pd.read_csv(out / "reproduction.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def section(out) -> SectionTables:
    parser = SectionTables("reproduction")
    parser.feed((out / "report.html").read_text(encoding="utf-8"))
    return parser


def test_reproduce_writes_every_file_of_run_and_reproduction_csv(out):
    assert files_of(out) == EXPECTED | {"reproduction.csv", ".poems-cohort-manifest.json"}


def test_the_report_statuses_are_the_documented_ones_in_order():
    assert tuple(STATUS_MEANINGS) == STATUSES


def test_the_section_counts_equal_the_csv(section, frame):
    assert section.title == TITLE
    in_details, counts = section.tables[0]
    assert not in_details
    assert counts[0] == ["Status", "Numbers", "Meaning"]
    shown = {row[0]: int(row[1]) for row in counts[1:]}
    expected = frame["status"].value_counts()
    assert shown == {**{s: int(expected.get(s, 0)) for s in STATUSES}, "Total": len(frame)}
    assert sum(shown[s] for s in STATUSES) == len(frame)


def test_the_section_lists_every_number_not_exact_and_folds_the_full_table(section, frame):
    assert [d for d, _ in section.tables] == [False, False, True]
    _, not_exact = section.tables[1]
    assert not_exact[0] == ["Id", "Where printed", "Published", "Ours", "Status", "Note"]
    rows = {r[0]: r for r in not_exact[1:]}
    wanted = frame[frame["status"] != EXACT].set_index("id")
    assert set(rows) == set(wanted.index)
    for number_id, row in rows.items():
        w = wanted.loc[number_id]
        ours = w["reproduced_rounded"] or "—"
        assert row[1:] == [w["location"], w["published"], ours, w["status"], w["note"]]
    _, full = section.tables[2]
    assert [r[0] for r in full[1:]] == list(frame["id"])


def test_the_workbook_has_the_reproduction_sheet(out, frame):
    wb = load_workbook(io.BytesIO((out / "tables" / "tables.xlsx").read_bytes()))
    assert wb.sheetnames[-1] == "reproduction"
    ws = wb["reproduction"]
    ids = [ws.cell(row=r, column=1).value for r in range(4, 4 + len(frame))]
    assert ids == list(frame["id"])


def test_the_section_names_the_rules_without_a_link_and_the_cohort_stays_synthetic(out):
    html = (out / "report.html").read_text(encoding="utf-8")
    start = html.index('<section id="reproduction"')
    part = html[start:]
    assert "docs/reproduction.md" in part and "doi:10.1038/" in part
    assert "http" not in part.lower() and "//" not in part and "<a " not in part
    assert "Synthetic cohort." in html[:start]
    patients = pd.read_csv(EXAMPLE / "patients.csv", dtype=str)
    ids = set(patients["patient_id"])
    dates = {v for c in ("treatment_start", "last_followup") for v in patients[c].dropna()}
    csv = (out / "reproduction.csv").read_text(encoding="utf-8")
    for text in (part, csv):
        assert not [x for x in ids | dates if x in text]  # no patient id or date


def test_bad_input_leaves_a_previous_output_untouched(tmp_path, out):
    before = {p: (out / p).read_bytes() for p in files_of(out)}
    plan = tmp_path / "plan.toml"
    plan.write_text('test_policy = "sometimes"\n')
    result = CliRunner().invoke(app, ["reproduce", str(EXAMPLE), "--out", str(out),
                                      "--plan", str(plan)])
    assert result.exit_code == 2
    assert "nothing was written" in result.output
    assert {p: (out / p).read_bytes() for p in files_of(out)} == before


def test_beside_the_reproduction_the_output_is_the_output_of_run(cohort, out, tmp_path):
    ran = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", str(cohort), "--out", str(ran), "--quiet"])
    assert result.exit_code == 0, result.output
    for rel in sorted(EXPECTED - {"report.html", "tables/tables.xlsx"}):
        assert (out / rel).read_bytes() == (ran / rel).read_bytes(), rel
    html = (out / "report.html").read_text(encoding="utf-8")
    entry = f'<li><a href="#reproduction">{TITLE}</a></li>'
    section = html[html.index('<section id="reproduction"'):html.index("</body>")]
    assert html.replace(entry, "").replace(section, "") == (ran / "report.html").read_text(
        encoding="utf-8")
    sheets = load_workbook(io.BytesIO((ran / "tables" / "tables.xlsx").read_bytes())).sheetnames
    assert load_workbook(io.BytesIO((out / "tables" / "tables.xlsx").read_bytes())
                         ).sheetnames == [*sheets, "reproduction"]
