"""Longitudinal assessments from which the response criteria derive the published responses.

Per regimen and risk subgroup, exactly the target numbers of evaluable patients reach CRH, CRV
and RN (with CRH and CRV overlapping so that CRH/CRV comes as close as the evaluable counts
allow). Per regimen, the months to CRH and to CRV are laid out so that their median, range and
6- and 12-month cumulative rates match the paper, then given to responders whose follow-up is
long enough. Assessments happen at months 1, 2, 3, 6, 9, 12 and then every 6 months until the end
of follow-up, plus the visit at which each response is first seen, and a visit on the day of
treatment start holding the baseline values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from poems_cohort.synth.assign import choose_exact, crh_crv_layout
from poems_cohort.synth.kinetics_search import aim_response_days, month_day
from poems_cohort.synth.km import DAYS_PER_MONTH
from poems_cohort.synth.targets import Kinetics, RegimenTargets, Targets

SCHEDULE_MONTHS: tuple[int, ...] = (1, 2, 3, 6, 9, 12, *range(18, 241, 6))
#: Responders are drawn among the evaluable patients with a flat weight from this follow-up on
#: (months) and a weight rising linearly to it before (few assessments, fewer responses seen).
#: Flat weights leave non-responders with long follow-up at risk after the last response, so
#: the cumulative response curves level off instead of rising to 100%.
RESPONDER_RAMP_MONTHS = 12
#: Weight (relative to the others) of the evaluable patients followed longer than the one who
#: carries the published longest time to the response: they respond less often, so the last
#: response leaves a few non-responders at risk and the curve ends level, not with a jump.
BEYOND_LONGEST_WEIGHT = 0.2
#: Cohorts up to this size get the search of the response months aimed at the published 6- and
#: 12-month cumulative rates (``synth.kinetics_search``); larger ones, whose rates move by less
#: than a tenth of a point per responder, keep the first layout.
SEARCH_MAX_PATIENTS = 1000
#: Times to response after the first year fall off with this mean (months) above their lower
#: bound: most late responses come in the second and third year, the longest at the published
#: maximum.
LATE_RESPONSE_MEAN_MONTHS = 12.0
#: Weight, in the draw of CRV responders among medium-high-risk patients, of a patient who
#: progresses and is alive at the end of follow-up (the others weigh 1). The paper finds CRV
#: prognostic for PFS in medium-high risk patients but not for OS (Results, Supplement Fig. 1):
#: responders progress less often, and die about as often, as non-responders.
CRV_PROGRESSION_WEIGHT = 0.1
#: Weight of a medium-high-risk patient who dies (deaths mostly follow a progression): between
#: the two, so that deaths are about as frequent among CRV responders as among non-responders.
CRV_DEATH_WEIGHT = 0.5
#: the risk subgroup where CRV goes with a longer PFS
CRV_PROGNOSTIC_SUBGROUP = "medium-high"
#: an IFE result not recorded, as the array ``np.where`` makes of ``None`` (numpy's stub
#: takes no bare ``None`` there)
_NOT_RECORDED = np.array(None, dtype=object)


def _choose_responders(rng: np.random.Generator, t: RegimenTargets, f: pd.DataFrame,
                       follow: np.ndarray, limit: np.ndarray) -> dict[str, np.ndarray]:
    """Boolean responder masks for CRH, CRV and RN (positions of ``f``)."""
    n = len(f)
    out = {k: np.zeros(n, bool) for k in ("crh", "crv", "rn")}
    sub = f["subgroup"].to_numpy()
    h_ev, v_ev, rn_ev = (f[c].to_numpy() for c in ("crh_ev", "crv_ev", "rn_ev"))
    w_follow = np.where(follow < 31, 0.0, np.minimum(follow / month_day(RESPONDER_RAMP_MONTHS),
                                                     1.0))
    # the evaluable patient who can respond just late enough for the published longest time
    # (followed that long, without progressing before) responds then; patients followed longer
    # stay free not to respond (they keep the curve's plateau)
    w_h, w_v = w_follow.copy(), w_follow.copy()
    for w, ev, k in ((w_h, h_ev, t.crh_kinetics), (w_v, v_ev, t.crv_kinetics)):
        long_enough = np.flatnonzero(ev & (follow >= month_day(k.maximum)))
        if len(long_enough):
            w[long_enough] *= BEYOND_LONGEST_WEIGHT
            able = long_enough[limit[long_enough] >= month_day(k.maximum)]
            carrier = able if len(able) else long_enough
            w[carrier[np.argmin(follow[carrier])]] = np.inf
    # CRV responders (with or without CRH) progress less in the prognostic subgroup
    died = f["death_date"].notna().to_numpy()
    progressed = f["progression_date"].notna().to_numpy()
    w_pfs = np.where(sub != CRV_PROGNOSTIC_SUBGROUP, 1.0,
                     np.where(died, CRV_DEATH_WEIGHT,
                              np.where(progressed, CRV_PROGRESSION_WEIGHT, 1.0)))
    w_both = np.maximum(w_h, w_v) * w_pfs
    w_v = w_v * w_pfs
    for sg in ("low", "medium-high"):
        cell = sub == sg
        lay = crh_crv_layout(t, sg)
        # reading "both-or-responder": CRH responders among the patients evaluable for CRH only,
        # CRV responders among those evaluable for CRV only, then the patients evaluable for
        # both, of whom ``lay.overlap`` reach both
        x = t.responses[("crh", sg)].n - lay.crh_only_responders
        y = t.responses[("crv", sg)].n - lay.crv_only_responders
        pool_a = cell & h_ev & ~v_ev
        pool_b = cell & v_ev & ~h_ev
        pool_e = cell & h_ev & v_ev
        hit_a = np.zeros(n, bool)
        hit_a[np.flatnonzero(pool_a)[choose_exact(
            rng, min(lay.crh_only_responders, int(pool_a.sum())), w_h[pool_a])]] = True
        hit_b = np.zeros(n, bool)
        hit_b[np.flatnonzero(pool_b)[choose_exact(
            rng, min(lay.crv_only_responders, int(pool_b.sum())), w_v[pool_b])]] = True
        k_e = int(pool_e.sum())
        overlap = int(np.clip(lay.overlap, 0, min(x, y, k_e)))
        both = np.zeros(n, bool)
        both[np.flatnonzero(pool_e)[choose_exact(rng, overlap, w_both[pool_e])]] = True
        pool_h = pool_e & ~both
        only_h = np.zeros(n, bool)
        only_h[np.flatnonzero(pool_h)[choose_exact(
            rng, int(np.clip(x - overlap, 0, pool_h.sum())), w_h[pool_h])]] = True
        pool_v = pool_e & ~both & ~only_h
        only_v = np.zeros(n, bool)
        only_v[np.flatnonzero(pool_v)[choose_exact(
            rng, int(np.clip(y - overlap, 0, pool_v.sum())), w_v[pool_v])]] = True
        out["crh"] |= both | only_h | hit_a
        out["crv"] |= both | only_v | hit_b
        pool_r = cell & rn_ev
        r_rn = t.responses[("rn", sg)].n
        out["rn"][np.flatnonzero(pool_r)[choose_exact(rng, r_rn, w_follow[pool_r])]] = True
    return out


def _response_months(rng: np.random.Generator, count: int, k6: int, k12: int, k: Kinetics,
                     pooled_median: float | None = None) -> np.ndarray:
    """``count`` sorted whole months: ``k6`` ≤ 6, ``k12`` ≤ 12, the published median and range.

    Months between 7 and 12 that the regimen's own median leaves free are kept at or above
    ``pooled_median`` (the median over all regimens), which moves that median towards its
    published value without changing any regimen's numbers.
    """
    if count == 0:
        return np.zeros(0)
    k6 = int(np.clip(k6, 1, count))
    k12 = int(np.clip(k12, k6, count))
    lo_pos = np.full(count, 13.0)
    hi_pos = np.full(count, float(k.maximum))
    lo_pos[:k12], hi_pos[:k12] = 7.0, 12.0
    lo_pos[:k6], hi_pos[:k6] = float(k.minimum), 6.0
    # the middle value(s) carry the median: with an even count a .5 median is the mean of two
    # neighbouring months, with an odd count the middle response falls mid-month
    a, b = int(np.floor(k.median)), int(np.ceil(k.median))
    if count % 2:
        mids = [(count // 2, k.median)]
    else:
        mids = [(count // 2 - 1, a), (count // 2, b)]
    first_mid, last_mid = mids[0][0], mids[-1][0]
    hi_pos[:first_mid] = np.minimum(hi_pos[:first_mid], a)
    lo_pos[last_mid + 1:] = np.maximum(lo_pos[last_mid + 1:], b)
    if pooled_median is not None:
        free = (lo_pos == 7.0) & (hi_pos >= pooled_median)
        lo_pos[free] = np.ceil(pooled_median)
        hi_pos[free] = np.minimum(hi_pos[free], np.ceil(pooled_median) + 1)
    lo_pos = np.minimum(lo_pos, hi_pos)
    u = rng.random(count)
    out = np.floor(lo_pos + u * (hi_pos - lo_pos + 1))
    # after the first year, later responses are rarer: a declining density above the lower bound
    late = lo_pos >= 13
    span = hi_pos[late] - lo_pos[late] + 1
    scale = LATE_RESPONSE_MEAN_MONTHS
    out[late] = lo_pos[late] + np.floor(-scale * np.log1p(-u[late] * (1 - np.exp(-span / scale))))
    out = np.minimum(out, hi_pos)
    for pos, value in mids:
        out[pos] = value
    out[0] = k.minimum
    if count > 1:
        out[-1] = max(k.maximum, out[-2])
    return np.sort(out)


def _assign_times(rng: np.random.Generator, months: np.ndarray, who: np.ndarray,
                  limit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Give each month to a responder who can respond then (longest times first): the days
    (-1 = none) and the position of each responder's month in ``months`` (-1 = none)."""
    days = np.full(len(limit), -1, np.int64)
    position = np.full(len(limit), -1, np.int64)
    idx = np.flatnonzero(who)
    idx = idx[np.argsort(-limit[idx], kind="stable")]
    pool: list[int] = []
    ptr = 0
    first = int(month_day(1))
    count = len(months)
    for back, d in enumerate(month_day(months[::-1]).tolist()):
        while ptr < len(idx) and limit[idx[ptr]] >= d:
            pool.append(int(idx[ptr]))
            ptr += 1
        if not pool:  # nobody can respond that late: the latest remaining limit
            pool.append(int(idx[ptr]))
            ptr += 1
            d = int(month_day(np.floor(limit[pool[-1]] / DAYS_PER_MONTH)))
        j = int(rng.integers(len(pool)))
        pool[j], pool[-1] = pool[-1], pool[j]
        chosen = pool.pop()
        days[chosen] = max(d, first)
        position[chosen] = count - 1 - back
    return days, position


