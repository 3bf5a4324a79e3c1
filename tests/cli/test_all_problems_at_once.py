"""Every problem of a command's inputs is listed in one go: an unreadable --cutoff, a bad plan
or mapping, an --out that may not be written and the cohort's own problems, so that fixing
one does not reveal the next."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from poems_cohort import workflow
from poems_cohort.cli import app

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ten-patients"


def _cohort(tmp_path: Path, broken: bool) -> Path:
    folder = tmp_path / "cohort"
    folder.mkdir()
    (folder / "visits.csv").write_bytes((EXAMPLE / "visits.csv").read_bytes())
    patients = pd.read_csv(EXAMPLE / "patients.csv", dtype=str, keep_default_na=False)
    if broken:
        patients.loc[1, "age"] = "abc"
        patients.loc[3, "age"] = "500"
    patients.to_csv(folder / "patients.csv", index=False)
    return folder


def _bad_options(tmp_path: Path) -> tuple[Path, Path]:
    plan = tmp_path / "plan.toml"
    plan.write_text("[study]\nnonsense = 1\n", encoding="utf-8")
    mapping = tmp_path / "map.csv"
    mapping.write_text("source,canonical\nfoo,not_a_column\n", encoding="utf-8")
    return plan, mapping


def _invoke(*args: object):
    result = CliRunner().invoke(app, [str(a) for a in args])
    text = " ".join(result.output.split())
    assert "Traceback" not in text
    return result.exit_code, text


def test_a_bad_cutoff_plan_and_mapping_are_listed_together(tmp_path):
    folder = _cohort(tmp_path, broken=False)
    plan, mapping = _bad_options(tmp_path)
    for command in (["validate", folder], ["derive", folder, "--out", tmp_path / "d.csv"],
                    ["run", folder, "--out", tmp_path / "report"]):
        code, text = _invoke(*command, "--cutoff", "2018-13-01", "--plan", plan,
                             "--mapping", mapping)
        assert code == 2, (command, text)
        assert "3 problem(s)" in text, (command, text)
        for named in ("--cutoff", "2018-13-01", "plan.toml", "nonsense", "map.csv",
                      "not_a_column"):
            assert named in text, (command, named, text)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cohort", "map.csv", "plan.toml"]


@pytest.mark.parametrize("command", ["run", "reproduce", "derive"])
def test_an_output_that_may_not_be_written_is_listed_with_the_cohorts_problems(
        tmp_path, command):
    folder = _cohort(tmp_path, broken=True)
    if command == "derive":
        out = folder / "visits.csv"  # an input
        before = out.read_bytes()
    else:
        out = tmp_path / "report"
        out.mkdir()
        (out / "notes.txt").write_text("mine\n", encoding="utf-8")
        before = b"mine\n"
    code, text = _invoke(command, folder, "--out", out)
    assert code == 2, text
    assert "4 problem(s)" in text or command == "derive" and "3 problem(s)" in text, text
    assert "row 3, column 'age': value 'abc'" in text and "value '500'" in text, text
    assert ("notes.txt" in text) if command != "derive" else ("not an input" in text), text
    kept = out if command == "derive" else out / "notes.txt"
    assert kept.read_bytes() == before


def test_a_bad_cutoff_is_listed_with_the_cohorts_errors_and_not_its_warnings(tmp_path):
    """The cohort is read with the plan's cutoff while the one typed cannot be read: a date
    after that cutoff is not the user's warning, and is left for the read that succeeds."""
    folder = _cohort(tmp_path, broken=True)
    patients = pd.read_csv(folder / "patients.csv", dtype=str, keep_default_na=False)
    patients.loc[0, "last_followup"] = "2020-06-20"
    patients.to_csv(folder / "patients.csv", index=False)
    code, text = _invoke("derive", folder, "--out", tmp_path / "d.csv", "--cutoff",
                         "2019-02-30")
    assert code == 2 and "3 problem(s)" in text, text
    assert "2019-02-30" in text and "value 'abc'" in text, text
    assert "warning" not in text, text
    assert not (tmp_path / "d.csv").exists()
    code, text = _invoke("validate", folder)  # the same cohort read with that cutoff
    assert code == 2 and "warning" in text and "2020-06-20" in text, text


def test_a_mapping_given_as_data_is_checked_as_it_is_read(tmp_path):
    folder = _cohort(tmp_path, broken=False)
    workflow.check_inputs(folder, mapping={"age_years": "age"})  # type: ignore[arg-type]


def test_inputs_without_a_problem_are_not_read_twice(tmp_path, monkeypatch):
    """When the options and --out are fine, the check returns without reading the cohort:
    the command reads it once, and its problems are then all there is to list."""
    folder = _cohort(tmp_path, broken=True)
    reads: list[object] = []
    monkeypatch.setattr(workflow, "read", lambda *a, **k: reads.append(a))
    workflow.check_study_inputs(folder, tmp_path / "report")
    workflow.check_inputs(folder)
    assert reads == []
