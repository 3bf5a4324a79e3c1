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
    dead_groups: np.ndarray  # (G',) tie groups with at least one death
    dead_rows: np.ndarray    # sorted rows of the deaths (grouped by tie group)
    dead_starts: np.ndarray  # (G',) start of each group's deaths within dead_rows
    k_group: np.ndarray      # (K,) position in dead_groups of each Efron term (K = deaths)
    k_frac: np.ndarray       # (K,) k/m of each term (0 for Breslow)
    xt: np.ndarray           # (p, n) x transposed, contiguous
    xxt: np.ndarray          # (q, n) products x_i x_j of the upper triangle
    dead_pairs: np.ndarray   # (2G',) [start, end) of each group's run of deaths, for reduceat


def prepare(x: np.ndarray, time: np.ndarray, event: np.ndarray, weight: np.ndarray,
            stratum: np.ndarray, *, efron: bool) -> Prepared:
    n, p = x.shape
    # deaths first within a tie group, so that each group's deaths are one contiguous run
    if (stratum == stratum[0]).all():
        order = np.lexsort((-event, -time))
    else:
        order = np.lexsort((-event, -time, stratum))
    xs = x[order] - x.mean(axis=0)
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
    g_deaths = np.add.reduceat(es, g_start)
    dead_groups = np.flatnonzero(g_deaths > 0)
    dead_rows = np.flatnonzero(es > 0)
    nd = g_deaths[dead_groups].astype(np.int64)
    dead_starts = np.cumsum(nd) - nd
    k_group = np.repeat(np.arange(len(dead_groups)), nd)
    if efron:
        k_frac = (np.arange(len(dead_rows)) - dead_starts[k_group]) / nd[k_group]
    else:
        k_frac = np.zeros(len(dead_rows))
    iu = np.triu_indices(p)
    xt = np.ascontiguousarray(xs.T)
    pairs = np.empty(2 * len(dead_groups), dtype=np.int64)
    pairs[0::2] = g_start[dead_groups]
    pairs[1::2] = g_start[dead_groups] + nd
    return Prepared(
        x=xs, time=ts, event=es, weight=ws, stratum=ss, order=order, group=group,
        g_start=g_start, g_end=g_end, g_stratum=g_strat,
        s_bounds=tuple((int(a), int(b)) for a, b in zip(s_start, s_stop, strict=True)),
        gs_bounds=gs_bounds,
        g_deaths=g_deaths, g_dwt=np.add.reduceat(es * ws, g_start),
        wx_dead=(es * ws) @ xs, efron=efron, iu=iu, dead_groups=dead_groups,
        dead_rows=dead_rows, dead_starts=dead_starts, k_group=k_group, k_frac=k_frac, xt=xt,
        xxt=xt[iu[0]] * xt[iu[1]], dead_pairs=pairs)


@dataclass(frozen=True)
class Terms:
    """Sums at one beta over the tie groups that have deaths (``gsel``).

    For a group with risk-set sums ``R`` and death sums ``D`` (columns: weight*risk, then x-weighted,
    then the upper triangle of x x^T), the Efron terms are ``R - f_k D`` with ``f_k = k/m`` (all 0
    for Breslow). Everything needed is linear in ``R`` and ``D`` with the scalar sums over k:
    ``a0 = sum wbar/den``, ``a1 = sum wbar f/den``, ``b0, b1, b2 = sum wbar f^j/den^2`` and
    ``c0 = sum 1/den``, ``c1 = sum f/den``.
    """

    loglik: float
    score: np.ndarray        # (p,)
    info: np.ndarray         # (p, p)
    gsel: np.ndarray         # (G',) tie groups with deaths
    r1: np.ndarray           # (G', p) risk-set sums of w r x
    d1: np.ndarray           # (G', p) death sums of w r x
    a0: np.ndarray
    a1: np.ndarray
    b0: np.ndarray
    b1: np.ndarray
    b2: np.ndarray
    c0: np.ndarray
    c1: np.ndarray
    info_g: np.ndarray       # (G', q) upper triangle of each group's information, or empty
    risk: np.ndarray         # (n,) exp(eta - shift), sorted rows


def _segment_cumsum(m: np.ndarray, bounds: tuple[tuple[int, int], ...]) -> np.ndarray:
    """Running sums along the rows (axis 1), restarted at each stratum."""
    if len(bounds) == 1:
        return np.cumsum(m, axis=1)
    out = np.empty_like(m)
    for a, b in bounds:
        np.cumsum(m[:, a:b], axis=1, out=out[:, a:b])
    return out


