"""Cox proportional hazards regression, equal to R's ``survival::coxph`` and ``cox.zph``.

``cox_ph`` checks and prepares the data (factor expansion, strata, weights) and maximises the log
partial likelihood by Newton–Raphson. It first repeats R's own iterations (``coxfit6``: the same
stopping rule, a relative log-likelihood change of 1e-9, and the same step-back), then, for a
finite fit, goes on to the true maximum (tighter than R): it stops when the next Newton step is
below 1e-11 relative and applies that step without a further evaluation. For a monotone likelihood
(an infinite coefficient) it stops where R stops, so the log-likelihood and tests are R's. The
computing core is ``_cox_kernel``, written for speed (``benchmarks/bench_cox.py`` times it against
lifelines) and free of overflow however far x beta spans.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats as sps

from poems_cohort.stats import _cox_kernel as K
from poems_cohort.stats._common import (
    as_float_array,
    as_groups,
    as_status,
    as_times,
    as_weights,
    check_same_length,
    frame_repr,
)

__all__ = ["ChiSquareTest", "CoxResult", "ProportionalHazardsTest", "cox_ph"]

_Z975 = float(sps.norm.ppf(0.975))


class FitWithoutDataError(RuntimeError):
    """A test that needs the fitted data was asked of a fit returned without it (the two fits
    of an interaction test). Not a ``ValueError``: callers that treat a ``ValueError`` of a
    test as "not computable for these data" must not mistake it for one."""


@dataclass(frozen=True)
class ChiSquareTest:
    """A chi-square test: ``statistic`` on ``df`` degrees of freedom, upper-tail ``p_value``."""

    statistic: float
    df: int
    p_value: float

    @classmethod
    def of(cls, statistic: float, df: int) -> ChiSquareTest:
        return cls(float(statistic), int(df), float(sps.chi2.sf(statistic, df)))

    def __repr__(self) -> str:
        return f"ChiSquareTest(statistic={self.statistic:.6g}, df={self.df}, p_value={self.p_value:.6g})"


@dataclass(frozen=True)
class _FitData:
    """What the on-demand diagnostics need; not part of the public result."""

    prepared: K.Prepared
    term_columns: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class ProportionalHazardsTest:
    """Score test of proportional hazards per term and globally (R ``cox.zph(terms = TRUE)``)."""

    transform: str
    terms: tuple[str, ...]
    statistic: np.ndarray
    df: np.ndarray
    p_value: np.ndarray
    global_test: ChiSquareTest

    def to_frame(self) -> pd.DataFrame:
        """One row per term then ``GLOBAL``; columns ``statistic, df, p_value``."""
        return pd.DataFrame(
            {"statistic": np.append(self.statistic, self.global_test.statistic),
             "df": np.append(self.df, self.global_test.df).astype(int),
             "p_value": np.append(self.p_value, self.global_test.p_value)},
            index=pd.Index([*self.terms, "GLOBAL"], name="term"))

    def __repr__(self) -> str:
        return frame_repr(f"Proportional hazards test (transform={self.transform!r})",
                          self.to_frame())


@dataclass(frozen=True)
class CoxResult:
    """A fitted Cox model. Arrays are per coefficient, in ``names`` order.

    ``se`` is the model-based standard error; with ``robust=True`` the sandwich ``robust_se`` is also
    given and ``var``, ``z``, ``p_value``, the confidence limits and the Wald test use it (as R).
    """

    names: tuple[str, ...]
    terms: tuple[str, ...]
    coef: np.ndarray
    se: np.ndarray
    robust_se: np.ndarray | None
    exp_coef: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    z: np.ndarray
    p_value: np.ndarray
    var: np.ndarray
    naive_var: np.ndarray
    loglik_null: float
    loglik: float
    wald_test: ChiSquareTest
    likelihood_ratio_test: ChiSquareTest
    score_test: ChiSquareTest
    robust_score_test: ChiSquareTest | None
    n: int
    n_events: int
    ties: str
    strata: tuple[Any, ...]
    iterations: int
    converged: bool
    warnings: tuple[str, ...]
    #: the prepared data the diagnostics read; None in a fit returned without it (the fits of
    #: :func:`~poems_cohort.stats.cox_interaction_test`, which would otherwise hold a sorted
    #: copy of the data each)
    _data: _FitData | None = field(repr=False, compare=False)
    #: the coefficients that may be infinite when the fit did not converge (monotone
    #: likelihood), by the rule of the warning; empty when it converged
    infinite: tuple[str, ...] = ()
    #: the coefficients R's ``coxph`` gives as NA (the information matrix singular in their
    #: column: the events carry no information on them beyond the other covariates): NaN here,
    #: left out of the tests' degrees of freedom and of :meth:`proportional_hazards_test`
    singular: tuple[str, ...] = ()
    #: the coefficients the events carry no information on at beta = 0 (R's rule there):
    #: ``singular`` when the fit converged; when it ran out of iterations R marks no NA, and
    #: these stay 0 (not estimates: an arm never at risk at an event, say)
    no_information: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """Coefficients table: ``coef, exp_coef, se, robust_se, z, p_value, lower, upper``.

        ``lower``/``upper`` are the 95% limits of the hazard ratio ``exp_coef``; ``robust_se`` is NaN
        unless the fit is robust.
        """
        rse = self.robust_se if self.robust_se is not None else np.full(len(self.coef), np.nan)
        return pd.DataFrame(
            {"coef": self.coef, "exp_coef": self.exp_coef, "se": self.se, "robust_se": rse,
             "z": self.z, "p_value": self.p_value, "lower": self.lower, "upper": self.upper},
            index=pd.Index(self.names, name="term"))

    def __repr__(self) -> str:
        head = (f"Cox model ({self.ties} ties{', robust SE' if self.robust_se is not None else ''}"
                f"{', stratified' if len(self.strata) > 1 else ''}): n={self.n}, "
                f"events={self.n_events}, loglik={self.loglik:.6f} (null {self.loglik_null:.6f}), "
                f"converged={self.converged} in {self.iterations} iterations\n"
                f"  LR {self.likelihood_ratio_test!r}\n  Wald {self.wald_test!r}\n"
                f"  Score {self.score_test!r}")
        return frame_repr(head, self.to_frame())

    def proportional_hazards_test(self, transform: Literal["km", "identity"] = "km", *,
                                  drop_infinite: bool = False) -> ProportionalHazardsTest:
        """Grambsch–Therneau score test of proportional hazards, per term and global.

        Equal to R survival >= 3.0 ``cox.zph(fit, transform, terms = TRUE)``: a score test, at the
        fitted coefficients, for adding ``x * g(t)`` for every covariate, with ``g(t)`` the time
        (``"identity"``) or one minus the left-continuous pooled Kaplan–Meier (``"km"``), centred at
        its mean over the events. A factor term is tested with all its columns together.

        ``drop_infinite``: leave out the coefficients of ``infinite`` (a fit stopped on a
        monotone likelihood), as ``cox.zph`` leaves out a coefficient that R's ``coxph`` gave as
        NA (what it does when such a coefficient has run far enough for the information to be
        singular); the terms left with no column are not tested and the global test has the
        degrees of freedom of the columns kept.
        """
        if transform not in ("km", "identity"):
            raise ValueError(f"transform: expected 'km' or 'identity', got {transform!r}")
        if self._data is None:
            raise FitWithoutDataError("this fit was returned without its data (as the fits of an "
                             "interaction test are); fit the model with cox_ph to test "
                             "proportional hazards")
        pr = self._data.prepared
        p = len(self.coef)
        # a singular column's coefficient is NA: it stayed at 0 in the fit (R's cox.zph leaves
        # such a column out)
        terms = K.evaluate(pr, np.where(np.isnan(self.coef), 0.0, self.coef), want_groups=True)
        gsel, u_g, i_g = K.group_terms(pr, terms)
        t_all, ev = pr.time, pr.event > 0
        if transform == "identity":
            tt = t_all
        else:
            ut, inv = np.unique(t_all, return_inverse=True)
            n_ev = np.bincount(inv, weights=ev.astype(float), minlength=len(ut))
            n_at = len(t_all) - np.concatenate(([0], np.cumsum(np.bincount(inv, minlength=len(ut)))[:-1]))
            surv = np.cumprod(1.0 - n_ev / n_at)
            s_before = np.concatenate(([1.0], surv[:-1]))
            tt = 1.0 - s_before[inv]
        gt_rows = tt - tt[ev].mean()
        g = gt_rows[pr.g_start[gsel]]
        u2 = g @ u_g
        info = np.empty((2 * p, 2 * p))
        info[:p, :p] = i_g.sum(axis=0)
        info[:p, p:] = np.einsum("g,gij->ij", g, i_g)
        info[p:, :p] = info[:p, p:].T
        info[p:, p:] = np.einsum("g,gij->ij", g * g, i_g)
        u_full = np.concatenate((np.zeros(p), u2))
        dropped = set(self.singular) | (set(self.infinite) if drop_infinite else set())
        keep = np.array([j for j in range(p) if self.names[j] not in dropped], dtype=np.intp)
        stat, df, tested = [], [], []
        for term, cols in zip(self.terms, self._data.term_columns, strict=True):
            kept = [c for c in cols if self.names[c] not in dropped]
            if not kept:
                continue
            kk = np.concatenate((keep, p + np.asarray(kept)))
            uu = u_full[kk]
            stat.append(float(uu @ np.linalg.solve(info[np.ix_(kk, kk)], uu)))
            df.append(len(kept))
            tested.append(term)
        kk = np.concatenate((keep, p + keep))
        glob = ChiSquareTest.of(float(u_full[kk] @ np.linalg.solve(info[np.ix_(kk, kk)],
                                                                   u_full[kk])), len(keep))
        st, dfa = np.array(stat), np.array(df)
        return ProportionalHazardsTest(transform=transform, terms=tuple(tested), statistic=st,
                                       df=dfa, p_value=sps.chi2.sf(st, dfa), global_test=glob)


def _fill_level(codes: np.ndarray, level: int, out: np.ndarray) -> None:
    np.equal(codes, level, out=out, casting="unsafe")  # 1.0 / 0.0


def _fill_values(values: np.ndarray, out: np.ndarray) -> None:
    np.copyto(out, values)


def _design(data: pd.DataFrame, covariates: Sequence[str]
            ) -> tuple[list[Callable[[np.ndarray], None]], tuple[str, ...],
                       tuple[tuple[int, ...], ...]]:
    # each design column is described (a function writing it into a given n-long array), not
    # made: the kernel writes them one at a time into its sorted copy, so the n x p design in
    # the data's order is never held beside it (at registry size the design is the largest
    # array of a fit)
    fill: list[Callable[[np.ndarray], None]] = []
    names: list[str] = []
    term_cols: list[tuple[int, ...]] = []
    for var in covariates:
        if var not in data.columns:
            raise ValueError(f"covariates: no column {var!r} in data")
        s = data[var]
        is_factor = isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == object \
            or pd.api.types.is_string_dtype(s.dtype)
        if is_factor:
            codes, levels = as_groups(f"covariate {var!r}", s)
            counts = np.bincount(codes, minlength=len(levels))
            if (counts == 0).any():
                lev = levels[int(np.flatnonzero(counts == 0)[0])]
                raise ValueError(f"covariate {var!r}: level {lev!r} has no observations; "
                                 "remove unused levels")
            if len(levels) < 2:
                raise ValueError(f"covariate {var!r}: a factor needs at least 2 levels, "
                                 f"got {list(levels)}")
            start = len(names)
            for j, lev in enumerate(levels[1:], start=1):
                fill.append(partial(_fill_level, codes, j))
                names.append(f"{var}{lev}")
            term_cols.append(tuple(range(start, len(names))))
        elif isinstance(s.dtype, np.dtype) and s.dtype == bool:
            # written as 1.0 / 0.0 when the kernel asks for the column: no float copy held
            # beside the booleans (8 bytes a row per column)
            fill.append(partial(_fill_values, s.to_numpy()))
            term_cols.append((len(names),))
            names.append(var)
        else:
            values = s.to_numpy(dtype=float, na_value=np.nan) if s.dtype == bool or \
                pd.api.types.is_extension_array_dtype(s.dtype) else s
            column = as_float_array(f"covariate {var!r}", values)
            fill.append(partial(_fill_values, column))
            term_cols.append((len(names),))
            names.append(var)
    return fill, tuple(names), tuple(term_cols)


def _design_matrix(fill: Sequence[Callable[[np.ndarray], None]], n: int) -> np.ndarray:
    """The n x p design (column-major: each column contiguous, written in one pass)."""
    x = np.empty((n, len(fill)), order="F")
    for k, f in enumerate(fill):
        f(x[:, k])
    return x


def _full_rank(pr: K.Prepared) -> bool:
    """Whether the centred design has full column rank (as ``np.linalg.matrix_rank``).

    The eigenvalues of the p x p cross-product are the squared singular values; when the smallest
    is clearly positive (relative 1e-8, far above rounding) the rank is full without an SVD of the
    n x p matrix. Otherwise the SVD decides.
    """
    p = pr.xt.shape[0]
    buf = np.empty(pr.xt.shape[1])
    cross = np.array([K.cross_product(pr, j, buf).sum() for j in range(len(pr.iu[0]))])
    ev = np.linalg.eigvalsh(K._unpack(cross, pr.iu, p))
    if ev[-1] > 0 and ev[0] > 1e-8 * ev[-1]:
        return True
    return bool(np.linalg.matrix_rank(pr.x) == p)


#: R ``coxph.control()``: relative log-likelihood change that ends the iterations, and the
#: relative size of the next Newton step above which a coefficient "may be infinite".
_EPS = 1e-9
_TOLER_INF = float(np.sqrt(_EPS))


def _quadratic(u: np.ndarray, a: np.ndarray) -> float:
    """``u' a^-1 u``; NaN when ``a`` is singular (a Wald test at an infinite coefficient)."""
    try:
        return float(u @ np.linalg.solve(a, u))
    except np.linalg.LinAlgError:
        return float("nan")


