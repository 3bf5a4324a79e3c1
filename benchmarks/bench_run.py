"""Time each step of ``poems-cohort run`` on the bundled cohort (and on scaled cohorts if given).

Usage: python benchmarks/bench_run.py [DATA ...] [--repeat N]
       python benchmarks/bench_run.py --save-frames FRAMES.pkl DATA
       python benchmarks/bench_run.py --resize-frames FRAMES.pkl OUT.pkl N
       python benchmarks/bench_run.py --frames FRAMES.pkl [--out DIR]

The last three serve ``bench_scaling.py``'s ``study`` step, the study and the report at
registry size without the reader: ``--save-frames`` derives DATA and keeps what the study
receives (the included patients, the analysis dataset, the patient flow and the plan) in a
pickle; ``--resize-frames`` makes N patients of it (the first N, or the whole repeated with new
identifiers ``<id>-1``, ``<id>-2``, ...); ``--frames`` times ``compute_study``, the rendering and
(with ``--out``) the writing of the report on them, and prints the seconds of each as one JSON
line.

Without DATA, the bundled synthetic cohort is used. Nothing is written (outputs stay in memory).
Each step is printed in seconds and as a multiple of a named baseline timed in the same run:
``pandas.read_csv`` of the same cohort files as text (the I/O floor every analysis pays), so the
ratios hold when the machine's speed drifts. The project's target: the whole run on the bundled
cohort in under 10 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from poems_cohort.data import bundled_cohort_path
from poems_cohort.workflow import run as run_pipeline

TARGET_SECONDS = 10.0


def read_csv_baseline(data: Path) -> float:
    """Seconds to read the cohort's CSV files with pandas (all columns as text)."""
    files = sorted(data.glob("*.csv")) if data.is_dir() else [data]
    t0 = time.perf_counter()
    for f in files:
        pd.read_csv(f, dtype=str, keep_default_na=False)
    return time.perf_counter() - t0


def bench(data: Path, repeat: int) -> None:
    rows: dict[str, list[float]] = {}
    baseline: list[float] = []
    n = 0
    for _ in range(repeat):
        baseline.append(read_csv_baseline(data))
        t0 = time.perf_counter()
        summary = run_pipeline(data, None)
        total = time.perf_counter() - t0
        n = len(summary.results.analysis_dataset)
        for name, seconds in summary.timings:
            rows.setdefault(name, []).append(seconds)
        rows.setdefault("total", []).append(total)
    base = min(baseline)
    print(f"\n{data} ({n} patients, best of {repeat}); baseline pandas.read_csv of the cohort "
          f"files: {base:.3f} s")
    for name, times in rows.items():
        print(f"  {name:<36} {min(times):8.3f} s  {min(times) / base:8.1f} x baseline")
    total = min(rows["total"])
    verdict = "met" if total < TARGET_SECONDS else "NOT met"
    print(f"  target: whole run under {TARGET_SECONDS:.0f} s: {verdict}")


def save_frames(data: Path, target: Path) -> None:
    """Derive ``data`` and pickle what the study receives (see the module's docstring)."""
    import pickle

    from poems_cohort.workflow import derive

    derived = derive(data)
    frames = (derived.eligibility.included.patients, derived.dataset,
              derived.eligibility.flow.to_frame(), derived.plan)
    target.write_bytes(pickle.dumps(frames, protocol=pickle.HIGHEST_PROTOCOL))


def resize_frames(source: Path, target: Path, n: int) -> None:
    """``n`` patients of the frames in ``source``: the first ``n``, or the whole repeated with
    new identifiers (the flow's counts are scaled alike)."""
    import pickle

    patients, ds, flow, plan = pickle.loads(source.read_bytes())

    def sized(frame: pd.DataFrame) -> pd.DataFrame:
        if n <= len(frame):
            return frame.iloc[:n].reset_index(drop=True)
        copies = -(-n // len(frame))
        parts = []
        for k in range(copies):
            part = frame.copy()
            if k:
                part["patient_id"] = part["patient_id"].astype(str) + f"-{k}"
            parts.append(part)
        return pd.concat(parts, ignore_index=True).iloc[:n]

    patients, ds = sized(patients), sized(ds)
    keep = set(ds["patient_id"])
    patients = patients[patients["patient_id"].isin(keep)].reset_index(drop=True)
    numbers = flow.select_dtypes("number").columns
    factor = len(ds) / max(int(flow[numbers].to_numpy().max()), 1)
    flow = flow.assign(**{c: (flow[c] * factor).round().astype(flow[c].dtype) for c in numbers})
    target.write_bytes(pickle.dumps((patients, ds, flow, plan),
                                    protocol=pickle.HIGHEST_PROTOCOL))


def study_from_frames(frames: Path, out: Path | None) -> None:
    """Time the study, the rendering and the writing on pickled frames; print them as JSON."""
    import json
    import pickle

    from poems_cohort.report.pipeline import render, write
    from poems_cohort.study import compute_study
    from poems_cohort.study.run import baseline_frame, study_patients

    t0 = time.perf_counter()
    patients, ds, flow, plan = pickle.loads(frames.read_bytes())
    patients = study_patients(patients, plan)  # as workflow.compute hands them to the study
    seconds = {"load frames": time.perf_counter() - t0}
    t0 = time.perf_counter()
    results = compute_study(baseline_frame(patients, ds), ds, flow, plan)
    seconds["compute the study"] = time.perf_counter() - t0
    del patients, ds
    t0 = time.perf_counter()
    outputs = render(results, synthetic=True)
    seconds["render"] = time.perf_counter() - t0
    if out is not None:
        t0 = time.perf_counter()
        write(outputs, out)
        seconds["write files"] = time.perf_counter() - t0
    print(json.dumps({k: round(v, 2) for k, v in seconds.items()}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--save-frames", type=Path, metavar="FRAMES")
    parser.add_argument("--resize-frames", nargs=3, metavar=("FRAMES", "OUT", "N"))
    parser.add_argument("--frames", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.save_frames:
        save_frames(args.data[0], args.save_frames)
        return
    if args.resize_frames:
        source, target, n = args.resize_frames
        resize_frames(Path(source), Path(target), int(n))
        return
    if args.frames:
        study_from_frames(args.frames, args.out)
        return
    targets = args.data or [bundled_cohort_path()]
    for data in targets:
        if not Path(data).exists():
            print(f"skipped: {data} does not exist")
            continue
        bench(Path(data), args.repeat)


if __name__ == "__main__":
    main()
