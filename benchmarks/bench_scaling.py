"""Wall time and peak memory of each command as the cohort grows: 1e3 to 7e4 patients.

Usage: python benchmarks/bench_scaling.py [--sizes 1e3 1e4 3e4 7e4] [--with-1e5] [--with-1e6]
                                          [--work DIR] [--plot benchmarks/scaling.png]

For each size N, ``poems-cohort synthesize --patients N`` writes a synthetic cohort, then
``validate``, ``derive --out`` and ``run --out`` are timed, each in a fresh process: wall time
and the peak resident memory of that process (``os.wait4`` rusage of the child). The named
baseline, timed in the same run and also in a fresh process, is ``pyarrow.csv.read_csv`` of the
same two files (patients.csv, visits.csv): the floor any reader of the cohort pays. Ratios are
step / baseline. Prints a Markdown table (for benchmarks/README.md) and writes a log-log plot of
patients against seconds and peak RSS.

Run it under ``nice``. The default sizes stop at 7e4 patients (928,398 visit rows) because the
reader refuses a table of more than 1,048,576 rows (``cohort.workbook.MAX_ROWS``, documented in
docs/data-dictionary.md): 1e5 patients have 1.33M visit rows. ``--with-1e5`` and ``--with-1e6``
add those sizes (they fail at ``validate`` until that cap is lifted; 1e6 also needs over 10 GB).
A failed step is reported with its message and ends the run.
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
from dataclasses import asdict, dataclass
from pathlib import Path

BASELINE = "pyarrow.csv.read_csv"
BASELINE_CODE = (
    "import sys, pyarrow.csv as c\n"
    "n = sum(c.read_csv(p).num_rows for p in sys.argv[1:])\n"
    "print(n)\n"
)
STEPS = ("synthesize", "baseline", "validate", "derive", "run")


@dataclass(frozen=True)
class Measure:
    """One step in a fresh process: wall seconds, CPU seconds and peak RSS in MB."""

    step: str
    n: int
    wall: float
    cpu: float
    rss_mb: float


def measure(step: str, n: int, argv: list[str]) -> Measure:
    """Run ``argv`` as a child process and return its wall time, CPU time and peak RSS."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if proc.returncode != 0:
        raise SystemExit(f"{step} at n={n} failed (exit {proc.returncode}):\n{err}")
    # ru_maxrss is in kilobytes on Linux
    return Measure(step, n, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "poems_cohort", *args]


def bench_size(n: int, work: Path) -> list[Measure]:
    data, out, dataset = work / f"cohort-{n}", work / f"run-{n}", work / f"dataset-{n}.csv"
    for path in (data, out):
        shutil.rmtree(path, ignore_errors=True)
    dataset.unlink(missing_ok=True)
    files = [str(data / "patients.csv"), str(data / "visits.csv")]
    rows = [measure("synthesize", n, cli("synthesize", "--out", str(data), "--patients", str(n),
                                         "--seed", "1"))]
    rows.append(measure("baseline", n, [sys.executable, "-c", BASELINE_CODE, *files]))
    rows.append(measure("validate", n, cli("validate", str(data))))
    rows.append(measure("derive", n, cli("derive", str(data), "--out", str(dataset))))
    rows.append(measure("run", n, cli("run", "--out", str(out), str(data), "--quiet")))
    size_mb = sum(Path(f).stat().st_size for f in files) / 1e6
    visits = sum(1 for _ in open(files[1], encoding="utf-8")) - 1
    print(f"n={n}: {visits} visit rows, {size_mb:.1f} MB of CSV", flush=True)
    for m in rows:
        print(f"  {m.step:<11} {m.wall:8.2f} s wall {m.cpu:8.2f} s CPU {m.rss_mb:8.0f} MB",
              flush=True)
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(data, ignore_errors=True)
    dataset.unlink(missing_ok=True)
    return rows


def table(results: list[Measure]) -> str:
    """A Markdown table: wall / CPU / peak RSS and the ratio to the baseline, per step and n."""
    sizes = sorted({m.n for m in results})
    by = {(m.step, m.n): m for m in results}
    lines = ["| patients | step | wall (s) | CPU (s) | peak RSS (MB) | wall / baseline "
             "| CPU / baseline | RSS / baseline |", "|---:|---|---:|---:|---:|---:|---:|---:|"]
    for n in sizes:
        base = by[("baseline", n)]
        for step in STEPS:
            m = by[(step, n)]
            name = BASELINE if step == "baseline" else step
            lines.append(f"| {n:.0e} | {name} | {m.wall:.2f} | {m.cpu:.2f} | {m.rss_mb:.0f} | "
                         f"{m.wall / base.wall:.1f}x | {m.cpu / base.cpu:.1f}x | "
                         f"{m.rss_mb / base.rss_mb:.1f}x |")
    return "\n".join(lines)


def plot(results: list[Measure], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_t, ax_c, ax_m) = plt.subplots(1, 3, figsize=(14, 4))
    styles = {"baseline": ("k", ":"), "synthesize": ("tab:gray", "-."),
              "validate": ("tab:blue", "-"), "derive": ("tab:orange", "--"),
              "run": ("tab:green", "-")}
    for step in STEPS:
        ms = sorted((m for m in results if m.step == step), key=lambda m: m.n)
        colour, ls = styles[step]
        label = BASELINE if step == "baseline" else step
        ax_t.plot([m.n for m in ms], [m.wall for m in ms], ls, color=colour, marker="o",
                  label=label)
        ax_c.plot([m.n for m in ms], [m.cpu for m in ms], ls, color=colour, marker="o",
                  label=label)
        ax_m.plot([m.n for m in ms], [m.rss_mb for m in ms], ls, color=colour, marker="o",
                  label=label)
    for ax, ylabel in ((ax_t, "wall time (s)"), (ax_c, "CPU time (s)"),
                       (ax_m, "peak RSS (MB)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("patients")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
    ax_t.legend(fontsize=8)
    ax_t.set_title("wall time per command (fresh process)")
    ax_c.set_title("CPU time (user + system)")
    ax_m.set_title("peak memory per command")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e3, 1e4, 3e4, 7e4])
    parser.add_argument("--with-1e5", action="store_true", help="also 1e5 patients")
    parser.add_argument("--with-1e6", action="store_true", help="also 1e6 patients (slow)")
    parser.add_argument("--work", type=Path, default=None,
                        help="folder for the cohorts (default: a temporary folder)")
    parser.add_argument("--plot", type=Path, default=Path(__file__).with_name("scaling.png"))
    parser.add_argument("--json", type=Path, default=Path(__file__).with_name("scaling.json"),
                        help="where to keep the measurements (read back by --replot)")
    parser.add_argument("--replot", action="store_true",
                        help="no measuring: print the table and draw the plot from --json")
    args = parser.parse_args()
    if args.replot:
        results = [Measure(**row) for row in json.loads(args.json.read_text())]
        print(table(results))
        plot(results, args.plot)
        return
    sizes = ([int(s) for s in args.sizes] + ([100_000] if args.with_1e5 else [])
             + ([1_000_000] if args.with_1e6 else []))
    work = args.work or Path(tempfile.mkdtemp(prefix="poems-scaling-"))
    work.mkdir(parents=True, exist_ok=True)
    results: list[Measure] = []
    try:
        for n in sizes:
            results.extend(bench_size(n, work))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    args.json.write_text(json.dumps([asdict(m) for m in results], indent=1) + "\n")
    print()
    print(table(results))
    plot(results, args.plot)
    print(f"\nplot: {args.plot}")


if __name__ == "__main__":
    main()
