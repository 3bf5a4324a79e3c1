"""Computing core of the Cox model: partial likelihood, score, information and score residuals.

Inputs are trusted (``cox.py`` checks them). The rows are sorted once by stratum and by descending
time, so that the risk-set sums at a time are running sums (``cumsum``) down to the last row tied at
that time; the sums over the deaths tied at one time are ``np.add.reduceat`` over the tie groups.
Cost per evaluation: O(n p^2), no n x n matrices.

Ties: Breslow, or Efron with case weights as R's ``coxph``: at a time with ``m`` tied deaths of total
weight ``W`` there are ``m`` terms ``k = 0..m-1`` with risk-set sums ``R - (k/m) D`` (``D`` the sums
over the tied deaths), each entering with the mean death weight ``W/m``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Prepared:
    """Data sorted by (stratum, descending time), covariates centred."""

    x: np.ndarray          # (n, p) centred covariates, sorted
    time: np.ndarray       # (n,) sorted
    event: np.ndarray      # (n,) float 0/1, sorted
    weight: np.ndarray     # (n,) sorted
    stratum: np.ndarray    # (n,) int codes, sorted
    order: np.ndarray      # sorted position -> original row
    group: np.ndarray      # (n,) tie-group index of each sorted row
    g_start: np.ndarray    # (G,) first sorted row of each tie group
    g_end: np.ndarray      # (G,) last sorted row of each tie group
    g_stratum: np.ndarray  # (G,) stratum of each tie group
    s_bounds: tuple[tuple[int, int], ...]   # (first row, end row) of each stratum
    gs_bounds: tuple[tuple[int, int], ...]  # (first group, end group) of each stratum
    g_deaths: np.ndarray   # (G,) number of deaths in the group
    g_dwt: np.ndarray      # (G,) total weight of the deaths in the group
    wx_dead: np.ndarray    # (p,) sum over deaths of w * x
    efron: bool
    iu: tuple[np.ndarray, np.ndarray]  # upper-triangle index of a p x p matrix


def prepare(x: np.ndarray, time: np.ndarray, event: np.ndarray, weight: np.ndarray,
            stratum: np.ndarray, *, efron: bool) -> Prepared:
    n, p = x.shape
    order = np.lexsort((-time, stratum))
    xs = x[order] - x.mean(axis=0) if n else x[order]
    ts, es, ws, ss = time[order], event[order].astype(float), weight[order], stratum[order]
    new = np.ones(n, dtype=bool)
    new[1:] = (ts[1:] != ts[:-1]) | (ss[1:] != ss[:-1])
    g_start = np.flatnonzero(new)
    g_end = np.append(g_start[1:], n) - 1
    group = np.cumsum(new) - 1
    s_new = np.ones(n, dtype=bool)
    s_new[1:] = ss[1:] != ss[:-1]
    s_start = np.flatnonzero(s_new)
    s_stop = np.append(s_start[1:], n)
    g_strat = ss[g_start]
    gs_bounds = tuple((int(np.searchsorted(g_start, a)), int(np.searchsorted(g_start, b)))
                      for a, b in zip(s_start, s_stop, strict=True))
    return Prepared(
        x=xs, time=ts, event=es, weight=ws, stratum=ss, order=order, group=group,
        g_start=g_start, g_end=g_end, g_stratum=g_strat,
        s_bounds=tuple((int(a), int(b)) for a, b in zip(s_start, s_stop, strict=True)),
        gs_bounds=gs_bounds,
        g_deaths=np.add.reduceat(es, g_start) if n else es,
        g_dwt=np.add.reduceat(es * ws, g_start) if n else es,
        wx_dead=(es * ws) @ xs, efron=efron, iu=np.triu_indices(p))


@dataclass(frozen=True)
class Terms:
    """Per-(death-time, Efron-term) quantities at one beta."""

    loglik: float
    score: np.ndarray        # (p,)
    info: np.ndarray         # (p, p)
    gidx: np.ndarray         # (K,) tie group of each term (only groups with deaths)
    frac: np.ndarray         # (K,) k/m (0 for Breslow)
    hazard: np.ndarray       # (K,) wbar / denom
    xbar: np.ndarray         # (K, p)
    cov: np.ndarray          # (K, p, p) weighted covariance of x in the term's risk set, or empty
    risk: np.ndarray         # (n,) exp(eta - shift), sorted rows


def _segment_cumsum(m: np.ndarray, bounds: tuple[tuple[int, int], ...]) -> np.ndarray:
    if len(bounds) == 1:
        return np.cumsum(m, axis=0)
    out = np.empty_like(m)
    for a, b in bounds:
        np.cumsum(m[a:b], axis=0, out=out[a:b])
    return out


def evaluate(pr: Prepared, beta: np.ndarray, *, want_cov: bool = False) -> Terms:
    """Log partial likelihood, score and information at ``beta``."""
    x = pr.x
    n, p = x.shape
    eta = x @ beta
    shift = float(eta.max())
    r = np.exp(eta - shift)
    wr = pr.weight * r
    iu0, iu1 = pr.iu
    q = len(iu0)
    m = np.empty((n, 1 + p + q))
    m[:, 0] = wr
    np.multiply(x, wr[:, None], out=m[:, 1:1 + p])
    np.multiply(m[:, 1 + iu0], x[:, iu1], out=m[:, 1 + p:])
    cs = _segment_cumsum(m, pr.s_bounds)
    has = pr.g_deaths > 0
    gsel = np.flatnonzero(has)
    risk_sums = cs[pr.g_end[gsel]]
    dead_sums = np.add.reduceat(m * pr.event[:, None], pr.g_start, axis=0)[gsel]
    nd = pr.g_deaths[gsel].astype(np.int64)
    wbar_g = pr.g_dwt[gsel] / nd
    k_total = int(nd.sum())
    gidx_local = np.repeat(np.arange(len(gsel)), nd)
    if pr.efron:
        offsets = np.repeat(np.cumsum(nd) - nd, nd)
        frac = (np.arange(k_total) - offsets) / nd[gidx_local]
        sums = risk_sums[gidx_local] - frac[:, None] * dead_sums[gidx_local]
    else:
        frac = np.zeros(k_total)
        sums = risk_sums[gidx_local]
    denom = sums[:, 0]
    wbar = wbar_g[gidx_local]
    xbar = sums[:, 1:1 + p] / denom[:, None]
    s2 = sums[:, 1 + p:] / denom[:, None]
    hazard = wbar / denom
    loglik = float(pr.weight @ (pr.event * eta) - wbar @ (np.log(denom) + shift))
    score = pr.wx_dead - wbar @ xbar
    info_u = wbar @ (s2 - xbar[:, iu0] * xbar[:, iu1])
    info = np.empty((p, p))
    info[iu0, iu1] = info_u
    info[iu1, iu0] = info_u
    cov = np.empty((0, p, p))
    if want_cov:
        cu = s2 - xbar[:, iu0] * xbar[:, iu1]
        cov = np.empty((k_total, p, p))
        cov[:, iu0, iu1] = cu
        cov[:, iu1, iu0] = cu
    return Terms(loglik=loglik, score=score, info=info, gidx=gsel[gidx_local], frac=frac,
                 hazard=hazard, xbar=xbar, cov=cov, risk=r)


def score_residuals(pr: Prepared, terms: Terms) -> np.ndarray:
    """Unweighted score residuals (n, p) in the original row order (as R's ``coxscore2``)."""
    x = pr.x
    n, p = x.shape
    ng = len(pr.g_start)
    gidx, frac, haz, xbar = terms.gidx, terms.frac, terms.hazard, terms.xbar
    h = np.bincount(gidx, weights=haz, minlength=ng)
    hx = np.zeros((ng, p))
    np.add.at(hx, gidx, haz[:, None] * xbar)
    h_own = np.bincount(gidx, weights=(1 - frac) * haz, minlength=ng)
    hx_own = np.zeros((ng, p))
    np.add.at(hx_own, gidx, ((1 - frac) * haz)[:, None] * xbar)
    xb_mean = np.zeros((ng, p))
    np.add.at(xb_mean, gidx, xbar)
    nd = np.maximum(pr.g_deaths, 1)
    xb_mean /= nd[:, None]
    # cumulative over ascending time within stratum = reverse cumsum over descending groups
    cum_h = np.empty(ng)
    cum_hx = np.empty((ng, p))
    prev_h = np.empty(ng)
    prev_hx = np.empty((ng, p))
    for a, b in pr.gs_bounds:
        ch = np.cumsum(h[a:b][::-1])[::-1]
        chx = np.cumsum(hx[a:b][::-1], axis=0)[::-1]
        cum_h[a:b], cum_hx[a:b] = ch, chx
        prev_h[a:b - 1], prev_hx[a:b - 1] = ch[1:], chx[1:]
        prev_h[b - 1], prev_hx[b - 1] = 0.0, 0.0
    g = pr.group
    r = terms.risk[:, None]
    dead = pr.event > 0
    res = -r * (x * cum_h[g][:, None] - cum_hx[g])
    gd = g[dead]
    xd, rd = x[dead], r[dead]
    res[dead] = (-rd * (xd * prev_h[gd][:, None] - prev_hx[gd]) + (xd - xb_mean[gd])
                 - rd * (xd * h_own[gd][:, None] - hx_own[gd]))
    out = np.empty_like(res)
    out[pr.order] = res
    return out


def group_terms(pr: Prepared, terms: Terms) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per death-time score ``U_g`` and information ``I_g`` (for the proportional-hazards test).

    Returns (groups with deaths, U (G', p), I (G', p, p)).
    """
    p = pr.x.shape[1]
    gsel = np.flatnonzero(pr.g_deaths > 0)
    pos = np.searchsorted(gsel, terms.gidx)
    wbar = (pr.g_dwt / np.maximum(pr.g_deaths, 1))[terms.gidx]
    u = np.zeros((len(gsel), p))
    wx = (pr.event * pr.weight)[:, None] * pr.x
    u += np.add.reduceat(wx, pr.g_start, axis=0)[gsel]
    np.add.at(u, pos, -wbar[:, None] * terms.xbar)
    info = np.zeros((len(gsel), p, p))
    np.add.at(info, pos, wbar[:, None, None] * terms.cov)
    return gsel, u, info
