"""``poems-cohort run`` on plausible but wrong input: status 2, the problem named, nothing written."""

from __future__ import annotations

from typer.testing import CliRunner

from poems_cohort.cli import app


def _run(*args: str):
    return CliRunner().invoke(app, ["run", *args])


def _plan(tmp_path, text: str):
    f = tmp_path / "plan.toml"
    f.write_text(text)
    return f


def test_out_an_existing_file_exits_2_and_leaves_it_alone(tmp_path, cohort_dir):
    target = tmp_path / "report.txt"
    target.write_text("keep me")
    result = _run(str(cohort_dir), "--out", str(target), "--quiet")
    assert result.exit_code == 2, result.output
    assert "existing file" in result.output
    assert "Traceback" not in result.output
    assert target.read_text() == "keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["report.txt"]


def test_out_below_a_file_exits_2(tmp_path, cohort_dir):
    target = tmp_path / "report.txt"
    target.write_text("")
    result = _run(str(cohort_dir), "--out", str(target / "sub"), "--quiet")
    assert result.exit_code == 2, result.output
    assert "is a file" in result.output


def test_a_plan_regimen_nobody_received_exits_2_naming_it(tmp_path, cohort_dir):
    plan = _plan(tmp_path, 'regimens = ["ASCT", "MDex", "Bortezomib"]\n')
    out = tmp_path / "out"
    result = _run(str(cohort_dir), "--out", str(out), "--plan", str(plan))
    assert result.exit_code == 2, result.output
    assert "regimens" in result.output and "Bortezomib" in result.output
    assert "received by at least one patient" in result.output
    assert "ASCT, MDex, LDex" in result.output
    assert not out.exists()


def test_empty_response_landmarks_exit_2(tmp_path, cohort_dir):
    plan = _plan(tmp_path, "response_landmarks_months = []\n")
    out = tmp_path / "out"
    result = _run(str(cohort_dir), "--out", str(out), "--plan", str(plan))
    assert result.exit_code == 2, result.output
    assert "response_landmarks_months" in result.output
    assert not out.exists()


def test_regimens_in_another_case_run(tmp_path, cohort_dir):
    plan = _plan(tmp_path, 'regimens = ["ASCT", "MDex", "Ldex"]\nreference = "asct"\n')
    out = tmp_path / "out"
    result = _run(str(cohort_dir), "--out", str(out), "--plan", str(plan), "--quiet")
    assert result.exit_code == 0, result.output
    assert '"LDex"' in (out / "results.json").read_text()


def test_a_cutoff_that_excludes_everyone_exits_2_saying_why(tmp_path, cohort_dir):
    out = tmp_path / "out"
    result = _run(str(cohort_dir), "--out", str(out), "--cutoff", "2000-01-01")
    assert result.exit_code == 2, result.output
    assert "none was included" in result.output
    assert "treatment started after the data cutoff: 10" in result.output
    assert not out.exists()
