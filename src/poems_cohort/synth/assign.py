"""Baseline patients with exact counts: risk groups first, then risk factors, then Table 1.

Each regimen is built risk group by risk group so that age > 50, pleural effusion, eGFR < 30 and
pulmonary hypertension give exactly the target low/medium/high counts under the Wang score. Every
other characteristic is then given to exactly its target number of patients, chosen by a seeded
weighted draw without replacement so that related findings go together (pleural effusion, ascites
and edema; an M-spike only with a positive immunofixation; a normal VEGF only with another major
criterion). Every patient meets the diagnostic criteria: the mandatory ones, a major one (the
VEGF rule above) and a minor one (skin changes are given to anyone the draws leave without).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from poems_cohort.synth.crh_crv import Cell, Layout, layout
from poems_cohort.synth.targets import RegimenTargets, Targets

FLAG_COLUMNS: tuple[str, ...] = (
    "hepatomegaly", "splenomegaly", "lymphadenopathy", "angioma", "peripheral_edema", "ascites",
    "pleural_effusion", "pulmonary_hypertension", "papilledema", "osteosclerosis",
)  # fmt: skip


#: The columns of the minor diagnostic criteria (``cohort.eligibility``): any one "yes" meets them.
MINOR_COLUMNS: tuple[str, ...] = (
    "hepatomegaly", "splenomegaly", "lymphadenopathy", "peripheral_edema", "ascites",
    "pleural_effusion", "endocrinopathy", "skin_changes", "angioma", "papilledema",
    "thrombocytosis_or_polycythemia",
)  # fmt: skip


def choose_exact(rng: np.random.Generator, k: int, weights: np.ndarray) -> np.ndarray:
    """A boolean mask with exactly ``k`` True, drawn without replacement in proportion to weights.

    Weight 0 never chosen (unless needed to reach ``k``), ``inf`` always chosen first (Gumbel top-k).
    """
    n = len(weights)
    if not 0 <= k <= n:
        raise ValueError(f"cannot choose {k} of {n}")
    w = np.asarray(weights, dtype=float)
    with np.errstate(divide="ignore"):
        keys = np.log(w) + rng.gumbel(size=n)
    keys = np.where(np.isposinf(w), np.inf, keys)
    keys = np.where(w == 0, -1e300 + rng.random(n), keys)
    mask = np.zeros(n, dtype=bool)
    if 0 < k < n:
        mask[np.argpartition(-keys, k - 1)[:k]] = True
    elif k == n:
        mask[:] = True
    return mask


#: Table 1 row -> the input column left empty where the row's value is not recorded.
MISSING_AS: dict[str, str] = {
    "age_gt_50": "age", "male": "sex", "onls_gt_4": "onls", "hepatomegaly": "hepatomegaly",
    "splenomegaly": "splenomegaly", "lymphadenopathy": "lymphadenopathy",
    "iga_heavy_chain": "heavy_chain", "spe_gt_5": "spe_g_l", "bmpc_gt_10": "bmpc_pct",
    "angioma": "angioma", "peripheral_edema": "peripheral_edema", "ascites": "ascites",
    "pleural_effusion": "pleural_effusion", "papilledema": "papilledema",
    "osteosclerosis": "osteosclerosis", "hypoalbuminemia": "albumin_g_l",
    "renal_dysfunction": "egfr", "urine_protein_gt_1g": "urine_protein_g_24h",
    "vegf_gt_4000": "vegf_pg_ml",
}  # fmt: skip


def _risk_factors(low: int, medium: int, high: int, a: int, e: int, r: int
                  ) -> dict[str, np.ndarray]:
    """Age > 50, effusion, eGFR < 30 and pulmonary hypertension per patient, groups in order.

    Low: none. Medium: exactly one of age > 50, effusion, pulmonary hypertension. High: eGFR < 30,
    or at least two of the others. Pulmonary hypertension is not in Table 1, so it is used only
    where age and effusion cannot make up the score.
    """
    n = low + medium + high
    if r > high:
        raise ValueError(f"{r} patients with eGFR < 30 but only {high} high-risk patients")
    h2 = high - r  # high risk without eGFR < 30: at least two unit factors
    # medium patients with pulmonary hypertension only: the fewest that make the counts fit
    for m_ph in range(medium + 1):
        units = a + e - (medium - m_ph)  # age/effusion factors left for the high-risk group
        if units < h2 or units > 2 * high:
            continue
        lo = max(0, a - (medium - m_ph), units - high)
        hi = min(a, high, units)
        if lo > hi:
            continue
        a_high = min(hi, max(lo, round(units * a / max(a + e, 1))))
        e_high = units - a_high
        break
    else:
        raise ValueError("the risk factor counts cannot give the risk group counts")
    m_a = a - a_high
    m_e = e - e_high
    age = np.zeros(n, bool)
    eff = np.zeros(n, bool)
    ph = np.zeros(n, bool)
    renal = np.zeros(n, bool)
    med = np.arange(low, low + medium)
    age[med[:m_a]] = True
    eff[med[m_a:m_a + m_e]] = True
    ph[med[m_a + m_e:]] = True
    hi_idx = np.arange(low + medium, n)  # non-renal first, then renal
    renal[hi_idx[h2:]] = True
    age[hi_idx[:a_high]] = True
    uncovered = [i for i in hi_idx[:h2] if not age[i]]
    paired = [i for i in hi_idx[:h2] if age[i]]
    rest = list(hi_idx[h2:])
    order = uncovered + paired + [i for i in rest if not age[i]] + [i for i in rest if age[i]]
    eff[np.array(order[:e_high], dtype=int)] = True
    units_hi = age.astype(int) + eff.astype(int)
    ph[hi_idx[:h2][units_hi[hi_idx[:h2]] < 2]] = True
    return {"age_gt_50": age, "pleural_effusion": eff, "renal_dysfunction": renal,
            "pulmonary_hypertension": ph}


def _ages(rng: np.random.Generator, older: np.ndarray, regimen: np.ndarray, targets: Targets
          ) -> np.ndarray:
    """Whole-year ages: > 50 exactly where ``older``; cohort median and range as published.

    ASCT patients are under 65 (eligibility). The cohort median falls among the patients aged
    50 or less; those below the median are drawn in [min, median - 1], those above it in
    [median, 50].
    """
    n = len(older)
    median, lo, hi = int(targets.age_median), int(targets.age_min), int(targets.age_max)
    ages = np.zeros(n)
    young = np.flatnonzero(~older)
    m = (n - 1) // 2  # the lower median position in the sorted cohort
    k_below = min(m, len(young))  # young patients below the median
    ranked = young[rng.permutation(len(young))]
    below = np.sort(rng.triangular(lo, median - 3, median, size=k_below).astype(int))
    below = np.clip(below, lo, median - 1)
    if k_below:
        below[0] = lo
    above = rng.integers(median, 51, size=len(young) - k_below)
    if len(above):
        above[0] = median
        if n % 2 == 0 and len(above) > 1:
            above[1] = median
    ages[ranked[:k_below]] = below
    ages[ranked[k_below:]] = above
    old = np.flatnonzero(older)
    span = np.where(regimen[old] == "ASCT", 64, hi)
    draw = 51 + np.floor(rng.beta(1.3, 2.2, size=len(old)) * (span - 50)).astype(int)
    ages[old] = np.minimum(draw, span)
    eligible = old[regimen[old] != "ASCT"]
    if len(eligible):
        ages[eligible[rng.integers(len(eligible))]] = hi
    return ages


def _onls(rng: np.random.Generator, severe: np.ndarray, known: np.ndarray, zero: np.ndarray,
          median: int) -> np.ndarray:
    """ONLS 0–12: > 4 where ``severe``, 0 where ``zero``, 1–4 for the other ``known`` patients.

    Everyone else has no baseline ONLS recorded (NaN). The median of the recorded values is kept
    at ``median``.
    """
    n = len(severe)
    out = np.full(n, np.nan)
    mild = ~severe & ~zero & known
    out[mild] = rng.choice([1, 2, 3, 4], size=int(mild.sum()), p=[0.12, 0.22, 0.3, 0.36])
    out[severe] = rng.choice(np.arange(5, 11), size=int(severe.sum()),
                             p=[0.32, 0.25, 0.18, 0.12, 0.08, 0.05])
    out[zero] = 0.0
    # the median position must hold `median`: move the highest values below it up
    m = (int(np.isfinite(out).sum()) - 1) // 2
    while (out < median).sum() > m:
        cand = np.flatnonzero(mild & (out < median))
        out[cand[np.argmax(out[cand])]] = median
    return out


def _within(rng: np.random.Generator, k: int, weights: np.ndarray, allowed: np.ndarray
            ) -> np.ndarray:
    """Exactly ``k`` of the ``allowed`` positions, drawn by ``choose_exact`` with ``weights``."""
    idx = np.flatnonzero(allowed)
    k = min(k, len(idx))
    out = np.zeros(len(allowed), bool)
    out[idx[choose_exact(rng, k, np.asarray(weights, float)[idx])]] = True
    return out


#: Table 1 rows that make the risk score: never missing.
RISK_ROWS: tuple[str, ...] = ("age_gt_50", "pleural_effusion", "renal_dysfunction")


def _known(rng: np.random.Generator, t: RegimenTargets, f: pd.DataFrame
           ) -> dict[str, np.ndarray]:
    """Per Table 1 row, the patients whose value is recorded (``of`` of them).

    Risk factors are always recorded. A missing VEGF only where the patient is not evaluable
    for CRV; a missing ONLS only where the patient is not evaluable for RN.
    """
    n = t.size
    crv_ev, rn_ev = f["crv_ev"].to_numpy(), f["rn_ev"].to_numpy()
    ones = np.ones(n)
    known: dict[str, np.ndarray] = {}
    for row, c in t.characteristics.items():
        missing = n - c.of
        if row in RISK_ROWS:
            if missing:
                raise ValueError(f"{t.regimen}: the risk factor {row} cannot be missing")
            known[row] = np.ones(n, bool)
        elif row == "onls_gt_4":  # the RN-evaluable patients always have a baseline ONLS
            known[row] = rn_ev | _within(rng, c.of - int(rn_ev.sum()), ones, ~rn_ev)
        elif row == "vegf_gt_4000":
            known[row] = ~_within(rng, missing, ones, ~crv_ev)
        else:
            known[row] = ~_within(rng, missing, ones, np.ones(n, bool))
    return known


def crh_crv_layout(t: RegimenTargets, subgroup: str) -> Layout:
    """How the regimen's CRH/CRV count arises in ``subgroup`` from its CRH and CRV counts
    (reading "both-or-responder", ``synth.crh_crv.layout``)."""
    size = t.cell_size(subgroup)

    def cell(resp: str) -> Cell:
        c = t.responses[(resp, subgroup)]
        return Cell(min(c.n, size), min(c.of, size))

    return layout(cell("crh"), cell("crv"), cell("crh_crv"), size)


def _regimen_frame(rng: np.random.Generator, t: RegimenTargets) -> pd.DataFrame:
    """The baseline flags of one regimen (no ages or lab values yet).

    Each Table 1 flag is True for exactly its count among the patients in ``known_<row>``.
    """
    c = t.characteristics
    n = t.size
    risk = _risk_factors(t.risk["low"], t.risk["medium"], t.risk["high"], c["age_gt_50"].n,
                         c["pleural_effusion"].n, c["renal_dysfunction"].n)
    group = np.repeat(np.array(["low", "medium", "high"]),
                      [t.risk["low"], t.risk["medium"], t.risk["high"]])
    subgroup = np.where(group == "low", "low", "medium-high")
    # more pulmonary hypertension where it cannot change the group (already high risk)
    risk["pulmonary_hypertension"] = risk["pulmonary_hypertension"] | (
        (group == "high") & (rng.random(n) < 0.35))
    f = pd.DataFrame({"regimen": t.regimen, "risk_group": group, "subgroup": subgroup, **risk})

    # evaluability for each response, per subgroup; the patients evaluable for both CRH and
    # CRV are as many as CRH/CRV needs (``crh_crv.layout``, reading "both-or-responder")
    for name in ("crh", "crv", "rn"):
        f[f"{name}_ev"] = False
    for sg in ("low", "medium-high"):
        idx = np.flatnonzero(subgroup == sg)
        size = len(idx)
        n_h = min(t.responses[("crh", sg)].of, size)
        n_v = min(t.responses[("crv", sg)].of, size)
        both = crh_crv_layout(t, sg).both_ev
        perm = idx[rng.permutation(size)]
        # CRV-only, both, CRH-only, neither, in a random order of the subgroup
        f.loc[perm[: n_v], "crv_ev"] = True
        f.loc[perm[n_v - both: n_v - both + n_h], "crh_ev"] = True
        n_rn = t.responses[("rn", sg)].of
        f.loc[idx[rng.permutation(size)][:n_rn], "rn_ev"] = True

    known = _known(rng, t, f)
    for row, mask in known.items():
        f[f"known_{row}"] = mask

    def draw(row: str, weights: np.ndarray) -> np.ndarray:
        return _within(rng, c[row].n, weights, known[row])

    crh_ev, crv_ev = f["crh_ev"].to_numpy(), f["crv_ev"].to_numpy()
    eff, age = f["pleural_effusion"].to_numpy(), f["age_gt_50"].to_numpy()
    ones = np.ones(n)
    f["male"] = draw("male", ones)
    f["ascites"] = draw("ascites", np.where(eff, 4.0, 1.0))
    overload = eff | f["ascites"].to_numpy()
    f["peripheral_edema"] = draw("peripheral_edema", np.where(overload, 6.0, 1.0))
    for col in ("hepatomegaly", "splenomegaly", "lymphadenopathy", "angioma", "papilledema"):
        f[col] = draw(col, ones)
    f["iga"] = draw("iga_heavy_chain", np.where(crh_ev, 1.0, 0.0))
    f["spe_gt_5"] = draw("spe_gt_5", np.where(crh_ev, 1.0, 0.0))
    f["bmpc_gt_10"] = draw("bmpc_gt_10", ones)
    # a patient without an elevated baseline VEGF needs osteosclerosis as the major criterion
    f["osteosclerosis"] = draw("osteosclerosis", np.where(crv_ev, 1.0, np.inf))
    f["hypoalbuminemia"] = draw("hypoalbuminemia", np.where(f["ascites"], 3.0, 1.0))
    renal = f["renal_dysfunction"].to_numpy()
    f["urine_protein_gt_1g"] = draw("urine_protein_gt_1g", np.where(renal, 5.0, 1.0))
    f["vegf_gt_4000"] = draw("vegf_gt_4000",
                             np.where(crv_ev, np.where(overload, 2.0, 1.0), 0.0))
    # ONLS 0 for some patients not evaluable for RN; ONLS > 4 among the others, more often
    # among the RN-evaluable and the older
    rn_ev = f["rn_ev"].to_numpy()
    f["onls_zero"] = _within(rng, t.onls_zero, ones, known["onls_gt_4"] & ~rn_ev)
    f["onls_gt_4"] = _within(rng, c["onls_gt_4"].n,
                             np.where(age, 1.5, 1.0) * np.where(rn_ev, 2.0, 1.0),
                             known["onls_gt_4"] & ~f["onls_zero"].to_numpy())
    biopsied = choose_exact(rng, t.castleman.of, np.where(f["lymphadenopathy"], 4.0, 1.0))
    positive = np.zeros(n, bool)
    positive[np.flatnonzero(biopsied)[choose_exact(rng, t.castleman.n,
                                                   np.ones(int(biopsied.sum())))]] = True
    f["castleman"] = pd.array(np.where(biopsied, np.where(positive, "yes", "no"), ""),
                              dtype=object)
    return f


def baseline_patients(targets: Targets, rng: np.random.Generator) -> pd.DataFrame:
    """One row per patient with the baseline characteristics (regimens in target order).

    Columns: the input format's baseline columns plus the internal ``risk_group``, ``subgroup``,
    ``crh_ev``, ``crv_ev``, ``rn_ev`` used by the later steps.
    """
    f = pd.concat([_regimen_frame(rng, t) for t in targets.regimens], ignore_index=True)
    n = len(f)
    regimen = f["regimen"].to_numpy()
    crh_ev, crv_ev = f["crh_ev"].to_numpy(), f["crv_ev"].to_numpy()
    f["age"] = _ages(rng, f["age_gt_50"].to_numpy(), regimen, targets)
    f["onls"] = _onls(rng, f["onls_gt_4"].to_numpy(), f["known_onls_gt_4"].to_numpy(),
                      f["onls_zero"].to_numpy(), int(targets.onls_median))
    f["sex"] = np.where(f["male"], "M", "F")
    non_iga = rng.choice(["IgG", "IgG", "IgG", "IgM"], size=n)
    f["heavy_chain"] = np.where(f["iga"], "IgA", np.where(crh_ev, non_iga, "none"))
    f["light_chain"] = "lambda"

    def uniform(lo: float, hi: float, decimals: int = 1) -> np.ndarray:
        return np.round(rng.uniform(lo, hi, size=n), decimals)

    f["spe_g_l"] = np.where(f["spe_gt_5"], uniform(5.2, 18.0),
                            np.where(crh_ev, uniform(0.0, 4.9), 0.0))
    f["bmpc_pct"] = np.where(f["bmpc_gt_10"], uniform(10.5, 24.0), uniform(0.5, 9.5))
    f["albumin_g_l"] = np.where(f["hypoalbuminemia"], uniform(21.0, 29.8), uniform(30.2, 46.0))
    egfr_ok = np.round(np.clip(rng.normal(96, 22, size=n), 31.0, 145.0), 1)
    f["egfr"] = np.where(f["renal_dysfunction"], uniform(9.0, 29.5), egfr_ok)
    f["urine_protein_g_24h"] = np.where(f["urine_protein_gt_1g"], uniform(1.1, 3.6, 2),
                                        uniform(0.03, 0.95, 2))
    high_vegf = np.round(np.clip(4000 * np.exp(rng.exponential(0.45, size=n)), 4050, 30000))
    mid_vegf = np.round(rng.uniform(900, 3950, size=n))
    normal_vegf = np.round(rng.uniform(150, 590, size=n))
    f["vegf_pg_ml"] = np.where(f["vegf_gt_4000"], high_vegf,
                               np.where(crv_ev, mid_vegf, normal_vegf))
    serum_pos = crh_ev & (rng.random(n) < 0.9)
    urine_pos = crh_ev & (~serum_pos | (rng.random(n) < 0.55))
    f["serum_ife"] = np.where(serum_pos, "positive", "negative")
    f["urine_ife"] = np.where(urine_pos, "positive", "negative")
    f["flc_kappa_mg_l"] = uniform(8.0, 24.0)
    lam_normal = uniform(10.0, 28.0)
    lam_high = np.round(np.exp(rng.uniform(np.log(40), np.log(260), size=n)), 1)
    abnormal = crh_ev & (rng.random(n) < 0.6)
    f["flc_lambda_mg_l"] = np.where(abnormal, lam_high, lam_normal)
    f["flc_kappa_mg_l"] = np.where(abnormal, np.minimum(f["flc_kappa_mg_l"], 0.2 * lam_high),
                                   np.maximum(f["flc_kappa_mg_l"], 0.3 * lam_normal)).round(1)
    for col in FLAG_COLUMNS:
        f[col] = np.where(f[col], "yes", "no")
    # values not recorded (the Table 1 denominators below the regimen size)
    for row, col in MISSING_AS.items():
        unknown = ~f[f"known_{row}"].to_numpy()
        if unknown.any():
            f[col] = f[col].where(~unknown, "" if f[col].dtype == object else np.nan)
    for col in ("polyneuropathy", "monoclonal_plasma_cell"):
        f[col] = "yes"
    f["endocrinopathy"] = np.where(rng.random(n) < 0.84, "yes", "no")
    f["skin_changes"] = np.where(rng.random(n) < 0.9, "yes", "no")
    f["thrombocytosis_or_polycythemia"] = np.where(rng.random(n) < 0.5, "yes", "no")
    # the diagnostic criteria need a minor criterion: skin changes (the commonest) for anyone
    # the draws left without one
    minor = (f[list(MINOR_COLUMNS)] == "yes").any(axis=1).to_numpy()
    f.loc[~minor, "skin_changes"] = "yes"
    return f
