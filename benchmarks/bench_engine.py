"""Which engine reads the visits table and derives the responses: DuckDB or Polars (lazy).

Usage: python benchmarks/bench_engine.py COHORT_DIR [COHORT_DIR ...] [--json out.json]

Each COHORT_DIR is a folder written by ``poems-cohort synthesize --patients N`` (``--format csv``
or ``parquet``). For each, every task runs in a fresh process (wall seconds, CPU seconds and peak
RSS from ``os.wait4``):

* ``baseline``: ``duckdb.read_csv`` (or ``read_parquet``) of the visits file into an Arrow table,
  columns as the reader guesses them: the floor any reader of the file pays;
* ``read``: the visits read typed (dates as dates, the lab values as doubles), with DuckDB
  (into an engine table) and with Polars (``scan_csv``/``scan_parquet`` with a schema, collected);
* ``derive``: the visit-level derivation as one grouped query: per patient, the first date each
  response criterion is met and the last date it could be judged, for visits strictly after the
  patient's treatment start and on or before the cutoff (as ``clinical.responses._from_visits``),
  with DuckDB SQL and with a Polars lazy query, returning one row per patient.

Ratios are task / baseline of the same file in the same run. Run it under ``nice``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from poems_cohort.clinical.settings import EndpointSettings
from poems_cohort.cohort.engine import RESPONSE_DATES_SQL

SETUP_DUCKDB = (
    "import duckdb, sys, tempfile\n"
    "spill = tempfile.mkdtemp(prefix='bench-engine-')\n"
    "con = duckdb.connect(config={'temp_directory': spill, 'memory_limit': '1GB'})\n"
    "path, kind = sys.argv[1], sys.argv[2]\n"
    "types = " + "VISIT_TYPES_PLACEHOLDER" + "\n"
)
VISIT_TYPES = ("{'patient_id': 'VARCHAR', 'visit_date': 'DATE', 'serum_ife': 'VARCHAR', "
               "'urine_ife': 'VARCHAR', 'flc_kappa_mg_l': 'DOUBLE', 'flc_lambda_mg_l': 'DOUBLE', "
               "'vegf_pg_ml': 'DOUBLE', 'onls': 'DOUBLE'}")

SETUP_DUCKDB = SETUP_DUCKDB.replace("VISIT_TYPES_PLACEHOLDER", repr(VISIT_TYPES))
BASELINE = SETUP_DUCKDB + (
    "rel = con.read_csv(path + '/visits.csv') if kind == 'csv' "
    "else con.read_parquet(path + '/visits.parquet')\n"
    "print(rel.to_arrow_table().num_rows)\n"
)
READ_DUCKDB = SETUP_DUCKDB + (
    "src = (f\"read_csv('{path}/visits.csv', columns={types}, header=true)\" "
    "if kind == 'csv' else f\"read_parquet('{path}/visits.parquet')\")\n"
    "con.execute(f'CREATE TABLE v AS SELECT * FROM {src}')\n"
    "print(con.execute('SELECT count(*) FROM v').fetchone()[0])\n"
)
READ_POLARS = (
    "import polars as pl, sys\n"
    "path, kind = sys.argv[1], sys.argv[2]\n"
    "schema = {'patient_id': pl.String, 'visit_date': pl.Date, 'serum_ife': pl.String, "
    "'urine_ife': pl.String, 'flc_kappa_mg_l': pl.Float64, 'flc_lambda_mg_l': pl.Float64, "
    "'vegf_pg_ml': pl.Float64, 'onls': pl.Float64}\n"
    "lf = (pl.scan_csv(path + '/visits.csv', schema=schema) if kind == 'csv' "
    "else pl.scan_parquet(path + '/visits.parquet'))\n"
    "print(lf.collect().height)\n"
)
_SETTINGS = EndpointSettings()
#: the parameters of the engine's grouped response query (``RESPONSE_DATES_SQL``, the query the
#: tool runs) under the default settings, which the Polars version below writes in
DERIVE_PARAMS = {"flc_low": float(_SETTINGS.flc_ratio_normal[0]),
                 "flc_high": float(_SETTINGS.flc_ratio_normal[1]),
                 "vegf_below": float(_SETTINGS.vegf_normal_below),
                 "onls_drop": float(_SETTINGS.onls_min_drop),
                 "cutoff": _SETTINGS.cutoff.to_pydatetime()}
DERIVE_DUCKDB = SETUP_DUCKDB + (
    "src = (f\"read_csv('{path}/visits.csv', columns={types}, header=true)\" "
    "if kind == 'csv' else f\"read_parquet('{path}/visits.parquet')\")\n"
    "pat = (f\"read_csv('{path}/patients.csv', all_varchar=true)\" if kind == 'csv' "
    "else f\"read_parquet('{path}/patients.parquet')\")\n"
    "pat = ('(SELECT patient_id, CAST(treatment_start AS DATE) AS start, '\n"
    "       'CAST(onls AS DOUBLE) AS onls0 FROM ' + pat + ')')\n"
    f"sql = {RESPONSE_DATES_SQL!r}.format(visits=src, patients=pat)\n"
    "import datetime\n"
    f"print(len(con.execute(sql, {DERIVE_PARAMS!r}).df()))\n"
)
DERIVE_POLARS = READ_POLARS.replace("print(lf.collect().height)\n", "") + (
    "pat = (pl.scan_csv(path + '/patients.csv', infer_schema=False) if kind == 'csv' "
    "else pl.scan_parquet(path + '/patients.parquet'))\n"
    "start = (pl.col('treatment_start').str.to_date('%Y-%m-%d') if kind == 'csv' "
    "else pl.col('treatment_start').cast(pl.Date))\n"
    "p = pat.select('patient_id', start.alias('start'), "
    "pl.col('onls').cast(pl.Float64).alias('onls0'))\n"
    "s, u = pl.col('serum_ife'), pl.col('urine_ife')\n"
    "k, lam = pl.col('flc_kappa_mg_l'), pl.col('flc_lambda_mg_l')\n"
    "flc = (pl.when(k.is_null() & lam.is_null()).then(True)\n"
    "       .when(k.is_null() | lam.is_null()).then(None)\n"
    "       .when(lam == 0).then(pl.when(k == 0).then(None).otherwise(False))\n"
    "       .otherwise((k / lam >= 0.26) & (k / lam <= 1.65)))\n"
    "crh = (pl.when((s == 'positive') | (u == 'positive')).then(False)\n"
    "       .when((s == 'negative') & (u == 'negative')).then(flc).otherwise(None))\n"
    "import datetime as dt\n"
    "v = (lf.join(p, on='patient_id').filter((pl.col('visit_date') > pl.col('start')) & "
    "(pl.col('visit_date') <= dt.date(2018, 8, 31)))\n"
    "     .with_columns(crh=crh, crv=pl.col('vegf_pg_ml') < 200, "
    "rn=pl.col('onls') <= pl.col('onls0') - 1))\n"
    "d = pl.col('visit_date')\n"
    "out = v.group_by('patient_id').agg(\n"
    "    *(d.filter(pl.col(r)).min().alias(r + '_first') for r in ('crh', 'crv', 'rn')),\n"
    "    *(d.filter(pl.col(r).is_not_null()).max().alias(r + '_last') "
    "for r in ('crh', 'crv', 'rn')))\n"
    "print(out.collect(engine='streaming').to_pandas().shape[0])\n"
)
TASKS = {
    "baseline": BASELINE,
    "read duckdb": READ_DUCKDB,
    "read polars": READ_POLARS,
    "derive duckdb": DERIVE_DUCKDB,
    "derive polars": DERIVE_POLARS,
}


def measure(code: str, folder: Path, kind: str) -> dict[str, float | str]:
    """Run ``code`` in a fresh interpreter: wall and CPU seconds, peak RSS (MB), its output."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, str(folder), kind],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    out = proc.stdout.read().decode().strip() if proc.stdout else ""
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed on {folder}:\n{err}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
            "rss_mb": usage.ru_maxrss / 1024, "output": out}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cohorts", nargs="+", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = []
    print("| cohort | task | wall s | CPU s | peak RSS MB | wall / baseline | CPU / baseline |")
    print("|---|---|---|---|---|---|---|")
    for folder in args.cohorts:
        kind = "parquet" if (folder / "visits.parquet").exists() else "csv"
        base: dict[str, float | str] = {}
        for task, code in TASKS.items():
            m = measure(code, folder, kind)
            base = m if task == "baseline" else base
            results.append({"cohort": str(folder), "format": kind, "task": task, **m})
            print(f"| {folder.name} ({kind}) | {task} | {m['wall']:.1f} | {m['cpu']:.1f} | "
                  f"{m['rss_mb']:.0f} | {float(m['wall']) / float(base['wall']):.2f} | "
                  f"{float(m['cpu']) / float(base['cpu']):.2f} |", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
