"""Everything ``run`` writes, built in memory first, then swapped into place in one step.

Only ``analysis_dataset.csv`` carries patient identifiers; every other file is aggregate. Every
CSV is safe to open in a spreadsheet (:func:`safe_csv`) and, for a synthetic cohort, says so in a
column. The second half of the module writes the report folder: the checks made before anything
is computed (:func:`check_output_folder`), the swap (:func:`write_outputs`) and the clean-up of
what a crash left (:func:`recover_leftovers`); docs/outputs.md describes them for users.
"""

from __future__ import annotations

import contextlib
import csv
import ctypes
import errno
import hashlib
import io
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

try:
    import fcntl
except ImportError:  # not a POSIX system: no locks between concurrent runs
    fcntl = None  # type: ignore[assignment]

from poems_cohort.errors import InputError, Problem
from poems_cohort.manifest import (
    ANALYSIS_DATASET,
    MANIFEST_NAME,
    REPORT,
    SYNTHETIC_COHORT,
    Entry,
    Manifest,
    atomic_file,
    default_mode,
    foreign_manifest,
    read_manifest,
    remove_listed,
    sha256_bytes,
    unchanged,
    write_manifest,
)
from poems_cohort.report.appendix import Appendix
from poems_cohort.report.comparative import comparative_tables
from poems_cohort.report.comparative_figures import comparative_figures, label_paper_figures
from poems_cohort.report.csv_arrow import csv_text, distinct_float_text
from poems_cohort.report.docx_out import docx_bytes
from poems_cohort.report.figures import RenderedFigure, all_figures
from poems_cohort.report.html import report_html
from poems_cohort.report.json_out import results_json
from poems_cohort.report.narrative import narrative
from poems_cohort.report.tables import DisplayTable, all_tables
from poems_cohort.report.xlsx_out import xlsx_bytes
from poems_cohort.study import StudyResults

PATIENT_LEVEL_FILES = ("analysis_dataset.csv",)

# Formula injection (OWASP "CSV injection"): a spreadsheet evaluates a cell that begins with one
# of these characters. Such a text cell is written with a leading apostrophe; a plain number
# (``-0.5``, ``+3``, ``1e-05``) stays a number.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
SYNTHETIC_COLUMN = "synthetic"


