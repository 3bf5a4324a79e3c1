"""Shared fixtures: the ten-patient example as raw text, and a writer of small CSV cohorts."""

from pathlib import Path

import pandas as pd
import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ten-patients"


def read_text_table(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture
def patients() -> pd.DataFrame:
    """The example's patients table, every cell as text (row i of the frame is CSV row i + 2)."""
    return read_text_table(EXAMPLE / "patients.csv")


@pytest.fixture
def visits() -> pd.DataFrame:
    return read_text_table(EXAMPLE / "visits.csv")


@pytest.fixture
def write(tmp_path):
    """write(patients, visits=None) -> folder holding patients.csv (and visits.csv)."""

    def _write(patients: pd.DataFrame, visits: pd.DataFrame | None = None) -> Path:
        folder = tmp_path / "cohort"
        folder.mkdir(exist_ok=True)
        patients.to_csv(folder / "patients.csv", index=False)
        if visits is not None:
            visits.to_csv(folder / "visits.csv", index=False)
        return folder

    return _write
