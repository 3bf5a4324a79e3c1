"""Kaplan–Meier estimation equal to R ``survival::survfit`` (survival 3.5).

``kaplan_meier(time, event)`` returns a frozen :class:`KaplanMeier`: the step table (one row per
distinct time, censoring-only times included), pointwise confidence limits (``log-log``, ``log`` or
``plain``), and on demand the value at chosen times (:meth:`KaplanMeier.at`, as
``summary(fit, times, extend = TRUE)``), the median as R prints it, quantiles as R ``quantile()``,
and the restricted mean survival time as ``print(fit, rmean = tau)``.

Deliberate differences from R (see ``docs/statistics.md``): times are used exactly as given (R's
``timefix`` merges times that differ only by floating-point noise), and observations with weight 0
are dropped before fitting.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.special import ndtri

from poems_cohort.stats import _km_kernel as kernel
from poems_cohort.stats._common import (
    as_binary_status,
    as_group_codes,
    as_number,
    as_times,
    as_weights,
    check_same_length,
    frame_repr,
    reject_text,
)

ConfType = Literal["log-log", "log", "plain"]
CONF_TYPES: tuple[str, ...] = ("log-log", "log", "plain")
#: R's tolerance for "S equals p" in the median and quantile rules (``sqrt(.Machine$double.eps)``)
R_TOLERANCE = float(np.sqrt(np.finfo(np.float64).eps))

TABLE_COLUMNS = ("time", "n_risk", "n_event", "n_censor", "surv", "std_err", "se_surv", "lower",
                 "upper")
AT_COLUMNS = ("time", "n_risk", "n_event", "n_censor", "surv", "se_surv", "lower", "upper")


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    a.flags.writeable = False
    return a


def check_conf(conf_level: float, conf_type: str) -> float:
    """Checks the confidence settings; returns the two-sided normal quantile."""
    if conf_type not in CONF_TYPES:
        raise ValueError(f"conf_type: {conf_type!r} is not one of {list(CONF_TYPES)}")
    if not (isinstance(conf_level, int | float) and 0 < float(conf_level) < 1):
        raise ValueError(f"conf_level: {conf_level!r}; expected a number strictly between 0 and 1")
    return float(ndtri(1 - (1 - float(conf_level)) / 2))


def confidence_limits(surv: np.ndarray, std_err: np.ndarray, *, log_scale: bool, conf_type: str,
                      z: float) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise limits as R ``survfit_confint`` (``ulimit = TRUE``).

    ``std_err`` is the SE of −log S when ``log_scale`` else the SE of S. ``log`` caps the upper
    limit at 1, ``plain`` clips to [0, 1], ``log-log`` is undefined (NaN) where S is 0 or 1 and
    ``log`` where S is 0: a property of the transforms, not a failure.
    """
    p = np.asarray(surv, dtype=np.float64)
    se = np.asarray(std_err, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        if not log_scale:
            se = np.where(se == 0, 0.0, se / p)
        if conf_type == "plain":
            se2 = se * p * z
            return np.maximum(p - se2, 0.0), np.minimum(p + se2, 1.0)
        if conf_type == "log":
            xx = np.where(p == 0, np.nan, p)
            se2 = z * se
            return np.exp(np.log(xx) - se2), np.minimum(np.exp(np.log(xx) + se2), 1.0)
        xx = np.where((p == 0) | (p == 1), np.nan, p)
        se2 = z * se / np.log(xx)
        lll = np.log(-np.log(xx))
        return np.exp(-np.exp(lll - se2)), np.exp(-np.exp(lll + se2))


def _fmt(x: float) -> str:
    """Number for a repr; NaN reads "not reached"."""
    return "not reached" if np.isnan(x) else f"{x:g}"


def _minmin(y: np.ndarray, x: np.ndarray) -> float:
    """R ``survmean``'s median rule: the first time S < 0.5 (+ tolerance), or the midpoint of a
    flat stretch at exactly 0.5 and the next time the curve is lower."""
    keep = ~np.isnan(y) & (y < 0.5 + R_TOLERANCE)
    if not keep.any():
        return float("nan")
    xk, yk = x[keep], y[keep]
    if abs(yk[0] - 0.5) < R_TOLERANCE:
        lower = np.flatnonzero(yk < yk[0])
        if lower.size:
            return float((xk[0] + xk[lower[0]]) / 2)
    return float(xk[0])


def _findq(x: np.ndarray, y: np.ndarray, probs: np.ndarray, tol: float) -> np.ndarray:
    """R ``quantile.survfit``'s ``findq``: where ``y`` (a CDF, with NaN allowed) crosses each
    probability, with the midpoint rule on flat stretches and at the end of the curve."""
    out = np.full(len(probs), np.nan)
    finite = y[~np.isnan(y)]
    if finite.size == 0 or finite.max() < probs.min():
        return out
    xmax = x[-1]
    # drop repeated y values (censoring rows); NaN repeats count as duplicates, as in R
    _, first = np.unique(np.where(np.isnan(y), np.inf, y), return_index=True)
    first.sort()
    x, y = x[first], y[first]
    n = len(y)
    index = np.arange(1, n + 1, dtype=np.float64)

    def approx_constant_right(xs: np.ndarray, v: np.ndarray) -> np.ndarray:
        ok = ~np.isnan(xs)
        xs_ok, ys_ok = xs[ok], index[ok]
        order = np.argsort(xs_ok, kind="stable")
        xs_ok, ys_ok = xs_ok[order], ys_ok[order]
        j = np.searchsorted(xs_ok, v, side="left")
        inside = (v >= xs_ok[0]) & (v <= xs_ok[-1])
        res = np.full(len(v), np.nan)
        res[inside] = ys_ok[j[inside]]
        return res

    i1 = approx_constant_right(y + tol, probs)
    i2 = approx_constant_right(y - tol, probs)
    for k in range(len(probs)):
        if not (np.isnan(i1[k]) or np.isnan(i2[k])):
            out[k] = (x[int(i1[k]) - 1] + x[int(i2[k]) - 1]) / 2
    out[probs == 0] = x[0]
    if not np.isnan(y[-1]):
        for k in np.flatnonzero(np.abs(probs - y[-1]) < tol):  # type: ignore[assignment]
            out[k] = (x[int(i1[k]) - 1] + xmax) / 2 if not np.isnan(i1[k]) else np.nan
    return out


@dataclass(frozen=True, repr=False)
class SurvivalSummary:
    """A point estimate with its confidence interval (a median, or a median follow-up time).

    ``NaN`` means "not reached": the curve (or its limit) never falls below the probability.
    """

    estimate: float
    lower: float
    upper: float
    conf_level: float
    conf_type: str
    label: str = "median"

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"estimate": [self.estimate], "lower": [self.lower],
                             "upper": [self.upper]}, index=[self.label])

    def __repr__(self) -> str:
        pct = f"{100 * self.conf_level:g}%"
        return (f"{self.label}: {_fmt(self.estimate)} ({pct} CI {_fmt(self.lower)} to "
                f"{_fmt(self.upper)}, {self.conf_type})")