def neutralise(text: str) -> str:
    """``text`` as a cell no spreadsheet evaluates: prefixed with ``'`` when it begins with
    ``=``, ``+``, ``-``, ``@``, a tab or a carriage return and is not a plain number."""
    if text.startswith(FORMULA_START) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def safe_csv(data: bytes, *, synthetic: bool = False) -> bytes:
    """A CSV file (UTF-8, comma, ``\\n``) with every cell and header neutralised
    (:func:`neutralise`); ``synthetic`` adds a last column ``synthetic`` holding ``TRUE`` on
    every row, so that the file says so wherever it goes and stays readable by ``read.csv``."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    for k, row in enumerate(rows):
        cells = [neutralise(c) for c in row]
        if synthetic:
            cells.append(SYNTHETIC_COLUMN if k == 0 else "TRUE")
        writer.writerow(cells)
    return buf.getvalue().encode("utf-8")


#: Rows per piece when a large frame is written as CSV (:func:`csv_bytes`): the text of one
#: piece at a time, so a million-row dataset does not hold its whole text twice.
CSV_CHUNK_ROWS = 100_000


def csv_bytes(frame: pd.DataFrame, *, synthetic: bool = False) -> bytes:
    """``frame`` as a safe CSV file, without the index: the bytes :func:`safe_csv` gives for
    ``frame.to_csv(index=False)``; :func:`csv_pieces` joined."""
    buf = io.BytesIO()
    for piece in csv_pieces(frame, synthetic=synthetic):
        buf.write(piece)
    return buf.getvalue()


def csv_pieces(frame: pd.DataFrame, *, synthetic: bool = False) -> Iterator[bytes]:
    """The bytes of :func:`csv_bytes` in consecutive pieces, each made when asked for: a
    million-row dataset is written to its file without its whole text in memory.

    Neutralised column by column (:func:`_neutral_frame`: each distinct text once, numbers
    untouched) and written in pieces of :data:`CSV_CHUNK_ROWS` rows, each as ``to_csv`` would
    write it: by :func:`~poems_cohort.report.csv_arrow.csv_text` (each column's text at once,
    rows joined by Arrow; a third of the time at registry size), else by ``to_csv``; a column of
    another kind (mixed objects, timedeltas, a float column holding -inf) takes the cell-by-cell
    path of :func:`safe_csv` (one piece). Both give the same bytes
    (``tests/outputs/test_safe_cells.py``)."""
    neutral = _neutral_frame(frame, synthetic)
    if neutral is None:
        yield safe_csv(frame.to_csv(index=False, lineterminator="\n").encode("utf-8"),
                       synthetic=synthetic)
        return
    if synthetic:
        neutral = neutral.assign(**{SYNTHETIC_COLUMN: "TRUE"})
    for start in range(0, max(len(neutral), 1), CSV_CHUNK_ROWS):
        part = neutral.iloc[start:start + CSV_CHUNK_ROWS]
        text = csv_text(part, header=start == 0)
        if text is None:  # a column or a cell only to_csv writes: this piece by to_csv
            text = _float_text(part).to_csv(index=False, header=start == 0,
                                            lineterminator="\n").encode("utf-8")
        yield text


def _float_text(part: pd.DataFrame) -> pd.DataFrame:
    """``part`` with each float64 column of few distinct values (indicators, grouped
    measurements: at most a quarter of its rows) replaced by its CSV text, formatted once per
    distinct value. The text is what ``to_csv`` writes (numpy's shortest repr, ``""`` for NaN;
    values told apart by their bits, so ``-0.0`` stays ``-0.0``): the same bytes in about a
    fifth less time at registry size, where formatting every float dominates the rendering."""
    changed: dict[str, np.ndarray] = {}
    for name in part.columns:
        col = part[name]
        if col.dtype != np.float64:
            continue
        text = distinct_float_text(col.to_numpy())
        if text is not None:
            changed[name] = text.to_numpy(zero_copy_only=False)
    return part.assign(**changed) if changed else part


def _neutral_frame(frame: pd.DataFrame, synthetic: bool) -> pd.DataFrame | None:
    """``frame`` with every text cell neutralised (:func:`neutralise`; the frame itself when
    none changes: no copy), or ``None`` when the frame has a column whose CSV text is not known
    here, or a header to change (then the caller neutralises the written text cell by cell)."""
    names = list(frame.columns)
    if (not names or frame.columns.nlevels != 1 or len(set(names)) != len(names)
            or not all(isinstance(c, str) and neutralise(c) == c for c in names)
            or (synthetic and SYNTHETIC_COLUMN in names)):
        return None
    changed: dict[str, pd.Series] = {}
    for name in names:
        col = frame[name]
        kind = col.dtype.kind
        if kind in "iub" or (kind == "M" and not isinstance(col.dtype, pd.DatetimeTZDtype)):
            continue
        if isinstance(col.dtype, pd.CategoricalDtype):
            # the categories are what is written: numbers as they are, text neutralised once
            cats = col.dtype.categories
            if cats.dtype.kind in "iu":
                continue
            if cats.dtype.kind == "f":
                if np.isneginf(cats.to_numpy(dtype=np.float64)).any():
                    return None
                continue
            if pd.api.types.infer_dtype(cats, skipna=True) not in ("string", "empty"):
                return None
            bad = {t: "'" + t for t in _formula_like(np.asarray(cats, dtype=object))
                   if neutralise(t) != t}
            if bad:
                renamed = [bad.get(t, t) for t in cats.tolist()]
                if len(set(renamed)) < len(renamed):
                    return None  # a neutralised text equal to another category
                changed[name] = col.cat.rename_categories(renamed)
            continue
        if kind == "f":
            if np.isneginf(col.to_numpy(dtype=np.float64, na_value=np.nan)).any():
                return None  # written "-inf", which a spreadsheet would evaluate
        elif pd.api.types.infer_dtype(col, skipna=True) in ("string", "empty"):
            # each distinct text tested once; only those a spreadsheet would evaluate change
            bad = {t: "'" + t for t in _formula_like(pd.unique(col.dropna()))
                   if neutralise(t) != t}
            if bad:
                changed[name] = col.replace(bad)
        else:
            return None
    return frame.assign(**changed) if changed else frame


def _formula_like(texts: np.ndarray) -> list[str]:
    """Those of ``texts`` (distinct strings) that begin like a formula (:data:`FORMULA_START`),
    found by Arrow at once: a million patient identifiers need not each go through
    :func:`neutralise`."""
    arrow = pa.array(texts, pa.string())
    starts = np.zeros(len(texts), dtype=bool)
    for prefix in FORMULA_START:
        starts |= pc.starts_with(arrow, prefix).to_numpy(zero_copy_only=False)
    return [str(t) for t in np.asarray(texts, dtype=object)[starts]]


class SpooledFile:
    """A rendered file too large to hold in memory: its bytes in an anonymous temporary file
    (removed when closed or collected), with their SHA-256 and size, computed while spooling.

    The analysis dataset of a registry (0.4 GB of CSV at 10^6 patients) is rendered this way,
    piece by piece, and copied into the report folder block by block."""

    BLOCK = 1 << 20

    def __init__(self, pieces: Iterable[bytes]) -> None:
        digest = hashlib.sha256()
        size = 0
        try:
            self._handle = tempfile.TemporaryFile()
        except OSError as exc:
            raise _no_room(exc) from None
        try:
            for piece in pieces:
                self._handle.write(piece)
                digest.update(piece)
                size += len(piece)
        except BaseException as exc:
            self._handle.close()
            if isinstance(exc, OSError):
                raise _no_room(exc) from None
            raise
        self.sha256 = digest.hexdigest()
        self.size = size

    def blocks(self) -> Iterator[bytes]:
        """The bytes, in blocks of :attr:`BLOCK`."""
        self._handle.seek(0)
        return iter(lambda: self._handle.read(self.BLOCK), b"")

    def read(self) -> bytes:
        """All the bytes (for small files and tests)."""
        return b"".join(self.blocks())

    def __len__(self) -> int:
        return self.size

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SpooledFile):
            return self.sha256 == other.sha256 and self.size == other.size
        if isinstance(other, bytes | bytearray | memoryview):
            return self.size == len(other) and self.read() == bytes(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"SpooledFile({self.size} bytes, sha256 {self.sha256[:12]}…)"


def _no_room(exc: OSError) -> InputError:
    where = tempfile.gettempdir()
    return InputError([Problem(where, None, None, None,
                               f"a temporary folder with room for the analysis dataset's CSV "
                               f"(writing it in {where} failed: {exc.strerror or exc}; TMPDIR "
                               "chooses another)")])


#: Above this many rows the analysis dataset's CSV is spooled to a temporary file
#: (:class:`SpooledFile`) instead of held as bytes.
SPOOL_ROWS = CSV_CHUNK_ROWS


def dataset_csv(frame: pd.DataFrame, *, synthetic: bool = False) -> bytes | SpooledFile:
    """The patient-level dataset as a safe CSV file: bytes for a cohort of at most
    :data:`SPOOL_ROWS` patients, else a :class:`SpooledFile` rendered piece by piece (the same
    bytes, never all in memory: 0.4 GB at 10^6 patients)."""
    if len(frame) <= SPOOL_ROWS:
        return csv_bytes(frame, synthetic=synthetic)
    return SpooledFile(csv_pieces(frame, synthetic=synthetic))


@dataclass(frozen=True, slots=True)
class Outputs:
    """The files of a run: relative path → bytes, or a :class:`SpooledFile` for the
    patient-level dataset of more than :data:`SPOOL_ROWS` patients."""

    files: dict[str, bytes | SpooledFile]

    def names(self) -> list[str]:
        """The relative paths, sorted."""
        return sorted(self.files)


JOURNAL_FIRST = ("table1", "table2")


def journal_order(tables: list[DisplayTable]) -> list[DisplayTable]:
    """Table 1 and Table 2 first, then the others in report order (the Word and Excel files)."""
    first = [t for name in JOURNAL_FIRST for t in tables if t.name == name]
    return first + [t for t in tables if t.name not in JOURNAL_FIRST]


def table_files(tables: list[DisplayTable], *, synthetic: bool = False,
                extra_sheets: Sequence[DisplayTable] = ()) -> dict[str, bytes]:
    """CSV per table, the workbook and the Word document (titled synthetic when it is);
    ``extra_sheets`` follow the study's tables in the workbook only."""
    files = {f"tables/{t.name}.csv": csv_bytes(t.frame, synthetic=synthetic) for t in tables}
    ordered = journal_order(tables)
    files["tables/tables.xlsx"] = xlsx_bytes([*ordered, *extra_sheets], synthetic=synthetic)
    title = "POEMS syndrome first-line treatments: tables"
    if synthetic:
        title += " (synthetic cohort: no real patients)"
    files["tables/tables.docx"] = docx_bytes(ordered, title=title, synthetic=synthetic)
    return files


