"""A run of the whole pipeline on the ten-patient example, with distinctive patient ids."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from poems_cohort.cli import app

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ten-patients"
ID_PREFIX = "ZQXW-"


def prepared_input(folder: Path) -> Path:
    """The example cohort with ids made unmistakable (``ZQXW-P01``…)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("patients.csv", "visits.csv"):
        frame = pd.read_csv(EXAMPLE / name, dtype=str, keep_default_na=False)
        frame["patient_id"] = ID_PREFIX + frame["patient_id"]
        frame.to_csv(folder / name, index=False)
    return folder


@pytest.fixture(scope="session")
def cohort_dir(tmp_path_factory) -> Path:
    return prepared_input(tmp_path_factory.mktemp("input") / "cohort")


@pytest.fixture(scope="session")
def run_dir(cohort_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "out"
    result = CliRunner().invoke(app, ["run", str(cohort_dir), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="session")
def patient_ids(cohort_dir) -> set[str]:
    return set(pd.read_csv(cohort_dir / "patients.csv", dtype=str)["patient_id"])


@pytest.fixture(scope="session")
def patient_dates(cohort_dir) -> set[str]:
    dates: set[str] = set()
    for name in ("patients.csv", "visits.csv"):
        frame = pd.read_csv(cohort_dir / name, dtype=str)
        for col in frame.columns:
            if "date" in col or col in ("treatment_start", "last_followup"):
                dates |= set(frame[col].dropna())
    dates.discard("2018-08-31")  # the study cutoff is not a patient's date
    return dates


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst
