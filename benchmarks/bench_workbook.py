"""Reading a 400,000-row workbook: ``read_cohort`` against ``pd.read_csv`` of the same table.

A patients sheet of ``--rows`` rows (the data dictionary's 40 columns as header, the example
patients' id, sex, age, regimen, treatment start, ONLS, eGFR and VEGF filled in, the other
cells empty, or with ``--fill-all`` holding the number 1) is written with openpyxl's write-only
mode, and the same table as CSV. Each
reader then runs in a fresh process, which reports its time and its peak memory (maximum
resident set size, including the interpreter and the imported libraries):

* ``csv-baseline``: ``pd.read_csv(..., dtype=str, keep_default_na=False)`` of the CSV (the named
  baseline: the same table, merely read as text);
* ``read_cohort``: the package's reader (the zip/XML scan for formulas, merged and error cells,
  then python-calamine's rows converted one at a time into one array, then column mapping);
* ``scan``: the zip/XML scan alone;
* ``openpyxl``: ``openpyxl.load_workbook(read_only=True)`` rows as lists (the alternative
  measured when choosing the value reader).

    python benchmarks/bench_workbook.py                 # 400,000 rows
    python benchmarks/bench_workbook.py --rows 100000 --skip-openpyxl
    python benchmarks/bench_workbook.py --fill-all --skip-openpyxl   # every cell filled
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "ten-patients" / "patients.csv"
FILLED = ("patient_id", "sex", "age", "regimen", "treatment_start", "onls", "egfr",
          "vegf_pg_ml")


def write_inputs(folder: Path, rows: int, fill_all: bool = False) -> tuple[Path, Path]:
    from openpyxl import Workbook

    with EXAMPLE.open(newline="", encoding="utf-8") as handle:
        table = list(csv.reader(handle))
    header, body = table[0], table[1:]
    positions = {name: header.index(name) for name in FILLED}
    book = Workbook(write_only=True)
    sheet = book.create_sheet("patients")
    sheet.append(header)
    xlsx, text = folder / "patients.xlsx", folder / "patients.csv"
    with text.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for i in range(rows):
            source = body[i % len(body)]
            cells: list[object] = [1.0 if fill_all else None] * len(header)
            plain = ["1" if fill_all else ""] * len(header)
            for name, at in positions.items():
                value = source[at]
                if name == "patient_id":
                    value = f"P{i:07d}"
                plain[at] = value
                if value == "":
                    cells[at] = None
                    continue
                if name == "treatment_start":
                    cells[at] = dt.date.fromisoformat(value)
                elif name in ("age", "onls", "egfr", "vegf_pg_ml"):
                    cells[at] = float(value)
                else:
                    cells[at] = value
            sheet.append(cells)
            writer.writerow(plain)
    book.save(xlsx)
    return xlsx, text


def measure(method: str, path: Path) -> dict[str, float]:
    """Run one reader in this process; its time and peak memory."""
    if method == "csv-baseline":
        import pandas as pd

        start = time.perf_counter()
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        rows = len(frame)
    elif method == "read_cohort":
        from poems_cohort.cohort import read_cohort

        start = time.perf_counter()
        raw = read_cohort(path)
        rows = len(raw.patients.frame)
    elif method == "scan":
        from poems_cohort.cohort.workbook import scan_sheet, sheets

        start = time.perf_counter()
        rows = scan_sheet(path, sheets(path)[0]).rows - 1
    else:
        from openpyxl import load_workbook

        start = time.perf_counter()
        book = load_workbook(path, read_only=True, data_only=True)
        values = [list(r) for r in book["patients"].iter_rows(values_only=True)]
        book.close()
        rows = len(values) - 1
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {"seconds": seconds, "peak_mb": peak, "rows": rows}


def run(method: str, path: Path) -> dict[str, float]:
    done = subprocess.run([sys.executable, __file__, "--measure", method, str(path)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400_000)
    parser.add_argument("--skip-openpyxl", action="store_true")
    parser.add_argument("--fill-all", action="store_true", help="fill every empty cell with 1")
    parser.add_argument("--measure", nargs=2, metavar=("METHOD", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure[0], Path(args.measure[1]))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        xlsx, text = write_inputs(Path(tmp), args.rows, args.fill_all)
        print(f"{args.rows:,} rows: workbook {xlsx.stat().st_size / 1e6:.1f} MB, CSV "
              f"{text.stat().st_size / 1e6:.1f} MB (written in "
              f"{time.perf_counter() - start:.0f} s)")
        methods = [("csv-baseline", text), ("read_cohort", xlsx), ("scan", xlsx)]
        if not args.skip_openpyxl:
            methods.append(("openpyxl", xlsx))
        print(f"{'reader':>13} {'seconds':>8} {'peak MB':>8} {'ratio':>7}")
        base = None
        for method, path in methods:
            result = run(method, path)
            if result["rows"] != args.rows:
                raise SystemExit(f"{method} read {result['rows']} rows, not {args.rows}")
            base = base or result["seconds"]
            print(f"{method:>13} {result['seconds']:8.2f} {result['peak_mb']:8.0f} "
                  f"{result['seconds'] / base:7.1f}")


if __name__ == "__main__":
    main()