def figure_files(figures: list[RenderedFigure]) -> dict[str, bytes]:
    """PNG (300 dpi) and SVG of every figure."""
    files: dict[str, bytes] = {}
    for f in figures:
        files[f"figures/{f.name}.png"] = f.png
        files[f"figures/{f.name}.svg"] = f.svg
    return files


def build_outputs(results: StudyResults, *, tables: list[DisplayTable] | None = None,
                  figures: list[RenderedFigure] | None = None,
                  synthetic: bool = False, appendices: Sequence[Appendix] = ()) -> Outputs:
    """Every output file of a run, in memory. ``synthetic``: the cohort is synthetic, and the
    report and ``results.json`` say so. ``appendices``: sections added to the report after the
    study's, with their workbook sheets and files (``ValueError`` when one takes the name of a
    sheet or file of the study, or of another appendix)."""
    tables = tables if tables is not None else [*all_tables(results),
                                                *comparative_tables(results)]
    figures = figures if figures is not None else label_paper_figures(
        all_figures(results, synthetic=synthetic),
        comparative_figures(results, synthetic=synthetic))
    text = narrative(results)
    files = {"results.json": results_json(results, text, synthetic=synthetic),
             "report.html": report_html(results, tables, figures, text, synthetic=synthetic,
                                        appendices=appendices),
             "analysis_dataset.csv": dataset_csv(results.analysis_dataset, synthetic=synthetic)}
    sheets = [s for a in appendices for s in a.sheets]
    _check_unique("sheet", [t.name[:31] for t in [*tables, *sheets]])
    files.update(table_files(tables, synthetic=synthetic, extra_sheets=sheets))
    files.update(figure_files(figures))
    extra = [(rel, data) for a in appendices for rel, data in a.files]
    for rel, _ in extra:
        if Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise ValueError(f"an appendix file must lie inside the output folder: {rel!r}")
        if rel == MANIFEST_NAME:
            raise ValueError(f"an appendix file may not take the manifest's name: {rel!r}")
    _check_unique("file", [*files, *(rel for rel, _ in extra)])
    files.update((rel, safe_csv(data, synthetic=synthetic) if rel.endswith(".csv") else data)
                 for rel, data in extra)
    return Outputs(files)


