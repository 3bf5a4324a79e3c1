"""Competing risks: Aalen–Johansen cumulative incidence and Gray's test, equal to R.

``cumulative_incidence`` equals R ``survfit(Surv(time, factor(status, levels = 0:k)) ~ 1)`` (the
Aalen–Johansen estimator, infinitesimal-jackknife standard errors, ``log`` confidence limits), per
group when ``group`` is given. ``gray_test`` equals ``cmprsk::cuminc(time, status, group)$Tests``
(Gray's K-sample test, rho = 0).

Status codes: 0 = censored, 1..k = the competing causes. In the results, cause 0 is the event-free
state (R's ``"(s0)"``): its estimate is the Kaplan–Meier of the time to any event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from poems_cohort.stats._common import (
    NotTestableError,
    as_float_array,
    as_groups,
    as_status,
    as_times,
    check_same_length,
    frame_repr,
    reject_text,
)

__all__ = ["CumulativeIncidence", "GrayTest", "cumulative_incidence", "gray_test"]

_Z975 = float(sps.norm.ppf(0.975))
TABLE_COLUMNS = ("time", "n_risk", "n_censor", "cause", "n_event", "estimate", "std_err", "lower",
                 "upper")
AT_COLUMNS = ("time", "cause", "estimate", "std_err", "lower", "upper", "n_risk")


@dataclass(frozen=True)
class _Curve:
    """One group's Aalen–Johansen fit: T distinct times, states 0 (event-free) .. k."""

    n: int
    time: np.ndarray      # (T,)
    n_risk: np.ndarray    # (T,)
    n_censor: np.ndarray  # (T,)
    n_event: np.ndarray   # (T, k+1); column 0 = events of any cause
    pstate: np.ndarray    # (T, k+1)
    std_err: np.ndarray   # (T, k+1)
    last_time: float


