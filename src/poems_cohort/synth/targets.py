"""What the synthetic cohort must reproduce: a frozen ``Targets`` record built from the paper.

Counts come from the solved counts (``data/published/solved_counts.json``, written by
``python -m poems_cohort.synth.solve``): every Table 1 row as ``n`` of ``N`` known values per
regimen (``size - N`` patients have the value missing), the risk groups, Castleman disease, and
responders of evaluable patients per regimen and risk subgroup for CRH, CRV and RN. CRH/CRV is
solved again so that it follows from CRH and CRV (``synth.crh_crv``). Rates, medians and
follow-up stay in the printed units (percent, months) and come from the published record.
``Targets.scaled(n)`` gives proportionally larger targets for benchmark cohorts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from poems_cohort.synth import crh_crv
from poems_cohort.synth.published import PublishedStudy, load_published

REGIMENS: tuple[str, ...] = ("MDex", "ASCT", "LDex")
RISK_GROUPS: tuple[str, ...] = ("low", "medium", "high")
SUBGROUPS: tuple[str, ...] = ("low", "medium-high")
RESPONSES: tuple[str, ...] = ("crh", "crv", "crh_crv", "rn")

#: Table 1 rows whose counts the generator fixes (besides the risk groups and Castleman).
TABLE1_ROWS: tuple[str, ...] = (
    "age_gt_50", "male", "onls_gt_4", "hepatomegaly", "splenomegaly", "lymphadenopathy",
    "iga_heavy_chain", "spe_gt_5", "bmpc_gt_10", "angioma", "peripheral_edema", "ascites",
    "pleural_effusion", "papilledema", "osteosclerosis", "hypoalbuminemia", "renal_dysfunction",
    "urine_protein_gt_1g", "vegf_gt_4000",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Count:
    """``n`` of ``of`` patients."""

    n: int
    of: int

    def percent(self) -> float:
        return 100.0 * self.n / self.of if self.of else float("nan")


@dataclass(frozen=True, slots=True)
class Kinetics:
    """Time to a response among responders (months) and cumulative rates (percent)."""

    median: float
    minimum: float
    maximum: float
    rate_6: float
    rate_12: float


@dataclass(frozen=True)
class RegimenTargets:
    """Everything the generator fixes for one regimen.

    ``characteristics``: Table 1 row -> patients with it of patients with a known value (the
    other ``size - of`` have it missing).
    ``risk``: risk group -> count. ``castleman``: positive of biopsied.
    ``responses``: (response, subgroup) -> responders of evaluable, subgroups ``low`` and
    ``medium-high``. ``onls_zero``: patients with a baseline ONLS of 0. ``pfs_3y`` / ``os_3y``: subgroup (``all``, ``low``, ``medium-high``) ->
    percent. ``deaths``, ``treatment_related_deaths``, ``progressions_alive``: counts.
    """

    regimen: str
    size: int
    characteristics: dict[str, Count]
    risk: dict[str, int]
    castleman: Count
    responses: dict[tuple[str, str], Count]
    crh_kinetics: Kinetics
    crv_kinetics: Kinetics
    pfs_3y: dict[str, float]
    os_3y: dict[str, float]
    median_followup: float
    deaths: int
    treatment_related_deaths: int
    progressions_alive: int
    secondary_malignancies: int
    onls_zero: int = 0

    def cell_size(self, subgroup: str) -> int:
        """Patients of the regimen in a Table 2 subgroup (``low`` or ``medium-high``)."""
        if subgroup == "low":
            return self.risk["low"]
        return self.risk["medium"] + self.risk["high"]


@dataclass(frozen=True)
class Targets:
    """The whole study: one ``RegimenTargets`` per regimen plus the cohort-wide numbers."""

    regimens: tuple[RegimenTargets, ...]
    age_median: float
    age_min: float
    age_max: float
    onls_median: float
    onls_zero: int
    median_followup: float
    person_years: float
    crh_kinetics: Kinetics
    crv_kinetics: Kinetics
    pfs_3y: float
    os_3y: float

    @property
    def size(self) -> int:
        return sum(r.size for r in self.regimens)

    def regimen(self, name: str) -> RegimenTargets:
        for r in self.regimens:
            if r.regimen == name:
                return r
        raise KeyError(f"no regimen {name!r} in the targets")

    def scaled(self, n_patients: int) -> Targets:
        """Targets for a cohort of ``n_patients`` with the same proportions (counts rounded).

        Within each regimen the counts keep their proportions of the regimen size; cohort-wide
        counts are scaled by the same factor. Rates, medians and ranges are unchanged.
        """
        if n_patients < len(self.regimens) * 10:
            raise ValueError(f"a cohort needs at least {len(self.regimens) * 10} patients")
        factor = n_patients / self.size
        sizes = _apportion([r.size for r in self.regimens], n_patients)
        regimens = tuple(_scale_regimen(r, size) for r, size in zip(self.regimens, sizes,
                                                                   strict=True))
        return replace(self, regimens=regimens, onls_zero=round(self.onls_zero * factor),
                       person_years=self.person_years * factor)


def _apportion(weights: list[int], total: int) -> list[int]:
    """Largest-remainder apportionment of ``total`` in proportion to ``weights``."""
    s = sum(weights)
    raw = [w * total / s for w in weights]
    out = [int(x) for x in raw]
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - out[i]), i))
    for i in order[: total - sum(out)]:
        out[i] += 1
    return out


def _scale_regimen(r: RegimenTargets, size: int) -> RegimenTargets:
    f = size / r.size

    def s(x: int) -> int:
        return min(size, round(x * f))

    risk = dict(zip(RISK_GROUPS, _apportion([r.risk[g] for g in RISK_GROUPS], size), strict=True))
    cells = {"low": risk["low"], "medium-high": risk["medium"] + risk["high"]}
    responses = {}
    for (resp, sg), c in r.responses.items():
        of = min(cells[sg], round(c.of * cells[sg] / r.cell_size(sg)))
        responses[(resp, sg)] = Count(min(of, round(c.n * of / c.of)) if c.of else 0, of)
    biopsied = s(r.castleman.of)
    return replace(
        r, size=size, characteristics={k: Count(min(s(v.n), s(v.of)), s(v.of))
                                      for k, v in r.characteristics.items()},
        risk=risk, castleman=Count(min(biopsied, s(r.castleman.n)), biopsied),
        responses=responses, deaths=s(r.deaths),
        treatment_related_deaths=s(r.treatment_related_deaths),
        progressions_alive=s(r.progressions_alive),
        secondary_malignancies=s(r.secondary_malignancies), onls_zero=s(r.onls_zero),
    )


SOLVED_COUNTS = Path(__file__).resolve().parent.parent / "data" / "published" / "solved_counts.json"
"""The solver's counts (``python -m poems_cohort.synth.solve``)."""