@dataclass(frozen=True, repr=False)
class RestrictedMean:
    """Restricted mean survival time up to ``tau`` (the area under S on [0, tau]) and its SE."""

    tau: float
    estimate: float
    std_err: float

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"tau": [self.tau], "estimate": [self.estimate],
                             "std_err": [self.std_err]})

    def __repr__(self) -> str:
        return f"RMST up to {self.tau:g}: {self.estimate:g} (SE {self.std_err:g})"


@dataclass(frozen=True, repr=False)
class SurvivalCurve:
    """Plotting data: the step function with its start point (time 0, S = 1, limits 1).

    Draw as a right-continuous step (``where="post"``). Limits are NaN where the transform is
    undefined (log-log at S = 1, log and log-log at S = 0).
    """

    time: np.ndarray
    surv: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"time": self.time, "surv": self.surv, "lower": self.lower,
                             "upper": self.upper})

    def __repr__(self) -> str:
        return frame_repr(f"SurvivalCurve ({len(self.time)} points)", self.to_frame())


@dataclass(frozen=True, repr=False, eq=False)
class KaplanMeier:
    """A fitted Kaplan–Meier curve (R ``survfit(Surv(time, event) ~ 1)``).

    Columns of :attr:`table` (one row per distinct time): ``time, n_risk, n_event, n_censor, surv,
    std_err, se_surv, lower, upper``. ``std_err`` is R's ``std.err``: the SE of −log S (Greenwood)
    when :attr:`std_err_scale` is ``"log"``, the infinitesimal-jackknife SE of S when it is
    ``"surv"`` (robust fits). ``se_surv`` is always the SE of S. Counts are weighted for weighted
    fits. Calling the object, ``km(t)``, gives S(t) (right-continuous, 1 before the first time and
    the last value after the last time); t < 0 is refused.
    """

    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    surv: np.ndarray
    std_err: np.ndarray
    se_surv: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    cumhaz: np.ndarray
    std_chaz: np.ndarray
    n: int
    events: int
    conf_level: float
    conf_type: str
    std_err_scale: Literal["log", "surv"]
    weighted: bool
    robust: bool
    start_time: float = 0.0

    # ------------------------------------------------------------------ tables
    @property
    def table(self) -> pd.DataFrame:
        """The step table (see the class docstring)."""
        return pd.DataFrame({c: getattr(self, c) for c in TABLE_COLUMNS})

    def to_frame(self) -> pd.DataFrame:
        """Same as :attr:`table`."""
        return self.table

    def __repr__(self) -> str:
        med = self.median()
        title = (f"KaplanMeier: n={self.n}, events={self.events}, {len(self.time)} distinct times, "
                 f"{self.conf_type} {100 * self.conf_level:g}% CI, "
                 f"median {_fmt(med.estimate)} ({_fmt(med.lower)} to {_fmt(med.upper)})")
        return frame_repr(title, self.table)

    @property
    def curve(self) -> SurvivalCurve:
        """Plotting data with the start point (time 0, S = 1)."""
        start = min(self.start_time, float(self.time[0])) if len(self.time) else self.start_time
        return SurvivalCurve(time=_readonly(np.r_[start, self.time]),
                             surv=_readonly(np.r_[1.0, self.surv]),
                             lower=_readonly(np.r_[1.0, self.lower]),
                             upper=_readonly(np.r_[1.0, self.upper]))

    # ------------------------------------------------------------------ evaluation
    def _row_at(self, t: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.time, t, side="right") - 1

    def __call__(self, t: Any) -> Any:
        """S(t), right-continuous; scalar in, float out."""
        scalar = np.ndim(t) == 0
        tt = _check_eval_times("t", t)
        idx = self._row_at(tt)
        out = np.where(idx < 0, 1.0, self.surv[np.maximum(idx, 0)])
        return float(out[0]) if scalar else out

    def at(self, times: Any) -> pd.DataFrame:
        """Values at chosen times, as R ``summary(fit, times, extend = TRUE)``.

        Times are sorted (as R does). ``n_risk`` is the number still at risk at t (time ≥ t),
        ``n_event`` and ``n_censor`` count what happened in (previous time, t]; past the last
        observed time ``n_risk`` is 0 and S, its SE and limits are carried forward.
        ``se_surv`` is the SE of S.
        """
        tt = np.sort(_check_eval_times("times", times))
        idx = self._row_at(tt)
        before = idx < 0
        safe = np.maximum(idx, 0)
        surv = np.where(before, 1.0, self.surv[safe])
        se = np.where(before, 0.0, self.se_surv[safe])
        lower = np.where(before, 1.0, self.lower[safe])
        upper = np.where(before, 1.0, self.upper[safe])
        first_at_or_after = np.searchsorted(self.time, tt, side="left")
        risk_padded = np.r_[self.n_risk, np.zeros(1, dtype=self.n_risk.dtype)]
        n_risk = risk_padded[first_at_or_after]
        cum_event = np.r_[0, np.cumsum(self.n_event)]
        cum_censor = np.r_[0, np.cumsum(self.n_censor)]
        upto = idx + 1
        prev = np.r_[0, upto[:-1]]
        return pd.DataFrame({
            "time": tt, "n_risk": n_risk,
            "n_event": cum_event[upto] - cum_event[prev],
            "n_censor": cum_censor[upto] - cum_censor[prev],
            "surv": surv, "se_surv": se, "lower": lower, "upper": upper,
        })

    # ------------------------------------------------------------------ summaries
    def median(self) -> SurvivalSummary:
        """The median and its limits as R prints them (``survmean``): the first time S < 0.5, or
        the midpoint of a flat stretch at exactly 0.5; the limits apply the same rule to the
        lower and upper curves. NaN when not reached."""
        return SurvivalSummary(estimate=_minmin(self.surv, self.time),
                               lower=_minmin(self.lower, self.time),
                               upper=_minmin(self.upper, self.time),
                               conf_level=self.conf_level, conf_type=self.conf_type)

    def quantile(self, probs: Any = (0.25, 0.5, 0.75)) -> pd.DataFrame:
        """Times where 1 − S reaches each probability, as R ``quantile(fit, probs)``.

        Columns ``probability, estimate, lower, upper``; ``lower`` comes from the lower limit
        curve. NaN when not reached. At the very end of a curve at exactly 1 − p this gives the
        midpoint with the last time, where :meth:`median` gives the time itself (as in R).
        """
        reject_text("probs", probs)
        p = np.atleast_1d(np.asarray(probs, dtype=np.float64))
        if p.ndim != 1 or np.isnan(p).any() or ((p < 0) | (p > 1)).any():
            raise ValueError(f"probs: {probs!r}; expected probabilities in [0, 1]")
        x = np.r_[self.start_time, self.time]
        return pd.DataFrame({
            "probability": p,
            "estimate": _findq(x, np.r_[0.0, 1 - self.surv], p, R_TOLERANCE),
            "lower": _findq(x, np.r_[0.0, 1 - self.lower], p, R_TOLERANCE),
            "upper": _findq(x, np.r_[0.0, 1 - self.upper], p, R_TOLERANCE),
        })

    def rmst(self, tau: float) -> RestrictedMean:
        """Restricted mean survival time on [0, tau], as ``print(fit, rmean = tau)``.

        The SE is R's: ``sqrt(Σ_{t_i ≤ tau} A_i² d_i / (n_i (n_i − d_i)))`` with ``A_i`` the area
        under S from ``t_i`` to tau. Past the last time S is held flat up to tau.
        """
        tau_f = as_number("tau", tau)
        if not np.isfinite(tau_f) or tau_f < 0:
            raise ValueError(f"tau: {tau!r}; expected a finite time ≥ 0")
        keep = self.time <= tau_f
        n = self.n_risk[keep].astype(np.float64)
        d = self.n_event[keep].astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            hh = np.where(n - d == 0, 0.0, d / (n * (n - d)))
        t = np.r_[self.time[keep], tau_f]
        s_left = np.r_[1.0, self.surv[keep]]  # S on each interval [t_{k-1}, t_k)
        rect = np.diff(np.r_[self.start_time, t]) * s_left
        area_after = np.cumsum(rect[::-1])[::-1][1:]  # area from each t_i to tau
        var = float(np.sum(area_after**2 * hh))
        return RestrictedMean(tau=tau_f, estimate=float(rect.sum()), std_err=float(np.sqrt(var)))


