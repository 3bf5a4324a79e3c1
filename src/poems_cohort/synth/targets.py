"""What the synthetic cohort must reproduce: a frozen ``Targets`` record built from the paper.

Counts are exact integers (the numerators and denominators behind the printed percentages);
rates, medians and follow-up stay in the printed units (percent, months). ``Targets.scaled(n)``
gives proportionally larger targets for benchmark cohorts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

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

    ``characteristics``: Table 1 row -> count of patients with it (denominator: ``size``).
    ``risk``: risk group -> count. ``castleman``: positive of biopsied.
    ``responses``: (response, subgroup) -> responders of evaluable, subgroups ``low`` and
    ``medium-high``. ``pfs_3y`` / ``os_3y``: subgroup (``all``, ``low``, ``medium-high``) ->
    percent. ``deaths``, ``treatment_related_deaths``, ``progressions_alive``: counts.
    """

    regimen: str
    size: int
    characteristics: dict[str, int]
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
        r, size=size, characteristics={k: s(v) for k, v in r.characteristics.items()},
        risk=risk, castleman=Count(min(biopsied, s(r.castleman.n)), biopsied),
        responses=responses, deaths=s(r.deaths),
        treatment_related_deaths=s(r.treatment_related_deaths),
        progressions_alive=s(r.progressions_alive),
        secondary_malignancies=s(r.secondary_malignancies),
    )


def default_targets() -> Targets:
    """The targets of the bundled synthetic cohort."""
    return provisional_targets(load_published())


# --------------------------------------------------------------------------------------------
# Provisional targets: counts rounded from the printed percentages. To be replaced by the solved
# counts of data/published/solved_counts.toml.


def _fits(n: int, of: int, printed: float, decimals: int = 1) -> bool:
    """Whether ``100 n / of`` prints as ``printed`` (half rounds up), in integer arithmetic."""
    scale = 10**decimals
    p = round(printed * scale)
    # (p - 1/2) / scale <= 100 n / of < (p + 1/2) / scale
    return (2 * p - 1) * of <= 200 * scale * n < (2 * p + 1) * of


def _cell_counts(printed: dict[str, float], cells: dict[str, int], share: float
                 ) -> dict[str, Count]:
    """Responders/evaluable per subgroup printing as the subgroup and regimen rates.

    Searches evaluable counts from ``share`` of the cell size outward and keeps the first pair
    whose subgroup and pooled rates all print as published.
    """
    best = None
    lo_n, mh_n = cells["low"], cells["medium-high"]
    for d_lo in range(lo_n + 1):
        for d_mh in range(mh_n + 1):
            for e_lo in (round(share * lo_n) - d_lo, round(share * lo_n) + d_lo):
                for e_mh in (round(share * mh_n) - d_mh, round(share * mh_n) + d_mh):
                    if not (0 < e_lo <= lo_n and 0 < e_mh <= mh_n):
                        continue
                    r_lo = [n for n in range(e_lo + 1) if _fits(n, e_lo, printed["low"])]
                    r_mh = [n for n in range(e_mh + 1) if _fits(n, e_mh, printed["medium-high"])]
                    for a in r_lo:
                        for b in r_mh:
                            if _fits(a + b, e_lo + e_mh, printed["all"]):
                                best = {"low": Count(a, e_lo), "medium-high": Count(b, e_mh)}
                                return best
    raise ValueError(f"no counts print as {printed}")


