"""Computing core of the Cox model: partial likelihood, score, information and score residuals.

This is our own kernel rather than a call into lifelines or statsmodels: it has to match R's
``coxph`` (Efron with case weights, strata, ``cox.zph``) and to fit a million subjects faster than
lifelines does, so it is written around the tie groups rather than the rows.

Inputs are trusted (``cox.py`` checks them). The rows are sorted once, by stratum, descending time
and deaths first within a time (an integer sort of factorized time codes, not a float sort). After
that, each evaluation does O(n p^2) work only to sum ``w r``, ``w r x`` and ``w r x x^T`` over each
run of tied rows (``np.add.reduceat``); the risk-set sums are running sums over the u distinct times
and the Efron terms and the information matrix are built from those per-time sums, so everything
past the row sums costs O(u p^2 + deaths) instead of O(n p^2). No n x n or n x u matrices.

Ties: Breslow, or Efron with case weights as R's ``coxph``: at a time with ``m`` tied deaths of total
weight ``W`` there are ``m`` terms ``k = 0..m-1`` with risk-set sums ``R - (k/m) D`` (``D`` the sums
over the tied deaths), each entering with the mean death weight ``W/m``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Prepared:
    """Data sorted by (stratum, descending time, deaths first), covariates centred.

    Rows of one tie group (stratum and time) are contiguous; within a group the deaths come first,
    so each group is one or two "cells" (its deaths, its censored rows).
    """

    x: np.ndarray          # (n, p) centred covariates, sorted (a view of ``xt``)
    time: np.ndarray       # (n,) sorted
    event: np.ndarray      # (n,) float 0/1, sorted
    weight: np.ndarray     # (n,) sorted
    order: np.ndarray      # sorted position -> original row
    group: np.ndarray      # (n,) tie-group index of each sorted row
    g_start: np.ndarray    # (G,) first sorted row of each tie group
    g_time: np.ndarray     # (G,) time of each tie group
    gs_bounds: tuple[tuple[int, int], ...]  # (first group, end group) of each stratum
    g_deaths: np.ndarray   # (G,) number of deaths in the group
    g_dwt: np.ndarray      # (G,) total weight of the deaths in the group
    wx_dead: np.ndarray    # (p,) sum over deaths of w * x
    efron: bool
    unit_weight: bool      # all weights are 1
    iu: tuple[np.ndarray, np.ndarray]  # upper-triangle index of a p x p matrix
    dead_groups: np.ndarray  # (G',) tie groups with at least one death
    dead_counts: np.ndarray  # (G',) number of deaths of each of them (int)
    dead_starts: np.ndarray  # (G',) start of each group's deaths among all deaths (sorted)
    k_frac: np.ndarray       # (K,) k/m of each Efron term, one per death (empty for Breslow)
    xt: np.ndarray           # (p, n) centred covariates transposed, contiguous
    scale: np.ndarray        # (p,) R's coxfit6 scale of each covariate (see ``_r_scale``)
    c_start: np.ndarray      # (C,) first row of each cell
    gc_start: np.ndarray     # (G,) first cell of each group
    dead_cells: np.ndarray   # (G',) the death cell of each group in dead_groups
    g_size: np.ndarray       # (G,) number of rows of each tie group
    gs_first: np.ndarray     # (S,) first group of each stratum


def _argsort_codes(key: np.ndarray, top: int) -> np.ndarray:
    """Stable argsort of non-negative integer codes below ``top``.

    numpy sorts 16-bit integers with a radix sort, ~10x faster than a float or int64 sort; larger
    codes are sorted as two 16-bit digits (least significant first).
    """
    if top <= 1 << 16:
        return np.argsort(key.astype(np.uint16), kind="stable")
    if top <= 1 << 32:
        o = np.argsort((key & 0xFFFF).astype(np.uint16), kind="stable")
        return o[np.argsort((key[o] >> 16).astype(np.uint16), kind="stable")]
    return np.argsort(key, kind="stable")


def prepare(x: np.ndarray | Sequence[Callable[[np.ndarray], None]], time: np.ndarray,
            event: np.ndarray, weight: np.ndarray, stratum: np.ndarray, *,
            efron: bool) -> Prepared:
    """The sorted, centred data of a fit. ``x`` is the n x p design, or p functions each
    writing one design column into a given n-long array (the design is then never held
    whole in the data's order: one column at a time is written, then gathered)."""
    n, p = (len(time), len(x)) if not isinstance(x, np.ndarray) else x.shape
    # time codes 0..U-1 in descending time (+0.0 makes -0.0 equal to 0.0)
    tcode, utime = pd.factorize(np.asarray(time, dtype=np.float64) + 0.0, sort=True)
    u = len(utime)
    n_strata = int(stratum.max()) + 1
    gkey = (u - 1) - tcode.astype(np.int64)
    if n_strata > 1:
        gkey += stratum.astype(np.int64) * u
    dead = np.asarray(event) > 0
    # cells: key 2 * group key (+1 for censored), sorted by one integer sort
    ckey = 2 * gkey + (~dead)
    top = 2 * u * n_strata
    order = _argsort_codes(ckey, top)
    if top <= 4 * n:  # the cells and their sizes by counting, without gathering the keys
        counts = np.bincount(ckey, minlength=top)
        c_key = np.flatnonzero(counts)
        c_len = counts[c_key]
        c_start = np.cumsum(c_len) - c_len
    else:
        ck = ckey[order]
        c_new = np.ones(n, dtype=bool)
        c_new[1:] = ck[1:] != ck[:-1]
        c_start = np.flatnonzero(c_new)
        c_key = ck[c_start]
        c_len = np.diff(np.append(c_start, n))
    gk_cell = c_key >> 1
    gc_new = np.ones(len(c_start), dtype=bool)
    gc_new[1:] = gk_cell[1:] != gk_cell[:-1]
    gc_start = np.flatnonzero(gc_new)
    g_start = c_start[gc_start]
    ng = len(g_start)
    cell_group = np.cumsum(gc_new) - 1
    group = np.repeat(cell_group, c_len)
    cell_dead = (c_key & 1) == 0
    g_key = gk_cell[gc_start]
    g_time = utime[(u - 1) - g_key % u]
    g_strat = g_key // u
    s_new = np.ones(ng, dtype=bool)
    s_new[1:] = g_strat[1:] != g_strat[:-1]
    gs_first = np.flatnonzero(s_new)
    gs_stop = np.append(gs_first[1:], ng)

    # gather the covariates once, as contiguous rows (p, n), one column at a time (no n x p
    # temporary); centre them within each stratum (each risk set lies in one stratum, so the
    # partial likelihood does not change; strata at different covariate levels then keep x beta
    # small and the information free of cancellation)
    xt = np.empty((p, n))
    if isinstance(x, np.ndarray):
        for j in range(p):
            np.take(x[:, j], order, out=xt[j])
    else:
        column = np.empty(n)
        for j, fill in enumerate(x):
            fill(column)
            np.take(column, order, out=xt[j])
        del column
    g_size = np.diff(np.append(g_start, n))
    unit_weight = bool((weight == 1).all())
    scale = _r_scale(xt, None if unit_weight else weight, order)
    if len(gs_first) == 1:
        xt -= xt.mean(axis=1, keepdims=True)
    else:
        s_rows = g_start[gs_first]
        s_len = np.diff(np.append(s_rows, n))
        means = np.add.reduceat(xt, s_rows, axis=1) / s_len
        xt -= np.repeat(means, s_len, axis=1)
    es = np.repeat(cell_dead.astype(float), c_len)
    ts = np.repeat(g_time, np.diff(np.append(g_start, n)))
    ws = np.ones(n) if unit_weight else np.take(weight, order)
    wd = es if unit_weight else es * ws

    dead_cells = np.flatnonzero(cell_dead)
    dead_groups = cell_group[dead_cells]
    nd = c_len[dead_cells]
    g_deaths = np.zeros(ng)
    g_deaths[dead_groups] = nd
    dead_starts = np.cumsum(nd) - nd
    g_dwt = np.zeros(ng)
    g_dwt[dead_groups] = nd if unit_weight else np.add.reduceat(wd, c_start)[dead_cells]
    if efron:
        k_frac = (np.arange(int(nd.sum())) - np.repeat(dead_starts, nd)) / np.repeat(nd, nd)
    else:
        k_frac = np.empty(0)
    iu = np.triu_indices(p)
    return Prepared(
        x=xt.T, time=ts, event=es, weight=ws, order=order, group=group, g_start=g_start,
        g_time=g_time, gs_bounds=tuple((int(a), int(b)) for a, b in zip(gs_first, gs_stop, strict=True)),
        g_deaths=g_deaths, g_dwt=g_dwt, wx_dead=np.einsum("jn,n->j", xt, wd), efron=efron, unit_weight=unit_weight,
        iu=iu, dead_groups=dead_groups, dead_counts=nd, dead_starts=dead_starts, k_frac=k_frac,
        xt=xt, scale=scale, c_start=c_start, gc_start=gc_start,
        dead_cells=dead_cells, g_size=g_size, gs_first=gs_first)


#: Rows per block of :func:`_r_scale` (no temporary of the data's length).
_BLOCK = 1 << 16


def _r_scale(xt: np.ndarray, weight: np.ndarray | None, order: np.ndarray) -> np.ndarray:
    """The scale R's ``coxfit6`` gives each covariate (row of ``xt``, rows in ``order``) before
    it factors the information matrix, which decides what counts as singular: 1 for a column
    whose values are all -1, 0 or 1 (``coxph`` neither centres nor scales those), else
    ``sum(w) / sum(w |x - m|)`` with ``m`` the weighted mean (1 for a constant column). The fit
    itself does not depend on it. ``weight``: ``None`` when every weight is 1. Computed over
    blocks of rows (no temporary of the data's length: the weights are taken in the rows' order
    block by block)."""
    p, n = xt.shape
    blocks = range(0, n, _BLOCK)

    def w(a: int) -> np.ndarray | None:
        return None if weight is None else weight[order[a:a + _BLOCK]]

    tw = float(n) if weight is None else float(weight.sum())
    out = np.ones(p)
    for j in range(p):
        row = xt[j]
        if row.min(initial=0.0) >= -1.0 and row.max(initial=0.0) <= 1.0 and all(
                np.all(np.isin(row[a:a + _BLOCK], (-1.0, 0.0, 1.0))) for a in blocks):
            continue

        def dot(a: int, values: np.ndarray) -> float:
            wb = w(a)
            return float(values.sum() if wb is None else wb @ values)

        m = sum(dot(a, row[a:a + _BLOCK]) for a in blocks) / tw
        dev = sum(dot(a, np.abs(row[a:a + _BLOCK] - m)) for a in blocks)
        out[j] = tw / dev if dev > 0 else 1.0
    return out


#: Within one chunk of tie groups the largest risk score of a risk set is at least exp(-WINDOW)
#: times the chunk's reference, so 1/den^2 stays below exp(2 WINDOW) ~ 1e174: no overflow.
WINDOW = 200.0


@dataclass(frozen=True)
class RiskScale:
    """The reference ``g_ref`` of each tie group: its sums are of ``w exp(eta - g_ref)``.

    Risk sets grow as the time goes down (our group order); ``m_g``, the largest ``eta`` in the
    risk set of group ``g``, never decreases within a stratum. Each stratum is cut into chunks
    of groups over which ``m_g`` rises by at most ``WINDOW``, and the chunk's reference is its
    largest ``m_g``: every risk score is at most 1 and the largest one of each risk set at least
    exp(-WINDOW). Running sums carried into the next chunk are rescaled by exp(old - new ref) <= 1
    (a log-sum-exp accumulation done per chunk rather than per term). ``chunks is None``: one
    chunk with one reference (the common case, no rescaling at all).
    """

    g_ref: np.ndarray                                   # (G,) or (1,) when chunks is None
    chunks: tuple[tuple[int, int, bool], ...] | None    # (first group, end group, starts stratum)


def _risk_scales(pr: Prepared, eta: np.ndarray) -> RiskScale:
    g_max = np.maximum.reduceat(eta, pr.g_start)
    top = float(g_max.max())
    # m_g rises from its stratum's first value to at most the global maximum: when every
    # stratum starts within WINDOW of the maximum, one reference serves every group
    if top - float(g_max[pr.gs_first].min()) <= WINDOW:
        return RiskScale(np.array([top]), None)
    m = np.empty_like(g_max)
    for a, b in pr.gs_bounds:
        np.maximum.accumulate(g_max[a:b], out=m[a:b])
    g_ref = np.empty_like(m)
    chunks = []
    for a, b in pr.gs_bounds:
        start = a
        while start < b:
            end = start + int(np.searchsorted(m[start:b], m[start] + WINDOW, side="right"))
            g_ref[start:end] = m[end - 1]
            chunks.append((start, end, start == a))
            start = end
    return RiskScale(g_ref, tuple(chunks))


def _cumulate(per_group: np.ndarray, scale: RiskScale, bounds: tuple[tuple[int, int], ...]
              ) -> np.ndarray:
    """Running sums over the groups (risk sets), restarted at each stratum, at each group's
    reference."""
    if scale.chunks is None:
        if len(bounds) == 1:
            return np.cumsum(per_group, axis=1)
        out = np.empty_like(per_group)
        for a, b in bounds:
            np.cumsum(per_group[:, a:b], axis=1, out=out[:, a:b])
        return out
    out = np.empty_like(per_group)
    ref = scale.g_ref
    for a, b, first in scale.chunks:
        np.cumsum(per_group[:, a:b], axis=1, out=out[:, a:b])
        if not first:
            out[:, a:b] += (out[:, a - 1] * np.exp(ref[a - 1] - ref[a]))[:, None]
    return out


def _cumulate_reverse(values: np.ndarray, scale: RiskScale, bounds: tuple[tuple[int, int], ...]
                      ) -> tuple[np.ndarray, np.ndarray]:
    """For each group ``g``: the sum over the groups ``g' >= g`` of its stratum (the earlier
    times, where a row of ``g`` is at risk), and the same sum over ``g' > g``; both at the
    reference of ``g``. ``values`` is (G,) or (G, p)."""
    cum = np.empty_like(values)
    after = np.zeros_like(values)
    if scale.chunks is None:
        for a, b in bounds:
            cum[a:b] = np.cumsum(values[a:b][::-1], axis=0)[::-1]
            after[a:b - 1] = cum[a + 1:b]
        return cum, after
    ref = scale.g_ref
    chunks = scale.chunks
    for i in range(len(chunks) - 1, -1, -1):
        a, b, _ = chunks[i]
        cum[a:b] = np.cumsum(values[a:b][::-1], axis=0)[::-1]
        after[a:b - 1] = cum[a + 1:b]
        if i + 1 < len(chunks) and not chunks[i + 1][2]:  # the next chunk is the same stratum
            carry = cum[b] * np.exp(ref[b - 1] - ref[b])
            cum[a:b] += carry
            after[a:b] += carry
    return cum, after



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
    risk: np.ndarray         # (n,) exp(eta - reference of the row's tie group), sorted rows
    scale: RiskScale         # the reference of each tie group's sums


def _unpack(u: np.ndarray, iu: tuple[np.ndarray, np.ndarray], p: int) -> np.ndarray:
    out = np.empty((*u.shape[:-1], p, p))
    out[..., iu[0], iu[1]] = u
    out[..., iu[1], iu[0]] = u
    return out


def cross_product(pr: Prepared, j: int, out: np.ndarray) -> np.ndarray:
    """Row ``j`` of the products ``x_a x_b`` of the upper triangle (``iu``), into ``out``.

    Formed when needed rather than held: the q = p (p + 1) / 2 rows would be q x n float64 (0.3 GB
    for p = 8 at 10^6 rows), the largest array of a fit; the values are the same."""
    return np.multiply(pr.xt[pr.iu[0][j]], pr.xt[pr.iu[1][j]], out=out)


def evaluate(pr: Prepared, beta: np.ndarray, *, want_groups: bool = False) -> Terms:
    """Log partial likelihood, score and information at ``beta``."""
    n, p = pr.x.shape
    q = len(pr.iu[0])
    iu0, iu1 = pr.iu
    # explicit products, not BLAS: a threaded BLAS product of this shape is erratic on a busy machine
    buf = np.empty(n)
    eta = np.multiply(pr.xt[0], beta[0])
    for j in range(1, p):
        eta += np.multiply(pr.xt[j], beta[j], out=buf)
    scale = _risk_scales(pr, eta)
    if scale.chunks is None:
        eta -= scale.g_ref[0]
    else:
        eta -= np.repeat(scale.g_ref, pr.g_size)
    r = np.exp(eta, out=eta)
    wr = r if pr.unit_weight else pr.weight * r
    # per-cell sums of w r, w r x and w r x x^T: the only O(n) work
    cells = np.empty((1 + p + q, len(pr.c_start)))
    cells[0] = np.add.reduceat(wr, pr.c_start)
    for j in range(p):
        cells[1 + j] = np.add.reduceat(np.multiply(pr.xt[j], wr, out=buf), pr.c_start)
    for j in range(q):
        xx = cross_product(pr, j, buf)
        cells[1 + p + j] = np.add.reduceat(np.multiply(xx, wr, out=buf), pr.c_start)
    per_group = np.add.reduceat(cells, pr.gc_start, axis=1)
    # risk sets: running sums over the groups (descending time), restarted at each stratum
    risk_sets = _cumulate(per_group, scale, pr.gs_bounds)
    gsel = pr.dead_groups
    rs = np.ascontiguousarray(risk_sets[:, gsel].T)
    ds = np.ascontiguousarray(cells[:, pr.dead_cells].T)
    nd = pr.g_deaths[gsel]
    wsum = pr.g_dwt[gsel]
    wbar = wsum / nd
    if pr.efron:
        frac, m = pr.k_frac, pr.dead_counts
        den = np.repeat(rs[:, 0], m)
        tmp = np.repeat(ds[:, 0], m)
        den -= np.multiply(frac, tmp, out=tmp)
        inv = np.divide(1.0, den, out=tmp)
        sums = np.empty((6, len(m)))
        starts = pr.dead_starts
        # sums over each group's terms of 1/den, f/den, 1/den^2, f/den^2, f^2/den^2, log den,
        # reusing two buffers of one value per death
        sums[0] = np.add.reduceat(inv, starts)
        sums[5] = np.add.reduceat(np.log(den, out=den), starts)
        sums[1] = np.add.reduceat(np.multiply(frac, inv, out=den), starts)  # f / den
        sums[2] = np.add.reduceat(np.multiply(inv, inv, out=inv), starts)  # 1 / den^2
        sums[3] = np.add.reduceat(np.multiply(inv, frac, out=inv), starts)  # f / den^2
        sums[4] = np.add.reduceat(np.multiply(inv, frac, out=inv), starts)  # f^2 / den^2
        c0, c1 = sums[0], sums[1]
        a0, a1 = wbar * c0, wbar * c1
        b0, b1, b2 = wbar * sums[2], wbar * sums[3], wbar * sums[4]
        log_terms = wbar @ sums[5]
    else:
        den = rs[:, 0]
        inv = 1.0 / den
        c0, c1 = nd * inv, np.zeros_like(inv)
        a0, a1 = wsum * inv, np.zeros_like(inv)
        b0, b1, b2 = a0 * inv, np.zeros_like(inv), np.zeros_like(inv)
        log_terms = wsum @ np.log(den)
    ref = scale.g_ref[0] * wsum.sum() if scale.chunks is None else wsum @ scale.g_ref[gsel]
    loglik = float(beta @ pr.wx_dead - log_terms - ref)
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
                 info_g=info_g if want_groups else np.empty((0, q)), risk=r, scale=scale)


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
    cum_h, prev_h = _cumulate_reverse(h, t.scale, pr.gs_bounds)
    cum_hx, prev_hx = _cumulate_reverse(hx, t.scale, pr.gs_bounds)
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
    dead = pr.event > 0
    wx = np.add.reduceat((pr.weight[dead, None] * pr.x[dead]), pr.dead_starts, axis=0)
    u = wx - (t.r1 * t.a0[:, None] - t.d1 * t.a1[:, None])
    return t.gsel, u, _unpack(t.info_g, pr.iu, p)