def _check_eval_times(name: str, values: Any) -> np.ndarray:
    reject_text(name, values)
    try:
        arr = np.atleast_1d(np.asarray(values, dtype=np.float64))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected numbers, got {values!r:.80}") from exc
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a number or a 1-D array, got shape {arr.shape}")
    if np.isnan(arr).any():
        raise ValueError(f"{name}: missing (NaN) value at position {int(np.flatnonzero(np.isnan(arr))[0])}")
    neg = arr < 0
    if neg.any():
        i = int(np.flatnonzero(neg)[0])
        raise ValueError(f"{name}: negative time {float(arr[i])!r} at position {i}; the curve starts at 0")
    return arr


def _check_km_inputs(time: Any, event: Any, weights: Any, group: Any = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None,
                                tuple[Any, ...]]:
    t = as_times("time", time)
    e = as_binary_status("event", event)
    g, levels = (None, ()) if group is None else as_group_codes("group", group)
    arrays = {"time": t, "event": e}
    if g is not None:
        arrays["group"] = g
    if weights is None:
        check_same_length(**arrays)
        return t, e, None, g, levels
    w = as_weights("weights", weights)
    check_same_length(**arrays, weights=w)
    positive = w > 0
    if not positive.any():
        raise ValueError("weights: all weights are 0")
    if not positive.all():
        t, e, w = t[positive], e[positive], w[positive]
        g = None if g is None else g[positive]
    return t, e, w, g, levels


