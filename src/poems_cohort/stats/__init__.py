"""Generic statistics: survival, competing risks, Cox and contingency tests, equal to R.

This package knows nothing of POEMS. It must not import lifelines, statsmodels or matplotlib.
"""

from __future__ import annotations

from poems_cohort.stats.cox import ChiSquareTest, CoxResult, ProportionalHazardsTest, cox_ph