#: R ``coxph.control()$toler.chol``: a pivot of the (scaled) information matrix below this
#: fraction of its largest diagonal element marks its column singular.
_TOLER_CHOL = float(np.finfo(float).eps ** 0.75)


def _singular(info: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """The columns R's ``coxph`` deems singular: R factors the information of its scaled
    covariates (``_cox_kernel._r_scale``) with survival's ``cholesky2``, in column order, and a
    column whose pivot falls below ``_TOLER_CHOL`` times the largest diagonal element (or is not
    finite) takes no part in the Newton step (its coefficient stays where it is: 0 from the
    start) and is reported as NA. A column whose risk sets carry no information on it (every
    patient of a factor level censored before the first death, say) is such a column, though
    rounding leaves its pivot a tiny number rather than 0 (so a plain solve would divide by it).
    """
    a = info * np.outer(scale, scale)
    p = len(a)
    big = float(np.max(np.diag(a), initial=0.0))
    eps = _TOLER_CHOL * big if big > 0 else _TOLER_CHOL
    sing = np.zeros(p, dtype=bool)
    for i in range(p):
        pivot = a[i, i]
        if not np.isfinite(pivot) or pivot < eps:
            sing[i] = True
            continue
        col = a[i + 1:, i] / pivot
        a[i + 1:, i + 1:] -= np.outer(col, a[i, i + 1:])
    return sing


def _solve_kept(info: np.ndarray, u: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """``I^- u``: solved on the columns kept, 0 for the singular ones (R's ``chsolve2``)."""
    if kept.all():
        return np.linalg.solve(info, u)
    out = np.zeros(len(u))
    if kept.any():
        out[kept] = np.linalg.solve(info[np.ix_(kept, kept)], u[kept])
    return out


def _newton_step(terms: K.Terms, scale: np.ndarray,
                 singular: np.ndarray | None = None) -> np.ndarray | None:
    """The Newton step ``I^- U`` (0 for the columns deemed singular, as R, and for those of
    ``singular``), or None when the information is not finite or singular beyond what R's
    tolerance catches.

    ``singular``: the columns singular at beta = 0. They stay so: what makes a column carry no
    information (no patient of a level at risk at an event) does not depend on beta. R keeps a
    -1/0/1 column uncentred, so its information there is exactly 0 at every beta; ours is
    centred, and rounding leaves about 1e-17, which a monotone fit's shrinking information
    would otherwise let past the tolerance."""
    if not (np.isfinite(terms.loglik) and np.isfinite(terms.score).all()
            and np.isfinite(terms.info).all()):
        return None
    flagged = _singular(terms.info, scale)
    if singular is not None:
        flagged |= singular
    try:
        step = _solve_kept(terms.info, terms.score, ~flagged)
    except np.linalg.LinAlgError:
        return None
    return step if np.isfinite(step).all() else None


def _maximise(pr: K.Prepared, t0: K.Terms, names: tuple[str, ...], max_iter: int,
              sing0: np.ndarray
              ) -> tuple[np.ndarray, K.Terms, int, bool, tuple[str, ...], list[str], bool]:
    """Newton–Raphson as R's ``coxfit6``, then polished to the true maximum.

    Phase 1 repeats R's iterations step for step (Newton is invariant to R's centring and
    scaling, so the iterates are R's up to rounding): from beta = 0, evaluate the next point; stop
    when its log-likelihood is within a relative 1e-9 of the best so far; when it is worse (or not
    finite) step back towards the best point as R does, ``(new + h * best) / (h + 1)`` at the h-th
    retry. Phase 2, only when the log-likelihood converged and no coefficient looks infinite by
    R's rule: Newton steps until the step is below 1e-11 relative (R's answer can be 1e-6 off the
    maximum). When a coefficient is infinite (monotone likelihood) the answer is R's, so the
    log-likelihood and the tests match R although the coefficient has no finite value.
    ``sing0``: the columns singular at beta = 0 (kept singular, see :func:`_newton_step`).
    Returns (beta, terms at beta, iterations, converged, the names of the coefficients that may
    be infinite, warnings, whether it ran out of iterations).
    """
    p = len(names)
    beta, best = np.zeros(p), t0
    step = _newton_step(t0, pr.scale, sing0)
    assert step is not None  # cox_ph has checked it
    new_beta = beta + step
    halving = 0
    it = 0
    done = None
    while it < max_iter:
        it += 1
        new = K.evaluate(pr, new_beta)
        finite = np.isfinite(new.loglik) and np.isfinite(new.score).all() \
            and np.isfinite(new.info).all()
        # R: fabs(1 - loglik / newlk) <= eps, IEEE division (x / 0 is not convergence)
        if finite and new.loglik != 0 and abs(1.0 - best.loglik / new.loglik) <= _EPS:
            beta, best, done = new_beta, new, "loglik"
            break
        if not finite or new.loglik < best.loglik:
            halving += 1
            new_beta = (new_beta + halving * beta) / (halving + 1.0)
            continue
        halving = 0
        nxt = _newton_step(new, pr.scale, sing0)
        beta, best = new_beta, new
        if nxt is None:
            done = "singular"
            break
        new_beta = beta + nxt
    cur = best
    if done is None:
        which = _growing(beta, _newton_step(cur, pr.scale, sing0), names)
        return beta, cur, it, False, tuple(which), [
            f"Cox model: ran out of iterations ({max_iter}) and did not converge; the "
            f"coefficient(s) {', '.join(which)} may be infinite (monotone likelihood). Their "
            "estimates, standard errors and Wald test are not meaningful; the log-likelihood, "
            "likelihood-ratio and score tests are."], True
    nxt = _newton_step(cur, pr.scale, sing0)
    if nxt is None:  # the information vanished on the way to infinity
        return beta, cur, it, False, names, [
            f"Cox model: the information matrix became singular after {it} iterations; the "
            f"coefficient(s) {', '.join(names)} may be infinite (monotone likelihood). Their "
            "estimates, standard errors and Wald test are not meaningful; the log-likelihood, "
            "likelihood-ratio and score tests are."], False
    infinite = (np.abs(nxt) > _EPS) & (np.abs(nxt) > _TOLER_INF * np.abs(beta))
    if infinite.any():
        idx = np.flatnonzero(infinite)
        listed = ", ".join(f"{names[j]} (variable {j + 1})" for j in idx)
        return beta, cur, it, False, tuple(names[j] for j in idx), [
            f"Cox model: loglik converged before variable(s) {listed}; coefficient may be "
            "infinite (monotone likelihood). Its estimate, standard error and Wald test are not "
            "meaningful; the log-likelihood, likelihood-ratio and score tests are."], False
    # phase 2: polish to the maximum (quadratic convergence, a few steps)
    for _ in range(max(max_iter, 10)):
        if np.max(np.abs(nxt) / (1.0 + np.abs(beta))) < 1e-11:
            # the remaining step changes the coefficients by < 1e-11 and the log-likelihood and
            # information by less: applied without one more evaluation (which costs O(n p^2))
            return beta + nxt, cur, it, True, (), [], False
        it += 1
        trial = K.evaluate(pr, beta + nxt)
        h = 0
        while (not np.isfinite(trial.loglik)
               or trial.loglik < cur.loglik - 1e-12 * abs(cur.loglik)) and h < 30:
            nxt = nxt / 2
            trial = K.evaluate(pr, beta + nxt)
            h += 1
        beta, cur = beta + nxt, trial
        nxt = _newton_step(cur, pr.scale, sing0)
        if nxt is None:
            break
    return beta, cur, it, True, (), [], False


def _growing(beta: np.ndarray, step: np.ndarray | None, names: tuple[str, ...]) -> list[str]:
    if step is None:
        return list(names)
    grow = np.abs(step) > 1e-6 * (1.0 + np.abs(beta))
    return [names[j] for j in np.flatnonzero(grow)] or list(names)


def cox_ph(data: pd.DataFrame, duration: str, event: str, covariates: Sequence[str], *,
           ties: Literal["efron", "breslow"] = "efron", weights: str | Any | None = None,
           robust: bool = False, strata: str | Sequence[str] | None = None,
           max_iter: int = 20) -> CoxResult:
    """Fit a Cox proportional hazards model (as R ``coxph``).

    ``data`` holds the columns ``duration`` (times >= 0), ``event`` (0/1) and ``covariates``.
    Numeric covariates enter as they are; factor covariates (pandas Categorical, string or object
    columns) expand to treatment-coded dummies ``<var><level>`` with the first level (the first
    category, else the sorted first value) as reference. ``weights`` is a column name or an array
    of case weights. ``strata`` (column name or names) gives each stratum its own baseline hazard.
    Missing values are an error: drop those rows first.

    A weight of 0 leaves its row out, exactly as if it were not in ``data`` (R refuses weights
    <= 0); ``n`` counts the rows used.

    A likelihood that keeps increasing as a coefficient goes to +/- infinity (monotone likelihood:
    a factor level without events, a covariate that orders every death) does not raise. As R, the
    fit stops when the log-likelihood has converged (warning "loglik converged before variable(s)
    ...; coefficient may be infinite", by R's rule: the next Newton step is above 1e-9 and above
    sqrt(1e-9) times the coefficient) or after ``max_iter`` iterations (20, R's ``iter.max``;
    warning "ran out of iterations"), with ``converged=False``. The log-likelihood,
    likelihood-ratio and score tests are then R's and valid; the infinite coefficients'
    estimates, SEs and Wald test are not meaningful. ``iterations`` counts the likelihood
    evaluations: R's own iterations, then the polishing steps of a converged fit (so it may
    exceed R's ``iter`` by a step or two there; 0 or 1 on the reference fits); where the fit stops as R's (an infinite
    coefficient) it is R's count, and when it runs out ``max_iter`` (R reports ``iter.max + 1``).
    """
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"data: expected a pandas DataFrame, got {type(data).__name__}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int | np.integer) or max_iter < 1:
        raise ValueError(f"max_iter: expected a whole number >= 1, got {max_iter!r}")
    if ties not in ("efron", "breslow"):
        raise ValueError(f"ties: expected 'efron' or 'breslow', got {ties!r}")
    for what, col in (("duration", duration), ("event", event)):
        if col not in data.columns:
            raise ValueError(f"{what}: no column {col!r} in data")
    if isinstance(covariates, str):
        covariates = [covariates]
    if len(covariates) == 0:
        raise ValueError("covariates: at least one covariate is needed")
    if len(set(covariates)) != len(covariates):
        raise ValueError(f"covariates: repeated names in {list(covariates)}")
    time = as_times(f"duration {duration!r}", data[duration])
    status = as_status(f"event {event!r}", data[event])
    columns, names, term_cols = _design(data, covariates)
    if isinstance(weights, str):
        if weights not in data.columns:
            raise ValueError(f"weights: no column {weights!r} in data")
        w = as_weights(f"weights {weights!r}", data[weights])
    elif weights is None:
        w = np.ones(len(time))
    else:
        w = as_weights("weights", weights)
    if strata is None:
        scode, slev = np.zeros(len(time), dtype=np.int64), (None,)
    else:
        scols = [strata] if isinstance(strata, str) else list(strata)
        for c in scols:
            if c not in data.columns:
                raise ValueError(f"strata: no column {c!r} in data")
        key = data[scols[0]] if len(scols) == 1 else \
            data[scols].astype(str).agg(", ".join, axis=1)
        scode, slev = as_groups(f"strata {scols}", key)
    n = check_same_length(duration=time, event=status, weights=w, strata=scode)
    if (w == 0).any():
        # A row of weight 0 is left out, exactly as if it were not in the data (R refuses
        # weights <= 0). Keeping it would be wrong under Efron ties: the Efron terms of a tied
        # death time count the deaths, and a weight-0 death would still add a term.
        keep = w > 0
        x = _design_matrix(columns, n)[keep]
        columns = [partial(_fill_values, x[:, k]) for k in range(x.shape[1])]
        time, status, w, scode = time[keep], status[keep], w[keep], scode[keep]
        n = int(keep.sum())
        if n == 0:
            raise ValueError("weights: every weight is 0; no observation is left")
    if status.sum() == 0:
        raise ValueError(f"event {event!r}: no events, the Cox model cannot be fitted")
    # the kernel writes each design column into its own sorted copy, one column at a time
    pr = K.prepare(columns, time, status, w, scode, efron=(ties == "efron"))
    del columns
    if not _full_rank(pr):
        raise ValueError(f"covariates: the design columns {list(names)} are collinear or constant")
    p = len(names)
    t0 = K.evaluate(pr, np.zeros(p))
    sing0 = _singular(t0.info, pr.scale) if np.isfinite(t0.info).all() else np.zeros(p, bool)
    kept0 = ~sing0
    if not kept0.any() or _newton_step(t0, pr.scale, sing0) is None:
        # R runs out of iterations at beta = 0 with a log-likelihood of 0 and no variance
        raise ValueError(f"covariates: the events carry no information on {list(names)} (the "
                         "information matrix is singular at beta = 0, e.g. every death is alone "
                         "in its risk set); the Cox model cannot be fitted")
    beta, cur, it, converged, infinite, msgs, ran_out = _maximise(pr, t0, names, max_iter, sing0)
    # R marks a column NA from its last factorisation when the log-likelihood converged; when it
    # runs out of iterations it marks none (its flag is then 1000), whatever the information
    kept = (~(_singular(cur.info, pr.scale) | ~kept0)
            if np.isfinite(cur.info).all() and not ran_out else np.ones(p, bool))
    singular = tuple(names[j] for j in np.flatnonzero(~kept))
    if singular:
        listed = ", ".join(f"{names[j]} (variable {j + 1})" for j in np.flatnonzero(~kept))
        msgs = [*msgs, f"Cox model: X matrix deemed to be singular; variable(s) {listed}: the "
                "events carry no information on it beyond the other covariates (e.g. no patient "
                "of a factor level at risk at any event). Its coefficient is NA (not estimable), "
                f"as in R's coxph, and the tests have {int(kept.sum())} degrees of freedom."]
        beta = np.where(kept, beta, np.nan)
        infinite = tuple(x for x in infinite if x not in singular)
    for msg in msgs:
        warnings.warn(msg, RuntimeWarning, stacklevel=2)
    df = int(kept.sum())
    sub = np.ix_(kept, kept)

    naive_var = np.full((p, p), np.nan)
    try:
        if singular:
            naive_var[sub] = np.linalg.inv(cur.info[sub])
        else:
            naive_var = np.linalg.inv(cur.info)
    except np.linalg.LinAlgError:  # only at a monotone fit gone far enough: no variance
        pass
    naive_var = (naive_var + naive_var.T) / 2
    se = np.sqrt(np.diag(naive_var))
    robust_se = None
    robust_score = None
    var = naive_var
    if robust:
        # sandwich V (sum of d_i d_i^T) V with d_i = w_i times the score residuals (dfbeta = d V),
        # formed from the p x p middle matrix rather than the n x p dfbeta
        # (the columns deemed singular taken out only when there are any: a selection copies,
        # and the products of a copy may round differently)
        wres = w[:, None] * K.score_residuals(pr, cur)
        if singular:
            wres = wres[:, kept]
            var = np.full((p, p), np.nan)
            var[sub] = naive_var[sub] @ (wres.T @ wres) @ naive_var[sub]
        else:
            var = naive_var @ (wres.T @ wres) @ naive_var
        var = (var + var.T) / 2
        robust_se = np.sqrt(np.diag(var))
        r0 = w[:, None] * K.score_residuals(pr, t0)
        if not kept0.all():
            r0 = r0[:, kept0]
        u0 = r0.sum(axis=0)
        robust_score = ChiSquareTest.of(_quadratic(u0, r0.T @ r0), df)
    used_se = robust_se if robust_se is not None else se
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero sandwich SE: z is +-inf/NaN, as R
        z = beta / used_se
    with np.errstate(over="ignore"):  # exp of an infinite coefficient's estimate: inf, as R
        lower, upper = np.exp(beta - _Z975 * used_se), np.exp(beta + _Z975 * used_se)
        exp_coef = np.exp(beta)
    return CoxResult(
        names=names, terms=tuple(covariates), coef=beta, se=se, robust_se=robust_se,
        exp_coef=exp_coef, lower=lower, upper=upper, z=z, p_value=2 * sps.norm.sf(np.abs(z)),
        var=var, naive_var=naive_var, loglik_null=t0.loglik, loglik=cur.loglik,
        wald_test=ChiSquareTest.of(_quadratic(beta[kept], var[sub]) if singular
                                   else _quadratic(beta, var), df),
        likelihood_ratio_test=ChiSquareTest.of(2 * (cur.loglik - t0.loglik), df),
        score_test=ChiSquareTest.of(float(t0.score @ _solve_kept(t0.info, t0.score, kept0)), df),
        robust_score_test=robust_score, n=n, n_events=int(status.sum()), ties=ties,
        strata=tuple(slev), iterations=it, converged=converged, warnings=tuple(msgs),
        _data=_FitData(prepared=pr, term_columns=term_cols), infinite=tuple(infinite),
        singular=singular, no_information=tuple(names[j] for j in np.flatnonzero(~kept0)))
