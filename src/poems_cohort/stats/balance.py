"""Covariate balance between arms: standardised mean differences before and after weighting, with
the convention of R's ``cobalt`` (``bal.tab(..., binary = "std", s.d.denom = "pooled")``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from poems_cohort.stats._common import as_groups, as_weights, first_cell, frame_repr

__all__ = ["BalanceTable", "balance_table"]

COLUMNS = ("covariate", "group", "reference", "binary", "mean_group", "mean_reference",
           "weighted_mean_group", "weighted_mean_reference", "sd_pooled", "smd_unweighted",
           "smd_weighted")


#: rows of an arm per product for the weighted means (as ``multinomial_logit``'s blocks): an arm
#: of up to this many rows is one product, as before the blocks
ROW_BLOCK = 1 << 16


@dataclass(frozen=True, repr=False, eq=False)
class BalanceTable:
    """Standardised mean differences of each covariate, each arm against ``reference``.

    :attr:`table` has one row per (covariate, arm) with the columns ``covariate, group,
    reference, binary, mean_group, mean_reference, weighted_mean_group, weighted_mean_reference,
    sd_pooled, smd_unweighted, smd_weighted``.
    """

    table: pd.DataFrame
    reference: Any
    levels: tuple[Any, ...]

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def max_abs_smd(self, weighted: bool = True) -> float:
        """The largest |SMD| in the table (NaN ignored)."""
        col = "smd_weighted" if weighted else "smd_unweighted"
        return float(np.nanmax(np.abs(self.table[col].to_numpy(dtype=float))))

    def __repr__(self) -> str:
        head = (f"BalanceTable: {self.table['covariate'].nunique()} covariates, arms "
                f"{list(self.levels)} against {self.reference!r}; max |SMD| "
                f"{self.max_abs_smd(False):.4g} unweighted, {self.max_abs_smd(True):.4g} weighted")
        return frame_repr(head, self.table)


def _weighted_sums(cols: list[np.ndarray], rows: np.ndarray, w: np.ndarray, total: np.ndarray,
                   start: int) -> np.ndarray:
    """``total`` plus ``w @ X[rows]``, X the columns ``cols`` side by side (the first block,
    ``start == 0``, is the product alone). The block's rows are gathered into a row-major
    matrix, the layout of ``X[rows]``, so BLAS sums them as it did on that copy."""
    xs = np.empty((len(rows), len(cols)))
    for c, v in enumerate(cols):
        np.take(v, rows, out=xs[:, c])
    part = w @ xs
    return part if start == 0 else total + part


def balance_table(covariates: pd.DataFrame, treatment: Any, weights: Any, *,
                  reference: Any = None, levels: Sequence[Any] | None = None,
                  binary: Sequence[str] | None = None) -> BalanceTable:
    """Standardised mean differences, each arm against ``reference``, unweighted and weighted.

    For covariate ``x`` and arm ``g`` against the reference ``r``::

        SMD = (m_g − m_r) / sqrt((s²_g + s²_r) / 2)

    The numerator is the difference in means, weighted (``Σ w x / Σ w`` within each arm) for
    ``smd_weighted`` and plain for ``smd_unweighted``. The denominator is always from the
    *unweighted* arms: ``s²`` is the sample variance (divisor n − 1) for a continuous covariate and
    ``p (1 − p)`` for a binary one (p the proportion), as ``cobalt::col_w_sd`` computes them; the
    SMD of a binary covariate is thus a standardised difference in proportions (cobalt's
    ``binary = "std"``; its default ``"raw"`` would report the plain difference). Binary columns
    are those whose values are all 0 or 1, unless ``binary`` names them. Where the denominator is 0
    (a covariate constant in both arms) the SMD is NaN.

    ``covariates`` is a DataFrame of numeric columns without missing values (see
    ``covariate_design``); ``weights`` non-negative, with a positive sum in every arm. ``levels``
    orders the arms (default: a Categorical's categories, else sorted); ``reference`` defaults to
    the first.
    """
    if not isinstance(covariates, pd.DataFrame):
        raise ValueError(f"covariates: expected a pandas DataFrame, got {type(covariates).__name__}")
    if covariates.shape[1] == 0:
        raise ValueError("covariates: no columns")
    bad = [c for c in covariates.columns if not (pd.api.types.is_numeric_dtype(covariates[c].dtype)
                                                 or covariates[c].dtype == bool)]
    if bad:
        raise ValueError(f"covariates: column(s) {bad} are not numeric; use covariate_design first")
    # column by column (a view each of a float column, whether the frame holds one block or a
    # block per column): no n x p copy of the frame, no n x p temporaries
    cols = [covariates.iloc[:, c].to_numpy(dtype=float, na_value=np.nan)
            for c in range(covariates.shape[1])]
    n_rows = len(covariates)
    first = first_cell(cols, np.isnan)
    if first is not None:
        i, j = first
        raise ValueError(f"covariates: missing value in column {covariates.columns[j]!r} at row "
                         f"position {i}")
    codes, lev = as_groups("treatment", treatment, levels=levels)
    w = as_weights("weights", weights)
    if not (len(codes) == len(w) == n_rows):
        raise ValueError(f"inputs differ in length: covariates={n_rows}, treatment={len(codes)}, "
                         f"weights={len(w)}")
    if len(lev) < 2:
        raise ValueError(f"treatment: at least 2 arms are needed, got {list(lev)}")
    if reference is None:
        reference = lev[0]
    if reference not in lev:
        raise ValueError(f"reference: {reference!r} is not one of the arms {list(lev)}")
    ref = lev.index(reference)
    names = [str(c) for c in covariates.columns]
    if binary is None:
        is_bin = np.array([bool(np.all((v == 0) | (v == 1))) for v in cols], dtype=bool)
    else:
        unknown = [b for b in binary if b not in names]
        if unknown:
            raise ValueError(f"binary: no column(s) {unknown} in covariates")
        is_bin = np.array([c in set(binary) for c in names])
        notbin = [c for c, b in zip(names, is_bin, strict=True)
                  if b and not np.all((covariates[c] == 0) | (covariates[c] == 1))]
        if notbin:
            raise ValueError(f"binary: column(s) {notbin} have values other than 0 and 1")

    stats = {}
    for j, lv in enumerate(lev):
        sel = codes == j
        nj = int(sel.sum())
        if nj == 0:
            raise ValueError(f"treatment: no observations in arm {lv!r}")
        ws = w[sel]
        if ws.sum() <= 0:
            raise ValueError(f"weights: all weights are 0 in arm {lv!r}")
        # the mean and variance of each column over the arm's rows, one column at a time: the
        # sums of x[sel].mean(axis=0) and .var(axis=0) (row after row, as numpy reduces a
        # row-major array over its rows), without the arm's n_j x p copy and its n_j x p
        # deviations
        mean = np.empty(len(cols))
        sample_var = np.full(len(cols), np.nan)
        for c, v in enumerate(cols):
            xc = v[sel]
            mean[c] = np.add.accumulate(xc)[-1] / nj
            if nj > 1:
                dev = xc - mean[c]
                np.multiply(dev, dev, out=dev)
                sample_var[c] = np.add.accumulate(dev)[-1] / (nj - 1)
        var = np.where(is_bin, mean * (1 - mean), sample_var)
        # the weighted means as products with the arm's rows, ROW_BLOCK rows at a time (one
        # block up to 65,536 rows: the one product of before, BLAS's order of the sums; above,
        # the blocks' sums added in order), without the arm's n_j x p copy
        rows_j = np.flatnonzero(sel)
        wsum = np.zeros(len(cols))
        for b in range(0, nj, ROW_BLOCK):
            wsum = _weighted_sums(cols, rows_j[b:b + ROW_BLOCK], ws[b:b + ROW_BLOCK], wsum, b)
        wmean = wsum / ws.sum()
        del rows_j
        stats[j] = (mean, wmean, var)
    rows = []
    m_r, wm_r, v_r = stats[ref]
    for j, lv in enumerate(lev):
        if j == ref:
            continue
        m_g, wm_g, v_g = stats[j]
        sd = np.sqrt((v_g + v_r) / 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            smd_u = np.where(sd > 0, (m_g - m_r) / sd, np.nan)
            smd_w = np.where(sd > 0, (wm_g - wm_r) / sd, np.nan)
        for c, name in enumerate(names):
            rows.append((name, lv, reference, bool(is_bin[c]), m_g[c], m_r[c], wm_g[c], wm_r[c],
                         sd[c], smd_u[c], smd_w[c]))
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    return BalanceTable(table=table, reference=reference, levels=tuple(lev))
