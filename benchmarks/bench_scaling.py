"""Wall time, CPU time and peak memory of each command as the cohort grows: 1e3 to 1e7 patients.

Usage: python benchmarks/bench_scaling.py [--sizes 1e3 1e4 1e5 1e6] [--steps STEP ...]
                                          [--format csv|parquet] [--work DIR]
       python benchmarks/bench_scaling.py --cohort DIR --sizes N [--steps STEP ...]
       python benchmarks/bench_scaling.py --replot

For each size N, ``poems-cohort synthesize --patients N`` writes a synthetic cohort, then the
other steps are timed on it, each in a fresh process: wall time, CPU time (user + system) and
the peak resident memory of that process (``os.wait4`` rusage of the child). Steps:

- ``synthesize``: the generator, in blocks of at most 100,000 patients above that size;
- ``duckdb`` and ``pyarrow`` (the named baselines, timed in the same run): ``duckdb.read_csv``
  (``read_parquet``) and ``pyarrow.csv`` (``pyarrow.parquet``) of the same two files, every
  column parsed (DuckDB counts every CSV column and hashes every Parquet value, whose counts
  Parquet's metadata would give unread; pyarrow streams record batches), so memory stays
  bounded: the floor any reader of the cohort pays;
- ``validate``, ``derive`` (``--out`` a CSV) and ``run`` (``--out`` a folder): the commands;
- ``study``: ``compute_study`` and the report (rendered and written) on a patient-level cohort
  of N patients held as frames, as the study receives it from the reader
  (``bench_run.py --frames``): the analysis dataset of a derived 1e5-patient cohort, its first N
  rows below 1e5, repeated with new identifiers above (prepared once per work folder, untimed).

``--cohort DIR`` measures an existing cohort folder (e.g. one of 10⁷ patients, two hours to
synthesize) as the single size ``--sizes N``, without ``synthesize``; its format is that of its
files. To add one row later (say ``run`` at 10⁷ Parquet), measure that step alone:
``--cohort DIR --sizes 1e7 --steps run``; the other rows of ``scaling.json`` are kept.

Ratios are step / ``duckdb``. The measurements are merged into ``scaling.json`` (one row per
step, size and format; a new measurement replaces the old), so sizes can be measured in separate
runs; ``--replot`` prints the table and draws ``scaling.png`` (log-log: patients against wall
time, CPU time and peak RSS) from it. A step that fails is recorded with its message and the
size's later steps are skipped. Run it under ``nice``; ``validate``/``derive``/``run`` at 1e6
need about 13 GB with the in-memory reader.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
STEPS = ("synthesize", "duckdb", "pyarrow", "validate", "derive", "run", "study")
BASELINE = "duckdb"
LABELS = {"duckdb": "duckdb.read_csv (baseline)", "pyarrow": "pyarrow.csv (streamed)"}

DUCKDB_CODE = """
import sys, duckdb
fmt, paths = sys.argv[1], sys.argv[2:]
con = duckdb.connect()
total = 0
for p in paths:
    rel = con.read_csv(p) if fmt == "csv" else con.read_parquet(p)
    # Parquet keeps each column's counts in its metadata: hash every value to read them all
    each = 'count("{}")' if fmt == "csv" else 'bit_xor(hash("{}"))'
    counts = ", ".join(each.format(c) for c in rel.columns)
    total += rel.aggregate(f"count(*), {counts}").fetchall()[0][0]
print(total)
"""

PYARROW_CODE = """
import sys
fmt, paths = sys.argv[1], sys.argv[2:]
total = 0
for p in paths:
    if fmt == "csv":
        import pyarrow.csv as c
        reader = c.open_csv(p, read_options=c.ReadOptions(block_size=1 << 24))
    else:
        import pyarrow.parquet as pq
        reader = pq.ParquetFile(p).iter_batches()
    total += sum(batch.num_rows for batch in reader)