def _check_unique(what: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"two outputs would be the {what} {name!r}")
        seen.add(name)


# --------------------------------------------------------------------------------------------
# Writing a report folder: never destroy a file the tool did not write, never half-replace.
#
# The new report is written into a staging folder beside OUT (``.OUT.poems-cohort-new-XXXX``),
# its manifest first, then swapped with OUT in one step (an atomic exchange of the two names on
# Linux; elsewhere OUT is renamed aside to ``.OUT.poems-cohort-old-XXXX`` and the new one renamed
# in). The previous report, now at the sibling name, is removed file by file from its manifest.
# A run that finds such siblings at start (a crash) removes them, or puts an old report back
# when OUT itself is missing. docs/outputs.md describes every instant.

LEFTOVER = ".poems-cohort-"
STAGING = LEFTOVER + "new-"
ASIDE = LEFTOVER + "old-"
MAX_LISTED = 20
PROBE_BYTES = 64 * 1024
#: Less free space than this where the output goes is refused before anything is computed (a
#: report of the bundled cohort takes about 3.5 MB).
MIN_FREE_BYTES = 8 * 2**20


def _try_lock(folder: Path) -> int | None:
    """An open descriptor holding an exclusive advisory lock on ``folder`` (``flock``: released
    when closed, or when the process ends, however it ends); ``None`` when another run holds it;
    ``-1`` where the system has no ``flock``."""
    if fcntl is None:
        return -1
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _release(fd: int | None) -> None:
    if fd is not None and fd >= 0:
        os.close(fd)


