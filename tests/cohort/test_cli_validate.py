"""The ``validate`` command: summary and exit 0, or every problem and exit 2, writing nothing."""

from typer.testing import CliRunner

from poems_cohort.cli import app

from .conftest import EXAMPLE

runner = CliRunner()


def test_valid_cohort_prints_a_summary(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["validate", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "valid — 10 patients (ASCT 4, MDex 3, LDex 3); 30 visits; 0 warning(s)." in (
        result.stdout)
    assert list(tmp_path.iterdir()) == []


def test_invalid_cohort_lists_the_problems_and_exits_2(patients, write, tmp_path, monkeypatch):
    patients.loc[0, "sex"] = "X"
    patients.loc[1, "onls"] = "15"
    folder = write(patients)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["validate", str(folder)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "2 problem(s) found; nothing was written." in result.stderr
    assert "row 2, column 'sex': value 'X'" in result.stderr
    assert "row 3, column 'onls': value '15'" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cohort"]


def test_mapping_and_cutoff_options(patients, write, tmp_path):
    patients = patients.rename(columns={"regimen": "Tx"})
    folder = write(patients)
    mapping = tmp_path / "map.csv"
    mapping.write_text("Tx,regimen\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", str(folder), "--mapping", str(mapping),
                                 "--cutoff", "2018-01-01"])
    assert result.exit_code == 0, result.output
    # 8 dates after the cutoff, and CRH, CRV and RN without a source (no visits, no *_date)
    assert "11 warning(s)." in result.stdout
    assert "warning: " in result.stdout
    assert "with neither CRV is not evaluable for any patient" in result.stdout


def test_a_bad_cutoff_is_an_input_problem():
    result = runner.invoke(app, ["validate", str(EXAMPLE), "--cutoff", "31/08/2018"])
    assert result.exit_code == 2
    assert "--cutoff: value '31/08/2018' — a date YYYY-MM-DD" in result.stderr