def _fit(counts: kernel.KMCounts, *, n: int, events: int, weighted: bool, robust: bool,
         conf_level: float, conf_type: str, z: float) -> KaplanMeier:
    surv = kernel.km_survival(counts.n_risk, counts.n_event)
    cumhaz, std_chaz = kernel.nelson_aalen(counts.n_risk, counts.n_event)
    if robust:
        std_err = kernel.ij_survival_se(counts, surv)
        se_surv = std_err
        scale: Literal["log", "surv"] = "surv"
    else:
        std_err = kernel.greenwood_log_se(counts.n_risk, counts.n_event)
        with np.errstate(invalid="ignore"):
            se_surv = surv * std_err
        scale = "log"
    lower, upper = confidence_limits(surv, std_err, log_scale=not robust, conf_type=conf_type, z=z)
    return KaplanMeier(
        time=_readonly(counts.time), n_risk=_readonly(counts.n_risk),
        n_event=_readonly(counts.n_event), n_censor=_readonly(counts.n_censor),
        surv=_readonly(surv), std_err=_readonly(std_err), se_surv=_readonly(se_surv),
        lower=_readonly(lower), upper=_readonly(upper), cumhaz=_readonly(cumhaz),
        std_chaz=_readonly(std_chaz), n=n, events=events, conf_level=float(conf_level),
        conf_type=conf_type, std_err_scale=scale, weighted=weighted, robust=robust)