def _checkpoint(step: str) -> None:
    """A named instant of writing a report (the tests stop a run here to simulate a crash)."""


def _absolute(out: Path) -> Path:
    return Path(out).expanduser().resolve()


def _problem(out: Path, expected: str, value: object = None) -> Problem:
    return Problem(str(out), None, None, value, expected)


def _nearest_existing(path: Path) -> Path | None:
    for p in (path, *path.parents):
        if os.path.lexists(p):
            return p
    return None


def input_clash(out: Path, inputs: Sequence[Path | None]) -> str | None:
    """Why ``out`` may not be written (it equals, contains or lies inside an input), or
    ``None``."""
    target = _absolute(out)
    for given in inputs:
        if given is None:
            continue
        source = _absolute(Path(given))
        if target == source:
            return f"a path that is not an input ({given} is read as input)"
        if source.is_relative_to(target):
            return f"a folder that does not contain an input ({given} is read as input)"
        if target.is_relative_to(source):
            return f"a path outside the input {given}"
    return None


def check_writable(out: Path, *, option: str = "--out") -> None:
    """The folder ``out`` can be created or replaced: its nearest existing ancestor is a folder
    the tool can write in (:func:`probe_writable`). ``InputError`` otherwise."""
    out = _absolute(out)
    if os.path.lexists(out) and not out.is_dir():
        raise InputError([_problem(out, f"{option}: a folder for the output (this is an "
                                   "existing file)")])
    base = _nearest_existing(out.parent)
    if base is None or not base.is_dir():
        raise InputError([_problem(out, f"{option}: a folder path ({base} is not a folder)")])
    probe_writable(base, out, option=option)


def probe_writable(base: Path, out: Path, *, option: str = "--out") -> None:
    """The tool can create files in the folder ``base``: a small file is written there and
    removed (which catches a read-only file system, a full one, and permissions that do not
    apply to root), and the file system has at least :data:`MIN_FREE_BYTES` free; else an
    ``InputError`` about ``out``."""
    try:
        handle, probe = tempfile.mkstemp(prefix=".poems-cohort-probe-", dir=base)
        try:
            os.write(handle, bytes(PROBE_BYTES))
        finally:
            os.close(handle)
            os.unlink(probe)
        free = shutil.disk_usage(base).free
    except OSError as exc:
        raise InputError([_problem(out, f"{option}: a location the tool can write in "
                                   f"(writing in {base} failed: {exc.strerror or exc})")]) from None
    if free < MIN_FREE_BYTES:
        raise InputError([_problem(out, f"{option}: a location the tool can write in, with at "
                                   f"least {MIN_FREE_BYTES // 2**20} MiB free ({base} has "
                                   f"{free // 2**10} KiB)")])


def _remove_unfinished(folder: Path) -> None:
    """Remove a staging folder killed before its manifest was complete: only when it holds
    nothing but the manifest's own (partial or temporary) files."""
    with contextlib.suppress(OSError):
        names = os.listdir(folder)
        own = [n for n in names if n == MANIFEST_NAME
               or (n.startswith(f".{MANIFEST_NAME}.") and n.endswith(".tmp"))]
        if len(own) != len(names):
            return
        for n in own:
            if os.path.isfile(folder / n) and not os.path.islink(folder / n):
                os.unlink(folder / n)
        folder.rmdir()


def recover_leftovers(out: Path) -> None:
    """Clean up what a crash of an earlier run into ``out`` left beside it: a staging folder or
    a report moved aside, recognised by their names AND the tool's manifest inside. An old
    report is put back when ``out`` itself is missing; everything else is removed file by
    file from its manifest. A folder without the tool's manifest is left alone (unless it is
    an empty one of the tool's names)."""
    out = _absolute(out)
    parent = out.parent
    if not parent.is_dir():
        return
    prefix = f".{out.name}{LEFTOVER}"
    for entry in sorted(os.scandir(parent), key=lambda e: e.name):
        name = entry.name
        if not name.startswith(prefix) or not name[len(prefix):].startswith(("new-", "old-")):
            continue
        if not entry.is_dir(follow_symlinks=False):
            continue
        path = Path(entry.path)
        lock = _try_lock(path)
        if lock is None:
            continue  # another run is writing it now
        try:
            manifest = read_manifest(path)
            if manifest is None:
                _remove_unfinished(path)
                continue
            if set(e.role for e in manifest.files.values()) - {REPORT, ANALYSIS_DATASET}:
                continue
            if name[len(prefix):].startswith("old-") and not os.path.lexists(out):
                os.rename(path, out)
                continue
            remove_listed(path, manifest)
        finally:
            _release(lock)