def _log_limits(p: np.ndarray, se: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """R ``survfit_confint(..., logse = FALSE, conf.type = "log")``: NaN where p = 0, upper <= 1."""
    with np.errstate(divide="ignore", invalid="ignore"):
        lse = np.where(p > 0, se / p, np.nan)
        pp = np.where(p > 0, p, np.nan)
        lower = pp * np.exp(-_Z975 * lse)
        upper = np.minimum(pp * np.exp(_Z975 * lse), 1.0)
    return lower, upper


def _aalen_johansen(time: np.ndarray, status: np.ndarray, k: int) -> _Curve:
    """Aalen–Johansen estimate and infinitesimal-jackknife SE for one group.

    Every subject still at risk has the same influence path, and after leaving (censoring or an
    event at time u) a subject's influence on S(t) is ``a S(t)/S(u)`` and on F_c(t) is
    ``b + a (F_c(t) - F_c(u))/S(u)``. So the sum of squared influences is a sum of quadratics in
    F_c(t) whose coefficients accumulate over exit times: O(T k) after sorting.
    """
    n = len(time)
    ut, inv = np.unique(time, return_inverse=True)
    nt = len(ut)
    counts = np.zeros((nt, k + 1))
    np.add.at(counts, (inv, status), 1.0)
    n_cens = counts[:, 0]
    d_k = counts[:, 1:]                       # (T, k)
    d = d_k.sum(axis=1)
    n_risk = n - np.concatenate(([0.0], np.cumsum(counts.sum(axis=1))[:-1]))
    haz = d / n_risk
    surv = np.cumprod(1.0 - haz)
    s_prev = np.concatenate(([1.0], surv[:-1]))
    inc = s_prev[:, None] * d_k / n_risk[:, None]
    cif = np.cumsum(inc, axis=0)              # (T, k)

    # influence of a subject still at risk after time j (a: on S, b: on F_c)
    a = np.empty(nt)
    b = np.empty((nt, k))
    a_prev, b_prev = 0.0, np.zeros(k)
    for j in range(nt):
        nj = n_risk[j]
        a_j = a_prev * (1.0 - haz[j]) + s_prev[j] * haz[j] / nj
        b_j = b_prev + (a_prev - s_prev[j] / nj) * d_k[j] / nj
        a[j], b[j] = a_j, b_j
        a_prev, b_prev = a_j, b_j
    a_before = np.concatenate(([0.0], a[:-1]))
    b_before = np.vstack((np.zeros((1, k)), b[:-1]))

    # exits at time j: censored (value = at-risk path at j), or an event of cause c
    sq_s = np.zeros(nt)                       # sum m (alpha/S_j)^2
    sq_s0 = np.zeros(nt)                      # sum m alpha^2 for exits where S_j = 0
    c00 = np.zeros((nt, k))
    c01 = np.zeros((nt, k))
    c11 = np.zeros((nt, k))
    pos = surv > 0
    safe_s = np.where(pos, surv, 1.0)
    classes: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = [(n_cens, a, b)]
    for c in range(k):
        alpha = (a_before - s_prev / n_risk) * (1.0 - haz)
        beta = b_before + (a_before - s_prev / n_risk)[:, None] * d_k / n_risk[:, None]
        beta[:, c] += s_prev / n_risk
        classes.append((d_k[:, c], alpha, beta))
    for m, alpha, beta in classes:
        c1 = np.where(pos, alpha / safe_s, 0.0)
        c0 = beta - (c1 * np.where(pos, 1.0, 0.0))[:, None] * cif
        sq_s += m * c1 * c1
        sq_s0 += np.where(pos, 0.0, m * alpha * alpha)
        c00 += m[:, None] * c0 * c0
        c01 += m[:, None] * c0 * c1[:, None]
        c11 += m[:, None] * (c1 * c1)[:, None]
    remaining = n_risk - d - n_cens
    var_s = surv ** 2 * np.cumsum(sq_s) + np.cumsum(sq_s0) + remaining * a ** 2
    var_f = (np.cumsum(c00, axis=0) + 2 * cif * np.cumsum(c01, axis=0)
             + cif ** 2 * np.cumsum(c11, axis=0) + remaining[:, None] * b ** 2)
    pstate = np.column_stack((surv, cif))
    std_err = np.sqrt(np.maximum(np.column_stack((var_s, var_f)), 0.0))
    n_event = np.column_stack((d, d_k))
    return _Curve(n=n, time=ut, n_risk=n_risk, n_censor=n_cens, n_event=n_event, pstate=pstate,
                  std_err=std_err, last_time=float(ut[-1]))


@dataclass(frozen=True)
class CumulativeIncidence:
    """Aalen–Johansen cumulative incidence of each cause, per group.

    ``causes`` are the codes 1..k; in ``table`` and ``at()`` cause 0 is the event-free state
    (probability of no event yet, R's ``"(s0)"``). ``groups`` is ``(None,)`` when ungrouped.
    ``std_err`` is the infinitesimal-jackknife SE on the probability scale; ``lower``/``upper`` are
    95% ``log`` limits (upper capped at 1, NaN where the estimate is 0).
    """

    causes: tuple[int, ...]
    groups: tuple[Any, ...]
    _curves: tuple[_Curve, ...]

    @property
    def grouped(self) -> bool:
        return self.groups != (None,)

    def _frame(self, gi: int, t: np.ndarray, idx: np.ndarray, n_risk: np.ndarray,
               extra: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
        cv = self._curves[gi]
        k1 = len(self.causes) + 1
        valid = idx >= 0
        ii = np.where(valid, idx, 0)
        p = np.where(valid[:, None], cv.pstate[ii], np.eye(1, k1)[0])
        se = np.where(valid[:, None], cv.std_err[ii], 0.0)
        lo, up = _log_limits(p, se)
        nt = len(t)
        cols: dict[str, Any] = {}
        if self.grouped:
            cols["group"] = np.repeat(np.array([self.groups[gi]], dtype=object), nt * k1)
        cols["time"] = np.repeat(t, k1)
        if extra:
            for name, v in extra.items():
                cols[name] = np.repeat(v, k1) if v.ndim == 1 else v.ravel()
        cols.update(cause=np.tile(np.arange(k1), nt), estimate=p.ravel(), std_err=se.ravel(),
                    lower=lo.ravel(), upper=up.ravel(), n_risk=np.repeat(n_risk, k1))
        return pd.DataFrame(cols)

    @property
    def table(self) -> pd.DataFrame:
        """Every distinct time of each group: ``[group,] time, n_risk, n_censor, cause, n_event,
        estimate, std_err, lower, upper`` (cause 0: event-free state, ``n_event`` = any cause)."""
        parts = []
        for gi, cv in enumerate(self._curves):
            f = self._frame(gi, cv.time, np.arange(len(cv.time)), cv.n_risk,
                            {"n_censor": cv.n_censor, "n_event": cv.n_event})
            parts.append(f)
        out = pd.concat(parts, ignore_index=True)
        lead = ["group"] if self.grouped else []
        return out[[*lead, *TABLE_COLUMNS]]

    def at(self, times: Any) -> pd.DataFrame:
        """Estimates at ``times`` (as R ``summary(fit, times, extend = TRUE)``).

        Columns ``[group,] time, cause, estimate, std_err, lower, upper, n_risk``; one row per
        (group, time, cause) with cause 0 the event-free state. Before the first time the estimate
        is the starting state; beyond a group's last time the last values are carried forward and
        ``n_risk`` (the number with time >= t) is 0.
        """
        reject_text("times", times)
        t = as_float_array("times", np.atleast_1d(np.asarray(times, dtype=float)))
        if (t < 0).any():
            raise ValueError(f"times: negative time {t[t < 0][0]!r}")
        parts = []
        for gi, cv in enumerate(self._curves):
            idx = np.searchsorted(cv.time, t, side="right") - 1
            at_risk_pos = np.searchsorted(cv.time, t, side="left")
            cum_leave = np.concatenate(([0.0], np.cumsum(cv.n_censor + cv.n_event[:, 0])))
            n_risk = cv.n - cum_leave[at_risk_pos]
            parts.append(self._frame(gi, t, idx, n_risk))
        out = pd.concat(parts, ignore_index=True)
        lead = ["group"] if self.grouped else []
        return out[[*lead, *AT_COLUMNS]]

    def to_frame(self) -> pd.DataFrame:
        """The full step table (same as :attr:`table`)."""
        return self.table

    def __repr__(self) -> str:
        head = (f"Cumulative incidence (Aalen–Johansen), causes {list(self.causes)}"
                + (f", groups {list(self.groups)}" if self.grouped else "")
                + "; n = " + ", ".join(str(c.n) for c in self._curves))
        return frame_repr(head, self.table)


def _check_common(time: Any, status: Any) -> tuple[np.ndarray, np.ndarray, int]:
    t = as_times("time", time)
    raw = as_float_array("status", status)
    bad = (raw != np.round(raw)) | (raw < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"status: value {raw[i]!r} at position {i}; expected 0 (censored) or a "
                         "cause code 1, 2, ...")
    k = int(raw.max()) if len(raw) else 0
    s = as_status("status", raw, max_code=max(k, 1))
    return t, s, k


def cumulative_incidence(time: Any, status: Any, *, group: Any = None) -> CumulativeIncidence:
    """Aalen–Johansen cumulative incidence of causes 1..k (status 0 = censored).

    Causes are the codes 1..max(status); a code with no events has a zero curve. With ``group``,
    one independent fit per group (levels: categories of a Categorical, else sorted values).
    """
    t, s, k = _check_common(time, status)
    if k == 0:
        raise ValueError("status: no events (all 0 = censored); nothing to estimate")
    if group is None:
        check_same_length(time=t, status=s)
        return CumulativeIncidence(causes=tuple(range(1, k + 1)), groups=(None,),
                                   _curves=(_aalen_johansen(t, s, k),))
    codes, levels = as_groups("group", group)
    check_same_length(time=t, status=s, group=codes)
    curves = []
    for gi, lev in enumerate(levels):
        sel = codes == gi
        if not sel.any():
            raise ValueError(f"group: level {lev!r} has no observations")
        curves.append(_aalen_johansen(t[sel], s[sel], k))
    return CumulativeIncidence(causes=tuple(range(1, k + 1)), groups=tuple(levels),
                               _curves=tuple(curves))


@dataclass(frozen=True)
class GrayTest:
    """Gray's K-sample test for the cumulative incidence of ``cause`` across ``groups``."""

    cause: int
    groups: tuple[Any, ...]
    statistic: float
    df: int
    p_value: float
    score: np.ndarray      # (K-1,) scores of the first K-1 groups
    variance: np.ndarray   # (K-1, K-1)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"cause": [self.cause], "statistic": [self.statistic],
                             "df": [self.df], "p_value": [self.p_value]})

    def __repr__(self) -> str:
        return (f"GrayTest(cause={self.cause}, groups={list(self.groups)}, "
                f"statistic={self.statistic:.6g}, df={self.df}, p_value={self.p_value:.6g})")