#: Patients with a baseline ONLS of 0 (the text's 19) are shared among the regimens in
#: proportion to their patients not evaluable for RN: RN needs a baseline ONLS of at least 1, and
#: under the reading "assessed" also an ONLS after treatment start, so the patients with an ONLS
#: of 0 and those whose neuropathy was not re-scored are the ones outside Table 2's RN counts.
# The paper gives only totals (49 deaths, 51 progressions in living patients); the split per
# regimen is the generator's choice: in line with each regimen's 3-year rates and follow-up, and
# with the log-rank p-values on the published side of 0.05 (events after 3 years decide those).
# It is the first layout's split: the aimed search may pass deaths after 3 years between
# regimens (``survival_search.LATE_DEATH``) towards the printed log-rank p-values.
_DEATHS = {"MDex": 15, "ASCT": 18, "LDex": 16}
_PROGRESSIONS_ALIVE = {"MDex": 13, "ASCT": 16, "LDex": 22}

_COLUMN_OF = {"low": "low", "medium-high": "medium_high"}


def load_solved_counts(path: str | Path = SOLVED_COUNTS) -> dict[str, Any]:
    """The solved counts as written by the solver (see docs/reproduction.md)."""
    with open(path, encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def default_targets() -> Targets:
    """The targets of the bundled synthetic cohort."""
    return targets_from_solved(load_solved_counts(), load_published())


def _responses(solved: dict[str, Any], study: PublishedStudy
               ) -> dict[str, dict[tuple[str, str], Count]]:
    """Responders of evaluable patients per regimen, (response, subgroup)."""
    t2 = solved["table2"]
    risk = solved["risk_groups"]

    def cells(endpoint: str) -> dict[str, dict[str, crh_crv.Cell]]:
        return {reg: {col: crh_crv.Cell(c["n"], c["N"]) for col, c in cols.items()}
                for reg, cols in t2[endpoint]["counts"].items()}

    cols = ("all", "low", "medium_high")
    either = crh_crv.solve_crh_crv(
        cells("crh"), cells("crv"),
        sizes={r: {"low": risk[r]["low"], "medium_high": risk[r]["medium_high"]}
               for r in REGIMENS},
        rates={r: {c: study[f"table2.crh_crv.{c}.{r}.rate"].printed for c in cols}
               for r in REGIMENS},
        p_values={r: {c: study[f"table2.crh_crv.{c}.{r}.p"].printed for c in cols}
                  for r in REGIMENS if r != "ASCT"},
        preferred=cells("crh_crv"))
    out: dict[str, dict[tuple[str, str], Count]] = {r: {} for r in REGIMENS}
    for resp in RESPONSES:
        solved_cells = either if resp == "crh_crv" else cells(resp)
        for reg in REGIMENS:
            for sg in SUBGROUPS:
                c = solved_cells[reg][_COLUMN_OF[sg]]
                out[reg][(resp, sg)] = Count(c.n, c.N)
    return out


def targets_from_solved(solved: dict[str, Any], study: PublishedStudy) -> Targets:
    """Targets from the solved counts and the published record.

    Table 1 rows take the solver's chosen counts (for a row no counts reproduce, the intended
    solution or the complete-data counts it records).
    """
    intended = {i: c.intended for c in study.conflicts if c.intended for i in c.ids}

    def value(number_id: str) -> float:
        return float(intended.get(number_id, study[number_id].printed))

    responses = _responses(solved, study)
    not_rn = [int(solved["regimen_sizes"][r]) - sum(responses[r][("rn", sg)].of
                                                     for sg in SUBGROUPS) for r in REGIMENS]
    zeros = dict(zip(REGIMENS, _apportion(not_rn, int(value("text.onls_zero.All.count"))),
                     strict=True))
    regimens = []
    for reg in REGIMENS:
        size = int(solved["regimen_sizes"][reg])
        chars = {row: Count(int(solved["table1"][row]["counts"][reg]["n"]),
                            int(solved["table1"][row]["counts"][reg]["N"]))
                 for row in TABLE1_ROWS}
        risk = {g: int(solved["risk_groups"][reg][g]) for g in RISK_GROUPS}
        castle = solved["table1"]["castleman"]["counts"][reg]

        def kin(resp: str, reg: str = reg) -> Kinetics:
            return Kinetics(
                median=value(f"text.time_to_{resp}.median.{reg}"),
                minimum=value(f"text.time_to_{resp}.range.low.{reg}"),
                maximum=value(f"text.time_to_{resp}.range.high.{reg}"),
                rate_6=value(f"text.{resp}_6m.{reg}"), rate_12=value(f"text.{resp}_12m.{reg}"),
            )

        surv = {ep: {sg: value(f"table2.{ep}.{key}.{reg}.rate")
                     for sg, key in (("all", "all"), ("low", "low"),
                                     ("medium-high", "medium_high"))}
                for ep in ("pfs", "os")}
        regimens.append(RegimenTargets(
            regimen=reg, size=size, characteristics=chars, risk=risk,
            castleman=Count(int(castle["n"]), int(castle["N"])), responses=responses[reg],
            crh_kinetics=kin("crh"), crv_kinetics=kin("crv"),
            pfs_3y=surv["pfs"], os_3y=surv["os"],
            median_followup=value(f"text.followup.median.{reg}"),
            deaths=_DEATHS[reg], treatment_related_deaths=2 if reg == "ASCT" else 0,
            progressions_alive=_PROGRESSIONS_ALIVE[reg],
            secondary_malignancies=1 if reg == "ASCT" else 0, onls_zero=zeros[reg],
        ))
    return Targets(
        regimens=tuple(regimens),
        age_median=value("text.age.median.All"), age_min=value("text.age.range.low.All"),
        age_max=value("text.age.range.high.All"), onls_median=value("text.onls.median.All"),
        onls_zero=int(value("text.onls_zero.All.count")),
        median_followup=value("text.followup.median.All"),
        person_years=value("text.followup.total.All"),
        crh_kinetics=Kinetics(value("text.time_to_crh.median.All"),
                              value("text.time_to_crh.range.low.All"),
                              value("text.time_to_crh.range.high.All"),
                              value("text.crh_6m.All"), value("text.crh_12m.All")),
        crv_kinetics=Kinetics(value("text.time_to_crv.median.All"),
                              value("text.time_to_crv.range.low.All"),
                              value("text.time_to_crv.range.high.All"),
                              value("text.crv_6m.All"), value("text.crv_12m.All")),
        pfs_3y=value("abstract.pfs3y.All"), os_3y=value("text.os3y.All"),
    )