def foreign_entries(out: Path) -> list[Problem]:
    """Every entry of the folder ``out`` that a new report may not replace: a file the tool
    did not write or that changed since, a link, a folder of the user's, a synthetic cohort."""
    out = _absolute(out)
    if not out.is_dir():
        return []
    found = read_manifest(out)
    manifest = found or Manifest()
    problems: list[Problem] = []

    def walk(folder: Path, rel: str) -> None:
        """Check ``folder``, entering only the folders that hold listed files (so a folder of
        the user's, however large, is named and not walked)."""
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            sub = f"{rel}{entry.name}"
            path = Path(entry.path)
            if entry.is_symlink():
                problems.append(_problem(path, "only files poems-cohort wrote (this is a link; "
                                         "it is left alone)"))
            elif entry.is_dir(follow_symlinks=False):
                if any(k.startswith(sub + "/") for k in manifest.files):
                    walk(path, sub + "/")
                else:
                    problems.append(_problem(path, "only files poems-cohort wrote (a folder "
                                             "it did not make)"))
            elif sub == MANIFEST_NAME and not rel:
                if found is None:
                    problems.append(_problem(path, "a manifest poems-cohort wrote (this one "
                                             "cannot be read as one)"))
            elif sub not in manifest.files:
                problems.append(_problem(path, "only files poems-cohort wrote (this one is "
                                         "not listed in its manifest)"))
            elif manifest.files[sub].role == SYNTHETIC_COHORT:
                problems.append(_problem(path, "a folder without a cohort (this file belongs "
                                         "to a synthetic cohort; a cohort is never replaced)"))
            elif manifest.files[sub].role != REPORT:
                problems.append(_problem(path, "only files of an earlier report (this one was "
                                         "written by another command, e.g. derive; it is left "
                                         "alone)"))
            elif not unchanged(out, sub, manifest.files[sub]):
                problems.append(_problem(path, "a file as poems-cohort wrote it (it was "
                                         "changed since, so it is yours now)"))

    walk(out, "")
    return problems


def _refusal(out: Path, problems: list[Problem]) -> InputError:
    head = _problem(out, "--out: an empty or new folder, or one holding only an earlier report "
                    "of poems-cohort; nothing in it was touched (move these files or choose "
                    "another folder)")
    shown = problems[:MAX_LISTED]
    if len(problems) > MAX_LISTED:
        shown.append(_problem(out, f"and {len(problems) - MAX_LISTED} more like these"))
    return InputError([head, *shown])


def check_output_folder(out: Path, *, inputs: Sequence[Path | None] = ()) -> None:
    """Everything that can be checked about ``out`` before anything is computed, as an
    ``InputError`` (exit 2): it is a folder path, it is not, holds or lies in an input, the
    location is writable, and it is new, empty or holds only an earlier report of the tool.
    Leftovers of an earlier crash beside it are cleaned up first (:func:`recover_leftovers`)."""
    out = _absolute(out)
    if os.path.lexists(out) and not out.is_dir():
        raise InputError([_problem(out, "--out: a folder for the report (this is an existing "
                                   "file)")])
    for parent in out.parents:
        if os.path.lexists(parent):
            if not parent.is_dir():
                raise InputError([_problem(out, f"--out: a folder path ({parent} is a file)")])
            break
    clash = input_clash(out, inputs)
    if clash is not None:
        raise InputError([_problem(out, f"--out: {clash}")])
    check_writable(out)
    kept = kept_folder(out)
    if kept is not None:
        raise InputError([_problem(out, f"--out: {kept}")])
    try:
        recover_leftovers(out)
        problems = foreign_entries(out)
    except OSError as exc:
        raise InputError([_problem(out, f"--out: a folder the tool can read and write "
                                   f"({exc.strerror or exc}: {exc.filename})")]) from None
    if problems:
        raise _refusal(out, problems)


