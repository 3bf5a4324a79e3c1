from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from poems_cohort.cli import app
from poems_cohort.clinical import ANALYSIS_COLUMNS, EndpointSettings, derive_analysis_dataset
from poems_cohort.cohort import apply_eligibility, load_cohort

# pandas 3 parses floats exactly by default and deprecates the option
ROUND_TRIP = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ten-patients"


def _run(*args):
    return CliRunner().invoke(app, ["derive", *map(str, args)])


def _library(cutoff="2018-08-31"):
    cohort = load_cohort(EXAMPLE, cutoff=cutoff)
    return derive_analysis_dataset(apply_eligibility(cohort, cutoff=cutoff).included,
                                   EndpointSettings(cutoff=cutoff))


def _read_parquet(path):
    """The written file with text columns as Python objects, as the library returns them
    (pandas 3 reads Parquet strings as its ``str`` dtype)."""
    frame = pd.read_parquet(path)
    text = [c for c in frame.columns if pd.api.types.is_string_dtype(frame[c])
            or frame[c].dtype == object]
    frame = frame.astype({c: object for c in text})
    for c in text:  # an all-missing text column comes back as None
        frame[c] = frame[c].where(frame[c].notna(), pd.NA)
    return frame


def test_derive_writes_the_analysis_dataset_as_parquet(tmp_path):
    out = tmp_path / "analysis.parquet"
    result = _run(EXAMPLE, "--out", out)
    assert result.exit_code == 0, result.output
    written = _read_parquet(out)
    pd.testing.assert_frame_equal(written, _library(), check_exact=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".poems-cohort-manifest.json",
                                                          "analysis.parquet"]


def test_derive_writes_csv_with_the_contract_columns(tmp_path):
    out = tmp_path / "analysis.csv"
    result = _run(EXAMPLE, "--out", out)
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out, dtype={"patient_id": str}, **ROUND_TRIP)
    assert tuple(written.columns) == ANALYSIS_COLUMNS
    expected = _library()
    assert written["patient_id"].tolist() == expected["patient_id"].tolist()
    assert written["os_months"].tolist() == expected["os_months"].tolist()
    assert "10 patients written" in result.stdout


def test_cutoff_option_reaches_the_derivation(tmp_path):
    out = tmp_path / "analysis.parquet"
    result = _run(EXAMPLE, "--out", out, "--cutoff", "2015-06-30")
    assert result.exit_code == 0, result.output
    written = _read_parquet(out)
    pd.testing.assert_frame_equal(written, _library("2015-06-30"), check_exact=True)
    assert not written.equals(_library())


def test_treatment_after_the_cutoff_is_excluded_and_no_time_is_negative(tmp_path):
    out = tmp_path / "analysis.csv"
    result = _run(EXAMPLE, "--out", out, "--cutoff", "2015-06-30")
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out, dtype={"patient_id": str})
    # P04, P08, P09 and P10 start treatment after 2015-06-30
    assert written["patient_id"].tolist() == ["P01", "P02", "P03", "P05", "P06", "P07"]
    months = written[[c for c in written.columns if c.endswith("_months")]]
    assert (months.fillna(0) >= 0).all().all()
    assert "6 patients written (10 screened, 4 excluded)" in result.stdout


def test_unsupported_extension_is_an_input_error_and_nothing_is_written(tmp_path):
    out = tmp_path / "analysis.xlsx"
    result = _run(EXAMPLE, "--out", out)
    assert result.exit_code == 2
    assert "--out" in result.output and ".csv or .parquet" in result.output
    assert list(tmp_path.iterdir()) == []


def test_bad_cutoff_is_an_input_error(tmp_path):
    result = _run(EXAMPLE, "--out", tmp_path / "a.csv", "--cutoff", "31/08/2018")
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.output
    assert list(tmp_path.iterdir()) == []