def _default_robust(robust: bool | None, w: np.ndarray | None) -> bool:
    if robust is None:
        return bool(w is not None and (w != np.floor(w)).any())
    return bool(robust)


def kaplan_meier(time: Any, event: Any, *, weights: Any = None, conf_level: float = 0.95,
                 conf_type: ConfType = "log-log", robust: bool | None = None) -> KaplanMeier:
    """Kaplan–Meier estimate equal to R ``survfit(Surv(time, event) ~ 1, conf.type = ...)``.

    ``weights`` are case weights. ``robust`` mirrors R: ``None`` means robust when some weight is
    not an integer (R's default), giving the infinitesimal-jackknife SE of S (``std_err_scale =
    "surv"``); ``False`` gives the (weighted) Greenwood SE of −log S. At a time with both events
    and censorings the censored subjects are still at risk (censoring after events). The
    cumulative hazard ``cumhaz`` is Nelson–Aalen and ``std_chaz`` its model-based SE.
    """
    z = check_conf(conf_level, conf_type)
    t, e, w, _, _ = _check_km_inputs(time, event, weights)
    rob = _default_robust(robust, w)
    counts = kernel.km_counts(t, e, w, squared_weights=rob)
    return _fit(counts, n=len(t), events=int(e.sum()), weighted=w is not None, robust=rob,
                conf_level=conf_level, conf_type=conf_type, z=z)


@dataclass(frozen=True, repr=False, eq=False)
class KaplanMeierGroups:
    """One :class:`KaplanMeier` per group, in level order; ``fits[label]`` or ``groups[i]``."""

    groups: tuple[Any, ...]
    fits: tuple[KaplanMeier, ...]

    def __getitem__(self, label: Any) -> KaplanMeier:
        try:
            return self.fits[self.groups.index(label)]
        except ValueError:
            raise KeyError(f"no group {label!r}; groups are {list(self.groups)}") from None

    def __iter__(self) -> Iterator[tuple[Any, KaplanMeier]]:
        return iter(zip(self.groups, self.fits, strict=True))

    def __len__(self) -> int:
        return len(self.groups)

    def to_frame(self) -> pd.DataFrame:
        """The step tables stacked, with a leading ``group`` column."""
        frames = [fit.table.assign(group=label) for label, fit in self]
        out = pd.concat(frames, ignore_index=True)
        return out[["group", *TABLE_COLUMNS]]

    def __repr__(self) -> str:
        lines = [f"KaplanMeierGroups ({len(self)} groups)"]
        for label, fit in self:
            med = fit.median()
            lines.append(f"  {label!s}: n={fit.n}, events={fit.events}, median "
                         f"{_fmt(med.estimate)} ({_fmt(med.lower)} to {_fmt(med.upper)})")
        return "\n".join(lines)


def kaplan_meier_by_group(time: Any, event: Any, group: Any, *, weights: Any = None,
                          conf_level: float = 0.95, conf_type: ConfType = "log-log",
                          robust: bool | None = None) -> KaplanMeierGroups:
    """:func:`kaplan_meier` for each group (R ``survfit(Surv(time, event) ~ group)``), from one
    pass over the data; each fit equals ``kaplan_meier`` on that group's rows. Groups are in R's
    factor order (a Categorical's categories, else the sorted values); an empty level is an
    error. ``robust=None`` decides once for all groups (robust if any weight is not an integer).
    """
    z = check_conf(conf_level, conf_type)
    t, e, w, g, levels = _check_km_inputs(time, event, weights, group)
    assert g is not None
    k = len(levels)
    sizes = np.bincount(g, minlength=k)
    if (sizes == 0).any():
        empty = [levels[i] for i in np.flatnonzero(sizes == 0)]
        raise ValueError(f"group: no observations in level(s) {empty}")
    events = np.bincount(g, weights=e, minlength=k)
    rob = _default_robust(robust, w)
    counts = kernel.km_counts_by_group(t, e, g, k, w, squared_weights=rob)
    fits = tuple(_fit(c, n=int(sizes[j]), events=int(round(events[j])), weighted=w is not None,
                      robust=rob, conf_level=conf_level, conf_type=conf_type, z=z)
                 for j, c in enumerate(counts))
    return KaplanMeierGroups(groups=tuple(levels), fits=fits)
