"""The synthetic cohort: patients and visits in the input format, reproducing the published study.

``generate_cohort(seed)`` builds the cohort in three seeded steps — baseline patients with exact
Table 1 counts and risk groups (``synth.assign``), treatment, progression, death and follow-up
dates (``synth.survival_times``), and the longitudinal assessments from which the response
criteria derive the published responses (``synth.visits``). ``write_cohort`` writes
``patients.csv`` and ``visits.csv`` (or, with ``file_format="parquet"``, ``patients.parquet`` and
``visits.parquet``), the note ``SYNTHETIC.txt`` and the manifest of their hashes. Every patient is
synthetic; identifiers read ``SYN-0001``. The same seed always gives the same bytes (for Parquet:
with the same version of pyarrow, whose name the file records).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from poems_cohort.data import SYNTHETIC_MARKER, synthetic_marker_text, write_synthetic_manifest
from poems_cohort.errors import Problem
from poems_cohort.manifest import (
    MANIFEST_NAME,
    Manifest,
    foreign_manifest,
    plain_file,
    read_manifest,
    unchanged,
    write_file_atomically,
)
from poems_cohort.synth.assign import baseline_patients
from poems_cohort.synth.survival_times import survival_dates
from poems_cohort.synth.targets import Targets, default_targets
from poems_cohort.synth.visits import response_visits

DEFAULT_SEED = 2019

#: The file formats ``synthesize`` writes (``--format``).
FILE_FORMATS: tuple[str, ...] = ("csv", "parquet")
"""The seed of the bundled cohort (``poems_cohort/data/synthetic``)."""

STREAMS: dict[int, tuple[int, int]] = {DEFAULT_SEED: (3, 7)}
"""Per seed, the random streams ``(survival, visits)`` of the second and third steps (``(0, 0)``
when absent). The baseline step depends on the seed alone, so another stream moves the dates
and the responses while every Table 1 count stays. The streams of the default seed were chosen
by ``python -m poems_cohort.synth.streams`` (docs/reproduction.md)."""

PATIENT_COLUMNS: tuple[str, ...] = (
    "patient_id", "sex", "age", "regimen", "treatment_start", "onls", "hepatomegaly",
    "splenomegaly", "lymphadenopathy", "heavy_chain", "light_chain", "spe_g_l", "bmpc_pct",
    "angioma", "peripheral_edema", "ascites", "pleural_effusion", "pulmonary_hypertension",
    "castleman", "papilledema", "osteosclerosis", "albumin_g_l", "egfr", "urine_protein_g_24h",
    "vegf_pg_ml", "serum_ife", "urine_ife", "flc_kappa_mg_l", "flc_lambda_mg_l",
    "progression_date", "death_date", "last_followup", "death_cause", "secondary_malignancy",
    "polyneuropathy", "monoclonal_plasma_cell", "endocrinopathy", "skin_changes",
    "thrombocytosis_or_polycythemia",
)  # fmt: skip

VISIT_COLUMNS: tuple[str, ...] = (
    "patient_id", "visit_date", "serum_ife", "urine_ife", "flc_kappa_mg_l", "flc_lambda_mg_l",
    "vegf_pg_ml", "onls",
)


@dataclass(frozen=True)
class SyntheticCohort:
    """A generated cohort: ``patients`` and ``visits`` in the input format, and how it was made."""

    patients: pd.DataFrame
    visits: pd.DataFrame
    seed: int
    targets: Targets

    def __repr__(self) -> str:
        return (f"SyntheticCohort(seed={self.seed}, patients={len(self.patients)}, "
                f"visits={len(self.visits)})")

    def write(self, out_dir: str | Path, file_format: str = "csv") -> tuple[Path, Path]:
        """Write ``patients.csv``, ``visits.csv`` (or the ``.parquet`` pair), ``SYNTHETIC.txt``
        and the manifest of their hashes into ``out_dir`` (created if needed; see
        :func:`write_cohort`)."""
        return write_cohort(self, out_dir, file_format)


def generate_cohort(seed: int = DEFAULT_SEED, n_patients: int | None = None,
                    targets: Targets | None = None,
                    streams: tuple[int, int] | None = None) -> SyntheticCohort:
    """Generate the synthetic cohort.

    With ``n_patients`` the targets are scaled to that size (same proportions and rates, counts
    rounded); the published size (347) is the default. ``streams``: the random streams of the
    survival and visits steps (default: ``STREAMS`` of the seed, else ``(0, 0)``).
    """
    base_targets = default_targets() if targets is None else targets
    if n_patients is not None and n_patients != base_targets.size:
        base_targets = base_targets.scaled(n_patients)
    survival_stream, visits_stream = (STREAMS.get(seed, (0, 0)) if streams is None
                                      else streams)
    baseline = baseline_patients(base_targets, np.random.default_rng([seed, 0]))
    dates = survival_dates(base_targets, baseline,
                           np.random.default_rng([seed, 1, survival_stream]))
    frame = pd.concat([baseline, dates], axis=1)
    visits = response_visits(base_targets, frame,
                             np.random.default_rng([seed, 2, visits_stream]))
    # patients in order of treatment start; identifiers follow that order
    order = np.lexsort((np.arange(len(frame)), frame["treatment_start"].to_numpy()))
    width = max(4, len(str(len(frame))))
    numbers = pd.Series(np.arange(1, len(frame) + 1)).astype(str).str.zfill(width)
    ids = ("SYN-" + numbers).to_numpy(dtype=object)
    new_id = np.empty(len(frame), dtype=object)
    new_id[order] = ids
    frame["patient_id"] = new_id
    frame = frame.iloc[order].reset_index(drop=True)
    # visits by patient identifier, then date: the identifiers have one width, so their order is
    # the order of the patients' ranks (a stable sort on integers, not on text)
    rank = np.empty(len(frame), dtype=np.int64)
    rank[order] = np.arange(len(frame))
    visit_row = visits["row"].to_numpy()
    by_id = np.lexsort((visits["visit_date"].to_numpy().view(np.int64), rank[visit_row]))
    visits = visits.take(by_id)
    visits = visits.assign(patient_id=new_id[visit_row[by_id]])
    patients = frame.loc[:, list(PATIENT_COLUMNS)].reset_index(drop=True)
    return SyntheticCohort(patients=patients,
                           visits=visits.loc[:, list(VISIT_COLUMNS)].reset_index(drop=True),
                           seed=seed, targets=base_targets)


def _column_text(values: pd.Series) -> np.ndarray:
    """The CSV text of one column (object array): ISO dates, floats as ``%.10g``, empty if missing.

    Each distinct value is formatted once, then spread to its rows: a large cohort repeats few
    values. The text is what ``to_csv(float_format="%.10g")`` writes.
    """
    if values.dtype.kind == "f":
        v = values.to_numpy(dtype=np.float64)
        # factorize on the bit patterns: 0.0 and -0.0 print differently
        codes, uniques = pd.factorize(v.view(np.int64))
        codes[np.isnan(v)] = -1
        # the % operator, as to_csv applies float_format
        text = ["%.10g" % x for x in uniques.view(np.float64).tolist()]  # noqa: UP031
    else:
        codes, uniques = pd.factorize(values)
        if values.dtype.kind == "M":
            text = list(pd.DatetimeIndex(uniques).strftime("%Y-%m-%d"))
        else:
            text = [str(x) for x in uniques]
    return np.array([*text, ""], dtype=object)[codes]  # code -1 (missing) -> ""


def _csv_ready(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({col: pd.Series(_column_text(frame[col]), index=frame.index, dtype=object)
                         for col in frame.columns})


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` as a Parquet file holding the values the CSV holds: text as strings, dates as
    dates (``date32``), numbers as the doubles the CSV's ``%.10g`` text reads back as; missing
    values are nulls. No pandas metadata is stored, so the bytes depend only on the values (and
    on the pyarrow version, recorded in the file)."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = {}
    for col in frame.columns:
        values = frame[col]
        if values.dtype.kind == "f":
            text = pd.Series(_column_text(values), dtype=object)
            number = pd.to_numeric(text.mask(text == ""), errors="raise").to_numpy(np.float64)
            arrays[col] = pa.array(number, type=pa.float64(), from_pandas=True)
        elif values.dtype.kind in "iu":
            arrays[col] = pa.array(values.to_numpy(np.int64), type=pa.int64())
        elif values.dtype.kind == "M":
            days = values.to_numpy("datetime64[D]")
            arrays[col] = pa.array(days, type=pa.date32(), mask=np.isnat(days))
        else:
            arrays[col] = pa.array(values.astype(object).where(values.notna(), None).tolist(),
                                   type=pa.string())
    buf = io.BytesIO()
    pq.write_table(pa.table(arrays), buf)
    return buf.getvalue()


def cohort_files(cohort: SyntheticCohort, file_format: str = "csv") -> dict[str, bytes]:
    """The files of the cohort: ``patients.csv`` and ``visits.csv`` (UTF-8, ``\\n`` line ends,
    ISO dates), or with ``file_format="parquet"`` ``patients.parquet`` and ``visits.parquet``
    (the same values, typed), and the note ``SYNTHETIC.txt``."""
    if file_format not in FILE_FORMATS:
        raise ValueError(f"file_format must be one of {FILE_FORMATS}, not {file_format!r}")
    if file_format == "parquet":
        tables = {"patients.parquet": _parquet_bytes(cohort.patients),
                  "visits.parquet": _parquet_bytes(cohort.visits)}
    else:
        tables = {
            "patients.csv": _csv_ready(cohort.patients).to_csv(
                index=False, lineterminator="\n").encode("utf-8"),
            "visits.csv": _csv_ready(cohort.visits).to_csv(
                index=False, lineterminator="\n").encode("utf-8"),
        }
    marker = synthetic_marker_text(cohort.seed, len(cohort.patients)).encode("utf-8")
    return {**tables, SYNTHETIC_MARKER: marker}


def replace_problems(out_dir: str | Path, files: dict[str, bytes]) -> list[Problem]:
    """What forbids writing ``files`` into the existing folder ``out_dir`` (``synthesize
    --force``): a file of the same name that the tool did not write there, or that changed since
    (unless it already holds exactly the new bytes, as after an interrupted write), and any
    other ``patients.*``/``visits.*`` file, which the cohort reader would read with them."""
    out = Path(out_dir)
    manifest = read_manifest(out) or Manifest()
    problems = []
    if foreign_manifest(out):
        problems.append(Problem(str(out / MANIFEST_NAME), None, None, None,
                                "a manifest poems-cohort wrote (this one cannot be read as one; "
                                "it is left alone)"))
    for entry in sorted(out.iterdir()) if out.is_dir() else []:
        name = entry.name
        if name in files:
            listed = manifest.files.get(name)
            ours = listed is not None and unchanged(out, name, listed)
            if not ours and not (plain_file(out, name) is not None
                                 and entry.read_bytes() == files[name]):
                problems.append(Problem(str(entry), None, None, None,
                                        "--force replaces only files of an earlier synthesize "
                                        "that are unchanged; this one is not (move it away)"))
        elif entry.stem.lower() in ("patients", "visits"):
            problems.append(Problem(str(entry), None, None, None,
                                    "a folder without other patients.* or visits.* files (it "
                                    "would be read with the synthetic cohort)"))
    return problems


def write_cohort(cohort: SyntheticCohort, out_dir: str | Path,
                 file_format: str = "csv") -> tuple[Path, Path]:
    """Write the cohort's files (:func:`cohort_files`) into ``out_dir`` (created if needed),
    each one atomically (a temporary file renamed over the old), then the manifest that makes
    the folder a synthetic cohort (``data.write_synthetic_manifest``). Returns the paths of
    the patients and visits files (``.csv`` or ``.parquet``)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, data in cohort_files(cohort, file_format).items():
        write_file_atomically(out / name, data)
    write_synthetic_manifest(out)
    return out / f"patients.{file_format}", out / f"visits.{file_format}"
