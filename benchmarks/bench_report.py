"""The report phase of ``poems-cohort run`` (everything :func:`render` makes from a computed
study) part by part, in CPU seconds, against baselines timed in the same run.

Parts: the display tables; the figures (18 files: PNG at 300 dpi and SVG); ``results.json``;
``report.html``; the tables' CSV files, workbook and Word document; ``analysis_dataset.csv``
(one row per patient, the part that grows with the cohort). Baselines, on the same analysis
dataset in the same process:

- ``pyarrow.csv.write_csv`` of the dataset as an Arrow table (no neutralising, Arrow's own
  number format): the bare cost of writing that many cells as CSV;
- the dataset's CSV written the way it was before ``report/csv_arrow.py`` (``to_csv`` on every
  piece, still the path for pieces Arrow cannot write): the same bytes, checked here.

    python benchmarks/bench_report.py                          # the bundled cohort
    python benchmarks/bench_report.py COHORT --save study.pkl  # compute once, keep the study
    python benchmarks/bench_report.py --load study.pkl --repeat 1

Each part is the best of ``--repeat`` runs; the study itself is not timed.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import pickle
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from poems_cohort.report import output
from poems_cohort.report.comparative import comparative_tables
from poems_cohort.report.comparative_figures import comparative_figures, label_paper_figures
from poems_cohort.report.docx_out import docx_bytes
from poems_cohort.report.figures import all_figures
from poems_cohort.report.html import report_html
from poems_cohort.report.json_out import results_json
from poems_cohort.report.narrative import narrative
from poems_cohort.report.tables import all_tables
from poems_cohort.report.xlsx_out import xlsx_bytes
from poems_cohort.workflow import compute
from timing import best_of  # benchmarks/timing.py, beside this script


def digest(pieces: Any) -> str:
    h = hashlib.sha256()
    for piece in pieces:
        h.update(piece)
    return h.hexdigest()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", nargs="?", default=None, help="a cohort (default: the bundled one)")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--save", type=Path, help="keep the computed study in this pickle")
    ap.add_argument("--load", type=Path, help="a study kept by --save (nothing computed)")
    args = ap.parse_args()
    if args.load is not None:
        with open(args.load, "rb") as fh:
            study = pickle.load(fh)
    else:
        study = compute(args.data)
        if args.save is not None:
            with open(args.save, "wb") as fh:
                pickle.dump(study, fh, protocol=5)
    r, syn = study.results, study.synthetic
    ds = r.analysis_dataset
    n = len(ds)
    all_figures(r)  # fonts and caches warm before anything is timed
    rows: list[tuple[str, float]] = []

    def part(name: str, fn: Callable[[], Any], repeat: int = args.repeat) -> Any:
        secs, out = best_of(fn, repeat, time.process_time)
        rows.append((name, secs))
        print(f"  {name:<38} {secs:8.2f}", flush=True)
        return out

    print(f"{n} patients, CPU seconds (best of {args.repeat})")
    tables = part("display tables", lambda: [*all_tables(r), *comparative_tables(r)])
    figures = part("figures (PNG 300 dpi + SVG)", lambda: label_paper_figures(
        all_figures(r, synthetic=syn), comparative_figures(r, synthetic=syn)))
    text = narrative(r)
    part("results.json", lambda: results_json(r, text, synthetic=syn))
    part("report.html", lambda: report_html(r, tables, figures, text, synthetic=syn))
    ordered = output.journal_order(tables)
    part("tables/*.csv", lambda: [output.csv_bytes(t.frame, synthetic=syn) for t in tables])
    part("tables.xlsx", lambda: xlsx_bytes(ordered, synthetic=syn))
    part("tables.docx", lambda: docx_bytes(ordered, title="tables", synthetic=syn))
    new = part("analysis_dataset.csv",
               lambda: digest(output.csv_pieces(ds, synthetic=syn)), 1)
    total = sum(s for _, s in rows)
    print(f"  {'the report phase':<38} {total:8.2f}")

    real = output.csv_text
    output.csv_text = lambda part, *, header: None  # type: ignore[assignment]
    try:
        before, old = best_of(lambda: digest(output.csv_pieces(ds, synthetic=syn)), 1,
                              time.process_time)
    finally:
        output.csv_text = real
    arrow_s, _ = best_of(lambda: pacsv.write_csv(pa.Table.from_pandas(ds, preserve_index=False),
                                             io.BytesIO()), args.repeat)
    dataset = dict(rows)["analysis_dataset.csv"]
    print("baselines (same run)")
    print(f"  {'dataset by to_csv (before)':<38} {before:8.2f}  same bytes: {old == new}")
    print(f"  {'dataset by pyarrow.csv.write_csv':<38} {arrow_s:8.2f}")
    print(f"ratios: dataset CSV / Arrow write {dataset / arrow_s:.1f}; before / now "
          f"{before / dataset:.1f}; report phase / Arrow write {total / arrow_s:.1f}; "
          f"report phase before / now {(total - dataset + before) / total:.1f}")
    return 0 if old == new else 1


if __name__ == "__main__":
    raise SystemExit(main())
