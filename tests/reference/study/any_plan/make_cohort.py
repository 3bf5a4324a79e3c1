"""Make the any-plan test cohort from the frozen synthetic cohort of ``../cohort`` (SYNTHETIC data,
no real patient): five regimens under a centre's own names, three extra baseline columns.

    python tests/reference/study/any_plan/make_cohort.py

Deterministic (seeded). Regimens: the published three arms are renamed and split into five
(``Radiotherapy`` is not in the plan). Extra columns: ``ecog`` (0–4), ``centre`` (North, South,
East; a few missing) and ``prior_radiation`` (yes/no; a few missing).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parent / "cohort"


def main() -> None:
    rng = np.random.default_rng(20261204)
    patients = pd.read_csv(SOURCE / "patients.csv", dtype=str, keep_default_na=False)
    n = len(patients)
    split = rng.random(n)
    names = {
        "ASCT": np.where(split < 0.85, "Auto-HCT", "Radiotherapy"),
        "MDex": np.where(split < 0.5, "Bortezomib-dex", "Daratumumab"),
        "LDex": np.where(split < 0.9, "Lenalidomide-dex", "Radiotherapy"),
    }
    regimen = patients["regimen"].to_numpy(object)
    out = regimen.copy()
    for old, new in names.items():
        out[regimen == old] = new[regimen == old]
    patients["regimen"] = out
    patients["ecog"] = rng.integers(0, 5, n).astype(str)
    centre = rng.choice(["North", "South", "East"], n, p=[0.4, 0.35, 0.25]).astype(object)
    centre[rng.random(n) < 0.05] = ""
    patients["centre"] = centre
    prior = np.where(rng.random(n) < 0.3, "yes", "no").astype(object)
    prior[rng.random(n) < 0.04] = ""
    patients["prior_radiation"] = prior
    patients.to_csv(HERE / "cohort" / "patients.csv", index=False, lineterminator="\n")
    visits = (SOURCE / "visits.csv").read_bytes()
    (HERE / "cohort" / "visits.csv").write_bytes(visits)


if __name__ == "__main__":
    (HERE / "cohort").mkdir(exist_ok=True)
    main()