def mount_points(table: str = "/proc/self/mountinfo") -> set[str]:
    """The mount points of the system where it lists them (Linux ``/proc/self/mountinfo``,
    which also names a bind mount of a folder of the same file system, where
    ``os.path.ismount`` sees none); elsewhere an empty set."""
    try:
        with open(table, encoding="utf-8", errors="surrogateescape") as fh:
            fields = [line.split(" ") for line in fh]
    except OSError:
        return set()
    # the 5th field, with space, tab, newline and backslash escaped in octal
    return {re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), f[4])
            for f in fields if len(f) > 4}


def kept_folder(out: Path) -> str | None:
    """Why the existing folder ``out`` may not be replaced as a whole (the report takes the
    place of its folder, by a rename), or ``None``: a mount point (it cannot be renamed), a
    folder read-only for the user (the new one would not keep its permissions), the current
    folder or one above it (the shell would be left in a removed folder)."""
    if not out.is_dir():
        return None
    if os.path.ismount(out) or str(out) in mount_points():
        return ("a folder that is not a mount point (the report takes the place of its folder "
                "as a whole, and a mount point cannot be replaced; name a folder inside it)")
    if not os.access(out, os.W_OK | os.X_OK):
        return ("a folder you can write in (this one is read-only for you; its permissions "
                "are left as they are)")
    try:
        here = Path.cwd().resolve()
    except OSError:
        return None
    if here.is_relative_to(out):
        return ("a folder other than the current one or one above it (the report takes the "
                "place of its folder as a whole, which would leave the shell in a removed "
                "folder; name a new folder, or run from elsewhere)")
    return None


