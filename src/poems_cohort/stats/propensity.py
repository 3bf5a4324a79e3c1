"""Propensity scores for two or more arms: the missing-data rule for covariates, multinomial
logistic regression (equal to R ``nnet::multinom`` fitted to convergence) and inverse probability
of treatment weights (IPTW) with their summary.

``covariate_design`` turns covariates with missing values into the numeric design columns used
(median + indicator for continuous, a "missing" category for categorical covariates);
``multinomial_logit`` fits P(arm | covariates); ``iptw_weights`` turns the fitted probabilities
into ATE weights 1/P(received arm), optionally stabilised and truncated at percentiles.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from poems_cohort.stats._common import as_float_array, as_groups, first_cell, frame_repr

__all__ = ["CovariateDesign", "IptwWeights", "MultinomialLogit", "covariate_design",
           "iptw_weights", "multinomial_logit"]

MISSING_LEVEL = "missing"


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, copy=True)
    a.flags.writeable = False
    return a


# ------------------------------------------------------------------------------ missing-data rule


@dataclass(frozen=True, repr=False, eq=False)
class CovariateDesign:
    """The numeric design columns made from covariates by the missing-data rule.

    ``frame`` holds one column per entry of ``columns`` (named ``prefix`` + name); ``source`` gives
    the covariate each column came from and ``kind`` what it is (``"value"``: a continuous value
    with missing values replaced by ``medians[covariate]``; ``"level"``: the 0/1 indicator of a
    category, the first category being the reference; ``"missing"``: the 0/1 indicator that the
    covariate was missing). ``dropped`` lists ``(covariate, reason)`` for covariates that give no
    usable column (all missing, or a single value).
    """

    frame: pd.DataFrame
    columns: tuple[str, ...]
    source: tuple[str, ...]
    kind: tuple[str, ...]
    medians: dict[str, float]
    dropped: tuple[tuple[str, str], ...]
    prefix: str

    def to_frame(self) -> pd.DataFrame:
        """The design columns (a copy)."""
        return self.frame.copy()

    def describe(self) -> pd.DataFrame:
        """One row per design column: ``column, covariate, kind, median`` (median for values)."""
        return pd.DataFrame({
            "column": self.columns, "covariate": self.source, "kind": self.kind,
            "median": [self.medians.get(s, np.nan) if k == "value" else np.nan
                       for s, k in zip(self.source, self.kind, strict=True)]})

    def __repr__(self) -> str:
        head = (f"CovariateDesign: {len(self.frame)} rows, {len(self.columns)} columns "
                f"(prefix {self.prefix!r})"
                + (f"; dropped {[d for d, _ in self.dropped]}" if self.dropped else ""))
        return frame_repr(head, self.describe())


def _level_label(v: Any) -> str:
    if isinstance(v, float | np.floating) and float(v).is_integer():
        return str(int(v))
    return str(v)


def _as_numeric_with_nan(name: str, s: pd.Series) -> np.ndarray:
    if s.dtype == bool or isinstance(s.dtype, pd.BooleanDtype):
        return s.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    if pd.api.types.is_numeric_dtype(s.dtype):
        return as_float_array(name, s.to_numpy(dtype=float, na_value=np.nan), allow_nan=True)
    raise ValueError(f"{name}: a continuous covariate must be numeric, got dtype {s.dtype}")


def covariate_design(data: pd.DataFrame, *, continuous: Sequence[str] = (),
                     categorical: Sequence[str] = (), prefix: str = "",
                     all_levels: bool = False) -> CovariateDesign:
    """The design columns for ``continuous`` then ``categorical`` covariates, in the order given.

    The rule for missing values:

    - **continuous** ``x``: missing values are replaced by the median of the observed values, and
      when any value is missing an indicator column ``x_missing`` (1 = was missing) is added;
    - **categorical** ``x`` (strings, booleans, or numbers taken as categories): a missing value is
      a category of its own. Treatment-coded 0/1 columns ``x_<level>`` for each observed level
      but the first (a Categorical's category order, else sorted; whole floats print as integers),
      then ``x_missing`` when any value is missing.

    A covariate with no observed value, or a single observed value and nothing missing, adds no
    column and is listed in ``dropped``. Columns are named ``prefix`` + name.

    ``all_levels=True`` also gives the first level its column (every category, as a balance table
    shows them); such a design is collinear with an intercept and is not for regression.
    """
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"data: expected a pandas DataFrame, got {type(data).__name__}")
    _check_covariates(continuous, categorical, data.columns, "data")
    return _design(data.__getitem__, data.index, continuous, categorical, prefix, all_levels,
                   None)


def covariate_design_from(columns: Mapping[str, Callable[[], pd.Series]], index: pd.Index, *,
                          continuous: Sequence[str] = (), categorical: Sequence[str] = (),
                          prefix: str = "", all_levels: bool = False,
                          keep: Sequence[str] | None = None) -> CovariateDesign:
    """:func:`covariate_design` on covariates computed when they are read: ``columns[name]()``
    gives covariate ``name`` as a Series of ``len(index)`` values (it is called more than once,
    and must give the same values each time). Only one covariate's values are held at a time,
    never a frame of them all beside the design (at 10⁷ patients, 8 bytes a patient each).

    ``keep``: only these design columns, in this order (each one of the design's, the same
    values), built as they are: not the whole design and then a selection's copy of it."""
    _check_covariates(continuous, categorical, columns, "columns")

    def column(name: str) -> pd.Series:
        s = columns[name]()
        if not isinstance(s, pd.Series) or len(s) != len(index):
            raise ValueError(f"covariate {name!r}: expected a Series of {len(index)} values, got "
                             f"{type(s).__name__} of {len(s)}")
        return s

    return _design(column, index, continuous, categorical, prefix, all_levels, keep)


def _check_covariates(continuous: Sequence[str], categorical: Sequence[str],
                      available: Any, where: str) -> None:
    """The covariates named as lists, each once, each among ``available`` (named ``where``)."""
    if isinstance(continuous, str) or isinstance(categorical, str):
        raise ValueError("continuous, categorical: expected lists of column names, not a string")
    names = [*continuous, *categorical]
    if len(set(names)) != len(names):
        raise ValueError(f"covariates: a column is named more than once in {names}")
    missing_cols = [c for c in names if c not in available]
    if missing_cols:
        raise ValueError(f"covariates: no column(s) {missing_cols} in {where}")


def _design(column: Callable[[str], pd.Series], index: pd.Index, continuous: Sequence[str],
            categorical: Sequence[str], prefix: str, all_levels: bool,
            keep: Sequence[str] | None) -> CovariateDesign:
    # two passes: the first decides the columns (names, sources, kinds), the second fills them
    # into one preallocated block that becomes the frame's own, so the design is held once
    # (a frame made from a dict of columns would copy them all into its block)
    spec: list[tuple[str, str, str, Any]] = []  # (name, covariate, kind, how to fill)
    medians: dict[str, float] = {}
    dropped: list[tuple[str, str]] = []

    def add(name: str, src: str, k: str, how: Any) -> None:
        full = prefix + name
        if any(full == f for f, _, _, _ in spec):
            raise ValueError(f"covariates: two design columns would be named {full!r}")
        spec.append((full, src, k, how))

    for c in continuous:
        x = _as_numeric_with_nan(f"covariate {c!r}", column(c))
        miss = np.isnan(x)
        if miss.all():
            dropped.append((c, "all values missing"))
            continue
        med = float(np.median(x[~miss]))
        if not miss.any() and np.all(x == x[0]):
            dropped.append((c, "a single value"))
            continue
        medians[c] = med
        add(c, c, "value", ("value", med))
        if miss.any():
            add(f"{c}_missing", c, "missing", ("missing",))
    for c in categorical:
        s = column(c)
        miss = s.isna().to_numpy(dtype=bool)
        observed = s[~miss]
        if isinstance(s.dtype, pd.CategoricalDtype):
            present = set(observed.tolist())
            levels = [lv for lv in s.cat.categories if lv in present]
        else:
            levels = sorted(pd.unique(observed), key=lambda v: (str(type(v)), v))
        labels = [_level_label(lv) for lv in levels]
        if MISSING_LEVEL in labels:
            raise ValueError(f"covariate {c!r}: has a level named {MISSING_LEVEL!r}, the name of "
                             "the missing-value category; rename it")
        if len(set(labels)) != len(labels):
            raise ValueError(f"covariate {c!r}: levels {levels} print alike; recode them")
        if len(levels) == 0:
            dropped.append((c, "all values missing"))
            continue
        if len(levels) == 1 and not miss.any():
            dropped.append((c, "a single value"))
            continue
        start = 0 if all_levels else 1
        for lv, lab in zip(levels[start:], labels[start:], strict=True):
            add(f"{c}_{lab}", c, "level", ("level", lv))
        if miss.any():
            add(f"{c}_{MISSING_LEVEL}", c, "missing", ("missing",))
    if keep is not None:
        by_name = {entry[0]: entry for entry in spec}
        unknown = [k for k in keep if k not in by_name]
        if unknown or len(set(keep)) != len(keep):
            raise ValueError(f"keep: {list(keep)} are not distinct columns of the design "
                             f"{list(by_name)}")
        spec = [by_name[k] for k in keep]
    n = len(index)
    block = np.empty((len(spec), n))  # row j: design column j (the frame's own block)
    done: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # covariate: values, missing
    for j, (_, src, _, how) in enumerate(spec):
        if src not in done:
            done.clear()  # one covariate at a time: each one's columns are consecutive
            s = column(src)
            if how[0] == "value" or (how[0] == "missing" and src in medians):
                x = _as_numeric_with_nan(f"covariate {src!r}", s)
                done[src] = (x, np.isnan(x))
            else:
                miss = s.isna().to_numpy(dtype=bool)
                # the observed values compared with each level at once (numbers as numbers,
                # anything else as Python objects: the same == as value by value)
                plain = isinstance(s.dtype, np.dtype) and s.dtype.kind in "fiub"
                obs = s.to_numpy()[~miss] if plain else s.to_numpy(dtype=object)[~miss]
                done[src] = (obs, miss)
        vals, miss = done[src]
        row = block[j]
        if how[0] == "value":
            row[:] = np.where(miss, how[1], vals)
        elif how[0] == "missing":
            row[:] = miss
        else:
            row[:] = 0.0
            row[~miss] = np.asarray(vals == how[1], dtype=bool)
    done.clear()
    names_out = [f for f, _, _, _ in spec]
    frame = (pd.DataFrame(block.T, columns=names_out, index=index, copy=False) if spec
             else pd.DataFrame({}, index=index))
    return CovariateDesign(frame=frame, columns=tuple(names_out),
                           source=tuple(src for _, src, _, _ in spec),
                           kind=tuple(k for _, _, k, _ in spec),
                           medians=medians, dropped=tuple(dropped), prefix=prefix)


# ------------------------------------------------------------------------------ multinomial logit


@dataclass(frozen=True, repr=False, eq=False)
class MultinomialLogit:
    """A fitted multinomial (baseline-category) logistic regression.

    ``coef`` and ``se`` have one row per non-reference level (``levels[1:]``) and one column per
    term (``terms``: ``"(Intercept)"`` then the design columns), as R ``coef(multinom(...))``.
    ``fitted`` is the n x k matrix of fitted probabilities, columns in ``levels`` order.
    """

    levels: tuple[Any, ...]
    terms: tuple[str, ...]
    coef: np.ndarray
    se: np.ndarray
    fitted: np.ndarray
    treatment: np.ndarray
    loglik: float
    loglik_null: float
    n: int
    iterations: int
    converged: bool
    warnings: tuple[str, ...]

    @property
    def likelihood_ratio_test(self) -> tuple[float, int, float]:
        """``(statistic, df, p)`` of the model against the intercept-only model."""
        stat = 2 * (self.loglik - self.loglik_null)
        df = int(self.coef.size - (len(self.levels) - 1))
        return float(stat), df, float(sps.chi2.sf(stat, df)) if df > 0 else float("nan")

    def probabilities(self) -> pd.DataFrame:
        """The fitted probabilities, one column per level."""
        return pd.DataFrame(self.fitted, columns=list(self.levels))

    def received(self) -> np.ndarray:
        """P(received arm | covariates) for each row."""
        return self.fitted[np.arange(self.n), self.treatment]

    def to_frame(self) -> pd.DataFrame:
        """Coefficient table: ``level, term, coef, se, z, p_value`` (Wald)."""
        k1, p = self.coef.shape
        z = self.coef / self.se
        return pd.DataFrame({
            "level": np.repeat(np.array(self.levels[1:], dtype=object), p),
            "term": np.tile(np.array(self.terms, dtype=object), k1),
            "coef": self.coef.ravel(), "se": self.se.ravel(), "z": z.ravel(),
            "p_value": 2 * sps.norm.sf(np.abs(z.ravel()))})

    def __repr__(self) -> str:
        head = (f"MultinomialLogit: n={self.n}, levels {list(self.levels)} (reference "
                f"{self.levels[0]!r}), {len(self.terms)} terms, loglik={self.loglik:.6f} "
                f"(null {self.loglik_null:.6f}), converged={self.converged} in "
                f"{self.iterations} iterations")
        return frame_repr(head, self.to_frame())


def _softmax_probs(z: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities (n x k) and log-probabilities, baseline column 0, computed stably."""
    eta = np.concatenate((np.zeros((z.shape[0], 1)), z @ beta.T), axis=1)
    eta -= eta.max(axis=1, keepdims=True)
    logp = eta - np.log(np.exp(eta).sum(axis=1, keepdims=True))
    return np.exp(logp), logp


#: rows of the design made and used at a time by ``multinomial_logit`` (a block of 2**16 rows
#: and 22 terms is 11.5 MB)
_FIT_ROWS = 1 << 16


def multinomial_logit(x: Any, treatment: Any, *, levels: Sequence[Any] | None = None,
                      max_iter: int = 100) -> MultinomialLogit:
    """Multinomial logistic regression of ``treatment`` (k >= 2 levels) on the columns of ``x``.

    ``x`` is a DataFrame of numeric columns (or a 2-D array; columns named ``x1, x2, ...``) without
    missing values — see :func:`covariate_design`; an intercept is added. ``levels`` orders the
    arms, the first being the baseline (default: a Categorical's categories, else sorted). Equal to
    R ``nnet::multinom(treatment ~ x)`` at its maximum (nnet stops early by default: compare with
    ``maxit = 1000, reltol = 1e-14``) and, for two arms, to ``glm(family = binomial)``.

    Fitting is Newton–Raphson with step halving on the exact log-likelihood, from 0, until the
    largest relative step is below 1e-10 (a kernel of our own: this package does not depend on
    statsmodels, and the (k-1)p x (k-1)p Hessian of a cohort-sized model is small). A likelihood
    that keeps increasing towards a boundary (separation: some arm perfectly predicted) stops after
    ``max_iter`` iterations with ``converged=False`` and a warning; fitted probabilities near 0 or
    1 then mean weights that cannot be trusted.
    """
    if isinstance(x, pd.DataFrame):
        names = [str(c) for c in x.columns]
        bad = [c for c in x.columns if not (pd.api.types.is_numeric_dtype(x[c].dtype)
                                            or x[c].dtype == bool)]
        if bad:
            raise ValueError(f"x: column(s) {bad} are not numeric; use covariate_design first")
        # the columns as they are (views of a float frame's block, no n x p copy)
        xcols = [x.iloc[:, j].to_numpy(dtype=float, na_value=np.nan) for j in range(x.shape[1])]
        order = "F"
    else:
        xm = np.asarray(x, dtype=float)
        if xm.ndim == 1:
            xm = xm[:, None]
        if xm.ndim != 2:
            raise ValueError(f"x: expected a 2-D array, got shape {xm.shape}")
        names = [f"x{j + 1}" for j in range(xm.shape[1])]
        xcols = [xm[:, j] for j in range(xm.shape[1])]
        order = "C"
    nrow = len(xcols[0]) if xcols else (len(x) if isinstance(x, pd.DataFrame) else xm.shape[0])
    for what, test in (("missing value", np.isnan), ("infinite value", np.isinf)):
        first = first_cell(xcols, test)
        if first is not None:
            i, j = first
            raise ValueError(
                f"x: {what} in column {names[j]!r} at row position {i}"
                + ("; apply the missing-data rule (covariate_design) first"
                   if what == "missing value" else ""))
    codes, lev = as_groups("treatment", treatment, levels=levels)
    n = len(codes)
    if nrow != n:
        raise ValueError(f"inputs differ in length: x has {nrow} rows, treatment {n}")
    k = len(lev)
    if k < 2:
        raise ValueError(f"treatment: at least 2 arms are needed, got {list(lev)}")
    counts = np.bincount(codes, minlength=k)
    if (counts == 0).any():
        raise ValueError(f"treatment: no observations in arm(s) "
                         f"{[lev[i] for i in np.flatnonzero(counts == 0)]}")
    if not isinstance(max_iter, int) or max_iter < 1:
        raise ValueError(f"max_iter: expected a positive integer, got {max_iter!r}")
    p = 1 + len(xcols)
    # The design with its intercept (z) is made and used one block of rows at a time
    # (_FIT_ROWS): a cohort-sized n x p copy, and the n x p product z * w for each block of the
    # Hessian, would be the fit's largest arrays. Up to _FIT_ROWS patients there is one block
    # and every sum is the one of the whole design; above, the cross-products are sums of the
    # blocks' cross-products (the same terms added in another order: the last bits may differ).
    bounds = [(r, min(r + _FIT_ROWS, n)) for r in range(0, n, _FIT_ROWS)] or [(0, 0)]

    def design(r0: int, r1: int) -> np.ndarray:
        # column-major as the whole design was (np.column_stack for arrays): BLAS sums the
        # products z' W z in an order that depends on the layout, and the fit's last bits with it
        z = np.empty((r1 - r0, p), order=order)  # type: ignore[call-overload]
        z[:, 0] = 1.0
        for j, col in enumerate(xcols):
            z[:, 1 + j] = col[r0:r1]
        return z

    def rows_sum(f: Any) -> np.ndarray:
        """The sum over the blocks of rows of ``f(z, r0, r1)`` (the first block as it is)."""
        total: np.ndarray | None = None
        for r0, r1 in bounds:
            part = f(design(r0, r1), r0, r1)
            total = part if total is None else total + part
        assert total is not None
        return total

    # full rank when the cross-product's smallest eigenvalue is clearly positive (cheap, p x p);
    # otherwise the SVD of the n x p design decides
    ev = np.linalg.eigvalsh(rows_sum(lambda z, r0, r1: z.T @ z))
    if not (ev[0] > 1e-10 * ev[-1]) and np.linalg.matrix_rank(design(0, n)) < p:
        raise ValueError(f"x: the columns {names} are collinear, constant or collinear with the "
                         "intercept; remove the redundant ones")
    terms = ("(Intercept)", *names)

    def loglik(b: np.ndarray) -> tuple[float, np.ndarray]:
        probs = np.empty((n, k))
        lp_received = np.empty(n)
        for r0, r1 in bounds:
            pr, lp = _softmax_probs(design(r0, r1), b)
            probs[r0:r1] = pr
            lp_received[r0:r1] = lp[np.arange(r1 - r0), codes[r0:r1]]
        return float(lp_received.sum()), probs

    def score_info(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        def block(z: np.ndarray, r0: int, r1: int) -> np.ndarray:
            pr = probs[r0:r1]
            y = np.zeros((r1 - r0, k))
            y[np.arange(r1 - r0), codes[r0:r1]] = 1.0
            g = ((y[:, 1:] - pr[:, 1:]).T @ z).ravel()  # arm-major: (k-1) blocks of p
            h = np.empty((k - 1, p, k - 1, p))
            for a in range(k - 1):
                for b in range(a, k - 1):
                    wab = pr[:, a + 1] * ((a == b) - pr[:, b + 1])
                    blk = z.T @ (z * wab[:, None])
                    h[a, :, b, :] = blk
                    h[b, :, a, :] = blk.T
            return np.concatenate((g, h.ravel()))
        gh = rows_sum(block)
        m = (k - 1) * p
        return gh[:m], gh[m:].reshape(m, m)

    beta = np.zeros((k - 1, p))
    cur, probs = loglik(beta)
    converged = False
    it = 0
    step = np.zeros((k - 1) * p)
    while it < max_iter:
        g, h = score_info(probs)
        try:
            step = np.linalg.solve(h, g)
        except np.linalg.LinAlgError:
            break
        if np.max(np.abs(step) / (1.0 + np.abs(beta.ravel()))) < 1e-10:
            # Newton converges quadratically: the last step is below 1e-10 relative, so it is
            # applied and the model evaluated once more for the final probabilities
            beta = beta + step.reshape(k - 1, p)
            cur, probs = loglik(beta)
            converged = True
            break
        it += 1
        halvings = 0
        new_beta = beta + step.reshape(k - 1, p)
        new, new_probs = loglik(new_beta)
        while (not np.isfinite(new) or new < cur - 1e-12 * abs(cur)) and halvings < 30:
            step = step / 2
            new_beta = beta + step.reshape(k - 1, p)
            new, new_probs = loglik(new_beta)
            halvings += 1
        beta, cur, probs = new_beta, new, new_probs
        del new_probs
    _, h = score_info(probs)
    msgs: list[str] = []
    with np.errstate(invalid="ignore"):
        try:
            se = np.sqrt(np.diag(np.linalg.inv(h))).reshape(k - 1, p)
        except np.linalg.LinAlgError:
            se = np.full((k - 1, p), np.nan)
    if not converged:
        msgs.append(f"multinomial logistic regression did not converge in {max_iter} iterations: "
                    "an arm is (almost) perfectly predicted by the covariates (separation); the "
                    "coefficients may be infinite and fitted probabilities near 0 or 1")
    received = probs[np.arange(n), codes]
    if received.min() < 1e-8:
        msgs.append(f"fitted probability of the received arm as small as {received.min():.3g}: "
                    "weights 1/P would be extreme (near-separation)")
    for m in msgs:
        warnings.warn(m, RuntimeWarning, stacklevel=2)
    null = float(np.sum(counts * np.log(counts / n)))
    return MultinomialLogit(levels=tuple(lev), terms=terms, coef=_readonly(beta), se=_readonly(se),
                            fitted=_readonly(probs), treatment=_readonly(codes),
                            loglik=cur, loglik_null=null, n=n, iterations=it,
                            converged=converged, warnings=tuple(msgs))


# ------------------------------------------------------------------------------ IPTW


SUMMARY_COLUMNS = ("arm", "n", "sum", "min", "max", "mean", "ess")


@dataclass(frozen=True, repr=False, eq=False)
class IptwWeights:
    """Inverse probability of treatment weights (ATE) and their distribution per arm.

    ``weights[i]`` is ``1 / P(arm received by i)`` (``stabilized``: times the proportion of the
    sample in that arm), after truncation at ``truncation`` (the lower and upper weight values,
    percentiles ``percentiles`` of all weights; ``None`` when not truncated).
    """

    weights: np.ndarray
    treatment: np.ndarray
    levels: tuple[Any, ...]
    stabilized: bool
    percentiles: tuple[float, float] | None
    truncation: tuple[float, float] | None
    n_truncated: int

    def summary(self) -> pd.DataFrame:
        """Per arm: ``arm, n, sum, min, max, mean, ess`` with the effective sample size
        ``ess = (Σw)² / Σw²`` (Kish)."""
        rows = []
        for j, lv in enumerate(self.levels):
            w = self.weights[self.treatment == j]
            rows.append((lv, len(w), float(w.sum()), float(w.min()), float(w.max()),
                         float(w.mean()), float(w.sum() ** 2 / np.sum(w * w))))
        return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))

    def to_frame(self) -> pd.DataFrame:
        """Same as :meth:`summary`."""
        return self.summary()

    def __repr__(self) -> str:
        kind = "stabilised ATE" if self.stabilized else "ATE"
        trunc = ("" if self.truncation is None or self.percentiles is None else
                 f", truncated at percentiles {self.percentiles[0]:g}/{self.percentiles[1]:g} "
                 f"({self.truncation[0]:.6g} to {self.truncation[1]:.6g}, {self.n_truncated} "
                 "weights changed)")
        return frame_repr(f"IptwWeights ({kind}{trunc}), n={len(self.weights)}", self.summary())


def iptw_weights(treatment: Any, probabilities: Any, *, levels: Sequence[Any] | None = None,
                 stabilized: bool = False,
                 truncate: tuple[float, float] | None = None) -> IptwWeights:
    """ATE weights ``1 / P(received arm)`` from fitted probabilities.

    ``probabilities`` is a :class:`MultinomialLogit`, a DataFrame with one column per arm (named as
    the arms) or an n x k array in ``levels`` order. ``stabilized`` multiplies each weight by the
    proportion of the sample in the arm received (the marginal probability). ``truncate=(lo, hi)``
    sets weights below the ``lo``-th percentile of all weights to it and above the ``hi``-th to it
    (percentiles of the weights after stabilisation, linear interpolation = R ``quantile(type =
    7)``), e.g. ``(1, 99)``.
    """
    if isinstance(probabilities, MultinomialLogit):
        if levels is not None and tuple(levels) != probabilities.levels:
            raise ValueError(f"levels: {list(levels)} differ from the model's "
                             f"{list(probabilities.levels)}")
        levels = probabilities.levels
        pm = np.asarray(probabilities.fitted)
    elif isinstance(probabilities, pd.DataFrame):
        if levels is None:
            levels = list(probabilities.columns)
        absent = [lv for lv in levels if lv not in probabilities.columns]
        if absent:
            raise ValueError(f"probabilities: no column for arm(s) {absent}")
        pm = probabilities[list(levels)].to_numpy(dtype=float, na_value=np.nan)
    else:
        pm = np.asarray(probabilities, dtype=float)
        if levels is None:
            raise ValueError("levels: needed when probabilities is an array (its column order)")
    codes, lev = as_groups("treatment", treatment, levels=levels)
    if pm.ndim != 2 or pm.shape != (len(codes), len(lev)):
        raise ValueError(f"probabilities: expected shape ({len(codes)}, {len(lev)}), got {pm.shape}")
    received = pm[np.arange(len(codes)), codes]
    bad = ~np.isfinite(received) | (received <= 0) | (received > 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"probabilities: the probability of the received arm at row position {i} "
                         f"is {float(received[i])!r}; expected a number in (0, 1]")
    w = 1.0 / received
    if stabilized:
        marginal = np.bincount(codes, minlength=len(lev)) / len(codes)
        w = marginal[codes] * w
    limits = None
    n_trunc = 0
    pct = None
    if truncate is not None:
        try:
            lo, hi = (float(v) for v in truncate)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"truncate: expected (lower, upper) percentiles, got {truncate!r}"
                             ) from exc
        if not (0 <= lo < hi <= 100):
            raise ValueError(f"truncate: expected 0 <= lower < upper <= 100, got {truncate!r}")
        ql, qh = (float(v) for v in np.percentile(w, [lo, hi]))
        n_trunc = int(np.sum((w < ql) | (w > qh)))
        w = np.clip(w, ql, qh)
        limits, pct = (ql, qh), (lo, hi)
    return IptwWeights(weights=_readonly(w), treatment=_readonly(codes), levels=tuple(lev),
                       stabilized=bool(stabilized), percentiles=pct, truncation=limits,
                       n_truncated=n_trunc)
