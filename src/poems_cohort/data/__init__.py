"""Package data: the bundled synthetic cohort and the published numbers."""

from __future__ import annotations

from pathlib import Path

#: A file of this name in a cohort folder marks the cohort as synthetic; ``poems-cohort
#: synthesize`` writes it and the report then says, on every page, that no patient is real.
SYNTHETIC_MARKER = "SYNTHETIC.txt"


def bundled_cohort_path() -> Path:
    """The folder of the bundled synthetic cohort (``patients.csv`` and ``visits.csv``).

    This is the default input of ``poems-cohort run``.
    """
    return Path(__file__).resolve().parent / "synthetic"


def synthetic_marker_text(seed: int, n_patients: int) -> str:
    """The content of the marker file of a cohort made by ``poems-cohort synthesize``."""
    return (
        "SYNTHETIC COHORT: no row of this folder describes a real patient.\n"
        f"Made by: poems-cohort synthesize --seed {seed} (n = {n_patients}), calibrated to the "
        "published comparison of first-line ASCT, MDex and LDex in POEMS syndrome "
        "(Leukemia 2019, doi:10.1038/s41375-019-0391-2).\n"
    )


def is_synthetic_cohort(path: Path) -> bool:
    """Whether ``path`` is a cohort folder carrying the synthetic marker."""
    path = Path(path)
    return path.is_dir() and (path / SYNTHETIC_MARKER).is_file()