def _gray_scores(time: np.ndarray, mark: np.ndarray, codes: np.ndarray, ng: int, rho: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Score vector and variance of Gray's test in one stratum (cmprsk ``crst``).

    ``mark``: 0 censored, 1 the cause of interest, 2 another cause.
    """
    ng1 = ng - 1
    ut, inv = np.unique(time, return_inverse=True)
    cnt = np.zeros((len(ut), 3, ng))
    np.add.at(cnt, (inv, mark, codes), 1.0)
    rs = np.bincount(codes, minlength=ng).astype(float)
    s = np.zeros(ng1)
    v = np.zeros((ng1, ng1))
    v2 = np.zeros((ng1, ng))
    v3 = np.zeros(ng)
    c = np.zeros((ng, ng))
    f1m = np.zeros(ng)
    skmm = np.ones(ng)
    skm = np.ones(ng)
    f1 = np.zeros(ng)
    fm = 0.0
    for j in range(len(ut)):
        d0, d1, d2 = cnt[j]
        nd1, nd2 = d1.sum(), d2.sum()
        if nd1 > 0 or nd2 > 0:
            live = rs > 0
            skm = np.where(live, skmm * (rs - d1 - d2) / np.where(live, rs, 1.0), skm)
            f1 = np.where(live, f1m + skmm * d1 / np.where(live, rs, 1.0), f1)
            # R_r / S_r(t-) per group; a group with nobody left (S_r(t-) may be 0 there)
            # contributes 0, without evaluating 0 / 0
            h = np.where(live, rs / np.where(live, skmm, 1.0), 0.0)
            tr = h.sum()
            tq = (h * (1 - f1m)).sum()
            f = fm + nd1 / tr
            fb = (1 - fm) ** rho
            a = -fb * np.outer(h, h) / tr
            a[np.diag_indices(ng)] = np.where(live, fb * h * (1 - h / tr), 0.0)
            # cmprsk updates c only between groups still at risk; elsewhere a is 0 and the
            # factor may be 1 / 0 (once the pooled incidence reached 1), so mask, not multiply
            pair = np.outer(live, live)
            if nd1 > 0:
                with np.errstate(divide="ignore", invalid="ignore"):  # as cmprsk (IEEE)
                    c[pair] += (a * (nd1 / (tr * (1 - fm))))[pair]
            s += np.where(live[:ng1], fb * (d1[:ng1] - nd1 * h[:ng1] * (1 - f1m[:ng1]) / tq), 0.0)
            if nd1 > 0:
                for kk in np.flatnonzero(live):
                    t4 = 1 - (1 - f) / skm[kk] if skm[kk] > 0 else 1.0
                    t5 = 1 - (nd1 - 1) / (tr * skmm[kk] - 1) if nd1 > 1 else 1.0
                    t3 = t5 * skmm[kk] * nd1 / (tr * rs[kk])
                    v3[kk] += t4 * t4 * t3
                    t1 = a[:ng1, kk] - t4 * c[:ng1, kk]
                    v2[:, kk] += t1 * t4 * t3
                    v += np.outer(t1, t1) * t3
            if nd2 > 0:
                for kk in np.flatnonzero((skm > 0) & (d2 > 0)):
                    t4 = (1 - f) / skm[kk]
                    t5 = 1 - (d2[kk] - 1) / (rs[kk] - 1) if d2[kk] > 1 else 1.0
                    t3 = t5 * skmm[kk] ** 2 * d2[kk] / rs[kk] ** 2
                    v3[kk] += t4 * t4 * t3
                    t1 = t4 * c[:ng1, kk]
                    v2[:, kk] -= t1 * t4 * t3
                    v += np.outer(t1, t1) * t3
            fm = f
        rs = rs - d0 - d1 - d2
        f1m = f1.copy()
        skmm = skm.copy()
    cc = c[:ng1]
    v = v + (cc * v3) @ cc.T + cc @ v2.T + v2 @ cc.T
    return s, v


def gray_test(time: Any, status: Any, group: Any, *, cause: int = 1) -> GrayTest:
    """Gray's test (rho = 0) that the cumulative incidence of ``cause`` is equal across groups.

    Equal to ``cmprsk::cuminc(time, status, group, cencode = 0)$Tests[cause, ]``. Status 0 is
    censored; every code other than 0 and ``cause`` is a competing event. The statistic is
    chi-square on (number of groups - 1) df. When the variance matrix is singular (cmprsk: not of
    full rank, and a statistic of -1 with p = 1) it raises ``NotTestableError``.
    """
    t, s, _ = _check_common(time, status)
    codes, levels = as_groups("group", group)
    check_same_length(time=t, status=s, group=codes)
    if not isinstance(cause, int | np.integer) or cause < 1:
        raise ValueError(f"cause: expected a cause code >= 1, got {cause!r}")
    if not (s == cause).any():
        raise ValueError(f"cause: no events with status {cause}")
    counts = np.bincount(codes, minlength=len(levels))
    if (counts == 0).any():
        lev = levels[int(np.flatnonzero(counts == 0)[0])]
        raise ValueError(f"group: level {lev!r} has no observations")
    ng = len(levels)
    if ng < 2:
        raise ValueError(f"group: at least two groups are needed, got {list(levels)}")
    mark = np.where(s == 0, 0, np.where(s == cause, 1, 2))
    score, var = _gray_scores(t, mark, codes, ng, 0.0)
    # cmprsk inverts V only when qr(V) has full rank (tolerance 1e-7) and otherwise reports the
    # statistic -1 with p = 1; here that is a test that cannot be computed
    sv = np.linalg.svd(var, compute_uv=False) if np.isfinite(var).all() else np.array([np.nan])
    if not (np.isfinite(sv).all() and sv[0] > 0 and sv[-1] > 1e-7 * sv[0]):
        raise NotTestableError(f"Gray's test (cause {cause}): the variance matrix is singular; "
                               "the groups cannot be compared (cmprsk reports a statistic of -1)")
    stat = float(score @ np.linalg.solve(var, score))
    return GrayTest(cause=int(cause), groups=tuple(levels), statistic=stat, df=ng - 1,
                    p_value=float(sps.chi2.sf(stat, ng - 1)), score=score, variance=var)