def _unpack(u: np.ndarray, iu: tuple[np.ndarray, np.ndarray], p: int) -> np.ndarray:
    out = np.empty((*u.shape[:-1], p, p))
    out[..., iu[0], iu[1]] = u
    out[..., iu[1], iu[0]] = u
    return out


def evaluate(pr: Prepared, beta: np.ndarray, *, want_groups: bool = False) -> Terms:
    """Log partial likelihood, score and information at ``beta``."""
    n, p = pr.x.shape
    eta = beta @ pr.xt
    shift = float(eta.max())
    r = np.exp(eta - shift)
    wr = pr.weight * r
    q = len(pr.iu[0])
    iu0, iu1 = pr.iu
    m = np.empty((1 + p + q, n + 1))  # one row per summed quantity; a zero column for reduceat
    m[:, n] = 0.0
    m[0, :n] = wr
    np.multiply(pr.xt, wr, out=m[1:1 + p, :n])
    np.multiply(pr.xxt, wr, out=m[1 + p:, :n])
    cs = _segment_cumsum(m[:, :n], pr.s_bounds)
    gsel = pr.dead_groups
    rs = cs[:, pr.g_end[gsel]].T
    ds = np.add.reduceat(m, pr.dead_pairs, axis=1)[:, 0::2].T
    nd = pr.g_deaths[gsel].astype(np.int64)
    wbar_g = pr.g_dwt[gsel] / nd
    gl = pr.k_group
    frac = pr.k_frac
    den = rs[gl, 0] - frac * ds[gl, 0]
    inv = 1.0 / den
    wb = wbar_g[gl]
    ng = len(gsel)

    def gsum(v: np.ndarray) -> np.ndarray:
        return np.bincount(gl, weights=v, minlength=ng)

    a0, a1 = gsum(wb * inv), gsum(wb * frac * inv)
    inv2 = inv * inv
    b0, b1, b2 = gsum(wb * inv2), gsum(wb * frac * inv2), gsum(wb * frac * frac * inv2)
    c0, c1 = gsum(inv), gsum(frac * inv)
    loglik = float(pr.weight @ (pr.event * eta) - wb @ (np.log(den) + shift))
    r1, d1 = rs[:, 1:1 + p], ds[:, 1:1 + p]
    score = pr.wx_dead - (a0 @ r1 - a1 @ d1)
    r2, d2 = rs[:, 1 + p:], ds[:, 1 + p:]
    info_g = (r2 * a0[:, None] - d2 * a1[:, None]
              - (r1[:, iu0] * r1[:, iu1]) * b0[:, None]
              + (r1[:, iu0] * d1[:, iu1] + d1[:, iu0] * r1[:, iu1]) * b1[:, None]
              - (d1[:, iu0] * d1[:, iu1]) * b2[:, None])
    info = _unpack(info_g.sum(axis=0), pr.iu, p)
    return Terms(loglik=loglik, score=score, info=info, gsel=gsel, r1=r1, d1=d1, a0=a0, a1=a1,
                 b0=b0, b1=b1, b2=b2, c0=c0, c1=c1,
                 info_g=info_g if want_groups else np.empty((0, q)), risk=r)


def score_residuals(pr: Prepared, terms: Terms) -> np.ndarray:
    """Unweighted score residuals (n, p) in the original row order (as R's ``coxscore2``)."""
    x = pr.x
    n, p = x.shape
    ng = len(pr.g_start)
    t = terms
    gsel = t.gsel
    h = np.zeros(ng)
    hx = np.zeros((ng, p))
    h_own = np.zeros(ng)
    hx_own = np.zeros((ng, p))
    xb_mean = np.zeros((ng, p))
    h[gsel] = t.a0
    hx[gsel] = t.r1 * t.b0[:, None] - t.d1 * t.b1[:, None]
    h_own[gsel] = t.a0 - t.a1
    hx_own[gsel] = t.r1 * (t.b0 - t.b1)[:, None] - t.d1 * (t.b1 - t.b2)[:, None]
    xb_mean[gsel] = (t.r1 * t.c0[:, None] - t.d1 * t.c1[:, None]) / pr.g_deaths[gsel][:, None]
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
    r = t.risk[:, None]
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

    ``terms`` must come from ``evaluate(..., want_groups=True)``. Returns (groups with deaths,
    U (G', p), I (G', p, p)).
    """
    p = pr.x.shape[1]
    t = terms
    wx = np.add.reduceat(((pr.event * pr.weight)[:, None] * pr.x)[pr.dead_rows], pr.dead_starts,
                         axis=0)
    u = wx - (t.r1 * t.a0[:, None] - t.d1 * t.a1[:, None])
    return t.gsel, u, _unpack(t.info_g, pr.iu, p)