def _last_assessment(follow: np.ndarray) -> np.ndarray:
    """Day of the last scheduled assessment within follow-up (0 if none)."""
    sched = month_day(np.array(SCHEDULE_MONTHS))
    pos = np.searchsorted(sched, follow, side="right")
    return np.where(pos > 0, sched[np.maximum(pos - 1, 0)], 0)


def _month_bounds(count: int, k: Kinetics) -> tuple[np.ndarray, np.ndarray]:
    """Per position of the sorted months: the lowest and highest month a later search may move
    it to without changing the median, minimum or maximum (equal bounds: it stays)."""
    lo = np.full(count, float(k.minimum))
    hi = np.full(count, float(k.maximum))
    if count == 0:
        return lo, hi
    a, b = float(np.floor(k.median)), float(np.ceil(k.median))
    mids = [count // 2] if count % 2 else [count // 2 - 1, count // 2]
    hi[:mids[0]] = a
    lo[mids[-1] + 1:] = b
    fixed = [0, count - 1, *mids]
    lo[fixed] = np.nan
    hi[fixed] = np.nan
    return lo, hi


def _kinetics_days(rng: np.random.Generator, k: Kinetics, who: np.ndarray, evaluable: np.ndarray,
                   limit: np.ndarray, pooled_median: float | None = None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Days to response per patient (-1 = none), the 6/12-month counts from the published rates,
    and the bounds of each responder's month (:func:`_month_bounds`; NaN where none)."""
    count, n_ev = int(who.sum()), int(evaluable.sum())
    k6 = round(k.rate_6 * n_ev / 100)
    k12 = round(k.rate_12 * n_ev / 100)
    months = _response_months(rng, count, k6, k12, k, pooled_median)
    days, position = _assign_times(rng, months, who, limit)
    lo_pos, hi_pos = _month_bounds(len(months), k)
    lo = np.full(len(limit), np.nan)
    hi = np.full(len(limit), np.nan)
    has = position >= 0
    lo[has], hi[has] = lo_pos[position[has]], hi_pos[position[has]]
    # a carrier of the median, minimum or maximum keeps its month
    fixed = has & np.isnan(lo)
    lo[fixed] = hi[fixed] = days[fixed] / DAYS_PER_MONTH
    return days, lo, hi


def _response_limit(frame: pd.DataFrame, follow: np.ndarray) -> np.ndarray:
    """The last day each patient can respond on: the end of follow-up, and the day before a
    progression (a response is not first seen after the disease has progressed)."""
    prog = frame["progression_date"].to_numpy()
    start = frame["treatment_start"].to_numpy()
    prog_day = np.where(pd.isna(prog), np.iinfo(np.int64).max,
                        (prog - start).astype("timedelta64[D]").astype(np.int64))
    return np.minimum(follow, prog_day - 1)


def _exchange_classes(frame: pd.DataFrame, regimen: np.ndarray) -> dict[str, np.ndarray]:
    """Who may exchange a response in the search of ``synth.kinetics_search``: the same regimen,
    risk subgroup and evaluability for CRH and CRV; for CRV in the subgroup where it goes with
    a longer PFS, the same outcome too, and only a patient who neither dies nor progresses:
    the CRV responders who die or progress there stay those drawn against progression
    (``CRV_PROGRESSION_WEIGHT``, ``CRV_DEATH_WEIGHT``), so the search keeps the paper's
    finding that CRV goes with PFS but not with OS (an exchange between two patients who die
    at different times moves the OS comparison by CRV)."""
    sub = (frame["subgroup"].to_numpy() == CRV_PROGNOSTIC_SUBGROUP).astype(np.int64)
    h_ev = frame["crh_ev"].to_numpy().astype(np.int64)
    v_ev = frame["crv_ev"].to_numpy().astype(np.int64)
    died = frame["death_date"].notna().to_numpy()
    progressed = frame["progression_date"].notna().to_numpy()
    outcome = np.where(died, 1, np.where(progressed, 2, 3)) * sub
    base = ((regimen * 2 + sub) * 2 + h_ev) * 2 + v_ev
    crv = base * 4 + outcome
    # each patient of the subgroup who dies or progresses is a class of its own (negative)
    alone = (sub == 1) & (died | progressed)
    crv[alone] = -1 - np.flatnonzero(alone)
    return {"crh": base * 4, "crv": crv}


def response_visits(targets: Targets, frame: pd.DataFrame, rng: np.random.Generator
                    ) -> pd.DataFrame:
    """The assessments of every patient: ``row`` (position in ``frame``), ``visit_date`` and the
    measurements of the input format's visits table."""
    n = len(frame)
    follow = frame["followup_days"].to_numpy().astype(np.int64)
    limit = _response_limit(frame, follow)
    tight = n <= SEARCH_MAX_PATIENTS
    resp_days = {k: np.full(n, -1, np.int64) for k in ("crh", "crv", "rn")}
    bounds = {k: (np.full(n, np.nan), np.full(n, np.nan)) for k in ("crh", "crv")}
    regimen = frame["regimen"].to_numpy()
    names = [t.regimen for t in targets.regimens]
    code = np.full(n, -1, np.int64)
    for r, t in enumerate(targets.regimens):
        rows = np.flatnonzero(regimen == t.regimen)
        code[rows] = r
        f = frame.iloc[rows]
        who = _choose_responders(rng, t, f, follow[rows], limit[rows])
        for name, kin, pooled in (("crh", t.crh_kinetics, targets.crh_kinetics.median),
                                  ("crv", t.crv_kinetics, targets.crv_kinetics.median)):
            ev = f[f"{name}_ev"].to_numpy()
            days, lo, hi = _kinetics_days(rng, kin, who[name], ev, limit[rows], pooled)
            resp_days[name][rows] = days
            bounds[name][0][rows], bounds[name][1][rows] = lo, hi
        rn_months = rng.choice([1, 2, 3, 3, 6, 6, 6, 9, 12], size=len(rows))
        rn_day = np.minimum(month_day(rn_months), _last_assessment(follow[rows]))
        resp_days["rn"][rows] = np.where(who["rn"] & (rn_day > 0), rn_day, -1)
    if tight:
        kinetics = {(x, t.regimen): getattr(t, f"{x}_kinetics")
                    for x in ("crh", "crv") for t in targets.regimens}
        kinetics |= {("crh", "All"): targets.crh_kinetics, ("crv", "All"): targets.crv_kinetics}
        aimed = aim_response_days(
            rng, {x: resp_days[x] for x in ("crh", "crv")},
            {x: frame[f"{x}_ev"].to_numpy().astype(bool) for x in ("crh", "crv")},
            code, names, _last_assessment(follow), limit, bounds,
            _exchange_classes(frame, code), kinetics)
        resp_days["crh"], resp_days["crv"] = aimed.days["crh"], aimed.days["crv"]
        stop = dict(aimed.stop)
    else:
        stop = {x: np.full(n, -1, np.int64) for x in ("crh", "crv")}
    return _measurements(frame, resp_days, stop, follow, rng)


def _measurements(frame: pd.DataFrame, resp: dict[str, np.ndarray], stop: dict[str, np.ndarray],
                  follow: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """The visits table; ``stop[resp]``: the day after which a non-responder is no longer
    assessed for ``resp`` (-1: never), whose visit on that day is complete."""
    n = len(frame)
    sched = month_day(np.array(SCHEDULE_MONTHS))
    # an RN-evaluable patient followed less than a month is seen once more, for the ONLS only, on
    # the last day of follow-up: RN evaluability needs an ONLS after treatment start
    rn_ev_all = frame["rn_ev"].to_numpy().astype(bool)
    check = np.where(rn_ev_all & (follow < sched[0]) & (follow >= 1), follow, -1)
    # a response's assessments may stop after an unscheduled visit (a month-4 visit, say): that
    # visit is made
    grid = np.concatenate([np.zeros((n, 1), np.int64), np.broadcast_to(sched, (n, len(sched))),
                           np.stack([resp["crh"], resp["crv"], resp["rn"], check, stop["crh"],
                                     stop["crv"]], axis=1)],
                          axis=1)
    valid = (grid >= 0) & (grid <= follow[:, None])
    valid[:, 0] = True
    row = np.broadcast_to(np.arange(n)[:, None], grid.shape)[valid]
    day = grid[valid]
    order = np.lexsort((day, row))
    row, day = row[order], day[order]
    keep = np.ones(len(row), bool)
    keep[1:] = (row[1:] != row[:-1]) | (day[1:] != day[:-1])
    row, day = row[keep], day[keep]
    m = len(row)

    prog = frame["progression_date"].to_numpy()
    start = frame["treatment_start"].to_numpy()
    prog_day = np.where(pd.isna(prog), np.iinfo(np.int64).max,
                        (prog - start).astype("timedelta64[D]").astype(np.int64))
    relapsed = day[:] >= prog_day[row]
    base = day == 0
    # a patient's last assessment is always complete, so non-responders are censored at the
    # last scheduled visit, as the kinetics layout assumes
    last = np.ones(m, bool)
    last[:-1] = row[1:] != row[:-1]
    # the last assessment of a response that stops early is complete too; none is made after
    stop_h, stop_v = stop["crh"][row], stop["crv"][row]
    last_h = last | (day == stop_h)
    last_v = last | (day == stop_v)
    after_h = (stop_h >= 0) & (day > stop_h)
    after_v = (stop_v >= 0) & (day > stop_v)

    def at(col: str) -> np.ndarray:
        return frame[col].to_numpy()[row]

    # haematological response: IFE negative and FLC ratio normal from the response on
    h_ev = at("crh_ev")
    crh_day = resp["crh"][row]
    in_crh = h_ev & (crh_day >= 0) & ((day == crh_day) | ((day > crh_day) & ~relapsed))
    serum = np.where(h_ev & ~in_crh, at("serum_ife"), "negative")
    urine = np.where(h_ev & ~in_crh, at("urine_ife"), "negative")
    kappa0, lam0 = at("flc_kappa_mg_l"), at("flc_lambda_mg_l")
    lam_norm = np.round(rng.uniform(9.0, 22.0, m), 1)
    kappa_norm = np.round(lam_norm * rng.uniform(0.5, 1.3, m), 1)
    shrink = rng.uniform(0.4, 0.95, m)
    kappa = np.where(base, kappa0, np.where(in_crh | ~h_ev, kappa_norm, kappa0))
    lam = np.where(base, lam0, np.where(in_crh | ~h_ev, lam_norm,
                                        np.round(np.maximum(lam0 * shrink, kappa0 * 4.5), 1)))
    flc_missing = ~base & ~last_h & ~in_crh & (rng.random(m) < 0.1)
    kappa = np.where(flc_missing, np.nan, kappa)
    lam = np.where(flc_missing, np.nan, lam)

    # VEGF: falls below 600 pg/ml from the CRV visit on; not measured where baseline is missing
    v_ev = at("crv_ev")
    crv_day = resp["crv"][row]
    in_crv = v_ev & (crv_day >= 0) & ((day == crv_day) | ((day > crv_day) & ~relapsed))
    vegf0 = at("vegf_pg_ml")
    frac = rng.uniform(0.25, 0.9, m)
    vegf = np.where(in_crv, np.round(rng.uniform(120, 590, m)),
                    np.round(np.maximum(vegf0 * frac, rng.uniform(620, 1400, m))))
    vegf = np.where(base, vegf0, np.where(v_ev, vegf, np.nan))
    vegf = np.where(~base & ~last_v & ~in_crv & (rng.random(m) < 0.1), np.nan, vegf)

    # ONLS: at least one point better from the RN visit on
    onls0 = at("onls")
    rn_day = resp["rn"][row]
    in_rn = (rn_day >= 0) & (day >= rn_day)
    drop = np.minimum(onls0, 1 + np.floor(rng.random(m) * np.minimum(3, onls0)))
    worse = np.minimum(onls0 + (rng.random(m) < 0.2), 12)
    onls = np.where(base, onls0, np.where(in_rn, onls0 - drop, np.where(onls0 >= 1, worse,
                                                                        onls0)))
    # the ONLS is re-scored only in the RN-evaluable patients (evaluability "assessed")
    onls = np.where(base | at("rn_ev").astype(bool), onls, np.nan)
    # the extra visit of a short follow-up holds the ONLS only
    onls_only = (day == check[row]) & ~base
    serum = np.where(onls_only, _NOT_RECORDED, serum)
    urine = np.where(onls_only, _NOT_RECORDED, urine)
    kappa = np.where(onls_only, np.nan, kappa)
    lam = np.where(onls_only, np.nan, lam)
    vegf = np.where(onls_only, np.nan, vegf)

    serum = np.where(after_h, _NOT_RECORDED, serum)
    urine = np.where(after_h, _NOT_RECORDED, urine)
    kappa = np.where(after_h, np.nan, kappa)
    lam = np.where(after_h, np.nan, lam)
    vegf = np.where(after_v, np.nan, vegf)

    visit_date = frame["treatment_start"].to_numpy()[row] + day.astype("timedelta64[D]")
    out = pd.DataFrame({
        "row": row, "visit_date": pd.to_datetime(visit_date), "serum_ife": serum,
        "urine_ife": urine, "flc_kappa_mg_l": kappa, "flc_lambda_mg_l": lam,
        "vegf_pg_ml": vegf, "onls": onls,
    })
    # a visit where nothing is measured any more is no visit
    empty = (~base & pd.isna(serum) & pd.isna(urine) & np.isnan(kappa) & np.isnan(lam)
             & np.isnan(vegf) & np.isnan(onls.astype(float)))
    return out[~empty].reset_index(drop=True)
