"""The bundled synthetic cohort is exactly what the default seed generates, and it is valid."""

from __future__ import annotations

from poems_cohort.cohort import apply_eligibility, load_cohort
from poems_cohort.data import bundled_cohort_path
from poems_cohort.manifest import MANIFEST_NAME
from poems_cohort.synth.generator import DEFAULT_SEED


def test_default_seed_regenerates_the_bundled_files_byte_for_byte(bundled_generation):
    """The default seed, generated once per test run (``tests/synth/conftest.py``), gives the
    bundled files byte for byte."""
    cohort, out = bundled_generation
    assert cohort.seed == DEFAULT_SEED
    bundled = bundled_cohort_path()
    for name in ("patients.csv", "visits.csv", "SYNTHETIC.txt", MANIFEST_NAME):
        assert (out / name).read_bytes() == (bundled / name).read_bytes(), name


def test_bundled_cohort_is_valid_eligible_and_labelled_synthetic():
    bundled = bundled_cohort_path()
    cohort = load_cohort(bundled)
    assert cohort.warnings == ()
    assert len(apply_eligibility(cohort).included.patients) == 347
    assert cohort.patients["patient_id"].str.startswith("SYN-").all()
    assert "SYNTHETIC" in (bundled / "README.md").read_text(encoding="utf-8")
