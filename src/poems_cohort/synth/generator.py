"""The synthetic cohort: patients and visits in the input format, reproducing the published study.

``generate_cohort(seed)`` builds the cohort in three seeded steps — baseline patients with exact
Table 1 counts and risk groups (``synth.assign``), treatment, progression, death and follow-up
dates (``synth.survival_times``), and the longitudinal assessments from which the response
criteria derive the published responses (``synth.visits``). ``write_cohort`` writes
``patients.csv`` and ``visits.csv`` (or, with ``file_format="parquet"``, ``patients.parquet`` and
``visits.parquet``), the note ``SYNTHETIC.txt`` and the manifest of their hashes. Every patient is
synthetic; identifiers read ``SYN-0001``. The same seed always gives the same bytes (for Parquet:
with the same version of pyarrow, whose name the file records).

**Blocks.** A cohort of more than :data:`BLOCK_SIZE` (100,000) patients is made of
``k = ceil(n / BLOCK_SIZE)`` blocks of as equal sizes as possible (the first ``n mod k`` blocks
one patient larger), so that memory is bounded whatever ``n``: :func:`generate_blocks` yields
them one by one and :func:`stage_cohort` streams them to the files (CSV rows appended block by
block, one Parquet row group or more per block). Block ``b`` (from 0) is generated like a whole
cohort of its size, with targets scaled to it, except that each step's generator is seeded with
the same entropy and the spawn key ``(b,)``: ``SeedSequence([seed, 0], spawn_key=(b,))`` for
the baseline, ``[seed, 1, s]`` and ``[seed, 2, v]`` for dates and visits. Identifiers run on
through the blocks (block 0 holds ``SYN-0000001`` … in order of treatment start, block 1 the
next numbers, and so on), all of one width (``max(4, digits of n)``), so the files are ordered
by identifier. A cohort of one block (up to 100,000 patients, the bundled one among them) is
generated exactly as before blocks existed: plain seeds, no spawn key.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from poems_cohort.data import SYNTHETIC_MARKER, synthetic_marker_text, write_synthetic_manifest
from poems_cohort.errors import Problem
from poems_cohort.manifest import (
    MANIFEST_NAME,
    Manifest,
    default_mode,
    foreign_manifest,
    plain_file,
    read_manifest,
    sha256_file,
    unchanged,
)
from poems_cohort.synth.assign import baseline_patients
from poems_cohort.synth.survival_times import survival_dates
from poems_cohort.synth.targets import Targets, default_targets
from poems_cohort.synth.visits import response_visits

DEFAULT_SEED = 2019
"""The seed of the bundled cohort (``poems_cohort/data/synthetic``)."""

#: The file formats ``synthesize`` writes (``--format``).
FILE_FORMATS: tuple[str, ...] = ("csv", "parquet")

#: The largest cohort generated in one piece; a larger one is made of blocks (module docstring).
#: A block of 100,000 patients (1.3M visits) peaks at about 0.8 GB while it is generated.
BLOCK_SIZE = 100_000

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


def block_sizes(n_patients: int, block_size: int = BLOCK_SIZE) -> tuple[int, ...]:
    """The sizes of the blocks of a cohort of ``n_patients`` (module docstring): one block up to
    ``block_size``, else ``ceil(n / block_size)`` blocks of as equal sizes as possible."""
    if n_patients < 1 or block_size < 1:
        raise ValueError(f"n_patients and block_size must be positive, not {n_patients}, "
                         f"{block_size}")
    if n_patients <= block_size:
        return (n_patients,)
    k = -(-n_patients // block_size)
    q, r = divmod(n_patients, k)
    return tuple(q + (b < r) for b in range(k))


def generate_cohort(seed: int = DEFAULT_SEED, n_patients: int | None = None,
                    targets: Targets | None = None,
                    streams: tuple[int, int] | None = None,
                    block_size: int = BLOCK_SIZE) -> SyntheticCohort:
    """Generate the synthetic cohort.

    With ``n_patients`` the targets are scaled to that size (same proportions and rates, counts
    rounded); the published size (347) is the default. ``streams``: the random streams of the
    survival and visits steps (default: ``STREAMS`` of the seed, else ``(0, 0)``). A cohort of
    more than ``block_size`` patients is the concatenation of its blocks (module docstring; to
    write one without holding it whole, use :func:`generate_blocks` and :func:`stage_cohort`).
    """
    base_targets = default_targets() if targets is None else targets
    size = base_targets.size if n_patients is None else n_patients
    sizes = block_sizes(size, block_size)
    if len(sizes) == 1:
        return _generate(seed, size, base_targets, streams, block=None, first=1, width=None)
    blocks = list(_blocks(seed, sizes, base_targets, streams))
    return SyntheticCohort(
        patients=pd.concat([b.patients for b in blocks], ignore_index=True),
        visits=pd.concat([b.visits for b in blocks], ignore_index=True),
        seed=seed, targets=base_targets.scaled(size))


def generate_blocks(seed: int = DEFAULT_SEED, n_patients: int | None = None,
                    block_size: int = BLOCK_SIZE) -> Iterator[SyntheticCohort]:
    """The cohort of ``generate_cohort(seed, n_patients)`` block by block (module docstring):
    their concatenation is that cohort, and only one block is held at a time."""
    sizes = block_sizes(default_targets().size if n_patients is None else n_patients,
                        block_size)
    if len(sizes) == 1:
        yield generate_cohort(seed, n_patients=n_patients)
        return
    yield from _blocks(seed, sizes, default_targets(), None)


def _blocks(seed: int, sizes: tuple[int, ...], targets: Targets,
            streams: tuple[int, int] | None) -> Iterator[SyntheticCohort]:
    width = max(4, len(str(sum(sizes))))
    first = 1
    for b, n in enumerate(sizes):
        yield _generate(seed, n, targets, streams, block=b, first=first, width=width)
        first += n


def _generate(seed: int, n_patients: int, base_targets: Targets,
              streams: tuple[int, int] | None, block: int | None, first: int,
              width: int | None) -> SyntheticCohort:
    """One cohort (or block) of ``n_patients``, identifiers numbered from ``first`` with
    ``width`` digits (``None``: at least 4, as many as the cohort's size needs)."""
    if n_patients != base_targets.size:
        base_targets = base_targets.scaled(n_patients)
    survival_stream, visits_stream = (STREAMS.get(seed, (0, 0)) if streams is None
                                      else streams)

    def rng(*entropy: int) -> np.random.Generator:
        if block is None:
            return np.random.default_rng(list(entropy))
        return np.random.default_rng(np.random.SeedSequence(list(entropy), spawn_key=(block,)))

    baseline = baseline_patients(base_targets, rng(seed, 0))
    dates = survival_dates(base_targets, baseline, rng(seed, 1, survival_stream))
    frame = pd.concat([baseline, dates], axis=1)
    visits = response_visits(base_targets, frame, rng(seed, 2, visits_stream))
    # patients in order of treatment start; identifiers follow that order
    order = np.lexsort((np.arange(len(frame)), frame["treatment_start"].to_numpy()))
    width = max(4, len(str(len(frame)))) if width is None else width
    numbers = pd.Series(np.arange(first, first + len(frame))).astype(str).str.zfill(width)
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


def _arrow_table(frame: pd.DataFrame) -> Any:  # a pyarrow.Table (pyarrow imported lazily)
    """``frame`` as an Arrow table holding the values the CSV holds: text as strings, dates as
    dates (``date32``), numbers as the doubles the CSV's ``%.10g`` text reads back as; missing
    values are nulls. No pandas metadata is stored, so a Parquet file of it depends only on the
    values (and on the pyarrow version, recorded in the file)."""
    import pyarrow as pa

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
    return pa.table(arrays)


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` as a Parquet file (:func:`_arrow_table`), written as :class:`_TableWriter`
    writes a one-block cohort."""
    import io

    buf = io.BytesIO()
    writer = _TableWriter(buf, "parquet")
    writer.write(frame)
    writer.close()
    return buf.getvalue()


def _csv_bytes(frame: pd.DataFrame, header: bool = True) -> bytes:
    return _csv_ready(frame).to_csv(index=False, header=header,
                                    lineterminator="\n").encode("utf-8")


class _TableWriter:
    """Writes one table block by block to a binary file object: CSV (the header with the first
    block, then rows appended) or Parquet (a ``ParquetWriter``; every block is cast to the first
    block's schema, so a column that is all missing in one block keeps its type)."""

    def __init__(self, fh: BinaryIO, file_format: str) -> None:
        self.fh = fh
        self.file_format = file_format
        self.rows = 0
        self.blocks = 0
        self._parquet: Any = None  # a pyarrow.parquet.ParquetWriter from the first block on

    def write(self, frame: pd.DataFrame) -> None:
        if self.file_format == "csv":
            self.fh.write(_csv_bytes(frame, header=self.blocks == 0))
        else:
            import pyarrow.parquet as pq

            table = _arrow_table(frame)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.fh, table.schema)
            else:
                table = table.cast(self._parquet.schema)
            self._parquet.write_table(table)
        self.rows += len(frame)
        self.blocks += 1

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()


def cohort_files(cohort: SyntheticCohort, file_format: str = "csv") -> dict[str, bytes]:
    """The files of the cohort: ``patients.csv`` and ``visits.csv`` (UTF-8, ``\\n`` line ends,
    ISO dates), or with ``file_format="parquet"`` ``patients.parquet`` and ``visits.parquet``
    (the same values, typed), and the note ``SYNTHETIC.txt`` — in memory; the same bytes as
    :func:`write_cohort` writes."""
    _check_format(file_format)
    if file_format == "parquet":
        tables = {"patients.parquet": _parquet_bytes(cohort.patients),
                  "visits.parquet": _parquet_bytes(cohort.visits)}
    else:
        tables = {"patients.csv": _csv_bytes(cohort.patients),
                  "visits.csv": _csv_bytes(cohort.visits)}
    marker = synthetic_marker_text(cohort.seed, len(cohort.patients)).encode("utf-8")
    return {**tables, SYNTHETIC_MARKER: marker}


def _check_format(file_format: str) -> None:
    if file_format not in FILE_FORMATS:
        raise ValueError(f"file_format must be one of {FILE_FORMATS}, not {file_format!r}")


def replace_problems(out_dir: str | Path,
                     digests: Mapping[str, str | None]) -> list[Problem]:
    """What forbids writing the files named in ``digests`` (name -> SHA-256 of the new bytes)
    into the existing folder ``out_dir`` (``synthesize --force``): a file of the same name that
    the tool did not write there, or that changed since (unless it already holds exactly the
    new bytes, as after an interrupted write), and any other ``patients.*``/``visits.*`` file,
    which the cohort reader would read with them. A digest of ``None`` (not known yet: checked
    before generating) passes such a file; the check is made again with the digests."""
    out = Path(out_dir)
    manifest = read_manifest(out) or Manifest()
    problems = []
    if foreign_manifest(out):
        problems.append(Problem(str(out / MANIFEST_NAME), None, None, None,
                                "a manifest poems-cohort wrote (this one cannot be read as one; "
                                "it is left alone)"))
    for entry in sorted(out.iterdir()) if out.is_dir() else []:
        name = entry.name
        if name in digests:
            listed = manifest.files.get(name)
            ours = listed is not None and unchanged(out, name, listed)
            digest = digests[name]
            if not ours and not (plain_file(out, name) is not None
                                 and (digest is None or sha256_file(entry) == digest)):
                problems.append(Problem(str(entry), None, None, None,
                                        "--force replaces only files of an earlier synthesize "
                                        "that are unchanged; this one is not (move it away)"))
        elif entry.stem.lower() in ("patients", "visits"):
            problems.append(Problem(str(entry), None, None, None,
                                    "a folder without other patients.* or visits.* files (it "
                                    "would be read with the synthetic cohort)"))
    return problems


def file_names(file_format: str) -> tuple[str, str, str]:
    """The names of the files a cohort in ``file_format`` has: patients, visits, the note."""
    _check_format(file_format)
    return f"patients.{file_format}", f"visits.{file_format}", SYNTHETIC_MARKER


@dataclass
class StagedCohort:
    """A cohort written to temporary files beside its final names (``.<name>.*.tmp`` in
    ``folder``): :meth:`digests` for :func:`replace_problems`, then :meth:`commit` renames them
    and writes the manifest, or :meth:`discard` removes them (and the folder when staging made
    it and it is left empty). Made by :func:`stage_cohort`."""

    folder: Path
    file_format: str
    temps: dict[str, Path]
    patients: int
    visits: int
    made_folder: bool
    _digests: dict[str, str] = field(default_factory=dict, repr=False)

    def digests(self) -> dict[str, str]:
        """The SHA-256 of each staged file, by final name."""
        if not self._digests:
            self._digests = {name: sha256_file(tmp) for name, tmp in self.temps.items()}
        return dict(self._digests)

    def commit(self) -> tuple[Path, Path]:
        """Give the staged files their names (each rename is atomic), then write the manifest
        that makes the folder a synthetic cohort. Returns the patients and visits paths."""
        for name, tmp in self.temps.items():
            os.chmod(tmp, default_mode())
            os.replace(tmp, self.folder / name)
        self.temps = {}
        write_synthetic_manifest(self.folder)
        patients, visits, _ = file_names(self.file_format)
        return self.folder / patients, self.folder / visits

    def discard(self) -> None:
        """Remove the staged files (and the folder if staging made it and it is now empty)."""
        for tmp in self.temps.values():
            tmp.unlink(missing_ok=True)
        self.temps = {}
        if self.made_folder:
            try:
                self.folder.rmdir()
            except OSError:
                pass


def stage_cohort(blocks: Iterable[SyntheticCohort], out_dir: str | Path,
                 file_format: str = "csv",
                 on_block: Callable[[int, int], object] | None = None) -> StagedCohort:
    """Write the cohort given as ``blocks`` (:func:`generate_blocks`, or one whole cohort in a
    list) to temporary files in ``out_dir`` (created if needed), block by block, so that only
    one block is in memory. ``on_block(patients_so_far, visits_so_far)`` is called after each
    block (progress). On any error, or an interruption, the temporary files are removed."""
    names = file_names(file_format)
    out = Path(out_dir)
    made_folder = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    staged = StagedCohort(out, file_format, {}, 0, 0, made_folder)
    handles = []
    try:
        for name in names:
            handle, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=out)
            staged.temps[name] = Path(tmp)
            handles.append(os.fdopen(handle, "wb"))
        writers = [_TableWriter(fh, file_format) for fh in handles[:2]]
        seed = None
        for block in blocks:
            seed = block.seed
            writers[0].write(block.patients)
            writers[1].write(block.visits)
            staged.patients, staged.visits = writers[0].rows, writers[1].rows
            if on_block is not None:
                on_block(staged.patients, staged.visits)
        if seed is None:
            raise ValueError("a cohort of no block")
        for writer in writers:
            writer.close()
        handles[2].write(synthetic_marker_text(seed, staged.patients).encode("utf-8"))
        for fh in handles:
            fh.flush()
            os.fsync(fh.fileno())
            fh.close()
    except BaseException:
        for fh in handles:
            fh.close()
        staged.discard()
        raise
    return staged


def write_cohort(cohort: SyntheticCohort, out_dir: str | Path,
                 file_format: str = "csv") -> tuple[Path, Path]:
    """Write the cohort's files (:func:`cohort_files`) into ``out_dir`` (created if needed),
    each one atomically (a temporary file renamed over the old), then the manifest that makes
    the folder a synthetic cohort (``data.write_synthetic_manifest``). Returns the paths of
    the patients and visits files (``.csv`` or ``.parquet``)."""
    return stage_cohort([cohort], out_dir, file_format).commit()