def _exchange(a: Path, b: Path) -> bool:
    """Swap the names ``a`` and ``b`` in one atomic step (Linux ``renameat2`` with
    ``RENAME_EXCHANGE``, which Python's standard library does not offer, hence ctypes); ``False``
    when the system or the file system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EPERM):
        return False
    raise OSError(err, os.strerror(err), str(b))


def write_outputs(outputs: Outputs, out: Path, *, inputs: Sequence[Path | None] = ()) -> None:
    """Write ``outputs`` as the report folder ``out``, replacing an earlier report as a whole
    (see the module notes and docs/outputs.md). ``InputError`` when ``out`` may not be written
    (:func:`check_output_folder`) or writing fails (a full disk…); then ``out`` is as before."""
    out = _absolute(out)
    check_output_folder(out, inputs=inputs)
    manifest = Manifest({rel: Entry(data.sha256 if isinstance(data, SpooledFile)
                                    else sha256_bytes(data), REPORT)
                         for rel, data in outputs.files.items()})
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}{STAGING}", dir=out.parent))
    except OSError as exc:
        raise InputError([_problem(out, f"--out: a location the tool can write in "
                                   f"({exc.strerror or exc})")]) from None
    locks = [_try_lock(staging)]
    aside: Path | None = None
    swapped = False
    try:
        if out.is_dir():
            locks.append(_try_lock(out))
            if locks[-1] is None:
                raise InputError([_problem(out, "--out: a folder no other poems-cohort run is "
                                           "writing into (one is, now)")])
        os.chmod(staging, default_mode(folder=True))
        _checkpoint("staging folder made")
        write_manifest(staging, manifest)
        _checkpoint("manifest written")
        for rel, data in outputs.files.items():
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(data, SpooledFile):
                with open(path, "wb") as fh:
                    for block in data.blocks():
                        fh.write(block)
            else:
                path.write_bytes(data)
        _checkpoint("files written")
        problems = foreign_entries(out)  # the user may have changed OUT while we computed
        if problems:
            raise _refusal(out, problems)
        if not out.is_dir() or not any(os.scandir(out)):
            os.rename(staging, out)  # onto nothing, or an empty folder: one step
            swapped = True
            _checkpoint("renamed in")
            return
        if _exchange(staging, out):
            swapped, old = True, staging
            _checkpoint("exchanged")
        else:
            aside = out.parent / staging.name.replace(STAGING, ASIDE, 1)
            os.rename(out, aside)
            _checkpoint("old report moved aside")
            os.rename(staging, out)
            swapped, old = True, aside
            _checkpoint("new report moved in")
        with contextlib.suppress(OSError):  # a later run removes what is left
            remove_listed(old, read_manifest(old) or Manifest())
        _checkpoint("old report removed")
    except (Exception, KeyboardInterrupt) as exc:
        if not swapped:
            with contextlib.suppress(OSError):
                if aside is not None and not os.path.lexists(out):
                    os.rename(aside, out)
                remove_listed(staging, manifest)
        if isinstance(exc, OSError):
            raise InputError([_problem(out, f"--out: writing the report failed "
                                       f"({exc.strerror or exc}); the folder is as it was")]
                             ) from None
        raise
    finally:
        for fd in locks:
            _release(fd)


# --------------------------------------------------------------------------------------------
# Writing one file (``derive``): replaced only when the tool wrote it and nobody changed it.


def check_output_file(out: Path, *, inputs: Sequence[Path | None] = ()) -> None:
    """Everything that can be checked about the output file ``out`` (in an existing folder)
    before anything is computed, as an ``InputError``: it is not, and does not lie in, an input;
    its folder is writable and is not a report's (which holds one analysis); an existing file
    there is an analysis dataset the tool wrote and nobody changed (listed in the folder's
    manifest with its hash), never a file of a synthetic cohort."""
    out = Path(out)
    clash = input_clash(out, inputs)
    if clash is not None:
        raise InputError([Problem("--out", None, None, str(out), clash)])
    probe_writable(out.parent, out)
    if foreign_manifest(out.parent):
        raise InputError([Problem("--out", None, None, str(out.parent / MANIFEST_NAME),
                                  "a manifest poems-cohort wrote (this one cannot be read as "
                                  "one; it is left alone, choose another folder)")])
    manifest = read_manifest(out.parent) or Manifest()
    if any(e.role == REPORT for e in manifest.files.values()):
        raise InputError([Problem("--out", None, None, str(out),
                                  "a file outside the folder of a report of poems-cohort run "
                                  "(that folder holds one analysis, and the next run into it "
                                  "would stop at a file it did not write)")])
    if os.path.lexists(out):
        listed = manifest.files.get(out.name)
        if listed is not None and listed.role == SYNTHETIC_COHORT:
            why = "this one belongs to a synthetic cohort; a cohort is never replaced"
        elif listed is None or not unchanged(out.parent, out.name, listed):
            why = "this one is not its own: it is left alone"
        else:
            return
        raise InputError([Problem("--out", None, None, str(out),
                                  "a new file, or an analysis dataset poems-cohort wrote and "
                                  f"nobody changed since ({why})")])


def write_dataset_file(frame: pd.DataFrame, out: Path, *, synthetic: bool = False) -> None:
    """Write ``frame`` to ``out`` (``.csv``: a safe CSV, :func:`csv_bytes`; else Parquet), with a
    column ``synthetic`` when it is; atomically (a temporary file beside ``out`` renamed over
    it), then record it in the folder's manifest so that a later ``derive`` may replace it. The
    CSV text is written piece by piece (:func:`csv_pieces`) and Parquet straight to the file,
    so the file's bytes are never all in memory. A write error is an ``InputError``."""
    out = Path(out)
    try:
        if out.suffix.lower() == ".csv":
            digest = _write_pieces_atomically(out, csv_pieces(frame, synthetic=synthetic))
        else:
            table = frame.assign(synthetic=True) if synthetic else frame
            digest = _write_pieces_atomically(out, (), parquet=table)
        manifest = read_manifest(out.parent) or Manifest()
        write_manifest(out.parent, manifest.with_files({out.name: Entry(digest,
                                                                        ANALYSIS_DATASET)}))
    except OSError as exc:
        raise InputError([Problem("--out", None, None, str(out),
                                  f"a file the tool can write ({exc.strerror or exc})")]) from None


def _write_pieces_atomically(path: Path, pieces: Iterable[bytes], *,
                             parquet: pd.DataFrame | None = None) -> str:
    """Write ``pieces`` one after the other (or ``parquet`` as a Parquet file) to a temporary
    file beside ``path``, then rename it over ``path`` (``manifest.atomic_file``); the SHA-256 of what was
    written."""
    digest = hashlib.sha256()
    with atomic_file(path) as fh:
        if parquet is not None:
            parquet.to_parquet(fh, index=False)
            fh.flush()
            fh.seek(0)
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        else:
            for piece in pieces:
                digest.update(piece)
                fh.write(piece)
    return digest.hexdigest()
