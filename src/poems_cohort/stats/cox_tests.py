"""Likelihood-ratio tests between nested Cox models, built on ``cox_ph``: the test of an
interaction (treatment x modifier), as R ``anova(coxph(~ a + b), coxph(~ a * b))``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats as sps

from poems_cohort.stats._common import as_groups
from poems_cohort.stats.cox import CoxResult, cox_ph

__all__ = ["InteractionTest", "cox_interaction_test"]


@dataclass(frozen=True, repr=False, eq=False)
class InteractionTest:
    """LR test of the ``interaction_terms`` added to the ``reduced`` model (giving ``full``).

    ``reduced`` and ``full`` are the two fits without their prepared copies of the data (their
    coefficients, tests and log-likelihoods; not ``proportional_hazards_test``).
    """

    statistic: float
    df: int
    p_value: float
    loglik_reduced: float
    loglik_full: float
    interaction_terms: tuple[str, ...]
    dropped_terms: tuple[str, ...]
    reduced: CoxResult
    full: CoxResult

    def to_frame(self) -> pd.DataFrame:
        """One row: ``statistic, df, p_value, loglik_reduced, loglik_full, n, events``."""
        return pd.DataFrame({"statistic": [self.statistic], "df": [self.df],
                             "p_value": [self.p_value], "loglik_reduced": [self.loglik_reduced],
                             "loglik_full": [self.loglik_full], "n": [self.full.n],
                             "events": [self.full.n_events]})

    def __repr__(self) -> str:
        dropped = f"; not estimable: {list(self.dropped_terms)}" if self.dropped_terms else ""
        return (f"Cox likelihood-ratio test of {len(self.interaction_terms)} interaction term(s): "
                f"chisq={self.statistic:.6g}, df={self.df}, p={self.p_value:.6g} "
                f"(loglik {self.loglik_reduced:.6f} -> {self.loglik_full:.6f}; n={self.full.n}, "
                f"events={self.full.n_events}){dropped}")


def _dummies(name: str, s: pd.Series
             ) -> tuple[dict[str, np.ndarray], tuple[Any, ...], np.ndarray]:
    """Treatment-coded dummies of a factor, as booleans (1 byte per row; ``cox_ph`` reads a
    boolean column as the floats 1.0 and 0.0), the levels, and the codes."""
    codes, levels = as_groups(name, s)
    counts = np.bincount(codes, minlength=len(levels))
    if len(levels) < 2 or (counts == 0).any():
        raise ValueError(f"{name}: needs at least 2 levels with observations, got "
                         f"{dict(zip(levels, counts.tolist(), strict=True))}")
    return ({f"{name}{lv}": codes == j for j, lv in enumerate(levels) if j}, levels, codes)


def _without_data(fit: CoxResult) -> CoxResult:
    """The fit without its prepared (sorted) copy of the data: its coefficients, tests and
    log-likelihoods, not its diagnostics (``proportional_hazards_test`` then says so)."""
    return replace(fit, _data=None)


def _rank(rows: np.ndarray, weight: np.ndarray, n: int) -> int:
    """The rank of the n-row matrix whose distinct rows are ``rows``, each ``weight`` times.

    Scaling each distinct row by the square root of its count keeps the cross-product, hence the
    singular values, of the n-row matrix; the tolerance is ``np.linalg.matrix_rank``'s for the
    n-row matrix. The same decision without an SVD of n rows (an n x k copy per product term).
    """
    s = np.linalg.svd(rows * np.sqrt(weight)[:, None], compute_uv=False)
    return int(np.sum(s > s.max(initial=0.0) * max(n, rows.shape[1]) * np.finfo(float).eps))


def cox_interaction_test(data: pd.DataFrame, duration: str, event: str, treatment: str,
                         modifier: str, *, covariates: Sequence[str] = (),
                         strata: str | Sequence[str] | None = None,
                         ties: Literal["efron", "breslow"] = "efron") -> InteractionTest:
    """Likelihood-ratio test of a treatment-by-modifier interaction in a Cox model.

    The reduced model holds ``treatment`` and ``modifier`` (both factors, treatment-coded with the
    first level — a Categorical's first category, else the first sorted value — as reference)
    and ``covariates``; the full model adds every product of their dummies, named
    ``<treatment><level>:<modifier><level>``. Equal to R ``anova(coxph(Surv(t, e) ~ treatment +
    modifier + ...), coxph(Surv(t, e) ~ treatment * modifier + ...))``: statistic ``2 (loglik_full
    − loglik_reduced)`` on as many df as the full model has estimable coefficients more than the
    reduced one. A product that is zero for every row or collinear with the others (an arm absent
    from a subgroup), or that the events carry no information on (no patient of its cell at risk
    at any event: R gives it an NA coefficient, :attr:`CoxResult.singular`) is not estimable and
    is left out (``dropped_terms``). ``strata`` and ``ties`` go to
    :func:`cox_ph`; missing values are an error.
    """
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"data: expected a pandas DataFrame, got {type(data).__name__}")
    for what, col in (("treatment", treatment), ("modifier", modifier)):
        if col not in data.columns:
            raise ValueError(f"{what}: no column {col!r} in data")
    if treatment == modifier:
        raise ValueError("modifier: must differ from treatment")
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    tcols, tlev, tcode = _dummies(treatment, data[treatment])
    mcols, mlev, mcode = _dummies(modifier, data[modifier])
    keep = [duration, event, *covariates]
    if strata is not None:
        keep += [strata] if isinstance(strata, str) else list(strata)
    columns: dict[str, Any] = {}
    for c in dict.fromkeys(keep):
        if c not in data.columns:
            raise ValueError(f"no column {c!r} in data")
        columns[c] = data[c].to_numpy()
    main = {**tcols, **mcols}
    clash = [c for c in main if c in columns]
    if clash:
        raise ValueError(f"columns {clash} in data clash with the dummy names; rename them")
    columns.update(main)
    # every design column is a function of the (treatment, modifier) pair: the ranks are those
    # of the distinct pairs, each counted as often as it occurs (counted, not sorted)
    n = len(data)
    counts = np.bincount(tcode * len(mlev) + mcode, minlength=len(tlev) * len(mlev))
    del tcode, mcode
    pair = np.flatnonzero(counts)
    count = counts[pair]
    pt, pm = pair // len(mlev), pair % len(mlev)
    t_rows = {c: (pt == j).astype(float) for j, c in enumerate(tcols, start=1)}
    m_rows = {c: (pm == j).astype(float) for j, c in enumerate(mcols, start=1)}
    base = np.column_stack([np.ones(len(pair)), *t_rows.values(), *m_rows.values()])
    rank = _rank(base, count, n)
    inter, dropped = [], []
    for tc, tv in t_rows.items():
        for mc, mv in m_rows.items():
            name, v = f"{tc}:{mc}", tv * mv
            trial = np.column_stack([base, v])
            if v.any() and _rank(trial, count, n) > rank:
                base, rank = trial, rank + 1
                columns[name] = tcols[tc] & mcols[mc]
                inter.append(name)
            else:
                dropped.append(name)
    if not inter:
        raise ValueError(f"no estimable interaction between {treatment!r} and {modifier!r}: every "
                         "product term is empty or collinear")
    # the dummies and products are booleans (1 byte per row each, not a float column), taken
    # by the frame as they are; each fit makes its own float design from them
    frame = pd.DataFrame(columns, copy=False)
    reduced_terms = [*main, *covariates]
    del columns, main, tcols, mcols
    # the reduced fit's sorted copy of the data is let go before the full model is fitted
    reduced = _without_data(cox_ph(frame, duration, event, reduced_terms, ties=ties,
                                   strata=strata))
    full = _without_data(cox_ph(frame, duration, event, [*reduced_terms, *inter], ties=ties,
                                strata=strata))
    # a product the events carry no information on (no patient of its cell at risk at any event,
    # say) is NA in the full model, as in R: it is dropped and counted in no degree of freedom
    unused = [c for c in inter if c in full.singular]
    if unused:
        inter = [c for c in inter if c not in unused]
        dropped = [*dropped, *unused]
    if not inter:
        raise ValueError(f"no estimable interaction between {treatment!r} and {modifier!r}: the "
                         f"events carry no information on the product terms {unused}")
    stat = 2.0 * (full.loglik - reduced.loglik)
    df = (len(full.names) - len(full.singular)) - (len(reduced.names) - len(reduced.singular))
    return InteractionTest(statistic=float(stat), df=df, p_value=float(sps.chi2.sf(stat, df)),
                           loglik_reduced=float(reduced.loglik), loglik_full=float(full.loglik),
                           interaction_terms=tuple(inter), dropped_terms=tuple(dropped),
                           reduced=reduced, full=full)
