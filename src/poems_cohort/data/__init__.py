"""Package data: the bundled synthetic cohort and the published numbers.

A cohort is synthetic when its files are still exactly those ``poems-cohort synthesize`` wrote:
the folder's manifest (``.poems-cohort-manifest.json``, see :mod:`poems_cohort.manifest`) lists
them with their SHA-256 under the role ``synthetic-cohort``, and every file the cohort reader
would read is among them. A file named ``SYNTHETIC.txt`` is a note for people; on its own it
makes nothing synthetic, and a synthetic file edited by hand is no longer synthetic.
"""

from __future__ import annotations

from pathlib import Path

from poems_cohort.manifest import (
    SYNTHETIC_COHORT,
    Entry,
    Manifest,
    read_manifest,
    sha256_file,
    unchanged,
    write_manifest,
)

#: The note ``poems-cohort synthesize`` writes beside the cohort (for people; the manifest, not
#: this file, makes a cohort synthetic).
SYNTHETIC_MARKER = "SYNTHETIC.txt"

#: The files of a synthetic cohort, as ``synthesize`` writes them (``--format csv`` or
#: ``--format parquet``).
COHORT_FILES = ("patients.csv", "visits.csv", "patients.parquet", "visits.parquet",
                SYNTHETIC_MARKER)

_TABLE_STEMS = ("patients", "visits")


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
    """Whether ``path`` (a cohort folder, or one file of it) is a synthetic cohort: every file
    the manifest lists as synthetic still has its hash, and every table the cohort reader would
    read (``patients.*``, ``visits.*``; or the file ``path``) is one of them."""
    path = Path(path).resolve()
    folder = path if path.is_dir() else path.parent
    manifest = read_manifest(folder)
    if manifest is None:
        return False
    listed = manifest.of_role(SYNTHETIC_COHORT)
    if not listed or not all(unchanged(folder, rel, e) for rel, e in listed.items()):
        return False
    if path.is_dir():
        tables = [p.name for p in folder.iterdir() if p.stem.lower() in _TABLE_STEMS]
        return bool(tables) and all(name in listed for name in tables)
    return path.name in listed


def write_synthetic_manifest(folder: Path) -> Manifest:
    """(Re)write the manifest of the synthetic cohort in ``folder``: the SHA-256 of each of its
    files (:data:`COHORT_FILES` present there), kept beside any other entry of the manifest.
    ``synthesize`` calls it after writing a cohort; after regenerating the bundled cohort,
    ``write_synthetic_manifest(bundled_cohort_path())`` records the new files."""
    folder = Path(folder)
    entries = {name: Entry(sha256_file(folder / name), SYNTHETIC_COHORT)
               for name in COHORT_FILES if (folder / name).is_file()}
    old = read_manifest(folder) or Manifest()
    kept = {rel: e for rel, e in old.files.items() if e.role != SYNTHETIC_COHORT}
    manifest = Manifest({**kept, **entries})
    write_manifest(folder, manifest)
    return manifest