def test_bad_input_keeps_an_existing_output_untouched(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("patient_id,sex\nP1,X\n", encoding="utf-8")
    out = tmp_path / "analysis.csv"
    out.write_text("previous\n", encoding="utf-8")
    result = _run(bad, "--out", out)
    assert result.exit_code == 2
    assert out.read_text(encoding="utf-8") == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["analysis.csv", "bad.csv"]


def test_derive_prints_the_cohort_level_warnings(tmp_path):
    out = tmp_path / "analysis.csv"
    result = _run(EXAMPLE / "patients.csv", "--out", out)
    assert result.exit_code == 0, result.output
    assert "with neither CRH is not evaluable for any patient" in result.stdout
    written = pd.read_csv(out)
    assert (written["crh_evaluable"] == 0).all() and written["crh"].isna().all()


def _copy_example(tmp_path):
    folder = tmp_path / "cohort"
    folder.mkdir()
    for name in ("patients.csv", "visits.csv"):
        (folder / name).write_bytes((EXAMPLE / name).read_bytes())
    return folder


def test_out_must_not_overwrite_an_input_file(tmp_path):
    folder = _copy_example(tmp_path)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    for path, out in [(folder / "patients.csv", folder / "patients.csv"),
                      (folder, folder / "visits.csv"),
                      (folder, folder / "sub" / ".." / "patients.csv"),
                      (folder, folder / "PATIENTS.parquet")]:  # would be read next time
        (folder / "sub").mkdir(exist_ok=True)
        result = _run(path, "--out", out)
        assert result.exit_code == 2, (path, out, result.output)
        assert "not an input of the cohort" in result.output
        assert "Traceback" not in result.output
    (folder / "sub").rmdir()
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_out_must_not_overwrite_the_mapping_file(tmp_path):
    folder = _copy_example(tmp_path)
    mapping = tmp_path / "map.csv"
    mapping.write_text("source,canonical\n", encoding="utf-8")
    result = _run(folder, "--out", mapping, "--mapping", mapping)
    assert result.exit_code == 2 and "not an input of the cohort" in result.output
    assert mapping.read_text(encoding="utf-8") == "source,canonical\n"


def test_out_inside_the_cohort_folder_is_refused(tmp_path):
    folder = _copy_example(tmp_path)
    result = _run(folder, "--out", folder / "analysis.csv")
    assert result.exit_code == 2, result.output
    assert "outside the input" in result.output
    assert sorted(p.name for p in folder.iterdir()) == ["patients.csv", "visits.csv"]


def test_out_beside_the_cohort_folder_is_fine_and_may_be_replaced_by_a_later_derive(tmp_path):
    folder = _copy_example(tmp_path)
    out = tmp_path / "analysis.csv"
    assert _run(folder, "--out", out).exit_code == 0
    assert _run(folder, "--out", out, "--cutoff", "2015-06-30").exit_code == 0
    out.write_text("edited by hand\n", encoding="utf-8")
    result = _run(folder, "--out", out)
    assert result.exit_code == 2 and "left alone" in result.output
    assert out.read_text(encoding="utf-8") == "edited by hand\n"


def test_the_written_dataset_says_why_a_risk_group_is_missing(tmp_path):
    folder = _copy_example(tmp_path)
    table = pd.read_csv(folder / "patients.csv", dtype=str, keep_default_na=False)
    table.loc[0, "pulmonary_hypertension"] = ""  # P01: 42 years, eGFR 104, no effusion
    table.to_csv(folder / "patients.csv", index=False)
    out = tmp_path / "analysis.csv"
    result = _run(folder, "--out", out)
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out, dtype={"patient_id": str})
    assert written.columns[-1] == "risk_reason"
    assert pd.isna(written.loc[0, "risk_group"])
    assert written.loc[0, "risk_reason"] == ("missing: pulmonary hypertension; total could be "
                                             "0 to 1, group low to medium")
    assert written["risk_reason"].iloc[1:].isna().all()


def _tree(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _refused(folder, out, expected):
    """``derive`` of the example to ``out`` exits 2 saying ``expected``, ``folder`` as it was."""
    before = _tree(folder)
    result = _run(EXAMPLE, "--out", out)
    assert result.exit_code == 2, result.output
    assert expected in " ".join(result.output.split())
    assert _tree(folder) == before


def test_a_file_of_a_synthetic_cohort_is_never_replaced(tmp_path):
    import shutil

    from poems_cohort.data import bundled_cohort_path

    synthetic = tmp_path / "synthetic"
    shutil.copytree(bundled_cohort_path(), synthetic)
    before = _tree(synthetic)
    # its own cohort file (input is the patients file alone) and another copy's
    other = tmp_path / "other"
    shutil.copytree(bundled_cohort_path(), other)
    for path, out in [(synthetic / "patients.csv", synthetic / "visits.csv"),
                      (EXAMPLE, other / "visits.csv")]:
        result = _run(path, "--out", out)
        assert result.exit_code == 2, (path, out, result.output)
        assert "Traceback" not in result.output
        assert str(out.name) in result.output
    assert _tree(synthetic) == before
    assert _tree(other) == before
    # by its role alone: a copy left without its patients file is still a synthetic cohort's
    (other / "patients.csv").unlink()
    _refused(other, other / "visits.csv", "belongs to a synthetic cohort")


def test_a_dataset_derive_wrote_may_be_replaced_whatever_its_name(tmp_path):
    """A file derive wrote and nobody changed is replaced by the next derive, even under a
    cohort's name: it is the only patients file of its folder."""
    out = tmp_path / "out" / "patients.csv"
    out.parent.mkdir()
    assert _run(EXAMPLE, "--out", out).exit_code == 0
    again = _run(EXAMPLE, "--out", out, "--cutoff", "2015-06-30")
    assert again.exit_code == 0, again.output


def test_a_file_of_a_report_is_never_replaced_by_a_dataset(tmp_path):
    report = tmp_path / "report"
    assert CliRunner().invoke(app, ["run", str(EXAMPLE), "--out", str(report),
                                    "--quiet"]).exit_code == 0
    _refused(report, report / "analysis_dataset.csv", "outside the folder of a report")


def test_no_cohort_named_file_is_added_beside_a_cohort(tmp_path):
    """A ``patients.*``/``visits.*`` file next to a single-file input, or in another folder
    holding a patients file, would change that folder read as a cohort."""
    folder = tmp_path / "alone"
    folder.mkdir()
    (folder / "patients.csv").write_bytes((EXAMPLE / "patients.csv").read_bytes())
    other = _copy_example(tmp_path)
    for path, out in [(folder / "patients.csv", folder / "visits.csv"),
                      (folder / "patients.csv", folder / "patients.parquet"),
                      (EXAMPLE, other / "PATIENTS.parquet")]:
        result = _run(path, "--out", out)
        assert result.exit_code == 2, (path, out, result.output)
        assert "not an input of the cohort" in result.output
        assert not out.exists()
    assert sorted(p.name for p in folder.iterdir()) == ["patients.csv"]
    # any other name there is fine, and so is a cohort name in a folder without a cohort
    assert _run(folder / "patients.csv", "--out", folder / "analysis.csv").exit_code == 0
    assert _run(folder / "patients.csv", "--out", tmp_path / "visits.csv").exit_code == 0
