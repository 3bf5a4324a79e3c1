"""``poems-cohort run`` end to end: files, report structure, privacy, reproducibility, errors."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

from typer.testing import CliRunner

from poems_cohort.cli import app
from poems_cohort.workflow import run as run_pipeline

EXPECTED = {
    "report.html", "results.json", "analysis_dataset.csv",
    *(f"tables/{t}.csv" for t in ("flow", "table1", "table2", "kinetics", "survival",
                                  "followup", "tests", "supplementary_table1")),
    "tables/tables.xlsx", "tables/tables.docx",
    *(f"figures/{f}.{ext}" for f in ("flow", "figure1", "figure2", "supplementary_figure1")
      for ext in ("png", "svg")),
    # the comparative analyses; the ten patients are too few for the propensity model, so
    # there is no weights or balance table, no weighted curves and no love plot; no Cox model
    # converges (an arm without events), so there is no proportional-hazards table and no
    # forest plot
    *(f"tables/{t}.csv" for t in ("table2_effects", "cumulative_incidence", "landmark",
                                  "hazard_ratios", "rmst")),
    *(f"figures/{f}.{ext}" for f in ("figure1_cumulative_incidence", "figure_landmark")
      for ext in ("png", "svg")),
}


def files_of(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def texts_of(path: Path) -> list[str]:
    """The searchable text of an output file (zip members for XLSX/DOCX; none for PNG)."""
    if path.suffix in (".xlsx", ".docx"):
        with zipfile.ZipFile(path) as z:
            return [z.read(n).decode("utf-8", "replace") for n in z.namelist()]
    if path.suffix == ".png":
        return []
    text = path.read_text(encoding="utf-8")
    return [re.sub(r"data:[a-z/+]+;base64,[A-Za-z0-9+/=]+", "", text)]


def test_every_output_is_written(run_dir):
    assert files_of(run_dir) == EXPECTED | {".poems-cohort-manifest.json"}


def test_report_has_every_table_and_figure_and_no_url(run_dir):
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    for section in ("flow", "table1", "table2", "kinetics", "survival", "followup", "tests",
                    "figure1", "figure2", "supplementary_figure1", "supplementary_table1",
                    "methods", "results"):
        assert f'id="{section}"' in html, section
    assert html.count('src="data:image/png;base64,') == 6
    stripped = texts_of(run_dir / "report.html")[0]
    assert "http" not in stripped.lower()
    assert "//" not in stripped
    assert "@import" not in stripped and "url(" not in stripped
    assert "<script" not in stripped and "<link" not in stripped
    for word in ("Pearson chi-square", "log-rank", "numpy", "scipy", "pandas", "poems-cohort"):
        assert word in html


def test_no_patient_id_or_date_outside_the_analysis_dataset(run_dir, patient_ids,
                                                            patient_dates):
    assert patient_dates and patient_ids
    for rel in sorted(EXPECTED - {"analysis_dataset.csv"}):
        for text in texts_of(run_dir / rel):
            assert "ZQXW-" not in text, rel
            found = [d for d in patient_dates if d in text]
            assert not found, (rel, found[:3])
    dataset = (run_dir / "analysis_dataset.csv").read_text()
    assert all(pid in dataset for pid in patient_ids)


def test_results_json_structure(run_dir):
    doc = json.loads((run_dir / "results.json").read_text())
    for key in ("table1", "table2", "tests", "flow", "kinetics", "survival", "followup",
                "narrative", "plan", "versions", "events", "curves", "at_risk"):
        assert key in doc, key
    t2 = doc["table2"]
    assert {r["endpoint"] for r in t2} == {"CRH", "CRV", "CRH/CRV", "RN", "PFS", "OS"}
    assert {r["subgroup"] for r in t2} == {"all", "low", "medium-high", "high"}
    ref = [r for r in t2 if r["regimen"] == "ASCT"]
    assert all(r["p_value"] is None for r in ref)
    t1 = doc["table1"]
    assert {r["regimen"] for r in t1} == {"All", "MDex", "ASCT", "LDex"}
    assert {"characteristic", "n", "N", "percent", "p_value"} <= set(t1[0])
    assert doc["plan"]["reference"] == "ASCT"
    assert isinstance(doc["narrative"], str) and "patients" in doc["narrative"]
    descriptive = {(r["key"], r["regimen"]): r for r in doc["table1_descriptive"]}
    assert {k for k, _ in descriptive} == {"onls_zero", "lambda_light_chain"}
    lam = descriptive["lambda_light_chain", "All"]
    assert (lam["n"], lam["N"], lam["percent"]) == (10, 10, 100.0)  # all ten are lambda
    assert descriptive["onls_zero", "All"]["n"] == 0


def test_the_same_input_gives_identical_files(run_dir, cohort_dir):
    again = run_pipeline(cohort_dir, None).outputs.files
    for rel in sorted(EXPECTED):
        if rel.startswith(("tables/", "figures/")) or rel == "results.json":
            assert again[rel] == (run_dir / rel).read_bytes(), rel


def test_bad_input_writes_nothing_and_exits_2(tmp_path, cohort_dir):
    bad = tmp_path / "bad"
    bad.mkdir()
    text = (cohort_dir / "patients.csv").read_text().replace(",M,", ",X,", 1)
    (bad / "patients.csv").write_text(text)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(bad), "--out", str(out)])
    assert result.exit_code == 2
    assert not out.exists()


def test_unknown_plan_key_exits_2(tmp_path, cohort_dir):
    plan = tmp_path / "plan.toml"
    plan.write_text('test_polcy = "exact"\n')
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(cohort_dir), "--out", str(out),
                                      "--plan", str(plan)])
    assert result.exit_code == 2
    assert "test_polcy" in result.output
    assert not out.exists()


def _section(html: str, name: str) -> str:
    start = html.index(f'<section id="{name}"')
    return html[start:html.index("</section>", start)]


def test_the_flow_diagram_comes_before_table1_with_the_flow_table(run_dir):
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    flow = _section(html, "flow")
    assert html.index('id="flow"') < html.index('id="table1"')
    assert flow.index('<img alt="Patient flow"') < flow.index("<table>")
    assert html.count('id="flow"') == 1


def test_table1_and_table2_are_laid_out_as_published(run_dir):
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    t1 = _section(html, "table1")
    head = t1[t1.index("<thead>"):t1.index("</thead>")]
    order = [head.index(k) for k in ("Characteristic", "All patients (N=", "MDex (N=",
                                     "ASCT (N=", "LDex (N=", ">p<")]
    assert order == sorted(order)
    assert ">Test<" not in head  # the test is a footnote symbol on each p-value
    assert 'class="section"><span>Organomegaly<' in t1
    assert 'class="section"><span>Risk stratification<' in t1
    t2 = _section(html, "table2")
    groups = [g for g in ("All patients (N=", "Low risk (N=", "Medium-high risk (N=")
              if f'colspan="3" class="group">{g}' in t2]
    assert len(groups) == 3, t2[:600]
    assert "High risk" not in t2  # the other subgroups are in the supplementary table
    assert "High risk" in _section(html, "supplementary_table1")
    for endpoint in ("CRH", "CRV", "CRH/CRV", "RN", "PFS, 3-year rate (events/N)", "OS, 3-year rate (events/N)"):
        assert f'class="section"><span>{endpoint}<' in t2, endpoint
    # every p-value cell carries the symbol of its test, and the note names each symbol
    cells = re.findall(r'<td class="num">((?:&lt;)?[01]\.\d{3})(<sup>(.)</sup>)?</td>', t2)
    assert cells and all(sup for _, sup, _ in cells), cells[:5]
    note = t2[t2.index('class="note"'):]
    for mark in {m for _, _, m in cells}:
        assert f"{mark} " in note, mark
    assert "log-rank test" in note


def test_table_csvs_keep_the_test_symbols_and_a_flat_header(run_dir):
    import csv

    with (run_dir / "tables" / "table2.csv").open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][:2] == ["Endpoint", "Regimen"]
    assert any(h.startswith("Low risk (N=") and h.endswith(": p") for h in rows[0])
    ref = [r for r in rows[1:] if r[1] == "ASCT"]
    assert ref and all(r[4] == "" for r in ref)  # no p-value for the reference regimen