def provisional_targets(study: PublishedStudy) -> Targets:
    """Targets from the printed percentages times the regimen sizes (rounded)."""
    sizes = study.regimen_sizes
    intended = {i: c.intended for c in study.conflicts if c.intended for i in c.ids}

    def value(number_id: str) -> float:
        printed = intended.get(number_id, study[number_id].printed)
        return float(printed)

    shares = {"crh": 0.93, "crv": 0.9, "crh_crv": 0.97, "rn": 1.0}
    onls_zero = int(value("text.onls_zero.All.count"))
    regimens = []
    for reg in REGIMENS:
        n = sizes[reg]
        chars = {row: round(value(f"table1.{row}.{reg}.percent") * n / 100) for row in TABLE1_ROWS}
        risk = {g: round(value(f"table1.risk_{g}.{reg}.percent") * n / 100) for g in RISK_GROUPS}
        risk["medium"] = n - risk["low"] - risk["high"]
        biopsied = study[f"table1.castleman.{reg}.percent"].denominator or 0
        castleman = Count(round(value(f"table1.castleman.{reg}.percent") * biopsied / 100),
                          biopsied)
        cells = {"low": risk["low"], "medium-high": risk["medium"] + risk["high"]}
        responses: dict[tuple[str, str], Count] = {}
        for resp in RESPONSES:
            printed = {sg: value(f"table2.{resp}.{key}.{reg}.rate")
                       for sg, key in (("all", "all"), ("low", "low"),
                                       ("medium-high", "medium_high"))}
            for sg, c in _cell_counts(printed, cells, shares[resp]).items():
                responses[(resp, sg)] = c

        if reg == REGIMENS[-1]:
            _spread_onls_zero(regimens, responses, cells, onls_zero)

        def kin(resp: str, reg: str = reg) -> Kinetics:
            return Kinetics(
                median=value(f"text.time_to_{resp}.median.{reg}"),
                minimum=value(f"text.time_to_{resp}.range.low.{reg}"),
                maximum=value(f"text.time_to_{resp}.range.high.{reg}"),
                rate_6=value(f"text.{resp}_6m.{reg}"), rate_12=value(f"text.{resp}_12m.{reg}"),
            )

        surv = {}
        for ep in ("pfs", "os"):
            surv[ep] = {sg: value(f"table2.{ep}.{key}.{reg}.rate")
                        for sg, key in (("all", "all"), ("low", "low"),
                                        ("medium-high", "medium_high"))}
        regimens.append(RegimenTargets(
            regimen=reg, size=n, characteristics=chars, risk=risk, castleman=castleman,
            responses=responses, crh_kinetics=kin("crh"), crv_kinetics=kin("crv"),
            pfs_3y=surv["pfs"], os_3y=surv["os"],
            median_followup=value(f"text.followup.median.{reg}"),
            deaths=_DEATHS[reg], treatment_related_deaths=2 if reg == "ASCT" else 0,
            progressions_alive=_PROGRESSIONS_ALIVE[reg],
            secondary_malignancies=1 if reg == "ASCT" else 0,
        ))
    return Targets(
        regimens=tuple(regimens),
        age_median=value("text.age.median.All"), age_min=value("text.age.range.low.All"),
        age_max=value("text.age.range.high.All"), onls_median=value("text.onls.median.All"),
        onls_zero=onls_zero,
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


def _spread_onls_zero(done: list[RegimenTargets], last: dict[tuple[str, str], Count],
                      last_cells: dict[str, int], onls_zero: int) -> None:
    """Make the RN non-evaluable patients (baseline ONLS 0) add up to ``onls_zero``.

    Cells printed at 100% can lose evaluable patients without changing their rate; they give one
    patient each in turn until the total is reached (``last`` is updated in place).
    """
    pools: list[tuple[dict[tuple[str, str], Count], str]] = []
    zeros = 0
    for r in done:
        for sg in SUBGROUPS:
            zeros += r.cell_size(sg) - r.responses[("rn", sg)].of
    for sg in SUBGROUPS:
        zeros += last_cells[sg] - last[("rn", sg)].of
    for responses in [r.responses for r in done] + [last]:
        for sg in SUBGROUPS:
            c = responses[("rn", sg)]
            if c.n == c.of:
                pools.append((responses, sg))
    while zeros < onls_zero and pools:
        for responses, sg in pools:
            if zeros >= onls_zero:
                break
            c = responses[("rn", sg)]
            responses[("rn", sg)] = Count(c.n - 1, c.of - 1)
            zeros += 1


# The paper gives only totals (49 deaths, 51 progressions in living patients); the split per
# regimen is the generator's choice: in line with each regimen's 3-year rates and follow-up, and
# with the log-rank p-values on the published side of 0.05 (events after 3 years decide those).
_DEATHS = {"MDex": 15, "ASCT": 18, "LDex": 16}
_PROGRESSIONS_ALIVE = {"MDex": 13, "ASCT": 16, "LDex": 22}