print(total)
"""


@dataclass(frozen=True)
class Measure:
    """One step in a fresh process: wall seconds, CPU seconds and peak RSS in MB (``error``:
    the step failed; ``detail``: what the step reported, e.g. its own split of the time)."""

    step: str
    n: int
    wall: float
    cpu: float
    rss_mb: float
    file_format: str = "csv"
    error: str | None = None
    detail: dict[str, float] = field(default_factory=dict)


def measure(step: str, n: int, argv: list[str], file_format: str) -> Measure:
    """Run ``argv`` as a child process and return its wall time, CPU time and peak RSS."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    detail: dict[str, float] = {}
    for line in stdout.splitlines():
        if line.startswith("{"):
            detail = json.loads(line)
    error = None
    if proc.returncode != 0:
        last = stderr.strip().splitlines()[-1:] or ["failed"]
        error = f"exit {proc.returncode}: {last[0]}"
    # ru_maxrss is in kilobytes on Linux
    return Measure(step, n, round(wall, 2), round(usage.ru_utime + usage.ru_stime, 2),
                   round(usage.ru_maxrss / 1024), file_format, error, detail)


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "poems_cohort", *args]


def frames_for(n: int, work: Path) -> Path:
    """The patient-level frames of ``n`` patients for the ``study`` step (see the docstring),
    made once per work folder (untimed)."""
    target = work / f"frames-{n}.pkl"
    if target.exists():
        return target
    source = work / "frames-derived-1e5.pkl"
    if not source.exists():
        cohort = work / "cohort-source-1e5"
        if not (cohort / "patients.csv").exists():
            shutil.rmtree(cohort, ignore_errors=True)
            subprocess.run(cli("synthesize", "--out", str(cohort), "--patients", "100000",
                               "--seed", "1"), check=True, stdout=subprocess.DEVNULL)
        subprocess.run([sys.executable, str(HERE / "bench_run.py"), "--save-frames",
                        str(source), str(cohort)], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([sys.executable, str(HERE / "bench_run.py"), "--resize-frames",
                    str(source), str(target), str(n)], check=True, stdout=subprocess.DEVNULL)
    return target


def cohort_format(folder: Path) -> str:
    """The format of a cohort folder's tables (``csv`` or ``parquet``)."""
    for file_format in ("parquet", "csv"):
        if (folder / f"patients.{file_format}").exists() and \
                (folder / f"visits.{file_format}").exists():
            return file_format
    raise SystemExit(f"{folder}: no patients and visits tables (.csv or .parquet)")


def bench_size(n: int, work: Path, steps: list[str], file_format: str,
               keep: bool = False, cohort: Path | None = None) -> list[Measure]:
    """Measure ``steps`` at ``n`` patients on ``work/cohort-n`` (or on ``cohort``, an existing
    folder that is never rewritten: ``synthesize`` is then not run)."""
    data, out, dataset = work / f"cohort-{n}", work / f"run-{n}", work / f"dataset-{n}.csv"
    if cohort is not None:
        data = cohort
        steps = [s for s in steps if s != "synthesize"]
    files = [str(data / f"patients.{file_format}"), str(data / f"visits.{file_format}")]
    rows: list[Measure] = []
    for step in steps:
        shutil.rmtree(out, ignore_errors=True)
        dataset.unlink(missing_ok=True)
        if step == "synthesize":
            shutil.rmtree(data, ignore_errors=True)
            argv = cli("synthesize", "--out", str(data), "--patients", str(n), "--seed", "1",
                       "--format", file_format)
        elif step == "duckdb":
            argv = [sys.executable, "-c", DUCKDB_CODE, file_format, *files]
        elif step == "pyarrow":
            argv = [sys.executable, "-c", PYARROW_CODE, file_format, *files]
        elif step == "validate":
            argv = cli("validate", str(data))
        elif step == "derive":
            argv = cli("derive", str(data), "--out", str(dataset))
        elif step == "run":
            argv = cli("run", "--out", str(out), str(data), "--quiet")
        else:
            argv = [sys.executable, str(HERE / "bench_run.py"), "--frames",
                    str(frames_for(n, work)), "--out", str(out)]
        m = measure(step, n, argv, file_format)
        rows.append(m)
        status = f"FAILED ({m.error})" if m.error else ""
        print(f"n={n} {file_format} {step:<11} {m.wall:9.2f} s wall {m.cpu:9.2f} s CPU "
              f"{m.rss_mb:8.0f} MB {status} {m.detail or ''}", flush=True)
        if m.error:
            break
    if not keep:
        shutil.rmtree(out, ignore_errors=True)
        dataset.unlink(missing_ok=True)
    return rows


def merge(old: list[Measure], new: list[Measure]) -> list[Measure]:
    """``old`` with every (step, n, format) of ``new`` replaced or added."""
    key = {(m.step, m.n, m.file_format): m for m in old}
    key.update({(m.step, m.n, m.file_format): m for m in new})
    return sorted(key.values(), key=lambda m: (m.file_format, m.n, STEPS.index(m.step)))


def load(path: Path) -> list[Measure]:
    if not path.exists():
        return []
    rows = json.loads(path.read_text())
    return [Measure(**row) for row in rows if row.get("step") in STEPS]


def table(results: list[Measure]) -> str:
    """A Markdown table: wall / CPU / peak RSS and the ratio to the DuckDB read, per step."""
    by = {(m.step, m.n, m.file_format): m for m in results}
    lines = ["| patients | format | step | wall (s) | CPU (s) | peak RSS (MB) | wall / duckdb "
             "| CPU / duckdb | RSS / duckdb |", "|---:|---|---|---:|---:|---:|---:|---:|---:|"]
    for m in results:
        base = by.get((BASELINE, m.n, m.file_format))
        name = LABELS.get(m.step, m.step)
        if m.file_format == "parquet":
            name = name.replace("read_csv", "read_parquet").replace("pyarrow.csv",
                                                                     "pyarrow.parquet")
        if m.error:
            lines.append(f"| {m.n:.0e} | {m.file_format} | {name} | failed: {m.error} "
                         "| | | | | |")
            continue
        ratios = (f"{m.wall / base.wall:.1f}x | {m.cpu / base.cpu:.1f}x | "
                  f"{m.rss_mb / base.rss_mb:.1f}x" if base and not base.error else "| |")
        lines.append(f"| {m.n:.0e} | {m.file_format} | {name} | {m.wall:.2f} | {m.cpu:.2f} | "
                     f"{m.rss_mb:.0f} | {ratios} |")
    return "\n".join(lines)


def plot(results: list[Measure], path: Path) -> None:
    """Three log-log panels (wall time, CPU time, peak RSS against patients): one colour and
    line style per step, filled circles for CSV cohorts, open squares for Parquet ones."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    fig, (ax_t, ax_c, ax_m) = plt.subplots(1, 3, figsize=(16, 5.2))
    styles = {"duckdb": ("k", ":"), "pyarrow": ("tab:brown", ":"),
              "synthesize": ("tab:gray", "-."), "validate": ("tab:blue", "-"),
              "derive": ("tab:orange", "--"), "run": ("tab:green", "-"),
              "study": ("tab:purple", "--")}
    markers = {"csv": {"marker": "o"},
               "parquet": {"marker": "s", "markerfacecolor": "white", "markersize": 6}}
    ok = [m for m in results if not m.error]
    shown = []
    for step in STEPS:
        for file_format in ("csv", "parquet"):
            ms = sorted((m for m in ok if m.step == step and m.file_format == file_format),
                        key=lambda m: m.n)
            if not ms:
                continue
            if step not in shown:
                shown.append(step)
            colour, ls = styles[step]
            for ax, values in ((ax_t, [m.wall for m in ms]), (ax_c, [m.cpu for m in ms]),
                               (ax_m, [m.rss_mb for m in ms])):
                ax.plot([m.n for m in ms], values, ls, color=colour, lw=1.4,
                        **markers[file_format])
    sizes = sorted({m.n for m in ok})
    for ax, ylabel in ((ax_t, "wall time (s)"), (ax_c, "CPU time, user + system (s)"),
                       (ax_m, "peak RSS (MiB)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("patients (visit rows ≈ 13 × patients)")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        if len(sizes) > 1 and ax is not ax_m:  # a slope-1 guide: what linear growth looks like
            lo, hi = sizes[0], sizes[-1]
            y0 = ax.get_ylim()[0] * 2
            ax.plot([lo, hi], [y0, y0 * hi / lo], color="0.6", lw=0.8, ls="-")
    ax_m.axhline(8192, color="tab:red", lw=0.8, ls="--")  # 8 GiB
    ax_m.axhline(8e9 / 2**20, color="tab:red", lw=0.8, ls=":")  # 8 x 10^9 bytes
    # room above the 8 GB line, so the largest points and the line stay clear of the frame
    ax_m.set_ylim(top=2 * max([8192.0, *(m.rss_mb for m in ok)]))
    handles = [Line2D([], [], color=styles[s][0], ls=styles[s][1], lw=1.4,
                      label=LABELS.get(s, s).replace("read_csv", "read_csv/read_parquet")
                      .replace("pyarrow.csv", "pyarrow.csv/parquet")) for s in shown]
    handles += [Line2D([], [], color="0.3", ls="none", label={"csv": "CSV cohort", "parquet": "Parquet cohort"}[f], **markers[f])
                for f in ("csv", "parquet") if any(m.file_format == f for m in ok)]
    handles.append(Line2D([], [], color="0.6", lw=0.8, label="linear growth (slope 1)"))
    handles.append(Line2D([], [], color="tab:red", lw=0.8, ls="--", label="8 GB goal as 8 GiB"))
    handles.append(Line2D([], [], color="tab:red", lw=0.8, ls=":", label="8 GB goal as 8·10⁹ B"))
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 6), fontsize=9,
               frameon=False)
    ax_t.set_title("wall time per command (fresh process)")
    ax_c.set_title("CPU time per command")
    ax_m.set_title("peak memory per command")
    fig.suptitle("poems-cohort commands as the cohort grows (2-core machine, shared)",
                 fontsize=11)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e3, 1e4, 1e5])
    parser.add_argument("--steps", nargs="+", choices=STEPS, default=list(STEPS))
    parser.add_argument("--format", dest="file_format", choices=("csv", "parquet"),
                        default="csv")
    parser.add_argument("--work", type=Path, default=None,
                        help="folder for the cohorts, kept (default: a temporary folder); a "
                        "cohort already there is reused when synthesize is not among --steps")
    parser.add_argument("--cohort", type=Path, default=None,
                        help="an existing cohort folder to measure as the one size --sizes N "
                        "(never rewritten; synthesize is skipped; the format is its files')")
    parser.add_argument("--keep", action="store_true",
                        help="keep the last step's outputs in --work (e.g. run-N/ to look at)")
    parser.add_argument("--plot", type=Path, default=HERE / "scaling.png")
    parser.add_argument("--json", type=Path, default=HERE / "scaling.json",
                        help="the measurements, merged run after run (read by --replot)")
    parser.add_argument("--replot", action="store_true",
                        help="no measuring: print the table and draw the plot from --json")
    args = parser.parse_args()
    if args.replot:
        results = load(args.json)
        print(table(results))
        plot(results, args.plot)
        return
    steps = [s for s in STEPS if s in args.steps]
    if args.cohort is not None:
        if len(args.sizes) != 1:
            parser.error("--cohort measures one size: give its --sizes N")
        args.file_format = cohort_format(args.cohort)
    work = args.work or Path(tempfile.mkdtemp(prefix="poems-scaling-"))
    work.mkdir(parents=True, exist_ok=True)
    results: list[Measure] = []
    try:
        for n in (int(s) for s in args.sizes):
            results.extend(bench_size(n, work, steps, args.file_format, args.keep,
                                      args.cohort))
            args.json.write_text(json.dumps([asdict(m) for m in merge(load(args.json),
                                                                      results)], indent=1)
                                 + "\n")
            results = []
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    merged = load(args.json)
    print()
    print(table(merged))
    plot(merged, args.plot)
    print(f"\nplot: {args.plot}")


if __name__ == "__main__":
    main()
